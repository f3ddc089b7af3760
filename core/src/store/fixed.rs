//! The fixed flavour: every container inline, with const-generic capacities.

use core::hash::Hash;

use super::{ByteBuf, FlatMap, KeyStore, SortedSeq, Storage};
use crate::matcher::ScanRouter;
use crate::wheel::CompactArrayStorage;

/// The fixed flavour's [`KeyStore`]: each key's bytes inline in its state, in a
/// `heapless::Vec<u8, N>` (the reference *is* the bytes; the store holds nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InlineKeys<const N: usize>;

impl<const N: usize> KeyStore for InlineKeys<N> {
    type Ref = heapless::Vec<u8, N>;
    type Freed = ();
    fn empty() -> Self::Ref {
        heapless::Vec::new()
    }
    fn put(&mut self, _slot: u32, bytes: &[u8]) -> Option<Self::Ref> {
        heapless::Vec::from_slice(bytes).ok()
    }
    fn get<'a>(&'a self, _slot: u32, r: &'a Self::Ref) -> &'a [u8] {
        r
    }
    fn free(&mut self, _slot: u32, _r: &Self::Ref) -> Option<()> {
        None
    }
    fn neighbours(slot: u32) -> core::ops::Range<u32> {
        slot..slot
    }
    fn shift(_r: &mut Self::Ref, _freed: ()) {}
    fn clear(&mut self) {}
}

impl<const N: usize> ByteBuf for heapless::Vec<u8, N> {
    fn with_room(_len: usize) -> Self {
        heapless::Vec::new()
    }
    fn try_extend(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes).is_ok()
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
/// | `TRIGGER_BYTES` | one event trigger node compiled and packed (its patterns, labels and `for_each` names) |
/// | `KEYS` | tracked (trigger, key) pairs: buckets, held-event owners, timers |
/// | `KEY_BYTES` | the encoded `for_each` values of one key (each value's bytes plus a 1-byte length below 128 bytes) |
/// | `EVENTS` | held `expect` events, and separately followers waiting for their leader and events buffered for allowed lateness |
/// | `EVENT_BYTES` | one waiting or buffered event, packed (`PackedEvent::encoded_len`: 49 bytes, plus the name and every label name and value, each with a 1-byte length below 128 bytes, plus a 1-byte count per resource) |
/// | `SEEN` | event ids remembered for de-duplication |
/// | `FIRINGS` | firings not yet taken with `poll_action`; at least the most one unit of work can make when none are pending (two per event trigger an event interests, and as many for each follower it releases): beyond that, firings would be lost (asserted in debug builds) |
/// | `FIRING_BYTES` | one firing packed (its labels and, for a composite trigger, its child firings): 35 bytes plus, for an event trigger, each `for_each` name with a 1-byte length below 128 bytes and `KEY_BYTES`, for a composite each child's firing with a 1-byte length below 128 bytes; a trigger whose firings could be longer is refused when it is loaded |
///
/// Event names are routed to triggers by scanning the loaded event triggers' `expect`
/// and `after` patterns (no index: `TRIGGERS` is small); the last routed name is
/// kept, if it fits in `EVENT_BYTES`, to reuse its routes while names repeat.
///
/// Waiting and buffered events are kept whole (their name and labels are read again
/// when they are evaluated), each in a slot of `EVENT_BYTES` bytes: `2 × EVENTS ×
/// EVENT_BYTES` bytes in all (one pool for the waitlist, one for the lateness buffer).
/// A slot per event, rather than one byte arena shared by all events, keeps insertion
/// and removal O(1) with no compaction and makes the worst case plain: any `EVENTS`
/// events of at most `EVENT_BYTES` bytes fit, whatever their order of arrival; the
/// price is the room a short event leaves unused in its slot.
///
/// Firings are kept packed too, in slots of `FIRING_BYTES` bytes: `FIRINGS` pending
/// ones, one per trigger node (a composite trigger's stored child firing, at most one
/// per child) and the one `poll_action` returned last: `(FIRINGS + TRIGGERS + 1) ×
/// FIRING_BYTES` bytes and a little more.
///
/// Prefect's index of event-name patterns (emulated for the order in which it
/// evaluates the children of one composite trigger) holds at most `TRIGGERS` distinct
/// patterns in `16 × TRIGGERS` CPython table slots, with as many again to build an
/// event's candidate set: a trigger whose patterns might not fit is refused
/// (`Capacity::TriggerNodes`).
///
/// The engine checks every capacity before it changes anything and refuses what does
/// not fit with a typed error naming it (see `Capacities` in the engine's
/// configuration); it never drops what it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fixed<
    const TRIGGERS: usize,
    const TRIGGER_BYTES: usize,
    const KEYS: usize,
    const KEY_BYTES: usize,
    const EVENTS: usize,
    const EVENT_BYTES: usize,
    const SEEN: usize,
    const FIRINGS: usize,
    const FIRING_BYTES: usize,
>;

impl<
        const TRIGGERS: usize,
        const TRIGGER_BYTES: usize,
        const KEYS: usize,
        const KEY_BYTES: usize,
        const EVENTS: usize,
        const EVENT_BYTES: usize,
        const SEEN: usize,
        const FIRINGS: usize,
        const FIRING_BYTES: usize,
    > Storage
    for Fixed<
        TRIGGERS,
        TRIGGER_BYTES,
        KEYS,
        KEY_BYTES,
        EVENTS,
        EVENT_BYTES,
        SEEN,
        FIRINGS,
        FIRING_BYTES,
    >
{
    const TRIGGERS: usize = TRIGGERS;
    const TRIGGER_BYTES: usize = TRIGGER_BYTES;
    const KEYS: usize = KEYS;
    const KEY_BYTES: usize = KEY_BYTES;
    const EVENTS: usize = EVENTS;
    const EVENT_BYTES: usize = EVENT_BYTES;
    const SEEN: usize = SEEN;
    const FIRINGS: usize = FIRINGS;
    const FIRING_BYTES: usize = FIRING_BYTES;
    type TriggerSeq<T> = heapless::Vec<T, TRIGGERS>;
    type TriggerBytes = heapless::Vec<u8, TRIGGER_BYTES>;
    type Router = ScanRouter;
    type RouteName = heapless::Vec<u8, EVENT_BYTES>;
    type TriggerTable<K: Eq + Hash, V> = FlatMap<K, V, TRIGGERS>;
    type TriggerSorted<K: Ord, V> = SortedSeq<K, V, TRIGGERS>;
    type KeySeq<T> = heapless::Vec<T, KEYS>;
    type KeyTable<K: Eq + Hash, V> = FlatMap<K, V, KEYS>;
    type KeySorted<K: Ord, V> = SortedSeq<K, V, KEYS>;
    type KeyIndex = heapless::Vec<[u32; 2], KEYS>;
    type KeyWheel = CompactArrayStorage<KEYS>;
    type KeyStore = InlineKeys<KEY_BYTES>;
    type KeyScratch = heapless::Vec<u8, KEY_BYTES>;
    type EventSeq<T> = heapless::Vec<T, EVENTS>;
    type EventTable<K: Eq + Hash, V> = FlatMap<K, V, EVENTS>;
    type EventSorted<K: Ord, V> = SortedSeq<K, V, EVENTS>;
    type EventBytes = heapless::Vec<u8, EVENT_BYTES>;
    type SeenLanes = heapless::Vec<[u64; 4], SEEN>;
    type SeenQueue<T> = heapless::Deque<T, SEEN>;
    type FiringQueue<T> = heapless::Deque<T, FIRINGS>;
    type FiringBytes = heapless::Vec<u8, FIRING_BYTES>;
}
