//! Entry storage: a slab of entries behind a [`Storage`] flavour, in one of two layouts.
//!
//! Every entry carries its deadline and the two links of the list it sits in; a vacant
//! entry keeps its links (`next` and `prev` thread the doubly linked free list, so that
//! [`Slab::insert_at`] can take any vacant entry out of it), so reading links never has
//! to handle a missing entry. The layouts differ in what else they keep:
//!
//! * [`Tagged`] (any payload): a generation and a `meta` word (insertion sequence and
//!   which list the entry is on). `meta` is never zero, which lets the compiler use its
//!   zero as the vacant tag: 24 bytes plus the payload. A [`Handle`] names an entry by
//!   index *and* generation: the generation is bumped every time an entry is freed, so a
//!   handle outliving its entry no longer matches and is refused.
//! * [`Packed`] (payload `()`): only the deadline and the links, 16 bytes. The list
//!   location (4 bits, zero when vacant) sits in the top two bits of each link, so an
//!   index has 30 bits. There is no generation (handles are always generation 0) and no
//!   sequence (entries with equal deadlines come out in an order of the wheel's
//!   choosing). For a caller that files item `i`'s timer at entry `i` and knows itself
//!   whether item `i` has one, as the engine does.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::mem;
use core::num::NonZeroU32;
use serde::{Deserialize, Serialize};

/// The "no entry" link value.
pub(crate) const NIL: u32 = u32::MAX;

/// A generation-tagged reference to one entry of a [`Wheel`](super::Wheel).
///
/// Handles are small (8 bytes), `Copy`, and, in a wheel of [`Tagged`] entries (the
/// default layout), stay safe to use after their entry is gone: once the entry fired,
/// was cancelled or its slot was reused, every operation given the handle reports it as
/// stale and touches nothing. (After 2³² reuses of the same slot a generation repeats; a
/// handle kept that long could alias a newer entry.) A wheel of [`Packed`] entries keeps
/// no generations: its handles name a slot, and one kept after its entry is gone names
/// whatever entry occupies that slot later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Handle {
    index: u32,
    generation: u32,
}

impl Handle {
    /// A handle from its raw parts, e.g. when restoring one that was serialized.
    pub const fn from_parts(index: u32, generation: u32) -> Handle {
        Handle { index, generation }
    }

    /// The slot of the entry in the wheel's slab.
    pub const fn index(self) -> u32 {
        self.index
    }

    /// The generation of the slot the handle was issued for.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

/// Links and bookkeeping of a [`Tagged`] entry: five `u32`s, 4-byte aligned.
///
/// The deadline is split in two halves so that the whole entry keeps 4-byte alignment
/// ahead of the payload: with `meta` it makes a fixed 24-byte overhead.
#[derive(Clone, Copy, Debug)]
struct TaggedLinks {
    deadline_lo: u32,
    deadline_hi: u32,
    next: u32,
    prev: u32,
    generation: u32,
}

#[derive(Clone, Debug)]
enum TaggedRepr<T> {
    /// A live entry on one of the wheel's lists; `meta` (insertion sequence and
    /// location, see `super::Wheel`) is never zero.
    Occupied {
        links: TaggedLinks,
        meta: NonZeroU32,
        payload: T,
    },
    /// A free slot; `links.next` and `links.prev` thread the free list.
    Vacant { links: TaggedLinks },
}

/// The default entry layout: deadline, links, generation and insertion sequence, 24
/// bytes plus the payload (see the [module documentation](super#footprint)).
#[derive(Clone, Debug)]
pub struct Tagged<T>(TaggedRepr<T>);

impl<T> Tagged<T> {
    #[inline]
    fn links(&self) -> &TaggedLinks {
        match &self.0 {
            TaggedRepr::Occupied { links, .. } | TaggedRepr::Vacant { links } => links,
        }
    }

    #[inline]
    fn links_mut(&mut self) -> &mut TaggedLinks {
        match &mut self.0 {
            TaggedRepr::Occupied { links, .. } | TaggedRepr::Vacant { links } => links,
        }
    }
}

/// The low 30 bits of a [`Packed`] link: the index plus one, or 0 for [`NIL`].
const PACKED_INDEX: u32 = (1 << 30) - 1;

/// The compact entry layout for payload `()`: deadline and links only, 16 bytes (see
/// the [module documentation](super#footprint)).
///
/// Each link keeps the linked index plus one in its low 30 bits (0 for no entry) and two
/// bits of the entry's 4-bit location in its top two; location 0 marks a vacant entry.
#[derive(Clone, Copy, Debug)]
pub struct Packed {
    deadline_lo: u32,
    deadline_hi: u32,
    next: u32,
    prev: u32,
    /// (zero-sized: lets [`Slot::payload_mut`](sealed::Slot::payload_mut) hand out a
    /// reference)
    payload: (),
}

impl Packed {
    #[inline]
    fn get(link: u32) -> u32 {
        (link & PACKED_INDEX).wrapping_sub(1)
    }

    #[inline]
    fn put(link: &mut u32, index: u32) {
        *link = (*link & !PACKED_INDEX) | (index.wrapping_add(1) & PACKED_INDEX);
    }

    #[inline]
    fn loc(&self) -> u32 {
        ((self.next >> 30) << 2) | (self.prev >> 30)
    }

    #[inline]
    fn set_loc(&mut self, loc: u32) {
        self.next = (self.next & PACKED_INDEX) | (((loc >> 2) & 3) << 30);
        self.prev = (self.prev & PACKED_INDEX) | ((loc & 3) << 30);
    }
}

#[inline]
fn halves(deadline: u64) -> (u32, u32) {
    (deadline as u32, (deadline >> 32) as u32)
}

#[inline]
fn whole(lo: u32, hi: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

pub(crate) mod sealed {
    use super::NonZeroU32;

    /// One slot of the slab in some layout; sealed so the layouts stay private.
    pub trait Slot<T>: Sized {
        /// The most entries a slab of this layout can index.
        const MAX: usize;
        /// A vacant slot whose free-list successor is `next` (no predecessor).
        fn vacant(next: u32) -> Self;
        /// A new occupied slot (generation 0), unlinked.
        fn occupied(deadline: u64, meta: NonZeroU32, payload: T) -> Self;
        /// Occupies a vacant slot, unlinked, keeping its generation.
        fn occupy(&mut self, deadline: u64, meta: NonZeroU32, payload: T);
        /// Frees an occupied slot with free-list successor `next` and no predecessor,
        /// bumping its generation: its payload, or `None` (and no change) when vacant.
        fn vacate(&mut self, next: u32) -> Option<T>;
        /// Deadline in microseconds.
        fn deadline(&self) -> u64;
        /// Sets the deadline.
        fn set_deadline(&mut self, deadline: u64);
        /// The next entry of its list, or `NIL`.
        fn next(&self) -> u32;
        /// Sets the next link.
        fn set_next(&mut self, next: u32);
        /// The previous entry of its list, or `NIL`.
        fn prev(&self) -> u32;
        /// Sets the previous link.
        fn set_prev(&mut self, prev: u32);
        /// The generation.
        fn generation(&self) -> u32;
        /// The `meta` word (sequence and location); 0 when vacant.
        fn meta(&self) -> u32;
        /// Replaces the `meta` word of an occupied slot (no change when vacant).
        fn set_meta(&mut self, meta: NonZeroU32);
        /// The payload of an occupied slot.
        fn payload(&self) -> Option<&T>;
        /// The payload of an occupied slot, mutably.
        fn payload_mut(&mut self) -> Option<&mut T>;
    }

    /// The storage operations the slab needs; sealed so the layout stays private.
    pub trait Store<T> {
        /// The entry layout.
        type Slot: Slot<T>;
        /// All slots in use so far (occupied or vacant).
        fn entries(&self) -> &[Self::Slot];
        /// All slots in use so far, mutably.
        fn entries_mut(&mut self) -> &mut [Self::Slot];
        /// Appends a slot; the caller checked that there is room.
        fn push(&mut self, slot: Self::Slot);
        /// Removes every slot.
        fn clear(&mut self);
        /// The fixed capacity, `None` when growable.
        fn capacity(&self) -> Option<usize>;
    }
}

use sealed::Slot;

impl<T> Slot<T> for Tagged<T> {
    const MAX: usize = NIL as usize;

    #[inline]
    fn vacant(next: u32) -> Self {
        Tagged(TaggedRepr::Vacant {
            links: TaggedLinks {
                deadline_lo: 0,
                deadline_hi: 0,
                next,
                prev: NIL,
                generation: 0,
            },
        })
    }

    #[inline]
    fn occupied(deadline: u64, meta: NonZeroU32, payload: T) -> Self {
        let (deadline_lo, deadline_hi) = halves(deadline);
        Tagged(TaggedRepr::Occupied {
            links: TaggedLinks {
                deadline_lo,
                deadline_hi,
                next: NIL,
                prev: NIL,
                generation: 0,
            },
            meta,
            payload,
        })
    }

    #[inline]
    fn occupy(&mut self, deadline: u64, meta: NonZeroU32, payload: T) {
        let generation = self.generation();
        *self = Self::occupied(deadline, meta, payload);
        self.links_mut().generation = generation;
    }

    #[inline]
    fn vacate(&mut self, next: u32) -> Option<T> {
        if let TaggedRepr::Vacant { .. } = self.0 {
            return None;
        }
        let mut links = *self.links();
        links.generation = links.generation.wrapping_add(1);
        links.next = next;
        links.prev = NIL;
        match core::mem::replace(&mut self.0, TaggedRepr::Vacant { links }) {
            TaggedRepr::Occupied { payload, .. } => Some(payload),
            TaggedRepr::Vacant { .. } => None,
        }
    }

    #[inline]
    fn deadline(&self) -> u64 {
        let l = self.links();
        whole(l.deadline_lo, l.deadline_hi)
    }

    #[inline]
    fn set_deadline(&mut self, deadline: u64) {
        let l = self.links_mut();
        (l.deadline_lo, l.deadline_hi) = halves(deadline);
    }

    #[inline]
    fn next(&self) -> u32 {
        self.links().next
    }

    #[inline]
    fn set_next(&mut self, next: u32) {
        self.links_mut().next = next;
    }

    #[inline]
    fn prev(&self) -> u32 {
        self.links().prev
    }

    #[inline]
    fn set_prev(&mut self, prev: u32) {
        self.links_mut().prev = prev;
    }

    #[inline]
    fn generation(&self) -> u32 {
        self.links().generation
    }

    #[inline]
    fn meta(&self) -> u32 {
        match &self.0 {
            TaggedRepr::Occupied { meta, .. } => meta.get(),
            TaggedRepr::Vacant { .. } => 0,
        }
    }

    #[inline]
    fn set_meta(&mut self, new: NonZeroU32) {
        if let TaggedRepr::Occupied { meta, .. } = &mut self.0 {
            *meta = new;
        }
    }

    #[inline]
    fn payload(&self) -> Option<&T> {
        match &self.0 {
            TaggedRepr::Occupied { payload, .. } => Some(payload),
            TaggedRepr::Vacant { .. } => None,
        }
    }

    #[inline]
    fn payload_mut(&mut self) -> Option<&mut T> {
        match &mut self.0 {
            TaggedRepr::Occupied { payload, .. } => Some(payload),
            TaggedRepr::Vacant { .. } => None,
        }
    }
}

impl Slot<()> for Packed {
    /// Indices up to `2^30 - 2`: a link keeps the index plus one in 30 bits.
    const MAX: usize = PACKED_INDEX as usize;

    #[inline]
    fn vacant(next: u32) -> Self {
        let mut slot = Packed {
            deadline_lo: 0,
            deadline_hi: 0,
            next: 0,
            prev: 0,
            payload: (),
        };
        Packed::put(&mut slot.next, next);
        slot
    }

    #[inline]
    fn occupied(deadline: u64, meta: NonZeroU32, (): ()) -> Self {
        let mut slot = Packed::vacant(NIL);
        slot.occupy(deadline, meta, ());
        slot
    }

    #[inline]
    fn occupy(&mut self, deadline: u64, meta: NonZeroU32, (): ()) {
        (self.deadline_lo, self.deadline_hi) = halves(deadline);
        self.next = 0;
        self.prev = 0;
        self.set_loc(meta.get());
    }

    #[inline]
    fn vacate(&mut self, next: u32) -> Option<()> {
        if self.loc() == 0 {
            return None;
        }
        *self = Packed::vacant(next);
        Some(())
    }

    #[inline]
    fn deadline(&self) -> u64 {
        whole(self.deadline_lo, self.deadline_hi)
    }

    #[inline]
    fn set_deadline(&mut self, deadline: u64) {
        (self.deadline_lo, self.deadline_hi) = halves(deadline);
    }

    #[inline]
    fn next(&self) -> u32 {
        Packed::get(self.next)
    }

    #[inline]
    fn set_next(&mut self, next: u32) {
        Packed::put(&mut self.next, next);
    }

    #[inline]
    fn prev(&self) -> u32 {
        Packed::get(self.prev)
    }

    #[inline]
    fn set_prev(&mut self, prev: u32) {
        Packed::put(&mut self.prev, prev);
    }

    #[inline]
    fn generation(&self) -> u32 {
        0
    }

    /// The location only (the 4 low bits of the `meta` word); the sequence is not kept.
    #[inline]
    fn meta(&self) -> u32 {
        self.loc()
    }

    #[inline]
    fn set_meta(&mut self, meta: NonZeroU32) {
        if self.loc() != 0 {
            self.set_loc(meta.get());
        }
    }

    #[inline]
    fn payload(&self) -> Option<&()> {
        (self.loc() != 0).then_some(&self.payload)
    }

    #[inline]
    fn payload_mut(&mut self) -> Option<&mut ()> {
        if self.loc() != 0 {
            Some(&mut self.payload)
        } else {
            None
        }
    }
}

/// Where a wheel keeps its entries: [`ArrayStorage`] (fixed) or [`VecStorage`]
/// (growable), or their compact counterparts [`CompactArrayStorage`] and
/// [`CompactVecStorage`] for payload `()`.
///
/// The trait is sealed; its methods are private to this crate.
pub trait Storage<T>: sealed::Store<T> {}

/// Fixed-capacity storage for `N` entries of layout `E`, inline, without allocation.
///
/// A wheel on this storage never allocates; once `N` entries are live, inserting hands
/// the payload back in [`InsertError::Full`](super::InsertError::Full). Name it through
/// [`ArrayStorage`] or [`CompactArrayStorage`].
#[derive(Clone, Debug)]
pub struct InlineStorage<E, const N: usize> {
    entries: heapless::Vec<E, N>,
}

/// Fixed-capacity storage for `N` [`Tagged`] entries of payload `T`.
pub type ArrayStorage<T, const N: usize> = InlineStorage<Tagged<T>, N>;

/// Fixed-capacity storage for `N` [`Packed`] entries (payload `()`, 16 bytes each).
pub type CompactArrayStorage<const N: usize> = InlineStorage<Packed, N>;

impl<E, const N: usize> InlineStorage<E, N> {
    /// Empty storage for `N` entries.
    pub const fn new() -> Self {
        InlineStorage {
            entries: heapless::Vec::new(),
        }
    }
}

impl<E, const N: usize> Default for InlineStorage<E, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E: Slot<T>, const N: usize> sealed::Store<T> for InlineStorage<E, N> {
    type Slot = E;
    fn entries(&self) -> &[E] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [E] {
        &mut self.entries
    }
    fn push(&mut self, slot: E) {
        // (cannot fail: the caller checked the capacity)
        let _ = self.entries.push(slot);
    }
    fn clear(&mut self) {
        self.entries.clear();
    }
    fn capacity(&self) -> Option<usize> {
        Some(N.min(E::MAX))
    }
}

impl<T, E: Slot<T>, const N: usize> Storage<T> for InlineStorage<E, N> {}

/// Growable storage of entries of layout `E` on a `Vec` (feature `alloc`). Name it
/// through [`VecStorage`] or [`CompactVecStorage`].
#[cfg(feature = "alloc")]
#[derive(Clone, Debug)]
pub struct HeapStorage<E> {
    entries: Vec<E>,
}

/// Growable storage of [`Tagged`] entries of payload `T` (feature `alloc`).
#[cfg(feature = "alloc")]
pub type VecStorage<T> = HeapStorage<Tagged<T>>;

/// Growable storage of [`Packed`] entries (payload `()`, 16 bytes each; feature `alloc`).
#[cfg(feature = "alloc")]
pub type CompactVecStorage = HeapStorage<Packed>;

#[cfg(feature = "alloc")]
impl<E> Default for HeapStorage<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "alloc")]
impl<E> HeapStorage<E> {
    /// Empty storage that allocates on first use.
    pub const fn new() -> Self {
        HeapStorage {
            entries: Vec::new(),
        }
    }

    /// Empty storage with room for `capacity` entries before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        HeapStorage {
            entries: Vec::with_capacity(capacity.min(NIL as usize)),
        }
    }
}

#[cfg(feature = "alloc")]
impl<T, E: Slot<T>> sealed::Store<T> for HeapStorage<E> {
    type Slot = E;
    fn entries(&self) -> &[E] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [E] {
        &mut self.entries
    }
    fn push(&mut self, slot: E) {
        crate::store::push_grown(&mut self.entries, slot);
    }
    fn clear(&mut self) {
        self.entries.clear();
    }
    fn capacity(&self) -> Option<usize> {
        None
    }
}

#[cfg(feature = "alloc")]
impl<T, E: Slot<T>> Storage<T> for HeapStorage<E> {}

/// Why [`Slab::insert_at`] refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AtError<T> {
    /// The index is beyond the storage's capacity.
    Full(T),
    /// The index holds a live entry.
    Occupied(T),
}

/// The slab: storage plus a free list and a count of live entries.
#[derive(Clone, Debug)]
pub(crate) struct Slab<T, S> {
    pub(crate) store: S,
    free: u32,
    len: u32,
    marker: PhantomData<fn() -> T>,
}

impl<T, S: Storage<T>> Slab<T, S> {
    pub(crate) fn new(store: S) -> Self {
        Slab {
            store,
            free: NIL,
            len: 0,
            marker: PhantomData,
        }
    }

    /// Frees every entry and forgets them (generations start again at 0).
    pub(crate) fn clear(&mut self) {
        self.store.clear();
        self.free = NIL;
        self.len = 0;
    }

    /// Live entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The most entries this slab can ever hold.
    #[inline]
    pub(crate) fn room(&self) -> usize {
        let max = <S::Slot as Slot<T>>::MAX;
        self.store.capacity().unwrap_or(max).min(max)
    }

    #[inline]
    fn slot(&self, index: u32) -> &S::Slot {
        &self.store.entries()[index as usize]
    }

    #[inline]
    fn slot_mut(&mut self, index: u32) -> &mut S::Slot {
        &mut self.store.entries_mut()[index as usize]
    }

    /// Allocates an unlinked entry; `Err(payload)` when the storage is full.
    pub(crate) fn insert(
        &mut self,
        deadline: u64,
        meta: NonZeroU32,
        payload: T,
    ) -> Result<(u32, u32), T> {
        if self.free != NIL {
            let index = self.free;
            self.unlink_free(index);
            let slot = self.slot_mut(index);
            slot.occupy(deadline, meta, payload);
            let generation = slot.generation();
            self.len += 1;
            return Ok((index, generation));
        }
        let index = self.store.entries().len();
        if index >= self.room() {
            return Err(payload);
        }
        self.store
            .push(<S::Slot as Slot<T>>::occupied(deadline, meta, payload));
        self.len += 1;
        Ok((index as u32, 0))
    }

    /// Allocates an unlinked entry at `index`, growing the storage with vacant entries up
    /// to it if needed: the generation, or why not.
    pub(crate) fn insert_at(
        &mut self,
        index: u32,
        deadline: u64,
        meta: NonZeroU32,
        payload: T,
    ) -> Result<u32, AtError<T>> {
        let i = index as usize;
        let len = self.store.entries().len();
        if i >= len {
            if i >= self.room() {
                return Err(AtError::Full(payload));
            }
            for j in len..=i {
                self.push_free(j as u32);
            }
        }
        if self.slot(index).meta() != 0 {
            return Err(AtError::Occupied(payload));
        }
        self.unlink_free(index);
        let slot = self.slot_mut(index);
        slot.occupy(deadline, meta, payload);
        let generation = slot.generation();
        self.len += 1;
        Ok(generation)
    }

    /// Appends a vacant entry at `index` (the storage's length; there is room) to the
    /// free list.
    fn push_free(&mut self, index: u32) {
        self.store.push(<S::Slot as Slot<T>>::vacant(self.free));
        self.link_free(index);
    }

    /// Takes vacant entry `index` out of the free list.
    fn unlink_free(&mut self, index: u32) {
        let (next, prev) = (self.next(index), self.prev(index));
        if prev == NIL {
            self.free = next;
        } else {
            self.set_next(prev, next);
        }
        if next != NIL {
            self.set_prev(next, prev);
        }
    }

    /// Makes vacant entry `index`, whose `next` already names the list's head, the head
    /// of the free list.
    fn link_free(&mut self, index: u32) {
        if self.free != NIL {
            self.set_prev(self.free, index);
        }
        self.free = index;
    }

    /// Frees a live (already unlinked) entry: returns its payload and bumps the generation.
    pub(crate) fn remove(&mut self, index: u32) -> Option<T> {
        let free = self.free;
        let payload = self
            .store
            .entries_mut()
            .get_mut(index as usize)?
            .vacate(free)?;
        self.link_free(index);
        self.len -= 1;
        Some(payload)
    }

    /// The live slot of `handle`.
    #[inline]
    fn live_slot(&self, handle: Handle) -> Option<&S::Slot> {
        self.store
            .entries()
            .get(handle.index as usize)
            .filter(|s| s.meta() != 0 && s.generation() == handle.generation)
    }

    /// The handle of the live entry at `index`, if there is one.
    #[inline]
    pub(crate) fn handle_at(&self, index: u32) -> Option<Handle> {
        match self.store.entries().get(index as usize) {
            Some(s) if s.meta() != 0 => Some(Handle::from_parts(index, s.generation())),
            _ => None,
        }
    }

    /// Whether `handle` names a live entry.
    #[inline]
    pub(crate) fn is_live(&self, handle: Handle) -> bool {
        self.live_slot(handle).is_some()
    }

    /// The deadline and `meta` word of a live entry, in one look.
    #[inline]
    pub(crate) fn live(&self, handle: Handle) -> Option<(u64, u32)> {
        self.live_slot(handle).map(|s| (s.deadline(), s.meta()))
    }

    /// The payload of a live entry.
    pub(crate) fn payload(&self, handle: Handle) -> Option<&T> {
        self.live_slot(handle)?.payload()
    }

    /// The payload of a live entry, mutably.
    pub(crate) fn payload_mut(&mut self, handle: Handle) -> Option<&mut T> {
        self.store
            .entries_mut()
            .get_mut(handle.index as usize)
            .filter(|s| s.generation() == handle.generation)?
            .payload_mut()
    }

    /// The next link of entry `index` (occupied or vacant).
    #[inline]
    pub(crate) fn next(&self, index: u32) -> u32 {
        self.slot(index).next()
    }

    /// The previous link of entry `index` (occupied or vacant).
    #[inline]
    pub(crate) fn prev(&self, index: u32) -> u32 {
        self.slot(index).prev()
    }

    /// Sets the next link of entry `index`.
    #[inline]
    pub(crate) fn set_next(&mut self, index: u32, next: u32) {
        self.slot_mut(index).set_next(next);
    }

    /// Sets the previous link of entry `index`.
    #[inline]
    pub(crate) fn set_prev(&mut self, index: u32, prev: u32) {
        self.slot_mut(index).set_prev(prev);
    }

    /// Sets both links of entry `index`.
    #[inline]
    pub(crate) fn set_links(&mut self, index: u32, prev: u32, next: u32) {
        let slot = self.slot_mut(index);
        slot.set_prev(prev);
        slot.set_next(next);
    }

    /// The generation of entry `index`.
    #[inline]
    pub(crate) fn generation(&self, index: u32) -> u32 {
        self.slot(index).generation()
    }

    /// The `meta` word of entry `index` (0 if vacant).
    #[inline]
    pub(crate) fn meta(&self, index: u32) -> u32 {
        self.slot(index).meta()
    }

    /// Replaces the `meta` word of an occupied entry.
    #[inline]
    pub(crate) fn set_meta(&mut self, index: u32, new: NonZeroU32) {
        self.slot_mut(index).set_meta(new);
    }

    /// Deadline of entry `index` in microseconds.
    #[inline]
    pub(crate) fn deadline(&self, index: u32) -> u64 {
        self.slot(index).deadline()
    }

    /// Sets the deadline of entry `index`.
    #[inline]
    pub(crate) fn set_deadline(&mut self, index: u32, deadline: u64) {
        self.slot_mut(index).set_deadline(deadline);
    }

    /// Live entries in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Handle, u64, &T)> + '_ {
        self.store
            .entries()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let payload = s.payload()?;
                Some((
                    Handle::from_parts(i as u32, s.generation()),
                    s.deadline(),
                    payload,
                ))
            })
    }

    /// Bytes of one entry for this payload type and layout.
    pub(crate) const fn entry_size() -> usize {
        mem::size_of::<S::Slot>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fixed<const N: usize> = Slab<u64, ArrayStorage<u64, N>>;
    const M: NonZeroU32 = NonZeroU32::MIN;

    #[test]
    fn entry_overhead_is_24_bytes_for_payloads_aligned_to_8() {
        assert_eq!(mem::size_of::<Tagged<()>>(), 24);
        assert_eq!(mem::size_of::<Tagged<u16>>(), 24 + 4); // 2 bytes of padding
        assert_eq!(mem::size_of::<Tagged<u32>>(), 24 + 4);
        assert_eq!(mem::size_of::<Tagged<u64>>(), 24 + 8);
        assert_eq!(mem::size_of::<Tagged<(u64, u64)>>(), 24 + 16);
        assert_eq!(mem::size_of::<Handle>(), 8);
        assert_eq!(mem::size_of::<Packed>(), 16);
    }

    type Compact<const N: usize> = Slab<(), CompactArrayStorage<N>>;

    #[test]
    fn packed_links_keep_every_index_and_the_location_apart() {
        let edges = [0, 1, 5, (1 << 29) + 7, (PACKED_INDEX - 1), NIL];
        for loc in 0..16u32 {
            for &next in &edges {
                for &prev in &edges {
                    let mut p = Packed::vacant(NIL);
                    p.set_loc(loc);
                    p.set_next(next);
                    p.set_prev(prev);
                    assert_eq!((p.next(), p.prev(), p.loc()), (next, prev, loc));
                    p.set_loc(15 - loc);
                    assert_eq!((p.next(), p.prev(), p.loc()), (next, prev, 15 - loc));
                }
            }
        }
        let mut p = <Packed as Slot<()>>::occupied(u64::MAX, NonZeroU32::new(9).unwrap(), ());
        assert_eq!(
            (p.deadline(), p.meta(), p.next(), p.prev()),
            (u64::MAX, 9, NIL, NIL)
        );
        assert_eq!(p.payload(), Some(&()));
        p.set_meta(NonZeroU32::new((77 << 4) | 3).unwrap()); // the sequence is dropped
        assert_eq!(p.meta(), 3);
        assert_eq!(p.vacate(4), Some(()));
        assert_eq!((p.meta(), p.next(), p.payload()), (0, 4, None));
        assert_eq!(p.vacate(5), None, "double free is refused");
        p.set_meta(NonZeroU32::new(3).unwrap());
        assert_eq!(p.meta(), 0, "a vacant entry stays vacant");
    }

    #[test]
    fn compact_slab_reuses_slots_at_generation_zero() {
        let mut slab = Compact::<4>::new(CompactArrayStorage::new());
        assert_eq!(slab.insert_at(2, 7, M, ()), Ok(0));
        assert_eq!(slab.insert_at(2, 7, M, ()), Err(AtError::Occupied(())));
        assert_eq!(slab.insert_at(4, 7, M, ()), Err(AtError::Full(())));
        let got: [u32; 3] = core::array::from_fn(|_| slab.insert(1, M, ()).unwrap().0);
        assert_eq!(got, [1, 0, 3]);
        assert_eq!(slab.insert(1, M, ()), Err(()));
        assert_eq!(slab.remove(0), Some(()));
        assert_eq!(slab.remove(0), None);
        assert_eq!(slab.handle_at(0), None);
        assert_eq!(slab.insert(5, M, ()), Ok((0, 0)));
        assert_eq!(slab.deadline(0), 5);
        assert_eq!(slab.handle_at(0), Some(Handle::from_parts(0, 0)));
        assert!(!slab.is_live(Handle::from_parts(0, 1)));
        assert_eq!(slab.len(), 4);
        assert_eq!(slab.iter().count(), 4);
    }

    #[test]
    fn a_compact_slab_indexes_at_most_2_pow_30_minus_1_entries() {
        assert_eq!(<Packed as Slot<()>>::MAX, (1 << 30) - 1);
        assert_eq!(<Tagged<()> as Slot<()>>::MAX, u32::MAX as usize);
        assert_eq!(Compact::<3>::new(CompactArrayStorage::new()).room(), 3);
        // (the largest index, 2^30 - 2, survives a link; see the links test above)
        #[cfg(feature = "alloc")]
        {
            let slab: Slab<(), CompactVecStorage> = Slab::new(CompactVecStorage::new());
            assert_eq!(slab.room(), (1 << 30) - 1);
        }
    }

    #[test]
    fn deadline_halves_round_trip() {
        for d in [0, 1, u32::MAX as u64, 1 << 32, u64::MAX - 1, u64::MAX] {
            let mut slab = Fixed::<1>::new(ArrayStorage::new());
            let (i, _) = slab.insert(d, M, 7).unwrap();
            assert_eq!(slab.deadline(i), d);
        }
    }

    #[test]
    fn full_storage_hands_the_payload_back() {
        let mut slab = Fixed::<2>::new(ArrayStorage::new());
        slab.insert(1, M, 10).unwrap();
        slab.insert(2, M, 20).unwrap();
        assert_eq!(slab.insert(3, M, 30), Err(30));
        assert_eq!(slab.len(), 2);
    }

    #[test]
    fn freed_slots_are_reused_with_a_new_generation() {
        let mut slab = Fixed::<2>::new(ArrayStorage::new());
        let (i, g) = slab.insert(1, M, 10).unwrap();
        let old = Handle::from_parts(i, g);
        assert!(slab.is_live(old));
        assert_eq!(slab.remove(i), Some(10));
        assert_eq!(slab.remove(i), None, "double free is refused");
        assert!(!slab.is_live(old));
        let (j, h) = slab.insert(2, M, 20).unwrap();
        assert_eq!((j, h), (i, g + 1));
        assert_eq!(slab.payload(old), None);
        assert_eq!(slab.payload(Handle::from_parts(j, h)), Some(&20));
        assert_eq!(slab.payload(Handle::from_parts(99, 0)), None);
    }

    #[test]
    fn insert_at_takes_the_entry_it_names_and_keeps_the_free_list_whole() {
        let mut slab = Fixed::<8>::new(ArrayStorage::new());
        // index 5 of an empty slab: 0..5 become vacant (on the free list), 5 is taken
        assert_eq!(slab.insert_at(5, 1, M, 50), Ok(0));
        assert_eq!(slab.insert_at(5, 1, M, 51), Err(AtError::Occupied(51)));
        assert_eq!(slab.insert_at(8, 1, M, 80), Err(AtError::Full(80)));
        // a vacant entry in the middle of the free list
        assert_eq!(slab.insert_at(2, 1, M, 20), Ok(0));
        assert_eq!(slab.handle_at(2), Some(Handle::from_parts(2, 0)));
        assert_eq!(slab.handle_at(3), None);
        assert_eq!(slab.handle_at(9), None);
        // `insert` hands out the other vacant entries (last freed first), then new ones,
        // never 2 or 5
        let got: [u32; 6] = core::array::from_fn(|n| slab.insert(1, M, 100 + n as u64).unwrap().0);
        assert_eq!(got, [4, 3, 1, 0, 6, 7]);
        assert_eq!(slab.insert(1, M, 9), Err(9));
        assert_eq!(slab.len(), 8);
        // freed entries go back on the list and can be named again, with a new generation
        assert_eq!(slab.remove(2), Some(20));
        assert_eq!(slab.remove(6), Some(104));
        assert_eq!(slab.insert_at(2, 1, M, 21), Ok(1));
        assert_eq!(slab.insert(1, M, 60).map(|(i, _)| i), Ok(6));
        assert_eq!(slab.insert(1, M, 61), Err(61));
        assert_eq!(slab.payload(Handle::from_parts(2, 1)), Some(&21));
    }

    #[test]
    fn handle_round_trips_through_postcard() {
        let h = Handle::from_parts(3, 0xdead_beef);
        let mut buf = [0u8; 16];
        let bytes = postcard::to_slice(&h, &mut buf).unwrap();
        let back: Handle = postcard::from_bytes(bytes).unwrap();
        assert_eq!(back, h);
    }
}
