//! Everything a service needs to take part in messaging, handed down by the composition.

use std::sync::Arc;

use storage::Db;
use tokio::sync::watch;

use crate::bus::Subscription;
use crate::{Bus, Consumer, Faults, Handler, MessagingConfig, Outbox, Relay, Task};

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

    /// The task publishing this service's outbox (a fresh relay per run).
    pub fn relay_task(&self) -> Task {
        let rt = self.clone();
        Task::new("relay", move || {
            let relay = Relay::new(
                rt.db.clone(),
                rt.bus.clone(),
                rt.outbox.clone(),
                rt.config.clone(),
                rt.faults.clone(),
            );
            relay.run(rt.shutdown.clone())
        })
    }

    /// The task feeding `consumer` with the events of `source` it listens to, named after
    /// the consumer.
    pub fn consumer_task(&self, source: &str, event_types: &[&str], consumer: Consumer) -> Task {
        let sub = Subscription {
            consumer: consumer.name().to_owned(),
            source: source.to_owned(),
            event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
        };
        let bus = self.bus.clone();
        let config = self.config.clone();
        let shutdown = self.shutdown.clone();
        Task::new(format!("consumer {}", consumer.name()), move || {
            let (bus, sub, consumer) = (bus.clone(), sub.clone(), consumer.clone());
            let (config, shutdown) = (config.clone(), shutdown.clone());
            async move { bus.run_consumer(sub, consumer, config, shutdown).await }
        })
    }
}
