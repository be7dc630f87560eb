//! The people IAM announced, and how many open kits each is responsible for.

use std::collections::BTreeMap;

use contracts::AccountId;
use storage::{AnyConnection, AnyRow, Row};

use super::{Result, parsed, with_ids};
use crate::domain::{KitState, Person};

/// Keeps `person` as IAM announced them at account `version`. Versions only move forward:
/// an older event delivered late never overwrites a newer one.
pub async fn upsert_person(conn: &mut AnyConnection, person: &Person, version: i64) -> Result<()> {
    storage::query(
        "INSERT INTO people (account_id, name, email, supply, active, version) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, \
         email = excluded.email, supply = excluded.supply, active = excluded.active, \
         version = excluded.version WHERE people.version < excluded.version",
    )
    .bind(person.account_id.to_string())
    .bind(&person.name)
    .bind(&person.email)
    .bind(i64::from(person.supply))
    .bind(i64::from(person.active))
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

fn person_of(r: &AnyRow) -> Result<Person> {
    Ok(Person {
        account_id: parsed(r, "account_id")?,
        name: r.get("name"),
        email: r.get("email"),
        supply: r.get::<i64, _>("supply") != 0,
        active: r.get::<i64, _>("active") != 0,
    })
}

/// Everyone holding the `supply` role (active or not), by id.
pub async fn supply_staff(conn: &mut AnyConnection) -> Result<Vec<Person>> {
    storage::query(
        "SELECT account_id, name, email, supply, active FROM people WHERE supply = 1 \
         ORDER BY account_id",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(person_of)
    .collect()
}

/// The people `ids` name that IAM announced (others are left out), by id.
pub async fn people_by_id(conn: &mut AnyConnection, ids: &[AccountId]) -> Result<Vec<Person>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    with_ids(
        "SELECT account_id, name, email, supply, active FROM people \
         WHERE account_id IN ({ids}) ORDER BY account_id",
        ids,
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(person_of)
    .collect()
}

/// How many kits not yet issued each person is responsible for (people with none are
/// absent).
pub async fn open_kits_by_responsible(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<AccountId, i64>> {
    storage::query(
        "SELECT responsible_id, COUNT(*) AS open FROM kits \
         WHERE responsible_id IS NOT NULL AND state = $1 GROUP BY responsible_id",
    )
    .bind(KitState::ToAssemble.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((parsed(r, "responsible_id")?, r.get::<i64, _>("open"))))
    .collect()
}
