/// A storage failure. Domain refusals are not storage errors: services map these to their
/// own `Unexpected` variant.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no backend we support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// Anything the driver reported.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The shared commit of a SQLite write group failed (or the database closed first):
    /// nothing of this transaction was kept.
    #[error("the group commit failed: {0}")]
    GroupCommit(String),
    /// Creating the directory for a SQLite file failed.
    #[error("cannot create {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl DbError {
    /// A stored value that does not decode into what the code expects (only a bug or a hand
    /// edit makes one): reported like the driver's own decode errors.
    pub fn undecodable(message: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        DbError::Sqlx(sqlx::Error::Decode(message.into()))
    }

    /// True when the failure is a unique-constraint violation (both backends).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}
