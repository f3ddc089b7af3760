//! The engine loop ([`Pump`]) and the task that hands its firings to the sink
//! ([`deliver_all`]); see the [driver docs](super) for the loop and the checkpoint
//! rules.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration as StdDuration;

use futures_core::Stream;
use overdue_core::engine::{Engine, Firing};
use overdue_core::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::checkpoint::{Checkpointer, StateFileError};
use super::time::MAX_SLEEP;
use super::{Input, Summary, Timebase};
use crate::sink::{ActionSink, AutomationInfo, FiringRecord, SinkError};

/// What travels from the engine loop to the sink.
pub(super) enum Queued {
    /// A firing to deliver.
    Firing(FiringRecord),
    /// Flush the sink, then acknowledge: every firing queued before has been delivered.
    Barrier(oneshot::Sender<()>),
}

/// Hands queued firings to the sink until the queue closes; returns how many it took.
pub(super) async fn deliver_all<K: ActionSink>(
    mut rx: mpsc::Receiver<Queued>,
    sink: &mut K,
) -> Result<u64, (u64, SinkError)> {
    let mut delivered = 0;
    while let Some(queued) = rx.recv().await {
        match queued {
            Queued::Firing(record) => {
                if let Err(e) = sink.deliver(record).await {
                    return Err((delivered, e));
                }
                delivered += 1;
            }
            Queued::Barrier(ack) => {
                if let Err(e) = sink.flush().await {
                    return Err((delivered, e));
                }
                let _ = ack.send(());
            }
        }
    }
    sink.flush().await.map_err(|e| (delivered, e))?;
    Ok(delivered)
}

/// The sink's queue is gone (the sink failed).
struct SinkGone;

/// The engine loop's state.
pub(super) struct Pump {
    pub(super) engine: Engine,
    pub(super) automations: Vec<Arc<AutomationInfo>>,
    pub(super) timebase: Timebase,
    pub(super) summary: Summary,
    /// Writes checkpoints (with a state path).
    pub(super) checkpointer: Option<Checkpointer>,
    /// Between periodic checkpoints (at least 1 ms, at most a year).
    pub(super) checkpoint_every: StdDuration,
    /// The engine was handed something since the last checkpoint.
    pub(super) dirty: bool,
    /// Why the final checkpoint could not be written.
    pub(super) final_checkpoint: Option<StateFileError>,
    /// Inputs taken from the stream together (kept to reuse its allocation).
    pub(super) batch: Vec<Input>,
    /// Read ahead on a batch once this many keys are tracked
    /// ([`DriverConfig::read_ahead_from`](super::DriverConfig::read_ahead_from)).
    pub(super) read_ahead_from: usize,
}

/// The most inputs the loop takes from the stream at once (those already waiting),
/// for [`Engine::prefetch`].
const READ_AHEAD: usize = 32;

/// The default of [`DriverConfig::read_ahead_from`](super::DriverConfig::read_ahead_from):
/// never read ahead. On the 2-core VM of `benches/README.md`, [`Engine::prefetch`] once
/// saved 22 ns per event with a million tracked runs (and cost 30 to 37 ns with 10,000
/// to 300,000), so the loop read ahead from 500,000 keys. Since evaluation got cheaper
/// it no longer pays there: a million runs measured 163–178 ns per event one at a
/// time against 178–184 read ahead, 10,000 runs 115–126 against 163–165 (eighteenth
/// and nineteenth sessions). Where memory is slower than there it may pay again; the
/// setting says from how many keys.
pub(super) const READ_AHEAD_FROM_KEYS: usize = usize::MAX;

impl Pump {
    pub(super) async fn run<S, I, F>(&mut self, events: S, tx: mpsc::Sender<Queued>, shutdown: F)
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
        let checkpointing = self.checkpointer.is_some();
        let first = tokio::time::Instant::now() + self.checkpoint_every;
        let mut ticker = tokio::time::interval_at(first, self.checkpoint_every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if self.drain(&tx).await.is_err() {
                return self.abandon().await;
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
                () = tx.closed() => return self.abandon().await,
                () = &mut sleep, if armed.is_some() => {
                    // The sleep never wakes before the deadline; the `max` keeps a
                    // rounding error from leaving the deadline unhandled.
                    let now = self.timebase.now().max(armed.unwrap_or(Instant::ZERO));
                    self.engine.handle_timeout(now);
                    self.dirty = true;
                }
                _ = ticker.tick(), if checkpointing => {
                    if self.dirty {
                        let Ok(bytes) = self.snapshot(&tx).await else {
                            return self.abandon().await;
                        };
                        if let Some(ckpt) = &mut self.checkpointer {
                            ckpt.start(bytes).await;
                        }
                    }
                }
                item = poll_fn(|cx| events.as_mut().poll_next(cx)) => match item {
                    None => break,
                    Some(item) => {
                        // with it, whatever else is ready now (without waiting), so
                        // that the engine can read their state ahead in one batch
                        let mut batch = std::mem::take(&mut self.batch);
                        batch.push(item.into());
                        let mut ended = false;
                        while batch.len() < READ_AHEAD {
                            match poll_fn(|cx| Poll::Ready(events.as_mut().poll_next(cx))).await {
                                Poll::Ready(Some(item)) => batch.push(item.into()),
                                Poll::Ready(None) => {
                                    ended = true;
                                    break;
                                }
                                Poll::Pending => break,
                            }
                        }
                        let handled = self.handle_inputs(&batch, &tx).await;
                        batch.clear();
                        self.batch = batch;
                        self.dirty = true;
                        if handled.is_err() {
                            return self.abandon().await;
                        }
                        if ended {
                            break;
                        }
                    }
                },
            }
        }
        // Graceful shutdown: intake has stopped; judge what is due now and flush.
        self.engine.handle_timeout(self.timebase.now());
        if self.drain(&tx).await.is_err() {
            return self.abandon().await;
        }
        if self.checkpointer.is_none() {
            return;
        }
        let Ok(bytes) = self.snapshot(&tx).await else {
            return self.abandon().await;
        };
        if let Some(ckpt) = &mut self.checkpointer {
            ckpt.start(bytes).await;
            self.final_checkpoint = ckpt.settle().await;
        }
    }

    /// Waits until the sink has taken and flushed every firing produced so far, then
    /// copies the engine's state (nothing reaches the engine meanwhile).
    async fn snapshot(&mut self, tx: &mpsc::Sender<Queued>) -> Result<Vec<u8>, SinkGone> {
        self.drain(tx).await?;
        let (ack, acked) = oneshot::channel();
        tx.send(Queued::Barrier(ack)).await.map_err(|_| SinkGone)?;
        acked.await.map_err(|_| SinkGone)?;
        self.dirty = false;
        Ok(self.engine.snapshot_to_vec())
    }

    /// The sink is gone: no more checkpoints, but let a write in flight finish.
    async fn abandon(&mut self) {
        if let Some(ckpt) = &mut self.checkpointer {
            ckpt.settle().await;
        }
    }

    /// Hands a batch of inputs to the engine in order (after
    /// [`Engine::prefetch`] on its events when as many keys are tracked as
    /// `read_ahead_from` says); between two of them it does what the loop
    /// does between two inputs (a deadline that has come, then the firings).
    async fn handle_inputs(
        &mut self,
        batch: &[Input],
        tx: &mpsc::Sender<Queued>,
    ) -> Result<(), SinkGone> {
        if batch.len() > 1 && self.engine.tracked_keys() >= self.read_ahead_from {
            let views: Vec<_> = batch
                .iter()
                .filter_map(|input| match input {
                    Input::Event(event) => Some(event.view()),
                    Input::Malformed => None,
                })
                .collect();
            self.engine.prefetch(&views);
        }
        for (i, input) in batch.iter().enumerate() {
            if i > 0 {
                // what the loop would do between two inputs: a deadline that has
                // come is handled first
                let now = self.timebase.now();
                if self.engine.poll_timeout().is_some_and(|due| due <= now) {
                    self.engine.handle_timeout(now);
                }
                self.drain(tx).await?;
            }
            self.handle_input(input);
        }
        Ok(())
    }

    fn handle_input(&mut self, input: &Input) {
        match input {
            Input::Event(event) => {
                let now = self.timebase.now();
                match self.engine.handle_event(&event.view(), now) {
                    // (a capacity refusal is counted by the engine: `Stats::refused_full`)
                    Ok(_) | Err(overdue_core::engine::HandleEventError::Full(_)) => {
                        self.summary.events += 1;
                    }
                    Err(_) => self.summary.malformed += 1,
                }
            }
            Input::Malformed => self.summary.malformed += 1,
        }
    }

    /// Queues every pending firing for the sink, waiting for room.
    async fn drain(&mut self, tx: &mpsc::Sender<Queued>) -> Result<(), SinkGone> {
        while let Some(firing) = self.engine.poll_action() {
            let record = Self::record(&self.automations, firing);
            tx.send(Queued::Firing(record))
                .await
                .map_err(|_| SinkGone)?;
        }
        Ok(())
    }

    fn record(automations: &[Arc<AutomationInfo>], firing: Firing<'_>) -> FiringRecord {
        let automation = automations
            .get(firing.trigger.0 as usize)
            .cloned()
            .unwrap_or_default();
        FiringRecord {
            automation,
            trigger_id: firing.trigger,
            labels: firing
                .labels()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            event: firing.event,
            at: firing.at,
            kind: firing.kind,
        }
    }
}
