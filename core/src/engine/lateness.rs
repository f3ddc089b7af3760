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

use super::pool::{EventPool, Packed};
use super::{Engine, Entry, EventOutcome, HandleEventError};
use crate::event::{Event, EventId};
use crate::store::{Sorted, Storage, Table};
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

/// Buffered events, in canonical order, packed in storage `S`.
pub(crate) struct LatenessBuffer<S: Storage> {
    /// (occurred, id, arrival) → the event's slot in `pool`. `arrival` keeps exact
    /// duplicates apart in [`Entry::Direct`], where Prefect counts them twice.
    order: S::EventSorted<(Instant, EventId, u64), u32>,
    /// The buffered events.
    pool: EventPool<S>,
    /// Buffered copies per id (for de-duplication in [`Entry::Consumer`]).
    ids: S::EventTable<EventId, u32>,
    arrivals: u64,
    /// Buffered events that follow another event (each may join the waitlist when
    /// released, so each keeps a place there).
    following: usize,
    /// Everything at or before this instant has been released.
    pub(crate) watermark: Option<Instant>,
}

impl<S: Storage> Default for LatenessBuffer<S> {
    fn default() -> Self {
        LatenessBuffer {
            order: Default::default(),
            pool: EventPool::default(),
            ids: Default::default(),
            arrivals: 0,
            following: 0,
            watermark: None,
        }
    }
}

impl<S: Storage> LatenessBuffer<S> {
    /// Number of buffered events.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The earliest buffered `occurred`.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.order.first().map(|(k, _)| k.0)
    }

    /// Buffered events that follow another event.
    pub(crate) fn following(&self) -> usize {
        self.following
    }

    /// The longest buffered event, packed, in bytes.
    pub(crate) fn longest(&self) -> usize {
        self.iter()
            .map(|(_, e)| e.as_bytes().len())
            .max()
            .unwrap_or(0)
    }

    fn contains_id(&self, id: &EventId) -> bool {
        self.ids.contains_key(id)
    }

    /// Files a packed event under arrival number `arrival`; false (nothing changed)
    /// when a fixed container is full or the key is taken.
    fn file(&mut self, event: Packed<S>, arrival: u64) -> bool {
        let (key, id, follows) = (
            (event.occurred(), event.id(), arrival),
            event.id(),
            follows_another(&event),
        );
        if self.order.get(&key).is_some() {
            return false;
        }
        let count = self.ids.get(&id).copied().unwrap_or(0);
        if self.ids.try_insert(id, count + 1).is_err() {
            return false;
        }
        let Some(slot) = self.pool.insert(event) else {
            self.uncount(&id);
            return false;
        };
        if self.order.try_insert(key, slot).is_err() {
            self.pool.take(slot);
            self.uncount(&id);
            return false;
        }
        self.following += usize::from(follows);
        true
    }

    /// One buffered copy of `id` fewer.
    fn uncount(&mut self, id: &EventId) {
        if let Some(n) = self.ids.get_mut(id) {
            *n -= 1;
            if *n == 0 {
                self.ids.remove(id);
            }
        }
    }

    /// Buffers `event`; false (nothing changed) when it does not fit (the admission
    /// checks leave room for an accepted event).
    fn push(&mut self, event: &Event<'_>) -> bool {
        let Some(packed) = Packed::<S>::pack(event) else {
            return false;
        };
        let arrival = self.arrivals + 1;
        let filed = self.file(packed, arrival);
        if filed {
            self.arrivals = arrival;
        }
        filed
    }

    /// The buffered events with their arrival numbers, in release order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &Packed<S>)> + '_ {
        self.order
            .iter()
            .filter_map(|(&(_, _, arrival), &slot)| Some((arrival, self.pool.get(slot)?)))
    }

    /// The buffered events with their arrival numbers, in release order (with their
    /// number), and the arrival counter.
    pub(crate) fn export(&self) -> (impl Iterator<Item = (u64, &Packed<S>)> + '_, usize, u64) {
        (self.iter(), self.len(), self.arrivals)
    }

    /// The buffer [`export`](Self::export) describes; `None` if an arrival number
    /// exceeds `arrivals`, an event repeats with the same arrival number, or the
    /// events do not fit in `S`. (An arrival number only orders copies of one event,
    /// so one repeated across different events changes no release order; checking
    /// that would need memory beyond the buffer.)
    #[cfg(test)]
    pub(crate) fn import<'e>(
        events: impl IntoIterator<Item = (u64, Event<'e>)>,
        arrivals: u64,
        watermark: Option<Instant>,
    ) -> Option<Self> {
        let mut out = LatenessBuffer::default();
        out.import_in_place(events, arrivals, watermark)
            .then_some(out)
    }

    /// Empties the buffer in place (as [`Default`] makes it).
    pub(crate) fn clear(&mut self) {
        let LatenessBuffer {
            order,
            pool,
            ids,
            arrivals,
            following,
            watermark,
        } = self;
        order.clear();
        pool.clear();
        ids.clear();
        *arrivals = 0;
        *following = 0;
        *watermark = None;
    }

    /// [`import`](Self::import) into this buffer, emptied first, without building a
    /// second one (a fixed buffer is inline); false as `import` gives `None`, the
    /// buffer then holding any part of it.
    pub(crate) fn import_in_place<'e>(
        &mut self,
        events: impl IntoIterator<Item = (u64, Event<'e>)>,
        arrivals: u64,
        watermark: Option<Instant>,
    ) -> bool {
        self.clear();
        self.arrivals = arrivals;
        self.watermark = watermark;
        for (arrival, event) in events {
            if arrival > arrivals {
                return false;
            }
            let Some(packed) = Packed::<S>::pack(&event) else {
                return false;
            };
            if !self.file(packed, arrival) {
                return false;
            }
        }
        true
    }

    /// Takes the earliest event, whenever it occurred.
    pub(crate) fn pop_first(&mut self) -> Option<Packed<S>> {
        self.pop_due(Instant::from_micros(u64::MAX))
    }

    /// The id of the earliest event if it occurred at or before `watermark`.
    fn peek_due(&self, watermark: Instant) -> Option<EventId> {
        let (key, _) = self.order.first()?;
        (key.0 <= watermark).then_some(key.1)
    }

    /// Takes the earliest event if it occurred at or before `watermark`.
    fn pop_due(&mut self, watermark: Instant) -> Option<Packed<S>> {
        let (&key, &slot) = self.order.first()?;
        if key.0 > watermark {
            return None;
        }
        self.order.remove(&key);
        let event = self.pool.take(slot)?;
        self.following -= usize::from(follows_another(&event));
        self.uncount(&key.1);
        Some(event)
    }
}

/// Whether the event follows an event other than itself.
fn follows_another<B: core::ops::Deref<Target = [u8]>>(
    event: &crate::event::PackedEvent<B>,
) -> bool {
    event.follows().is_some_and(|l| l != event.id())
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
        // (the admission checks leave room for the event)
        let _ = self.lateness.push(event);
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
            if !self.room_for_event(&next, self.event_nodes) {
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

#[cfg(test)]
mod tests;
