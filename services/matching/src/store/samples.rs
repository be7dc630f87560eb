//! Normal samples (`normal_samples`): the workers Matching can assign.

use chrono::{DateTime, Utc};
use contracts::WorkerId;
use storage::{AnyConnection, AnyRow, Row, micros};

use storage::parsed;

use super::{Result, json, to_json};
use crate::domain::samples::NormalSample;

pub(super) fn sample_of(r: &AnyRow) -> Result<NormalSample> {
    Ok(NormalSample {
        id: parsed(r, "id")?,
        name: r.get("name"),
        available: r.get::<i64, _>("available") != 0,
        skills: json(&r.get::<String, _>("skills"))?,
    })
}

/// Inserts or replaces a normal sample. Call under [`lock_roster`](super::lock_roster) and
/// log the change.
pub async fn upsert(conn: &mut AnyConnection, s: &NormalSample, at: DateTime<Utc>) -> Result<()> {
    storage::query(
        "INSERT INTO normal_samples (id, name, available, skills, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         available = excluded.available, skills = excluded.skills, \
         updated_at = excluded.updated_at",
    )
    .bind(s.id.to_string())
    .bind(&s.name)
    .bind(i64::from(s.available))
    .bind(to_json(&s.skills)?)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: WorkerId) -> Result<Option<NormalSample>> {
    storage::query("SELECT * FROM normal_samples WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| sample_of(&r))
        .transpose()
}

/// Every normal sample, by name.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<NormalSample>> {
    storage::query("SELECT * FROM normal_samples ORDER BY name, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(sample_of)
        .collect()
}
