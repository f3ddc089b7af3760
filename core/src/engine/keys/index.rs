//! [`KeyIndex`]: the hash index from (trigger, key) to key slots.

use alloc::vec;
use alloc::vec::Vec;

/// An open-addressing hash index of key slots, linear probing, no tombstones.
///
/// Each entry is one `u64`: the upper 32 bits of the key's hash (the *tag*) above
/// `slot + 1`; `0` is an empty entry. A lookup reads consecutive entries from the
/// tag's home position and compares the caller's key only where the tag is equal,
/// so a hit usually costs one cache line of the index plus the slot itself (a
/// `hashbrown` table reads its control bytes and its data in two places). The home
/// position is the tag's top bits, so growing re-files entries without re-hashing
/// any key, and removal shifts later entries back (Knuth's algorithm R) instead of
/// leaving tombstones.
///
/// At most 4/5 of the entries are used; the table doubles when an insert would pass
/// that, so it holds between 2.5 and 5 entries per 2 keys (8 B each).
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    entries: Vec<u64>,
    len: usize,
    /// `log2(entries.len())`; 0 while there are no entries.
    bits: u32,
}

fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl KeyIndex {
    /// The position a tag's probe sequence starts at.
    fn home(&self, tag: u32) -> usize {
        if self.bits == 0 {
            0
        } else {
            (tag >> (32 - self.bits)) as usize
        }
    }

    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
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
        let tag = tag_of(hash);
        let mask = self.mask();
        let mut i = self.home(tag);
        loop {
            let e = self.entries[i];
            if e == 0 {
                return None;
            }
            if (e >> 32) as u32 == tag {
                let slot = (e as u32).wrapping_sub(1);
                if eq(slot) {
                    return Some(slot);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Makes room for `additional` more slots without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.len.saturating_add(additional);
        let mut size = self.entries.len().max(8);
        // keep the load at or below 4/5
        while needed.saturating_mul(5) > size.saturating_mul(4) {
            size = size.saturating_mul(2);
        }
        if size != self.entries.len() {
            self.rebuild(size);
        }
    }

    fn rebuild(&mut self, size: usize) {
        let old = core::mem::replace(&mut self.entries, vec![0; size]);
        self.bits = size.trailing_zeros();
        let mask = self.mask();
        for e in old.into_iter().filter(|&e| e != 0) {
            let mut i = self.home((e >> 32) as u32);
            while self.entries[i] != 0 {
                i = (i + 1) & mask;
            }
            self.entries[i] = e;
        }
    }

    /// Adds `slot` under `hash`; the caller guarantees it is not indexed yet.
    /// `slot` must be below `u32::MAX`.
    pub(crate) fn insert_unique(&mut self, hash: u64, slot: u32) {
        debug_assert!(slot < u32::MAX);
        self.reserve(1);
        let tag = tag_of(hash);
        let mask = self.mask();
        let mut i = self.home(tag);
        while self.entries[i] != 0 {
            i = (i + 1) & mask;
        }
        self.entries[i] = (u64::from(tag) << 32) | u64::from(slot + 1);
        self.len += 1;
    }

    /// Removes `slot`, indexed under `hash`; false if it was not there.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let want = (u64::from(tag_of(hash)) << 32) | u64::from(slot.wrapping_add(1));
        let mask = self.mask();
        let mut hole = self.home(tag_of(hash));
        loop {
            match self.entries[hole] {
                0 => return false,
                e if e == want => break,
                _ => hole = (hole + 1) & mask,
            }
        }
        // shift back every later entry of the run whose home is not in (hole, j]
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e == 0 {
                break;
            }
            let home = self.home((e >> 32) as u32);
            // distance from home to j and from home to the hole, cyclically
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.entries[hole] = e;
                hole = j;
            }
        }
        self.entries[hole] = 0;
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    /// Hashes chosen to collide on their home positions and tags.
    fn hash(n: u32) -> u64 {
        // few distinct tags, so probe runs are long and wrap around
        (u64::from(n % 7) << 61) | u64::from(n)
    }

    #[test]
    fn matches_a_map_through_inserts_removals_and_growth() {
        let mut index = KeyIndex::default();
        let mut model = BTreeSet::new();
        let mut state = 0x9e37_79b9_u32;
        for round in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let slot = state % 600;
            if model.contains(&slot) {
                if round % 3 != 0 {
                    assert!(index.remove(hash(slot), slot));
                    model.remove(&slot);
                }
            } else {
                index.insert_unique(hash(slot), slot);
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
        assert!(index.entries.iter().all(|&e| e == 0));
        assert!(!index.remove(hash(1), 1));
    }

    #[test]
    fn load_stays_at_or_below_four_fifths() {
        let mut index = KeyIndex::default();
        for slot in 0..1000 {
            index.insert_unique(u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15), slot);
            assert!(index.len() * 5 <= index.entries.len() * 4);
        }
        index.reserve(5000);
        assert!(6000 * 5 <= index.entries.len() * 4);
    }
}
