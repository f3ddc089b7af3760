//! The growable flavour: `alloc` containers behind the [`super`] traits.

use alloc::boxed::Box;
use alloc::collections::{btree_map, vec_deque, BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::hash::Hash;
use core::num::NonZeroU32;
use core::ops::Bound;

use super::{Queue, Seq, Sorted, Table};
use crate::hash::FxBuildHasher;

/// Makes room for `additional` more elements, growing a vector without it by half its
/// length (at least 4, at least `additional`) rather than doubling it: the room left
/// unused after a growth is at most a third, not a half, which matters for the per-key
/// slabs at millions of keys. Still amortized O(1).
fn grow_by_half<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact((v.len() / 2).max(4).max(additional));
    }
}

/// Pushes `value`, growing a full vector by half (see [`grow_by_half`]).
pub(crate) fn push_grown<T>(v: &mut Vec<T>, value: T) {
    grow_by_half(v, 1);
    v.push(value);
}

impl<T> Seq<T> for Vec<T> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        push_grown(self, value);
        Ok(())
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn try_insert(&mut self, index: usize, value: T) -> Result<(), T> {
        if index > self.len() {
            return Err(value);
        }
        grow_by_half(self, 1);
        self.insert(index, value);
        Ok(())
    }
    fn remove_at(&mut self, index: usize) -> Option<T> {
        (index < self.len()).then(|| self.remove(index))
    }
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len);
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
    fn max_len(&self) -> Option<usize> {
        None
    }
    fn reserve_exact(&mut self, additional: usize) {
        Vec::reserve_exact(self, additional);
    }
    fn try_extend_from_slice(&mut self, values: &[T]) -> bool
    where
        T: Clone,
    {
        grow_by_half(self, values.len());
        self.extend_from_slice(values);
        true
    }
    fn retain_where(&mut self, keep: impl FnMut(&T) -> bool) {
        self.retain(keep);
    }
}

impl<K: Eq + Hash, V> Table<K, V> for hashbrown::HashMap<K, V, FxBuildHasher> {
    type Iter<'a>
        = hashbrown::hash_map::Iter<'a, K, V>
    where
        K: 'a,
        V: 'a;
    fn get(&self, key: &K) -> Option<&V> {
        hashbrown::HashMap::get(self, key)
    }
    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        hashbrown::HashMap::get_mut(self, key)
    }
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)> {
        Ok(self.insert(key, value))
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        hashbrown::HashMap::remove(self, key)
    }
    fn len(&self) -> usize {
        hashbrown::HashMap::len(self)
    }
    fn clear(&mut self) {
        hashbrown::HashMap::clear(self);
    }
    fn iter(&self) -> Self::Iter<'_> {
        hashbrown::HashMap::iter(self)
    }
    fn max_len(&self) -> Option<usize> {
        None
    }
}

impl<K: Ord, V> Sorted<K, V> for BTreeMap<K, V> {
    type Iter<'a>
        = btree_map::Range<'a, K, V>
    where
        K: 'a,
        V: 'a;
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)> {
        Ok(self.insert(key, value))
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        BTreeMap::remove(self, key)
    }
    fn get(&self, key: &K) -> Option<&V> {
        BTreeMap::get(self, key)
    }
    fn first(&self) -> Option<(&K, &V)> {
        self.first_key_value()
    }
    fn iter_from(&self, from: &K) -> Self::Iter<'_> {
        self.range((Bound::Included(from), Bound::Unbounded))
    }
    fn len(&self) -> usize {
        BTreeMap::len(self)
    }
    fn clear(&mut self) {
        BTreeMap::clear(self);
    }
    fn iter(&self) -> Self::Iter<'_> {
        self.range(..)
    }
    fn max_len(&self) -> Option<usize> {
        None
    }
}

impl<T> Queue<T> for VecDeque<T> {
    type Iter<'a>
        = vec_deque::Iter<'a, T>
    where
        T: 'a;
    fn try_push_back(&mut self, value: T) -> Result<(), T> {
        self.push_back(value);
        Ok(())
    }
    fn try_push_front(&mut self, value: T) -> Result<(), T> {
        self.push_front(value);
        Ok(())
    }
    fn pop_front(&mut self) -> Option<T> {
        VecDeque::pop_front(self)
    }
    fn front(&self) -> Option<&T> {
        VecDeque::front(self)
    }
    fn get(&self, index: usize) -> Option<&T> {
        VecDeque::get(self, index)
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn clear(&mut self) {
        VecDeque::clear(self);
    }
    fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        VecDeque::retain(self, keep);
    }
    fn iter(&self) -> Self::Iter<'_> {
        VecDeque::iter(self)
    }
    fn max_len(&self) -> Option<usize> {
        None
    }
}

/// Growable storage: every container grows on the heap (feature `alloc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Growable;

/// Slots whose keys [`ChunkedKeys`] packs into one buffer.
const CHUNK_SLOTS: u32 = 32;

/// The growable flavour's [`KeyStore`](super::KeyStore): the keys of slots `32c ..
/// 32c + 32` packed one after another in buffer `c`, each as a LEB128 length and the
/// bytes, every buffer exactly as long as what it holds. A key's reference is its
/// offset in its buffer plus one (`u32::MAX` for the empty key, stored nowhere).
///
/// Storing a key appends it to its buffer; freeing one moves the keys after it down
/// and shrinks the buffer, so no byte is left unused. Either costs one reallocation
/// and copies at most the buffer (about 32 keys). A buffer holds at most
/// `u32::MAX - 2` bytes: a key that would make its buffer longer is not stored.
#[derive(Clone, Debug, Default)]
pub struct ChunkedKeys {
    chunks: Vec<Box<[u8]>>,
}

impl ChunkedKeys {
    /// The buffer of `slot`'s key.
    #[inline]
    fn chunk(slot: u32) -> usize {
        (slot / CHUNK_SLOTS) as usize
    }

    /// The `(start, end)` of the key at `at` in `chunk` (its bytes, after the length).
    #[inline]
    fn span(chunk: &[u8], at: usize) -> Option<(usize, usize)> {
        let (start, len) = match *chunk.get(at)? {
            // (a key shorter than 128 bytes: a one-byte length)
            short @ 0..0x80 => (at + 1, usize::from(short)),
            _ => {
                let mut start = at;
                let len = crate::varint::take(chunk, &mut start)?;
                (start, usize::try_from(len).ok()?)
            }
        };
        let end = start.checked_add(len)?;
        (end <= chunk.len()).then_some((start, end))
    }
}

impl super::KeyStore for ChunkedKeys {
    type Ref = NonZeroU32;
    /// (offset of the freed key, bytes removed there)
    type Freed = (u32, u32);

    fn empty() -> NonZeroU32 {
        NonZeroU32::MAX
    }

    fn put(&mut self, slot: u32, bytes: &[u8]) -> Option<NonZeroU32> {
        let c = Self::chunk(slot);
        let mut buf = [0; crate::varint::MAX_LEN];
        let prefix = crate::varint::encode(bytes.len() as u64, &mut buf);
        let at = self.chunks.get(c).map_or(0, |b| b.len());
        let end = at.checked_add(prefix.len())?.checked_add(bytes.len())?;
        if end > (u32::MAX - 2) as usize {
            return None;
        }
        if c >= self.chunks.len() {
            self.chunks.resize_with(c + 1, Box::default);
        }
        let chunk = &mut self.chunks[c];
        let mut v = Vec::from(core::mem::take(chunk));
        v.reserve_exact(end - at);
        v.extend_from_slice(prefix);
        v.extend_from_slice(bytes);
        *chunk = v.into_boxed_slice();
        NonZeroU32::new(at as u32 + 1)
    }

    #[inline]
    fn get<'a>(&'a self, slot: u32, r: &'a NonZeroU32) -> &'a [u8] {
        let chunk = match self.chunks.get(Self::chunk(slot)) {
            Some(chunk) if *r != NonZeroU32::MAX => chunk,
            _ => return &[],
        };
        match Self::span(chunk, r.get() as usize - 1) {
            Some((start, end)) => &chunk[start..end],
            None => &[],
        }
    }

    fn free(&mut self, slot: u32, r: &NonZeroU32) -> Option<(u32, u32)> {
        if *r == NonZeroU32::MAX {
            return None;
        }
        let chunk = self.chunks.get_mut(Self::chunk(slot))?;
        let at = r.get() as usize - 1;
        let (_, end) = Self::span(chunk, at)?;
        let mut v = Vec::from(core::mem::take(chunk));
        v.copy_within(end.., at);
        v.truncate(v.len() - (end - at));
        v.shrink_to_fit();
        *chunk = v.into_boxed_slice();
        Some((at as u32, (end - at) as u32))
    }

    fn neighbours(slot: u32) -> core::ops::Range<u32> {
        let first = slot - slot % CHUNK_SLOTS;
        first..first.saturating_add(CHUNK_SLOTS)
    }

    #[inline]
    fn shift(r: &mut NonZeroU32, (at, removed): (u32, u32)) {
        if *r != NonZeroU32::MAX && r.get() - 1 > at {
            // (the key after the freed one starts at least `removed` bytes later)
            if let Some(moved) = NonZeroU32::new(r.get() - removed) {
                *r = moved;
            }
        }
    }

    fn clear(&mut self) {
        self.chunks.clear();
    }
}

impl super::ByteBuf for Vec<u8> {
    fn with_room(len: usize) -> Self {
        Vec::with_capacity(len)
    }
    fn try_extend(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes);
        true
    }
    fn max_len() -> Option<usize> {
        None
    }
}

impl super::Storage for Growable {
    const TRIGGERS: usize = usize::MAX;
    const TRIGGER_BYTES: usize = usize::MAX;
    const KEYS: usize = usize::MAX;
    const KEY_BYTES: usize = usize::MAX;
    const EVENTS: usize = usize::MAX;
    const EVENT_BYTES: usize = usize::MAX;
    const SEEN: usize = usize::MAX;
    const FIRINGS: usize = usize::MAX;
    const FIRING_BYTES: usize = usize::MAX;
    type TriggerSeq<T> = Vec<T>;
    type TriggerBytes = Vec<u8>;
    type Router = crate::matcher::Router;
    type RouteName = Vec<u8>;
    type TriggerTable<K: Eq + Hash, V> = hashbrown::HashMap<K, V, FxBuildHasher>;
    type TriggerSorted<K: Ord, V> = BTreeMap<K, V>;
    type KeySeq<T> = Vec<T>;
    type KeyTable<K: Eq + Hash, V> = hashbrown::HashMap<K, V, FxBuildHasher>;
    type KeySorted<K: Ord, V> = BTreeMap<K, V>;
    type KeyIndex = Vec<[u32; 2]>;
    type KeyWheel = crate::wheel::CompactVecStorage;
    type KeyStore = ChunkedKeys;
    type KeyScratch = Vec<u8>;
    type EventSeq<T> = Vec<T>;
    type EventTable<K: Eq + Hash, V> = hashbrown::HashMap<K, V, FxBuildHasher>;
    type EventSorted<K: Ord, V> = BTreeMap<K, V>;
    type EventBytes = Vec<u8>;
    type SeenLanes = Vec<[u64; 4]>;
    type SeenQueue<T> = VecDeque<T>;
    type FiringQueue<T> = VecDeque<T>;
    type FiringBytes = Vec<u8>;
}

#[cfg(test)]
mod tests {
    use super::super::KeyStore;
    use super::*;

    #[test]
    fn chunked_keys_pack_each_buffer_exactly_and_move_neighbours_on_free() {
        let mut store = ChunkedKeys::default();
        let key = |slot: u32| alloc::vec![slot as u8; (slot as usize * 7) % 150];
        let mut refs: Vec<Option<NonZeroU32>> = (0..70).map(|s| store.put(s, &key(s))).collect();
        assert_eq!(store.chunks.len(), 3, "slots 0..70 in buffers of 32");
        assert_eq!(ChunkedKeys::neighbours(33), 32..64);
        // (each key costs its bytes and its length: one byte below 128, two above)
        let packed = |refs: &[Option<NonZeroU32>], c: usize| -> usize {
            refs.iter()
                .enumerate()
                .filter(|&(s, r)| r.is_some() && s / 32 == c)
                .map(|(s, _)| key(s as u32).len() + 1 + usize::from(key(s as u32).len() >= 128))
                .sum()
        };
        for c in 0..3 {
            assert_eq!(store.chunks[c].len(), packed(&refs, c));
        }
        for s in [33, 0, 40, 31, 69, 34] {
            let r = refs[s as usize].take().unwrap();
            let freed = store.free(s, &r).unwrap();
            for n in ChunkedKeys::neighbours(s) {
                if let Some(Some(other)) = refs.get_mut(n as usize) {
                    ChunkedKeys::shift(other, freed);
                }
            }
            for (t, r) in refs.iter().enumerate() {
                if let Some(r) = r {
                    assert_eq!(store.get(t as u32, r), &key(t as u32)[..]);
                }
            }
        }
        for c in 0..3 {
            assert_eq!(store.chunks[c].len(), packed(&refs, c));
        }
        // the empty key is stored nowhere
        let empty = ChunkedKeys::empty();
        assert_eq!(store.get(5, &empty), &[] as &[u8]);
        assert_eq!(store.free(5, &empty), None);
        store.clear();
        assert!(store.chunks.is_empty());
    }

    #[test]
    fn vectors_grow_by_half_not_double() {
        let mut v: Vec<u32> = Vec::new();
        let mut grown = 0;
        for n in 0..100_000u32 {
            let before = v.capacity();
            push_grown(&mut v, n);
            if v.capacity() != before {
                grown += 1;
                // (half more, or 4 for a small one: `reserve_exact` may give more,
                // std's `Vec` gives exactly that)
                assert_eq!(v.capacity(), before + (before / 2).max(4), "at {n}");
            }
            // never more than a third of the room unused once past the first few
            if n > 16 {
                assert!(
                    v.capacity() * 2 <= v.len() * 3 + 3,
                    "{} of {}",
                    v.len(),
                    v.capacity()
                );
            }
        }
        assert!(grown > 20, "grown {grown} times");
        assert!(v.iter().copied().eq(0..100_000));
    }
}
