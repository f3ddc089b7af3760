//! Per-(trigger, key) state: Prefect's `automation_bucket` row and, for proactive
//! triggers with `after`, its held `expect` events (`automation_held_event`), kept in
//! a slab and found through a hash table of (trigger, key bytes).

use crate::event::EventId;
use crate::hash::key_hash;
use crate::store::{KeyStore, Seq, Sorted, Storage, Table};
use crate::time::{Duration, Instant};
use crate::varint;

mod index;

use index::KeyIndex;

/// The event a bucket remembers as its `last_event` (the proactive firing's event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LastEvent {
    pub(crate) id: EventId,
    pub(crate) occurred: Instant,
    /// The event was in `expect` but not in `after` for this trigger (3.9's proactive
    /// renewal keeps such an event as the next window's firing context).
    pub(crate) expect_only: bool,
}

/// One window of one key: Prefect's `AutomationBucket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Bucket {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    pub(crate) count: i64,
    pub(crate) last_event: Option<LastEvent>,
}

/// A held `expect`-only event (3.9, `automation_held_events.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Held {
    pub(crate) occurred: Instant,
    pub(crate) id: EventId,
    /// Wall clock when it was held (the row's `updated`).
    pub(crate) held_at: Instant,
}

/// Where a key's timer lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Nothing is due for this key.
    #[default]
    None,
    /// In the wheel, as the entry at the key's own slot (`Wheel::insert_at`).
    Wheel,
    /// Its due time had already passed the wheel's time when it was filed: in the
    /// overdue set under this instant.
    Overdue(Instant),
    /// Taken out for the tick being processed; re-filed at the end of the tick.
    Batch,
}

const HAS_BUCKET: u32 = 1 << 24;
const HAS_LAST: u32 = 1 << 25;
const LAST_EXPECT_ONLY: u32 = 1 << 26;
const SATISFIED_QUEUED: u32 = 1 << 27;
/// Two bits: where the timer is (`Timer` without its instant).
const TIMER_BITS: u32 = 3 << 28;
const TIMER_WHEEL: u32 = 1 << 28;
const TIMER_OVERDUE: u32 = 2 << 28;
const TIMER_BATCH: u32 = 3 << 28;
/// The bucket is a look-back window: its anchor is the event's `occurred`, its start
/// the look-back before it (see [`Window`]).
const LOOKBACK: u32 = 1 << 30;
const HAS_HELD: u32 = 1 << 31;
/// Trigger node indices must fit below the flag bits.
pub(crate) const MAX_TRIGGER_NODES: u32 = 1 << 24;
const TRIGGER_MASK: u32 = MAX_TRIGGER_NODES - 1;

/// State of one (trigger, key), packed into 32 bytes plus the key's reference (a 4-byte
/// offset into the growable flavour's packed key buffers, 36 bytes in all; the bytes
/// themselves in a fixed flavour): what every tracked key needs. Its timer, when in
/// the wheel, is the wheel's entry at the key's slot, so no handle; its window is one
/// instant ([`Window`]).
/// Rare parts live in side tables of [`KeyTable`]: held events, the `occurred` of an
/// `expect`-only last event, and the instant of an overdue timer.
#[derive(Clone, Debug)]
pub(crate) struct KeyState<R> {
    /// Where the encoded key values are (see [`push_key_value`] and [`KeyStore`]).
    key: R,
    /// Trigger node index (low 24 bits) and flags (high 8 bits).
    trigger_flags: u32,
    /// The bucket's count (saturating at the `i32` range).
    count: i32,
    /// The instant the bucket's window is derived from ([`Window`]).
    anchor: Micros,
    last_id: EventId,
}

/// What a bucket's window `[start, end)` is derived from besides its anchor: the
/// trigger's `within` and the engine's look-back.
///
/// Every window Prefect opens is one of two shapes (SEMANTICS.md, `evaluate`):
/// `[a, a + within)` (a first event in `after`, a renewal, a tick's global window) or
/// `[a - lookback, a + within)` (a first `expect` event of a trigger without `after`,
/// `a` its `occurred`), both saturating at the ends of time. A key keeps `a` and a
/// flag for the second shape instead of both instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) within: Duration,
    pub(crate) lookback: Duration,
}

impl Window {
    /// The window of anchor `a`, a look-back window or not.
    #[inline]
    fn window(self, a: Instant, lookback: bool) -> (Instant, Instant) {
        let start = if lookback {
            a.saturating_sub(self.lookback)
        } else {
            a
        };
        (start, a.saturating_add(self.within))
    }

    /// The anchor (and whether it is a look-back window) that gives `[start, end)`;
    /// `None` for a window of neither shape.
    fn anchor(self, start: Instant, end: Instant) -> Option<(Instant, bool)> {
        if self.window(start, false) == (start, end) {
            return Some((start, false));
        }
        [
            start.checked_add(self.lookback),
            end.checked_sub(self.within),
        ]
        .into_iter()
        .flatten()
        .find(|&a| self.window(a, true) == (start, end))
        .map(|a| (a, true))
    }
}

/// An instant as two `u32` halves, so that a key state with a 4-byte key reference
/// is 4-byte aligned (36 bytes, not 40).
#[derive(Clone, Copy, Debug)]
struct Micros([u32; 2]);

impl Micros {
    const ZERO: Micros = Micros([0; 2]);

    #[inline]
    fn new(at: Instant) -> Micros {
        let us = at.as_micros();
        Micros([us as u32, (us >> 32) as u32])
    }

    #[inline]
    fn get(self) -> Instant {
        Instant::from_micros(u64::from(self.0[0]) | (u64::from(self.0[1]) << 32))
    }
}

impl<R> KeyState<R> {
    /// The state of (trigger, `key`) before anything happened to it: no bucket, no
    /// flags, no timer.
    fn fresh(key: R, trigger: u32) -> Self {
        KeyState {
            key,
            trigger_flags: trigger & TRIGGER_MASK,
            count: 0,
            anchor: Micros::ZERO,
            last_id: EventId::default(),
        }
    }
    fn has(&self, flag: u32) -> bool {
        self.trigger_flags & flag != 0
    }
    fn set(&mut self, flag: u32, on: bool) {
        if on {
            self.trigger_flags |= flag;
        } else {
            self.trigger_flags &= !flag;
        }
    }
}

/// Appends one key value to an encoded key: a LEB128 length, then the bytes; false
/// when `out` is full (what it holds then is not a key).
pub(crate) fn push_key_value(out: &mut impl Seq<u8>, value: &str) -> bool {
    // (the length, a byte or two, pushed byte by byte rather than copied)
    varint::encode(value.len() as u64, &mut [0; varint::MAX_LEN])
        .iter()
        .all(|&b| out.try_push(b).is_ok())
        && out.try_extend_from_slice(value.as_bytes())
}

/// Encodes the key of `values` into `out` (cleared first); false when it is longer
/// than `out` holds.
pub(crate) fn encode_key<'v>(
    out: &mut impl Seq<u8>,
    values: impl Iterator<Item = &'v str>,
) -> bool {
    out.clear();
    for v in values {
        if !push_key_value(out, v) {
            return false;
        }
    }
    true
}

/// The values of an encoded key, in order, read in place. (Keys are made from
/// label values, so every value is UTF-8; one that is not reads as `""`.)
pub(crate) fn key_values(mut bytes: &[u8]) -> impl Iterator<Item = &str> + Clone {
    core::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let mut n = 0usize;
        let mut shift: u32 = 0;
        while let Some((&b, rest)) = bytes.split_first() {
            bytes = rest;
            // (bits past the width of usize are dropped, never a shift overflow)
            n |= ((b & 0x7f) as usize).checked_shl(shift).unwrap_or(0);
            shift = shift.saturating_add(7);
            if b & 0x80 == 0 {
                break;
            }
        }
        let (value, rest) = bytes.split_at(n.min(bytes.len()));
        bytes = rest;
        Some(core::str::from_utf8(value).unwrap_or(""))
    })
}

/// The most hashes [`KeyTable::prefetch`] reads ahead at once.
pub(crate) const PREFETCH_BATCH: usize = 32;

/// The index hash of the key in slot `k` (0 for a vacant slot: the index only asks
/// for slots it holds).
fn slot_hash<K: KeyStore>(slots: &[Option<KeyState<K::Ref>>], store: &K, k: u32) -> u64 {
    slots
        .get(k as usize)
        .and_then(Option::as_ref)
        .map_or(0, |s| {
            key_hash(s.trigger_flags & TRIGGER_MASK, store.get(k, &s.key))
        })
}

/// The key state type of storage `S`.
type State<S> = KeyState<<<S as Storage>::KeyStore as KeyStore>::Ref>;

/// The first key of key `k`'s held events in the held pool.
fn held_from(k: u32) -> (u32, Instant, EventId) {
    (k, Instant::ZERO, EventId([0; 16]))
}

/// The slab of key states and the table that finds them.
pub(crate) struct KeyTable<S: Storage> {
    slots: S::KeySeq<Option<State<S>>>,
    /// The key values of the slots.
    store: S::KeyStore,
    free: S::KeySeq<u32>,
    index: KeyIndex<S::KeyIndex>,
    /// Held `expect` events of every key, keyed by (key slot, occurred, id), valued by
    /// the wall clock when they were held.
    held: S::EventSorted<(u32, Instant, EventId), Instant>,
    /// `occurred` of the last event of keys whose last event is `expect`-only.
    last_occurred: S::KeyTable<u32, Instant>,
    /// Instant of each overdue timer.
    overdue_at: S::KeyTable<u32, Instant>,
    /// `(trigger, bucket end, slot)` of every bucket, when enabled
    /// ([`track_ends`](Self::track_ends)): the scheduled proactive mode asks for a
    /// trigger's earliest bucket end after an instant.
    ends: Option<S::KeySorted<(u32, Instant, u32), ()>>,
}

impl<S: Storage> Default for KeyTable<S> {
    fn default() -> Self {
        KeyTable {
            slots: Default::default(),
            store: Default::default(),
            free: Default::default(),
            index: Default::default(),
            held: Default::default(),
            last_occurred: Default::default(),
            overdue_at: Default::default(),
            ends: None,
        }
    }
}

impl<S: Storage> KeyTable<S> {
    /// The slot of (trigger, key), if present.
    pub(crate) fn find(&self, trigger: u32, key: &[u8]) -> Option<u32> {
        let hash = key_hash(trigger, key);
        let (slots, store) = (&self.slots, &self.store);
        self.index.find(hash, |i| {
            slots
                .get(i as usize)
                .and_then(Option::as_ref)
                .is_some_and(|s| {
                    s.trigger_flags & TRIGGER_MASK == trigger
                        && crate::bytes::eq(store.get(i, &s.key), key)
                })
        })
    }

    /// The hash [`find`](Self::find) looks (trigger, key) up by.
    pub(crate) fn hash_key(&self, trigger: u32, key: &[u8]) -> u64 {
        key_hash(trigger, key)
    }

    /// Reads, for each hash, the index entry its lookup starts at and then the key
    /// state and key bytes that entry names, all loads independent of each other, so
    /// that the memory system fetches them in parallel and the `find`s that follow
    /// hit the cache. Changes nothing; returns a value folded from what was read
    /// (hand it to `black_box` so the reads are kept).
    pub(crate) fn prefetch(&self, hashes: &[u64]) -> u64 {
        let mut entries = [0u32; PREFETCH_BATCH];
        let n = hashes.len().min(PREFETCH_BATCH);
        for (e, &h) in entries.iter_mut().zip(&hashes[..n]) {
            *e = self.index.home_entry(h);
        }
        let mut acc = 0u64;
        for (&e, &h) in entries[..n].iter().zip(hashes) {
            let state = self.index.entry_slot(e, h).and_then(|slot| {
                let s = self.slots.get(slot as usize)?.as_ref()?;
                Some((slot, s))
            });
            if let Some((slot, s)) = state {
                let first = self.store.get(slot, &s.key).first().copied().unwrap_or(0);
                acc = acc.wrapping_add(u64::from(s.trigger_flags) ^ u64::from(first));
            }
            acc = acc.wrapping_add(u64::from(e));
        }
        acc
    }

    /// Whether `more` keys can be created (a fixed flavour has a capacity).
    pub(crate) fn has_room(&self, more: usize) -> bool {
        self.index.has_room(more)
            && (self.free.len() >= more || self.slots.has_room(more - self.free.len()))
    }

    /// The slot of (trigger, key), created empty if absent; `true` if created.
    /// `None` (nothing changed) when the key is new and a fixed flavour has no room
    /// for it or for its bytes: the engine's capacity checks keep that from happening.
    pub(crate) fn find_or_insert(&mut self, trigger: u32, key: &[u8]) -> Option<(u32, bool)> {
        if let Some(i) = self.find(trigger, key) {
            return Some((i, false));
        }
        if !self.has_room(1) {
            return None;
        }
        let reused = self.free.last().copied();
        let idx = match reused {
            Some(i) => i,
            None if self.slots.has_room(1) => u32::try_from(self.slots.len()).ok()?,
            None => return None,
        };
        let state = KeyState::fresh(self.store.put(idx, key)?, trigger);
        if reused.is_some() {
            self.free.pop();
            self.slots[idx as usize] = Some(state);
        } else if let Err(refused) = self.slots.try_push(Some(state)) {
            // (not reached: there is room)
            self.free_key(idx, refused);
            return None;
        }
        let hash = key_hash(trigger, key);
        let (slots, store) = (&self.slots, &self.store);
        let indexed = self
            .index
            .insert_unique(hash, idx, |s| slot_hash(slots, store, s));
        debug_assert!(indexed, "has_room checked the index");
        Some((idx, true))
    }

    fn state(&self, k: u32) -> Option<&State<S>> {
        self.slots.get(k as usize).and_then(|s| s.as_ref())
    }

    fn state_mut(&mut self, k: u32) -> Option<&mut State<S>> {
        self.slots.get_mut(k as usize).and_then(|s| s.as_mut())
    }

    /// Frees the key bytes of `state`, which was slot `k`'s (and is no longer in
    /// it), moving the references of the neighbours whose bytes moved.
    fn free_key(&mut self, k: u32, state: Option<State<S>>) {
        let Some(state) = state else { return };
        let Some(freed) = self.store.free(k, &state.key) else {
            return;
        };
        for n in S::KeyStore::neighbours(k) {
            match self.slots.get_mut(n as usize) {
                Some(Some(s)) => S::KeyStore::shift(&mut s.key, freed),
                Some(None) => {}
                None => break,
            }
        }
    }

    /// Whether slot `k` is live.
    pub(crate) fn contains(&self, k: u32) -> bool {
        self.state(k).is_some()
    }

    /// The trigger node of key `k`.
    pub(crate) fn trigger(&self, k: u32) -> Option<u32> {
        self.state(k).map(|s| s.trigger_flags & TRIGGER_MASK)
    }

    /// The encoded key of `k`.
    pub(crate) fn key(&self, k: u32) -> &[u8] {
        self.state(k).map_or(&[], |s| self.store.get(k, &s.key))
    }

    /// The bucket of key `k`, whose trigger's windows are `w`.
    pub(crate) fn bucket(&self, k: u32, w: Window) -> Option<Bucket> {
        let s = self.state(k)?;
        if !s.has(HAS_BUCKET) {
            return None;
        }
        let last_event = s.has(HAS_LAST).then(|| {
            let expect_only = s.has(LAST_EXPECT_ONLY);
            LastEvent {
                id: s.last_id,
                occurred: if expect_only {
                    self.last_occurred.get(&k).copied().unwrap_or(Instant::ZERO)
                } else {
                    Instant::ZERO
                },
                expect_only,
            }
        });
        let (start, end) = w.window(s.anchor.get(), s.has(LOOKBACK));
        Some(Bucket {
            start,
            end,
            count: i64::from(s.count),
            last_event,
        })
    }

    /// Updates the count and last event of key `k`'s bucket, keeping its window (what
    /// counting an event changes); nothing when it has no bucket.
    pub(crate) fn set_count(&mut self, k: u32, count: i64, last_event: Option<LastEvent>) {
        let Some(s) = self.state_mut(k).filter(|s| s.has(HAS_BUCKET)) else {
            return;
        };
        s.count = count.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let mut expect_only_at = None;
        match last_event {
            None => s.set(HAS_LAST | LAST_EXPECT_ONLY, false),
            Some(l) => {
                s.set(HAS_LAST, true);
                s.set(LAST_EXPECT_ONLY, l.expect_only);
                s.last_id = l.id;
                if l.expect_only {
                    expect_only_at = Some(l.occurred);
                }
            }
        }
        self.set_last_occurred(k, expect_only_at);
    }

    /// Keeps (or forgets) the `occurred` of key `k`'s `expect`-only last event.
    fn set_last_occurred(&mut self, k: u32, at: Option<Instant>) {
        match at {
            Some(at) => {
                // (an entry per key: room for every key)
                let _ = self.last_occurred.try_insert(k, at);
            }
            None => {
                if !self.last_occurred.is_empty() {
                    self.last_occurred.remove(&k);
                }
            }
        }
    }

    /// 3.9's proactive renewal of key `k`'s window in one pass over its state, for an
    /// event in the trigger's `after` and `expect` (with `id`, at `occurred`) that
    /// `evaluate` counts and that brings the count to `threshold` (so the window no
    /// longer `meets_threshold`): the window is replaced by `[occurred, occurred +
    /// within)` with count 0 and the event as its last event. Returns the new window's
    /// end.
    ///
    /// Only for the usual shape, checked here; `None` (nothing changed) otherwise: the
    /// key has a bucket and holds no events, its last event (if any) is not
    /// `expect`-only, `occurred` lies in the window, bucket ends are not tracked, and
    /// `threshold` is at least 1 (so the new window is not satisfied). The caller
    /// checks that the trigger is proactive, and does what `evaluate` does for every
    /// other case.
    pub(crate) fn renew(
        &mut self,
        k: u32,
        w: Window,
        occurred: Instant,
        id: EventId,
        threshold: i64,
    ) -> Option<Instant> {
        if self.ends.is_some() || threshold < 1 {
            return None;
        }
        let s = self.slots.get_mut(k as usize)?.as_mut()?;
        if s.trigger_flags & (HAS_BUCKET | HAS_HELD | LAST_EXPECT_ONLY) != HAS_BUCKET {
            return None;
        }
        let (start, end) = w.window(s.anchor.get(), s.has(LOOKBACK));
        if occurred < start || occurred >= end || i64::from(s.count) + 1 < threshold {
            return None;
        }
        s.set(LOOKBACK, false);
        s.set(HAS_LAST, true);
        s.anchor = Micros::new(occurred);
        s.count = 0;
        s.last_id = id;
        Some(occurred.saturating_add(w.within))
    }

    /// Whether key `k` has a bucket.
    pub(crate) fn has_bucket(&self, k: u32) -> bool {
        self.state(k).is_some_and(|s| s.has(HAS_BUCKET))
    }

    /// Replaces (or removes) the bucket of key `k`, whose trigger's windows are `w`;
    /// false (nothing changed) when the bucket's window is of neither of `w`'s shapes.
    ///
    /// A `last_event` that is not `expect`-only keeps only its id: its `occurred` is
    /// never read (see [`LastEvent::expect_only`]).
    pub(crate) fn set_bucket(&mut self, k: u32, bucket: Option<Bucket>, w: Window) -> bool {
        let anchored = match bucket {
            Some(b) => match w.anchor(b.start, b.end) {
                Some(anchor) => Some((b, anchor)),
                None => return false,
            },
            None => None,
        };
        if let Some(ends) = &mut self.ends {
            if let Some(s) = self.slots.get(k as usize).and_then(Option::as_ref) {
                let t = s.trigger_flags & TRIGGER_MASK;
                if s.has(HAS_BUCKET) {
                    ends.remove(&(t, w.window(s.anchor.get(), s.has(LOOKBACK)).1, k));
                }
                if let Some((b, _)) = &anchored {
                    // (a bucket end per key: the table has room for every key's)
                    let _ = ends.try_insert((t, b.end, k), ());
                }
            }
        }
        let Some(s) = self.state_mut(k) else {
            return true;
        };
        match anchored {
            None => {
                s.set(HAS_BUCKET | HAS_LAST | LAST_EXPECT_ONLY, false);
                self.set_last_occurred(k, None);
            }
            Some((b, (a, lookback))) => {
                s.set(HAS_BUCKET, true);
                s.set(LOOKBACK, lookback);
                s.anchor = Micros::new(a);
                self.set_count(k, b.count, b.last_event);
            }
        }
        true
    }

    /// The held events of key `k`, by occurred then id.
    pub(crate) fn held(&self, k: u32) -> impl Iterator<Item = Held> + '_ {
        let any = self.state(k).is_some_and(|s| s.has(HAS_HELD));
        let from = held_from(k);
        any.then(|| self.held.iter_from(&from))
            .into_iter()
            .flatten()
            .take_while(move |((key, _, _), _)| *key == k)
            .map(|(&(_, occurred, id), &held_at)| Held {
                occurred,
                id,
                held_at,
            })
    }

    /// Whether key `k` holds any event.
    pub(crate) fn holds_any(&self, k: u32) -> bool {
        self.state(k).is_some_and(|s| s.has(HAS_HELD))
    }

    /// Holds `held` for key `k` (replacing one with the same occurred and id); false
    /// (nothing changed) when `k` is not live or a fixed flavour has no room.
    pub(crate) fn hold(&mut self, k: u32, held: Held) -> bool {
        let Some(s) = self.state_mut(k) else {
            return false;
        };
        s.set(HAS_HELD, true);
        let added = self
            .held
            .try_insert((k, held.occurred, held.id), held.held_at)
            .is_ok();
        self.tidy_held(k);
        added
    }

    /// Drops the held events of key `k` for which `keep` is false.
    pub(crate) fn retain_held(&mut self, k: u32, mut keep: impl FnMut(&Held) -> bool) {
        if !self.holds_any(k) {
            return;
        }
        let mut from = held_from(k);
        loop {
            let doomed = self
                .held
                .iter_from(&from)
                .take_while(|((key, _, _), _)| *key == k)
                .find(|(&(_, occurred, id), &held_at)| {
                    !keep(&Held {
                        occurred,
                        id,
                        held_at,
                    })
                })
                .map(|(&key, _)| key);
            let Some(doomed) = doomed else { break };
            self.held.remove(&doomed);
            // the entries before it were kept: go on after it
            from = doomed;
        }
        self.tidy_held(k);
    }

    /// Clears key `k`'s held flag when it holds nothing.
    fn tidy_held(&mut self, k: u32) {
        let from = held_from(k);
        let any = self
            .held
            .first_from(&from)
            .is_some_and(|((key, _, _), _)| *key == k);
        if let Some(s) = self.state_mut(k) {
            s.set(HAS_HELD, any);
        }
    }

    /// Number of held events over all keys.
    pub(crate) fn held_total(&self) -> usize {
        self.held.len()
    }

    /// Where key `k`'s timer is.
    pub(crate) fn timer(&self, k: u32) -> Timer {
        match self.state(k).map(|s| s.trigger_flags & TIMER_BITS) {
            Some(TIMER_WHEEL) => Timer::Wheel,
            Some(TIMER_BATCH) => Timer::Batch,
            Some(TIMER_OVERDUE) => {
                Timer::Overdue(self.overdue_at.get(&k).copied().unwrap_or(Instant::ZERO))
            }
            _ => Timer::None,
        }
    }

    /// Records where key `k`'s timer is.
    pub(crate) fn set_timer(&mut self, k: u32, timer: Timer) {
        let Some(s) = self.state_mut(k) else { return };
        let was_overdue = s.trigger_flags & TIMER_BITS == TIMER_OVERDUE;
        s.set(TIMER_BITS, false);
        let mut overdue = None;
        match timer {
            Timer::None => {}
            Timer::Wheel => s.set(TIMER_WHEEL, true),
            Timer::Batch => s.set(TIMER_BATCH, true),
            Timer::Overdue(at) => {
                s.set(TIMER_OVERDUE, true);
                overdue = Some(at);
            }
        }
        match overdue {
            Some(at) => {
                // (an entry per key: room for every key)
                let _ = self.overdue_at.try_insert(k, at);
            }
            None if was_overdue => {
                self.overdue_at.remove(&k);
            }
            None => {}
        }
    }

    /// Whether key `k` is queued for the satisfied-bucket pass.
    pub(crate) fn satisfied_queued(&self, k: u32) -> bool {
        self.state(k).is_some_and(|s| s.has(SATISFIED_QUEUED))
    }

    /// Marks key `k` as queued (or not) for the satisfied-bucket pass.
    pub(crate) fn set_satisfied_queued(&mut self, k: u32, on: bool) {
        if let Some(s) = self.state_mut(k) {
            s.set(SATISFIED_QUEUED, on);
        }
    }

    /// Every live key as (slot, trigger node).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.as_ref()
                .map(|s| (i as u32, s.trigger_flags & TRIGGER_MASK))
        })
    }

    /// Number of slots, used or free (every key's slot is below it).
    pub(crate) fn slot_count(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Removes slot `k` (whose trigger's windows are `w`) from the table.
    pub(crate) fn remove(&mut self, k: u32, w: Window) -> Option<u32> {
        let state = self.slots.get_mut(k as usize)?.take()?;
        let trigger = state.trigger_flags & TRIGGER_MASK;
        let hash = key_hash(trigger, self.store.get(k, &state.key));
        let (slots, store) = (&self.slots, &self.store);
        self.index.remove(hash, k, |s| slot_hash(slots, store, s));
        if let (Some(ends), true) = (&mut self.ends, state.has(HAS_BUCKET)) {
            let end = w.window(state.anchor.get(), state.has(LOOKBACK)).1;
            ends.remove(&(trigger, end, k));
        }
        let (held, last, overdue) = (
            state.has(HAS_HELD),
            state.has(LAST_EXPECT_ONLY),
            state.trigger_flags & TIMER_BITS == TIMER_OVERDUE,
        );
        self.free_key(k, Some(state));
        // (the side tables are usually empty: skip hashing then)
        if held {
            while let Some((&key, _)) = self.held.first_from(&held_from(k)) {
                if key.0 != k {
                    break;
                }
                self.held.remove(&key);
            }
        }
        if last {
            self.last_occurred.remove(&k);
        }
        if overdue {
            self.overdue_at.remove(&k);
        }
        // (the slot was live: the free list has room for it)
        let _ = self.free.try_push(k);
        Some(trigger)
    }

    /// Keeps an ordered index of bucket ends from now on (the table must have no
    /// buckets yet), for [`next_end_after`](Self::next_end_after).
    pub(crate) fn track_ends(&mut self) {
        debug_assert!(self.slots.iter().flatten().all(|s| !s.has(HAS_BUCKET)));
        self.ends = Some(Default::default());
    }

    /// The earliest bucket end of `trigger`'s keys strictly after `after` (`None`
    /// also when the table does not track ends).
    pub(crate) fn next_end_after(&self, trigger: u32, after: Instant) -> Option<Instant> {
        let from = after.checked_add(Duration::from_micros(1))?;
        self.ends
            .as_ref()?
            .first_from(&(trigger, from, 0))
            .filter(|((t, _, _), _)| *t == trigger)
            .map(|(&(_, end, _), _)| end)
    }

    /// Number of live keys.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The free slots, in the order they are kept (the last one is reused first).
    pub(crate) fn free_slots(&self) -> &[u32] {
        &self.free
    }

    /// Empties the table in place (as [`Default`] makes it), tracking bucket ends
    /// ([`track_ends`](Self::track_ends)) or not.
    pub(crate) fn clear(&mut self, track_ends: bool) {
        let KeyTable {
            slots,
            store,
            free,
            index,
            held,
            last_occurred,
            overdue_at,
            ends,
        } = self;
        slots.clear();
        store.clear();
        free.clear();
        index.clear();
        held.clear();
        last_occurred.clear();
        overdue_at.clear();
        match ends {
            Some(ends) if track_ends => ends.clear(),
            _ if track_ends => *ends = Some(Default::default()),
            _ => *ends = None,
        }
    }

    /// Gives an empty table `slots` vacant slots and room for `live` keys, for
    /// [`place`](Self::place), [`add_free`](Self::add_free) and
    /// [`finish_free`](Self::finish_free) (restoring a snapshot); false if they do not
    /// fit.
    pub(crate) fn make_vacant_slots(&mut self, slots: usize, live: usize) -> bool {
        self.free.clear();
        for _ in 0..slots {
            if self.slots.try_push(None).is_err() {
                return false;
            }
        }
        let (slots, store) = (&self.slots, &self.store);
        self.index.reserve(live, |s| slot_hash(slots, store, s))
    }

    /// Puts (trigger, key) into vacant slot `k` with no state; false (and nothing
    /// changed) if `k` is out of range or taken, or (trigger, key) is present already.
    pub(crate) fn place(&mut self, k: u32, trigger: u32, key: &[u8]) -> bool {
        if trigger > TRIGGER_MASK
            || !matches!(self.slots.get(k as usize), Some(None))
            || self.find(trigger, key).is_some()
            || !self.index.has_room(1)
        {
            return false;
        }
        let Some(key_bytes) = self.store.put(k, key) else {
            return false;
        };
        // (`trigger` is within the mask: checked above)
        self.slots[k as usize] = Some(KeyState::fresh(key_bytes, trigger));
        let hash = key_hash(trigger, key);
        let (slots, store) = (&self.slots, &self.store);
        self.index
            .insert_unique(hash, k, |s| slot_hash(slots, store, s))
    }

    /// Lists vacant slot `k` on the free list (emptied by
    /// [`make_vacant_slots`](Self::make_vacant_slots); the last one listed is reused
    /// first) and marks it taken, so that a repeat is found without memory beyond the
    /// list; false (nothing listed) if it is not vacant (or listed already) or the list
    /// is full. The calls must be followed by [`finish_free`](Self::finish_free).
    pub(crate) fn add_free(&mut self, k: u32) -> bool {
        let vacant = matches!(self.slots.get(k as usize), Some(None));
        if !vacant || self.free.try_push(k).is_err() {
            return false;
        }
        // (the empty key stores nothing: `finish_free` need not free it)
        self.slots[k as usize] = Some(KeyState::fresh(S::KeyStore::empty(), 0));
        true
    }

    /// Ends [`add_free`](Self::add_free): unmarks the listed slots; true if `ok` (every
    /// `add_free` succeeded) and every vacant slot is listed.
    pub(crate) fn finish_free(&mut self, ok: bool) -> bool {
        for i in 0..self.free.len() {
            let k = self.free[i] as usize;
            self.slots[k] = None;
        }
        ok && self.free.len() + self.len() == self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_including_empty_and_long_values() {
        let long = "x".repeat(300);
        let mut buf = Vec::new();
        for v in ["", "prefect.flow-run.a", long.as_str(), "é\u{1f}"] {
            push_key_value(&mut buf, v);
        }
        assert_eq!(
            key_values(&buf).collect::<Vec<_>>(),
            ["", "prefect.flow-run.a", long.as_str(), "é\u{1f}"]
        );
        // an empty tuple and a tuple of one empty string differ
        let mut one_empty = Vec::new();
        push_key_value(&mut one_empty, "");
        assert_ne!(one_empty.as_slice(), &[] as &[u8]);
    }

    #[test]
    fn decoding_an_overlong_length_never_overflows() {
        // a length varint of 20 continuation bytes, then one value byte
        let mut bytes = vec![0xff; 20];
        bytes.extend([0x01, b'x']);
        assert_eq!(key_values(&bytes).count(), 1);
    }

    const W: Window = Window {
        within: Duration::from_secs(90),
        lookback: Duration::from_mins(15),
    };

    #[test]
    fn windows_of_both_shapes_are_kept_as_their_anchor_and_others_refused() {
        let at = Instant::from_micros;
        let max = u64::MAX;
        let (w, l) = (W.within.as_micros(), W.lookback.as_micros());
        let windows = [
            // [a, a + within), also saturated at the end of time
            ((at(5_000), at(5_000 + w)), false),
            ((at(0), at(w)), false),
            ((at(max - 3), at(max)), false),
            ((at(max), at(max)), false),
            // [a - lookback, a + within), saturated at either end
            ((at(7 * l), at(8 * l + w)), true),
            ((at(0), at(l / 2 + w)), true),
            ((at(0), at(l + w)), true),
            ((at(max - l - 3), at(max)), true),
        ];
        let mut t = KeyTable::<crate::store::Growable>::default();
        let (k, _) = t.find_or_insert(1, b"k").unwrap();
        for ((start, end), lookback) in windows {
            assert_eq!(W.anchor(start, end).map(|(_, lb)| lb), Some(lookback));
            let b = Bucket {
                start,
                end,
                count: 3,
                last_event: None,
            };
            assert!(t.set_bucket(k, Some(b), W));
            assert_eq!(t.bucket(k, W), Some(b), "{start:?}..{end:?}");
        }
        // neither shape: refused, and the bucket is unchanged
        let kept = t.bucket(k, W);
        for (start, end) in [(at(10), at(11)), (at(0), at(w + l + 1)), (at(10), at(max))] {
            assert_eq!(W.anchor(start, end), None);
            let b = Bucket {
                start,
                end,
                count: 1,
                last_event: None,
            };
            assert!(!t.set_bucket(k, Some(b), W));
            assert_eq!(t.bucket(k, W), kept);
        }
        // a zero `within` (an immediate trigger) and a zero look-back
        let z = Window {
            within: Duration::ZERO,
            lookback: Duration::ZERO,
        };
        assert_eq!(z.anchor(at(9), at(9)), Some((at(9), false)));
        assert_eq!(z.anchor(at(9), at(10)), None);
    }

    #[test]
    fn table_finds_inserts_and_removes() {
        let mut t = KeyTable::<crate::store::Growable>::default();
        // (a 4-byte reference into the packed key buffers, one instant for the
        // window, 4-byte alignment)
        assert_eq!(
            core::mem::size_of::<Option<State<crate::store::Growable>>>(),
            36
        );
        let (a, created) = t.find_or_insert(1, b"a").unwrap();
        assert!(created);
        let (b, _) = t.find_or_insert(2, b"a").unwrap();
        assert_ne!(a, b);
        assert_eq!(t.find_or_insert(1, b"a"), Some((a, false)));
        assert_eq!(t.find(2, b"a"), Some(b));
        assert!(t.remove(a, W).is_some());
        assert_eq!(t.find(1, b"a"), None);
        assert_eq!(t.len(), 1);
        let (c, _) = t.find_or_insert(3, b"c").unwrap();
        assert_eq!(c, a, "freed slots are reused");
    }

    /// Random inserts and removals of keys of random lengths (some with 2-byte length
    /// prefixes) on both flavours: every live key is found and reads back its bytes,
    /// removed keys are gone, whatever was moved in the shared buffers.
    fn table_matches_a_model<S: Storage>(seed: u32, rounds: usize) {
        use crate::test_rng::Rng;
        let mut rng = Rng(seed);
        let mut t = KeyTable::<S>::default();
        // (slot -> (trigger, key bytes))
        let mut model: alloc::collections::BTreeMap<u32, (u32, Vec<u8>)> = Default::default();
        for round in 0..rounds {
            let trigger = rng.below(3) as u32;
            let len = match rng.below(4) {
                0 => 0,
                1 => 130 + rng.below(60),
                _ => rng.below(40),
            };
            let key: Vec<u8> = (0..len).map(|i| (i as u8) ^ (rng.below(4) as u8)).collect();
            if rng.below(3) > 0 {
                match t.find_or_insert(trigger, &key) {
                    Some((k, true)) => {
                        assert!(model.insert(k, (trigger, key.clone())).is_none());
                    }
                    Some((k, false)) => assert_eq!(model[&k], (trigger, key.clone())),
                    None => assert!(
                        key.len() > S::KEY_BYTES || t.len() >= S::KEYS,
                        "only a key too long or a full table is refused"
                    ),
                }
            } else if let Some(&k) = model.keys().nth(rng.below(model.len().max(1))) {
                assert_eq!(t.remove(k, W), Some(model[&k].0));
                model.remove(&k);
            }
            if round % 16 == 0 || round + 1 == rounds {
                assert_eq!(t.len(), model.len());
                for (&k, (trigger, key)) in &model {
                    assert_eq!(t.key(k), &key[..], "slot {k} after round {round}");
                    assert_eq!(t.find(*trigger, key), Some(k));
                }
            }
        }
    }

    #[test]
    fn growable_table_matches_a_model() {
        for seed in 1..6 {
            table_matches_a_model::<crate::store::Growable>(seed, 3_000);
        }
    }

    #[test]
    fn fixed_table_matches_a_model() {
        for seed in 1..4 {
            table_matches_a_model::<crate::store::Fixed<4, 64, 512, 48, 4, 64, 4, 4, 64>>(
                seed, 3_000,
            );
        }
    }
}
