//! The deliverer: sends due messages, retries with backoff, gives up after `max_attempts`.
//!
//! One message at a time, its outcome recorded before the next is sent: a crash can leave
//! unrecorded only the one message that was in flight, the only one ever sent twice (a
//! receiver can tell by its Message-ID, derived from our id). The file transport does not
//! even write that one twice: each message has one file name, and an existing file is kept.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use service::Context;
use storage::{AnyConnection, Backend};
use tokio::sync::Notify;

use crate::MailConfig;
use crate::store;

/// Where `.eml` files are written before they are linked into the mail directory.
pub const PARTIAL_DIR: &str = ".partial";

/// How many messages one round sends before looking at the shutdown flag again.
const ROUND: usize = 16;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory.
    File(PathBuf),
}

pub struct Deliverer {
    rt: Context,
    config: MailConfig,
    from: Mailbox,
    transport: Transport,
    wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(rt: Context, config: MailConfig, wake: Arc<Notify>) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", config.from))?;
        let transport = if config.smtp_url.is_empty() {
            let partial = config.file_dir.join(PARTIAL_DIR);
            std::fs::create_dir_all(&partial)
                .map_err(|e| anyhow::anyhow!("mail.file_dir {}: {e}", config.file_dir.display()))?;
            sweep_partial(&partial);
            Transport::File(config.file_dir.clone())
        } else {
            Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url: {e}"))?
                    .timeout(Some(Duration::from_secs(config.smtp_timeout_s)))
                    .build(),
            )
        };
        Ok(Deliverer {
            rt,
            config,
            from,
            transport,
            wake,
        })
    }

    pub async fn run(self) {
        let mut shutdown = self.rt.shutdown.clone();
        while !*shutdown.borrow() {
            match self.round().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail delivery round failed"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Sends due messages, one by one; returns how many it tried.
    async fn round(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        while n < ROUND && !*self.rt.shutdown.borrow() {
            if !self.deliver_one().await? {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Sends the next due message, if any, and records the outcome at once.
    async fn deliver_one(&self) -> anyhow::Result<bool> {
        if self.rt.db.backend() == Backend::Postgres {
            // Replicas share the queue. The message's row stays locked while it is sent and
            // until its outcome is committed (the others skip it); a crash ends the
            // transaction, and the message is due again for whoever comes next.
            let mut tx = self.rt.db.begin().await?;
            let Some(m) = store::due(&mut tx, true, 1).await?.pop() else {
                return Ok(false);
            };
            let result = self.send(&m).await;
            self.record(&mut tx, &m, result).await?;
            tx.commit().await?;
        } else {
            // SQLite: one process, one deliverer, and its write lock must not be held while
            // talking SMTP.
            let due = {
                let mut conn = self.rt.db.pool().acquire().await?;
                store::due(&mut conn, false, 1).await?.pop()
            };
            let Some(m) = due else {
                return Ok(false);
            };
            let result = self.send(&m).await;
            let mut tx = self.rt.db.begin().await?;
            self.record(&mut tx, &m, result).await?;
            tx.commit().await?;
        }
        Ok(true)
    }

    /// Records one attempt: sent, queued again after a backoff, or dead.
    async fn record(
        &self,
        conn: &mut AnyConnection,
        m: &store::Message,
        result: Result<(), Failure>,
    ) -> anyhow::Result<()> {
        match result {
            Ok(()) => store::mark_sent(conn, &m.id).await?,
            Err(Failure {
                error: e,
                permanent,
            }) => {
                let attempt = m.attempts.saturating_add(1);
                // A permanent refusal (5xx) will not change by retrying: dead at once.
                let dead = permanent || attempt >= self.config.max_attempts;
                let delay = i64::try_from(self.backoff(attempt).as_micros()).unwrap_or(i64::MAX);
                let next = storage::now_micros().saturating_add(delay);
                tracing::warn!(message = %m.id, attempt, dead, error = %e, "mail delivery failed");
                store::mark_failed(conn, &m.id, &e, dead, next).await?;
            }
        }
        Ok(())
    }

    fn backoff(&self, attempt: i64) -> Duration {
        let exp = (attempt - 1).clamp(0, 20) as u32;
        Duration::from_millis(
            self.config
                .backoff_initial_ms
                .saturating_mul(1 << exp)
                .min(self.config.backoff_max_ms),
        )
    }

    async fn send(&self, m: &store::Message) -> Result<(), Failure> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| Failure::permanent(format!("recipient: {e}")))?;
        // The Message-ID is derived from our id: a receiver can tell a resend after a crash
        // (between the server's acceptance and our bookkeeping) from a new message.
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            .message_id(Some(format!("<{}@mcf.mail>", m.id)))
            .multipart(MultiPart::alternative_plain_html(
                m.body_text.clone(),
                m.body_html.clone(),
            ))
            .map_err(|e| Failure::permanent(format!("building the message: {e}")))?;
        match &self.transport {
            Transport::Smtp(t) => t.send(email).await.map(|_| ()).map_err(|e| Failure {
                permanent: e.is_permanent(),
                error: e.to_string(),
            }),
            Transport::File(dir) => {
                let (dir, name, bytes) = (dir.clone(), eml_name(m), email.formatted());
                tokio::task::spawn_blocking(move || write_once(&dir, &name, &bytes))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                    .map_err(|error| Failure {
                        permanent: false,
                        error,
                    })
            }
        }
    }
}

/// `<UTC time>_<recipient>_<template>_<message id>.eml`, e.g.
/// `20261129T213816Z_tom@cats.test_set_password_invite_0193….eml`: listed in the order they
/// were submitted, found by recipient or template with a glob, and fixed per message (the
/// time is the submission's), so sending it again finds its file already there.
pub fn eml_name(m: &store::Message) -> String {
    let time = storage::time(m.created_at.0).format("%Y%m%dT%H%M%SZ");
    format!(
        "{time}_{}_{}_{}.eml",
        file_safe(&m.recipient),
        file_safe(&m.template),
        file_safe(&m.id)
    )
}

/// `s` for a file name: ASCII letters, digits and `@.+-` kept, anything else `_`, at most
/// 64 characters (names stay far below the usual 255-byte limit).
fn file_safe(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `bytes` as `dir/name` unless that file exists. The file is written aside first
/// (in [`PARTIAL_DIR`]) and flushed, then hard-linked into place, which fails rather than
/// replace: a reader never sees half a file, and a message sent again after a crash (its
/// file written, its outcome not recorded) keeps its one file.
fn write_once(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let partial = dir.join(PARTIAL_DIR).join(name);
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    let linked = match std::fs::hard_link(&partial, dir.join(name)) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    };
    // Also after a failed link: the next attempt writes it again.
    let _ = std::fs::remove_file(&partial);
    linked
}

/// Removes partial files old enough to be left by a crash (a message in flight is sent
/// again and rewrites its own; this only catches those that are not, e.g. deleted ones).
fn sweep_partial(partial: &Path) {
    let Ok(entries) = std::fs::read_dir(partial) else {
        return;
    };
    let stale = Duration::from_secs(3600);
    for entry in entries.filter_map(Result::ok) {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > stale);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Why a delivery attempt failed, and whether trying again can help.
struct Failure {
    error: String,
    permanent: bool,
}

impl Failure {
    fn permanent(error: String) -> Self {
        Failure {
            error,
            permanent: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(recipient: &str, template: &str) -> store::Message {
        store::Message {
            id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            recipient: recipient.into(),
            template: template.into(),
            variables: serde_json::json!({}),
            subject: "s".into(),
            status: "queued".into(),
            attempts: 0,
            last_error: None,
            // 2026-11-29T21:38:16.5Z
            created_at: store::chrono_free::Time(1_795_988_296_500_000),
            sent_at: None,
            sender: "iam".into(),
            idempotency_key: "k".into(),
            body_text: "t".into(),
            body_html: "h".into(),
        }
    }

    #[test]
    fn files_are_named_by_time_recipient_template_and_id() {
        let m = message("tom@cats.test", "set_password_invite");
        assert_eq!(
            eml_name(&m),
            "20261129T213816Z_tom@cats.test_set_password_invite_\
             0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.eml"
        );
        // Whatever a recipient holds, the name is one plain file in the directory.
        let m = message("\"../x y\"/é@cats.test", "t");
        let name = eml_name(&m);
        assert!(
            name.starts_with("20261129T213816Z__.._x_y___@cats.test_t_"),
            "{name}"
        );
        let long = format!("{}@cats.test", "a".repeat(300));
        assert!(eml_name(&message(&long, "t")).len() < 200);
    }

    #[test]
    fn a_file_is_written_once_and_never_replaced() {
        let dir = std::env::temp_dir().join(format!("mcf-mail-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(dir.join(PARTIAL_DIR)).unwrap();
        write_once(&dir, "a.eml", b"first").unwrap();
        // Sent again after a crash: the file stays as it was, and that counts as written.
        write_once(&dir, "a.eml", b"second").unwrap();
        assert_eq!(std::fs::read(dir.join("a.eml")).unwrap(), b"first");
        // A partial file left by a crash is rewritten and cleared by the next attempt.
        std::fs::write(dir.join(PARTIAL_DIR).join("b.eml"), b"half").unwrap();
        write_once(&dir, "b.eml", b"whole").unwrap();
        assert_eq!(std::fs::read(dir.join("b.eml")).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.join(PARTIAL_DIR)).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rendered_values_make_a_well_formed_message() {
        // A name with a line break and a long value: one Subject line, no injected header,
        // no line longer than SMTP allows.
        let long = "x".repeat(crate::templates::MAX_VALUE_BYTES);
        let vars = serde_json::json!({"name": "Tom\r\nBcc: evil@x.test", "amount": 1,
            "period": long});
        let r = crate::templates::render("payout_sent", vars.as_object().unwrap()).unwrap();
        let email = Message::builder()
            .from("MCF <no-reply@mcf.local>".parse().unwrap())
            .to("tom@cats.test".parse().unwrap())
            .subject(&r.subject)
            .multipart(MultiPart::alternative_plain_html(r.text, r.html))
            .unwrap();
        let text = String::from_utf8(email.formatted()).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc")), "{headers}");
        assert!(text.lines().all(|l| l.len() <= 998));
        // Long headers are folded; unfolded (RFC 5322 2.2.3) it is the whole subject.
        let unfolded = headers.replace("\r\n ", " ");
        let subject = format!("Subject: {}\r\n", r.subject);
        assert!(unfolded.contains(&subject), "{headers}");
    }
}
