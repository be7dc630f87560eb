//! A manager's award to a worker: any positive amount up to the configured ceiling, with
//! the reason kept, booked as `award:<award id>` (the awards cost debited, the worker
//! credited).

use chrono::{DateTime, Utc};
use contracts::{AccountId, AwardId, Money, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use super::ledger::{
    Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind, LedgerAccount,
    LedgerError,
};

/// The longest reason kept with an award.
pub const MAX_REASON_CHARS: usize = 500;

/// What a manager asks for: who, how much (minor units), why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAward {
    pub worker_id: WorkerId,
    /// Minor units, 1 to `billing.max_award`.
    pub amount: Money,
    /// Why (one line, 1 to 500 characters): shown on the worker's statement.
    pub reason: String,
}

/// An award as booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Award {
    pub id: AwardId,
    pub worker_id: WorkerId,
    pub amount: Money,
    pub reason: String,
    pub granted_by: AccountId,
    pub booked_at: DateTime<Utc>,
    /// The ledger entry (`award:<id>`).
    pub entry_id: EntryId,
}

impl NewAward {
    /// The award `id` granted by `manager` at `now`, or the field that is not acceptable:
    /// an amount of nothing, below nothing or above `max` (`amount`), an empty, multi-line
    /// or overlong reason (`reason`).
    pub fn grant(
        &self,
        id: AwardId,
        manager: AccountId,
        max: Money,
        now: DateTime<Utc>,
    ) -> Result<(Award, Entry), Refused> {
        if self.amount <= Money::zero() || self.amount > max {
            return Err(Refused::invalid(
                "amount",
                format!("must be 1 to {} minor units", max.minor()),
            ));
        }
        let reason = web::text::single_line("reason", &self.reason, MAX_REASON_CHARS)?;
        let entry_id = EntryId::of(EntryKind::Award, id);
        let head = EntryHead {
            id: entry_id.clone(),
            kind: EntryKind::Award,
            reason: format!("award: {reason}"),
            actor: Actor::Account(manager),
            cause: Cause {
                kind: CauseKind::Award,
                id: id.to_string(),
                event_id: None,
            },
            booked_at: now,
        };
        let entry = Entry::transfer(
            head,
            LedgerAccount::Company(CompanyAccount::Awards),
            LedgerAccount::Worker(self.worker_id),
            self.amount,
        )
        .map_err(|e: LedgerError| Refused::invalid("amount", e.to_string()))?;
        let award = Award {
            id,
            worker_id: self.worker_id,
            amount: self.amount,
            reason,
            granted_by: manager,
            booked_at: now,
            entry_id,
        };
        Ok((award, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(amount: i64, reason: &str) -> NewAward {
        NewAward {
            worker_id: WorkerId::new(),
            amount: Money::from_minor(amount),
            reason: reason.into(),
        }
    }

    fn grant(new: &NewAward) -> Result<(Award, Entry), Refused> {
        new.grant(
            AwardId::new(),
            AccountId::new(),
            Money::from_minor(1000),
            DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn given_an_award_then_the_worker_is_credited_and_the_reason_kept() {
        let new = asked(1000, "  best smile of the month ");
        let (award, entry) = grant(&new).unwrap();
        assert_eq!(award.reason, "best smile of the month");
        assert_eq!(
            entry.amount_for(LedgerAccount::Worker(new.worker_id)),
            Money::from_minor(-1000)
        );
        assert_eq!(entry.id().as_str(), format!("award:{}", award.id));
    }

    #[test]
    fn given_a_bad_amount_or_reason_then_it_is_refused_naming_the_field() {
        for (new, field) in [
            (asked(0, "x"), "amount"),
            (asked(-5, "x"), "amount"),
            (asked(1001, "x"), "amount"),
            (asked(5, ""), "reason"),
            (asked(5, "two\nlines"), "reason"),
            (asked(5, &"x".repeat(501)), "reason"),
        ] {
            let refused = grant(&new).unwrap_err();
            assert!(
                matches!(&refused, Refused::Invalid { field: f, .. } if f == field),
                "{new:?}: {refused:?}"
            );
        }
    }
}
