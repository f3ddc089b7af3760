//! CPython's `set` layout, for one purpose: the order in which Prefect visits the
//! triggers interested in an event.
//!
//! `find_interested_triggers` collects trigger UUIDs into a `set` (`candidate_ids`),
//! one `update` per index pattern that matches the event name, and evaluates the
//! triggers in the set's iteration order. For independent triggers the order is
//! invisible; for two children of one composite trigger that react to the same event
//! it decides which child firing is stored first. CPython's iteration order is the
//! order of hash-table slots, so it is reproduced here: `hash(uuid) = int(uuid) mod
//! (2^61 - 1)`, 8 slots to start, linear probing of up to 9 slots then perturbation,
//! growth when 3/5 full, `update` from a set with a single resize up front (CPython
//! 3.11, `Objects/setobject.c`). Where Prefect's own order depends on the insertion
//! order of colliding entries, and that order comes from iterating a set of strings
//! (randomised per process by `PYTHONHASHSEED`), Prefect itself is not deterministic;
//! this emulation then picks one of the possible orders.

use alloc::vec;
use alloc::vec::Vec;

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;
const MIN_SIZE: usize = 8;

/// CPython's `hash()` of a UUID: its 128-bit integer modulo the Mersenne prime 2^61 - 1.
pub(crate) fn py_hash_uuid(uuid: [u8; 16]) -> u64 {
    const P: u128 = (1u128 << 61) - 1;
    (u128::from_be_bytes(uuid) % P) as u64
}

/// A CPython set of `(hash, item)` entries (no deletions are needed here).
#[derive(Clone, Debug)]
pub(crate) struct PySet {
    table: Vec<Option<(u64, u32)>>,
    fill: usize,
}

impl Default for PySet {
    fn default() -> Self {
        PySet {
            table: vec![None; MIN_SIZE],
            fill: 0,
        }
    }
}

impl PySet {
    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// `set_insert_clean`: places an entry known to be absent, without resizing.
    fn insert_clean(table: &mut [Option<(u64, u32)>], hash: u64, item: u32) {
        let mask = table.len() - 1;
        let mut perturb = hash as usize;
        let mut i = hash as usize & mask;
        loop {
            if table[i].is_none() {
                table[i] = Some((hash, item));
                return;
            }
            if i + LINEAR_PROBES <= mask {
                for j in 1..=LINEAR_PROBES {
                    if table[i + j].is_none() {
                        table[i + j] = Some((hash, item));
                        return;
                    }
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
        }
    }

    /// `set_table_resize(minused)`.
    fn resize(&mut self, minused: usize) {
        let mut size = MIN_SIZE;
        while size <= minused {
            size <<= 1;
        }
        let old = core::mem::replace(&mut self.table, vec![None; size]);
        for (hash, item) in old.into_iter().flatten() {
            Self::insert_clean(&mut self.table, hash, item);
        }
    }

    /// `set_add_entry`.
    pub(crate) fn add(&mut self, hash: u64, item: u32) {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        let mut perturb = hash as usize;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in 0..=probes {
                match self.table[i + j] {
                    None => {
                        self.table[i + j] = Some((hash, item));
                        self.fill += 1;
                        if self.fill * 5 >= mask * 3 {
                            let used = self.fill;
                            self.resize(if used > 50_000 { used * 2 } else { used * 4 });
                        }
                        return;
                    }
                    Some((h, it)) if h == hash && it == item => return,
                    Some(_) => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
        }
    }

    /// `set.update(other)` for a set argument (`set_merge`).
    pub(crate) fn update(&mut self, other: &PySet) {
        if other.fill == 0 {
            return;
        }
        if (self.fill + other.fill) * 5 >= self.mask() * 3 {
            self.resize((self.fill + other.fill) * 2);
        }
        if self.fill == 0 && self.table.len() == other.table.len() {
            self.table.clone_from(&other.table);
            self.fill = other.fill;
            return;
        }
        if self.fill == 0 {
            for (hash, item) in other.table.iter().flatten() {
                Self::insert_clean(&mut self.table, *hash, *item);
            }
            self.fill = other.fill;
            return;
        }
        for (hash, item) in other.table.iter().flatten() {
            self.add(*hash, *item);
        }
    }

    /// Items in iteration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.table.iter().flatten().map(|&(_, item)| item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_hash_is_python_int_hash() {
        // python3 -c "import uuid; print(hash(uuid.UUID('6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e')))"
        let u = crate::event::EventId::parse("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e").unwrap();
        assert_eq!(py_hash_uuid(u.0), 1_700_057_787_995_697_646);
    }

    /// A set of small ints built with `add` in the given order (hash(x) == x).
    fn built(xs: &[u64]) -> PySet {
        let mut s = PySet::default();
        for &x in xs {
            s.add(x % ((1u64 << 61) - 1), x as u32);
        }
        s
    }

    fn items(s: &PySet) -> Vec<u32> {
        s.iter().collect()
    }

    // Expected orders are CPython 3.11's `list(s)` for the same operations.
    #[test]
    fn adds_collide_and_perturb_like_cpython() {
        assert_eq!(items(&built(&[9, 1, 3])), [9, 3, 1]);
        assert_eq!(
            items(&built(&[17, 33, 2, 49, 65, 81])),
            [65, 2, 33, 17, 49, 81]
        );
        let desc: Vec<u64> = (1..=10).rev().collect();
        assert_eq!(items(&built(&desc)), (1..=10).collect::<Vec<u32>>());
    }

    #[test]
    fn updates_merge_like_cpython() {
        let mut b = PySet::default();
        b.update(&built(&[100, 4]));
        b.update(&built(&[36, 68, 5]));
        assert_eq!(items(&b), [100, 4, 36, 5, 68]);

        let mut c = PySet::default();
        let down: Vec<u64> = (1..=40).rev().step_by(3).collect();
        c.update(&built(&down));
        let big = (1u64 << 61) + 5; // hashes to 6
        let mut extra = PySet::default();
        for x in [1000u64, 7, big] {
            extra.add(
                x % ((1u64 << 61) - 1),
                if x == big { 9999 } else { x as u32 },
            );
        }
        c.update(&extra);
        assert_eq!(
            items(&c),
            [1, 34, 4, 37, 9999, 7, 40, 1000, 10, 13, 16, 19, 22, 25, 28, 31]
        );
    }
}
