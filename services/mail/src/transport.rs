//! How a message leaves: over SMTP, or, with no SMTP server configured, as an `.eml` file.
//!
//! The file transport writes each message once: each message has one file name, and an
//! existing file is kept, so a message sent again after a crash (between the write and the
//! record of its outcome) still has one file. Over SMTP a receiver can tell such a resend by
//! its Message-ID, derived from our id.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::MailConfig;
use crate::domain::{Failure, Message};

/// Where `.eml` files are written before they are linked into the mail directory.
pub const PARTIAL_DIR: &str = ".partial";

enum Kind {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory.
    File(PathBuf),
}

/// The way out, as `[mail]` configures it.
pub struct Transport {
    from: Mailbox,
    kind: Kind,
}

/// The From mailbox of `[mail]`, or why it is not one (naming the key).
pub fn from_mailbox(config: &MailConfig) -> anyhow::Result<Mailbox> {
    config
        .from
        .parse()
        .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", config.from))
}

impl Transport {
    /// The transport `config` names. Without SMTP the mail directory is made, and partial
    /// files a crash left there long before `now` are removed.
    pub fn new(config: &MailConfig, now: SystemTime) -> anyhow::Result<Self> {
        let from = from_mailbox(config)?;
        let kind = if config.smtp_url.is_empty() {
            let partial = config.file_dir.join(PARTIAL_DIR);
            std::fs::create_dir_all(&partial)
                .map_err(|e| anyhow::anyhow!("mail.file_dir {}: {e}", config.file_dir.display()))?;
            sweep_partial(&partial, now);
            Kind::File(config.file_dir.clone())
        } else {
            Kind::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url: {e}"))?
                    .timeout(Some(Duration::from_secs(config.smtp_timeout_s)))
                    .build(),
            )
        };
        Ok(Transport { from, kind })
    }

    /// One attempt to send `m`, counted in `mcf_mail_sends_total{transport, outcome}`
    /// (`smtp` or `file`; `sent`, `failed` or `rejected` for a permanent failure) and timed
    /// in `mcf_mail_send_duration_seconds{transport}`.
    pub async fn send(&self, m: &Message) -> Result<(), Failure> {
        let transport = match self.kind {
            Kind::Smtp(_) => "smtp",
            Kind::File(_) => "file",
        };
        let started = std::time::Instant::now();
        let result = self.send_once(m).await;
        let outcome = match &result {
            Ok(()) => "sent",
            Err(f) if f.permanent => "rejected",
            Err(_) => "failed",
        };
        metrics::counter!("mcf_mail_sends_total", "transport" => transport, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("mcf_mail_send_duration_seconds", "transport" => transport)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn send_once(&self, m: &Message) -> Result<(), Failure> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| Failure::permanent(format!("recipient: {e}")))?;
        // The Message-ID is derived from our id: a receiver can tell a resend after a crash
        // (between the server's acceptance and our bookkeeping) from a new message.
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            .message_id(Some(format!("<{}@mcf.mail>", m.id)))
            .multipart(MultiPart::alternative_plain_html(
                m.body_text.clone(),
                m.body_html.clone(),
            ))
            .map_err(|e| Failure::permanent(format!("building the message: {e}")))?;
        match &self.kind {
            Kind::Smtp(t) => t.send(email).await.map(|_| ()).map_err(|e| Failure {
                permanent: e.is_permanent(),
                error: e.to_string(),
            }),
            Kind::File(dir) => {
                let (dir, name, bytes) = (dir.clone(), eml_name(m), email.formatted());
                tokio::task::spawn_blocking(move || write_once(&dir, &name, &bytes))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                    .map_err(Failure::transient)
            }
        }
    }
}

/// `<UTC time>_<recipient>_<template>_<message id>.eml`, e.g.
/// `20261129T213816Z_tom@cats.test_set_password_invite_0193….eml`: listed in the order they
/// were submitted, found by recipient or template with a glob, and fixed per message (the
/// time is the submission's), so sending it again finds its file already there.
pub fn eml_name(m: &Message) -> String {
    let time = m.created_at.format("%Y%m%dT%H%M%SZ");
    format!(
        "{time}_{}_{}_{}.eml",
        file_safe(&m.recipient),
        file_safe(&m.template),
        file_safe(&m.id.to_string())
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

/// Removes partial files old enough (by `now`) to be left by a crash (a message in flight
/// is sent again and rewrites its own; this only catches those that are not, e.g. deleted
/// ones).
fn sweep_partial(partial: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(partial) else {
        return;
    };
    let stale = Duration::from_secs(3600);
    for entry in entries.filter_map(Result::ok) {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > stale);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::Status;

    fn message(recipient: &str, template: &str) -> Message {
        Message {
            id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap(),
            recipient: recipient.into(),
            template: template.into(),
            variables: serde_json::json!({}),
            subject: "s".into(),
            status: Status::Queued,
            attempts: 0,
            last_error: None,
            // 2026-11-29T21:38:16.5Z
            created_at: storage::time(1_795_988_296_500_000),
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
        let long = "x".repeat(crate::domain::templates::MAX_VALUE_BYTES);
        let vars = serde_json::json!({"name": "Tom\r\nBcc: evil@x.test", "amount": 1,
            "period": long});
        let r = crate::domain::templates::render(
            "payout_sent",
            crate::domain::templates::Language::En,
            vars.as_object().unwrap(),
        )
        .unwrap();
        let email = lettre::Message::builder()
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
