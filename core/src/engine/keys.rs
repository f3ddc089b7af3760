//! Per-(trigger, key) state: Prefect's `automation_bucket` row and, for proactive
//! triggers with `after`, its held `expect` events (`automation_held_event`), kept in
//! a slab and found through a hash table of (trigger, key bytes).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::hash::{BuildHasher, Hash, Hasher};
use hashbrown::HashTable;

use crate::hash::FxBuildHasher as FixedState;
use crate::event::EventId;
use crate::time::Instant;
use crate::wheel::Handle;

/// The event a bucket remembers as its `last_event` (the proactive firing's event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LastEvent {
    pub(crate) id: EventId,
    pub(crate) occurred: Instant,
    /// The event was in `expect` but not in `after` for this trigger (3.9's proactive
    /// renewal keeps such an event as the next window's firing context).
    pub(crate) expect_only: bool,
}

/// One window of one key: Prefect's `AutomationBucket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    pub(crate) count: i64,
    pub(crate) last_event: Option<LastEvent>,
}

/// A held `expect`-only event (3.9, `automation_held_events.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// In the wheel.
    Wheel(Handle),
    /// Its due time had already passed the wheel's time when it was filed: in the
    /// overdue set under this instant.
    Overdue(Instant),
    /// Taken out for the tick being processed; re-filed at the end of the tick.
    Batch,
}

/// State of one (trigger, key).
#[derive(Clone, Debug)]
pub(crate) struct KeyState {
    /// Index of the trigger node.
    pub(crate) trigger: u32,
    /// The encoded key values (see [`encode_key`]).
    pub(crate) key: Box<[u8]>,
    pub(crate) bucket: Option<Bucket>,
    /// Held events, unordered.
    pub(crate) held: Vec<Held>,
    pub(crate) timer: Timer,
    /// Queued for the next "delete satisfied proactive buckets" pass.
    pub(crate) satisfied_queued: bool,
}

/// Appends one key value to an encoded key: a LEB128 length, then the bytes.
pub(crate) fn push_key_value(out: &mut Vec<u8>, value: &str) {
    let mut n = value.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(value.as_bytes());
}

/// Decodes an encoded key into its values.
pub(crate) fn decode_key(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut n = 0usize;
        let mut shift = 0;
        while let Some((&b, rest)) = bytes.split_first() {
            bytes = rest;
            n |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let n = n.min(bytes.len());
        let (value, rest) = bytes.split_at(n);
        out.push(String::from_utf8_lossy(value).into_owned());
        bytes = rest;
    }
    out
}

/// The slab of key states and the table that finds them.
#[derive(Clone, Default)]
pub(crate) struct KeyTable {
    pub(crate) slots: Vec<Option<KeyState>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: FixedState,
}

fn hash_of(hasher: &FixedState, trigger: u32, key: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    trigger.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

impl KeyTable {
    /// The slot of (trigger, key), if present.
    pub(crate) fn find(&self, trigger: u32, key: &[u8]) -> Option<u32> {
        let hash = hash_of(&self.hasher, trigger, key);
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| s.trigger == trigger && &*s.key == key)
            })
            .copied()
    }

    /// The slot of (trigger, key), created empty if absent.
    pub(crate) fn find_or_insert(&mut self, trigger: u32, key: &[u8]) -> u32 {
        if let Some(i) = self.find(trigger, key) {
            return i;
        }
        let state = KeyState {
            trigger,
            key: key.into(),
            bucket: None,
            held: Vec::new(),
            timer: Timer::None,
            satisfied_queued: false,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(state);
                i
            }
            None => {
                self.slots.push(Some(state));
                (self.slots.len() - 1) as u32
            }
        };
        let hash = hash_of(&self.hasher, trigger, key);
        let slots = &self.slots;
        let hasher = &self.hasher;
        self.index.insert_unique(hash, idx, |&i| {
            let s = slots[i as usize].as_ref().expect("indexed slot is live");
            hash_of(hasher, s.trigger, &s.key)
        });
        idx
    }

    /// The state in slot `i`.
    pub(crate) fn get(&self, i: u32) -> Option<&KeyState> {
        self.slots.get(i as usize).and_then(|s| s.as_ref())
    }

    /// The state in slot `i`, mutably.
    pub(crate) fn get_mut(&mut self, i: u32) -> Option<&mut KeyState> {
        self.slots.get_mut(i as usize).and_then(|s| s.as_mut())
    }

    /// Removes slot `i` from the table.
    pub(crate) fn remove(&mut self, i: u32) -> Option<KeyState> {
        let state = self.slots.get_mut(i as usize)?.take()?;
        let hash = hash_of(&self.hasher, state.trigger, &state.key);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        self.free.push(i);
        Some(state)
    }

    /// Number of live keys.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
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
        assert_eq!(decode_key(&buf), ["", "prefect.flow-run.a", long.as_str(), "é\u{1f}"]);
        // an empty tuple and a tuple of one empty string differ
        let mut one_empty = Vec::new();
        push_key_value(&mut one_empty, "");
        assert_ne!(one_empty.as_slice(), &[] as &[u8]);
    }

    #[test]
    fn table_finds_inserts_and_removes() {
        let mut t = KeyTable::default();
        let a = t.find_or_insert(1, b"a");
        let b = t.find_or_insert(2, b"a");
        assert_ne!(a, b);
        assert_eq!(t.find_or_insert(1, b"a"), a);
        assert_eq!(t.find(2, b"a"), Some(b));
        assert!(t.remove(a).is_some());
        assert_eq!(t.find(1, b"a"), None);
        assert_eq!(t.len(), 1);
        let c = t.find_or_insert(3, b"c");
        assert_eq!(c, a, "freed slots are reused");
    }
}
