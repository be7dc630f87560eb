//! Applications, their photos and private links, and the tests assigned to them.

use contracts::{ApplicationId, TestId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storage::{AnyConnection, AnyRow, Row};

use storage::DbError;

use super::{Result, parsed};
use crate::domain::{Application, Grade, Photo, Status};

fn application_of(r: &AnyRow) -> Result<Application> {
    let status: String = r.get("status");
    let worker_id: Option<String> = r.get("worker_id");
    Ok(Application {
        id: parsed(r, "id")?,
        name: r.get("name"),
        age: r.get("age"),
        breed: r.get("breed"),
        coat_colour: r.get("coat_colour"),
        email: r.get("email"),
        status: Status::parse(&status)
            .ok_or_else(|| DbError::undecodable(format!("status {status:?}")))?,
        decline_reason: r.get("decline_reason"),
        worker_id: worker_id
            .map(|w| {
                w.parse()
                    .map_err(|e| DbError::undecodable(format!("worker_id {w:?}: {e}")))
            })
            .transpose()?,
        language: r.get("language"),
        version: r.get("version"),
        link_expires_at: r.get("link_expires_at"),
    })
}

/// Inserts an open application at `now`; `false` if this e-mail already has one open.
pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &Application,
    photo: &Photo,
    now: i64,
) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO applications (id, name, age, breed, coat_colour, email, photo, photo_type, \
         status, open_email, version, created_at, language) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $10, $6, $11, $7, $12) \
         ON CONFLICT (open_email) DO NOTHING",
    )
    .bind(a.id.to_string())
    .bind(&a.name)
    .bind(a.age)
    .bind(&a.breed)
    .bind(&a.coat_colour)
    .bind(&a.email)
    .bind(now)
    .bind(photo.bytes.clone())
    .bind(photo.media_type)
    .bind(a.status.as_str())
    .bind(a.version)
    .bind(a.language.as_deref())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// An application's photo and its media type.
pub async fn photo(
    conn: &mut AnyConnection,
    id: ApplicationId,
) -> Result<Option<(Vec<u8>, String)>> {
    Ok(
        storage::query("SELECT photo, photo_type FROM applications WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?
            .map(|r| (r.get("photo"), r.get("photo_type"))),
    )
}

pub async fn application(
    conn: &mut AnyConnection,
    id: ApplicationId,
) -> Result<Option<Application>> {
    storage::query("SELECT * FROM applications WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| application_of(&r))
        .transpose()
}

/// The application whose private link's token hashes to `hash`.
pub async fn application_by_link(
    conn: &mut AnyConnection,
    hash: &str,
) -> Result<Option<Application>> {
    storage::query("SELECT * FROM applications WHERE link_hash = $1")
        .bind(hash)
        .fetch_optional(conn)
        .await?
        .map(|r| application_of(&r))
        .transpose()
}

/// A page of applications, newest first.
pub async fn applications(
    conn: &mut AnyConnection,
    status: Option<Status>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Application>> {
    storage::query(
        "SELECT * FROM applications WHERE ($1 IS NULL OR status = $1) \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(status.map(Status::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?
    .iter()
    .map(application_of)
    .collect()
}

/// Sets the private link (the hash of its token) and when it expires.
pub async fn set_link(
    conn: &mut AnyConnection,
    id: ApplicationId,
    hash: &str,
    expires_at: i64,
) -> Result<()> {
    storage::query("UPDATE applications SET link_hash = $1, link_expires_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(expires_at)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Saves the decision `decided` (accepted or declined) of an application that is still
/// open, at `now`; `false` if it was not open any more (decided meanwhile).
pub async fn decide(conn: &mut AnyConnection, decided: &Application, now: i64) -> Result<bool> {
    Ok(storage::query(
        "UPDATE applications SET status = $1, decline_reason = $2, worker_id = $3, \
         open_email = NULL, link_hash = NULL, version = $4, decided_at = $5 \
         WHERE id = $6 AND status = 'open'",
    )
    .bind(decided.status.as_str())
    .bind(decided.decline_reason.as_deref())
    .bind(decided.worker_id.map(|w| w.to_string()))
    .bind(decided.version)
    .bind(now)
    .bind(decided.id.to_string())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// One assigned test and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assignment {
    pub test_id: TestId,
    pub test_name: String,
    pub characteristic: String,
    pub taken: bool,
    /// Percent right, once taken.
    pub score: Option<i64>,
    pub passed: Option<bool>,
}

/// Assigns `test` to `application` at `now` (again: nothing changes).
pub async fn assign(
    conn: &mut AnyConnection,
    application: ApplicationId,
    test: TestId,
    now: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO assignments (application_id, test_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (application_id, test_id) DO NOTHING",
    )
    .bind(application.to_string())
    .bind(test.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn assignments(
    conn: &mut AnyConnection,
    application: ApplicationId,
) -> Result<Vec<Assignment>> {
    storage::query(
        "SELECT a.test_id, t.name, t.characteristic, a.taken_at, a.score, a.passed \
         FROM assignments a JOIN tests t ON t.id = a.test_id WHERE a.application_id = $1 \
         ORDER BY t.name",
    )
    .bind(application.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Assignment {
            test_id: parsed(r, "test_id")?,
            test_name: r.get("name"),
            characteristic: r.get("characteristic"),
            taken: r.get::<Option<i64>, _>("taken_at").is_some(),
            score: r.get("score"),
            passed: r.get::<Option<i64>, _>("passed").map(|p| p != 0),
        })
    })
    .collect()
}

/// Records a result once, at `now`: `false` if the test was not assigned or already taken.
pub async fn record(
    conn: &mut AnyConnection,
    application: ApplicationId,
    test: TestId,
    grade: Grade,
    now: i64,
) -> Result<bool> {
    Ok(storage::query(
        "UPDATE assignments SET taken_at = $1, score = $2, passed = $3 \
         WHERE application_id = $4 AND test_id = $5 AND taken_at IS NULL",
    )
    .bind(now)
    .bind(grade.score)
    .bind(i64::from(grade.passed))
    .bind(application.to_string())
    .bind(test.to_string())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
