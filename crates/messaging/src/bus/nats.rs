//! NATS JetStream: a stream per producing context, durable pull consumers, explicit acks,
//! de-duplication by event id, bounded redelivery.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage, stream};
use contracts::Envelope;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Mutex, watch};

use super::{BusError, Subscription};
use crate::MessagingConfig;
use crate::consumer::{Consumer, Disposition};
use crate::tasks::{self, Progress};

/// A JetStream connection plus the streams it has already made sure of.
pub struct NatsBus {
    js: jetstream::Context,
    duplicate_window: Duration,
    /// `messaging.nats_replicas`, for the streams this bus creates.
    replicas: usize,
    ensured: Mutex<HashSet<String>>,
}

/// The stream of a producing context: `ordering` -> `ORDERING` holding `ordering.>`.
pub fn stream_name(source: &str) -> String {
    source.to_ascii_uppercase()
}

/// JetStream names may not contain `.`, `*`, `>` or spaces (they become API subjects).
fn durable_name(consumer: &str) -> String {
    consumer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl NatsBus {
    /// Connects to `url`, one server or a cluster's servers separated by commas
    /// (`nats://a:4222,nats://b:4222`). The client reconnects by itself when the server
    /// goes away, to another of the list if there are several.
    pub async fn connect(url: &str, config: &MessagingConfig) -> Result<Self, BusError> {
        let servers = url
            .split(',')
            .map(|u| u.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(BusError::nats)?;
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .connect(servers)
            .await
            .map_err(BusError::nats)?;
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_secs(10));
        Ok(NatsBus {
            js,
            duplicate_window: Duration::from_secs(config.nats_duplicate_window_s),
            replicas: config.nats_replicas.max(1),
            ensured: Mutex::new(HashSet::new()),
        })
    }

    /// Creates the context's stream if it does not exist yet. Producer and consumers both
    /// call this with the same configuration, so start order does not matter.
    async fn ensure_stream(&self, source: &str) -> Result<stream::Stream, BusError> {
        let name = stream_name(source);
        let stream = self
            .js
            .get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![format!("{source}.>")],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: self.duplicate_window,
                max_age: Duration::from_secs(30 * 24 * 3600),
                num_replicas: self.replicas,
                ..Default::default()
            })
            .await
            .map_err(BusError::nats)?;
        self.ensured.lock().await.insert(name);
        Ok(stream)
    }

    pub(crate) async fn publish_all(&self, events: &[&Envelope]) -> Result<(), BusError> {
        let mut sources: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        for s in sources {
            if !self.ensured.lock().await.contains(&stream_name(s)) {
                self.ensure_stream(s).await?;
            }
        }
        // Send all, then wait for every ack: the relay marks rows sent only after this.
        let mut acks = Vec::with_capacity(events.len());
        for e in events {
            let body = serde_json::to_vec(e).expect("envelopes always serialize");
            let ack = self
                .js
                .send_publish(
                    e.event_type.clone(),
                    PublishMessage::build()
                        .payload(body.into())
                        .message_id(e.id.to_string()),
                )
                .await
                .map_err(BusError::nats)?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(BusError::nats)?;
        }
        Ok(())
    }

    async fn pull_consumer(
        &self,
        sub: &Subscription,
        config: &MessagingConfig,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, BusError> {
        let stream = self.ensure_stream(&sub.source).await?;
        let durable = durable_name(&sub.consumer);
        stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    filter_subjects: sub.event_types.clone(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(config.nats_ack_wait_s),
                    // Our runner dead-letters at max_deliver; the server bound is a backstop.
                    max_deliver: config.max_deliver + 1,
                    ..Default::default()
                },
            )
            .await
            .map_err(BusError::nats)
    }

    pub(crate) async fn pending(&self, sub: &Subscription) -> Result<u64, BusError> {
        let stream = self.ensure_stream(&sub.source).await?;
        match stream.consumer_info(durable_name(&sub.consumer)).await {
            Ok(info) => Ok(info
                .num_pending
                .saturating_add(u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX))),
            // Not created yet: its consumer's first run creates it (moments after the
            // process starts); until then nothing is counted as waiting for it.
            Err(e) if e.kind() == jetstream::context::ConsumerInfoErrorKind::NotFound => Ok(0),
            Err(e) => Err(BusError::nats(e)),
        }
    }

    pub(crate) async fn forget_consumer(
        &self,
        source: &str,
        consumer: &str,
    ) -> Result<(), BusError> {
        let stream = self.ensure_stream(source).await?;
        match stream.delete_consumer(&durable_name(consumer)).await {
            Ok(_) => Ok(()),
            // Never created, or forgotten already: nothing to do.
            Err(e)
                if matches!(
                    e.kind(),
                    jetstream::stream::ConsumerErrorKind::JetStream(ref js)
                        if js.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(BusError::nats(e)),
        }
    }

    pub(crate) async fn run_consumer(
        &self,
        sub: Subscription,
        consumer: Consumer,
        config: MessagingConfig,
        shutdown: watch::Receiver<bool>,
    ) {
        // A step is one subscription, which runs until it fails (or shutdown is asked):
        // then it is made again after a short backoff.
        let pace = config.pace().backoff(
            Duration::from_millis(config.backoff_initial_ms),
            Duration::from_millis(config.backoff_max_ms).min(Duration::from_secs(5)),
        );
        let name = format!("NATS consumer {}", sub.consumer);
        let stop = shutdown.clone();
        tasks::repeat(&name, shutdown, pace, || {
            let mut stop = stop.clone();
            let (sub, consumer, config) = (&sub, &consumer, &config);
            async move {
                tokio::select! {
                    r = self.consume(sub, consumer, config) => r?,
                    _ = stop.wait_for(|s| *s) => {}
                }
                Ok(Progress::Idle)
            }
        })
        .await
    }

    async fn consume(
        &self,
        sub: &Subscription,
        consumer: &Consumer,
        config: &MessagingConfig,
    ) -> Result<(), BusError> {
        let pull = self.pull_consumer(sub, config).await?;
        let messages = pull
            .stream()
            .heartbeat(Duration::from_secs(5))
            .messages()
            .await
            .map_err(BusError::nats)?;
        // Deliveries are taken in chunks of whatever is ready (up to `consumer_batch`) and a
        // chunk is applied with one commit (`Consumer::process_batch`); chunks are handled
        // concurrently and each delivery is acknowledged on its own after its chunk
        // committed. Order across deliveries is not kept on NATS (consumers tolerate any).
        let batch = config.consumer_batch.max(1);
        messages
            .ready_chunks(batch)
            .map(Ok::<_, BusError>)
            .try_for_each_concurrent(config.consumer_concurrency.max(1), |chunk| async move {
                let msgs = chunk
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(BusError::nats)?;
                let deliveries: Vec<(&[u8], i64)> = msgs
                    .iter()
                    .map(|m| (&m.payload[..], m.info().map(|i| i.delivered).unwrap_or(1)))
                    .collect();
                let mut dispositions = Vec::with_capacity(msgs.len());
                while dispositions.len() < deliveries.len() {
                    dispositions.extend(
                        consumer
                            .process_batch(&deliveries[dispositions.len()..])
                            .await,
                    );
                }
                let acks = msgs.iter().zip(dispositions).map(|(msg, d)| async move {
                    match d {
                        Disposition::Done => {
                            consumer.before_ack();
                            msg.double_ack().await.map_err(BusError::nats)
                        }
                        Disposition::Retry(delay) => msg
                            .ack_with(AckKind::Nak(Some(delay)))
                            .await
                            .map_err(BusError::nats),
                    }
                });
                futures::future::try_join_all(acks).await.map(|_| ())
            })
            .await?;
        Err(BusError::Nats("message stream ended".into()))
    }
}
