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

use crate::store::{Seq, Sorted, Table};

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;
const MIN_SIZE: usize = 8;

/// CPython's `hash()` of a UUID: its 128-bit integer modulo the Mersenne prime 2^61 - 1.
pub(crate) fn py_hash_uuid(uuid: [u8; 16]) -> u64 {
    const P: u128 = (1u128 << 61) - 1;
    (u128::from_be_bytes(uuid) % P) as u64
}

/// One slot of a CPython set table. The hash is not stored: it is computed again from
/// the item when the table is rebuilt (equal items have equal hashes, so comparing
/// items alone finds the same entries CPython's hash-then-equality comparison finds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot<T> {
    /// Never used (`key == NULL`).
    Empty,
    /// Deleted (`key == dummy`): probing goes on past it; `add` reuses the last one
    /// it passed.
    Dummy,
    /// An entry.
    Active(T),
}

/// CPython's `fill` (active + dummy slots) and `used` (active slots) of one table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    fill: u32,
    used: u32,
}

/// The smallest table CPython's `set_table_resize(minused)` makes: the smallest power
/// of two above `minused`, at least 8.
fn table_size(minused: usize) -> usize {
    let mut size = MIN_SIZE;
    while size <= minused {
        size <<= 1;
    }
    size
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

/// `set_insert_clean`: the slot an entry known to be absent takes in a table without
/// dummies whose occupied slots `occupied` tells.
fn clean_slot(hash: u64, mask: usize, occupied: impl Fn(usize) -> bool) -> usize {
    for round in rounds(hash, mask) {
        for j in round {
            if !occupied(j) {
                return j;
            }
        }
    }
    unreachable!("a CPython table always keeps empty slots")
}

/// `set_insert_clean` into `table`.
fn insert_clean<T: Copy>(table: &mut [Slot<T>], hash: u64, item: T) {
    let j = clean_slot(hash, table.len() - 1, |j| !matches!(table[j], Slot::Empty));
    table[j] = Slot::Active(item);
}

/// Where `set_add_entry` puts an item: it is already there, or into the **last**
/// dummy slot passed while probing (CPython overwrites `freeslot` at every dummy),
/// else into the empty slot that ends the probe.
enum AddAt {
    Present,
    Dummy(usize),
    Empty(usize),
}

/// The probe of `set_add_entry`.
fn add_at<T: Copy + PartialEq>(table: &[Slot<T>], hash: u64, item: T) -> AddAt {
    let mut freeslot = None;
    for round in rounds(hash, table.len() - 1) {
        for j in round {
            match table[j] {
                Slot::Empty => return freeslot.map_or(AddAt::Empty(j), AddAt::Dummy),
                Slot::Active(it) if it == item => return AddAt::Present,
                Slot::Active(_) => {}
                Slot::Dummy => freeslot = Some(j),
            }
        }
    }
    // (never reached: a CPython table always keeps empty slots)
    freeslot.map_or(AddAt::Present, AddAt::Dummy)
}

/// `set_add_entry` on a table (see [`add_at`]). Returns the `minused` of the resize
/// CPython then does, if any: the caller rebuilds the table at [`table_size`] of it
/// with [`rehash`].
fn add_in<T: Copy + PartialEq>(
    table: &mut [Slot<T>],
    counts: &mut Counts,
    hash: u64,
    item: T,
) -> Option<usize> {
    match add_at(table, hash, item) {
        AddAt::Present => None,
        AddAt::Dummy(j) => {
            table[j] = Slot::Active(item);
            counts.used += 1;
            None
        }
        AddAt::Empty(j) => {
            table[j] = Slot::Active(item);
            counts.used += 1;
            counts.fill += 1;
            (counts.fill as usize * 5 >= (table.len() - 1) * 3)
                .then(|| resize_minused(counts.used as usize))
        }
    }
}

/// Whether adding `item` to this table would make CPython resize it (an item
/// already present, or one that reuses a dummy slot, does not).
fn add_would_resize<T: Copy + PartialEq>(
    table: &[Slot<T>],
    counts: Counts,
    hash: u64,
    item: T,
) -> bool {
    matches!(add_at(table, hash, item), AddAt::Empty(_))
        && (counts.fill as usize + 1) * 5 >= (table.len() - 1) * 3
}

/// `set_discard_entry`: the item's slot becomes a dummy; which slot, `None` if absent.
fn discard_in<T: Copy + PartialEq>(
    table: &mut [Slot<T>],
    counts: &mut Counts,
    hash: u64,
    item: T,
) -> Option<usize> {
    let mask = table.len() - 1;
    for round in rounds(hash, mask) {
        for j in round {
            match table[j] {
                Slot::Empty => return None,
                Slot::Active(it) if it == item => {
                    table[j] = Slot::Dummy;
                    counts.used -= 1;
                    return Some(j);
                }
                _ => {}
            }
        }
    }
    None
}

/// The slot of `item` in a table, if it is there.
fn find<T: Copy + PartialEq>(table: &[Slot<T>], hash: u64, item: T) -> Option<usize> {
    for round in rounds(hash, table.len() - 1) {
        for j in round {
            match table[j] {
                Slot::Empty => return None,
                Slot::Active(it) if it == item => return Some(j),
                _ => {}
            }
        }
    }
    None
}

/// The rest of `set_table_resize`: the entries of `from`, in slot order, inserted
/// clean into `to` (all empty, a power of two); dummies dropped.
fn rehash<T: Copy>(from: &[Slot<T>], to: &mut [Slot<T>], hash: impl Fn(&T) -> u64) -> Counts {
    let mut used = 0;
    for slot in from {
        if let Slot::Active(item) = *slot {
            insert_clean(to, hash(&item), item);
            used += 1;
        }
    }
    Counts { fill: used, used }
}

/// Items of a table in iteration order.
fn items<T: Copy>(table: &[Slot<T>]) -> impl Iterator<Item = T> + '_ {
    table.iter().filter_map(|slot| match *slot {
        Slot::Active(item) => Some(item),
        _ => None,
    })
}

/// The table as `(size, occupied slots)`: each occupied slot's position with its
/// item, or `None` for a dummy.
fn layout_of<T: Copy>(table: &[Slot<T>]) -> impl Iterator<Item = (u32, Option<T>)> + Clone + '_ {
    table
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| match *slot {
            Slot::Empty => None,
            Slot::Dummy => Some((i as u32, None)),
            Slot::Active(item) => Some((i as u32, Some(item))),
        })
}

/// Checks a table layout CPython could have made: a power of two from 8 to 8 × the
/// occupied slots, positions strictly increasing below it, and at least one slot in
/// 5/3 × the occupied ones empty (CPython's invariant `fill·5 < mask·3`, which also
/// keeps every probe finite). Returns the size.
fn check_layout<T>(size: u32, slots: impl Iterator<Item = (u32, Option<T>)>) -> Option<usize> {
    let size = size as usize;
    let mut fill = 0usize;
    let mut previous: Option<u32> = None;
    for (position, _) in slots {
        if previous.is_some_and(|p| p >= position) || position as usize >= size {
            return None;
        }
        previous = Some(position);
        fill += 1;
    }
    if !size.is_power_of_two() || size < MIN_SIZE || size > fill.saturating_mul(8).max(MIN_SIZE) {
        return None;
    }
    if fill.saturating_mul(5) >= (size - 1).saturating_mul(3) {
        return None;
    }
    Some(size)
}

/// The size of the table `set.copy()` of a set with this table and counts builds:
/// `update` into an empty 8-slot set resizes first when 5 × `used` ≥ 21.
fn copy_size(table_len: usize, counts: Counts) -> usize {
    let used = counts.used as usize;
    let size = if used * 5 >= (MIN_SIZE - 1) * 3 {
        table_size(used * 2)
    } else {
        MIN_SIZE
    };
    if size == table_len && counts.fill == counts.used {
        table_len
    } else {
        size
    }
}

/// The items of `set.copy()` in its iteration order, without building the copy: the
/// copy inserts the items clean, in slot order, into a table of [`copy_size`] (or
/// is the same table when nothing reorders them), so each item's slot in the copy
/// is found by probing over the slots taken so far, marked in the bitmap `taken`
/// (grown to the copy's size: at most twice the table's). `out` receives
/// `(slot in the copy, item)` of the items `keep` accepts, sorted by slot; false,
/// with `out` partly filled, when `taken` or `out` is full.
fn copy_order<T: Copy>(
    table: &[Slot<T>],
    counts: Counts,
    hash: impl Fn(&T) -> u64,
    keep: impl Fn(&T) -> bool,
    taken: &mut impl Seq<u32>,
    out: &mut impl Seq<(u32, T)>,
) -> bool {
    out.clear();
    let size = copy_size(table.len(), counts);
    let same = size == table.len() && counts.fill == counts.used;
    if !same {
        taken.clear();
        while taken.len() * 32 < size {
            if taken.try_push(0).is_err() {
                return false;
            }
        }
    }
    for (i, slot) in table.iter().enumerate() {
        let Slot::Active(item) = *slot else { continue };
        let j = if same {
            i
        } else {
            let j = clean_slot(hash(&item), size - 1, |j| {
                taken[j / 32] & (1 << (j % 32)) != 0
            });
            taken[j / 32] |= 1 << (j % 32);
            j
        };
        if keep(&item) && out.try_push((j as u32, item)).is_err() {
            return false;
        }
    }
    out.sort_unstable_by_key(|&(j, _)| j);
    true
}

/// A CPython set of `(hash, item)` entries with its own table on the heap: `add`,
/// `update` from a set, iteration in slot order (the model the arena tables and
/// [`Union`] are tested against).
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) struct PySet<T = u32> {
    table: alloc::vec::Vec<Slot<(u64, T)>>,
    counts: Counts,
}

#[cfg(test)]
impl<T: Copy + PartialEq> Default for PySet<T> {
    fn default() -> Self {
        PySet {
            table: alloc::vec![Slot::Empty; MIN_SIZE],
            counts: Counts::default(),
        }
    }
}

#[cfg(test)]
impl<T: Copy + PartialEq> PySet<T> {
    /// `set_table_resize(minused)`.
    fn resize(&mut self, minused: usize) {
        let mut table = alloc::vec![Slot::Empty; table_size(minused)];
        self.counts = rehash(&self.table, &mut table, |&(hash, _)| hash);
        self.table = table;
    }

    /// `set.add(item)`.
    pub(crate) fn add(&mut self, hash: u64, item: T) {
        if let Some(minused) = add_in(&mut self.table, &mut self.counts, hash, (hash, item)) {
            self.resize(minused);
        }
    }

    /// `set.update(other)` for a set argument (`set_merge`).
    pub(crate) fn update(&mut self, other: &PySet<T>) {
        if other.counts.used == 0 {
            return;
        }
        let mask = self.table.len() - 1;
        if (self.counts.fill + other.counts.used) as usize * 5 >= mask * 3 {
            self.resize((self.counts.used + other.counts.used) as usize * 2);
        }
        if self.counts.fill == 0
            && self.table.len() == other.table.len()
            && other.counts.fill == other.counts.used
        {
            self.table.clone_from(&other.table);
            self.counts = other.counts;
            return;
        }
        if self.counts.fill == 0 {
            self.counts = rehash(&other.table, &mut self.table, |&(hash, _)| hash);
            return;
        }
        for (hash, item) in items(&other.table) {
            self.add(hash, item);
        }
    }

    /// Items in iteration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        items(&self.table).map(|(_, item)| item)
    }
}

/// The table size of a set made by `n` adds of distinct items (no discards), and
/// the size it had before its last resize (0 if it never resized).
pub(crate) fn built_sizes(n: usize) -> (usize, usize) {
    let (mut size, mut before) = (MIN_SIZE, 0);
    for fill in 1..=n {
        if fill * 5 >= (size - 1) * 3 {
            before = size;
            size = table_size(resize_minused(fill));
        }
    }
    (size, before)
}

/// Grows `buf` (if it can) to at least `slots` slots.
fn grow_to<T: Copy>(buf: &mut impl Seq<ArenaElement<T>>, slots: usize) -> bool {
    while buf.len() * ARENA_ELEMENT < slots {
        if buf.try_push([Slot::Empty; ARENA_ELEMENT]).is_err() {
            return false;
        }
    }
    true
}

/// A CPython set made only by `set()` and `update`s from other sets (Prefect's
/// `candidate_ids`), its table at the front of a scratch buffer of slots; a resize
/// builds the new table behind it, then moves it to the front.
///
/// With `n` items in all the sets merged, its table never takes more than
/// `table_size(4n)` ≤ 8n slots, and a resize needs at most 1.5 times that: a buffer of
/// [`ARENA_ELEMENT`] slots per item always has room.
pub(crate) struct Union {
    size: usize,
    counts: Counts,
}

impl Union {
    /// `set()`: an empty 8-slot table at the front of `buf`; `None` when `buf` has no
    /// room for it.
    pub(crate) fn start<T: Copy>(buf: &mut impl Seq<ArenaElement<T>>) -> Option<Union> {
        if !grow_to(buf, MIN_SIZE) {
            return None;
        }
        buf.as_flattened_mut()[..MIN_SIZE].fill(Slot::Empty);
        Some(Union {
            size: MIN_SIZE,
            counts: Counts::default(),
        })
    }

    /// `set_table_resize(minused)`; false, with the set unchanged, when `buf` has no
    /// room for the new table.
    fn resize<T: Copy>(
        &mut self,
        buf: &mut impl Seq<ArenaElement<T>>,
        minused: usize,
        hash: &impl Fn(&T) -> u64,
    ) -> bool {
        let size = table_size(minused);
        if !grow_to(buf, self.size + size) {
            return false;
        }
        let (old, new) = buf.as_flattened_mut().split_at_mut(self.size);
        let new = &mut new[..size];
        new.fill(Slot::Empty);
        self.counts = rehash(old, new, hash);
        buf.as_flattened_mut()
            .copy_within(self.size..self.size + size, 0);
        self.size = size;
        true
    }

    /// `self.update(other)` for a set `other` with this table and counts
    /// (`set_merge`, its fast paths included: an empty set takes the other's layout
    /// when the sizes match, else inserts its items clean); false (the set then
    /// partly merged) when `buf` has no room.
    pub(crate) fn update<T: Copy + PartialEq>(
        &mut self,
        buf: &mut impl Seq<ArenaElement<T>>,
        other: &[Slot<T>],
        other_counts: Counts,
        hash: impl Fn(&T) -> u64,
    ) -> bool {
        if other_counts.used == 0 {
            return true;
        }
        if (self.counts.fill + other_counts.used) as usize * 5 >= (self.size - 1) * 3
            && !self.resize(
                buf,
                (self.counts.used + other_counts.used) as usize * 2,
                &hash,
            )
        {
            return false;
        }
        let table = &mut buf.as_flattened_mut()[..self.size];
        if self.counts.fill == 0
            && self.size == other.len()
            && other_counts.fill == other_counts.used
        {
            table.copy_from_slice(other);
            self.counts = other_counts;
            return true;
        }
        if self.counts.fill == 0 {
            self.counts = rehash(other, table, &hash);
            return true;
        }
        for item in items(other) {
            let table = &mut buf.as_flattened_mut()[..self.size];
            if let Some(minused) = add_in(table, &mut self.counts, hash(&item), item) {
                if !self.resize(buf, minused, &hash) {
                    return false;
                }
            }
        }
        true
    }

    /// Where `item` comes in the set's iteration order (its slot), if it is there.
    pub(crate) fn position<T: Copy + PartialEq>(
        &self,
        buf: &impl Seq<ArenaElement<T>>,
        hash: u64,
        item: T,
    ) -> Option<usize> {
        find(&buf.as_flattened()[..self.size], hash, item)
    }

    /// The items in iteration order.
    #[cfg(test)]
    pub(crate) fn iter<'a, T: Copy + 'a>(
        &self,
        buf: &'a impl Seq<ArenaElement<T>>,
    ) -> impl Iterator<Item = T> + 'a {
        items(&buf.as_flattened()[..self.size])
    }
}

/// Slots per element of a [`SetArena`]'s storage: two of the smallest table.
pub(crate) const ARENA_ELEMENT: usize = 2 * MIN_SIZE;

/// One element of a [`SetArena`]'s storage.
pub(crate) type ArenaElement<T> = [Slot<T>; ARENA_ELEMENT];

/// Where one set of a [`SetArena`] has its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetEntry {
    /// First slot of the table in the arena.
    start: u32,
    /// Table size (a power of two, at least 8).
    size: u32,
    counts: Counts,
    /// How many times the table was rebuilt (see [`SetArena::undiscard`]).
    epoch: u32,
}

/// Where [`SetArena::discard_at`] found an item: its slot in a table of that epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Discarded {
    slot: u32,
    epoch: u32,
}

/// Many CPython sets, one per key `K`, with their tables in one arena of slots: no
/// allocation per set, so it works on fixed storage.
///
/// Tables are carved from the end of the arena; a table given up (its set resized or
/// emptied) leaves a hole, and the arena is compacted (live tables moved down, in
/// order of position) when a new table does not fit at the end, or, when it grows,
/// once the holes take more room than the live tables. A fixed arena of `n` slots
/// therefore takes any tables of at most `n` slots in all.
pub(crate) struct SetArena<K, T, M, O, A> {
    sets: M,
    /// Start slot → key, for compaction in order of position.
    by_start: O,
    /// The slots, [`ARENA_ELEMENT`] per element.
    slots: A,
    /// Slots in use from the front (live tables and holes).
    end: usize,
    /// Slots of live tables.
    live: usize,
    marker: core::marker::PhantomData<fn() -> (K, T)>,
}

impl<K, T, M: Default, O: Default, A: Default> Default for SetArena<K, T, M, O, A> {
    fn default() -> Self {
        SetArena {
            sets: M::default(),
            by_start: O::default(),
            slots: A::default(),
            end: 0,
            live: 0,
            marker: core::marker::PhantomData,
        }
    }
}

impl<K, T, M, O, A> SetArena<K, T, M, O, A>
where
    K: Copy + Eq + core::hash::Hash,
    T: Copy + PartialEq,
    M: Table<K, SetEntry>,
    O: Sorted<u32, K>,
    A: Seq<ArenaElement<T>>,
{
    fn flat(&self) -> &[Slot<T>] {
        self.slots.as_flattened()
    }

    fn table(&self, e: &SetEntry) -> &[Slot<T>] {
        &self.flat()[e.start as usize..(e.start + e.size) as usize]
    }

    /// The items of `key`'s set in iteration order (none if it has no set).
    pub(crate) fn iter(&self, key: &K) -> impl Iterator<Item = T> + '_ {
        let table = match self.sets.get(key) {
            Some(e) => self.table(e),
            None => &[],
        };
        items(table)
    }

    /// `key`'s table and counts (for [`Union::update`]).
    pub(crate) fn table_of(&self, key: &K) -> Option<(&[Slot<T>], Counts)> {
        self.sets.get(key).map(|e| (self.table(e), e.counts))
    }

    /// The most sets and the most slots it holds (`None`: it grows).
    pub(crate) fn bounds(&self) -> (Option<usize>, Option<usize>) {
        let sets = match (self.sets.max_len(), self.by_start.max_len()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let slots = self
            .slots
            .max_len()
            .map(|e| e.saturating_mul(ARENA_ELEMENT));
        (sets, slots)
    }

    /// Drops every set.
    pub(crate) fn clear(&mut self) {
        self.sets.clear();
        self.by_start.clear();
        self.slots.clear();
        self.end = 0;
        self.live = 0;
    }

    /// `key`'s set as `(table size, occupied slots)` (see [`PySet::layout`]), if it
    /// has one.
    pub(crate) fn layout(
        &self,
        key: &K,
    ) -> Option<(u32, impl Iterator<Item = (u32, Option<T>)> + Clone + '_)> {
        let e = self.sets.get(key)?;
        Some((e.size, layout_of(self.table(e))))
    }

    /// Every set as `(key, table size, occupied slots)` (see [`PySet::layout`]), in no
    /// particular order.
    #[allow(clippy::type_complexity)]
    pub(crate) fn layouts(
        &self,
    ) -> impl Iterator<Item = (K, u32, impl Iterator<Item = (u32, Option<T>)> + '_)> + '_ {
        self.sets
            .iter()
            .map(|(k, e)| (*k, e.size, layout_of(self.table(e))))
    }

    /// The items `keep` accepts of `set.copy()` of `key`'s set, in the copy's
    /// iteration order, into `out` as `(slot in the copy, item)` (see
    /// [`copy_order`]); false when `taken` or `out` is too small (a bitmap of 32 bits
    /// per element of `taken` for twice the arena's slots never is).
    pub(crate) fn copy_order(
        &self,
        key: &K,
        hash: impl Fn(&T) -> u64,
        keep: impl Fn(&T) -> bool,
        taken: &mut impl Seq<u32>,
        out: &mut impl Seq<(u32, T)>,
    ) -> bool {
        match self.sets.get(key) {
            Some(e) => copy_order(self.table(e), e.counts, hash, keep, taken, out),
            None => {
                out.clear();
                true
            }
        }
    }

    /// Whether there is room for another table, of `size` slots.
    fn room_for(&self, size: usize) -> bool {
        self.slots
            .max_len()
            .is_none_or(|elements| self.live + size <= elements.saturating_mul(ARENA_ELEMENT))
            && self
                .by_start
                .max_len()
                .is_none_or(|m| self.by_start.len() < m)
    }

    /// Whether `item` can be added to `key`'s set (a new set or a resize needs room
    /// for a new table).
    pub(crate) fn room_to_add(&self, key: &K, item: T, hash: u64) -> bool {
        match self.sets.get(key) {
            None => {
                self.sets.max_len().is_none_or(|m| self.sets.len() < m) && self.room_for(MIN_SIZE)
            }
            Some(e) => {
                !add_would_resize(self.table(e), e.counts, hash, item)
                    || self.room_for(table_size(resize_minused(e.counts.used as usize + 1)))
            }
        }
    }

    /// Moves every live table down to close the holes.
    fn compact(&mut self) {
        let mut cursor = 0usize;
        let mut from = 0u32;
        while let Some((&start, &key)) = self.by_start.first_from(&from) {
            let Some(e) = self.sets.get_mut(&key) else {
                break;
            };
            let size = e.size as usize;
            if start as usize != cursor {
                e.start = cursor as u32;
                let at = start as usize;
                self.slots
                    .as_flattened_mut()
                    .copy_within(at..at + size, cursor);
                self.by_start.remove(&start);
                // (one entry was just removed: it fits)
                let _ = self.by_start.try_insert(cursor as u32, key);
            }
            cursor += size;
            from = cursor as u32;
        }
        self.end = cursor;
    }

    /// A new table of `size` empty slots for `key`; its start, or `None` when the
    /// arena has no room (nothing changed).
    fn carve(&mut self, key: K, size: usize) -> Option<u32> {
        if !self.room_for(size) || u32::try_from(self.end + size).is_err() {
            return None;
        }
        if self.end + size > self.slots.len() * ARENA_ELEMENT {
            let holes = self.end - self.live;
            let can_grow = self
                .slots
                .max_len()
                .is_none_or(|m| (self.end + size).div_ceil(ARENA_ELEMENT) <= m);
            if !can_grow || holes > self.live {
                self.compact();
            }
        }
        while self.end + size > self.slots.len() * ARENA_ELEMENT {
            self.slots.try_push([Slot::Empty; ARENA_ELEMENT]).ok()?;
        }
        let start = self.end;
        self.by_start.try_insert(start as u32, key).ok()?;
        self.slots.as_flattened_mut()[start..start + size].fill(Slot::Empty);
        self.end += size;
        self.live += size;
        Some(start as u32)
    }

    /// Gives up the table at `start` of `size` slots.
    fn release(&mut self, start: u32, size: u32) {
        self.by_start.remove(&start);
        self.live -= size as usize;
        if (start + size) as usize == self.end {
            self.end = start as usize;
        }
        if self.live == 0 {
            self.end = 0;
        }
    }

    /// `sets[key].add(item)`, creating the set; false, with nothing changed, when the
    /// arena or the set table is full.
    pub(crate) fn add(&mut self, key: K, item: T, hash: impl Fn(&T) -> u64) -> bool {
        let h = hash(&item);
        if !self.room_to_add(&key, item, h) {
            return false;
        }
        let mut e = match self.sets.get(&key) {
            Some(e) => *e,
            None => {
                let Some(start) = self.carve(key, MIN_SIZE) else {
                    return false;
                };
                let e = SetEntry {
                    start,
                    size: MIN_SIZE as u32,
                    counts: Counts::default(),
                    epoch: 0,
                };
                if self.sets.try_insert(key, e).is_err() {
                    self.release(start, MIN_SIZE as u32);
                    return false;
                }
                e
            }
        };
        let range = e.start as usize..(e.start + e.size) as usize;
        let resize = add_in(
            &mut self.slots.as_flattened_mut()[range],
            &mut e.counts,
            h,
            item,
        );
        if let Some(minused) = resize {
            let size = table_size(minused);
            // (room was checked above)
            if let Some(start) = self.carve(key, size) {
                // carving may have compacted: the old table's start is in `sets`
                let old = self.sets.get(&key).map_or(e.start, |o| o.start);
                let (lo, hi) = self.slots.as_flattened_mut().split_at_mut(start as usize);
                e.counts = rehash(
                    &lo[old as usize..(old + e.size) as usize],
                    &mut hi[..size],
                    &hash,
                );
                self.release(old, e.size);
                e.start = start;
                e.size = size as u32;
                e.epoch = e.epoch.wrapping_add(1);
            }
        }
        if let Some(slot) = self.sets.get_mut(&key) {
            *slot = e;
        }
        true
    }

    /// `sets[key].discard(item)`; false if absent.
    pub(crate) fn discard(&mut self, key: &K, item: T, hash: u64) -> bool {
        self.discard_at(key, item, hash).is_some()
    }

    /// [`discard`](Self::discard), telling where the item was (for
    /// [`undiscard`](Self::undiscard)).
    pub(crate) fn discard_at(&mut self, key: &K, item: T, hash: u64) -> Option<Discarded> {
        let e = self.sets.get(key).copied()?;
        let mut counts = e.counts;
        let range = e.start as usize..(e.start + e.size) as usize;
        let slot = discard_in(
            &mut self.slots.as_flattened_mut()[range],
            &mut counts,
            hash,
            item,
        )?;
        if let Some(entry) = self.sets.get_mut(key) {
            entry.counts = counts;
        }
        Some(Discarded {
            slot: slot as u32,
            epoch: e.epoch,
        })
    }

    /// Undoes a [`discard_at`](Self::discard_at): the item back in the slot it left,
    /// when the table was not rebuilt since and the slot is still a dummy (then
    /// nothing else changed in CPython's terms); false otherwise, changing nothing.
    pub(crate) fn undiscard(&mut self, key: &K, item: T, at: Discarded) -> bool {
        let Some(e) = self.sets.get(key).copied() else {
            return false;
        };
        if e.epoch != at.epoch || at.slot >= e.size {
            return false;
        }
        let i = (e.start + at.slot) as usize;
        let flat = self.slots.as_flattened_mut();
        if flat[i] != Slot::Dummy {
            return false;
        }
        flat[i] = Slot::Active(item);
        if let Some(entry) = self.sets.get_mut(key) {
            entry.counts.used += 1;
        }
        true
    }

    /// Drops `key`'s set if it has no items (`del sets[key]`).
    pub(crate) fn remove_if_empty(&mut self, key: &K) {
        if let Some(e) = self.sets.get(key).copied().filter(|e| e.counts.used == 0) {
            self.sets.remove(key);
            self.release(e.start, e.size);
        }
    }

    /// Adds `key`'s set with exactly this layout (see [`PySet::from_layout`]); `None`
    /// (the arena possibly holding part of it: discard the arena) unless CPython could
    /// have made it, the key is new and it fits.
    pub(crate) fn insert_layout(
        &mut self,
        key: K,
        size: u32,
        slots: impl Iterator<Item = (u32, Option<T>)> + Clone,
    ) -> Option<()> {
        let size = check_layout(size, slots.clone())?;
        if self.sets.contains_key(&key) {
            return None;
        }
        let start = self.carve(key, size)?;
        let (mut used, mut fill) = (0, 0);
        let table = &mut self.slots.as_flattened_mut()[start as usize..start as usize + size];
        for (position, item) in slots {
            fill += 1;
            table[position as usize] = match item {
                Some(item) => {
                    used += 1;
                    Slot::Active(item)
                }
                None => Slot::Dummy,
            };
        }
        let counts = Counts { fill, used };
        if used == 0 {
            // CPython drops nothing, but an empty set is never kept here
            return None;
        }
        self.sets
            .try_insert(
                key,
                SetEntry {
                    start,
                    size: size as u32,
                    counts,
                    epoch: 0,
                },
            )
            .ok()?;
        Some(())
    }
}

/// CPython's `minused` for a resize when a table reaches `used` items.
fn resize_minused(used: usize) -> usize {
    if used > 50_000 {
        used * 2
    } else {
        used * 4
    }
}

#[cfg(test)]
mod cases;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::FxHashMap;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    #[test]
    fn uuid_hash_is_python_int_hash() {
        // python3 -c "import uuid; print(hash(uuid.UUID('6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e')))"
        let u = crate::event::EventId::parse("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e").unwrap();
        assert_eq!(py_hash_uuid(u.0), 1_700_057_787_995_697_646);
    }

    /// `hash(x)` of a Python int.
    fn int_hash(x: &u64) -> u64 {
        x % ((1u64 << 61) - 1)
    }

    /// A set of small ints built with `add` in the given order.
    fn built(xs: &[u64]) -> PySet {
        let mut s = PySet::default();
        for &x in xs {
            s.add(int_hash(&x), x as u32);
        }
        s
    }

    fn items(s: &PySet) -> Vec<u32> {
        s.iter().collect()
    }

    type Arena =
        SetArena<u8, u64, FxHashMap<u8, SetEntry>, BTreeMap<u32, u8>, Vec<ArenaElement<u64>>>;
    type FixedArena = SetArena<
        u8,
        u64,
        crate::store::FlatMap<u8, SetEntry, 4>,
        crate::store::SortedSeq<u32, u8, 4>,
        heapless::Vec<ArenaElement<u64>, 12>,
    >;

    fn copy_of<M, O, A>(arena: &SetArena<u8, u64, M, O, A>, key: u8) -> Vec<u64>
    where
        M: Table<u8, SetEntry>,
        O: Sorted<u32, u8>,
        A: Seq<ArenaElement<u64>>,
    {
        let (mut taken, mut out) = (Vec::new(), Vec::new());
        assert!(arena.copy_order(&key, int_hash, |_| true, &mut taken, &mut out));
        out.into_iter().map(|(_, x)| x).collect()
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

    /// Plays every case on key `key` of the arena (other keys' sets around it move
    /// the tables) and checks `list(s)` and `list(s.copy())`.
    fn play_cases<M, O, A>(arena: &mut SetArena<u8, u64, M, O, A>, neighbours: bool)
    where
        M: Table<u8, SetEntry>,
        O: Sorted<u32, u8>,
        A: Seq<ArenaElement<u64>>,
    {
        let mut copies_differ = 0;
        for (n, (ops, expected, expected_copy)) in super::cases::SET_CASES.iter().enumerate() {
            let key = (n % 3) as u8;
            for &(op, x) in *ops {
                if op == 0 {
                    assert!(arena.add(key, x, int_hash), "case {n}: room to add");
                } else {
                    arena.discard(&key, x, int_hash(&x));
                }
                if neighbours && x % 7 == 0 {
                    // another set grows and shrinks meanwhile: holes and compaction
                    assert!(arena.add(3, x, int_hash));
                    if x % 2 == 0 {
                        arena.discard(&3, x, int_hash(&x));
                    }
                }
            }
            assert_eq!(
                arena.iter(&key).collect::<Vec<_>>(),
                *expected,
                "case {n}: list(s)"
            );
            assert_eq!(copy_of(arena, key), *expected_copy, "case {n}: s.copy()");
            copies_differ += usize::from(expected != expected_copy);
            for x in expected.iter() {
                assert!(arena.discard(&key, *x, int_hash(x)));
            }
            arena.remove_if_empty(&key);
            assert_eq!(arena.iter(&key).count(), 0, "case {n}: emptied");
        }
        assert!(copies_differ > 5, "the cases exercise copies that reorder");
    }

    #[test]
    fn arena_sets_add_discard_and_copy_like_cpython() {
        play_cases(&mut Arena::default(), false);
        play_cases(&mut Arena::default(), true);
    }

    #[test]
    fn fixed_arena_sets_add_discard_and_copy_like_cpython() {
        let mut arena = FixedArena::default();
        play_cases(&mut arena, false);
    }

    #[test]
    fn a_fixed_arena_compacting_behaves_as_a_growable_one() {
        let mut fixed = FixedArena::default();
        let mut growable = Arena::default();
        let mut rng = crate::test_rng::Rng(0x2545_f491);
        for step in 0..50_000 {
            let state = rng.next();
            let (key, x) = ((state % 4) as u8, u64::from(state >> 8) % 40);
            if (state >> 20).is_multiple_of(3) {
                assert_eq!(
                    fixed.discard(&key, x, int_hash(&x)),
                    growable.discard(&key, x, int_hash(&x))
                );
                fixed.remove_if_empty(&key);
                growable.remove_if_empty(&key);
            } else if fixed.room_to_add(&key, x, int_hash(&x)) {
                assert!(fixed.add(key, x, int_hash), "step {step}");
                assert!(growable.add(key, x, int_hash));
            } else {
                assert!(!fixed.add(key, x, int_hash), "step {step}");
            }
            for k in 0..4 {
                assert_eq!(
                    fixed.iter(&k).collect::<Vec<_>>(),
                    growable.iter(&k).collect::<Vec<_>>(),
                    "step {step}, key {k}"
                );
            }
        }
    }

    #[test]
    fn a_full_fixed_arena_refuses_without_changing_anything() {
        // 12 elements = 192 slots: a set of 19 items needs a 128-slot table after
        // its 32-slot one, 160 at once; two such sets do not fit
        let mut arena = FixedArena::default();
        for x in 0..19 {
            assert!(arena.add(0, x, int_hash));
        }
        let mut refused = None;
        for x in 100..119 {
            if !arena.room_to_add(&1, x, int_hash(&x)) {
                assert!(!arena.add(1, x, int_hash));
                refused = Some(x);
                break;
            }
            assert!(arena.add(1, x, int_hash));
        }
        let refused = refused.expect("the second set runs out of room");
        assert_eq!(arena.iter(&0).count(), 19, "the first set is intact");
        assert_eq!(arena.iter(&1).count() as u64, refused - 100);
        assert!(!arena.iter(&1).any(|x| x == refused));
        // emptying the first set makes room
        for x in 0..19 {
            assert!(arena.discard(&0, x, int_hash(&x)));
        }
        assert!(
            !arena.add(1, refused, int_hash),
            "an empty set keeps its table"
        );
        arena.remove_if_empty(&0);
        assert!(arena.add(1, refused, int_hash));
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
