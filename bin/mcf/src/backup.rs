//! Backups of an embedded system (`mcf backup`, `mcf restore`): every SQLite database of the
//! data dir copied as of one moment, with the data dir's other files (photos, mails, the
//! generated service secret), described by a manifest; and their restore into a data dir.
//!
//! Why one moment for all files: the services talk through outboxes, the bus's log and
//! inboxes, each in a file of its own. Files copied one after the other while the system
//! runs would hold, say, a consumer's effect of an event that its producer's copy (taken a
//! moment earlier) never wrote: restored, that is a phantom, or an event published twice.
//! So the process that owns the files pauses the writers of every database at once (each
//! database's group-commit turn: [`storage::Db::pause_writes`], which also commits what the
//! writers before left open), pins a read snapshot of every file (a read apiece:
//! [`storage::PreparedCopy::pin`]) and lets the writers go on; then it copies each file's
//! rows as of its snapshot into a new file made beforehand with the same schema. What was
//! acknowledged before the pause is in the copy; what was not is not, in every file alike.
//! Writers queue during the pause, which lasts as long as the pins, not the copies; it is
//! measured and reported (`writers_paused_us` in the manifest).
//!
//! The other files are copied after the pause: a photo or a mail is written before the row
//! that names it and never removed, so every one the copied rows name is there (a few newer
//! ones may be too, named by nothing). Mail writes each message's file once under a fixed
//! name, so a restored system that sends a message again finds its file there.
//!
//! A stopped data dir is copied the same way without a running process (`mcf backup
//! --data-dir`): each database's writers are held with a `BEGIN IMMEDIATE` write
//! transaction, SQLite's own lock across processes, while the snapshots are pinned.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use auth::{Access, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use storage::Db;
use web::ApiError;

/// The manifest's file name in a backup directory; written last, so a backup without one is
/// incomplete.
pub const MANIFEST: &str = "manifest.json";

/// The manifest format this binary writes and restores.
pub const FORMAT: u32 = 1;

/// How long one attempt waits for every database's writers' turn. A writer that holds its
/// turn while it waits for another database (it should not) could wait for a turn this
/// backup holds: the attempt then lets go of all and tries again.
const TURN_WAIT: Duration = Duration::from_secs(5);

/// Attempts at taking every turn before the backup gives up.
const ATTEMPTS: u32 = 4;

/// What a backup holds and when it was taken: the restore checks every file against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The `mcf` version that took it.
    pub mcf_version: String,
    /// When the databases were copied (RFC 3339, UTC).
    pub taken_at: String,
    /// The data dir it was taken from.
    pub data_dir: String,
    /// Taken by the running process (`true`) or from a stopped data dir.
    pub online: bool,
    /// How long the writers were paused (µs): from the first database's turn taken to
    /// the last snapshot pinned.
    pub writers_paused_us: u64,
    /// How long taking every database's turn took (µs), from asking for the first: the
    /// wait for writers in the middle of a transaction. Until its own turn is taken, a
    /// database's writers go on, so this is not part of their pause.
    pub turns_taken_us: u64,
    /// Every file, its path relative to the data dir.
    pub files: Vec<Entry>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the data dir, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// The size of every file together.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// One line for people: what, how much, and the pause.
    pub fn summary(&self) -> String {
        format!(
            "{} files, {} bytes, taken at {}; writers paused {:.1} ms (their turns taken in \
             {:.1} ms)",
            self.files.len(),
            self.bytes(),
            self.taken_at,
            self.writers_paused_us as f64 / 1000.0,
            self.turns_taken_us as f64 / 1000.0,
        )
    }
}

/// Why a backup was not taken.
#[derive(Debug)]
pub enum BackupError {
    /// The target directory is unusable (not absolute, not empty, inside the data dir...).
    Target(String),
    /// Another backup of this process is running.
    Running,
    /// The writers' turns could not all be taken in time.
    Busy,
    /// Copying or writing failed.
    Failed(anyhow::Error),
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupError::Target(why) => f.write_str(why),
            BackupError::Running => f.write_str("a backup is running already"),
            BackupError::Busy => write!(
                f,
                "the writers' turns could not all be taken within {ATTEMPTS} attempts: try again"
            ),
            BackupError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for BackupError {}

impl From<anyhow::Error> for BackupError {
    fn from(e: anyhow::Error) -> Self {
        BackupError::Failed(e)
    }
}

/// The databases of a data dir, open: what a backup copies (each under its file name).
#[derive(Clone)]
pub struct Databases {
    data_dir: PathBuf,
    dbs: Vec<(String, Db)>,
    /// One backup at a time: two would only wait for each other's turns.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl Databases {
    /// The databases of `data_dir`, named by file (`ordering.sqlite`, `bus.sqlite`).
    pub fn new(data_dir: PathBuf, dbs: Vec<(String, Db)>) -> Databases {
        Databases {
            data_dir,
            dbs,
            running: Arc::default(),
        }
    }

    /// Copies every database as of one moment, then the data dir's other files, into the
    /// new or empty directory `to` (absolute, outside the data dir), and writes the manifest.
    /// The running process's way: see the module's documentation.
    pub async fn take(&self, to: &Path) -> Result<Manifest, BackupError> {
        let _one = self.running.try_lock().map_err(|_| BackupError::Running)?;
        prepare_target(to, &self.data_dir)?;
        let (writers_paused, turns_taken) = self.copy_databases(to, Hold::Pause).await?;
        finish(
            &self.data_dir,
            &self.dbs,
            to,
            true,
            writers_paused,
            turns_taken,
        )
        .await
    }

    /// Takes every database's writers' turn (`how`), all of them or none, retrying when
    /// they cannot all be had within [`TURN_WAIT`]. Returns them with how long that took.
    async fn hold(&self, how: Hold) -> Result<(Held, Duration), BackupError> {
        let start = Instant::now();
        for attempt in 1..=ATTEMPTS {
            let deadline = tokio::time::Instant::now() + TURN_WAIT;
            let mut held = Held {
                since: Instant::now(),
                pauses: Vec::new(),
                locks: Vec::new(),
            };
            let mut complete = true;
            for (name, db) in &self.dbs {
                let taken = tokio::time::timeout_at(deadline, how.take(db)).await;
                match taken {
                    Ok(Ok(HeldOne::Pause(p))) => held.pauses.extend(p),
                    Ok(Ok(HeldOne::Lock(tx))) => held.locks.push(tx),
                    Ok(Err(e)) => {
                        return Err(anyhow::anyhow!("{name}: holding its writers: {e}").into());
                    }
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
                if held.pauses.len() + held.locks.len() == 1 {
                    held.since = Instant::now();
                }
            }
            if complete {
                return Ok((held, start.elapsed()));
            }
            drop(held);
            tracing::warn!(
                attempt,
                "backup: not every writers' turn came in time; again"
            );
            tokio::time::sleep(Duration::from_millis(100) * attempt).await;
        }
        Err(BackupError::Busy)
    }

    /// Copies every database into `to` as of one moment: each new file is made with its
    /// database's schema first, then every database's writers are held (`how`) just long
    /// enough to pin a read snapshot of each (a read apiece), and the rows are copied from
    /// those snapshots once the writers went on, side by side. Returns how long the
    /// writers were held and, of that, how long taking their turns took.
    async fn copy_databases(
        &self,
        to: &Path,
        how: Hold,
    ) -> Result<(Duration, Duration), BackupError> {
        let mut prepared = Vec::new();
        for (name, db) in &self.dbs {
            let copy = db
                .prepare_copy(&to.join(name))
                .await
                .with_context(|| format!("preparing the copy of {name}"))?;
            prepared.push((name.clone(), copy));
        }
        let (held, turns_taken) = self.hold(how).await?;
        let mut pinned = Vec::new();
        let mut failed = None;
        for (name, copy) in prepared {
            match copy.pin().await {
                Ok(copy) => pinned.push((name, copy)),
                Err(e) => {
                    failed = Some(anyhow::anyhow!("{name}: pinning its copy: {e}"));
                    break;
                }
            }
        }
        let writers_held = held.since.elapsed();
        drop(held);
        if let Some(e) = failed {
            return Err(e.into());
        }
        let mut copies = tokio::task::JoinSet::new();
        for (name, copy) in pinned {
            copies
                .spawn(async move { copy.copy().await.with_context(|| format!("copying {name}")) });
        }
        while let Some(copied) = copies.join_next().await {
            copied.context("a copy task")??;
        }
        Ok((writers_held, turns_taken))
    }
}

/// How a backup holds a database's writers.
#[derive(Clone, Copy)]
enum Hold {
    /// Its turn in this process ([`Db::pause_writes`]): the process owns the file.
    Pause,
    /// A `BEGIN IMMEDIATE` write transaction: SQLite's lock, which holds other processes'
    /// writers too (a stopped data dir, or one some process might still write).
    Lock,
}

enum HeldOne {
    Pause(Option<storage::WritePause>),
    Lock(storage::Tx),
}

impl Hold {
    async fn take(self, db: &Db) -> Result<HeldOne, storage::DbError> {
        Ok(match self {
            Hold::Pause => HeldOne::Pause(db.pause_writes().await?),
            Hold::Lock => HeldOne::Lock(db.begin().await?),
        })
    }
}

/// Every database's writers, held; dropping lets them go (a lock's transaction wrote
/// nothing: dropping it rolls it back).
struct Held {
    /// When the first one was taken.
    since: Instant,
    pauses: Vec<storage::WritePause>,
    locks: Vec<storage::Tx>,
}

/// Copies a stopped data dir (`mcf backup --data-dir`): every `*.sqlite` file in it, their
/// snapshots pinned under write locks, so a process still writing one cannot make the
/// copies disagree; then the other files and the manifest.
pub async fn take_offline(data_dir: &Path, to: &Path) -> Result<Manifest, BackupError> {
    let mut dbs = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(data_dir)
        .with_context(|| format!("reading {}", data_dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sqlite"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(BackupError::Target(format!(
            "{} holds no database: is it a data dir?",
            data_dir.display()
        )));
    }
    for name in names {
        let url = storage::sqlite_url(&data_dir.join(&name));
        let db = Db::connect(&url, &storage::DbOptions::default())
            .await
            .with_context(|| format!("opening {name}"))?;
        dbs.push((name, db));
    }
    let databases = Databases::new(data_dir.to_owned(), dbs);
    prepare_target(to, data_dir)?;
    let (writers_paused, turns_taken) = databases.copy_databases(to, Hold::Lock).await?;
    let manifest = finish(
        data_dir,
        &databases.dbs,
        to,
        false,
        writers_paused,
        turns_taken,
    )
    .await;
    for (_, db) in &databases.dbs {
        db.close().await;
    }
    manifest
}

/// `to` must be absolute, outside `data_dir`, and new or empty; it is created.
fn prepare_target(to: &Path, data_dir: &Path) -> Result<(), BackupError> {
    let target = |why: String| BackupError::Target(format!("{}: {why}", to.display()));
    if !to.is_absolute() {
        return Err(target("must be an absolute path".into()));
    }
    let inside = || target("is inside the data dir: a backup goes elsewhere".into());
    // Before anything is created there; checked again below with links resolved.
    let data = std::path::absolute(data_dir).context("the data dir's path")?;
    if to.starts_with(&data) {
        return Err(inside());
    }
    match std::fs::read_dir(to) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(target(
                    "is not empty: a backup goes into a new or empty directory".into(),
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(to).map_err(|e| target(e.to_string()))?;
        }
        Err(e) => return Err(target(e.to_string())),
    }
    let (to, data) = (
        to.canonicalize().map_err(|e| target(e.to_string()))?,
        data_dir
            .canonicalize()
            .with_context(|| format!("data dir {}", data_dir.display()))?,
    );
    if to.starts_with(&data) {
        return Err(inside());
    }
    Ok(())
}

/// After the databases: copies the data dir's other files, hashes everything, syncs it to
/// disk and writes the manifest last.
async fn finish(
    data_dir: &Path,
    dbs: &[(String, Db)],
    to: &Path,
    online: bool,
    writers_paused: Duration,
    turns_taken: Duration,
) -> Result<Manifest, BackupError> {
    let databases: Vec<String> = dbs.iter().map(|(n, _)| n.clone()).collect();
    let (data_dir, to) = (data_dir.to_owned(), to.to_owned());
    let taken_at = storage::time(storage::now_micros()).to_rfc3339();
    let manifest = tokio::task::spawn_blocking(move || -> anyhow::Result<Manifest> {
        for rel in files_of(&data_dir)? {
            let name = rel.to_string_lossy();
            let sqlite_side = [".sqlite-wal", ".sqlite-shm", ".sqlite-journal"]
                .iter()
                .any(|s| name.ends_with(s));
            if sqlite_side || databases.iter().any(|d| Path::new(d) == rel) {
                continue;
            }
            let target = to.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match std::fs::copy(data_dir.join(&rel), &target) {
                Ok(_) => {}
                // Gone since it was listed (a temporary file): nothing to keep.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("copying {}", rel.display())),
            }
        }
        let mut files = Vec::new();
        for rel in files_of(&to)? {
            let path = to.join(&rel);
            std::fs::File::open(&path)?.sync_all()?;
            let (bytes, sha256) = hash(&path)?;
            files.push(Entry {
                path: portable(&rel)?,
                bytes,
                sha256,
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            format: FORMAT,
            mcf_version: env!("CARGO_PKG_VERSION").to_owned(),
            taken_at,
            data_dir: data_dir.display().to_string(),
            online,
            writers_paused_us: u64::try_from(writers_paused.as_micros()).unwrap_or(u64::MAX),
            turns_taken_us: u64::try_from(turns_taken.as_micros()).unwrap_or(u64::MAX),
            files,
        };
        let partial = to.join(format!("{MANIFEST}.partial"));
        std::fs::write(&partial, serde_json::to_vec_pretty(&manifest)?)?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, to.join(MANIFEST))?;
        sync_dirs(&to)?;
        Ok(manifest)
    })
    .await
    .context("the copy task")??;
    Ok(manifest)
}

/// Restores the backup in `from` into `data_dir`: checks every file against the manifest
/// first (size and SHA-256), refuses a `data_dir` that holds anything unless `force` (its
/// contents are then removed), copies, and checks each copy again. Run it with the system
/// stopped; `mcf up --data-dir` then starts from it.
pub fn restore(from: &Path, data_dir: &Path, force: bool) -> anyhow::Result<Manifest> {
    let text = std::fs::read(from.join(MANIFEST)).with_context(|| {
        format!(
            "{}: no {MANIFEST}: not a backup, or an incomplete one",
            from.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .with_context(|| format!("{}: unreadable", from.join(MANIFEST).display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{}: format {} (this mcf restores format {FORMAT})",
            from.display(),
            manifest.format
        );
    }
    let mut problems = Vec::new();
    for f in &manifest.files {
        let rel = relative(&f.path)?;
        match hash(&from.join(&rel)) {
            Ok((bytes, sha256)) if bytes == f.bytes && sha256 == f.sha256 => {}
            Ok((bytes, _)) => problems.push(format!(
                "{}: {bytes} bytes, SHA-256 differs from the manifest's ({} bytes)",
                f.path, f.bytes
            )),
            Err(e) => problems.push(format!("{}: {e}", f.path)),
        }
    }
    if !problems.is_empty() {
        bail!(
            "{}: the backup is damaged, nothing restored:\n  {}",
            from.display(),
            problems.join("\n  ")
        );
    }
    match std::fs::read_dir(data_dir) {
        Ok(entries) => {
            let entries: Vec<_> = entries.collect::<Result<_, _>>()?;
            if !entries.is_empty() && !force {
                bail!(
                    "{} is not empty: restoring replaces a data dir's contents; stop the \
                     system and pass --force to replace them",
                    data_dir.display()
                );
            }
            for e in entries {
                let path = e.path();
                if e.file_type()?.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                }
                .with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
        }
        Err(e) => return Err(e).with_context(|| data_dir.display().to_string()),
    }
    for f in &manifest.files {
        let rel = relative(&f.path)?;
        let target = data_dir.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Permissions come along (the service secret stays readable by its owner only).
        std::fs::copy(from.join(&rel), &target).with_context(|| format!("copying {}", f.path))?;
        std::fs::File::open(&target)?.sync_all()?;
        let (bytes, sha256) = hash(&target)?;
        if bytes != f.bytes || sha256 != f.sha256 {
            bail!("{}: the copy differs from the backup", target.display());
        }
    }
    sync_dirs(data_dir)?;
    Ok(manifest)
}

/// A manifest path as a relative path of plain names (no `..`, no root): a manifest
/// cannot make a restore write outside the data dir.
fn relative(path: &str) -> anyhow::Result<PathBuf> {
    let rel = PathBuf::from(path);
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if path.is_empty() || !plain {
        bail!("the manifest names {path:?}: not a plain relative path");
    }
    Ok(rel)
}

/// `rel` with `/` separators, for the manifest.
fn portable(rel: &Path) -> anyhow::Result<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .with_context(|| format!("{}: not a UTF-8 name", rel.display()))
}

/// Every regular file under `dir`, relative to it, sorted; symbolic links are not followed.
fn files_of(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&rel)) {
            Ok(entries) => entries,
            // A directory removed since it was listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| dir.join(&rel).display().to_string()),
        };
        for e in entries {
            let e = e?;
            let kind = e.file_type()?;
            let path = rel.join(e.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Syncs `dir` and every directory under it, so the new files' names are durable too.
fn sync_dirs(dir: &Path) -> anyhow::Result<()> {
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                pending.push(e.path());
            }
        }
        #[cfg(unix)]
        std::fs::File::open(&d)?.sync_all()?;
    }
    Ok(())
}

/// A file's size and SHA-256 (lowercase hex).
fn hash(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// The body of `POST /ops/backup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRequest {
    /// Where the backup goes: an absolute path on the machine running the system, new or
    /// empty, outside the data dir.
    pub to: String,
}

/// `POST /ops/backup`, for admins: the running embedded process takes a backup of its data
/// dir into the directory the body names and answers with the manifest (201). Tokens are
/// checked with `verifier` (IAM's audience: this route belongs to no one service).
pub fn routes(databases: Databases, verifier: Arc<auth::Verifier>) -> axum::Router {
    let (router, _) = Routes::new()
        .route(
            Route::post("/ops/backup", Access::Roles(&[Role::Admin]))
                .summary("Back up every database and file of the data dir, as of one moment"),
            backup,
        )
        .with_state(databases)
        .into_parts();
    router.layer(axum::Extension(verifier))
}

async fn backup(
    State(databases): State<Databases>,
    web::Json(request): web::Json<BackupRequest>,
) -> Result<(StatusCode, axum::Json<Manifest>), ApiError> {
    if request.to.trim().is_empty() {
        return Err(ApiError::invalid(
            "to",
            "name the directory to back up into",
        ));
    }
    match databases.take(Path::new(&request.to)).await {
        Ok(manifest) => {
            tracing::info!(
                to = %request.to,
                files = manifest.files.len(),
                bytes = manifest.bytes(),
                writers_paused_us = manifest.writers_paused_us,
                "backup taken"
            );
            Ok((StatusCode::CREATED, axum::Json(manifest)))
        }
        Err(BackupError::Target(why)) => Err(ApiError::invalid("to", why)),
        Err(e @ BackupError::Running) => Err(ApiError::conflict("backup_running", e.to_string())),
        Err(e @ BackupError::Busy) => Err(ApiError::unavailable(e.to_string())),
        Err(BackupError::Failed(e)) => Err(ApiError::internal(e.as_ref())),
    }
}

/// Asks the system at `url` (where `mcf up` listens) to back up into `to` (absolute, on
/// its machine) with an admin's `token`.
pub async fn request(url: &str, token: &str, to: &Path) -> anyhow::Result<Manifest> {
    let endpoint = format!("{}/ops/backup", url.trim_end_matches('/'));
    let body = BackupRequest {
        to: to
            .to_str()
            .context("the backup directory's path is not UTF-8")?
            .to_owned(),
    };
    let r = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {endpoint}"))?;
    let status = r.status();
    if status == StatusCode::CREATED {
        return r.json().await.context("the backup's manifest");
    }
    let problem: serde_json::Value = r.json().await.unwrap_or_default();
    let detail = problem["detail"].as_str().unwrap_or("no detail");
    match status {
        StatusCode::NOT_FOUND => bail!(
            "{endpoint}: 404: this process serves no backups (only `mcf up` does; a stopped \
             data dir: --data-dir)"
        ),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            bail!("{endpoint}: {status}: an admin's token is needed ({detail})")
        }
        _ => bail!("{endpoint}: {status}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database(dir: &Path, name: &str, rows: &[i64]) -> Db {
        let db = Db::connect(
            &storage::sqlite_url(&dir.join(name)),
            &storage::DbOptions::default(),
        )
        .await
        .unwrap();
        let mut tx = db.begin().await.unwrap();
        storage::query("CREATE TABLE t (id BIGINT PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .unwrap();
        for id in rows {
            storage::query("INSERT INTO t (id) VALUES ($1)")
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        db
    }

    async fn ids(path: &Path) -> Vec<i64> {
        let db = Db::connect(&storage::sqlite_url(path), &storage::DbOptions::default())
            .await
            .unwrap();
        let ids = storage::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        db.close().await;
        ids
    }

    /// A data dir with two databases (one written while its copy is being made), a photo
    /// and a mail in subdirectories and a secret.
    async fn data_dir(root: &Path) -> (PathBuf, Databases) {
        let data = root.join("data");
        std::fs::create_dir_all(data.join("objects/ordering")).unwrap();
        std::fs::create_dir_all(data.join("mail")).unwrap();
        std::fs::write(data.join("objects/ordering/photo.jpg"), b"jpeg").unwrap();
        std::fs::write(data.join("mail/a.eml"), b"Subject: hi\r\n").unwrap();
        std::fs::write(data.join("service-secret"), b"s3cret").unwrap();
        let a = database(&data, "a.sqlite", &[1, 2]).await;
        let bus = database(&data, "bus.sqlite", &[7]).await;
        let dbs = Databases::new(
            data.clone(),
            vec![("a.sqlite".into(), a), ("bus.sqlite".into(), bus)],
        );
        (data, dbs)
    }

    /// Given a running data dir, when a backup is taken and restored into a new dir, then
    /// the databases hold what was committed before it, every other file is there, the
    /// manifest names each with its hash, and a write after the backup is not in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_restores_into_a_new_data_dir() {
        let root = tempfile::tempdir().unwrap();
        let (_data, dbs) = data_dir(root.path()).await;
        let to = root.path().join("backup");
        let manifest = dbs.take(&to).await.unwrap();
        let mut tx = dbs.dbs[0].1.begin().await.unwrap();
        storage::query("INSERT INTO t (id) VALUES (3)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a.sqlite",
                "bus.sqlite",
                "mail/a.eml",
                "objects/ordering/photo.jpg",
                "service-secret"
            ]
        );
        assert!(manifest.online);
        assert_eq!(
            manifest.files[4].sha256,
            hex::encode(Sha256::digest(b"s3cret"))
        );
        let restored = root.path().join("restored");
        assert_eq!(restore(&to, &restored, false).unwrap(), manifest);
        assert_eq!(ids(&restored.join("a.sqlite")).await, [1, 2]);
        assert_eq!(ids(&restored.join("bus.sqlite")).await, [7]);
        assert_eq!(
            std::fs::read(restored.join("objects/ordering/photo.jpg")).unwrap(),
            b"jpeg"
        );
        // The same target twice, one inside the data dir, a relative one: refused.
        for bad in [to.clone(), root.path().join("data/b"), PathBuf::from("b")] {
            assert!(
                matches!(dbs.take(&bad).await, Err(BackupError::Target(_))),
                "{}",
                bad.display()
            );
        }
    }

    /// Given a stopped data dir, when it is backed up offline, then the copy holds what
    /// it held, taken under the databases' write locks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_data_dir_is_backed_up_offline() {
        let root = tempfile::tempdir().unwrap();
        let (data, dbs) = data_dir(root.path()).await;
        for (_, db) in &dbs.dbs {
            db.close().await;
        }
        let to = root.path().join("backup");
        let manifest = take_offline(&data, &to).await.unwrap();
        assert!(!manifest.online);
        assert_eq!(manifest.files.len(), 5);
        let restored = root.path().join("restored");
        restore(&to, &restored, false).unwrap();
        assert_eq!(ids(&restored.join("a.sqlite")).await, [1, 2]);
        let empty = root.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(matches!(
            take_offline(&empty, &root.path().join("b2")).await,
            Err(BackupError::Target(_))
        ));
    }

    /// Given a backup, when it is restored onto a data dir that holds anything, then it is
    /// refused without --force and replaces the contents with it; a damaged or tampered
    /// backup restores nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restore_refuses_a_used_target_and_a_damaged_backup() {
        let root = tempfile::tempdir().unwrap();
        let (data, dbs) = data_dir(root.path()).await;
        let to = root.path().join("backup");
        dbs.take(&to).await.unwrap();
        let e = restore(&to, &data, false).unwrap_err().to_string();
        assert!(e.contains("not empty"), "{e}");
        assert_eq!(
            std::fs::read(data.join("service-secret")).unwrap(),
            b"s3cret"
        );
        // Over a used data dir with --force: what was there and is not in the backup goes.
        let used = root.path().join("used");
        std::fs::create_dir_all(used.join("old")).unwrap();
        std::fs::write(used.join("a.sqlite-wal"), b"stale").unwrap();
        restore(&to, &used, true).unwrap();
        assert!(!used.join("a.sqlite-wal").exists() && !used.join("old").exists());
        assert_eq!(ids(&used.join("a.sqlite")).await, [1, 2]);

        std::fs::write(to.join("mail/a.eml"), b"Subject: changed\r\n").unwrap();
        let target = root.path().join("never");
        let e = restore(&to, &target, false).unwrap_err().to_string();
        assert!(e.contains("damaged") && e.contains("mail/a.eml"), "{e}");
        assert!(
            !target.exists(),
            "nothing is restored from a damaged backup"
        );

        let mut manifest: Manifest =
            serde_json::from_slice(&std::fs::read(to.join(MANIFEST)).unwrap()).unwrap();
        manifest.files[0].path = "../outside".into();
        std::fs::write(to.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        let e = restore(&to, &target, false).unwrap_err().to_string();
        assert!(e.contains("not a plain relative path"), "{e}");
        std::fs::remove_file(to.join(MANIFEST)).unwrap();
        let e = restore(&to, &target, false).unwrap_err().to_string();
        assert!(e.contains("incomplete"), "{e}");
    }
}
