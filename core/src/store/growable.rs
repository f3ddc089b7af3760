//! The growable flavour: `alloc` containers behind the [`super`] traits.

use alloc::collections::{btree_map, vec_deque, BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::hash::Hash;
use core::ops::Bound;

use super::{Queue, Seq, Sorted, Table};
use crate::hash::FxBuildHasher;

impl<T> Seq<T> for Vec<T> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        self.push(value);
        Ok(())
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn try_insert(&mut self, index: usize, value: T) -> Result<(), T> {
        if index > self.len() {
            return Err(value);
        }
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
    fn try_extend_from_slice(&mut self, values: &[T]) -> bool
    where
        T: Clone,
    {
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

impl super::Bytes for alloc::boxed::Box<[u8]> {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(bytes.into())
    }
    fn max_len() -> Option<usize> {
        None
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
    type KeyWheel = crate::wheel::VecStorage<()>;
    type KeyBytes = alloc::boxed::Box<[u8]>;
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
