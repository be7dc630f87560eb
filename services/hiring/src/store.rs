//! Hiring's tables.

use serde::Serialize;
use storage::{AnyConnection, AnyRow, Row};

use crate::domain::TestSpec;

type Result<T> = std::result::Result<T, storage::DbError>;

/// A stored test.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    pub id: String,
    #[serde(flatten)]
    pub spec: TestSpec,
    pub retired: bool,
}

fn test_of(r: &AnyRow) -> Result<Test> {
    Ok(Test {
        id: r.get("id"),
        spec: TestSpec {
            name: r.get("name"),
            characteristic: r.get("characteristic"),
            pass_mark: r.get("pass_mark"),
            questions: serde_json::from_str(&r.get::<String, _>("questions"))
                .map_err(|e| storage::DbError::Sqlx(sqlx::Error::Decode(e.into())))?,
        },
        retired: r.get::<Option<i64>, _>("retired_at").is_some(),
    })
}

pub async fn save_test(conn: &mut AnyConnection, id: &str, t: &TestSpec) -> Result<()> {
    let now = storage::now_micros();
    storage::query(
        "INSERT INTO tests (id, name, characteristic, pass_mark, questions, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         characteristic = excluded.characteristic, pass_mark = excluded.pass_mark, \
         questions = excluded.questions, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(&t.name)
    .bind(&t.characteristic)
    .bind(t.pass_mark)
    .bind(serde_json::to_string(&t.questions).expect("questions serialize"))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn retire_test(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(
        storage::query("UPDATE tests SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL")
            .bind(storage::now_micros())
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn test(conn: &mut AnyConnection, id: &str) -> Result<Option<Test>> {
    storage::query("SELECT * FROM tests WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| test_of(&r))
        .transpose()
}

pub async fn tests(conn: &mut AnyConnection) -> Result<Vec<Test>> {
    storage::query("SELECT * FROM tests ORDER BY name, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(test_of)
        .collect()
}

/// An application as managers see it.
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub age: i64,
    pub breed: String,
    pub coat_colour: String,
    pub email: String,
    pub status: String,
    pub decline_reason: Option<String>,
    pub worker_id: Option<String>,
    #[serde(skip)]
    pub version: i64,
    #[serde(skip)]
    pub link_expires_at: Option<i64>,
}

fn application_of(r: &AnyRow) -> Application {
    Application {
        id: r.get("id"),
        name: r.get("name"),
        age: r.get("age"),
        breed: r.get("breed"),
        coat_colour: r.get("coat_colour"),
        email: r.get("email"),
        status: r.get("status"),
        decline_reason: r.get("decline_reason"),
        worker_id: r.get("worker_id"),
        version: r.get("version"),
        link_expires_at: r.get("link_expires_at"),
    }
}

/// Inserts an open application; `false` if this e-mail already has one open.
pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &Application,
    photo: &crate::domain::Photo,
) -> Result<bool> {
    Ok(storage::query(
        "INSERT INTO applications (id, name, age, breed, coat_colour, email, photo, photo_type, \
         status, open_email, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, $9, 'open', $6, 1, $7) \
         ON CONFLICT (open_email) DO NOTHING",
    )
    .bind(&a.id)
    .bind(&a.name)
    .bind(a.age)
    .bind(&a.breed)
    .bind(&a.coat_colour)
    .bind(&a.email)
    .bind(storage::now_micros())
    .bind(photo.bytes.clone())
    .bind(photo.media_type)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// An application's photo and its media type.
pub async fn photo(conn: &mut AnyConnection, id: &str) -> Result<Option<(Vec<u8>, String)>> {
    Ok(
        storage::query("SELECT photo, photo_type FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .map(|r| (r.get("photo"), r.get("photo_type"))),
    )
}

pub async fn application(conn: &mut AnyConnection, id: &str) -> Result<Option<Application>> {
    Ok(storage::query("SELECT * FROM applications WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| application_of(&r)))
}

pub async fn application_by_link(
    conn: &mut AnyConnection,
    hash: &str,
) -> Result<Option<Application>> {
    Ok(
        storage::query("SELECT * FROM applications WHERE link_hash = $1")
            .bind(hash)
            .fetch_optional(conn)
            .await?
            .map(|r| application_of(&r)),
    )
}

/// A page of applications, newest first.
pub async fn applications(
    conn: &mut AnyConnection,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Application>> {
    Ok(storage::query(
        "SELECT * FROM applications WHERE ($1 IS NULL OR status = $1) \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?
    .iter()
    .map(application_of)
    .collect())
}

pub async fn set_link(
    conn: &mut AnyConnection,
    id: &str,
    hash: &str,
    expires_at: i64,
) -> Result<()> {
    storage::query("UPDATE applications SET link_hash = $1, link_expires_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(expires_at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Closes an open application (accepted or declined). `false` if it was not open.
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    reason: Option<&str>,
    worker_id: Option<&str>,
) -> Result<bool> {
    Ok(storage::query(
        "UPDATE applications SET status = $1, decline_reason = $2, worker_id = $3, \
         open_email = NULL, link_hash = NULL, version = version + 1, decided_at = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(status)
    .bind(reason)
    .bind(worker_id)
    .bind(storage::now_micros())
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// One assigned test and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub test_id: String,
    pub test_name: String,
    pub characteristic: String,
    pub taken: bool,
    pub score: Option<i64>,
    pub passed: Option<bool>,
}

pub async fn assign(conn: &mut AnyConnection, application: &str, test: &str) -> Result<()> {
    storage::query(
        "INSERT INTO assignments (application_id, test_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (application_id, test_id) DO NOTHING",
    )
    .bind(application)
    .bind(test)
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn assignments(conn: &mut AnyConnection, application: &str) -> Result<Vec<Assignment>> {
    Ok(storage::query(
        "SELECT a.test_id, t.name, t.characteristic, a.taken_at, a.score, a.passed \
         FROM assignments a JOIN tests t ON t.id = a.test_id WHERE a.application_id = $1 \
         ORDER BY t.name",
    )
    .bind(application)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Assignment {
        test_id: r.get("test_id"),
        test_name: r.get("name"),
        characteristic: r.get("characteristic"),
        taken: r.get::<Option<i64>, _>("taken_at").is_some(),
        score: r.get("score"),
        passed: r.get::<Option<i64>, _>("passed").map(|p| p != 0),
    })
    .collect())
}

/// Records a result once: `false` if the test was not assigned or already taken.
pub async fn record(
    conn: &mut AnyConnection,
    application: &str,
    test: &str,
    score: i64,
    passed: bool,
) -> Result<bool> {
    Ok(storage::query(
        "UPDATE assignments SET taken_at = $1, score = $2, passed = $3 \
         WHERE application_id = $4 AND test_id = $5 AND taken_at IS NULL",
    )
    .bind(storage::now_micros())
    .bind(score)
    .bind(i64::from(passed))
    .bind(application)
    .bind(test)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Keeps an account IAM announced (id and normalized e-mail). Versions only move forward:
/// an older event delivered late never overwrites a newer one.
pub async fn upsert_person(
    conn: &mut AnyConnection,
    account_id: contracts::AccountId,
    email: &str,
    version: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO people (account_id, email, version) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, \
         version = excluded.version WHERE people.version < excluded.version",
    )
    .bind(account_id.to_string())
    .bind(email)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// The id of the account with this (normalized) e-mail, if IAM announced one. IAM keeps
/// e-mails unique and unchanged, so there is at most one; should that ever not hold, the
/// newest wins and IAM refuses a hire that does not match its own account.
pub async fn account_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<String>> {
    Ok(storage::query_scalar(
        "SELECT account_id FROM people WHERE email = $1 ORDER BY version DESC, account_id LIMIT 1",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}
