use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::DbError;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection talks to (for the few statements that differ).
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum open connections.
    pub max_connections: u32,
    /// How long a SQLite connection waits for a lock held by another process.
    pub busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// A set of migrations, one list per backend (`migrations/sqlite`, `migrations/postgres`).
///
/// Several sets may share a database (the messaging tables and the service's own): each
/// ignores versions it does not know, so their version ranges must not overlap.
pub struct Migrations {
    sqlite: Migrator,
    postgres: Migrator,
}

impl Migrations {
    /// Pairs the two backends' migrators (usually from `sqlx::migrate!`).
    pub fn new(mut sqlite: Migrator, mut postgres: Migrator) -> Self {
        sqlite.set_ignore_missing(true);
        postgres.set_ignore_missing(true);
        Migrations { sqlite, postgres }
    }
}

/// A service's database: a connection pool plus the backend it talks to.
///
/// Cheap to clone. On SQLite, write transactions are serialized in-process by a semaphore
/// and start with `BEGIN IMMEDIATE`, so a read-then-write transaction never fails to upgrade
/// its lock and writers queue without the busy handler's sleep-and-retry.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writer: Option<Arc<Semaphore>>,
}

/// A write transaction. Dereferences to the connection, so `&mut *tx` is an executor.
pub struct Tx {
    inner: Transaction<'static, Any>,
    _writer: Option<OwnedSemaphorePermit>,
}

impl Tx {
    /// Commits; nothing is visible to others before this returns `Ok`.
    pub async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await?;
        Ok(())
    }

    /// Rolls back explicitly (dropping a `Tx` also rolls back).
    pub async fn rollback(self) -> Result<(), DbError> {
        self.inner.rollback().await?;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

impl Db {
    /// Opens (and creates, if missing) the database at `url`: `sqlite://PATH` or
    /// `postgres://...`. SQLite gets WAL, `synchronous=FULL`, foreign keys and a busy
    /// timeout on every connection.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db, DbError> {
        install_default_drivers();
        let backend = backend_of(url)?;
        if backend == Backend::Sqlite {
            create_parent_dir(url)?;
        }
        if !Any::database_exists(url).await? {
            // Two processes may race to create the same database: the loser sees it exist.
            if let Err(e) = Any::create_database(url).await
                && !Any::database_exists(url).await?
            {
                return Err(e.into());
            }
        }
        let busy_ms = options.busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        Ok(Db {
            pool,
            backend,
            writer,
        })
    }

    /// Applies each set's pending migrations for this backend, in order.
    pub async fn migrate(&self, sets: &[Migrations]) -> Result<(), DbError> {
        for set in sets {
            let migrator = match self.backend {
                Backend::Sqlite => &set.sqlite,
                Backend::Postgres => &set.postgres,
            };
            migrator.run(&self.pool).await?;
        }
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        match &self.writer {
            Some(writer) => {
                let permit = writer
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the writer semaphore is never closed");
                let inner = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(Tx {
                    inner,
                    _writer: Some(permit),
                })
            }
            None => Ok(Tx {
                inner: self.pool.begin().await?,
                _writer: None,
            }),
        }
    }

    /// The pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend_of(url: &str) -> Result<Backend, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(DbError::UnsupportedUrl(url.to_owned()))
    }
}

fn create_parent_dir(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// The URL of a SQLite database file, created on first use.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
