//! Everything a service needs to take part in messaging, handed down by the composition.

use std::sync::Arc;

use futures::future::BoxFuture;
use storage::Db;
use tokio::sync::watch;

use crate::bus::Subscription;
use crate::{Bus, Consumer, Faults, Handler, MessagingConfig, Outbox, Relay};

/// A service's messaging: its database (outbox, inbox), the bus, settings and shutdown.
#[derive(Clone)]
pub struct Runtime {
    pub db: Db,
    pub bus: Bus,
    pub config: MessagingConfig,
    pub faults: Faults,
    pub outbox: Outbox,
    pub shutdown: watch::Receiver<bool>,
    /// Business time (check-in windows, deadlines); see [`storage::Clock`].
    pub clock: storage::Clock,
}

impl Runtime {
    pub fn new(db: Db, bus: Bus, config: MessagingConfig, shutdown: watch::Receiver<bool>) -> Self {
        let faults = Faults::parse(&config.crash_at);
        Runtime {
            db,
            bus,
            config,
            faults,
            outbox: Outbox::new(),
            shutdown,
            clock: storage::Clock::system(),
        }
    }

    /// The same runtime with business time from `clock` (shared by a process's services).
    pub fn with_clock(mut self, clock: storage::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A named consumer applying events through `handler`.
    pub fn consumer(&self, name: &str, handler: Arc<dyn Handler>) -> Consumer {
        Consumer::new(
            name,
            self.db.clone(),
            handler,
            self.outbox.clone(),
            self.config.clone(),
            self.faults.clone(),
        )
    }

    /// The task publishing this service's outbox.
    pub fn relay_task(&self) -> BoxFuture<'static, ()> {
        let relay = Relay::new(
            self.db.clone(),
            self.bus.clone(),
            self.outbox.clone(),
            self.config.clone(),
            self.faults.clone(),
        );
        Box::pin(relay.run(self.shutdown.clone()))
    }

    /// The task feeding `consumer` with the events of `source` it listens to.
    pub fn consumer_task(
        &self,
        source: &str,
        event_types: &[&str],
        consumer: Consumer,
    ) -> BoxFuture<'static, ()> {
        let sub = Subscription {
            consumer: consumer.name().to_owned(),
            source: source.to_owned(),
            event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
        };
        let bus = self.bus.clone();
        let config = self.config.clone();
        let shutdown = self.shutdown.clone();
        Box::pin(async move { bus.run_consumer(sub, consumer, config, shutdown).await })
    }
}
