//! The fixed flavour: every container inline, with const-generic capacities.

use core::hash::Hash;

use super::{Bytes, FlatMap, SortedSeq, Storage};
use crate::wheel::ArrayStorage;

impl<const N: usize> Bytes for heapless::Vec<u8, N> {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        heapless::Vec::from_slice(bytes).ok()
    }
    fn max_len() -> Option<usize> {
        Some(N)
    }
}

/// Fixed-capacity storage: the engine's whole state inline in one value, no heap.
///
/// | parameter | capacity of |
/// |---|---|
/// | `TRIGGERS` | trigger nodes (an event trigger is one node; a composite one node plus its children's) |
/// | `KEYS` | tracked (trigger, key) pairs: buckets, held-event owners, timers |
/// | `KEY_BYTES` | the encoded `for_each` values of one key (each value's bytes plus a 1-byte length below 128 bytes) |
/// | `EVENTS` | held `expect` events, and separately followers waiting for their leader and events buffered for allowed lateness |
/// | `SEEN` | event ids remembered for de-duplication |
/// | `FIRINGS` | firings not yet taken with `poll_action` |
///
/// The engine checks every capacity before it changes anything and refuses what does
/// not fit with a typed error naming it (see `Capacities` in the engine's
/// configuration); it never drops what it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fixed<
    const TRIGGERS: usize,
    const KEYS: usize,
    const KEY_BYTES: usize,
    const EVENTS: usize,
    const SEEN: usize,
    const FIRINGS: usize,
>;

impl<
        const TRIGGERS: usize,
        const KEYS: usize,
        const KEY_BYTES: usize,
        const EVENTS: usize,
        const SEEN: usize,
        const FIRINGS: usize,
    > Storage for Fixed<TRIGGERS, KEYS, KEY_BYTES, EVENTS, SEEN, FIRINGS>
{
    const TRIGGERS: usize = TRIGGERS;
    const KEYS: usize = KEYS;
    const KEY_BYTES: usize = KEY_BYTES;
    const EVENTS: usize = EVENTS;
    const SEEN: usize = SEEN;
    const FIRINGS: usize = FIRINGS;
    type TriggerSeq<T> = heapless::Vec<T, TRIGGERS>;
    type TriggerTable<K: Eq + Hash, V> = FlatMap<K, V, TRIGGERS>;
    type KeySeq<T> = heapless::Vec<T, KEYS>;
    type KeyTable<K: Eq + Hash, V> = FlatMap<K, V, KEYS>;
    type KeySorted<K: Ord, V> = SortedSeq<K, V, KEYS>;
    type KeyIndex = heapless::Vec<[u64; 2], KEYS>;
    type KeyWheel = ArrayStorage<u32, KEYS>;
    type KeyBytes = heapless::Vec<u8, KEY_BYTES>;
    type EventSeq<T> = heapless::Vec<T, EVENTS>;
    type EventTable<K: Eq + Hash, V> = FlatMap<K, V, EVENTS>;
    type EventSorted<K: Ord, V> = SortedSeq<K, V, EVENTS>;
    type SeenTable<K: Eq + Hash, V> = FlatMap<K, V, SEEN>;
    type SeenQueue<T> = heapless::Deque<T, SEEN>;
    type FiringQueue<T> = heapless::Deque<T, FIRINGS>;
}
