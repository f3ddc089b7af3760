//! Allowed lateness: an event-time stage in front of Prefect's evaluation after which
//! the result no longer depends on arrival order.
//!
//! With `allowed_lateness = Some(L)`, [`Engine::handle_event`] only buffers (after
//! de-duplication by id). A tick as of `T` moves the watermark to `T - L` (never back),
//! releases every buffered event with `occurred <= watermark` into Prefect's evaluation
//! in canonical order — `occurred`, then event id — and then runs proactive and periodic
//! evaluation as of the watermark: a window is judged only once no event that could
//! still save it may arrive. An event that arrives with `occurred` at or before the
//! watermark is *late* and handled by [`LatePolicy`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use hashbrown::HashMap;

use super::{Engine, Entry, EventOutcome, HandleEventError};
use crate::event::{Event, EventId, OwnedEvent};
use crate::hash::FxBuildHasher;
use crate::store::Storage;
use crate::time::Instant;

/// What to do with an event that arrives after the watermark passed its `occurred`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LatePolicy {
    /// Drop it and count it ([`Stats::late_dropped`](super::Stats::late_dropped)).
    #[default]
    Drop,
    /// Evaluate it at once, as Prefect would (the result may then depend on order).
    Process,
}

/// Buffered events, in canonical order.
#[derive(Clone, Debug, Default)]
pub(crate) struct LatenessBuffer {
    /// (occurred, id, arrival) → event. `arrival` keeps exact duplicates apart in
    /// [`Entry::Direct`], where Prefect counts them twice.
    events: BTreeMap<(Instant, EventId, u64), OwnedEvent>,
    /// Buffered copies per id (for de-duplication in [`Entry::Consumer`]).
    ids: HashMap<EventId, u32, FxBuildHasher>,
    arrivals: u64,
    /// Buffered events that follow another event (each may join the waitlist when
    /// released, so each keeps a place there).
    following: usize,
    /// Everything at or before this instant has been released.
    pub(crate) watermark: Option<Instant>,
}

impl LatenessBuffer {
    /// Number of buffered events.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// The earliest buffered `occurred`.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.events.keys().next().map(|k| k.0)
    }

    /// Buffered events that follow another event.
    pub(crate) fn following(&self) -> usize {
        self.following
    }

    fn contains_id(&self, id: &EventId) -> bool {
        self.ids.contains_key(id)
    }

    fn push(&mut self, event: OwnedEvent) {
        self.following += usize::from(follows_another(&event));
        *self.ids.entry(event.id).or_insert(0) += 1;
        self.arrivals += 1;
        self.events
            .insert((event.occurred, event.id, self.arrivals), event);
    }

    /// The buffered events with their arrival numbers, in release order, and the
    /// arrival counter.
    pub(crate) fn export(&self) -> (impl ExactSizeIterator<Item = (u64, &OwnedEvent)> + '_, u64) {
        (
            self.events.iter().map(|(&(_, _, arrival), e)| (arrival, e)),
            self.arrivals,
        )
    }

    /// The buffer [`export`](Self::export) describes; `None` if an arrival number
    /// repeats or exceeds `arrivals`.
    pub(crate) fn import(
        events: Vec<(u64, OwnedEvent)>,
        arrivals: u64,
        watermark: Option<Instant>,
    ) -> Option<Self> {
        let mut out = LatenessBuffer {
            arrivals,
            watermark,
            ..LatenessBuffer::default()
        };
        let mut seen = hashbrown::HashSet::with_capacity_and_hasher(events.len(), FxBuildHasher);
        for (arrival, event) in events {
            if arrival > arrivals || !seen.insert(arrival) {
                return None;
            }
            *out.ids.entry(event.id).or_insert(0) += 1;
            out.following += usize::from(follows_another(&event));
            out.events
                .insert((event.occurred, event.id, arrival), event);
        }
        Some(out)
    }

    /// Takes the earliest event, whenever it occurred.
    pub(crate) fn pop_first(&mut self) -> Option<OwnedEvent> {
        self.pop_due(Instant::from_micros(u64::MAX))
    }

    /// The earliest event if it occurred at or before `watermark`.
    fn peek_due(&self, watermark: Instant) -> Option<&OwnedEvent> {
        let (key, event) = self.events.iter().next()?;
        (key.0 <= watermark).then_some(event)
    }

    /// Takes the earliest event if it occurred at or before `watermark`.
    fn pop_due(&mut self, watermark: Instant) -> Option<OwnedEvent> {
        let (&key, _) = self.events.iter().next()?;
        if key.0 > watermark {
            return None;
        }
        let event = self.events.remove(&key)?;
        self.following -= usize::from(follows_another(&event));
        if let Some(n) = self.ids.get_mut(&event.id) {
            *n -= 1;
            if *n == 0 {
                self.ids.remove(&event.id);
            }
        }
        Some(event)
    }
}

/// Whether the event follows an event other than itself.
fn follows_another(event: &OwnedEvent) -> bool {
    event.follows.is_some_and(|l| l != event.id)
}

impl<S: Storage> Engine<S> {
    /// `handle_event` with allowed lateness: buffer (or handle a late event).
    pub(crate) fn buffer_event(
        &mut self,
        event: &Event<'_>,
    ) -> Result<EventOutcome, HandleEventError> {
        if self.config.entry == Entry::Consumer && self.lateness.contains_id(&event.id) {
            self.stats.duplicates += 1;
            return Ok(EventOutcome::Duplicate);
        }
        if self.lateness.watermark.is_some_and(|w| event.occurred <= w) {
            return Ok(match self.config.late_policy {
                LatePolicy::Drop => {
                    self.stats.late_dropped += 1;
                    EventOutcome::Late
                }
                LatePolicy::Process => {
                    if let Err(c) = self.admit_now(event) {
                        return Err(self.refuse(c));
                    }
                    self.stats.late_processed += 1;
                    self.stats.events += 1;
                    self.evaluate_now(event)
                }
            });
        }
        if let Err(c) = self.admit_buffered(event) {
            return Err(self.refuse(c));
        }
        self.lateness.push(event.to_owned_event());
        Ok(EventOutcome::Buffered)
    }

    /// Moves the watermark to `as_of - L` and releases what it passed, in canonical
    /// order; returns the watermark, the instant evaluation then runs as of, or `None`
    /// if the pending firings ran out of room first (the rest stays buffered).
    pub(crate) fn release_until(&mut self, as_of: Instant) -> Option<Instant> {
        let lateness = self.config.allowed_lateness.unwrap_or_default();
        let candidate = as_of.saturating_sub(lateness);
        let watermark = match self.lateness.watermark {
            Some(w) if w > candidate => w,
            _ => candidate,
        };
        self.lateness.watermark = Some(watermark);
        while let Some(next) = self.lateness.peek_due(watermark) {
            if !self.room_for_event(&next.id, self.event_nodes) {
                return None;
            }
            let Some(event) = self.lateness.pop_due(watermark) else {
                break;
            };
            self.stats.events += 1;
            let _ = self.evaluate_now(&event.view());
        }
        Some(watermark)
    }
}
