//! The payload's records as they are written: each borrows from the engine and
//! encodes as the owned type the format was first written with (`&[T]`, `Vec<T>`,
//! `VecDeque<T>` and a sequence serialized from an iterator of known length all
//! encode alike, as do [`Bytes`], `&[u8]` and a sequence of `u8`). They are read
//! back by `restore.rs`, field by field in the same order.

use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::codec::{Bytes, SeenOut};
use super::for_each_sorted;
use crate::engine::keys::{Bucket, KeyTable};
use crate::engine::lateness::LatenessBuffer;
use crate::engine::load::Children;
use crate::engine::ordering::{CausalOrdering, FollowerSlots};
use crate::engine::seen::SeenCache;
use crate::engine::{CompositeNode, Engine, FiringBuf, NodeKind, Stats, TriggerId};
use crate::event::{Event, Labels, Related};
use crate::store::{Queue, Storage, Table};
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

/// A node with state: an event trigger's satisfied windows and next scheduled run,
/// or a composite trigger's stored child firings (by child).
#[derive(Serialize)]
#[serde(bound = "")]
pub(super) enum NodeOut<'a, S: Storage> {
    Event {
        order: u64,
        satisfied: SatisfiedOut<'a, S>,
        next_run: Option<Instant>,
    },
    Composite {
        order: u64,
        stored: StoredOut<'a, S>,
    },
}

/// An event trigger node's keys queued for the satisfied-bucket pass, in queue order
/// (as `Vec<u32>` encodes).
pub(super) struct SatisfiedOut<'a, S: Storage>(&'a Engine<S>, u32);

impl<'a, St: Storage> SatisfiedOut<'a, St> {
    fn keys(&self) -> impl Iterator<Item = u32> + 'a {
        let (e, node) = (self.0, self.1);
        e.satisfied
            .iter()
            .copied()
            .filter(move |&k| e.keys.satisfied_queued(k) && e.keys.trigger(k) == Some(node))
    }
}

impl<St: Storage> Serialize for SatisfiedOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.keys().count()))?;
        for k in self.keys() {
            seq.serialize_element(&k)?;
        }
        seq.end()
    }
}

/// A composite's stored child firings, one `Option` per child in declared order (as
/// `Vec<Option<OwnedFiring>>` encodes).
pub(super) struct StoredOut<'a, S: Storage>(&'a Engine<S>, &'a CompositeNode);

impl<St: Storage> Serialize for StoredOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut seq = s.serialize_seq(Some(self.1.child_count as usize))?;
        for child in Children::of(&e.nodes, self.1) {
            seq.serialize_element(&e.stored_firing(child).map(FiringBuf::<St>::view))?;
        }
        seq.end()
    }
}

/// The loaded triggers in load order ([`RootRecord`]s).
pub(super) struct RootsOut<'a, S: Storage>(pub(super) &'a Engine<S>);

impl<St: Storage> Serialize for RootsOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let roots = || {
            e.roots.iter().filter_map(|(&id, &idx)| {
                let node = e.nodes.get(idx as usize)?.as_ref()?;
                Some((node.order, id, idx))
            })
        };
        let mut seq = s.serialize_seq(Some(roots().count()))?;
        for_each_sorted(roots, |(order, id, idx)| {
            seq.serialize_element(&RootRecord {
                id,
                fingerprint: e.fingerprints.get(&id).copied().unwrap_or(0),
                order,
                nodes: e.tree_size(idx),
            })
        })?;
        seq.end()
    }
}

/// The nodes with state ([`NodeOut`]), by load-order number.
pub(super) struct NodesOut<'a, S: Storage>(pub(super) &'a Engine<S>);

impl<St: Storage> Serialize for NodesOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let with_state = || {
            e.nodes.iter().enumerate().filter_map(|(idx, node)| {
                let node = node.as_ref()?;
                let has_state = match &node.kind {
                    NodeKind::Event(ev) => {
                        ev.next_run.is_some() || SatisfiedOut(e, idx as u32).keys().next().is_some()
                    }
                    NodeKind::Composite(c) => {
                        Children::of(&e.nodes, c).any(|n| e.stored_firing(n).is_some())
                    }
                };
                has_state.then_some((node.order, idx))
            })
        };
        let mut seq = s.serialize_seq(Some(with_state().count()))?;
        for_each_sorted(with_state, |(order, idx)| {
            let Some(node) = e.nodes[idx].as_ref() else {
                return Ok(());
            };
            let out: NodeOut<'_, St> = match &node.kind {
                NodeKind::Event(ev) => NodeOut::Event {
                    order,
                    satisfied: SatisfiedOut(e, idx as u32),
                    next_run: ev.next_run,
                },
                NodeKind::Composite(c) => NodeOut::Composite {
                    order,
                    stored: StoredOut(e, c),
                },
            };
            seq.serialize_element(&out)
        })?;
        seq.end()
    }
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
                bucket: e.bucket_of(k),
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

/// The waiting followers (waitlist position, `received`, event), by position (as
/// `Vec<(u64, Instant, OwnedEvent)>` encodes).
pub(super) struct WaitingOut<'a, St: Storage>(pub(super) &'a CausalOrdering<St>);

impl<St: Storage> Serialize for WaitingOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.waiting_count()))?;
        self.0.for_each_waiting(|position, received, event| {
            seq.serialize_element(&(position, received, EventOut(event)))
        })?;
        seq.end()
    }
}

/// Each leader's follower-id set, leaders sorted (as
/// `Vec<(EventId, (u32, Vec<(u32, Option<EventId>)>))>` encodes).
pub(super) struct FollowersOut<'a, St: Storage>(pub(super) &'a CausalOrdering<St>);

/// The occupied slots of one follower set (as `Vec<(u32, Option<EventId>)>`).
struct SlotsOut<'a>(&'a dyn FollowerSlots);

impl Serialize for SlotsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.count()))?;
        let mut result = Ok(());
        self.0.each(&mut |position, id| {
            result = seq.serialize_element(&(position, id));
            result.is_ok()
        });
        result?;
        seq.end()
    }
}

impl<St: Storage> Serialize for FollowersOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.leader_count()))?;
        self.0.for_each_follower_set(|leader, size, slots| {
            seq.serialize_element(&(leader, (size, SlotsOut(slots))))
        })?;
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

/// An event as `OwnedEvent` encodes (field for field), read from a view.
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
    pub(super) roots: RootsOut<'a, St>,
    pub(super) nodes: NodesOut<'a, St>,
    pub(super) keys: KeysOut<'a, St>,
    pub(super) free_slots: &'a [u32],
    pub(super) wheel_elapsed: Instant,
    pub(super) wall: Instant,
    pub(super) events_clock: Option<Instant>,
    pub(super) events_clock_updated: Option<Instant>,
    pub(super) stats: Stats,
    pub(super) actions: ActionsOut<'a, St>,
    pub(super) resume: (u8, u32, u64),
    pub(super) seen: SeenCacheOut<'a, St>,
    pub(super) seen_next_seq: u64,
    pub(super) waiting: WaitingOut<'a, St>,
    pub(super) followers: FollowersOut<'a, St>,
    pub(super) next_position: u64,
    pub(super) lateness: LatenessOut<'a, St>,
    pub(super) lateness_arrivals: u64,
    pub(super) watermark: Option<Instant>,
}

/// The de-duplication cache, packed ([`SeenOut`]).
pub(super) struct SeenCacheOut<'a, St: Storage>(pub(super) &'a SeenCache<St>);

impl<St: Storage> Serialize for SeenCacheOut<'_, St> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SeenOut(|| self.0.export().0).serialize(s)
    }
}
