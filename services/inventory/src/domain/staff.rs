//! The supply staff Inventory knows from IAM's account events, and the choice of the
//! responsible supply employee for a new kit: the least loaded, the choice explained.

use std::collections::BTreeMap;

use contracts::AccountId;
use contracts::iam::{AccountChanged, AccountCreated};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The role whose holders assemble and hand out kits.
pub const SUPPLY_ROLE: &str = "supply";

/// A person as IAM last announced them: Inventory keeps everyone it hears of, so that a
/// late, older event cannot hand the `supply` role back to someone who lost it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Person {
    pub account_id: AccountId,
    pub name: String,
    pub email: String,
    /// Holds the `supply` role.
    pub supply: bool,
    /// The account is not disabled.
    pub active: bool,
}

impl Person {
    /// The person an `iam.account.created` announces (a new account is active).
    pub fn created(a: &AccountCreated) -> Person {
        Person {
            account_id: a.account_id,
            name: a.name.clone(),
            email: a.email.clone(),
            supply: a.roles.iter().any(|r| r == SUPPLY_ROLE),
            active: true,
        }
    }

    /// The person an `iam.account.changed` announces (its whole new state).
    pub fn changed(a: &AccountChanged) -> Person {
        Person {
            account_id: a.account_id,
            name: a.name.clone(),
            email: a.email.clone(),
            supply: a.roles.iter().any(|r| r == SUPPLY_ROLE),
            active: a.status == "active",
        }
    }

    /// May be made responsible for a kit: an active holder of the `supply` role.
    pub fn on_duty(&self) -> bool {
        self.supply && self.active
    }
}

/// Who is responsible for a kit, and why them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Responsibility {
    /// The responsible supply employee; `None` when no active supply staff were known.
    pub account_id: Option<AccountId>,
    /// Why this person (or why nobody), in a sentence staff can read.
    pub reason: String,
}

/// The responsible supply employee for a new kit among `people`, given how many kits not
/// yet issued each person is responsible for (`open_kits`; absent means none): the active
/// `supply` holder with the fewest, ties to the smaller id (so the choice is reproducible).
pub fn choose_responsible(
    people: &[Person],
    open_kits: &BTreeMap<AccountId, i64>,
) -> Responsibility {
    let on_duty: Vec<&Person> = people.iter().filter(|p| p.on_duty()).collect();
    let load = |p: &Person| open_kits.get(&p.account_id).copied().unwrap_or(0);
    match on_duty.iter().min_by_key(|p| (load(p), p.account_id)) {
        None => Responsibility {
            account_id: None,
            reason: "nobody responsible: no active supply staff known".into(),
        },
        Some(p) => {
            let open = load(p);
            let tied = on_duty.iter().filter(|q| load(q) == open).count();
            let kits = if open == 1 { "kit" } else { "kits" };
            let staff = if on_duty.len() == 1 {
                "1 supply employee".to_string()
            } else {
                format!("{} supply staff", on_duty.len())
            };
            let tie = if tied > 1 {
                format!(" (tied with {}, the smaller id taken)", tied - 1)
            } else {
                String::new()
            };
            Responsibility {
                account_id: Some(p.account_id),
                reason: format!("least loaded: {open} open {kits}; {staff}{tie}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(supply: bool, active: bool) -> Person {
        Person {
            account_id: AccountId::new(),
            name: "Sam".into(),
            email: "sam@example.com".into(),
            supply,
            active,
        }
    }

    #[test]
    fn given_no_supply_staff_when_a_kit_is_made_then_nobody_is_responsible_and_it_says_so() {
        // Given a client, a disabled supply employee and nobody else
        let people = [person(false, true), person(true, false)];
        // When the responsible person is chosen
        let chosen = choose_responsible(&people, &BTreeMap::new());
        // Then there is none, and the reason says why
        assert_eq!(chosen.account_id, None);
        assert_eq!(
            chosen.reason,
            "nobody responsible: no active supply staff known"
        );
    }

    #[test]
    fn given_supply_staff_with_open_kits_when_a_kit_is_made_then_the_least_loaded_is_chosen() {
        // Given three supply staff with 3, 2 and 4 open kits, and a busier non-supply person
        let (a, b, c, client) = (
            person(true, true),
            person(true, true),
            person(true, true),
            person(false, true),
        );
        let open = BTreeMap::from([
            (a.account_id, 3),
            (b.account_id, 2),
            (c.account_id, 4),
            (client.account_id, 0),
        ]);
        // When the responsible person is chosen
        let chosen = choose_responsible(&[a, b.clone(), c, client], &open);
        // Then it is the one with 2, and the reason gives the load and the staff count
        assert_eq!(chosen.account_id, Some(b.account_id));
        assert_eq!(chosen.reason, "least loaded: 2 open kits; 3 supply staff");
    }

    #[test]
    fn given_equally_loaded_staff_when_a_kit_is_made_then_the_smaller_id_is_chosen() {
        // Given two supply staff with no open kits (ids are UUIDv7: the first is smaller)
        let first = person(true, true);
        let second = person(true, true);
        // When the responsible person is chosen, whatever order they are listed in
        let chosen = choose_responsible(&[second, first.clone()], &BTreeMap::new());
        // Then it is the smaller id, and the reason says it was a tie
        assert_eq!(chosen.account_id, Some(first.account_id));
        assert_eq!(
            chosen.reason,
            "least loaded: 0 open kits; 2 supply staff (tied with 1, the smaller id taken)"
        );
    }

    #[test]
    fn given_iam_events_when_read_then_the_role_and_status_decide_who_is_on_duty() {
        let id = AccountId::new();
        let created = Person::created(&AccountCreated {
            account_id: id,
            email: "sam@example.com".into(),
            name: "Sam".into(),
            roles: vec!["worker".into(), "supply".into()],
            language: None,
        });
        assert!(created.on_duty());
        let changed = |roles: &[&str], status: &str| {
            Person::changed(&AccountChanged {
                account_id: id,
                email: "sam@example.com".into(),
                name: "Sam".into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                status: status.into(),
                language: None,
            })
        };
        assert!(changed(&["supply"], "active").on_duty());
        assert!(!changed(&["supply"], "disabled").on_duty());
        assert!(!changed(&["worker"], "active").on_duty());
        // One open kit reads in the singular, one employee too
        let sam = changed(&["supply"], "active");
        let chosen = choose_responsible(&[sam], &BTreeMap::from([(id, 1)]));
        assert_eq!(chosen.reason, "least loaded: 1 open kit; 1 supply employee");
    }
}
