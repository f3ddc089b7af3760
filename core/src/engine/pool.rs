//! [`EventPool`]: events kept for later (waiting followers, buffered events), packed,
//! in slots of storage `S`.

use crate::event::{Event, PackedEvent};
use crate::store::{Seq, Storage};

/// One event kept for later, packed into storage `S`'s event buffer.
pub(crate) type Packed<S> = PackedEvent<<S as Storage>::EventBytes>;

/// Packed events in numbered slots: O(1) to add, read and take; freed slots are
/// reused, last freed first.
///
/// The waitlist and the lateness buffer each keep their events in one pool and order
/// them with small keys (`(received, position, id)`, `(occurred, id, arrival)`) that
/// name a slot, so an ordered index never moves whole events around.
pub(crate) struct EventPool<S: Storage> {
    slots: S::EventSeq<Option<Packed<S>>>,
    /// Empty slots, the next one to reuse last.
    free: S::EventSeq<u32>,
}

impl<S: Storage> Default for EventPool<S> {
    fn default() -> Self {
        EventPool {
            slots: Default::default(),
            free: Default::default(),
        }
    }
}

impl<S: Storage> EventPool<S> {
    /// Drops every event.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }

    /// Stores `event`; its slot, or `None` when the pool is full (every slot in use
    /// and no room for another).
    pub(crate) fn insert(&mut self, event: Packed<S>) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = Some(event);
            return Some(slot);
        }
        let slot = u32::try_from(self.slots.len()).ok()?;
        self.slots.try_push(Some(event)).ok()?;
        Some(slot)
    }

    /// Packs and stores `event`; `None` when it is longer than `S::EVENT_BYTES` or
    /// the pool is full.
    pub(crate) fn pack(&mut self, event: &Event<'_>) -> Option<u32> {
        self.insert(Packed::<S>::pack(event)?)
    }

    /// The event in `slot`.
    pub(crate) fn get(&self, slot: u32) -> Option<&Packed<S>> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Takes the event out of `slot`, freeing it.
    pub(crate) fn take(&mut self, slot: u32) -> Option<Packed<S>> {
        let event = self.slots.get_mut(slot as usize)?.take()?;
        if slot as usize + 1 == self.slots.len() {
            // the last slot: shrink rather than remember it
            let _ = self.slots.pop();
        } else {
            // (a free list never holds more entries than there are slots)
            let _ = self.free.try_push(slot);
        }
        Some(event)
    }

    /// Whether another event would not fit.
    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty() && !self.slots.has_room(1)
    }
}
