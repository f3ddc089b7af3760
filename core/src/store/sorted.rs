//! [`SortedSeq`]: a fixed-capacity ordered map kept as a sorted array.

use core::fmt;
use core::iter::FusedIterator;

use super::Sorted;

/// An ordered map holding at most `N` entries in place, without allocating.
///
/// Inserting a new key when `N` entries are present hands the pair back
/// ([`Sorted::try_insert`]); replacing the value of a present key always works. With
/// `N = 0` every new key is refused.
///
/// # Implementation
///
/// The entries live in a `heapless::Vec<(K, V), N>` sorted by key. Lookups
/// (`get`, `first_from`) are binary searches, O(log N); `first` is O(1). Inserting
/// or removing a key shifts the entries after it by one place, O(N) moves, which
/// is cheap for the small `N` this is meant for.
///
/// Footprint: `size_of::<SortedSeq<K, V, N>>()` is `N × size_of::<(K, V)>()` plus a
/// `usize` length (rounded up to the alignment).
#[derive(Clone)]
pub struct SortedSeq<K, V, const N: usize> {
    /// The entries, strictly increasing by key.
    entries: heapless::Vec<(K, V), N>,
}

impl<K, V, const N: usize> Default for SortedSeq<K, V, N> {
    fn default() -> Self {
        Self {
            entries: heapless::Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, const N: usize> fmt::Debug for SortedSeq<K, V, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V, const N: usize> SortedSeq<K, V, N> {
    /// The index of `key`, or where it would be inserted.
    fn search(&self, key: &K) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(present, _)| present.cmp(key))
    }
}

impl<K: Ord, V, const N: usize> Sorted<K, V> for SortedSeq<K, V, N> {
    type Iter<'a>
        = Iter<'a, K, V>
    where
        K: 'a,
        V: 'a;

    /// Inserts or replaces; returns the replaced value, or hands the pair back when
    /// `key` is new and `N` entries are present.
    ///
    /// When `key` is present its value is replaced and the stored key is kept (the
    /// `key` argument is dropped), as `std`'s maps do. A new key shifts the greater
    /// ones up by one place (O(N) moves).
    fn try_insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)> {
        match self.search(&key) {
            Ok(index) => Ok(Some(core::mem::replace(&mut self.entries[index].1, value))),
            // `index` is at most `len`, so `insert` can only refuse for lack of room.
            Err(index) => self.entries.insert(index, (key, value)).map(|()| None),
        }
    }

    /// Removes `key`, returning its value; the greater keys shift down by one place
    /// (O(N) moves).
    fn remove(&mut self, key: &K) -> Option<V> {
        let index = self.search(key).ok()?;
        Some(self.entries.remove(index).1)
    }

    fn get(&self, key: &K) -> Option<&V> {
        let index = self.search(key).ok()?;
        Some(&self.entries[index].1)
    }

    fn first(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    fn iter_from(&self, from: &K) -> Self::Iter<'_> {
        let index = self.entries.partition_point(|(key, _)| key < from);
        Iter {
            entries: self.entries[index..].iter(),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn clear(&mut self) {
        self.entries.clear();
    }

    fn iter(&self) -> Self::Iter<'_> {
        Iter {
            entries: self.entries.iter(),
        }
    }

    fn max_len(&self) -> Option<usize> {
        Some(N)
    }
}

/// The entries of a [`SortedSeq`], in key order.
pub struct Iter<'a, K, V> {
    /// The entries not visited yet.
    entries: core::slice::Iter<'a, (K, V)>,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
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
        self.entries.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn keys<const N: usize>(map: &SortedSeq<u32, u32, N>) -> Vec<u32> {
        map.iter().map(|(&k, _)| k).collect()
    }

    #[test]
    fn keeps_keys_sorted_whatever_the_insertion_order() {
        let mut map: SortedSeq<u32, u32, 8> = SortedSeq::default();
        for key in [5, 1, 7, 3, 0, 6, 2, 4] {
            assert_eq!(map.try_insert(key, key * 10), Ok(None));
        }
        assert_eq!(keys(&map), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(map.get(&3), Some(&30));
        assert_eq!(map.iter().next_back(), Some((&7, &70)));
    }

    #[test]
    fn full_map_refuses_new_keys_and_changes_nothing() {
        let mut map: SortedSeq<u32, u32, 3> = SortedSeq::default();
        for key in [10, 20, 30] {
            map.try_insert(key, key).unwrap();
        }
        for key in [5, 15, 35] {
            assert_eq!(map.try_insert(key, 1), Err((key, 1)));
        }
        assert_eq!(map.len(), 3);
        assert_eq!(keys(&map), [10, 20, 30]);
        assert_eq!(map.get(&15), None);
    }

    #[test]
    fn replacing_works_when_full() {
        let mut map: SortedSeq<u32, u32, 2> = SortedSeq::default();
        map.try_insert(1, 1).unwrap();
        map.try_insert(2, 2).unwrap();
        assert_eq!(map.try_insert(2, 20), Ok(Some(2)));
        assert_eq!(map.get(&2), Some(&20));
        assert_eq!(map.len(), 2);
        assert_eq!(map.remove(&1), Some(1));
        assert_eq!(map.try_insert(0, 0), Ok(None));
        assert_eq!(keys(&map), [0, 2]);
    }

    #[test]
    fn zero_capacity_refuses_everything_without_panicking() {
        let mut map: SortedSeq<u32, u32, 0> = SortedSeq::default();
        assert_eq!(map.max_len(), Some(0));
        assert_eq!(map.try_insert(1, 2), Err((1, 2)));
        assert_eq!(map.get(&1), None);
        assert_eq!(map.remove(&1), None);
        assert_eq!(map.first(), None);
        assert_eq!(map.first_from(&0), None);
        assert_eq!(map.iter().count(), 0);
        map.clear();
        assert!(map.is_empty());
    }

    #[test]
    fn first_and_first_from() {
        let mut map: SortedSeq<u32, u32, 4> = SortedSeq::default();
        assert_eq!(map.first(), None);
        for key in [40, 10, 30] {
            map.try_insert(key, key + 1).unwrap();
        }
        assert_eq!(map.first(), Some((&10, &11)));
        assert_eq!(map.first_from(&0), Some((&10, &11)));
        assert_eq!(map.first_from(&10), Some((&10, &11)));
        assert_eq!(map.first_from(&11), Some((&30, &31)));
        assert_eq!(map.first_from(&30), Some((&30, &31)));
        assert_eq!(map.first_from(&40), Some((&40, &41)));
        assert_eq!(map.first_from(&41), None);
    }

    #[test]
    fn removal_keeps_every_other_key_findable() {
        let all = [3u32, 9, 1, 7, 5];
        for victim in all {
            let mut map: SortedSeq<u32, u32, 5> = SortedSeq::default();
            for key in all {
                map.try_insert(key, key * 2).unwrap();
            }
            assert_eq!(map.remove(&victim), Some(victim * 2));
            assert_eq!(map.remove(&victim), None);
            for key in all {
                let expected = (key != victim).then_some(key * 2);
                assert_eq!(map.get(&key).copied(), expected);
            }
            let remaining = keys(&map);
            assert!(remaining.windows(2).all(|pair| pair[0] < pair[1]));
            assert_eq!(remaining.len(), 4);
        }
    }

    #[test]
    fn iteration_sees_every_entry_once_in_order() {
        let mut map: SortedSeq<u32, u32, 16> = SortedSeq::default();
        for key in (0..16).rev() {
            map.try_insert(key * 3, key).unwrap();
        }
        let iter = map.iter();
        assert_eq!(iter.len(), 16);
        let seen: Vec<(u32, u32)> = iter.map(|(&k, &v)| (k, v)).collect();
        let expected: Vec<(u32, u32)> = (0..16).map(|k| (k * 3, k)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn clear_clone_and_debug() {
        let mut map: SortedSeq<u32, u32, 2> = SortedSeq::default();
        map.try_insert(2, 20).unwrap();
        map.try_insert(1, 10).unwrap();
        let copy = map.clone();
        map.clear();
        assert!(map.is_empty());
        assert_eq!(copy.len(), 2);
        assert_eq!(std::format!("{copy:?}"), "{1: 10, 2: 20}");
        assert_eq!(std::format!("{:?}", copy.iter()), "[(1, 10), (2, 20)]");
    }
}
