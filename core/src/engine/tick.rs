//! Ticks: [`Engine::handle_tick`] runs Prefect's per-tick work in its order
//! (allowed-lateness release, periodic work before or after proactive evaluation) and
//! resumes a tick that the pending-firings capacity cut short; [`Engine::poll_timeout`]
//! says when the next tick has anything to do.

use super::capacity::TickResume;
use super::{Engine, EventsClock, Node, NodeKind, PeriodicOrder, ProactiveMode};
use crate::store::{Sorted, Storage};
use crate::time::{Duration, Instant};

impl<S: Storage> Engine<S> {
    /// A tick as Prefect's services run it: proactive evaluation as of `as_of`, and
    /// periodic work (held-event sweep and expired-bucket sweep as of `as_of`, lost
    /// followers on the wall clock) with the wall clock at `now`.
    ///
    /// [`handle_timeout`](Self::handle_timeout) is `handle_tick(now, now)`; a
    /// different `as_of` replays Prefect's test harness, whose ticks carry both.
    ///
    /// With allowed lateness `L`, the tick first moves the watermark to `as_of - L`
    /// and releases the buffered events it passed (in `occurred`, then id order, with
    /// the wall clock at `now`); evaluation then runs as of the watermark.
    pub fn handle_tick(&mut self, as_of: Instant, now: Instant) {
        self.advance_wall(now);
        let resume = core::mem::take(&mut self.resume);
        let as_of = if self.config.allowed_lateness.is_some() {
            match self.release_until(as_of) {
                Some(watermark) => watermark,
                None if resume == TickResume::Start => return self.defer_tick(TickResume::Release),
                None => return self.defer_tick(resume),
            }
        } else {
            as_of
        };
        let (resumed_before, resumed_after) = match resume {
            TickResume::PeriodicBefore { as_of } => (Some(as_of), None),
            TickResume::PeriodicAfter { as_of } => (None, Some(as_of)),
            _ => (None, None),
        };
        let fresh = matches!(resume, TickResume::Start | TickResume::Release);
        if (self.config.periodic == PeriodicOrder::Before && fresh) || resumed_before.is_some() {
            if let Err(at) = self.periodic(as_of, resumed_before) {
                return self.defer_tick(TickResume::PeriodicBefore { as_of: at });
            }
        }
        if resumed_after.is_none() {
            let from = match resume {
                TickResume::Proactive { position, begun } => (position, begun),
                _ => (0, false),
            };
            if let Err(at) = self.proactive_phase(as_of, from) {
                return self.defer_tick(at);
            }
        }
        if self.config.periodic == PeriodicOrder::After {
            if let Err(at) = self.periodic(as_of, resumed_after) {
                return self.defer_tick(TickResume::PeriodicAfter { as_of: at });
            }
        }
        self.refile_batch();
    }

    /// Ends a tick that ran out of room for firings: the next tick resumes at `at`.
    fn defer_tick(&mut self, at: TickResume) {
        self.stats.deferred_ticks += 1;
        self.resume = at;
        self.refile_batch();
    }

    /// The earliest wall-clock instant at which [`handle_timeout`](Self::handle_timeout)
    /// would do anything (a window ending, a sweep, a lost follower's release), or
    /// `None` when nothing is pending. Re-read it after every `handle_*` call.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        // Evaluation runs as of `now + offset` (the events clock, ≤ 0) and, with
        // allowed lateness, as of `now - L`: deadlines come due that much later.
        let lag = self.offset_micros_live().min(0).unsigned_abs();
        let lateness = self.config.allowed_lateness.unwrap_or_default();
        let lag = Duration::from_micros(lag).saturating_add(lateness);
        let mut best: Option<Instant> = None;
        let mut consider = |t: Instant| {
            best = Some(best.map_or(t, |b: Instant| b.min(t)));
        };
        if self.tick_deferred() {
            consider(self.wall);
        }
        if let Some(earliest) = self.lateness.earliest() {
            consider(earliest.saturating_add(lateness));
        }
        if let Some(d) = self.wheel.next_deadline() {
            consider(d.saturating_add(lag));
        }
        if let Some((&(d, _), _)) = self.overdue.first() {
            consider(d.saturating_add(lag).max(self.wall));
        }
        if self.config.periodic != PeriodicOrder::Never {
            if let Some(r) = self.ordering.earliest_received() {
                consider(r.saturating_add(self.config.follower_timeout));
            }
        }
        for &p in self.proactive.iter() {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[p as usize]
            {
                if ev.compiled.for_each().is_empty() && ev.keys == 0 {
                    consider(self.wall);
                }
                if self.config.proactive == ProactiveMode::Scheduled {
                    if let Some(r) = ev.next_run {
                        consider(r);
                    }
                }
            }
        }
        best
    }

    /// The events-clock offset Prefect would apply now, in microseconds (≤ 0).
    pub(crate) fn offset_micros_live(&self) -> i64 {
        match (self.events_clock, self.events_clock_updated) {
            (Some(c), Some(u)) if self.config.events_clock == EventsClock::Live => {
                c.signed_micros_since(u)
            }
            _ => 0,
        }
    }
}
