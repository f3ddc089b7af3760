//! [`KeyIndex`]: the hash index from (trigger, key) to key slots.

use crate::store::Seq;

/// An open-addressing hash index of key slots, linear probing, no tombstones.
///
/// Each entry is one `u64`: the upper 32 bits of the key's hash (the *tag*) above
/// `slot + 1`; `0` is an empty entry. A lookup reads consecutive entries from the
/// tag's home position and compares the caller's key only where the tag is equal,
/// so a hit usually costs one cache line of the index plus the slot itself (a
/// `hashbrown` table reads its control bytes and its data in two places). The home
/// position is the tag scaled to the table's length (`tag × len / 2³²`, the tag's top
/// bits when the length is a power of two), so growing re-files entries without
/// re-hashing any key, and removal shifts later entries back (Knuth's algorithm R)
/// instead of leaving tombstones.
///
/// The entries are kept in pairs (`[u64; 2]`) so that a fixed backing of `N` pairs
/// holds `N` keys at a load of at most 1/2. A growable backing keeps at most 4/5 of
/// the entries used and doubles when an insert would pass that, so it holds between
/// 2.5 and 5 entries per 2 keys (8 B each); a fixed one takes all its entries at the
/// first insert and never moves them.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex<B> {
    pairs: B,
    len: usize,
}

fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl<B: Seq<[u64; 2]>> KeyIndex<B> {
    fn entries(&self) -> &[u64] {
        self.pairs.as_flattened()
    }

    /// The position a tag's probe sequence starts at, in a table of `size` entries.
    #[inline]
    fn home(tag: u32, size: usize) -> usize {
        ((u64::from(tag) * size as u64) >> 32) as usize
    }

    /// The entry after `i` in a table of `size` entries.
    #[inline]
    fn next(i: usize, size: usize) -> usize {
        if i + 1 == size {
            0
        } else {
            i + 1
        }
    }

    /// Number of slots indexed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot with this hash for which `eq` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let entries = self.entries();
        let size = entries.len();
        let tag = tag_of(hash);
        let mut i = Self::home(tag, size);
        loop {
            let e = entries[i];
            if e == 0 {
                return None;
            }
            if (e >> 32) as u32 == tag {
                let slot = (e as u32).wrapping_sub(1);
                if eq(slot) {
                    return Some(slot);
                }
            }
            i = Self::next(i, size);
        }
    }

    /// The entry where the probe sequence of `hash` starts (`0`: empty, or nothing
    /// indexed), read without comparing anything: see [`KeyTable::prefetch`].
    ///
    /// [`KeyTable::prefetch`]: super::KeyTable::prefetch
    #[inline]
    pub(crate) fn home_entry(&self, hash: u64) -> u64 {
        let entries = self.entries();
        if self.len == 0 || entries.is_empty() {
            return 0;
        }
        entries[Self::home(tag_of(hash), entries.len())]
    }

    /// The slot an entry read by [`home_entry`](Self::home_entry) names, if its tag is
    /// `hash`'s (the key is then probably that slot's).
    #[inline]
    pub(crate) fn entry_slot(entry: u64, hash: u64) -> Option<u32> {
        (entry != 0 && (entry >> 32) as u32 == tag_of(hash)).then(|| (entry as u32).wrapping_sub(1))
    }

    /// Whether `additional` more slots fit (a fixed backing holds one slot per pair).
    pub(crate) fn has_room(&self, additional: usize) -> bool {
        self.pairs
            .max_len()
            .is_none_or(|max| self.len.saturating_add(additional) <= max)
    }

    /// Forgets every entry (a fixed backing takes all its entries again at the next
    /// insert).
    pub(crate) fn clear(&mut self) {
        self.pairs.clear();
        self.len = 0;
    }

    /// Makes room for `additional` more slots without growing; false (and nothing
    /// changed) when a fixed backing cannot hold them.
    pub(crate) fn reserve(&mut self, additional: usize) -> bool {
        let needed = self.len.saturating_add(additional);
        if let Some(max) = self.pairs.max_len() {
            if needed > max {
                return false;
            }
            if self.pairs.len() < max {
                // fixed: take every entry once, while the table is still empty or small
                self.rebuild(max);
            }
            return true;
        }
        let mut pairs = self.pairs.len().max(4);
        // keep the load at or below 4/5
        while needed.saturating_mul(5) > pairs.saturating_mul(8) {
            pairs = pairs.saturating_mul(2);
        }
        if pairs != self.pairs.len() {
            self.rebuild(pairs);
        }
        true
    }

    /// Re-files every entry into a table of `pairs` pairs (more than now).
    fn rebuild(&mut self, pairs: usize) {
        let old = if self.len == 0 {
            // (a fixed backing only ever grows here, while empty: nothing is copied)
            self.pairs.clear();
            None
        } else {
            Some(core::mem::take(&mut self.pairs))
        };
        while self.pairs.len() < pairs && self.pairs.try_push([0, 0]).is_ok() {}
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        for &e in old.iter().flat_map(|o| o.as_flattened()) {
            if e == 0 {
                continue;
            }
            let mut i = Self::home((e >> 32) as u32, size);
            while entries[i] != 0 {
                i = Self::next(i, size);
            }
            entries[i] = e;
        }
    }

    /// Adds `slot` under `hash`; the caller guarantees it is not indexed yet.
    /// `slot` must be below `u32::MAX`. False (nothing changed) when a fixed backing
    /// is full.
    pub(crate) fn insert_unique(&mut self, hash: u64, slot: u32) -> bool {
        debug_assert!(slot < u32::MAX);
        if !self.reserve(1) {
            return false;
        }
        let tag = tag_of(hash);
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        let mut i = Self::home(tag, size);
        while entries[i] != 0 {
            i = Self::next(i, size);
        }
        entries[i] = (u64::from(tag) << 32) | u64::from(slot + 1);
        self.len += 1;
        true
    }

    /// Removes `slot`, indexed under `hash`; false if it was not there.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let want = (u64::from(tag_of(hash)) << 32) | u64::from(slot.wrapping_add(1));
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        let mut hole = Self::home(tag_of(hash), size);
        loop {
            match entries[hole] {
                0 => return false,
                e if e == want => break,
                _ => hole = Self::next(hole, size),
            }
        }
        // shift back every later entry of the run whose home is not in (hole, j]
        let mut j = hole;
        loop {
            j = Self::next(j, size);
            let e = entries[j];
            if e == 0 {
                break;
            }
            let home = Self::home((e >> 32) as u32, size);
            // distance from home to j and from home to the hole, cyclically (no
            // division: it would dominate a removal)
            let after_home = |i: usize| if i >= home { i - home } else { i + size - home };
            if after_home(j) >= after_home(hole) {
                entries[hole] = e;
                hole = j;
            }
        }
        entries[hole] = 0;
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;

    type Growing = KeyIndex<Vec<[u64; 2]>>;

    /// Hashes chosen to collide on their home positions and tags.
    fn hash(n: u32) -> u64 {
        // few distinct tags, so probe runs are long and wrap around
        (u64::from(n % 7) << 61) | u64::from(n)
    }

    #[test]
    fn matches_a_map_through_inserts_removals_and_growth() {
        let mut index = Growing::default();
        let mut model = BTreeSet::new();
        let mut rng = crate::test_rng::Rng(0x9e37_79b9);
        for round in 0..20_000u32 {
            let state = rng.next();
            let slot = state % 600;
            if model.contains(&slot) {
                if round % 3 != 0 {
                    assert!(index.remove(hash(slot), slot));
                    model.remove(&slot);
                }
            } else {
                assert!(index.insert_unique(hash(slot), slot));
                model.insert(slot);
            }
            assert_eq!(index.len(), model.len());
            if round % 97 == 0 {
                for probe in 0..600 {
                    let found = index.find(hash(probe), |s| s == probe);
                    assert_eq!(found.is_some(), model.contains(&probe), "slot {probe}");
                }
            }
        }
        for &slot in &model {
            assert!(index.remove(hash(slot), slot));
        }
        assert_eq!(index.len(), 0);
        assert!(index.entries().iter().all(|&e| e == 0));
        assert!(!index.remove(hash(1), 1));
    }

    #[test]
    fn load_stays_at_or_below_four_fifths() {
        let mut index = Growing::default();
        for slot in 0..1000 {
            assert!(index.insert_unique(u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15), slot));
            assert!(index.len() * 5 <= index.entries().len() * 4);
        }
        assert!(index.reserve(5000));
        assert!(6000 * 5 <= index.entries().len() * 4);
    }
}
