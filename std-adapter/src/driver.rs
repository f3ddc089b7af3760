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
//! flushes the sink, writes the final checkpoint (with a state file, see below) and
//! returns a [`Summary`].
//!
//! # State file and restarts
//!
//! With a [`DriverConfig::state_path`], the engine's state survives a restart:
//!
//! * **On start**, if the file exists, the engine is rebuilt with
//!   [`Engine::restore`] from it and the driver's triggers. Triggers are matched by
//!   [`TriggerId`], which [`Driver::add_automation`] assigns in load order, so the same
//!   trigger files give the same ids. A trigger whose definition changed, or that is
//!   gone, loses its state; a new one starts empty; the
//!   [`RestoreReport`](overdue_core::engine::RestoreReport) says which
//!   ([`Summary::state`], [`StateNotice::Loaded`]). A file that cannot be restored
//!   (any [`RestoreError`](overdue_core::engine::RestoreError)) is reported, renamed to
//!   `NAME.corrupt-SECONDS` (never deleted) and the run starts clean.
//! * **Every [`DriverConfig::checkpoint_every`]** (if anything happened since the last
//!   one) and **at graceful shutdown** (after the final `handle_timeout`), the loop
//!   takes a checkpoint: it stops taking input, waits until the sink has taken and
//!   flushed every firing queued so far, then copies the engine's state
//!   ([`Engine::snapshot_to_vec`]). The copy is written to a temporary file in the same
//!   directory, synced, renamed over the state file and the directory synced, on a
//!   blocking thread while the loop carries on (periodic checkpoints) or before
//!   [`Driver::run`] returns (the final one).
//!
//! So **every checkpoint is taken at a point where every firing the engine produced
//! before it has been delivered to the sink** (and flushed), and it holds exactly the
//! engine's state after those firings. Restarting from
//! the checkpoint of a graceful shutdown therefore neither loses nor repeats a firing:
//! what was due by the shutdown fired before it, what was not fires after the
//! restart (at once, if its deadline passed while the driver was down). Events that
//! arrive while no driver runs are not seen. After a crash the driver resumes from the
//! last periodic checkpoint: firings delivered after it may be delivered again and
//! events handled after it are forgotten.
//!
//! A failed periodic checkpoint is counted and reported ([`StateNotice::WriteFailed`])
//! and the run carries on with the previous file in place; a failed final checkpoint,
//! or a state file that cannot be read or set aside, ends the run with a
//! [`RunError`]. After a sink failure no checkpoint is taken. A state file serves one
//! driver at a time (nothing locks it).

mod checkpoint;
mod input;
mod pump;
mod time;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use futures_core::Stream;
use overdue_core::engine::{AddTriggerError, Engine, EngineConfig, Stats, TriggerId};
use overdue_core::trigger::Trigger;
use tokio::sync::mpsc;

pub use checkpoint::{StateFileError, StateLoad, StateNotice, StateObserver};
pub use input::{Input, ReceiverStream};
pub use time::{system_now, Timebase};

use checkpoint::{Checkpointer, StateFile};

use crate::json::Automation;
use crate::sink::{ActionSink, AutomationInfo, SinkError};
use pump::{deliver_all, Pump};
use time::MAX_SLEEP;

/// How a [`Driver`] runs.
#[derive(Clone)]
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
    /// Where the engine's state is kept across restarts; `None` keeps it in memory
    /// only. See [State file and restarts](self#state-file-and-restarts).
    pub state_path: Option<PathBuf>,
    /// How often a checkpoint is written while running, if anything happened since the
    /// last one (tokio time; default 30 s, at least 1 ms, at most a year). Only with a
    /// `state_path`.
    pub checkpoint_every: StdDuration,
    /// Told about every [`StateNotice`] (the state file loaded, each checkpoint written
    /// or failed) as it happens; `None` reports only in the [`Summary`].
    pub on_state: Option<StateObserver>,
    /// Read ahead with [`Engine::prefetch`](overdue_core::engine::Engine::prefetch) on
    /// the inputs waiting together (up to 32) once the engine tracks at least this
    /// many keys (`0`: always; default `usize::MAX`: never). Reading ahead changes
    /// nothing the run reports. It routes each event and builds its keys twice to hide
    /// the cache miss of finding its key state, so it can pay only when that state no
    /// longer fits in the caches, and only where the miss costs more than the second
    /// pass: on the machine of `benches/README.md` it no longer does, even with a
    /// million tracked runs. Measure before setting it.
    pub read_ahead_from: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            engine: EngineConfig::default(),
            queue_capacity: 64,
            timebase: None,
            state_path: None,
            checkpoint_every: StdDuration::from_secs(30),
            on_state: None,
            read_ahead_from: pump::READ_AHEAD_FROM_KEYS,
        }
    }
}

impl fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverConfig")
            .field("engine", &self.engine)
            .field("queue_capacity", &self.queue_capacity)
            .field("timebase", &self.timebase)
            .field("state_path", &self.state_path)
            .field("checkpoint_every", &self.checkpoint_every)
            .field(
                "on_state",
                &self.on_state.as_ref().map(|_| "Fn(&StateNotice)"),
            )
            .field("read_ahead_from", &self.read_ahead_from)
            .finish()
    }
}

/// What a finished run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Events taken from the input and handed to the engine.
    pub events: u64,
    /// Inputs that were not events: [`Input::Malformed`] items, and events the engine
    /// refused as invalid (no `prefect.resource.id`). Events refused because a
    /// capacity was full are counted in [`Stats::refused_full`].
    pub malformed: u64,
    /// Firings the sink took.
    pub firings: u64,
    /// The engine's counters at the end.
    pub stats: Stats,
    /// What became of the state file at the start; `None` without a
    /// [`DriverConfig::state_path`].
    pub state: Option<StateLoad>,
    /// Checkpoints written (periodic and final).
    pub checkpoints: u64,
    /// Checkpoints that could not be written.
    pub checkpoint_failures: u64,
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
        )?;
        if s.refused_full > 0 {
            write!(f, ", {} refused (a capacity was full)", s.refused_full)?;
        }
        if let Some(state) = &self.state {
            write!(
                f,
                "; state file: {state}; {} checkpoint(s) written, {} failed",
                self.checkpoints, self.checkpoint_failures
            )?;
        }
        Ok(())
    }
}

/// Why [`Driver::run`] failed: the sink, or the state file.
#[derive(Debug)]
pub struct RunError {
    /// What failed.
    pub error: RunFailure,
    /// What the run had done when it stopped.
    pub summary: Summary,
}

/// What made [`Driver::run`] fail.
#[derive(Debug)]
pub enum RunFailure {
    /// The sink failed: the run stopped at once (no checkpoint is taken).
    Sink(SinkError),
    /// The state file could not be read or set aside at the start (nothing ran), or
    /// the final checkpoint could not be written (the run itself completed).
    State(StateFileError),
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunFailure::Sink(e) => e.fmt(f),
            RunFailure::State(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RunFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunFailure::Sink(e) => Some(e),
            RunFailure::State(e) => Some(e),
        }
    }
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
    /// The loaded triggers, kept to rebuild the engine from a state file.
    triggers: Vec<(TriggerId, Trigger)>,
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
            triggers: Vec::new(),
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
        self.engine.add_trigger(id, trigger.clone())?;
        self.triggers.push((id, trigger));
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
    /// `events` yields [`OwnedEvent`](overdue_core::OwnedEvent)s or [`Input`]s (an
    /// mpsc receiver becomes a stream with [`ReceiverStream`]). With a
    /// [`DriverConfig::state_path`] it first restores the engine from the state file
    /// and checkpoints to it (see [State file and restarts](self#state-file-and-restarts)).
    /// Fails when the sink fails or the state file cannot be used; the error carries
    /// the summary so far.
    pub async fn run<S, I, K, F>(
        mut self,
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
        let mut summary = Summary::default();
        let mut checkpointer = None;
        if let Some(path) = self.config.state_path.clone() {
            let file = StateFile::new(path);
            let ckpt = Checkpointer::new(file.clone(), self.config.on_state.clone());
            match self.load_state(&file) {
                Ok(load) => {
                    ckpt.notify(&StateNotice::Loaded {
                        path: file.path(),
                        load: &load,
                    });
                    summary.state = Some(load);
                }
                Err(e) => {
                    summary.stats = self.engine.stats();
                    return Err(RunError {
                        error: RunFailure::State(e),
                        summary,
                    });
                }
            }
            checkpointer = Some(ckpt);
        }
        let timebase = self.config.timebase.unwrap_or_else(Timebase::system);
        let (tx, rx) = mpsc::channel(self.config.queue_capacity.max(1));
        let mut pump = Pump {
            engine: self.engine,
            automations: self.automations,
            timebase,
            summary,
            checkpointer,
            checkpoint_every: (self.config.checkpoint_every)
                .clamp(StdDuration::from_millis(1), MAX_SLEEP),
            dirty: false,
            final_checkpoint: None,
            batch: Vec::new(),
            read_ahead_from: self.config.read_ahead_from,
        };
        let (_, delivered) =
            tokio::join!(pump.run(events, tx, shutdown), deliver_all(rx, &mut sink));
        let mut summary = pump.summary;
        summary.stats = pump.engine.stats();
        if let Some(ckpt) = &pump.checkpointer {
            summary.checkpoints = ckpt.written;
            summary.checkpoint_failures = ckpt.failed;
        }
        let error = match delivered {
            Ok(n) => {
                summary.firings = n;
                match pump.final_checkpoint {
                    None => return Ok(summary),
                    Some(e) => RunFailure::State(e),
                }
            }
            Err((n, error)) => {
                summary.firings = n;
                RunFailure::Sink(error)
            }
        };
        Err(RunError { error, summary })
    }

    /// Restores the engine from the state file, or sets an unusable file aside.
    fn load_state(&mut self, file: &StateFile) -> Result<StateLoad, StateFileError> {
        let Some(bytes) = file.read()? else {
            return Ok(StateLoad::Fresh);
        };
        match Engine::restore(self.config.engine, self.triggers.clone(), &bytes) {
            Ok((engine, report)) => {
                self.engine = engine;
                Ok(StateLoad::Restored(report))
            }
            Err(error) => {
                let moved_to = file.set_aside()?;
                Ok(StateLoad::SetAside { error, moved_to })
            }
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
            ..Summary::default()
        };
        let text = s.to_string();
        assert!(text.starts_with("3 events (1 malformed), 2 firings; engine: 0 evaluated"));
        assert!(!text.contains('\n'));
    }
}
