//! The supply kit of an active order: assembled from its service type's bill of materials,
//! handed out (issued) by supply staff only while stock covers every line, which takes the
//! consumables out of stock by moves.

use chrono::{DateTime, Utc};
use contracts::inventory::{IssuedItem, KitAssembled, KitIssued, KitItem};
use contracts::ordering::OrderActivated;
use contracts::{AccountId, ConsumableId, KitId, OrderId, ServiceTypeId, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use super::{Cookie, Line, MoveKind, OnHand, Responsibility, StockMove};
use crate::error::InventoryError;

/// Where a kit is. A kit is stored as open (`to_assemble`) or closed (`issued`...); supply
/// staff's queue splits the open ones by [`Kit::stage`]: consumables short
/// (`to_assemble`), waiting for the fortune cookie (`waiting_for_cookie`), or `ready` to be
/// issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KitState {
    /// Supply staff are to put it together: stock does not cover it yet. (Stored: open.)
    ToAssemble,
    /// Stock covers it; its fortune cookie has not arrived.
    WaitingForCookie,
    /// Stock covers it and its cookie arrived: Issued may be pressed.
    Ready,
    /// Handed out: its consumables left stock.
    Issued,
    /// Its order was canceled: nothing is to be handed out; what had left stock came back
    /// by `return` moves, its cookie is called off at the contractor.
    Canceled,
}

impl KitState {
    /// One of the open kits' queue states (an open kit is stored as `to_assemble`).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            KitState::ToAssemble | KitState::WaitingForCookie | KitState::Ready
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KitState::ToAssemble => "to_assemble",
            KitState::WaitingForCookie => "waiting_for_cookie",
            KitState::Ready => "ready",
            KitState::Issued => "issued",
            KitState::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<KitState> {
        match s {
            "to_assemble" => Some(KitState::ToAssemble),
            "waiting_for_cookie" => Some(KitState::WaitingForCookie),
            "ready" => Some(KitState::Ready),
            "issued" => Some(KitState::Issued),
            "canceled" => Some(KitState::Canceled),
            _ => None,
        }
    }
}

/// The order's facts as Ordering announced them when it became active: what the job
/// acceptance form prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    pub client_id: AccountId,
    /// `None` when Ordering did not know the client's name.
    pub client_name: Option<String>,
    pub worker_id: WorkerId,
    /// `None` when Ordering did not know the worker's name.
    pub worker_name: Option<String>,
    pub service_type_name: String,
    /// What the client wrote: the job and where it is.
    pub description: String,
    pub duration_minutes: i64,
}

impl Job {
    /// The facts `activated` carries.
    pub fn of(activated: &OrderActivated) -> Job {
        Job {
            client_id: activated.client_id,
            client_name: activated.client_name.clone(),
            worker_id: activated.worker_id,
            worker_name: activated.worker_name.clone(),
            service_type_name: activated.service_type_name.clone(),
            description: activated.description.clone(),
            duration_minutes: activated.duration_minutes,
        }
    }
}

/// An order's supply kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Kit {
    pub id: KitId,
    pub order_id: OrderId,
    pub service_type_id: ServiceTypeId,
    /// When the order's job is to be done: kits are handed out soonest first.
    pub scheduled_at: DateTime<Utc>,
    /// The order's client, worker, service and description; `None` for kits assembled
    /// before Inventory kept them (those have no acceptance form).
    pub job: Option<Job>,
    pub state: KitState,
    /// The bill of materials as it was when the kit was assembled (empty when the service
    /// type had no bill then).
    pub lines: Vec<Line>,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: Option<AccountId>,
    /// The supply employee responsible for it, chosen when it was assembled; `None` when
    /// no active supply staff were known then (not reassigned later on its own).
    pub responsible_id: Option<AccountId>,
    /// Why that person (or why nobody), e.g. "least loaded: 2 open kits; 3 supply staff".
    pub responsible_reason: String,
    /// Its fortune cookie: ordered from the contractor, arriving about 10 minutes later.
    pub cookie: Cookie,
    /// The kit's aggregate version: 1 assembled, 2 issued.
    pub version: i64,
}

/// A line of a kit that stock does not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shortage {
    pub consumable_id: ConsumableId,
    pub name: String,
    /// Units the kit needs.
    pub needed: i64,
    /// Units on hand now.
    pub on_hand: i64,
}

/// What issuing a kit decides: the kit as issued, the moves taking its consumables out of
/// stock, and the event announcing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub kit: Kit,
    pub moves: Vec<StockMove>,
    pub event: KitIssued,
}

impl Kit {
    /// The kit `id` for the order `activated` announced, its lines the service type's bill
    /// (`bill`, empty if it has none), in the care of `responsible`, at `now`.
    pub fn assemble(
        id: KitId,
        activated: &OrderActivated,
        bill: Vec<Line>,
        responsible: Responsibility,
        now: DateTime<Utc>,
    ) -> Kit {
        Kit {
            id,
            order_id: activated.order_id,
            service_type_id: activated.service_type_id,
            scheduled_at: activated.scheduled_at,
            job: Some(Job::of(activated)),
            state: KitState::ToAssemble,
            lines: bill,
            created_at: now,
            issued_at: None,
            issued_by: None,
            responsible_id: responsible.account_id,
            responsible_reason: responsible.reason,
            cookie: Cookie::to_order(),
            version: 1,
        }
    }

    /// The announcement of this kit's assembly (`inventory.kit.assembled`, version 1): what
    /// goes in and who is responsible, so other contexts (Quality) can tell the kit's story.
    pub fn assembled(&self) -> KitAssembled {
        KitAssembled {
            kit_id: self.id,
            order_id: self.order_id,
            assembled_at: self.created_at,
            responsible_id: self.responsible_id,
            responsible_reason: self.responsible_reason.clone(),
            items: self
                .lines
                .iter()
                .map(|l| KitItem {
                    consumable_id: l.consumable_id,
                    name: l.name.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }

    /// The lines `on_hand` does not cover (none once the kit is closed: issued, its
    /// consumables were taken already; canceled, they are needed no more).
    pub fn shortages(&self, on_hand: &OnHand) -> Vec<Shortage> {
        if !self.is_open() {
            return Vec::new();
        }
        self.lines
            .iter()
            .filter(|l| on_hand.get(l.consumable_id) < l.quantity)
            .map(|l| Shortage {
                consumable_id: l.consumable_id,
                name: l.name.clone(),
                needed: l.quantity,
                on_hand: on_hand.get(l.consumable_id),
            })
            .collect()
    }

    /// Where the kit is in supply staff's queue, `missing` being what stock does not cover
    /// now ([`Kit::shortages`]): closed kits as stored; an open one is `to_assemble` while
    /// anything is missing, then `waiting_for_cookie` until its cookie arrived, then
    /// `ready`. The one place the queue's states are decided.
    pub fn stage(&self, missing: &[Shortage]) -> KitState {
        match self.state {
            open if open.is_open() => {
                if !missing.is_empty() {
                    KitState::ToAssemble
                } else if !self.cookie.arrived() {
                    KitState::WaitingForCookie
                } else {
                    KitState::Ready
                }
            }
            closed => closed,
        }
    }

    /// Whether the kit is open: not handed out (nor otherwise closed).
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }

    /// `who` hands the kit out at `now`, with `on_hand` in stock: refused (409) when it was
    /// issued already (`kit_already_issued`), a line is short (`consumables_short`, naming
    /// each short consumable with what it needs and what there is, and the cookie too if
    /// it has not come) or its fortune cookie has not arrived (`cookie_not_arrived`).
    pub fn issue(
        &self,
        on_hand: &OnHand,
        who: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Issue, InventoryError> {
        if self.state == KitState::Issued {
            return Err(Refused::conflict(
                "kit_already_issued",
                format!("kit {} was issued already", self.id),
            )
            .into());
        }
        if self.state == KitState::Canceled {
            return Err(Refused::conflict(
                "kit_canceled",
                format!("kit {} was canceled with its order", self.id),
            )
            .into());
        }
        let cookie = (!self.cookie.arrived()).then(|| {
            format!(
                "its fortune cookie has not arrived ({})",
                self.cookie.describe()
            )
        });
        let short = self.shortages(on_hand);
        if !short.is_empty() {
            let what: Vec<String> = short
                .iter()
                .map(|s| format!("{} (needs {}, {} on hand)", s.name, s.needed, s.on_hand))
                .collect();
            let also = cookie.map(|c| format!("; and {c}")).unwrap_or_default();
            return Err(Refused::conflict(
                "consumables_short",
                format!(
                    "kit {} cannot be issued; short of: {}{also}",
                    self.id,
                    what.join(", ")
                ),
            )
            .into());
        }
        if let Some(cookie) = cookie {
            return Err(Refused::conflict(
                "cookie_not_arrived",
                format!("kit {} cannot be issued: {cookie}", self.id),
            )
            .into());
        }
        let moves = self
            .lines
            .iter()
            .map(|l| StockMove {
                consumable_id: l.consumable_id,
                quantity: -l.quantity,
                kind: MoveKind::Issue,
                kit_id: Some(self.id),
                actor: who,
                moved_at: now,
            })
            .collect();
        let kit = Kit {
            state: KitState::Issued,
            issued_at: Some(now),
            issued_by: Some(who),
            version: self.version + 1,
            ..self.clone()
        };
        let event = KitIssued {
            kit_id: kit.id,
            order_id: kit.order_id,
            issued_by: who,
            issued_at: now,
            items: kit
                .lines
                .iter()
                .map(|l| IssuedItem {
                    consumable_id: l.consumable_id,
                    name: l.name.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        };
        Ok(Issue { kit, moves, event })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::Receipt;
    use crate::domain::fixtures::{activated, at, nobody};

    fn line(consumable_id: ConsumableId, name: &str, quantity: i64) -> Line {
        Line {
            consumable_id,
            name: name.into(),
            quantity,
        }
    }

    /// `kit` with its fortune cookie arrived.
    fn with_cookie(mut kit: Kit) -> Kit {
        kit.cookie = kit.cookie.came("cookie-1", at(0)).unwrap();
        kit
    }

    fn code(e: InventoryError) -> &'static str {
        match e {
            InventoryError::Refused(Refused::Conflict { code, .. }) => code,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn given_an_activated_order_when_assembled_then_the_kit_waits_with_the_bills_lines() {
        let order = activated();
        let bill = vec![line(ConsumableId::new(), "Sponge", 2)];
        let kit = Kit::assemble(KitId::new(), &order, bill.clone(), nobody(), at(0));
        assert_eq!(kit.state, KitState::ToAssemble);
        assert_eq!(
            (kit.order_id, kit.service_type_id),
            (order.order_id, order.service_type_id)
        );
        assert_eq!(
            (kit.scheduled_at, kit.lines, kit.version),
            (at(3600), bill, 1)
        );
    }

    #[test]
    fn given_an_assembled_kit_then_its_announcement_names_the_lines_and_who_is_responsible() {
        // Given a kit of 2 sponges in nobody's care
        let sponge = ConsumableId::new();
        let kit = Kit::assemble(
            KitId::new(),
            &activated(),
            vec![line(sponge, "Sponge", 2)],
            nobody(),
            at(0),
        );
        // When announced
        let event = kit.assembled();
        // Then it names the kit, its order, what goes in, nobody and why, at assembly time
        assert_eq!((event.kit_id, event.order_id), (kit.id, kit.order_id));
        assert_eq!((event.assembled_at, event.responsible_id), (at(0), None));
        assert_eq!(event.responsible_reason, kit.responsible_reason);
        assert_eq!(
            (event.items[0].consumable_id, event.items[0].quantity),
            (sponge, 2)
        );
    }

    #[test]
    fn given_short_stock_when_issued_then_refused_naming_what_is_missing() {
        // Given a kit of 2 sponges and 1 pair of gloves, with 1 sponge and 5 gloves on hand
        let (sponge, gloves) = (ConsumableId::new(), ConsumableId::new());
        let kit = Kit::assemble(
            KitId::new(),
            &activated(),
            vec![line(sponge, "Sponge", 2), line(gloves, "Gloves", 1)],
            nobody(),
            at(0),
        );
        let on_hand = OnHand::from_sums([(sponge, 1), (gloves, 5)]);
        // When it is issued
        let e = kit.issue(&on_hand, AccountId::new(), at(10)).unwrap_err();
        // Then it is refused, and the shortage names the sponge with what it needs and has
        assert!(e.to_string().contains("Sponge (needs 2, 1 on hand)"), "{e}");
        assert!(!e.to_string().contains("Gloves"), "{e}");
        assert_eq!(code(e), "consumables_short");
        assert_eq!(
            kit.shortages(&on_hand),
            vec![Shortage {
                consumable_id: sponge,
                name: "Sponge".into(),
                needed: 2,
                on_hand: 1
            }]
        );
    }

    #[test]
    fn given_enough_stock_when_issued_then_moves_take_each_line_and_the_event_says_so() {
        // Given a kit of 2 sponges with 3 on hand, its cookie arrived
        let sponge = ConsumableId::new();
        let kit = with_cookie(Kit::assemble(
            KitId::new(),
            &activated(),
            vec![line(sponge, "Sponge", 2)],
            nobody(),
            at(0),
        ));
        let on_hand = OnHand::from_sums([(sponge, 3)]);
        let who = AccountId::new();
        // When supply staff issue it
        let issue = kit.issue(&on_hand, who, at(10)).unwrap();
        // Then the kit is issued (version 2), one move takes 2 sponges, the event names them
        assert_eq!(issue.kit.state, KitState::Issued);
        assert_eq!(
            (issue.kit.issued_by, issue.kit.issued_at, issue.kit.version),
            (Some(who), Some(at(10)), 2)
        );
        assert_eq!(issue.moves.len(), 1);
        let m = &issue.moves[0];
        assert_eq!(
            (m.consumable_id, m.quantity, m.kind, m.kit_id),
            (sponge, -2, MoveKind::Issue, Some(kit.id))
        );
        assert_eq!(
            (issue.event.kit_id, issue.event.order_id),
            (kit.id, kit.order_id)
        );
        assert_eq!(
            issue.event.items,
            vec![IssuedItem {
                consumable_id: sponge,
                name: "Sponge".into(),
                quantity: 2
            }]
        );
        assert!(issue.kit.shortages(&OnHand::default()).is_empty());
        // And issuing it again is refused
        let again = issue.kit.issue(&on_hand, who, at(20)).unwrap_err();
        assert_eq!(code(again), "kit_already_issued");
    }

    #[test]
    fn given_covered_stock_when_the_cookie_has_not_arrived_then_issuing_is_refused_naming_it() {
        // Given a kit of 1 sponge, 1 on hand, its cookie ordered but not arrived
        let sponge = ConsumableId::new();
        let mut kit = Kit::assemble(
            KitId::new(),
            &activated(),
            vec![line(sponge, "Sponge", 1)],
            nobody(),
            at(0),
        );
        kit.cookie = kit.cookie.took_order("c-1", false, at(0), at(900)).unwrap();
        let on_hand = OnHand::from_sums([(sponge, 1)]);
        // When it is issued, then it is refused: the cookie has not arrived
        let e = kit.issue(&on_hand, AccountId::new(), at(10)).unwrap_err();
        assert!(
            e.to_string().contains("fortune cookie has not arrived"),
            "{e}"
        );
        assert_eq!(code(e), "cookie_not_arrived");
        // And with stock short too, the refusal names both
        let e = kit
            .issue(&OnHand::default(), AccountId::new(), at(10))
            .unwrap_err();
        assert!(e.to_string().contains("Sponge (needs 1, 0 on hand)"), "{e}");
        assert!(
            e.to_string().contains("fortune cookie has not arrived"),
            "{e}"
        );
        assert_eq!(code(e), "consumables_short");
    }

    #[test]
    fn the_queue_state_follows_stock_then_the_cookie_then_issue() {
        // Given a kit of 1 sponge, nothing on hand, its cookie not arrived
        let sponge = ConsumableId::new();
        let kit = Kit::assemble(
            KitId::new(),
            &activated(),
            vec![line(sponge, "Sponge", 1)],
            nobody(),
            at(0),
        );
        let none = OnHand::default();
        let one = OnHand::from_sums([(sponge, 1)]);
        // Then: short -> to assemble; covered -> waiting for the cookie; cookie -> ready
        assert_eq!(kit.stage(&kit.shortages(&none)), KitState::ToAssemble);
        assert_eq!(kit.stage(&kit.shortages(&one)), KitState::WaitingForCookie);
        let kit = with_cookie(kit);
        assert_eq!(kit.stage(&kit.shortages(&none)), KitState::ToAssemble);
        assert_eq!(kit.stage(&kit.shortages(&one)), KitState::Ready);
        // And once issued it is issued, whatever stock says
        let issued = kit.issue(&one, AccountId::new(), at(5)).unwrap().kit;
        assert_eq!(issued.stage(&issued.shortages(&none)), KitState::Issued);
        for state in [
            KitState::ToAssemble,
            KitState::WaitingForCookie,
            KitState::Ready,
            KitState::Issued,
        ] {
            assert_eq!(KitState::parse(state.as_str()), Some(state));
        }
    }

    /// One step of a random history of the warehouse.
    #[derive(Debug, Clone)]
    enum Step {
        /// Receive `1` units of consumable `0` (an index into a few).
        Receive(usize, i64),
        /// Try to issue a kit of these lines: (consumable index, quantity).
        Issue(Vec<(usize, i64)>),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..4usize, 1..50i64).prop_map(|(c, q)| Step::Receive(c, q)),
            prop::collection::btree_map(0..4usize, 1..30i64, 0..4)
                .prop_map(|lines| Step::Issue(lines.into_iter().collect())),
        ]
    }

    proptest! {
        /// Whatever the sequence of receipts and issues: what is on hand is the sum of the
        /// ledger's moves, equals receipts minus what issued kits took, never goes below
        /// zero, and an issue is refused exactly when a line exceeds what is on hand (and
        /// then moves nothing).
        #[test]
        fn stock_is_always_the_sum_of_its_moves(steps in prop::collection::vec(step(), 0..60)) {
            let consumables: Vec<ConsumableId> = (0..4).map(|_| ConsumableId::new()).collect();
            let who = AccountId::new();
            let mut ledger: Vec<StockMove> = Vec::new();
            let mut expected: BTreeMap<ConsumableId, i64> = BTreeMap::new();
            for (i, step) in steps.into_iter().enumerate() {
                let now = at(i as i64);
                let on_hand = OnHand::of_moves(&ledger);
                match step {
                    Step::Receive(c, q) => {
                        let c = consumables[c];
                        ledger.push(StockMove::receipt(c, &Receipt { quantity: q }, who, now).unwrap());
                        *expected.entry(c).or_default() += q;
                    }
                    Step::Issue(lines) => {
                        let lines: Vec<Line> = lines
                            .into_iter()
                            .map(|(c, q)| line(consumables[c], "c", q))
                            .collect();
                        let covered = lines.iter().all(|l| on_hand.get(l.consumable_id) >= l.quantity);
                        let kit = with_cookie(Kit::assemble(KitId::new(), &activated(), lines.clone(), nobody(), now));
                        match kit.issue(&on_hand, who, now) {
                            Ok(issue) => {
                                prop_assert!(covered);
                                for l in &lines {
                                    *expected.entry(l.consumable_id).or_default() -= l.quantity;
                                }
                                ledger.extend(issue.moves);
                            }
                            Err(e) => {
                                prop_assert!(!covered);
                                prop_assert_eq!(code(e), "consumables_short");
                            }
                        }
                    }
                }
                let on_hand = OnHand::of_moves(&ledger);
                for c in &consumables {
                    let sum: i64 = ledger.iter().filter(|m| m.consumable_id == *c).map(|m| m.quantity).sum();
                    prop_assert_eq!(on_hand.get(*c), sum);
                    prop_assert_eq!(on_hand.get(*c), expected.get(c).copied().unwrap_or(0));
                    prop_assert!(on_hand.get(*c) >= 0);
                }
            }
        }
    }
}
