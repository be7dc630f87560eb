//! The deliverer: sends due messages, retries with backoff, gives up after `max_attempts`.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use messaging::Runtime;
use storage::Backend;
use tokio::sync::Notify;

use crate::MailConfig;
use crate::store;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

pub struct Deliverer {
    rt: Runtime,
    config: MailConfig,
    from: Mailbox,
    transport: Transport,
    wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(rt: Runtime, config: MailConfig, wake: Arc<Notify>) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", config.from))?;
        let transport = if config.smtp_url.is_empty() {
            std::fs::create_dir_all(&config.file_dir)
                .map_err(|e| anyhow::anyhow!("mail.file_dir {}: {e}", config.file_dir.display()))?;
            Transport::File(AsyncFileTransport::new(&config.file_dir))
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

    /// Sends the due messages; returns how many it tried.
    async fn round(&self) -> anyhow::Result<usize> {
        // PostgreSQL replicas claim rows for the duration of the round; SQLite has one
        // process, and must not hold its write lock while talking SMTP.
        let claim = self.rt.db.backend() == Backend::Postgres;
        let (due, mut held) = if claim {
            let mut tx = self.rt.db.begin().await?;
            (store::due(&mut tx, true, 16).await?, Some(tx))
        } else {
            let mut conn = self.rt.db.pool().acquire().await?;
            (store::due(&mut conn, false, 16).await?, None)
        };
        let n = due.len();
        let mut results = Vec::with_capacity(n);
        for m in &due {
            results.push((m, self.send(m).await));
        }
        let mut tx = match held.take() {
            Some(tx) => tx,
            None => self.rt.db.begin().await?,
        };
        for (m, result) in results {
            match result {
                Ok(()) => store::mark_sent(&mut tx, &m.id).await?,
                Err(Failure {
                    error: e,
                    permanent,
                }) => {
                    let attempt = m.attempts + 1;
                    // A permanent refusal (5xx) will not change by retrying: dead at once.
                    let dead = permanent || attempt >= self.config.max_attempts;
                    let next = storage::now_micros() + self.backoff(attempt).as_micros() as i64;
                    tracing::warn!(message = %m.id, attempt, dead, error = %e, "mail delivery failed");
                    store::mark_failed(&mut tx, &m.id, &e, dead, next).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(n)
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
            Transport::File(t) => t.send(email).await.map(|_| ()).map_err(|e| Failure {
                permanent: false,
                error: e.to_string(),
            }),
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
