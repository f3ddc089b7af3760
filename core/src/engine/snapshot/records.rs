//! The payload's records. Each exists twice: a borrowing `*Out` that is written, and
//! an owning `*In` that is read. postcard is positional, so the two must list the
//! same fields, with types that encode alike (`&[T]`, `Vec<T>` and `VecDeque<T>` all
//! encode as a sequence; [`Bytes`] and `&[u8]` as a byte string), in the same order.

use alloc::vec::Vec;

use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::codec::Bytes;
use crate::engine::keys::{Bucket, Held, KeyTable};
use crate::engine::lateness::LatenessBuffer;
use crate::engine::ordering::{FollowerSetRecord, WaitingRecord};
use crate::engine::{Engine, Firing, FiringBuf, OwnedFiring, Stats, TriggerId};
use crate::event::{Event, EventId, Labels, OwnedEvent, Related};
use crate::store::{Queue, Storage};
use crate::time::Instant;

/// A loaded trigger: its id, the fingerprint of its definition, the load-order
/// number of its root node and how many nodes its tree has (their numbers follow
/// the root's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RootRecord {
    pub(super) id: TriggerId,
    pub(super) fingerprint: u64,
    pub(super) order: u64,
    pub(super) nodes: u32,
}

#[derive(Serialize)]
pub(super) enum NodeOut<'a> {
    Event {
        order: u64,
        satisfied: Vec<u32>,
        next_run: Option<Instant>,
    },
    Composite {
        order: u64,
        stored: Vec<Option<Firing<'a>>>,
    },
}

#[derive(Deserialize)]
pub(super) enum NodeIn {
    Event {
        order: u64,
        satisfied: Vec<u32>,
        next_run: Option<Instant>,
    },
    Composite {
        order: u64,
        stored: Vec<Option<OwnedFiring>>,
    },
}

#[derive(Serialize)]
#[serde(bound = "")]
pub(super) struct KeyOut<'a, S: Storage> {
    pub(super) slot: u32,
    pub(super) node: u64,
    pub(super) key: Bytes<&'a [u8]>,
    pub(super) bucket: Option<Bucket>,
    pub(super) held: HeldOut<'a, S>,
}

/// A key's held events, by occurred then id (encoded as a sequence, like a `Vec`).
pub(super) struct HeldOut<'a, S: Storage>(&'a KeyTable<S>, u32);

impl<S: Storage> Serialize for HeldOut<'_, S> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut seq = s.serialize_seq(Some(self.0.held(self.1).count()))?;
        for h in self.0.held(self.1) {
            seq.serialize_element(&h)?;
        }
        seq.end()
    }
}

#[derive(Deserialize)]
pub(super) struct KeyIn<'a> {
    pub(super) slot: u32,
    pub(super) node: u64,
    pub(super) key: &'a [u8],
    pub(super) bucket: Option<Bucket>,
    pub(super) held: Vec<Held>,
}

/// Every live key, in slot order.
pub(super) struct KeysOut<'a, St: Storage>(pub(super) &'a Engine<St>);

impl<St: Storage> Serialize for KeysOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut seq = s.serialize_seq(Some(e.keys.iter().count()))?;
        for (k, t) in e.keys.iter() {
            let node = e.nodes[t as usize].as_ref().map_or(u64::MAX, |n| n.order);
            seq.serialize_element(&KeyOut {
                slot: k,
                node,
                key: Bytes(e.keys.key(k)),
                bucket: e.keys.bucket(k),
                held: HeldOut(&e.keys, k),
            })?;
        }
        seq.end()
    }
}

/// The lateness buffer's events with their arrival numbers, in release order.
pub(super) struct LatenessOut<'a, St: Storage>(pub(super) &'a LatenessBuffer<St>);

impl<St: Storage> Serialize for LatenessOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (events, len, _) = self.0.export();
        let mut seq = s.serialize_seq(Some(len))?;
        for (arrival, event) in events {
            seq.serialize_element(&(arrival, EventOut(event.view())))?;
        }
        seq.end()
    }
}

/// The firings not yet polled, in order (encoded as a sequence of firings, as a
/// `VecDeque<OwnedFiring>`).
pub(super) struct ActionsOut<'a, St: Storage>(pub(super) &'a St::FiringQueue<FiringBuf<St>>);

impl<St: Storage> Serialize for ActionsOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for firing in self.0.iter() {
            seq.serialize_element(&firing.view())?;
        }
        seq.end()
    }
}

/// An event as [`OwnedEvent`] encodes (field for field), read from a view.
struct EventOut<'a>(Event<'a>);

/// Labels as a sequence of `(name, value)` pairs, as `Vec<(String, String)>` encodes.
struct LabelsOut<'a>(Labels<'a>);

/// Related resources as `Vec<Vec<(String, String)>>` encodes.
struct RelatedOut<'a>(Related<'a>);

impl Serialize for LabelsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for pair in self.0.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

impl Serialize for RelatedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for labels in self.0.iter() {
            seq.serialize_element(&LabelsOut(labels))?;
        }
        seq.end()
    }
}

impl Serialize for EventOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &self.0;
        let mut st = s.serialize_struct("OwnedEvent", 7)?;
        st.serialize_field("id", &e.id)?;
        st.serialize_field("event", e.event)?;
        st.serialize_field("occurred", &e.occurred)?;
        st.serialize_field("received", &e.received)?;
        st.serialize_field("resource", &LabelsOut(e.resource))?;
        st.serialize_field("related", &RelatedOut(e.related))?;
        st.serialize_field("follows", &e.follows)?;
        st.end()
    }
}

#[derive(Serialize)]
#[serde(bound = "")]
pub(super) struct PayloadOut<'a, St: Storage> {
    pub(super) roots: Vec<RootRecord>,
    pub(super) nodes: Vec<NodeOut<'a>>,
    pub(super) keys: KeysOut<'a, St>,
    pub(super) free_slots: &'a [u32],
    pub(super) wheel_elapsed: Instant,
    pub(super) wall: Instant,
    pub(super) events_clock: Option<Instant>,
    pub(super) events_clock_updated: Option<Instant>,
    pub(super) stats: Stats,
    pub(super) actions: ActionsOut<'a, St>,
    pub(super) resume: (u8, u32, u64),
    pub(super) seen: Bytes<Vec<u8>>,
    pub(super) seen_next_seq: u64,
    pub(super) waiting: Vec<WaitingRecord>,
    pub(super) followers: Vec<(EventId, FollowerSetRecord)>,
    pub(super) next_position: u64,
    pub(super) lateness: LatenessOut<'a, St>,
    pub(super) lateness_arrivals: u64,
    pub(super) watermark: Option<Instant>,
}

#[derive(Deserialize)]
pub(super) struct PayloadIn<'a> {
    pub(super) roots: Vec<RootRecord>,
    pub(super) nodes: Vec<NodeIn>,
    #[serde(borrow)]
    pub(super) keys: Vec<KeyIn<'a>>,
    pub(super) free_slots: Vec<u32>,
    pub(super) wheel_elapsed: Instant,
    pub(super) wall: Instant,
    pub(super) events_clock: Option<Instant>,
    pub(super) events_clock_updated: Option<Instant>,
    pub(super) stats: Stats,
    pub(super) actions: Vec<OwnedFiring>,
    pub(super) resume: (u8, u32, u64),
    pub(super) seen: &'a [u8],
    pub(super) seen_next_seq: u64,
    pub(super) waiting: Vec<WaitingRecord>,
    pub(super) followers: Vec<(EventId, FollowerSetRecord)>,
    pub(super) next_position: u64,
    pub(super) lateness: Vec<(u64, OwnedEvent)>,
    pub(super) lateness_arrivals: u64,
    pub(super) watermark: Option<Instant>,
}
