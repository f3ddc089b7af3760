//! A hierarchical timing wheel: deadlines in, expired entries out, no clock.
//!
//! [`Wheel`] holds entries (a payload `T` and a deadline) addressed by generation-tagged
//! [`Handle`]s. [`Wheel::poll`] yields every entry whose deadline is at or before the
//! `now` it is given, one per call, in deadline order (ties in insertion order, except
//! in the compact layout below), each exactly once; [`Wheel::next_deadline`] tells the
//! caller when to come back. A caller that numbers its own items densely can keep no
//! handles at all: [`Wheel::insert_at`] puts item `i`'s entry at slab position `i`, and
//! [`Wheel::handle_at`] finds it again (the engine files each tracked key's timer this
//! way).
//!
//! ```
//! use overdue_core::time::{Duration, Instant};
//! use overdue_core::wheel::FixedWheel;
//!
//! let mut wheel: FixedWheel<&str, 8> = FixedWheel::new(Duration::from_millis(1), Instant::ZERO);
//! let late = wheel.insert(Instant::from_secs(90), "late").unwrap();
//! wheel.insert(Instant::from_micros(1_500), "soon").unwrap();
//! wheel.reset(late, Instant::from_secs(120)).unwrap(); // an event pushed it back
//! assert_eq!(wheel.next_deadline(), Some(Instant::from_micros(1_500)));
//! assert!(wheel.poll(Instant::from_micros(1_499)).is_none()); // exact, not per tick
//! assert_eq!(wheel.poll(Instant::from_secs(1)).unwrap().payload, "soon");
//! assert_eq!(wheel.next_deadline(), Some(Instant::from_secs(120)));
//! ```
//!
//! Two storage flavours share the API: [`FixedWheel<T, N>`] keeps `N` entries inline and
//! never allocates (a full wheel hands the payload back in [`InsertError::Full`]);
//! `GrowableWheel<T>` (feature `alloc`) keeps them in a `Vec`.
//!
//! Each flavour also comes in a compact layout for payload `()`, [`CompactArrayStorage`]
//! and `CompactVecStorage`: entries of 16 bytes instead of 24, for a caller that files
//! item `i`'s timer at entry `i` with [`Wheel::insert_at`] and knows itself which items
//! have one (the engine's key timers). It gives up what such a caller does not use:
//! handles carry no generation (one kept after its entry is gone names whatever entry
//! takes its slot later), entries with equal deadlines come out in an order of the
//! wheel's choosing (each exactly once, never before its deadline), and indices stop at
//! 2^30 - 2 (an index beyond is refused with [`InsertError::Full`]).
//!
//! ```
//! use overdue_core::time::{Duration, Instant};
//! use overdue_core::wheel::{CompactArrayStorage, Wheel};
//!
//! type Timers = Wheel<(), CompactArrayStorage<64>>;
//! let mut timers = Timers::new(Duration::from_millis(1), Instant::ZERO);
//! assert_eq!(Timers::entry_size(), 16);
//! timers.insert_at(7, Instant::from_secs(90), ()).unwrap(); // item 7's timer
//! let h = timers.handle_at(7).unwrap();
//! timers.reset(h, Instant::from_secs(120)).unwrap(); // item 7 was heard from
//! assert_eq!(timers.poll(Instant::from_secs(120)).map(|e| e.handle.index()), Some(7));
//! ```
//!
//! # Footprint
//!
//! `size_of::<Wheel>()` is about 3.6 KiB (7 levels × (64 × 8-byte list ends + an 8-byte
//! bitmap), plus a few words), and each entry of the default ([`Tagged`]) layout takes
//! `24 + size_of::<T>()` bytes (rounded
//! up to a multiple of 4 and of `T`'s alignment, for payloads aligned to at most 8): an
//! 8-byte deadline, two `u32` links, a `u32` generation, and a `u32` holding a 28-bit
//! insertion sequence (for ties) and a 4-bit location (which list the entry is on). The
//! location word is never zero, so its zero doubles as the "vacant" tag at no cost.
//! Sequence numbers are compared modulo 2^28: two entries with the *same* deadline that
//! were inserted more than 2^27 (134 million) insertions apart may come out in either
//! order. A wheel holds at most 2^32 - 1 entries.
//!
//! ```text
//! bytes ≈ 3.6 KiB + capacity × (24 + size_of::<T>())
//! ```
//!
//! An entry of the compact ([`Packed`]) layout is the deadline and the two links, with
//! the 4-bit location in the links' top two bits each (30 bits of index are left):
//! `bytes ≈ 3.6 KiB + capacity × 16`.
//!
//! (`capacity` is `N` for a fixed wheel, the `Vec`'s capacity for a growable one).
//!
//! # Implementation
//!
//! The layout is tokio's: [`LEVELS`] levels of 64 slots, each level with a `u64`
//! occupancy bitmap, level `l`'s slots `64^l` ticks wide (a tick is [`Wheel::tick`]).
//! The 64 slots of a level stand for the 64 slot numbers from the cursor's onwards, and an
//! entry goes to the lowest level whose 64 slots reach its deadline. At the default tick
//! of 1 ms:
//!
//! | level | slot width | reach (64 slots) |
//! |------:|-----------:|-----------------:|
//! | 0 | 1 ms | 64 ms |
//! | 1 | 64 ms | 4.1 s |
//! | 2 | 4.1 s | 4.4 min |
//! | 3 | 4.4 min | 4.7 h |
//! | 4 | 4.7 h | 12.4 days |
//! | 5 | 12.4 days | 2.2 years |
//! | 6 | 2.2 years | 139 years |
//!
//! Unlike tokio the level comes from the distance, not from the highest bit in which the
//! deadline and the cursor differ: with the latter, every deadline past a high boundary
//! (say 90 s deadlines near a level-3 boundary) piles into one slot, and crossing the
//! boundary moves all of them at once; here 90 s deadlines stay in level 2 and a cascade
//! moves at most one 4-second slot. The next occupied slot of a level is its bitmap rotated
//! to the cursor's slot, lowest set bit; the earliest slot of the wheel is the one starting
//! first over the levels. Each entry records which list it is on.
//!
//! A deadline beyond the top level's reach is parked on an overflow list, due when its
//! earliest entry comes within reach as the top level's farthest slot; it costs nothing
//! in between and never fires early. Deadlines anywhere in `u64` microseconds work, and
//! the tick can be anything from 1 µs up (a zero tick is taken as 1 µs).
//!
//! Entries due at the cursor's tick sit in a *ready* list sorted by exact deadline and
//! insertion sequence, so a slot holding deadlines of different sub-tick times yields only
//! the due ones, in order. While no slot starts at or before the cursor, the head of the
//! ready list is the earliest entry of the wheel. When the ready list runs empty the
//! earliest slot is *cascaded*: the cursor moves to its start and its entries are filed
//! again, into lower levels and, at the cursor's tick, into the ready list (sorted once).
//! [`Wheel::poll`] cascades only slots that start by `now`; [`Wheel::next_deadline`]
//! cascades until the earliest entry is known, which may put the cursor ahead of `now`;
//! a deadline inserted before the cursor then goes into the ready list by sorted insert
//! (O(1) when it is the earliest or latest there).
//!
//! Cost: insert, reset, cancel and taking the ready head are O(1); each entry is moved by
//! cascading at most once per level on its way down (amortized O(1), paid by `poll` and
//! `next_deadline`), and a cascade moves one slot.

mod cascade;
mod error;
mod level;
mod list;
mod slab;

use core::fmt;
use core::iter::FusedIterator;

use crate::time::{Duration, Instant};
use cascade::{meta, Place, LOC_MASK, LOC_READY};
use level::{Level, TickDiv};
use list::List;
use slab::{AtError, Slab};

pub use error::{InsertError, ResetError};
pub use level::LEVELS;
pub use slab::{ArrayStorage, CompactArrayStorage, Handle, InlineStorage, Packed, Storage, Tagged};
#[cfg(feature = "alloc")]
pub use slab::{CompactVecStorage, HeapStorage, VecStorage};

/// The default tick: one millisecond.
pub const DEFAULT_TICK: Duration = Duration::from_millis(1);

/// A wheel of at most `N` entries stored inline, without allocation.
pub type FixedWheel<T, const N: usize> = Wheel<T, ArrayStorage<T, N>>;

/// A wheel whose entries live in a growable `Vec` (feature `alloc`).
#[cfg(feature = "alloc")]
pub type GrowableWheel<T> = Wheel<T, VecStorage<T>>;

/// A hierarchical timing wheel of payloads `T` with deadlines, on storage `S`.
///
/// See the [module documentation](self) for the layout and costs.
#[derive(Clone)]
pub struct Wheel<T, S: Storage<T>> {
    slab: Slab<T, S>,
    levels: [Level; LEVELS],
    /// The sorted list of entries with ticks up to `cur`.
    ready: List,
    /// The overflow list (deadlines beyond the top level's reach).
    parked: List,
    /// A lower bound of the parked ticks (`u64::MAX` when none are parked).
    parked_min: u64,
    /// The cursor, in ticks.
    cur: u64,
    /// The next insertion sequence number (28 bits).
    seq: u32,
    elapsed: Instant,
    div: TickDiv,
}

/// An entry taken out of the wheel by [`Wheel::poll`] because its deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Expired<T> {
    /// The handle the entry had (now stale).
    pub handle: Handle,
    /// The deadline the entry had.
    pub deadline: Instant,
    /// The caller's value.
    pub payload: T,
}

impl<T, S: Storage<T> + Default> Wheel<T, S> {
    /// An empty wheel with the given tick (zero is taken as 1 µs) whose time starts at `start`.
    pub fn new(tick: Duration, start: Instant) -> Self {
        Self::with_storage(tick, start, S::default())
    }
}

impl<T, S: Storage<T> + Default> Default for Wheel<T, S> {
    /// An empty wheel with the [`DEFAULT_TICK`] starting at the Unix epoch.
    fn default() -> Self {
        Self::new(DEFAULT_TICK, Instant::ZERO)
    }
}

#[cfg(feature = "alloc")]
impl<T, E> Wheel<T, HeapStorage<E>>
where
    HeapStorage<E>: Storage<T>,
{
    /// An empty growable wheel with room for `capacity` entries before it reallocates.
    pub fn with_capacity(tick: Duration, start: Instant, capacity: usize) -> Self {
        Self::with_storage(tick, start, HeapStorage::with_capacity(capacity))
    }
}

impl<T, S: Storage<T>> Wheel<T, S> {
    /// An empty wheel on the given (empty) storage.
    pub fn with_storage(tick: Duration, start: Instant, storage: S) -> Self {
        let div = TickDiv::new(tick.as_micros());
        Wheel {
            slab: Slab::new(storage),
            levels: [Level::EMPTY; LEVELS],
            ready: List::EMPTY,
            parked: List::EMPTY,
            parked_min: u64::MAX,
            cur: div.ticks(start.as_micros()),
            seq: 0,
            elapsed: start,
            div,
        }
    }

    /// Empties the wheel in place and starts it again as
    /// [`with_storage`](Self::with_storage) would, with this tick and start: every
    /// entry is dropped and every handle issued so far may name a new entry later
    /// (generations start again). Unlike assigning a new wheel, no second wheel is
    /// built, which matters for a fixed wheel, whose entries are inline.
    pub fn clear(&mut self, tick: Duration, start: Instant) {
        let div = TickDiv::new(tick.as_micros());
        self.slab.clear();
        self.levels = [Level::EMPTY; LEVELS];
        self.ready = List::EMPTY;
        self.parked = List::EMPTY;
        self.parked_min = u64::MAX;
        self.cur = div.ticks(start.as_micros());
        self.seq = 0;
        self.elapsed = start;
        self.div = div;
    }

    /// The tick: the width of a level-0 slot (at least 1 µs).
    pub fn tick(&self) -> Duration {
        Duration::from_micros(self.div.tick())
    }

    /// The wheel's time: the latest `now` at which [`poll`](Self::poll) found nothing due.
    pub fn elapsed(&self) -> Instant {
        self.elapsed
    }

    /// The number of live entries.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether the wheel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// The fixed capacity, or `None` for a growable wheel.
    pub fn capacity(&self) -> Option<usize> {
        self.slab.store.capacity()
    }

    /// The bytes one entry occupies for this payload type and layout (`24 +
    /// size_of::<T>()`, aligned, for [`Tagged`] entries; 16 for [`Packed`] ones).
    pub const fn entry_size() -> usize {
        Slab::<T, S>::entry_size()
    }

    /// Adds an entry due at `deadline`; O(1).
    ///
    /// A deadline at or before [`elapsed`](Self::elapsed) is refused with
    /// [`InsertError::Elapsed`], a full fixed-capacity wheel with [`InsertError::Full`];
    /// both hand the payload back.
    pub fn insert(&mut self, deadline: Instant, payload: T) -> Result<Handle, InsertError<T>> {
        if deadline <= self.elapsed {
            return Err(InsertError::Elapsed(payload));
        }
        let d = deadline.as_micros();
        let seq = self.next_seq();
        let (index, generation) = self
            .slab
            .insert(d, meta(seq, LOC_READY), payload)
            .map_err(InsertError::Full)?;
        let t = self.div.ticks(d);
        self.file_new(index, t, self.place(t), seq);
        Ok(Handle::from_parts(index, generation))
    }

    /// Adds an entry due at `deadline` at slab position `index`; O(1) when the storage
    /// already reaches `index`.
    ///
    /// For a caller that numbers its own items densely (slots of a table of its own), so
    /// that item `i`'s timer is always entry `i`: the caller keeps no [`Handle`], and
    /// finds it with [`handle_at`](Self::handle_at) when it needs one. A growable wheel's
    /// storage grows to `index + 1` entries, the new ones vacant; mixing this with
    /// [`insert`](Self::insert), which takes any vacant entry, is allowed but makes
    /// [`InsertError::Occupied`] likely.
    ///
    /// Refused, handing the payload back: a deadline at or before
    /// [`elapsed`](Self::elapsed) with [`InsertError::Elapsed`], an `index` beyond a fixed
    /// wheel's capacity (or `u32::MAX`) with [`InsertError::Full`], an `index` that holds a
    /// live entry with [`InsertError::Occupied`].
    ///
    /// ```
    /// use overdue_core::time::{Duration, Instant};
    /// use overdue_core::wheel::{FixedWheel, InsertError};
    ///
    /// // item 2's timer, without keeping a handle
    /// let mut wheel: FixedWheel<(), 4> = FixedWheel::new(Duration::from_millis(1), Instant::ZERO);
    /// wheel.insert_at(2, Instant::from_secs(5), ()).unwrap();
    /// let again = wheel.insert_at(2, Instant::from_secs(6), ());
    /// assert_eq!(again, Err(InsertError::Occupied(())));
    /// assert_eq!(wheel.insert_at(4, Instant::from_secs(6), ()), Err(InsertError::Full(())));
    /// // later: move it, then see it fire under its index
    /// let handle = wheel.handle_at(2).unwrap();
    /// wheel.reset(handle, Instant::from_secs(7)).unwrap();
    /// assert_eq!(wheel.poll(Instant::from_secs(7)).unwrap().handle.index(), 2);
    /// assert_eq!(wheel.handle_at(2), None);
    /// ```
    pub fn insert_at(
        &mut self,
        index: u32,
        deadline: Instant,
        payload: T,
    ) -> Result<Handle, InsertError<T>> {
        if deadline <= self.elapsed {
            return Err(InsertError::Elapsed(payload));
        }
        let d = deadline.as_micros();
        let seq = self.next_seq();
        let generation = self
            .slab
            .insert_at(index, d, meta(seq, LOC_READY), payload)
            .map_err(|e| match e {
                AtError::Full(p) => InsertError::Full(p),
                AtError::Occupied(p) => InsertError::Occupied(p),
            })?;
        let t = self.div.ticks(d);
        self.file_new(index, t, self.place(t), seq);
        Ok(Handle::from_parts(index, generation))
    }

    /// The handle of the live entry at slab position `index` (see
    /// [`insert_at`](Self::insert_at)), or `None` when that entry is vacant or beyond the
    /// storage.
    pub fn handle_at(&self, index: u32) -> Option<Handle> {
        self.slab.handle_at(index)
    }

    /// Moves an entry to a new deadline; O(1).
    ///
    /// For ties the entry counts as inserted now (no tie order in a compact layout).
    /// When the new deadline falls in the slot the entry is in, only the time is stored. A stale handle gives
    /// [`ResetError::Stale`] and changes nothing; a new deadline at or before
    /// [`elapsed`](Self::elapsed) removes the entry and returns its payload in
    /// [`ResetError::Elapsed`].
    pub fn reset(&mut self, handle: Handle, deadline: Instant) -> Result<(), ResetError<T>> {
        let Some((d_old, m_old)) = self.slab.live(handle) else {
            return Err(ResetError::Stale);
        };
        let i = handle.index();
        let t_old = self.div.ticks(d_old);
        if deadline <= self.elapsed {
            self.unlink(i, t_old, m_old);
            return match self.slab.remove(i) {
                Some(payload) => Err(ResetError::Elapsed(payload)),
                None => Err(ResetError::Stale),
            };
        }
        let d = deadline.as_micros();
        let t = self.div.ticks(d);
        let place = self.place(t);
        let seq = self.next_seq();
        self.slab.set_deadline(i, d);
        let same_list = match place {
            Place::Ready => false, // sorted: must move
            Place::Parked => place.loc() == m_old & LOC_MASK,
            Place::Slot { level, slot } => {
                place.loc() == m_old & LOC_MASK && level::slot_of(t_old, level) == slot
            }
        };
        if same_list {
            self.slab.set_meta(i, meta(seq, place.loc()));
            if place == Place::Parked {
                self.parked_min = self.parked_min.min(t);
            }
            return Ok(());
        }
        self.unlink(i, t_old, m_old);
        self.file_new(i, t, place, seq);
        Ok(())
    }

    /// Removes an entry and returns its payload, or `None` for a stale handle; O(1).
    pub fn cancel(&mut self, handle: Handle) -> Option<T> {
        let (d, m) = self.slab.live(handle)?;
        let i = handle.index();
        self.unlink(i, self.div.ticks(d), m);
        self.slab.remove(i)
    }

    /// The payload of a live entry.
    pub fn get(&self, handle: Handle) -> Option<&T> {
        self.slab.payload(handle)
    }

    /// The payload of a live entry, mutably.
    pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
        self.slab.payload_mut(handle)
    }

    /// The deadline of a live entry.
    pub fn deadline(&self, handle: Handle) -> Option<Instant> {
        if self.slab.is_live(handle) {
            Some(Instant::from_micros(self.slab.deadline(handle.index())))
        } else {
            None
        }
    }

    /// Whether `handle` names a live entry.
    pub fn contains(&self, handle: Handle) -> bool {
        self.slab.is_live(handle)
    }

    /// Live entries as `(handle, deadline, payload)`, in storage order (not deadline order).
    pub fn iter(&self) -> impl Iterator<Item = (Handle, Instant, &T)> + '_ {
        self.slab
            .iter()
            .map(|(h, d, p)| (h, Instant::from_micros(d), p))
    }

    /// Takes out the earliest entry due at or before `now`, if any.
    ///
    /// Call it until it returns `None`: entries come one per call in deadline order (ties
    /// in insertion order; in any order for a compact layout), each exactly once, and
    /// never before `now >= deadline`, whatever the tick. Once nothing more is due, [`elapsed`](Self::elapsed) moves to
    /// `now`; a `now` older than `elapsed` is taken as `elapsed`. Amortized O(1).
    #[must_use = "an expired entry is removed from the wheel"]
    pub fn poll(&mut self, now: Instant) -> Option<Expired<T>> {
        let now = now.max(self.elapsed);
        let n = now.as_micros();
        if self.ready.is_empty() {
            self.refill(self.div.ticks(n));
        }
        let head = self.ready.head;
        if !self.ready.is_empty() && self.slab.deadline(head) <= n {
            let deadline = Instant::from_micros(self.slab.deadline(head));
            let generation = self.slab.generation(head);
            self.slab.unlink(&mut self.ready, head);
            if let Some(payload) = self.slab.remove(head) {
                return Some(Expired {
                    handle: Handle::from_parts(head, generation),
                    deadline,
                    payload,
                });
            }
        }
        self.elapsed = now;
        None
    }

    /// Drains every entry due at or before `now`, like calling [`poll`](Self::poll)
    /// until it returns `None`.
    ///
    /// Entries not taken from the iterator before it is dropped stay in the wheel.
    pub fn advance(&mut self, now: Instant) -> Advance<'_, T, S> {
        Advance { wheel: self, now }
    }

    /// The exact earliest deadline of all entries, or `None` when the wheel is empty.
    ///
    /// It is the head of the ready list when that is known; otherwise the earliest slot is
    /// cascaded until it is (this is why it takes `&mut self`), amortized O(1). Sleep
    /// until this instant, then [`poll`](Self::poll).
    pub fn next_deadline(&mut self) -> Option<Instant> {
        if self.slab.len() == 0 {
            return None;
        }
        self.refill(u64::MAX);
        if self.ready.is_empty() {
            None
        } else {
            Some(Instant::from_micros(self.slab.deadline(self.ready.head)))
        }
    }
}

impl<T, S: Storage<T>> fmt::Debug for Wheel<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len())
            .field("tick", &self.tick())
            .field("elapsed", &self.elapsed)
            .field("cursor_tick", &self.cur)
            .finish_non_exhaustive()
    }
}

/// The entries due at a given time, drained from a wheel: see [`Wheel::advance`].
#[derive(Debug)]
pub struct Advance<'a, T, S: Storage<T>> {
    wheel: &'a mut Wheel<T, S>,
    now: Instant,
}

impl<T, S: Storage<T>> Iterator for Advance<'_, T, S> {
    type Item = Expired<T>;

    fn next(&mut self) -> Option<Expired<T>> {
        self.wheel.poll(self.now)
    }
}

impl<T, S: Storage<T>> FusedIterator for Advance<'_, T, S> {}

#[cfg(test)]
mod tests;
