//! [`KeyIndex`]: the hash index from (trigger, key) to key slots.

use crate::store::Seq;

/// An open-addressing hash index of key slots, linear probing, no tombstones.
///
/// Each entry is one `u32`: `slot + 1` in its low *slot bits*, and above them as many
/// of the top bits of the key hash's upper half as are left over (the *tag*); `0` is an
/// empty entry. The slot bits are just enough for the largest slot indexed (a fixed
/// backing of `N` pairs: enough for slot `N - 1`), so a million keys leave a 12-bit
/// tag. A lookup reads consecutive entries from the hash's home position and compares
/// the caller's key only where the tag is equal, so a hit usually costs one cache line
/// of the index plus the slot itself. The home position is the lower half of the hash
/// scaled to the table's length (`lo × len / 2³²`, no division).
///
/// The entries hold too few bits of the hash to find an entry's home again, so moving
/// one (growing the table, widening the slot bits, or shifting entries back after a
/// removal, Knuth's algorithm R, instead of leaving tombstones) asks the caller for
/// the hash of the slot it names (`hash_of`). A removal re-hashes the few entries of
/// its probe run after the removed one; growing re-hashes every key once.
///
/// The entries are kept in pairs (`[u32; 2]`) so that a fixed backing of `N` pairs
/// holds `N` keys at a load of at most 1/2. A growable backing keeps at most 4/5 of
/// the entries used and grows by half when an insert would pass that, so it holds
/// between 1.25 and about 1.9 entries per key (4 B each: 5 to 7.5 B per key, against
/// 5 to 10 B when doubling); a growth re-hashes every key, so each key is re-hashed
/// about twice over the table's life instead of once. A fixed backing takes all its
/// entries at the first insert and never moves them.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex<B> {
    pairs: B,
    len: usize,
    /// How many low bits of an entry hold `slot + 1` (0 while nothing was sized).
    slot_bits: u32,
}

/// The bits needed to write `n`.
fn bit_width(n: u64) -> u32 {
    64 - n.leading_zeros()
}

/// The entry bits below the tag: `slot + 1` fits in them.
fn slot_mask(slot_bits: u32) -> u32 {
    u32::MAX.checked_shr(32 - slot_bits).unwrap_or(0)
}

/// The tag bits of `hash` in place (the upper half of the hash, its low `slot_bits`
/// bits cleared).
fn tag_bits(hash: u64, slot_bits: u32) -> u32 {
    (hash >> 32) as u32 & !slot_mask(slot_bits)
}

/// The slot entry `e` (not empty) names.
#[inline]
fn slot_of(e: u32, slot_bits: u32) -> u32 {
    (e & slot_mask(slot_bits)).wrapping_sub(1)
}

/// The entry naming `slot` under `hash`.
fn entry_of(hash: u64, slot: u32, slot_bits: u32) -> u32 {
    tag_bits(hash, slot_bits) | (slot + 1)
}

impl<B: Seq<[u32; 2]>> KeyIndex<B> {
    fn entries(&self) -> &[u32] {
        self.pairs.as_flattened()
    }

    /// The position a hash's probe sequence starts at, in a table of `size` entries.
    #[inline]
    fn home(hash: u64, size: usize) -> usize {
        ((u64::from(hash as u32) * size as u64) >> 32) as usize
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
        let mask = slot_mask(self.slot_bits);
        let tag = tag_bits(hash, self.slot_bits);
        let mut i = Self::home(hash, size);
        loop {
            let e = entries[i];
            if e == 0 {
                return None;
            }
            if e & !mask == tag {
                let slot = slot_of(e, self.slot_bits);
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
    pub(crate) fn home_entry(&self, hash: u64) -> u32 {
        let entries = self.entries();
        if self.len == 0 || entries.is_empty() {
            return 0;
        }
        entries[Self::home(hash, entries.len())]
    }

    /// The slot an entry read by [`home_entry`](Self::home_entry) names, if its tag is
    /// `hash`'s (the key is then probably that slot's).
    #[inline]
    pub(crate) fn entry_slot(&self, entry: u32, hash: u64) -> Option<u32> {
        let tag = tag_bits(hash, self.slot_bits);
        (entry != 0 && entry & !slot_mask(self.slot_bits) == tag)
            .then(|| slot_of(entry, self.slot_bits))
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
        self.slot_bits = 0;
    }

    /// Makes room for `additional` more slots without growing; false (and nothing
    /// changed) when a fixed backing cannot hold them. `hash_of(slot)` is the hash of
    /// an indexed slot (see the type's documentation).
    pub(crate) fn reserve(&mut self, additional: usize, hash_of: impl Fn(u32) -> u64) -> bool {
        let needed = self.len.saturating_add(additional);
        if let Some(max) = self.pairs.max_len() {
            if needed > max {
                return false;
            }
            if self.pairs.len() < max {
                // fixed: take every entry once, while the table is still empty or
                // small, with slot bits for every slot a backing of `max` holds
                let bits = bit_width(max as u64).max(self.slot_bits);
                self.rebuild(max, bits, hash_of);
            }
            return true;
        }
        let mut pairs = self.pairs.len().max(4);
        // keep the load at or below 4/5, growing by half
        while needed.saturating_mul(5) > pairs.saturating_mul(8) {
            pairs = pairs.saturating_add(pairs / 2);
        }
        if pairs != self.pairs.len() {
            // (slot bits for as many slots as there are entries: keys are usually in
            // the lowest slots, so growing rarely widens them again)
            let bits = bit_width(2 * pairs as u64).max(self.slot_bits);
            self.rebuild(pairs, bits, hash_of);
        }
        true
    }

    /// Re-files every entry into a table of `pairs` pairs (at least as many as now)
    /// with `slot_bits` slot bits (at least as many as now).
    ///
    /// The old entries are turned into their slot numbers in place and sorted, so
    /// that `hash_of` visits the slots (and the keys they hold) in memory order: at a
    /// million keys, hashing them in the table's random order costs several times
    /// as much, all in cache misses.
    fn rebuild(&mut self, pairs: usize, slot_bits: u32, hash_of: impl Fn(u32) -> u64) {
        let old_bits = self.slot_bits;
        let (old, live) = if self.len == 0 {
            // (a fixed backing only ever grows here, while empty: nothing is copied)
            self.pairs.clear();
            (None, 0)
        } else {
            let mut old = core::mem::take(&mut self.pairs);
            let flat = old.as_flattened_mut();
            let mut live = 0;
            for i in 0..flat.len() {
                if flat[i] != 0 {
                    flat[live] = slot_of(flat[i], old_bits);
                    live += 1;
                }
            }
            flat[..live].sort_unstable();
            (Some(old), live)
        };
        self.slot_bits = slot_bits.min(32);
        // (exactly: pushing would round the room up to a power of two)
        self.pairs
            .reserve_exact(pairs.saturating_sub(self.pairs.len()));
        while self.pairs.len() < pairs && self.pairs.try_push([0, 0]).is_ok() {}
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        for &slot in old.iter().flat_map(|o| &o.as_flattened()[..live]) {
            let hash = hash_of(slot);
            let mut i = Self::home(hash, size);
            while entries[i] != 0 {
                i = Self::next(i, size);
            }
            entries[i] = entry_of(hash, slot, self.slot_bits);
        }
    }

    /// Adds `slot` under `hash`; the caller guarantees it is not indexed yet.
    /// `slot` must be below `u32::MAX`. False (nothing changed) when a fixed backing
    /// is full. `hash_of` as for [`reserve`](Self::reserve).
    pub(crate) fn insert_unique(
        &mut self,
        hash: u64,
        slot: u32,
        hash_of: impl Fn(u32) -> u64,
    ) -> bool {
        debug_assert!(slot < u32::MAX);
        if !self.reserve(1, &hash_of) {
            return false;
        }
        let wanted = bit_width(u64::from(slot) + 1);
        if wanted > self.slot_bits {
            // (growable only: a fixed backing's slot bits cover all its slots)
            self.rebuild(self.pairs.len(), wanted, &hash_of);
        }
        let e = entry_of(hash, slot, self.slot_bits);
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        let mut i = Self::home(hash, size);
        while entries[i] != 0 {
            i = Self::next(i, size);
        }
        entries[i] = e;
        self.len += 1;
        true
    }

    /// Removes `slot`, indexed under `hash`; false if it was not there. `hash_of` as
    /// for [`reserve`](Self::reserve) (it is asked for the slots of the entries after
    /// the removed one in its probe run, not for `slot`).
    pub(crate) fn remove(&mut self, hash: u64, slot: u32, hash_of: impl Fn(u32) -> u64) -> bool {
        if self.len == 0 || bit_width(u64::from(slot) + 1) > self.slot_bits {
            return false;
        }
        let want = entry_of(hash, slot, self.slot_bits);
        let entries = self.pairs.as_flattened_mut();
        let size = entries.len();
        let mut hole = Self::home(hash, size);
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
            let home = Self::home(hash_of(slot_of(e, self.slot_bits)), size);
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

    type Growing = KeyIndex<Vec<[u32; 2]>>;
    type Fixed = KeyIndex<heapless::Vec<[u32; 2], 700>>;

    /// Hashes chosen to collide on their home positions (all at the table's start)
    /// and, beyond the slot bits, on their tags.
    fn hash(n: u32) -> u64 {
        // few distinct tags, so probe runs are long and wrap around
        (u64::from(n % 7) << 61) | u64::from(n)
    }

    /// Random inserts and removals of slots below `slots`, checked against a set.
    fn against_a_set<B: Seq<[u32; 2]>>(index: &mut KeyIndex<B>, slots: u32, seed: u32) {
        let mut model = BTreeSet::new();
        let mut rng = crate::test_rng::Rng(seed);
        for round in 0..20_000u32 {
            let slot = rng.next() % slots;
            if model.contains(&slot) {
                if round % 3 != 0 {
                    assert!(index.remove(hash(slot), slot, hash));
                    model.remove(&slot);
                }
            } else {
                assert!(index.insert_unique(hash(slot), slot, hash));
                model.insert(slot);
            }
            assert_eq!(index.len(), model.len());
            if round % 97 == 0 {
                for probe in 0..slots {
                    let found = index.find(hash(probe), |s| s == probe);
                    assert_eq!(found.is_some(), model.contains(&probe), "slot {probe}");
                }
            }
        }
        for &slot in &model {
            assert!(index.remove(hash(slot), slot, hash));
        }
        assert_eq!(index.len(), 0);
        assert!(index.entries().iter().all(|&e| e == 0));
        assert!(!index.remove(hash(1), 1, hash));
    }

    #[test]
    fn matches_a_set_through_inserts_removals_and_growth() {
        against_a_set(&mut Growing::default(), 600, 0x9e37_79b9);
    }

    #[test]
    fn a_fixed_backing_matches_a_set() {
        against_a_set(&mut Fixed::default(), 700, 0x0bad_5eed);
        // every slot of the backing fits its slot bits
        let mut index = Fixed::default();
        assert!(index.insert_unique(hash(699), 699, hash));
        assert_eq!(index.find(hash(699), |s| s == 699), Some(699));
    }

    #[test]
    fn slot_bits_widen_for_a_large_slot_and_keep_every_entry() {
        let mut index = Growing::default();
        for slot in 0..10 {
            assert!(index.insert_unique(hash(slot), slot, hash));
        }
        let narrow = index.slot_bits;
        // a slot far beyond the table (a restored snapshot with many vacant slots)
        let far = 3_000_000;
        assert!(index.insert_unique(hash(far), far, hash));
        assert!(index.slot_bits > narrow);
        for slot in (0..10).chain([far]) {
            assert_eq!(index.find(hash(slot), |s| s == slot), Some(slot));
        }
        assert!(index.remove(hash(far), far, hash));
        assert_eq!(index.find(hash(far), |s| s == far), None);
        assert_eq!(index.len(), 10);
        // the largest slot there is: `slot + 1` takes all 32 bits, no tag is left
        let last = u32::MAX - 1;
        assert!(index.insert_unique(hash(last), last, hash));
        assert_eq!(index.slot_bits, 32);
        assert_eq!(index.find(hash(last), |s| s == last), Some(last));
        assert_eq!(index.find(hash(5), |s| s == 5), Some(5));
    }

    #[test]
    fn the_tag_spares_comparisons() {
        let mut index = Growing::default();
        for slot in 0..1000 {
            let h = u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert!(index.insert_unique(h, slot, |s| u64::from(s)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        // a lookup compares only the slots whose tags equal the hash's
        let mut compared = 0;
        let h = 12_345u64.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        assert_eq!(
            index.find(h, |_| {
                compared += 1;
                false
            }),
            None
        );
        assert!(compared <= 1, "{compared} comparisons");
    }

    #[test]
    fn load_stays_between_one_half_and_four_fifths() {
        let mut index = Growing::default();
        let h = |s: u32| u64::from(s).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut sizes = 0;
        for slot in 0..1000 {
            let before = index.entries().len();
            assert!(index.insert_unique(h(slot), slot, h));
            assert!(index.len() * 5 <= index.entries().len() * 4);
            if index.len() >= 64 {
                // (grown by half at a load of 4/5: just over 8/15 right after)
                assert!(index.len() * 2 >= index.entries().len(), "{slot}");
            }
            sizes += usize::from(index.entries().len() != before);
        }
        assert!(sizes > 12, "grown {sizes} times");
        assert!(index.reserve(5000, h));
        assert!(6000 * 5 <= index.entries().len() * 4);
        for slot in 0..1000 {
            assert_eq!(index.find(h(slot), |s| s == slot), Some(slot));
            let e = index.home_entry(h(slot));
            if let Some(found) = index.entry_slot(e, h(slot)) {
                assert!(found == slot || h(found) >> 54 == h(slot) >> 54);
            }
        }
    }
}
