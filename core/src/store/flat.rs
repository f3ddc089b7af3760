//! [`FlatMap`]: a fixed-capacity open-addressing hash table.

use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::iter::FusedIterator;

use super::Table;
use crate::hash::FxBuildHasher;

/// A hash table holding at most `N` entries in place, without allocating.
///
/// Inserting a new key when `N` entries are present hands the pair back
/// ([`Table::try_insert`]); replacing the value of a present key always works. With
/// `N = 0` every new key is refused.
///
/// # Implementation
///
/// Open addressing over `2N` slots (`[[Option<(K, V)>; 2]; N]` seen as one slice), so
/// the table is never more than half full. A key's home slot is its
/// [`FxBuildHasher`] hash scaled to the slot count (the "fastrange" multiply-shift),
/// collisions probe linearly with wrap-around, and removal shifts the following
/// entries of the cluster back (no tombstones), so lookups never degrade with churn.
/// Every operation is O(1) expected and O(N) at worst.
///
/// Footprint: `size_of::<FlatMap<K, V, N>>()` is `2N × size_of::<Option<(K, V)>>()`
/// plus a `usize` length (rounded up to the alignment).
#[derive(Clone)]
pub struct FlatMap<K, V, const N: usize> {
    /// `2N` slots, two per unit of capacity; used only through `as_flattened`.
    slots: [[Option<(K, V)>; 2]; N],
    /// Number of occupied slots (at most `N`).
    len: usize,
}

/// Where a key is, or where it would go.
enum Probe {
    /// The key is in this slot.
    Found(usize),
    /// The key is absent; this is the first empty slot of its probe sequence.
    Vacant(usize),
    /// The key is absent and there is no empty slot (only when there are no slots).
    NoRoom,
}

/// The home slot of a key with hash `hash` among `slots` slots (0 when `slots` is 0).
fn home_of(hash: u64, slots: usize) -> usize {
    // The high 64 bits of hash × slots: uniform in 0..slots for any slot count.
    ((u128::from(hash) * slots as u128) >> 64) as usize
}

/// The number of forward steps from slot `from` to slot `to`, wrapping at `slots`.
fn distance(from: usize, to: usize, slots: usize) -> usize {
    if to >= from {
        to - from
    } else {
        slots - from + to
    }
}

impl<K, V, const N: usize> FlatMap<K, V, N> {
    /// The entries, in slot order.
    fn entries(&self) -> Iter<'_, K, V> {
        Iter {
            slots: self.slots.as_flattened().iter(),
            remaining: self.len,
        }
    }
}

impl<K: Hash, V, const N: usize> FlatMap<K, V, N> {
    /// The home slot of `key`.
    fn home(key: &K, slots: usize) -> usize {
        home_of(FxBuildHasher.hash_one(key), slots)
    }
}

impl<K: Eq + Hash, V, const N: usize> FlatMap<K, V, N> {
    /// Looks `key` up along its probe sequence.
    fn probe(&self, key: &K) -> Probe {
        let slots = self.slots.as_flattened();
        let count = slots.len();
        let mut index = Self::home(key, count);
        for _ in 0..count {
            match &slots[index] {
                None => return Probe::Vacant(index),
                Some((present, _)) if present == key => return Probe::Found(index),
                Some(_) => {}
            }
            index += 1;
            if index == count {
                index = 0;
            }
        }
        Probe::NoRoom
    }

    /// Closes the hole left at `hole` by moving later entries of its cluster back.
    fn shift_back(&mut self, mut hole: usize) {
        let slots = self.slots.as_flattened_mut();
        let count = slots.len();
        let mut index = hole;
        // Each other slot is visited at most once; the first empty one ends the cluster
        // (there always is one: at most N of the 2N slots are occupied).
        for _ in 1..count {
            index += 1;
            if index == count {
                index = 0;
            }
            let Some((key, _)) = &slots[index] else {
                return;
            };
            let home = Self::home(key, count);
            // The entry may move into the hole when the hole lies on its probe path,
            // i.e. between its home and its slot (cyclically).
            if distance(hole, index, count) <= distance(home, index, count) {
                slots.swap(hole, index);
                hole = index;
            }
        }
    }
}

impl<K, V, const N: usize> Default for FlatMap<K, V, N> {
    fn default() -> Self {
        Self {
            slots: core::array::from_fn(|_| [None, None]),
            len: 0,
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, const N: usize> fmt::Debug for FlatMap<K, V, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl<K: Eq + Hash, V, const N: usize> Table<K, V> for FlatMap<K, V, N> {
    type Iter<'a>
        = Iter<'a, K, V>
    where
        K: 'a,
        V: 'a;

    fn get(&self, key: &K) -> Option<&V> {
        match self.probe(key) {
            Probe::Found(index) => self.slots.as_flattened()[index].as_ref().map(|(_, v)| v),
            Probe::Vacant(_) | Probe::NoRoom => None,
        }
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self.probe(key) {
            Probe::Found(index) => self.slots.as_flattened_mut()[index]
                .as_mut()
                .map(|(_, v)| v),
            Probe::Vacant(_) | Probe::NoRoom => None,
        }
    }

    /// Inserts or replaces; returns the replaced value, or hands the pair back when
    /// `key` is new and `N` entries are present.
    ///
    /// When `key` is present its value is replaced and the stored key is kept (the
    /// `key` argument is dropped), as `std`'s maps do.
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)> {
        match self.probe(&key) {
            Probe::Found(index) => match &mut self.slots.as_flattened_mut()[index] {
                Some((_, present)) => Ok(Some(core::mem::replace(present, value))),
                // Not reached: `Found` always points at an occupied slot.
                None => Err((key, value)),
            },
            Probe::Vacant(index) if self.len < N => {
                self.slots.as_flattened_mut()[index] = Some((key, value));
                self.len += 1;
                Ok(None)
            }
            Probe::Vacant(_) | Probe::NoRoom => Err((key, value)),
        }
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let Probe::Found(index) = self.probe(key) else {
            return None;
        };
        let (_, value) = self.slots.as_flattened_mut()[index].take()?;
        self.len -= 1;
        self.shift_back(index);
        Some(value)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        if self.len > 0 {
            self.slots.as_flattened_mut().fill_with(|| None);
            self.len = 0;
        }
    }

    fn iter(&self) -> Self::Iter<'_> {
        self.entries()
    }

    fn max_len(&self) -> Option<usize> {
        Some(N)
    }
}

/// The entries of a [`FlatMap`], in slot order (no particular key order).
pub struct Iter<'a, K, V> {
    /// The slots not visited yet.
    slots: core::slice::Iter<'a, Option<(K, V)>>,
    /// Occupied slots not visited yet.
    remaining: usize,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            remaining: self.remaining,
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (key, value) = self.slots.by_ref().find_map(Option::as_ref)?;
        self.remaining -= 1;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    /// `count` keys (from 0 upwards) whose home slot in a `FlatMap<u32, _, N>` is
    /// `home`.
    fn keys_with_home<const N: usize>(home: usize, count: usize) -> Vec<u32> {
        (0u32..)
            .filter(|key| FlatMap::<u32, u32, N>::home(key, 2 * N) == home)
            .take(count)
            .collect()
    }

    /// Every entry's slot is reachable from its home through occupied slots, and the
    /// length matches the occupied slots.
    fn assert_invariants<const N: usize>(map: &FlatMap<u32, u32, N>) {
        let slots = map.slots.as_flattened();
        let count = slots.len();
        let occupied = slots.iter().filter(|slot| slot.is_some()).count();
        assert_eq!(occupied, map.len);
        assert!(map.len <= N);
        for (index, slot) in slots.iter().enumerate() {
            if let Some((key, _)) = slot {
                let mut at = FlatMap::<u32, u32, N>::home(key, count);
                while at != index {
                    assert!(slots[at].is_some(), "gap before key {key}");
                    at = (at + 1) % count;
                }
            }
        }
    }

    fn sorted<const N: usize>(map: &FlatMap<u32, u32, N>) -> BTreeMap<u32, u32> {
        map.iter().map(|(&k, &v)| (k, v)).collect()
    }

    #[test]
    fn home_is_in_range_for_any_slot_count() {
        for slots in [1usize, 2, 3, 6, 7, 16, 1000] {
            for hash in [0u64, 1, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
                assert!(home_of(hash, slots) < slots);
            }
        }
        assert_eq!(home_of(u64::MAX, 0), 0);
        assert_eq!(home_of(u64::MAX, 1), 0);
        assert_eq!(home_of(u64::MAX, 2), 1);
    }

    #[test]
    fn full_table_refuses_new_keys_and_changes_nothing() {
        let mut map: FlatMap<u32, u32, 4> = FlatMap::default();
        for key in 0..4 {
            assert_eq!(map.try_insert(key, key * 10), Ok(None));
        }
        let before = sorted(&map);
        assert_eq!(map.try_insert(99, 990), Err((99, 990)));
        assert_eq!(map.len(), 4);
        assert_eq!(map.get(&99), None);
        assert_eq!(sorted(&map), before);
        assert_invariants(&map);
    }

    #[test]
    fn replacing_works_when_full() {
        let mut map: FlatMap<u32, u32, 3> = FlatMap::default();
        for key in 0..3 {
            map.try_insert(key, key).unwrap();
        }
        assert_eq!(map.try_insert(1, 100), Ok(Some(1)));
        assert_eq!(map.get(&1), Some(&100));
        *map.get_mut(&2).unwrap() += 5;
        assert_eq!(map.get(&2), Some(&7));
        assert_eq!(map.len(), 3);
        // After a removal there is room again.
        assert_eq!(map.remove(&0), Some(0));
        assert_eq!(map.try_insert(9, 9), Ok(None));
        assert_invariants(&map);
    }

    #[test]
    fn zero_capacity_refuses_everything_without_panicking() {
        let mut map: FlatMap<u32, u32, 0> = FlatMap::default();
        assert_eq!(map.max_len(), Some(0));
        assert_eq!(map.try_insert(1, 2), Err((1, 2)));
        assert_eq!(map.get(&1), None);
        assert_eq!(map.get_mut(&1), None);
        assert!(!map.contains_key(&1));
        assert_eq!(map.remove(&1), None);
        assert_eq!(map.iter().count(), 0);
        map.clear();
        assert!(map.is_empty());
        assert_eq!(std::format!("{map:?}"), "{}");
    }

    #[test]
    fn removal_keeps_colliding_keys_findable() {
        const N: usize = 8;
        // Five keys sharing the last home slot: the cluster wraps around to the start.
        let last = 2 * N - 1;
        let colliding = keys_with_home::<N>(last, 5);
        // Keys whose homes are the wrapped-over slots, so the shift must respect them.
        let at_zero = keys_with_home::<N>(0, 2);
        let at_one = keys_with_home::<N>(1, 1);
        let all: Vec<u32> = colliding
            .iter()
            .chain(&at_zero)
            .chain(&at_one)
            .copied()
            .collect();
        assert_eq!(all.len(), N);

        // Remove each key in turn from a freshly filled table (every insertion order
        // rotation), and check that all the others are still found.
        for rotation in 0..all.len() {
            for victim in &all {
                let mut map: FlatMap<u32, u32, N> = FlatMap::default();
                for key in all.iter().cycle().skip(rotation).take(all.len()) {
                    assert_eq!(map.try_insert(*key, key + 1), Ok(None));
                }
                assert_invariants(&map);
                assert_eq!(map.remove(victim), Some(victim + 1));
                assert_eq!(map.remove(victim), None);
                assert_invariants(&map);
                for key in &all {
                    let expected = (key != victim).then_some(key + 1);
                    assert_eq!(map.get(key).copied(), expected, "key {key}");
                }
                assert_eq!(map.len(), N - 1);
            }
        }
    }

    #[test]
    fn removing_everything_in_any_order_leaves_an_empty_table() {
        const N: usize = 4;
        let mut keys = keys_with_home::<N>(3, 3);
        keys.extend(keys_with_home::<N>(2, 1));
        for start in 0..keys.len() {
            let mut map: FlatMap<u32, u32, N> = FlatMap::default();
            for &key in &keys {
                map.try_insert(key, key).unwrap();
            }
            for (done, key) in keys.iter().cycle().skip(start).take(keys.len()).enumerate() {
                assert_eq!(map.remove(key), Some(*key));
                assert_invariants(&map);
                assert_eq!(map.len(), keys.len() - done - 1);
            }
            assert!(map.slots.as_flattened().iter().all(Option::is_none));
        }
    }

    #[test]
    fn iteration_sees_every_entry_once() {
        let mut map: FlatMap<u32, u32, 16> = FlatMap::default();
        for key in 0..16 {
            map.try_insert(key * 7, key).unwrap();
        }
        map.remove(&21);
        map.remove(&70);
        let iter = map.iter();
        assert_eq!(iter.len(), 14);
        let mut seen: Vec<u32> = iter.map(|(&k, _)| k).collect();
        seen.sort_unstable();
        let expected: Vec<u32> = (0..16)
            .map(|k| k * 7)
            .filter(|k| ![21, 70].contains(k))
            .collect();
        assert_eq!(seen, expected);
        for (k, v) in map.iter() {
            assert_eq!(*k, v * 7);
        }
    }

    #[test]
    fn clear_clone_and_debug() {
        let mut map: FlatMap<u32, u32, 2> = FlatMap::default();
        map.try_insert(5, 50).unwrap();
        let copy = map.clone();
        map.clear();
        assert!(map.is_empty());
        assert_eq!(map.get(&5), None);
        assert_eq!(copy.get(&5), Some(&50));
        assert_eq!(std::format!("{copy:?}"), "{5: 50}");
        assert_eq!(map.try_insert(6, 60), Ok(None));
        assert_eq!(map.try_insert(7, 70), Ok(None));
        assert_eq!(map.try_insert(8, 80), Err((8, 80)));
    }

    #[test]
    fn footprint_is_the_slots_plus_a_length() {
        assert_eq!(
            size_of::<FlatMap<u64, u64, 16>>(),
            32 * size_of::<Option<(u64, u64)>>() + size_of::<usize>()
        );
        assert_eq!(size_of::<FlatMap<u64, u64, 0>>(), size_of::<usize>());
    }
}
