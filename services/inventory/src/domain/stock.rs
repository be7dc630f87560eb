//! Consumables and their stock: an append-only ledger of moves, as an ERP keeps it.
//! Receipts add, issued kits take; the quantity on hand is always the sum of the moves and
//! is never stored on its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::{AccountId, ConsumableId, KitId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::InventoryError;

/// The largest quantity one receipt, one line or one low-stock mark may name: far above
/// any real delivery, far below overflowing a sum of moves.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// The longest consumable name or unit (characters).
const MAX_NAME_CHARS: usize = 100;

/// A new consumable, as supply staff describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsumable {
    /// What it is, unique ("Sponge"); 1 to 100 characters on one line.
    pub name: String,
    /// What one unit is ("piece", "pair", "litre"); 1 to 100 characters on one line.
    pub unit: String,
    /// Below this many on hand it is low (0 to 1000000); default: the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_stock_threshold: Option<i64>,
}

/// A consumable kept in stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Consumable {
    pub id: ConsumableId,
    pub name: String,
    pub unit: String,
    /// Below this many on hand it is low.
    pub low_stock_threshold: i64,
}

impl NewConsumable {
    /// The consumable `id` this describes, its mark defaulting to `default_threshold`;
    /// refused naming the field that is wrong.
    pub fn validate(
        &self,
        id: ConsumableId,
        default_threshold: i64,
    ) -> Result<Consumable, InventoryError> {
        let name = web::text::single_line("name", &self.name, MAX_NAME_CHARS)?;
        let unit = web::text::single_line("unit", &self.unit, MAX_NAME_CHARS)?;
        let low_stock_threshold = self.low_stock_threshold.unwrap_or(default_threshold);
        if !(0..=MAX_QUANTITY).contains(&low_stock_threshold) {
            return Err(InventoryError::invalid(
                "low_stock_threshold",
                format!("must be 0 to {MAX_QUANTITY}"),
            ));
        }
        Ok(Consumable {
            id,
            name,
            unit,
            low_stock_threshold,
        })
    }
}

/// A delivery of a consumable into stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Units received: 1 to 1000000.
    pub quantity: i64,
}

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// A delivery: adds.
    Receipt,
    /// An issued kit: takes.
    Issue,
    /// An issued kit's consumables back in stock, its order canceled: adds.
    Return,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Receipt => "receipt",
            MoveKind::Issue => "issue",
            MoveKind::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<MoveKind> {
        match s {
            "receipt" => Some(MoveKind::Receipt),
            "issue" => Some(MoveKind::Issue),
            "return" => Some(MoveKind::Return),
            _ => None,
        }
    }
}

/// One line of the stock ledger: never changed, never removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockMove {
    pub consumable_id: ConsumableId,
    /// Signed: positive adds to stock (receipts), negative takes (issues).
    pub quantity: i64,
    pub kind: MoveKind,
    /// The kit an issue or a return was for.
    pub kit_id: Option<KitId>,
    /// Who made the move.
    pub actor: AccountId,
    pub moved_at: DateTime<Utc>,
}

impl StockMove {
    /// `actor` received `receipt` of `consumable` at `at`: a positive move.
    pub fn receipt(
        consumable: ConsumableId,
        receipt: &Receipt,
        actor: AccountId,
        at: DateTime<Utc>,
    ) -> Result<StockMove, InventoryError> {
        if !(1..=MAX_QUANTITY).contains(&receipt.quantity) {
            return Err(InventoryError::invalid(
                "quantity",
                format!("must be 1 to {MAX_QUANTITY}"),
            ));
        }
        Ok(StockMove {
            consumable_id: consumable,
            quantity: receipt.quantity,
            kind: MoveKind::Receipt,
            kit_id: None,
            actor,
            moved_at: at,
        })
    }
}

/// How many units of each consumable are on hand: the sum of its moves (0 without any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnHand(BTreeMap<ConsumableId, i64>);

impl OnHand {
    /// The sums of `moves`.
    pub fn of_moves<'a>(moves: impl IntoIterator<Item = &'a StockMove>) -> OnHand {
        let mut on_hand = OnHand::default();
        for m in moves {
            *on_hand.0.entry(m.consumable_id).or_default() += m.quantity;
        }
        on_hand
    }

    /// Sums the store already added up (`SUM(quantity)` per consumable).
    pub fn from_sums(sums: impl IntoIterator<Item = (ConsumableId, i64)>) -> OnHand {
        OnHand(sums.into_iter().collect())
    }

    /// Units of `consumable` on hand.
    pub fn get(&self, consumable: ConsumableId) -> i64 {
        self.0.get(&consumable).copied().unwrap_or(0)
    }
}

/// A consumable with what is on hand, as the stock list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stock {
    #[serde(flatten)]
    pub consumable: Consumable,
    /// The sum of its stock moves.
    pub on_hand: i64,
    /// On hand is below the consumable's low-stock mark.
    pub low: bool,
}

impl Stock {
    pub fn of(consumable: Consumable, on_hand: &OnHand) -> Stock {
        let on_hand = on_hand.get(consumable.id);
        Stock {
            low: on_hand < consumable.low_stock_threshold,
            consumable,
            on_hand,
        }
    }
}

/// What supply staff are to hear about a consumable's stock after a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowStockNews {
    /// It fell below its mark and they were not told yet: tell them (once).
    Tell,
    /// It is back at or above its mark: forget they were told, so that falling again is
    /// news again.
    Recovered,
    /// Nothing new: still low and told already, or still fine.
    Nothing,
}

impl LowStockNews {
    /// The news once a move leaves `on_hand` of a consumable marked low below `threshold`,
    /// given whether staff were `told` it is low (and it has not recovered since).
    pub fn after_move(threshold: i64, on_hand: i64, told: bool) -> LowStockNews {
        match (on_hand < threshold, told) {
            (true, false) => LowStockNews::Tell,
            (false, true) => LowStockNews::Recovered,
            _ => LowStockNews::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use service::Refused;

    use super::*;

    fn spec(name: &str, threshold: Option<i64>) -> NewConsumable {
        NewConsumable {
            name: name.into(),
            unit: "piece".into(),
            low_stock_threshold: threshold,
        }
    }

    /// Any instant: the rules never read a clock.
    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn field(e: InventoryError) -> String {
        match e {
            InventoryError::Refused(Refused::Invalid { field, .. }) => field,
            other => panic!("expected a refused field, got {other:?}"),
        }
    }

    #[test]
    fn given_a_new_consumable_when_validated_then_names_are_trimmed_and_the_mark_defaults() {
        let c = spec("  Sponge ", None)
            .validate(ConsumableId::new(), 7)
            .unwrap();
        assert_eq!((c.name.as_str(), c.low_stock_threshold), ("Sponge", 7));
        let c = spec("Sponge", Some(0))
            .validate(ConsumableId::new(), 7)
            .unwrap();
        assert_eq!(c.low_stock_threshold, 0);
    }

    #[test]
    fn given_a_bad_consumable_when_validated_then_the_field_is_named() {
        let id = ConsumableId::new();
        assert_eq!(field(spec(" ", None).validate(id, 1).unwrap_err()), "name");
        assert_eq!(
            field(spec("a\nb", None).validate(id, 1).unwrap_err()),
            "name"
        );
        let mut no_unit = spec("Sponge", None);
        no_unit.unit = String::new();
        assert_eq!(field(no_unit.validate(id, 1).unwrap_err()), "unit");
        for bad in [-1, MAX_QUANTITY + 1] {
            assert_eq!(
                field(spec("Sponge", Some(bad)).validate(id, 1).unwrap_err()),
                "low_stock_threshold"
            );
        }
    }

    #[test]
    fn given_a_receipt_when_made_then_it_adds_and_nothing_else_is_a_receipt() {
        let (c, who, now) = (ConsumableId::new(), AccountId::new(), at());
        let m = StockMove::receipt(c, &Receipt { quantity: 5 }, who, now).unwrap();
        assert_eq!((m.quantity, m.kind, m.kit_id), (5, MoveKind::Receipt, None));
        for bad in [0, -3, MAX_QUANTITY + 1] {
            let e = StockMove::receipt(c, &Receipt { quantity: bad }, who, now).unwrap_err();
            assert_eq!(field(e), "quantity");
        }
    }

    #[test]
    fn given_moves_then_on_hand_is_their_sum_and_low_compares_with_the_mark() {
        let (c, other, who, now) = (
            ConsumableId::new(),
            ConsumableId::new(),
            AccountId::new(),
            at(),
        );
        let receipt = |q| StockMove::receipt(c, &Receipt { quantity: q }, who, now).unwrap();
        let mut take = receipt(4);
        take.quantity = -4;
        take.kind = MoveKind::Issue;
        let on_hand = OnHand::of_moves(&[receipt(10), receipt(3), take]);
        assert_eq!((on_hand.get(c), on_hand.get(other)), (9, 0));
        let consumable = Consumable {
            id: c,
            name: "Sponge".into(),
            unit: "piece".into(),
            low_stock_threshold: 10,
        };
        assert!(Stock::of(consumable.clone(), &on_hand).low);
        let plenty = OnHand::from_sums([(c, 10)]);
        assert!(!Stock::of(consumable, &plenty).low);
    }

    #[test]
    fn move_kinds_read_back_from_their_names() {
        for kind in [MoveKind::Receipt, MoveKind::Issue, MoveKind::Return] {
            assert_eq!(MoveKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MoveKind::parse("theft"), None);
    }

    #[test]
    fn given_a_consumable_falling_and_rising_then_staff_are_told_once_per_fall() {
        // Given a mark of 10 and nobody told: falling to 9 is news, once
        assert_eq!(LowStockNews::after_move(10, 9, false), LowStockNews::Tell);
        assert_eq!(LowStockNews::after_move(10, 3, true), LowStockNews::Nothing);
        // Back at the mark (not below it) it recovered; above it and untold, nothing
        assert_eq!(
            LowStockNews::after_move(10, 10, true),
            LowStockNews::Recovered
        );
        assert_eq!(
            LowStockNews::after_move(10, 50, false),
            LowStockNews::Nothing
        );
        // A mark of 0 is never low, even at 0
        assert_eq!(LowStockNews::after_move(0, 0, false), LowStockNews::Nothing);
    }

    proptest::proptest! {
        /// Whatever the moves: staff are told exactly as often as stock crossed from at or
        /// above the mark to below it (starting from "fine"), never twice in a row.
        #[test]
        fn told_once_per_fall_below_the_mark(
            threshold in 0i64..20,
            levels in proptest::collection::vec(0i64..40, 0..50),
        ) {
            let (mut told, mut tells, mut falls, mut was_low) = (false, 0, 0, false);
            for on_hand in levels {
                let low = on_hand < threshold;
                if low && !was_low {
                    falls += 1;
                }
                was_low = low;
                match LowStockNews::after_move(threshold, on_hand, told) {
                    LowStockNews::Tell => {
                        proptest::prop_assert!(!told);
                        told = true;
                        tells += 1;
                    }
                    LowStockNews::Recovered => told = false,
                    LowStockNews::Nothing => {}
                }
                proptest::prop_assert_eq!(told, low);
            }
            proptest::prop_assert_eq!(tells, falls);
        }
    }
}
