//! The tokio driver: one task that feeds events to the [`Engine`], sleeps until its
//! next deadline and hands every firing to an [action sink](crate::sink).
//!
//! ```no_run
//! # use overdue_std::driver::{Driver, DriverConfig, ReceiverStream};
//! # use overdue_std::sink::NdjsonSink;
//! # async fn demo(automations: Vec<overdue_std::json::Automation>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut driver = Driver::new(DriverConfig::default());
//! for automation in &automations {
//!     driver.add_automation(automation).map_err(|e| e.to_string())?;
//! }
//! let (events_tx, events_rx) = tokio::sync::mpsc::channel::<overdue_core::OwnedEvent>(1024);
//! # drop(events_tx);
//! let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
//! let sink = NdjsonSink::new(tokio::io::stdout());
//! let summary = driver
//!     .run(ReceiverStream::new(events_rx), sink, async move {
//!         let _ = stop_rx.wait_for(|stop| *stop).await;
//!     })
//!     .await?;
//! eprintln!("{summary}");
//! # drop(stop_tx);
//! # Ok(()) }
//! ```
//!
//! # The loop
//!
//! [`Driver::run`] `select!`s over three things, in this order of priority: the
//! shutdown future, one [`tokio::time::Sleep`] armed at
//! [`Engine::poll_timeout`], and the next input. After every step it drains
//! [`Engine::poll_action`] into a bounded queue (capacity
//! [`DriverConfig::queue_capacity`]) read by the sink, then re-reads `poll_timeout`
//! and resets the sleep only when the deadline changed.
//!
//! # Time
//!
//! The driver reads time only through `tokio::time::Instant` (so tests run on a
//! paused clock) and maps it to epoch time with a [`Timebase`]: `now = epoch_base +
//! (tokio_now - tokio_base)`. An event is handled at the `now` it is taken from the
//! input; a deadline is handled at the `now` the sleep wakes (never earlier than the
//! deadline itself).
//!
//! # Backpressure and shutdown
//!
//! The loop awaits room in the firing queue, so a slow sink slows intake and no firing
//! is dropped. When the shutdown future completes or the input ends, the loop stops
//! taking events, runs a last [`Engine::handle_timeout`] at the current time, queues
//! the firings it produces, waits until the sink has taken every queued firing,
//! flushes the sink and returns a [`Summary`].

mod input;
mod time;

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;

use futures_core::Stream;
use overdue_core::engine::{AddTriggerError, Engine, EngineConfig, Firing, Stats, TriggerId};
use overdue_core::trigger::Trigger;
use overdue_core::Instant;
use tokio::sync::mpsc;

pub use input::{Input, ReceiverStream};
pub use time::{system_now, Timebase};

use crate::json::Automation;
use crate::sink::{ActionSink, AutomationInfo, FiringRecord, SinkError};
use time::MAX_SLEEP;

/// How a [`Driver`] runs.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The engine's configuration ([`EngineConfig::default`]: Prefect 3.9.1's
    /// constants, windows judged exactly as of the wall clock).
    pub engine: EngineConfig,
    /// How many firings may wait between the engine loop and the sink before the loop
    /// stops taking events (at least 1).
    pub queue_capacity: usize,
    /// The pairing of tokio time and epoch time; `None` pairs
    /// `tokio::time::Instant::now()` with the system clock when [`Driver::run`]
    /// starts.
    pub timebase: Option<Timebase>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            engine: EngineConfig::default(),
            queue_capacity: 64,
            timebase: None,
        }
    }
}

/// What a finished run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events taken from the input and handed to the engine.
    pub events: u64,
    /// Inputs that were not events: [`Input::Malformed`] items, and events the engine
    /// refused (no `prefect.resource.id`).
    pub malformed: u64,
    /// Firings the sink took.
    pub firings: u64,
    /// The engine's counters at the end.
    pub stats: Stats,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{} events ({} malformed), {} firings; engine: {} evaluated, {} duplicates, \
             {} log events dropped, {} followers held, {} lost followers",
            self.events,
            self.malformed,
            self.firings,
            s.events,
            s.duplicates,
            s.log_events,
            s.followers_held,
            s.lost_followers
        )
    }
}

/// Why [`Driver::run`] stopped before a clean shutdown: the sink failed.
#[derive(Debug)]
pub struct RunError {
    /// What the sink reported.
    pub error: SinkError,
    /// What the run had done when it stopped.
    pub summary: Summary,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (after {})", self.error, self.summary)
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The engine, the automations it evaluates, and how to run them.
pub struct Driver {
    engine: Engine,
    automations: Vec<Arc<AutomationInfo>>,
    config: DriverConfig,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("engine", &self.engine)
            .field("automations", &self.automations.len())
            .field("config", &self.config)
            .finish()
    }
}

impl Driver {
    /// A driver with no automations.
    pub fn new(config: DriverConfig) -> Driver {
        Driver {
            engine: Engine::new(config.engine),
            automations: Vec::new(),
            config,
        }
    }

    /// Loads an automation's trigger; its firings carry its name, id and actions.
    ///
    /// Ids are given in load order from 0 (Prefect evaluates automations in load order).
    pub fn add_automation(
        &mut self,
        automation: &Automation,
    ) -> Result<TriggerId, AddTriggerError> {
        let info = AutomationInfo {
            name: automation.name.clone(),
            id: automation.id.clone(),
            actions: automation.actions.clone(),
        };
        self.add_trigger(info, automation.trigger.clone())
    }

    /// Loads a trigger under the given automation details.
    pub fn add_trigger(
        &mut self,
        info: AutomationInfo,
        trigger: Trigger,
    ) -> Result<TriggerId, AddTriggerError> {
        let id = TriggerId(u32::try_from(self.automations.len()).unwrap_or(u32::MAX));
        self.engine.add_trigger(id, trigger)?;
        self.automations.push(Arc::new(info));
        Ok(id)
    }

    /// The engine (to read its counters or state before running).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Number of loaded automations.
    pub fn automation_count(&self) -> usize {
        self.automations.len()
    }

    /// Runs until `shutdown` completes or `events` ends, then shuts down gracefully
    /// (see the [module docs](self)) and returns what it did.
    ///
    /// `events` yields [`OwnedEvent`](overdue_core::OwnedEvent)s or [`Input`]s (an mpsc receiver becomes a stream
    /// with [`ReceiverStream`]). Fails only when the sink fails; the error carries the
    /// summary so far.
    pub async fn run<S, I, K, F>(
        self,
        events: S,
        mut sink: K,
        shutdown: F,
    ) -> Result<Summary, RunError>
    where
        S: Stream<Item = I>,
        I: Into<Input>,
        K: ActionSink,
        F: Future<Output = ()>,
    {
        let timebase = self.config.timebase.unwrap_or_else(Timebase::system);
        let (tx, rx) = mpsc::channel(self.config.queue_capacity.max(1));
        let mut pump = Pump {
            engine: self.engine,
            automations: self.automations,
            timebase,
            summary: Summary::default(),
        };
        let (_, delivered) =
            tokio::join!(pump.run(events, tx, shutdown), deliver_all(rx, &mut sink));
        let mut summary = pump.summary;
        summary.stats = pump.engine.stats();
        match delivered {
            Ok(n) => {
                summary.firings = n;
                Ok(summary)
            }
            Err((n, error)) => {
                summary.firings = n;
                Err(RunError { error, summary })
            }
        }
    }
}

/// Hands queued firings to the sink until the queue closes; returns how many it took.
async fn deliver_all<K: ActionSink>(
    mut rx: mpsc::Receiver<FiringRecord>,
    sink: &mut K,
) -> Result<u64, (u64, SinkError)> {
    let mut delivered = 0;
    while let Some(record) = rx.recv().await {
        if let Err(e) = sink.deliver(record).await {
            return Err((delivered, e));
        }
        delivered += 1;
    }
    sink.flush().await.map_err(|e| (delivered, e))?;
    Ok(delivered)
}

/// The sink's queue is gone (the sink failed).
struct SinkGone;

/// The engine loop's state.
struct Pump {
    engine: Engine,
    automations: Vec<Arc<AutomationInfo>>,
    timebase: Timebase,
    summary: Summary,
}

impl Pump {
    async fn run<S, I, F>(&mut self, events: S, tx: mpsc::Sender<FiringRecord>, shutdown: F)
    where
        S: Stream<Item = I>,
        I: Into<Input>,
        F: Future<Output = ()>,
    {
        let mut events = pin!(events);
        let mut shutdown = pin!(shutdown);
        let sleep = tokio::time::sleep(MAX_SLEEP);
        let mut sleep = pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            if self.drain(&tx).await.is_err() {
                return;
            }
            let next = self.engine.poll_timeout();
            if next != armed {
                armed = next;
                let at = match next {
                    Some(d) => self.timebase.to_tokio(d),
                    None => tokio::time::Instant::now() + MAX_SLEEP,
                };
                sleep.as_mut().reset(at);
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tx.closed() => return,
                () = &mut sleep, if armed.is_some() => {
                    // The sleep never wakes before the deadline; the `max` keeps a
                    // rounding error from leaving the deadline unhandled.
                    let now = self.timebase.now().max(armed.unwrap_or(Instant::ZERO));
                    self.engine.handle_timeout(now);
                }
                item = poll_fn(|cx| events.as_mut().poll_next(cx)) => match item {
                    None => break,
                    Some(item) => self.handle_input(item.into()),
                },
            }
        }
        // Graceful shutdown: intake has stopped; judge what is due now and flush.
        self.engine.handle_timeout(self.timebase.now());
        let _ = self.drain(&tx).await;
    }

    fn handle_input(&mut self, input: Input) {
        match input {
            Input::Event(event) => {
                let now = self.timebase.now();
                match self.engine.handle_event(&event.view(), now) {
                    Ok(_) => self.summary.events += 1,
                    Err(_) => self.summary.malformed += 1,
                }
            }
            Input::Malformed => self.summary.malformed += 1,
        }
    }

    /// Queues every pending firing for the sink, waiting for room.
    async fn drain(&mut self, tx: &mpsc::Sender<FiringRecord>) -> Result<(), SinkGone> {
        while let Some(firing) = self.engine.poll_action() {
            let record = self.record(firing);
            tx.send(record).await.map_err(|_| SinkGone)?;
        }
        Ok(())
    }

    fn record(&self, firing: Firing) -> FiringRecord {
        let automation = self
            .automations
            .get(firing.trigger.0 as usize)
            .cloned()
            .unwrap_or_default();
        FiringRecord {
            automation,
            trigger_id: firing.trigger,
            labels: firing.labels,
            event: firing.event,
            at: firing.at,
            kind: firing.kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_as_one_line() {
        let s = Summary {
            events: 3,
            malformed: 1,
            firings: 2,
            stats: Stats::default(),
        };
        let text = s.to_string();
        assert!(text.starts_with("3 events (1 malformed), 2 firings; engine: 0 evaluated"));
        assert!(!text.contains('\n'));
    }
}
