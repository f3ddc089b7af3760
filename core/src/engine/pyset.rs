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

/// One slot of a [`PySet`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot<T> {
    /// Never used (`key == NULL`).
    Empty,
    /// Deleted (`key == dummy`): probing goes on past it; `add` reuses the last one
    /// it passed.
    Dummy,
    /// An entry with its hash.
    Active(u64, T),
}

/// A CPython set of `(hash, item)` entries: `add`, `discard`, `update` from a set,
/// `copy`, iteration in slot order.
#[derive(Clone, Debug)]
pub(crate) struct PySet<T = u32> {
    table: Vec<Slot<T>>,
    /// Active + dummy slots.
    fill: usize,
    /// Active slots.
    used: usize,
}

impl<T: Copy + PartialEq> Default for PySet<T> {
    fn default() -> Self {
        PySet {
            table: vec![Slot::Empty; MIN_SIZE],
            fill: 0,
            used: 0,
        }
    }
}

impl<T: Copy + PartialEq> PySet<T> {
    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// The probe sequence from `hash`: `(first slot, linear probes)` of each round.
    fn rounds(hash: u64, mask: usize) -> impl Iterator<Item = core::ops::RangeInclusive<usize>> {
        let mut perturb = hash as usize;
        let mut i = hash as usize & mask;
        let mut first = true;
        core::iter::from_fn(move || {
            if !first {
                perturb >>= PERTURB_SHIFT;
                i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
            }
            first = false;
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            Some(i..=i + probes)
        })
    }

    /// `set_insert_clean`: places an entry known to be absent in a table without
    /// dummies, without resizing.
    fn insert_clean(table: &mut [Slot<T>], hash: u64, item: T) {
        let mask = table.len() - 1;
        for round in Self::rounds(hash, mask) {
            for j in round {
                if table[j] == Slot::Empty {
                    table[j] = Slot::Active(hash, item);
                    return;
                }
            }
        }
    }

    /// `set_table_resize(minused)`: a table of the smallest power of two above
    /// `minused` (at least 8), entries re-inserted in slot order, dummies dropped.
    fn resize(&mut self, minused: usize) {
        let mut size = MIN_SIZE;
        while size <= minused {
            size <<= 1;
        }
        let old = core::mem::replace(&mut self.table, vec![Slot::Empty; size]);
        for slot in old {
            if let Slot::Active(hash, item) = slot {
                Self::insert_clean(&mut self.table, hash, item);
            }
        }
        self.fill = self.used;
    }

    /// `set_add_entry`: an absent item goes into the **last** dummy slot passed while
    /// probing (CPython overwrites `freeslot` at every dummy), else into the empty slot
    /// that ends the probe (then the table may grow).
    pub(crate) fn add(&mut self, hash: u64, item: T) {
        let mask = self.mask();
        let mut freeslot = None;
        let mut unused = None;
        'probe: for round in Self::rounds(hash, mask) {
            for j in round {
                match self.table[j] {
                    Slot::Empty => {
                        unused = Some(j);
                        break 'probe;
                    }
                    Slot::Active(h, it) if h == hash && it == item => return,
                    Slot::Active(..) => {}
                    Slot::Dummy => freeslot = Some(j),
                }
            }
        }
        self.used += 1;
        if let Some(j) = freeslot {
            self.table[j] = Slot::Active(hash, item);
            return;
        }
        let Some(j) = unused else { return };
        self.table[j] = Slot::Active(hash, item);
        self.fill += 1;
        if self.fill * 5 >= mask * 3 {
            let used = self.used;
            self.resize(if used > 50_000 { used * 2 } else { used * 4 });
        }
    }

    /// `set_discard_entry`: the item's slot becomes a dummy; false if absent.
    pub(crate) fn discard(&mut self, hash: u64, item: T) -> bool {
        let mask = self.mask();
        for round in Self::rounds(hash, mask) {
            for j in round {
                match self.table[j] {
                    Slot::Empty => return false,
                    Slot::Active(h, it) if h == hash && it == item => {
                        self.table[j] = Slot::Dummy;
                        self.used -= 1;
                        return true;
                    }
                    _ => {}
                }
            }
        }
        false
    }

    /// `set.update(other)` for a set argument (`set_merge`).
    pub(crate) fn update(&mut self, other: &PySet<T>) {
        if other.used == 0 {
            return;
        }
        if (self.fill + other.used) * 5 >= self.mask() * 3 {
            self.resize((self.used + other.used) * 2);
        }
        if self.fill == 0 && self.table.len() == other.table.len() && other.fill == other.used {
            self.table.clone_from(&other.table);
            self.fill = other.fill;
            self.used = other.used;
            return;
        }
        if self.fill == 0 {
            for slot in &other.table {
                if let Slot::Active(hash, item) = *slot {
                    Self::insert_clean(&mut self.table, hash, item);
                }
            }
            self.fill = other.used;
            self.used = other.used;
            return;
        }
        for slot in &other.table {
            if let Slot::Active(hash, item) = *slot {
                self.add(hash, item);
            }
        }
    }

    /// `set.copy()`: a new set `update`d from this one (its layout can differ).
    pub(crate) fn copy(&self) -> PySet<T> {
        let mut out = PySet::default();
        out.update(self);
        out
    }

    /// The table as `(size, occupied slots)`: each occupied slot's position with its
    /// item, or `None` for a dummy. [`from_layout`](Self::from_layout) rebuilds it.
    pub(crate) fn layout(&self) -> (u32, Vec<(u32, Option<T>)>) {
        let slots = self
            .table
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| match *slot {
                Slot::Empty => None,
                Slot::Dummy => Some((i as u32, None)),
                Slot::Active(_, item) => Some((i as u32, Some(item))),
            })
            .collect();
        (self.table.len() as u32, slots)
    }

    /// The set with exactly this [`layout`](Self::layout), `hash` giving each item's
    /// hash; `None` unless the size is a power of two from 8 to 8 × the occupied
    /// slots, positions strictly increase below it, and at least one slot in
    /// 5/3 × the occupied ones stays empty (CPython's invariant `fill·5 < mask·3`,
    /// which also keeps every probe finite).
    pub(crate) fn from_layout(
        size: u32,
        slots: &[(u32, Option<T>)],
        hash: impl Fn(&T) -> u64,
    ) -> Option<PySet<T>> {
        let size = size as usize;
        let fill = slots.len();
        if !size.is_power_of_two() || size < MIN_SIZE || size > fill.saturating_mul(8).max(MIN_SIZE)
        {
            return None;
        }
        if fill.saturating_mul(5) >= (size - 1).saturating_mul(3) {
            return None;
        }
        let mut table = vec![Slot::Empty; size];
        let mut used = 0;
        let mut previous: Option<u32> = None;
        for &(position, item) in slots {
            if previous.is_some_and(|p| p >= position) || position as usize >= size {
                return None;
            }
            previous = Some(position);
            table[position as usize] = match item {
                Some(item) => {
                    used += 1;
                    Slot::Active(hash(&item), item)
                }
                None => Slot::Dummy,
            };
        }
        Some(PySet { table, fill, used })
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    /// Items in iteration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.table.iter().filter_map(|slot| match *slot {
            Slot::Active(_, item) => Some(item),
            _ => None,
        })
    }
}

#[cfg(test)]
mod cases;

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
    fn adds_discards_and_copies_iterate_like_cpython() {
        let mut copies_differ = 0;
        for (n, (ops, expected, expected_copy)) in super::cases::SET_CASES.iter().enumerate() {
            let mut s: PySet<u64> = PySet::default();
            for &(op, x) in *ops {
                let hash = x % ((1u64 << 61) - 1);
                match op {
                    0 => s.add(hash, x),
                    _ => {
                        s.discard(hash, x);
                    }
                }
            }
            assert_eq!(s.iter().collect::<Vec<_>>(), *expected, "case {n}: list(s)");
            assert_eq!(s.len(), expected.len(), "case {n}: len(s)");
            let copy = s.copy();
            assert_eq!(
                copy.iter().collect::<Vec<_>>(),
                *expected_copy,
                "case {n}: s.copy()"
            );
            copies_differ += usize::from(expected != expected_copy);
        }
        assert!(copies_differ > 5, "the cases exercise copies that reorder");
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
