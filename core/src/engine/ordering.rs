//! Prefect's consumer bookkeeping: the "seen" event ids (de-duplication) and causal
//! ordering with `follows` (`server/events/ordering/memory.py`).

#[cfg(test)]
use alloc::vec::Vec;

use super::pool::{EventPool, Packed};
use super::pyset::{py_hash_uuid, ArenaElement, Discarded, SetArena, SetEntry};
use super::snapshot::for_each_sorted;
#[cfg(test)]
use crate::event::OwnedEvent;
use crate::event::{Event, EventId};
use crate::store::{Seq, Sorted, Storage, Table};
use crate::time::Instant;

/// CPython's `hash()` of an event id (a UUID).
fn id_hash(id: &EventId) -> u64 {
    py_hash_uuid(id.0)
}

/// A follower waiting for its leader (`memory.py`'s `_events` + `_waitlist`).
#[derive(Clone, Copy, Debug)]
struct Waiting {
    /// The event's slot in the pool.
    slot: u32,
    /// `received` of the (latest) copy recorded: the lost-follower clock.
    received: Instant,
    /// Position in the waitlist dict (insertion order; re-recording keeps it).
    position: u64,
}

/// Followers held until their leader is seen (Prefect's in-memory causal ordering),
/// the events themselves packed in storage `S`.
///
/// Each leader's set of follower ids is a CPython set (see [`super::pyset`]) with its
/// table in one [`SetArena`] on `S` (16 slots of 17 bytes per event of capacity).
pub(crate) struct CausalOrdering<S: Storage> {
    /// id → where its event is and its waitlist place.
    waiting: S::EventTable<EventId, Waiting>,
    /// The waiting events, packed.
    pool: EventPool<S>,
    /// leader → its followers' ids, as the CPython `set` Prefect keeps: when several
    /// followers of one leader share `occurred`, Prefect processes them in the
    /// iteration order of a copy of this set.
    followers: Followers<S>,
    /// (received, position) of every waiting follower, for lost-follower release.
    by_received: S::EventSorted<(Instant, u64, EventId), ()>,
    next_position: u64,
    /// Events being processed right now: at most one, as `reactive_evaluation` ends
    /// an event's mark before it processes the event's followers.
    processing: heapless::Vec<EventId, PROCESSING>,
    /// Lost followers taken off the waitlist by [`take_lost`](Self::take_lost) and
    /// not evaluated yet, last to release first: `(occurred, position, slot)`, the
    /// events still in the pool, and where their id left its leader's set.
    lost: S::EventSeq<(Instant, u64, u32, Option<Discarded>)>,
}

/// Each leader's follower-id set.
type Followers<S> = SetArena<
    EventId,
    EventId,
    <S as Storage>::EventTable<EventId, SetEntry>,
    <S as Storage>::EventSorted<u32, EventId>,
    <S as Storage>::EventSeq<ArenaElement<EventId>>,
>;

/// Waiting followers of one leader in release order, `(slot in the copy of the
/// leader's set, id)`: see [`CausalOrdering::followers_of`].
pub(crate) type FollowerIds<S> = <S as Storage>::EventSeq<(u32, EventId)>;

/// Room for events being processed at once (one is the most there can be).
const PROCESSING: usize = 4;

impl<S: Storage> Default for CausalOrdering<S> {
    fn default() -> Self {
        CausalOrdering {
            waiting: Default::default(),
            pool: EventPool::default(),
            followers: Followers::<S>::default(),
            by_received: Default::default(),
            next_position: 0,
            processing: heapless::Vec::new(),
            lost: Default::default(),
        }
    }
}

impl<S: Storage> CausalOrdering<S> {
    /// Whether the event with this id is being processed.
    pub(crate) fn is_processing(&self, id: &EventId) -> bool {
        self.processing.contains(id)
    }

    /// Marks an event as being processed; false if it already is.
    pub(crate) fn start_processing(&mut self, id: EventId) -> bool {
        if self.is_processing(&id) {
            return false;
        }
        debug_assert!(self.processing.is_empty(), "one event processed at a time");
        // (never full: see `processing`)
        let _ = self.processing.push(id);
        true
    }

    /// Ends the processing mark of an event.
    pub(crate) fn stop_processing(&mut self, id: &EventId) {
        if let Some(pos) = self.processing.iter().rposition(|p| p == id) {
            self.processing.remove(pos);
        }
    }

    /// Puts an event on the waitlist of its leader (`record_follower`); false, with
    /// nothing changed, when it does not fit in `S` (the admission checks leave room
    /// for every event accepted).
    pub(crate) fn record_follower(&mut self, event: &Event<'_>) -> bool {
        let Some(leader) = event.follows else {
            return true;
        };
        let Some(packed) = Packed::<S>::pack(event) else {
            return false;
        };
        let id = event.id;
        if !self.room_to_follow(&leader, &id) {
            return false;
        }
        let old = self.waiting.get(&id).copied();
        let position = match old {
            Some(w) => {
                self.by_received.remove(&(w.received, w.position, id));
                self.waiting.remove(&id);
                self.pool.take(w.slot);
                w.position
            }
            None => {
                let p = self.next_position;
                self.next_position += 1;
                p
            }
        };
        self.insert_waiting(leader, packed, position)
    }

    /// Files a follower on the waitlist at `position` and in its leader's id set;
    /// false, with nothing changed, when a fixed container is full.
    fn insert_waiting(&mut self, leader: EventId, event: Packed<S>, position: u64) -> bool {
        let (id, received) = (event.id(), event.received());
        let Some(slot) = self.pool.insert(event) else {
            return false;
        };
        let waiting = Waiting {
            slot,
            received,
            position,
        };
        if self
            .by_received
            .try_insert((received, position, id), ())
            .is_err()
        {
            self.pool.take(slot);
            return false;
        }
        if self.waiting.try_insert(id, waiting).is_err() {
            self.by_received.remove(&(received, position, id));
            self.pool.take(slot);
            return false;
        }
        if !self.followers.add(leader, id, id_hash) {
            self.waiting.remove(&id);
            self.by_received.remove(&(received, position, id));
            self.pool.take(slot);
            return false;
        }
        true
    }

    /// Whether a follower with this id can wait for `leader` now (room in the pool,
    /// and for the leader's id set to take it).
    pub(crate) fn room_to_follow(&self, leader: &EventId, id: &EventId) -> bool {
        (self.waiting.contains_key(id) || !self.pool.is_full())
            && self.followers.room_to_add(leader, *id, id_hash(id))
    }

    /// `_followers[leader].discard(id)`, dropping the leader's set once empty.
    fn discard_follower(&mut self, leader: &EventId, id: &EventId) {
        self.followers.discard(leader, *id, id_hash(id));
        self.followers.remove_if_empty(leader);
    }

    /// Takes a waiting follower off the waitlist (not out of its leader's id set).
    fn unfile(&mut self, id: &EventId) -> Option<(Waiting, Packed<S>)> {
        let w = self.waiting.remove(id)?;
        self.by_received.remove(&(w.received, w.position, *id));
        Some((w, self.pool.take(w.slot)?))
    }

    /// Forgets a follower that has been processed (`forget_follower`).
    pub(crate) fn forget_follower(&mut self, id: &EventId, leader: &EventId) {
        self.unfile(id);
        self.discard_follower(leader, id);
    }

    /// The followers waiting on `leader` (`get_followers`), into `out` in release
    /// order: a copy of the leader's id set iterated in CPython's order, then sorted
    /// stably by `occurred`. They stay on the waitlist until processed: read each with
    /// [`waiting_event`](Self::waiting_event) when its turn comes (Prefect copies the
    /// events up front; reading them later differs only if one is recorded again or
    /// forgotten meanwhile, which processing its siblings cannot do).
    pub(crate) fn followers_of(&self, leader: &EventId, out: &mut FollowerIds<S>) {
        out.clear();
        if self.waiting.is_empty() {
            // (only waiting followers are copied: none)
            return;
        }
        let occurred = |id: &EventId| {
            self.waiting
                .get(id)
                .and_then(|w| self.pool.get(w.slot))
                .map(|e| e.occurred())
        };
        // (a bitmap of 32 × EVENTS bits covers the copy of any table the arena
        // holds, and at most EVENTS followers wait: both fit)
        let mut taken = S::EventSeq::<u32>::default();
        let complete = self.followers.copy_order(
            leader,
            id_hash,
            |id| self.waiting.contains_key(id),
            &mut taken,
            out,
        );
        debug_assert!(complete, "the copy of a follower set fits");
        // by (occurred, copy order): a stable sort by occurred
        out.sort_unstable_by_key(|(slot, id)| (occurred(id), *slot));
    }

    /// The packed event of a waiting follower.
    pub(crate) fn waiting_event(&self, id: &EventId) -> Option<&Packed<S>> {
        self.pool.get(self.waiting.get(id)?.slot)
    }

    /// Takes every follower received at or before `cutoff` off the waitlist
    /// (`get_lost_followers`), to be released one at a time, by `occurred` then
    /// waitlist position, with [`next_lost`](Self::next_lost); their events stay in
    /// the pool meanwhile (they count in [`len`](Self::len)). Returns how many.
    pub(crate) fn take_lost(&mut self, cutoff: Instant) -> usize {
        self.put_back_lost();
        while let Some((&(received, position, id), ())) = self.by_received.first() {
            if received > cutoff {
                break;
            }
            self.by_received.remove(&(received, position, id));
            let Some(w) = self.waiting.remove(&id) else {
                continue;
            };
            let Some(event) = self.pool.get(w.slot) else {
                continue;
            };
            let (occurred, leader) = (event.occurred(), event.follows());
            // (an emptied set stays until its last lost follower is released, so
            // putting them back never needs a new table)
            let at = leader.and_then(|leader| self.followers.discard_at(&leader, id, id_hash(&id)));
            // (one entry per pool slot: it fits)
            let _ = self.lost.try_push((occurred, position, w.slot, at));
        }
        // last to release at the end
        self.lost
            .sort_unstable_by_key(|&(occurred, position, _, _)| {
                core::cmp::Reverse((occurred, position))
            });
        self.lost.len()
    }

    /// The id of the next lost follower [`next_lost`](Self::next_lost) releases.
    pub(crate) fn peek_lost(&self) -> Option<EventId> {
        let &(_, _, slot, _) = self.lost.last()?;
        Some(self.pool.get(slot)?.id())
    }

    /// Releases the next lost follower taken by [`take_lost`](Self::take_lost), with
    /// its waitlist position.
    pub(crate) fn next_lost(&mut self) -> Option<(u64, Packed<S>)> {
        loop {
            let (_, position, slot, _) = self.lost.pop()?;
            let Some(event) = self.pool.take(slot) else {
                continue;
            };
            if let Some(leader) = event.follows() {
                let pool = &self.pool;
                let more = self
                    .lost
                    .iter()
                    .any(|&(_, _, s, _)| pool.get(s).is_some_and(|e| e.follows() == Some(leader)));
                if !more {
                    self.followers.remove_if_empty(&leader);
                }
            }
            return Some((position, event));
        }
    }

    /// Puts the lost followers [`take_lost`](Self::take_lost) took and
    /// [`next_lost`](Self::next_lost) did not release back on the waitlist, at their
    /// old positions (a tick that ran out of room for firings; see `Capacities`), as
    /// if they had not been taken: each id goes back into the slot of its leader's
    /// set it left, unless the set changed meanwhile, then it is added again. Their
    /// events never left the pool; a leader's set with no room to add one again (on
    /// fixed storage, when releasing the others filed new followers under it) is a
    /// known gap, asserted in debug builds.
    pub(crate) fn put_back_lost(&mut self) {
        while let Some((_, position, slot, at)) = self.lost.pop() {
            let Some(event) = self.pool.get(slot) else {
                continue;
            };
            let (id, received, leader) = (event.id(), event.received(), event.follows());
            // (recorded again meanwhile: the newer copy stays)
            let Some(leader) = leader.filter(|_| !self.waiting.contains_key(&id)) else {
                self.pool.take(slot);
                continue;
            };
            let waiting = Waiting {
                slot,
                received,
                position,
            };
            let back = at.is_some_and(|at| self.followers.undiscard(&leader, id, at))
                || self.followers.add(leader, id, id_hash);
            let put = back
                && self.waiting.try_insert(id, waiting).is_ok()
                && self
                    .by_received
                    .try_insert((received, position, id), ())
                    .is_ok();
            debug_assert!(put, "a lost follower did not fit back on the waitlist");
        }
    }

    /// Whether an event with this id waits for its leader.
    pub(crate) fn is_waiting(&self, id: &EventId) -> bool {
        self.waiting.contains_key(id)
    }

    /// An upper bound on the number of waiting followers that processing the event
    /// with this id releases: its followers, theirs, … down to `max_depth` levels.
    pub(crate) fn chain_len(&self, id: &EventId, max_depth: u32) -> usize {
        let mut count = 0usize;
        self.count_chain(id, max_depth, &mut count);
        count.min(self.waiting.len())
    }

    /// Adds the waiting followers of `leader` down to `depth` levels to `count`,
    /// stopping once it reaches the number of waiting followers.
    fn count_chain(&self, leader: &EventId, depth: u32, count: &mut usize) {
        if depth == 0 {
            return;
        }
        for f in self.followers.iter(leader) {
            if *count >= self.waiting.len() {
                return;
            }
            if self.waiting.contains_key(&f) {
                *count += 1;
                self.count_chain(&f, depth - 1, count);
            }
        }
    }

    /// The earliest `received` among waiting followers.
    pub(crate) fn earliest_received(&self) -> Option<Instant> {
        self.by_received.first().map(|(&(r, _, _), ())| r)
    }

    /// How many followers wait (lost ones being released included).
    pub(crate) fn len(&self) -> usize {
        self.waiting.len() + self.lost.len()
    }

    /// The longest waiting event, packed, in bytes.
    pub(crate) fn longest(&self) -> usize {
        self.waiting
            .iter()
            .filter_map(|(_, w)| self.pool.get(w.slot))
            .map(|e| e.as_bytes().len())
            .max()
            .unwrap_or(0)
    }

    /// The position the next new follower gets.
    pub(crate) fn next_position(&self) -> u64 {
        self.next_position
    }

    /// How many waiting followers a snapshot records
    /// ([`for_each_waiting`](Self::for_each_waiting) calls back that often).
    pub(crate) fn waiting_count(&self) -> usize {
        self.waiting
            .iter()
            .filter(|(_, w)| self.pool.get(w.slot).is_some())
            .count()
    }

    /// Calls `f` with every waiting follower as a snapshot records it (waitlist
    /// position, `received`, the event), by position then id, without allocating
    /// (between `handle_*` calls nothing is being processed, so with
    /// [`for_each_follower_set`](Self::for_each_follower_set) that is all the state).
    pub(crate) fn for_each_waiting<E>(
        &self,
        mut f: impl FnMut(u64, Instant, Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let items = || {
            self.waiting
                .iter()
                .filter(|(_, w)| self.pool.get(w.slot).is_some())
                .map(|(id, w)| (w.position, *id, w.slot, w.received))
        };
        for_each_sorted(items, |(position, _, slot, received)| {
            match self.pool.get(slot) {
                Some(event) => f(position, received, event.view()),
                None => Ok(()),
            }
        })
    }

    /// How many leaders have a follower-id set.
    pub(crate) fn leader_count(&self) -> usize {
        self.followers.layouts().count()
    }

    /// Calls `f` with each leader's follower-id set as its CPython table layout
    /// (leader, table size, occupied slots with their id or `None` for a deleted
    /// entry), leaders sorted, without allocating.
    pub(crate) fn for_each_follower_set<E>(
        &self,
        mut f: impl FnMut(EventId, u32, &mut dyn FollowerSlots) -> Result<(), E>,
    ) -> Result<(), E> {
        let leaders = || self.followers.layouts().map(|(leader, _, _)| leader);
        for_each_sorted(leaders, |leader| match self.followers.layout(&leader) {
            Some((size, slots)) => f(leader, size, &mut SlotsOf(slots)),
            None => Ok(()),
        })
    }

    /// The waitlist a snapshot describes: waiting followers (position, `received`,
    /// event), each leader's follower-id set (leader, table size, occupied slots) and
    /// the next position. `None` if a follower or a leader appears twice, a position
    /// is not below `next_position`, a follower set's layout is not one CPython could
    /// have made, or the events do not fit in `S`.
    #[cfg(test)]
    pub(crate) fn import<'e, L>(
        waiting: impl Iterator<Item = (u64, Instant, Event<'e>)>,
        followers: impl Iterator<Item = (EventId, u32, L)>,
        next_position: u64,
    ) -> Option<Self>
    where
        L: Iterator<Item = (u32, Option<EventId>)> + Clone,
    {
        let mut out = CausalOrdering::<S>::default();
        out.import_in_place(waiting, followers, next_position)
            .then_some(out)
    }

    /// Empties the waitlist in place (as [`Default`] makes it).
    pub(crate) fn clear(&mut self) {
        let CausalOrdering {
            waiting,
            pool,
            followers,
            by_received,
            next_position,
            processing,
            lost,
        } = self;
        waiting.clear();
        pool.clear();
        followers.clear();
        by_received.clear();
        *next_position = 0;
        processing.clear();
        lost.clear();
    }

    /// [`import`](Self::import) into this waitlist, emptied first, without building
    /// a second one (a fixed one is inline); false as `import` gives `None`, the
    /// waitlist then holding any part of it.
    pub(crate) fn import_in_place<'e, L>(
        &mut self,
        waiting: impl Iterator<Item = (u64, Instant, Event<'e>)>,
        followers: impl Iterator<Item = (EventId, u32, L)>,
        next_position: u64,
    ) -> bool
    where
        L: Iterator<Item = (u32, Option<EventId>)> + Clone,
    {
        self.clear();
        self.next_position = next_position;
        self.import_entries(waiting, followers).is_some()
    }

    fn import_entries<'e, L>(
        &mut self,
        waiting: impl Iterator<Item = (u64, Instant, Event<'e>)>,
        followers: impl Iterator<Item = (EventId, u32, L)>,
    ) -> Option<()>
    where
        L: Iterator<Item = (u32, Option<EventId>)> + Clone,
    {
        let next_position = self.next_position;
        let out = self;
        for (position, received, event) in waiting {
            if position >= next_position {
                return None;
            }
            let id = event.id;
            let slot = out.pool.pack(&event)?;
            out.by_received
                .try_insert((received, position, id), ())
                .ok()?;
            let waiting = Waiting {
                slot,
                received,
                position,
            };
            if out.waiting.try_insert(id, waiting).ok()?.is_some() {
                return None;
            }
        }
        for (leader, size, slots) in followers {
            out.followers.insert_layout(leader, size, slots)?;
        }
        Some(())
    }
}

/// The occupied slots of one follower-id set's table, as
/// [`CausalOrdering::for_each_follower_set`] hands them out: `(position, id or None
/// for a deleted entry)`, restartable.
pub(crate) trait FollowerSlots {
    /// How many there are.
    fn count(&self) -> usize;
    /// Calls `f` with each, in table order.
    fn each(&self, f: &mut dyn FnMut(u32, Option<EventId>) -> bool) -> bool;
}

struct SlotsOf<I>(I);

impl<I: Iterator<Item = (u32, Option<EventId>)> + Clone> FollowerSlots for SlotsOf<I> {
    fn count(&self) -> usize {
        self.0.clone().count()
    }

    fn each(&self, f: &mut dyn FnMut(u32, Option<EventId>) -> bool) -> bool {
        self.0.clone().all(|(position, id)| f(position, id))
    }
}

/// The waitlist as [`CausalOrdering::export`] gives it, for tests.
#[cfg(test)]
pub(crate) struct OrderingRecord {
    /// Waiting followers by waitlist position.
    pub(crate) waiting: Vec<(u64, Instant, OwnedEvent)>,
    /// Each leader's follower-id set as its CPython table layout, leaders sorted.
    #[allow(clippy::type_complexity)]
    pub(crate) followers: Vec<(EventId, (u32, Vec<(u32, Option<EventId>)>))>,
    /// The position the next new follower gets.
    pub(crate) next_position: u64,
}

#[cfg(test)]
impl<S: Storage> CausalOrdering<S> {
    /// The waitlist as a snapshot records it, collected.
    pub(crate) fn export(&self) -> OrderingRecord {
        let mut waiting = Vec::new();
        let _ = self.for_each_waiting(|position, received, event| {
            waiting.push((position, received, event.to_owned_event()));
            Ok::<(), ()>(())
        });
        let mut followers = Vec::new();
        let _ = self.for_each_follower_set(|leader, size, slots| {
            let mut all = Vec::new();
            slots.each(&mut |position, id| {
                all.push((position, id));
                true
            });
            followers.push((leader, (size, all)));
            Ok::<(), ()>(())
        });
        OrderingRecord {
            waiting,
            followers,
            next_position: self.next_position,
        }
    }

    /// [`import`](Self::import) of a collected record.
    pub(crate) fn import_record(record: OrderingRecord) -> Option<Self> {
        Self::import(
            record.waiting.iter().map(|(p, r, e)| (*p, *r, e.view())),
            record
                .followers
                .iter()
                .map(|(leader, (size, slots))| (*leader, *size, slots.iter().copied())),
            record.next_position,
        )
    }
}

#[cfg(test)]
mod tests;
