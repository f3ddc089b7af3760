//! Storage flavours for the engine's state: growable (`alloc`) or fixed-capacity
//! (const generics, no allocation).
//!
//! The engine keeps its state in a handful of container shapes: sequences ([`Seq`]),
//! hash tables ([`Table`]), ordered maps ([`Sorted`]) and FIFO queues ([`Queue`]).
//! Each shape is a trait with one implementation per flavour:
//!
//! | shape | growable (feature `alloc`) | fixed |
//! |---|---|---|
//! | [`Seq`] | `alloc::vec::Vec` | `heapless::Vec<T, N>` |
//! | [`Table`] | `hashbrown::HashMap` with the fixed hasher | [`FlatMap`] |
//! | [`Sorted`] | `alloc::collections::BTreeMap` | [`SortedSeq`] |
//! | [`Queue`] | `alloc::collections::VecDeque` | `heapless::Deque<T, N>` |
//! | [`KeyStore`] | `ChunkedKeys` (keys of 32 slots per buffer) | [`InlineKeys`] (`heapless::Vec<u8, N>` in the key's state) |
//! | [`ByteBuf`] | `Vec<u8>` | `heapless::Vec<u8, N>` |
//!
//! Every operation that adds an element is fallible and hands the element back when a
//! fixed container is full (`Result<_, T>`, heapless' convention): nothing is dropped
//! silently and nothing panics. A growable container only refuses when its length
//! would pass `u32::MAX` elements where noted.
//!
//! A [`Storage`] names, for each role the engine has (per trigger, per tracked key, per
//! held or buffered event, per remembered event id, per pending firing), which
//! container of each shape to use: [`Growable`] picks the `alloc` ones, [`Fixed`] the
//! fixed ones with its const-generic capacities.

mod fixed;
mod flat;
mod sorted;

use core::hash::Hash;
use core::ops::{Deref, DerefMut};

pub use fixed::{Fixed, InlineKeys};
pub use flat::FlatMap;
pub use sorted::SortedSeq;

/// A vector: contiguous elements, pushed and popped at the end.
pub trait Seq<T>: Default + Deref<Target = [T]> + DerefMut {
    /// Appends `value`, or hands it back when the sequence is full.
    fn try_push(&mut self, value: T) -> Result<(), T>;
    /// Removes and returns the last element.
    fn pop(&mut self) -> Option<T>;
    /// Inserts `value` at `index` (at most `len`), or hands it back when full or when
    /// `index` is out of range.
    fn try_insert(&mut self, index: usize, value: T) -> Result<(), T>;
    /// Removes and returns the element at `index`, shifting the later ones down;
    /// `None` when `index` is out of range.
    fn remove_at(&mut self, index: usize) -> Option<T>;
    /// Keeps the first `len` elements.
    fn truncate(&mut self, len: usize);
    /// Removes every element.
    fn clear(&mut self);
    /// How many elements it can hold at most (`None`: it grows).
    fn max_len(&self) -> Option<usize>;
    /// Makes room for exactly `additional` more elements where the sequence grows, so
    /// that pushing them allocates no more than that (a fixed sequence has all its room
    /// already: nothing to do).
    fn reserve_exact(&mut self, additional: usize) {
        let _ = additional;
    }
    /// Whether `additional` more elements fit.
    fn has_room(&self, additional: usize) -> bool {
        self.max_len()
            .is_none_or(|max| self.len().saturating_add(additional) <= max)
    }
    /// Appends every element of `values`, or nothing (false) when they do not all fit.
    fn try_extend_from_slice(&mut self, values: &[T]) -> bool
    where
        T: Clone,
    {
        if !self.has_room(values.len()) {
            return false;
        }
        for v in values {
            if self.try_push(v.clone()).is_err() {
                return false;
            }
        }
        true
    }
    /// Keeps only the elements for which `keep` is true, in order.
    fn retain_where(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut i = 0;
        while i < self.len() {
            if keep(&self[i]) {
                i += 1;
            } else {
                self.remove_at(i);
            }
        }
    }
}

/// A hash table from `K` to `V`.
pub trait Table<K: Eq + Hash, V>: Default {
    /// Iterator over the entries, in no particular order.
    type Iter<'a>: Iterator<Item = (&'a K, &'a V)>
    where
        Self: 'a,
        K: 'a,
        V: 'a;
    /// The value of `key`.
    fn get(&self, key: &K) -> Option<&V>;
    /// The value of `key`, mutably.
    fn get_mut(&mut self, key: &K) -> Option<&mut V>;
    /// Whether `key` is present.
    fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }
    /// Inserts or replaces; returns the replaced value, or hands the pair back when
    /// `key` is new and the table is full.
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)>;
    /// Removes `key`, returning its value.
    fn remove(&mut self, key: &K) -> Option<V>;
    /// Number of entries.
    fn len(&self) -> usize;
    /// Whether there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Removes every entry.
    fn clear(&mut self);
    /// The entries, in no particular order.
    fn iter(&self) -> Self::Iter<'_>;
    /// How many entries it can hold at most (`None`: it grows).
    fn max_len(&self) -> Option<usize>;
}

/// An ordered map from `K` to `V` (a set when `V` is `()`).
pub trait Sorted<K: Ord, V>: Default {
    /// Iterator over the entries in key order.
    type Iter<'a>: Iterator<Item = (&'a K, &'a V)>
    where
        Self: 'a,
        K: 'a,
        V: 'a;
    /// Inserts or replaces; returns the replaced value, or hands the pair back when
    /// `key` is new and the map is full.
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)>;
    /// Removes `key`, returning its value.
    fn remove(&mut self, key: &K) -> Option<V>;
    /// The value of `key`.
    fn get(&self, key: &K) -> Option<&V>;
    /// The entry with the smallest key.
    fn first(&self) -> Option<(&K, &V)>;
    /// The entry with the smallest key at or after `from`.
    fn first_from(&self, from: &K) -> Option<(&K, &V)> {
        self.iter_from(from).next()
    }
    /// Number of entries.
    fn len(&self) -> usize;
    /// Whether there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Removes every entry.
    fn clear(&mut self);
    /// The entries in key order.
    fn iter(&self) -> Self::Iter<'_>;
    /// The entries with keys at or after `from`, in key order.
    fn iter_from(&self, from: &K) -> Self::Iter<'_>;
    /// How many entries it can hold at most (`None`: it grows).
    fn max_len(&self) -> Option<usize>;
}

/// A first-in first-out queue.
pub trait Queue<T>: Default {
    /// Iterator from the front.
    type Iter<'a>: Iterator<Item = &'a T>
    where
        Self: 'a,
        T: 'a;
    /// Appends at the back, or hands `value` back when full.
    fn try_push_back(&mut self, value: T) -> Result<(), T>;
    /// Prepends at the front, or hands `value` back when full.
    fn try_push_front(&mut self, value: T) -> Result<(), T>;
    /// Removes the front element.
    fn pop_front(&mut self) -> Option<T>;
    /// The front element.
    fn front(&self) -> Option<&T>;
    /// The element `index` places from the front.
    fn get(&self, index: usize) -> Option<&T>;
    /// Number of elements.
    fn len(&self) -> usize;
    /// Whether it is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Removes every element.
    fn clear(&mut self);
    /// Keeps only the elements for which `keep` is true, in order; `keep` sees every
    /// element once, front to back.
    fn retain(&mut self, keep: impl FnMut(&T) -> bool);
    /// The elements from the front.
    fn iter(&self) -> Self::Iter<'_>;
    /// How many elements it can hold at most (`None`: it grows).
    fn max_len(&self) -> Option<usize>;
}

impl<T, const N: usize> Seq<T> for heapless::Vec<T, N> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        self.push(value)
    }
    fn pop(&mut self) -> Option<T> {
        heapless::Vec::pop(self)
    }
    fn try_insert(&mut self, index: usize, value: T) -> Result<(), T> {
        if index > self.len() {
            return Err(value);
        }
        self.insert(index, value)
    }
    fn remove_at(&mut self, index: usize) -> Option<T> {
        (index < self.len()).then(|| self.remove(index))
    }
    fn truncate(&mut self, len: usize) {
        heapless::Vec::truncate(self, len);
    }
    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }
    fn max_len(&self) -> Option<usize> {
        Some(N)
    }
    fn try_extend_from_slice(&mut self, values: &[T]) -> bool
    where
        T: Clone,
    {
        self.extend_from_slice(values).is_ok()
    }
    fn retain_where(&mut self, keep: impl FnMut(&T) -> bool) {
        self.retain(keep);
    }
}

impl<T, const N: usize> Queue<T> for heapless::Deque<T, N> {
    type Iter<'a>
        = heapless::deque::Iter<'a, T>
    where
        T: 'a;
    fn try_push_back(&mut self, value: T) -> Result<(), T> {
        self.push_back(value)
    }
    fn try_push_front(&mut self, value: T) -> Result<(), T> {
        self.push_front(value)
    }
    fn pop_front(&mut self) -> Option<T> {
        heapless::Deque::pop_front(self)
    }
    fn front(&self) -> Option<&T> {
        heapless::Deque::front(self)
    }
    fn get(&self, index: usize) -> Option<&T> {
        heapless::Deque::get(self, index)
    }
    fn len(&self) -> usize {
        heapless::Deque::len(self)
    }
    fn clear(&mut self) {
        heapless::Deque::clear(self);
    }
    fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        heapless::Deque::retain(self, keep);
    }
    fn iter(&self) -> Self::Iter<'_> {
        heapless::Deque::iter(self)
    }
    fn max_len(&self) -> Option<usize> {
        Some(N)
    }
}

#[cfg(feature = "alloc")]
mod growable;
#[cfg(feature = "alloc")]
pub(crate) use growable::push_grown;
#[cfg(feature = "alloc")]
pub use growable::{ChunkedKeys, Growable};

/// Where a key table keeps the encoded keys of its slots.
///
/// A key's state holds a [`Ref`](KeyStore::Ref); the store turns it back into the
/// key's bytes. The fixed flavour keeps the bytes in the reference itself
/// (`heapless::Vec<u8, KEY_BYTES>`, [`InlineKeys`]); the growable one packs the keys
/// of every 32 neighbouring slots into one exactly sized buffer and refers to a key by
/// its offset there (`ChunkedKeys`), so a key costs its bytes, a length byte or two and
/// a 4-byte offset, instead of a 16-byte pointer and an allocation of its own.
///
/// Freeing a key of a packed store moves the keys stored after it in the same buffer:
/// the caller passes the reference of every other live slot in
/// [`neighbours`](KeyStore::neighbours) of the freed one through
/// [`shift`](KeyStore::shift) with what [`free`](KeyStore::free) returned.
pub trait KeyStore: Default {
    /// What a key's state holds to find the key's bytes.
    type Ref: Clone + core::fmt::Debug;
    /// What [`free`](Self::free) tells the freed slot's neighbours.
    type Freed: Copy;
    /// A reference to the empty key that stores nothing (needs no [`free`](Self::free)).
    fn empty() -> Self::Ref;
    /// Stores `bytes` as the key of `slot`, which holds none; `None` (nothing stored)
    /// when they are longer than the flavour allows.
    fn put(&mut self, slot: u32, bytes: &[u8]) -> Option<Self::Ref>;
    /// The bytes `r` names, as stored for `slot` (empty for a reference this store
    /// did not make for that slot).
    fn get<'a>(&'a self, slot: u32, r: &'a Self::Ref) -> &'a [u8];
    /// Frees the key `r` of `slot`; what its neighbours' references must be shifted
    /// by, if anything moved.
    fn free(&mut self, slot: u32, r: &Self::Ref) -> Option<Self::Freed>;
    /// The slots whose references a [`free`](Self::free) of `slot` may have moved
    /// (`slot` among them).
    fn neighbours(slot: u32) -> core::ops::Range<u32>;
    /// Updates the reference of a neighbour of a freed key.
    fn shift(r: &mut Self::Ref, freed: Self::Freed);
    /// Forgets every key.
    fn clear(&mut self);
}

/// An owned byte buffer filled by appending, up to a bound: one packed event
/// ([`PackedEvent`](crate::event::PackedEvent)).
pub trait ByteBuf: Deref<Target = [u8]> + Clone + core::fmt::Debug {
    /// An empty buffer about to receive `len` bytes (a growable one reserves exactly
    /// that much, so packing allocates once).
    fn with_room(len: usize) -> Self;
    /// Appends `bytes`; false, with nothing appended, when they do not fit.
    fn try_extend(&mut self, bytes: &[u8]) -> bool;
    /// The most bytes it holds (`None`: any number).
    fn max_len() -> Option<usize>;
}

/// Which containers the engine keeps its state in, by role.
///
/// Each role has its own capacity in a fixed flavour: *trigger* containers hold one
/// element per loaded trigger node, *key* containers one per tracked (trigger, key),
/// *event* containers one per held, waiting or buffered event, *seen* containers one
/// per remembered event id (de-duplication), *firing* containers one per firing not
/// yet polled. Held, waiting and buffered events are stored packed, each in one
/// [`EventBytes`](Storage::EventBytes) buffer of at most
/// [`EVENT_BYTES`](Storage::EVENT_BYTES) bytes.
pub trait Storage: Sized + 'static {
    /// The most trigger nodes it holds (`usize::MAX`: it grows).
    const TRIGGERS: usize;
    /// The most bytes one event trigger node takes compiled and packed
    /// (`usize::MAX`: any).
    const TRIGGER_BYTES: usize;
    /// The most tracked keys it holds (`usize::MAX`: it grows).
    const KEYS: usize;
    /// The longest encoded key it holds (`usize::MAX`: any).
    const KEY_BYTES: usize;
    /// The most held, waiting or buffered events of each kind it holds
    /// (`usize::MAX`: it grows).
    const EVENTS: usize;
    /// The most bytes one waiting or buffered event takes packed (`usize::MAX`: any;
    /// see [`PackedEvent::encoded_len`](crate::event::PackedEvent::encoded_len)).
    const EVENT_BYTES: usize;
    /// The most event ids it remembers for de-duplication (`usize::MAX`: it grows).
    const SEEN: usize;
    /// The most firings it keeps until they are polled (`usize::MAX`: it grows).
    const FIRINGS: usize;
    /// The most bytes one firing takes packed, child firings included (`usize::MAX`:
    /// any).
    const FIRING_BYTES: usize;
    /// A sequence with one element per trigger node.
    type TriggerSeq<T>: Seq<T>;
    /// One event trigger node, compiled and packed.
    type TriggerBytes: ByteBuf;
    /// How event names are routed to the loaded event trigger nodes: an index by
    /// name ([`Router`](crate::matcher::Router), growable) or a scan of the nodes
    /// ([`ScanRouter`](crate::matcher::ScanRouter), fixed).
    type Router: crate::matcher::RouteIndex<Self::TriggerBytes>;
    /// The last routed event name, kept to reuse its routes while names repeat (a
    /// name that does not fit is routed every time).
    type RouteName: Seq<u8>;
    /// A table with one entry per trigger node.
    type TriggerTable<K: Eq + Hash, V>: Table<K, V>;
    /// An ordered map with one entry per trigger node.
    type TriggerSorted<K: Ord, V>: Sorted<K, V>;
    /// A sequence with one element per tracked key.
    type KeySeq<T>: Seq<T>;
    /// A table with one entry per tracked key.
    type KeyTable<K: Eq + Hash, V>: Table<K, V>;
    /// An ordered map with one entry per tracked key.
    type KeySorted<K: Ord, V>: Sorted<K, V>;
    /// The hash index of tracked keys: pairs of `u32` entries, at most one pair per key.
    type KeyIndex: Seq<[u32; 2]>;
    /// The timing wheel's entries, one per tracked key, at the key's slot (compact:
    /// the engine keeps no handles and orders due keys itself).
    type KeyWheel: crate::wheel::Storage<()> + Default;
    /// Where the encoded values of the tracked keys are kept.
    type KeyStore: KeyStore;
    /// A key being encoded from an event's values (at most `KEY_BYTES` bytes in a
    /// fixed flavour: a longer key does not fit and is refused).
    type KeyScratch: Seq<u8>;
    /// A sequence with one element per held, waiting or buffered event.
    type EventSeq<T>: Seq<T>;
    /// A table with one entry per held, waiting or buffered event.
    type EventTable<K: Eq + Hash, V>: Table<K, V>;
    /// An ordered map with one entry per held, waiting or buffered event.
    type EventSorted<K: Ord, V>: Sorted<K, V>;
    /// One waiting or buffered event, packed.
    type EventBytes: ByteBuf;
    /// The lanes of the index of remembered event ids, four per element: at most
    /// one element per id.
    type SeenLanes: Seq<[u64; 4]>;
    /// A queue with one element per remembered event id.
    type SeenQueue<T>: Queue<T>;
    /// A queue with one element per firing not yet polled.
    type FiringQueue<T>: Queue<T>;
    /// One firing, packed (labels and child firings included).
    type FiringBytes: ByteBuf;
}
