//! Entry storage: a slab of generation-tagged entries behind a [`Storage`] flavour.
//!
//! Every entry carries its deadline, the two links of the circular list it sits in, its
//! generation, and a `meta` word (insertion sequence and which list it is on); a vacant
//! entry keeps its links (`next` and `prev` thread the doubly linked free list, so that
//! [`Slab::insert_at`] can take any vacant entry out of it) and its generation, so
//! reading links never has to handle a missing entry. `meta` is never zero, which lets
//! the compiler use its zero as the vacant tag: the entry costs 24 bytes plus the payload. A [`Handle`]
//! names an entry by index *and* generation: the generation is bumped every time an entry
//! is freed, so a handle outliving its entry no longer matches and is refused.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::mem;
use core::num::NonZeroU32;
use serde::{Deserialize, Serialize};

/// The "no entry" link value.
pub(crate) const NIL: u32 = u32::MAX;

/// The largest number of entries a wheel can hold (indices are `u32`, one value is [`NIL`]).
pub(crate) const MAX_ENTRIES: usize = NIL as usize;

/// A generation-tagged reference to one entry of a [`Wheel`](super::Wheel).
///
/// Handles are small (8 bytes), `Copy`, and stay safe to use after their entry is gone:
/// once the entry fired, was cancelled or its slot was reused, every operation given the
/// handle reports it as stale and touches nothing. (After 2³² reuses of the same slot a
/// generation repeats; a handle kept that long could alias a newer entry.)
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

/// Links and bookkeeping of one entry: five `u32`s, 4-byte aligned.
///
/// The deadline is split in two halves so that the whole entry keeps 4-byte alignment
/// ahead of the payload: with `meta` it makes a fixed 24-byte overhead.
#[derive(Clone, Copy, Debug)]
pub struct Links {
    deadline_lo: u32,
    deadline_hi: u32,
    pub(crate) next: u32,
    pub(crate) prev: u32,
    pub(crate) generation: u32,
}

impl Links {
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        (u64::from(self.deadline_hi) << 32) | u64::from(self.deadline_lo)
    }

    #[inline]
    pub(crate) fn set_deadline(&mut self, deadline: u64) {
        self.deadline_lo = deadline as u32;
        self.deadline_hi = (deadline >> 32) as u32;
    }
}

/// One slot of the slab.
#[derive(Clone, Debug)]
pub enum Entry<T> {
    /// A live entry on one of the wheel's lists.
    Occupied {
        /// Deadline, list links, generation.
        links: Links,
        /// Insertion sequence and location (see `super::Wheel`); never zero.
        meta: NonZeroU32,
        /// The caller's value.
        payload: T,
    },
    /// A free slot; `links.next` and `links.prev` thread the free list.
    Vacant {
        /// Free-list link and the generation the next occupant gets.
        links: Links,
    },
}

impl<T> Entry<T> {
    #[inline]
    fn links(&self) -> &Links {
        match self {
            Entry::Occupied { links, .. } | Entry::Vacant { links } => links,
        }
    }

    #[inline]
    fn links_mut(&mut self) -> &mut Links {
        match self {
            Entry::Occupied { links, .. } | Entry::Vacant { links } => links,
        }
    }
}

pub(crate) mod sealed {
    use super::{Entry, Links, NonZeroU32};

    /// The storage operations the slab needs; sealed so the layout stays private.
    pub trait Store<T> {
        /// All slots in use so far (occupied or vacant).
        fn entries(&self) -> &[Entry<T>];
        /// All slots in use so far, mutably.
        fn entries_mut(&mut self) -> &mut [Entry<T>];
        /// Appends an occupied slot, or hands the payload back when the storage is full.
        fn push(&mut self, links: Links, meta: NonZeroU32, payload: T) -> Result<(), T>;
        /// Appends a vacant slot; false when the storage is full.
        fn push_vacant(&mut self, links: Links) -> bool;
        /// Removes every slot.
        fn clear(&mut self);
        /// The fixed capacity, `None` when growable.
        fn capacity(&self) -> Option<usize>;
    }
}

/// Where a wheel keeps its entries: [`ArrayStorage`] (fixed) or [`VecStorage`] (growable).
///
/// The trait is sealed; its methods are private to this crate.
pub trait Storage<T>: sealed::Store<T> {}

/// Fixed-capacity storage for `N` entries, inline, without allocation.
///
/// A wheel on this storage never allocates; once `N` entries are live, inserting hands
/// the payload back in [`InsertError::Full`](super::InsertError::Full).
#[derive(Clone, Debug)]
pub struct ArrayStorage<T, const N: usize> {
    entries: heapless::Vec<Entry<T>, N>,
}

impl<T, const N: usize> ArrayStorage<T, N> {
    /// Empty storage for `N` entries.
    pub const fn new() -> Self {
        ArrayStorage {
            entries: heapless::Vec::new(),
        }
    }
}

impl<T, const N: usize> Default for ArrayStorage<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> sealed::Store<T> for ArrayStorage<T, N> {
    fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [Entry<T>] {
        &mut self.entries
    }
    fn push(&mut self, links: Links, meta: NonZeroU32, payload: T) -> Result<(), T> {
        if self.entries.is_full() {
            return Err(payload);
        }
        // Cannot fail: there is room.
        let _ = self.entries.push(Entry::Occupied {
            links,
            meta,
            payload,
        });
        Ok(())
    }
    fn push_vacant(&mut self, links: Links) -> bool {
        self.entries.push(Entry::Vacant { links }).is_ok()
    }
    fn clear(&mut self) {
        self.entries.clear();
    }
    fn capacity(&self) -> Option<usize> {
        Some(N.min(MAX_ENTRIES))
    }
}

impl<T, const N: usize> Storage<T> for ArrayStorage<T, N> {}

/// Growable storage on a `Vec` (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default)]
pub struct VecStorage<T> {
    entries: Vec<Entry<T>>,
}

#[cfg(feature = "alloc")]
impl<T> VecStorage<T> {
    /// Empty storage that allocates on first use.
    pub const fn new() -> Self {
        VecStorage {
            entries: Vec::new(),
        }
    }

    /// Empty storage with room for `capacity` entries before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        VecStorage {
            entries: Vec::with_capacity(capacity.min(MAX_ENTRIES)),
        }
    }
}

#[cfg(feature = "alloc")]
impl<T> sealed::Store<T> for VecStorage<T> {
    fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [Entry<T>] {
        &mut self.entries
    }
    fn push(&mut self, links: Links, meta: NonZeroU32, payload: T) -> Result<(), T> {
        if self.entries.len() >= MAX_ENTRIES {
            return Err(payload);
        }
        self.entries.push(Entry::Occupied {
            links,
            meta,
            payload,
        });
        Ok(())
    }
    fn push_vacant(&mut self, links: Links) -> bool {
        if self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        self.entries.push(Entry::Vacant { links });
        true
    }
    fn clear(&mut self) {
        self.entries.clear();
    }
    fn capacity(&self) -> Option<usize> {
        None
    }
}

#[cfg(feature = "alloc")]
impl<T> Storage<T> for VecStorage<T> {}

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

    /// Allocates an unlinked entry; `Err(payload)` when the storage is full.
    pub(crate) fn insert(
        &mut self,
        deadline: u64,
        meta: NonZeroU32,
        payload: T,
    ) -> Result<(u32, u32), T> {
        let mut links = Links {
            deadline_lo: 0,
            deadline_hi: 0,
            next: NIL,
            prev: NIL,
            generation: 0,
        };
        links.set_deadline(deadline);
        if self.free != NIL {
            let index = self.free;
            links.generation = self.unlink_free(index).generation;
            self.store.entries_mut()[index as usize] = Entry::Occupied {
                links,
                meta,
                payload,
            };
            self.len += 1;
            return Ok((index, links.generation));
        }
        let index = self.store.entries().len();
        if index >= MAX_ENTRIES {
            return Err(payload);
        }
        self.store.push(links, meta, payload)?;
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
            let room = self
                .store
                .capacity()
                .unwrap_or(MAX_ENTRIES)
                .min(MAX_ENTRIES);
            if i >= room {
                return Err(AtError::Full(payload));
            }
            // (cannot fail: there is room up to `i`)
            for j in len..=i {
                self.push_free(j as u32);
            }
        }
        if let Entry::Occupied { .. } = self.store.entries()[i] {
            return Err(AtError::Occupied(payload));
        }
        let links = self.unlink_free(index);
        let mut new = Links {
            next: NIL,
            prev: NIL,
            ..links
        };
        new.set_deadline(deadline);
        self.store.entries_mut()[i] = Entry::Occupied {
            links: new,
            meta,
            payload,
        };
        self.len += 1;
        Ok(links.generation)
    }

    /// Appends a vacant entry at `index` (the storage's length) to the free list.
    fn push_free(&mut self, index: u32) {
        let links = Links {
            deadline_lo: 0,
            deadline_hi: 0,
            next: self.free,
            prev: NIL,
            generation: 0,
        };
        if self.store.push_vacant(links) {
            self.link_free(index);
        }
    }

    /// Takes vacant entry `index` out of the free list; its links.
    fn unlink_free(&mut self, index: u32) -> Links {
        let links = *self.links(index);
        if links.prev == NIL {
            self.free = links.next;
        } else {
            self.links_mut(links.prev).next = links.next;
        }
        if links.next != NIL {
            self.links_mut(links.next).prev = links.prev;
        }
        links
    }

    /// Makes vacant entry `index`, whose `next` already names the list's head, the head
    /// of the free list.
    fn link_free(&mut self, index: u32) {
        if self.free != NIL {
            self.links_mut(self.free).prev = index;
        }
        self.free = index;
    }

    /// Frees a live (already unlinked) entry: returns its payload and bumps the generation.
    pub(crate) fn remove(&mut self, index: u32) -> Option<T> {
        let free = self.free;
        let slot = self.store.entries_mut().get_mut(index as usize)?;
        let mut links = *slot.links();
        links.generation = links.generation.wrapping_add(1);
        links.next = free;
        links.prev = NIL;
        match mem::replace(slot, Entry::Vacant { links }) {
            Entry::Occupied { payload, .. } => {
                self.link_free(index);
                self.len -= 1;
                Some(payload)
            }
            vacant => {
                *slot = vacant;
                None
            }
        }
    }

    /// The handle of the live entry at `index`, if there is one.
    #[inline]
    pub(crate) fn handle_at(&self, index: u32) -> Option<Handle> {
        match self.store.entries().get(index as usize) {
            Some(Entry::Occupied { links, .. }) => {
                Some(Handle::from_parts(index, links.generation))
            }
            _ => None,
        }
    }

    /// Whether `handle` names a live entry.
    #[inline]
    pub(crate) fn is_live(&self, handle: Handle) -> bool {
        matches!(
            self.store.entries().get(handle.index as usize),
            Some(Entry::Occupied { links, .. }) if links.generation == handle.generation
        )
    }

    /// The deadline and `meta` word of a live entry, in one look.
    #[inline]
    pub(crate) fn live(&self, handle: Handle) -> Option<(u64, u32)> {
        match self.store.entries().get(handle.index as usize) {
            Some(Entry::Occupied { links, meta, .. }) if links.generation == handle.generation => {
                Some((links.deadline(), meta.get()))
            }
            _ => None,
        }
    }

    /// The payload of a live entry.
    pub(crate) fn payload(&self, handle: Handle) -> Option<&T> {
        match self.store.entries().get(handle.index as usize) {
            Some(Entry::Occupied { links, payload, .. })
                if links.generation == handle.generation =>
            {
                Some(payload)
            }
            _ => None,
        }
    }

    /// The payload of a live entry, mutably.
    pub(crate) fn payload_mut(&mut self, handle: Handle) -> Option<&mut T> {
        match self.store.entries_mut().get_mut(handle.index as usize) {
            Some(Entry::Occupied { links, payload, .. })
                if links.generation == handle.generation =>
            {
                Some(payload)
            }
            _ => None,
        }
    }

    /// Links of entry `index` (occupied or vacant).
    #[inline]
    pub(crate) fn links(&self, index: u32) -> &Links {
        self.store.entries()[index as usize].links()
    }

    /// Links of entry `index`, mutably.
    #[inline]
    pub(crate) fn links_mut(&mut self, index: u32) -> &mut Links {
        self.store.entries_mut()[index as usize].links_mut()
    }

    /// The `meta` word of entry `index` (0 if vacant).
    #[inline]
    pub(crate) fn meta(&self, index: u32) -> u32 {
        match &self.store.entries()[index as usize] {
            Entry::Occupied { meta, .. } => meta.get(),
            Entry::Vacant { .. } => 0,
        }
    }

    /// Replaces the `meta` word of an occupied entry.
    #[inline]
    pub(crate) fn set_meta(&mut self, index: u32, new: NonZeroU32) {
        if let Entry::Occupied { meta, .. } = &mut self.store.entries_mut()[index as usize] {
            *meta = new;
        }
    }

    /// Deadline of entry `index` in microseconds.
    #[inline]
    pub(crate) fn deadline(&self, index: u32) -> u64 {
        self.links(index).deadline()
    }

    /// Live entries in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Handle, u64, &T)> + '_ {
        self.store
            .entries()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Entry::Occupied { links, payload, .. } => Some((
                    Handle::from_parts(i as u32, links.generation),
                    links.deadline(),
                    payload,
                )),
                Entry::Vacant { .. } => None,
            })
    }

    /// Bytes of one entry for this payload type.
    pub(crate) const fn entry_size() -> usize {
        mem::size_of::<Entry<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fixed<const N: usize> = Slab<u64, ArrayStorage<u64, N>>;
    const M: NonZeroU32 = NonZeroU32::MIN;

    #[test]
    fn entry_overhead_is_24_bytes_for_payloads_aligned_to_8() {
        assert_eq!(mem::size_of::<Entry<()>>(), 24);
        assert_eq!(mem::size_of::<Entry<u16>>(), 24 + 4); // 2 bytes of padding
        assert_eq!(mem::size_of::<Entry<u32>>(), 24 + 4);
        assert_eq!(mem::size_of::<Entry<u64>>(), 24 + 8);
        assert_eq!(mem::size_of::<Entry<(u64, u64)>>(), 24 + 16);
        assert_eq!(mem::size_of::<Handle>(), 8);
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
