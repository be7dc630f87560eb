//! A kit whose order was canceled: nothing is handed out any more; what an issued kit took
//! comes back to stock by moves of its own (the ledger is never rewritten).

use chrono::{DateTime, Utc};
use contracts::AccountId;

use super::{Kit, KitState, MoveKind, StockMove};

/// What canceling a kit decides: the kit as canceled and the moves that put back what it
/// had taken (none unless it was issued).
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    pub kit: Kit,
    pub moves: Vec<StockMove>,
}

impl Kit {
    /// The kit's order was canceled by `who` at `now`: the kit is canceled, an issued
    /// kit's lines come back by `return` moves (the worker brings them back; the ledger
    /// says so at once). `None` when it was canceled already: hearing the cancel again
    /// changes nothing.
    pub fn cancel(&self, who: AccountId, now: DateTime<Utc>) -> Option<Cancel> {
        if self.state == KitState::Canceled {
            return None;
        }
        let moves = if self.state == KitState::Issued {
            self.lines
                .iter()
                .map(|l| StockMove {
                    consumable_id: l.consumable_id,
                    quantity: l.quantity,
                    kind: MoveKind::Return,
                    kit_id: Some(self.id),
                    actor: who,
                    moved_at: now,
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(Cancel {
            kit: Kit {
                state: KitState::Canceled,
                version: self.version + 1,
                ..self.clone()
            },
            moves,
        })
    }
}

#[cfg(test)]
mod tests {
    use contracts::{ConsumableId, KitId};

    use super::*;
    use crate::domain::fixtures::{activated, at, nobody};
    use crate::domain::{Line, OnHand};

    fn kit(lines: Vec<Line>) -> Kit {
        Kit::assemble(KitId::new(), &activated(), lines, nobody(), at(0))
    }

    fn sponges(n: i64) -> (ConsumableId, Vec<Line>) {
        let sponge = ConsumableId::new();
        let lines = vec![Line {
            consumable_id: sponge,
            name: "Sponge".into(),
            quantity: n,
        }];
        (sponge, lines)
    }

    #[test]
    fn given_an_open_kit_when_its_order_is_canceled_then_it_is_canceled_and_nothing_moves() {
        // Given a kit of 2 sponges not handed out
        let (_, lines) = sponges(2);
        let open = kit(lines);
        // When its order is canceled
        let cancel = open.cancel(AccountId::new(), at(10)).unwrap();
        // Then it is canceled (version 2), nothing comes back, nothing is missing for it
        assert_eq!(
            (cancel.kit.state, cancel.kit.version),
            (KitState::Canceled, 2)
        );
        assert!(cancel.moves.is_empty());
        assert!(cancel.kit.shortages(&OnHand::default()).is_empty());
        assert_eq!(cancel.kit.stage(&[]), KitState::Canceled);
        // And it can no longer be issued, nor canceled twice
        let e = cancel
            .kit
            .issue(&OnHand::default(), AccountId::new(), at(20))
            .unwrap_err();
        assert!(
            matches!(
                e,
                crate::InventoryError::Refused(service::Refused::Conflict {
                    code: "kit_canceled",
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(cancel.kit.cancel(AccountId::new(), at(30)), None);
    }

    #[test]
    fn given_an_issued_kit_when_its_order_is_canceled_then_each_line_comes_back_by_a_move() {
        // Given an issued kit of 3 sponges (its cookie arrived, stock covered it)
        let (sponge, lines) = sponges(3);
        let mut open = kit(lines);
        open.cookie.status = crate::domain::CookieStatus::Arrived;
        let issued = open
            .issue(&OnHand::from_sums([(sponge, 3)]), AccountId::new(), at(5))
            .unwrap()
            .kit;
        // When its order is canceled by the client
        let client = AccountId::new();
        let cancel = issued.cancel(client, at(10)).unwrap();
        // Then the 3 sponges come back by a return move naming the kit and who canceled
        assert_eq!(cancel.kit.state, KitState::Canceled);
        assert_eq!(cancel.kit.version, issued.version + 1);
        assert_eq!(
            cancel.moves,
            vec![StockMove {
                consumable_id: sponge,
                quantity: 3,
                kind: MoveKind::Return,
                kit_id: Some(issued.id),
                actor: client,
                moved_at: at(10),
            }]
        );
    }
}
