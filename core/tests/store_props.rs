//! The fixed-capacity containers of `overdue_core::store` against `std` models:
//! `cargo test -p overdue-core --test store_props`.
//!
//! Each case is a random sequence of operations applied, step by step, to the fixed
//! container (through the store traits) and to a `std` model that refuses a new
//! element when it already holds the container's capacity. After every step the
//! results and the whole contents must agree.
//!
//! - [`FlatMap`] (`Table`) against `HashMap`, with capacities 8 and 64;
//! - [`SortedSeq`] (`Sorted`) against `BTreeMap`, with capacity 8;
//! - `heapless::Deque` (`Queue`) against `VecDeque`, and `heapless::Vec` (`Seq`)
//!   against `Vec`, with capacity 4.

use std::collections::{BTreeMap, HashMap, VecDeque};

use overdue_core::store::{FlatMap, Queue, Seq, Sorted, SortedSeq, Table};
use proptest::prelude::*;

// ------------------------------------------------------------------ maps

/// One operation on a map.
#[derive(Clone, Debug)]
enum MapOp {
    Insert(u16, u32),
    Remove(u16),
    Get(u16),
    /// Adds to the value through `get_mut` (tables only; a `get` for sorted maps).
    Bump(u16, u32),
    /// `first` (sorted maps only; a no-op for tables).
    First,
    /// `first_from` (sorted maps only; `contains_key` for tables).
    FirstFrom(u16),
    Clear,
}

/// Up to `max_len` operations on keys in `0..keys`: few enough distinct keys that the
/// map fills up, collides and empties again. A `clear` comes about once every
/// `220 / clear_weight` operations, so that the larger maps get to fill up.
fn map_ops(keys: u16, max_len: usize, clear_weight: u32) -> impl Strategy<Value = Vec<MapOp>> {
    let op = prop_oneof![
        80 => (0..keys, any::<u32>()).prop_map(|(k, v)| MapOp::Insert(k, v)),
        50 => (0..keys).prop_map(MapOp::Remove),
        30 => (0..keys).prop_map(MapOp::Get),
        20 => (0..keys, any::<u32>()).prop_map(|(k, v)| MapOp::Bump(k, v)),
        10 => Just(MapOp::First),
        30 => (0..keys + 2).prop_map(MapOp::FirstFrom),
        clear_weight => Just(MapOp::Clear),
    ];
    prop::collection::vec(op, 0..max_len)
}

/// Runs `ops` on a fresh `T` and a `HashMap` that holds at most `cap` keys.
fn check_table<T: Table<u16, u32>>(ops: &[MapOp], cap: usize) -> Result<(), TestCaseError> {
    let mut table = T::default();
    let mut model: HashMap<u16, u32> = HashMap::new();
    prop_assert_eq!(table.max_len(), Some(cap));
    for (step, op) in ops.iter().enumerate() {
        match *op {
            MapOp::Insert(k, v) => {
                let got = table.try_insert(k, v);
                if model.contains_key(&k) || model.len() < cap {
                    prop_assert_eq!(got, Ok(model.insert(k, v)), "step {}: {:?}", step, op);
                } else {
                    prop_assert_eq!(got, Err((k, v)), "step {}: {:?}", step, op);
                }
            }
            MapOp::Remove(k) => {
                prop_assert_eq!(
                    table.remove(&k),
                    model.remove(&k),
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            MapOp::Get(k) => {
                prop_assert_eq!(table.get(&k), model.get(&k), "step {}: {:?}", step, op);
            }
            MapOp::Bump(k, v) => {
                let got = table.get_mut(&k).map(|x| {
                    *x = x.wrapping_add(v);
                    *x
                });
                let want = model.get_mut(&k).map(|x| {
                    *x = x.wrapping_add(v);
                    *x
                });
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
            }
            MapOp::First => {}
            MapOp::FirstFrom(k) => {
                prop_assert_eq!(
                    table.contains_key(&k),
                    model.contains_key(&k),
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            MapOp::Clear => {
                table.clear();
                model.clear();
            }
        }
        prop_assert_eq!(table.len(), model.len(), "step {}: {:?}", step, op);
        prop_assert_eq!(table.is_empty(), model.is_empty());
        let iter = table.iter();
        prop_assert_eq!(iter.size_hint(), (model.len(), Some(model.len())));
        let mut seen: Vec<(u16, u32)> = iter.map(|(&k, &v)| (k, v)).collect();
        seen.sort_unstable();
        let mut want: Vec<(u16, u32)> = model.iter().map(|(&k, &v)| (k, v)).collect();
        want.sort_unstable();
        // Sorted and equal: every entry exactly once.
        prop_assert_eq!(seen, want, "step {}: {:?}", step, op);
    }
    // Every key the model has is found; no other key is.
    for k in 0..=300 {
        prop_assert_eq!(table.get(&k), model.get(&k), "final get {}", k);
    }
    Ok(())
}

/// Runs `ops` on a fresh `T` and a `BTreeMap` that holds at most `cap` keys.
fn check_sorted<T: Sorted<u16, u32>>(ops: &[MapOp], cap: usize) -> Result<(), TestCaseError> {
    let mut map = T::default();
    let mut model: BTreeMap<u16, u32> = BTreeMap::new();
    prop_assert_eq!(map.max_len(), Some(cap));
    for (step, op) in ops.iter().enumerate() {
        match *op {
            MapOp::Insert(k, v) => {
                let got = map.try_insert(k, v);
                if model.contains_key(&k) || model.len() < cap {
                    prop_assert_eq!(got, Ok(model.insert(k, v)), "step {}: {:?}", step, op);
                } else {
                    prop_assert_eq!(got, Err((k, v)), "step {}: {:?}", step, op);
                }
            }
            MapOp::Remove(k) => {
                prop_assert_eq!(map.remove(&k), model.remove(&k), "step {}: {:?}", step, op);
            }
            MapOp::Get(k) | MapOp::Bump(k, _) => {
                prop_assert_eq!(map.get(&k), model.get(&k), "step {}: {:?}", step, op);
            }
            MapOp::First => {
                prop_assert_eq!(map.first(), model.first_key_value(), "step {}", step);
            }
            MapOp::FirstFrom(k) => {
                prop_assert_eq!(
                    map.first_from(&k),
                    model.range(k..).next(),
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            MapOp::Clear => {
                map.clear();
                model.clear();
            }
        }
        prop_assert_eq!(map.len(), model.len(), "step {}: {:?}", step, op);
        prop_assert_eq!(map.is_empty(), model.is_empty());
        // In key order, every entry exactly once.
        prop_assert!(map.iter().eq(model.iter()), "step {}: {:?}", step, op);
    }
    Ok(())
}

// ------------------------------------------------------------------ queue

/// One operation on a queue.
#[derive(Clone, Debug)]
enum QueueOp {
    PushBack(u32),
    PushFront(u32),
    PopFront,
    Front,
    Clear,
}

fn queue_ops() -> impl Strategy<Value = Vec<QueueOp>> {
    let op = prop_oneof![
        4 => any::<u32>().prop_map(QueueOp::PushBack),
        2 => any::<u32>().prop_map(QueueOp::PushFront),
        4 => Just(QueueOp::PopFront),
        1 => Just(QueueOp::Front),
        1 => Just(QueueOp::Clear),
    ];
    prop::collection::vec(op, 0..64)
}

/// Runs `ops` on a fresh `Q` and a `VecDeque` that holds at most `cap` elements.
fn check_queue<Q: Queue<u32>>(ops: &[QueueOp], cap: usize) -> Result<(), TestCaseError> {
    let mut queue = Q::default();
    let mut model: VecDeque<u32> = VecDeque::new();
    prop_assert_eq!(queue.max_len(), Some(cap));
    for (step, op) in ops.iter().enumerate() {
        match *op {
            QueueOp::PushBack(v) => {
                let want = if model.len() < cap {
                    model.push_back(v);
                    Ok(())
                } else {
                    Err(v)
                };
                prop_assert_eq!(queue.try_push_back(v), want, "step {}", step);
            }
            QueueOp::PushFront(v) => {
                let want = if model.len() < cap {
                    model.push_front(v);
                    Ok(())
                } else {
                    Err(v)
                };
                prop_assert_eq!(queue.try_push_front(v), want, "step {}", step);
            }
            QueueOp::PopFront => {
                prop_assert_eq!(queue.pop_front(), model.pop_front(), "step {}", step);
            }
            QueueOp::Front => {
                prop_assert_eq!(queue.front(), model.front(), "step {}", step);
            }
            QueueOp::Clear => {
                queue.clear();
                model.clear();
            }
        }
        prop_assert_eq!(queue.len(), model.len(), "step {}: {:?}", step, op);
        prop_assert_eq!(queue.is_empty(), model.is_empty());
        prop_assert_eq!(queue.front(), model.front());
        prop_assert!(queue.iter().eq(model.iter()), "step {}: {:?}", step, op);
    }
    Ok(())
}

// ------------------------------------------------------------------ sequence

/// One operation on a sequence; indices may be out of range on purpose.
#[derive(Clone, Debug)]
enum SeqOp {
    Push(u32),
    Pop,
    Insert(usize, u32),
    RemoveAt(usize),
    Truncate(usize),
    HasRoom(usize),
    Clear,
}

fn seq_ops() -> impl Strategy<Value = Vec<SeqOp>> {
    let op = prop_oneof![
        4 => any::<u32>().prop_map(SeqOp::Push),
        2 => Just(SeqOp::Pop),
        3 => (0usize..7, any::<u32>()).prop_map(|(i, v)| SeqOp::Insert(i, v)),
        3 => (0usize..7).prop_map(SeqOp::RemoveAt),
        1 => (0usize..7).prop_map(SeqOp::Truncate),
        1 => (0usize..7).prop_map(SeqOp::HasRoom),
        1 => Just(SeqOp::Clear),
    ];
    prop::collection::vec(op, 0..64)
}

/// Runs `ops` on a fresh `S` and a `Vec` that holds at most `cap` elements.
fn check_seq<S: Seq<u32>>(ops: &[SeqOp], cap: usize) -> Result<(), TestCaseError> {
    let mut seq = S::default();
    let mut model: Vec<u32> = Vec::new();
    prop_assert_eq!(seq.max_len(), Some(cap));
    for (step, op) in ops.iter().enumerate() {
        match *op {
            SeqOp::Push(v) => {
                let want = if model.len() < cap {
                    model.push(v);
                    Ok(())
                } else {
                    Err(v)
                };
                prop_assert_eq!(seq.try_push(v), want, "step {}", step);
            }
            SeqOp::Pop => {
                prop_assert_eq!(seq.pop(), model.pop(), "step {}", step);
            }
            SeqOp::Insert(index, v) => {
                let want = if index <= model.len() && model.len() < cap {
                    model.insert(index, v);
                    Ok(())
                } else {
                    Err(v)
                };
                prop_assert_eq!(seq.try_insert(index, v), want, "step {}: {:?}", step, op);
            }
            SeqOp::RemoveAt(index) => {
                let want = (index < model.len()).then(|| model.remove(index));
                prop_assert_eq!(seq.remove_at(index), want, "step {}: {:?}", step, op);
            }
            SeqOp::Truncate(len) => {
                seq.truncate(len);
                model.truncate(len);
            }
            SeqOp::HasRoom(additional) => {
                prop_assert_eq!(
                    seq.has_room(additional),
                    model.len() + additional <= cap,
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            SeqOp::Clear => {
                seq.clear();
                model.clear();
            }
        }
        prop_assert_eq!(&*seq, model.as_slice(), "step {}: {:?}", step, op);
    }
    Ok(())
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn flat_map_8_matches_hash_map(ops in map_ops(24, 96, 10)) {
        check_table::<FlatMap<u16, u32, 8>>(&ops, 8)?;
    }

    #[test]
    fn flat_map_64_matches_hash_map(ops in map_ops(160, 400, 1)) {
        check_table::<FlatMap<u16, u32, 64>>(&ops, 64)?;
    }

    #[test]
    fn sorted_seq_8_matches_btree_map(ops in map_ops(24, 96, 10)) {
        check_sorted::<SortedSeq<u16, u32, 8>>(&ops, 8)?;
    }

    #[test]
    fn heapless_deque_4_matches_vec_deque(ops in queue_ops()) {
        check_queue::<heapless::Deque<u32, 4>>(&ops, 4)?;
    }

    #[test]
    fn heapless_vec_4_matches_vec(ops in seq_ops()) {
        check_seq::<heapless::Vec<u32, 4>>(&ops, 4)?;
    }
}
