//! Saving and restoring the engine's state: [`Engine::snapshot`] and
//! [`Engine::restore`]. The format is described in the engine's module docs
//! (section "Snapshots").
//!
//! Saving borrows the engine's state into a payload description that postcard writes
//! directly into the caller's buffer; restoring decodes the whole payload into owned
//! records, checks every index in it, and only then builds a fresh engine: the
//! triggers are loaded with [`Engine::add_trigger`] in the saved load order, the state
//! of each unchanged trigger is put back, and every key's timer is filed again from
//! its state (the timing wheel and the overdue set are derived, never stored).

use alloc::vec::Vec;
use core::fmt;

use hashbrown::HashMap;

use super::keys::KeyTable;
use super::lateness::LatenessBuffer;
use super::ordering::{CausalOrdering, OrderingRecord, SeenCache};
use super::{
    AddTriggerError, Engine, EngineConfig, Node, NodeKind, ProactiveMode, Stats, TriggerId,
};
use crate::hash::FxBuildHasher;
use crate::trigger::Trigger;
use crate::wheel::GrowableWheel;

mod codec;
mod records;

pub(crate) use codec::fingerprint;
use codec::{crc32, decode_seen, encode_seen, Bytes};
use records::{KeysOut, LatenessOut, NodeIn, NodeOut, PayloadIn, PayloadOut, RootRecord};

/// The first four bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"OVDS";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u16 = 1;
/// Length of the snapshot header: magic (4), version (2), payload length (4), CRC-32
/// of the payload (4), integers little-endian.
pub const SNAPSHOT_HEADER_LEN: usize = 14;

/// Why [`Engine::snapshot`] could not write a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The output buffer is shorter than the snapshot: `needed` bytes are required.
    BufferTooSmall {
        /// The snapshot's size in bytes.
        needed: usize,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::BufferTooSmall { needed } => write!(
                f,
                "the snapshot needs {needed} bytes; pass a buffer at least that long (or use snapshot_to_vec)"
            ),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// Why [`Engine::restore`] refused a snapshot (no engine is built).
#[derive(Clone, Debug, PartialEq)]
pub enum RestoreError {
    /// The bytes end before the header or the payload does.
    Truncated,
    /// The bytes do not start with [`SNAPSHOT_MAGIC`]: not an overdue snapshot.
    BadMagic,
    /// The snapshot was written in a format version this build does not read.
    UnsupportedVersion(u16),
    /// The payload does not match its checksum, or does not decode to a consistent
    /// engine state.
    Corrupt,
    /// A trigger handed to `restore` was refused (the error says why).
    InvalidTrigger(TriggerId, AddTriggerError),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Truncated => f.write_str(
                "the snapshot is truncated (it ends before its header or payload does); use a complete copy, or start with an empty engine",
            ),
            RestoreError::BadMagic => f.write_str(
                "these bytes are not an overdue snapshot (they do not start with \"OVDS\"); check the file name",
            ),
            RestoreError::UnsupportedVersion(v) => write!(
                f,
                "snapshot format version {v} is not supported (this build reads version {SNAPSHOT_VERSION}); restore it with the overdue version that wrote it, or start with an empty engine"
            ),
            RestoreError::Corrupt => f.write_str(
                "the snapshot is corrupt (checksum mismatch or inconsistent contents); discard it and start with an empty engine",
            ),
            RestoreError::InvalidTrigger(id, e) => write!(
                f,
                "trigger {} cannot be loaded: {e}; fix it or leave it out",
                id.0
            ),
        }
    }
}

impl core::error::Error for RestoreError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RestoreError::InvalidTrigger(_, e) => Some(e),
            _ => None,
        }
    }
}

/// What [`Engine::restore`] did with each trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// In the snapshot and given now with the same definition: state restored.
    pub kept: Vec<TriggerId>,
    /// In the snapshot, but given now with a different definition: loaded, state
    /// dropped.
    pub changed: Vec<TriggerId>,
    /// In the snapshot, not given now: its state was dropped.
    pub removed: Vec<TriggerId>,
    /// Given now, not in the snapshot: loaded with no state.
    pub added: Vec<TriggerId>,
}

// ------------------------------------------------------------------ saving

impl Engine {
    /// The engine's state as a payload description borrowing from it.
    fn payload(&self) -> PayloadOut<'_> {
        // trees: node counts per root, roots in load order
        let mut counts: HashMap<TriggerId, u32, FxBuildHasher> =
            HashMap::with_capacity_and_hasher(self.roots.len(), FxBuildHasher);
        let mut nodes: Vec<(u64, NodeOut<'_>)> = Vec::new();
        for node in self.nodes.iter().flatten() {
            *counts.entry(node.root).or_insert(0) += 1;
            match &node.kind {
                NodeKind::Event(ev) if !ev.satisfied.is_empty() || ev.next_run.is_some() => {
                    nodes.push((
                        node.order,
                        NodeOut::Event {
                            order: node.order,
                            satisfied: &ev.satisfied,
                            next_run: ev.next_run,
                        },
                    ));
                }
                NodeKind::Composite(c) if c.stored.iter().any(Option::is_some) => {
                    nodes.push((
                        node.order,
                        NodeOut::Composite {
                            order: node.order,
                            stored: c
                                .stored
                                .iter()
                                .map(|s| s.as_ref().map(|s| &s.firing))
                                .collect(),
                        },
                    ));
                }
                _ => {}
            }
        }
        nodes.sort_unstable_by_key(|(order, _)| *order);
        let mut roots: Vec<RootRecord> = self
            .roots
            .iter()
            .filter_map(|(&id, &idx)| {
                let order = self.nodes[idx as usize].as_ref()?.order;
                Some(RootRecord {
                    id,
                    fingerprint: self.fingerprints.get(&id).copied().unwrap_or(0),
                    order,
                    nodes: counts.get(&id).copied().unwrap_or(0),
                })
            })
            .collect();
        roots.sort_unstable_by_key(|r| r.order);
        let (seen, seen_next_seq) = self.seen.export();
        let waitlist = self.ordering.export();
        PayloadOut {
            roots,
            nodes: nodes.into_iter().map(|(_, n)| n).collect(),
            keys: KeysOut(self),
            free_slots: self.keys.free_slots(),
            wheel_elapsed: self.wheel.elapsed(),
            wall: self.wall,
            events_clock: self.events_clock,
            events_clock_updated: self.events_clock_updated,
            stats: self.stats,
            actions: &self.actions,
            seen: Bytes(encode_seen(seen, self.seen.len())),
            seen_next_seq,
            waiting: waitlist.waiting,
            followers: waitlist.followers,
            next_position: waitlist.next_position,
            lateness: LatenessOut(&self.lateness),
            lateness_arrivals: self.lateness.export().1,
            watermark: self.lateness.watermark,
        }
    }

    /// Writes the engine's whole state into `out` and returns the number of bytes
    /// written: a [`SNAPSHOT_HEADER_LEN`]-byte header (magic `OVDS`, format version,
    /// payload length, CRC-32 of the payload) and the postcard payload. See the
    /// module docs ("Snapshots") for what it holds.
    ///
    /// Call it between `handle_*` calls, whenever a checkpoint is wanted; it does not
    /// change the engine. Firings not yet taken with
    /// [`poll_action`](Self::poll_action) are part of the snapshot.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::BufferTooSmall`] with the size needed when `out` is too short
    /// (nothing useful is written then).
    ///
    /// # Panics
    ///
    /// If the payload is larger than `u32::MAX` bytes (4 GiB, tens of millions of
    /// tracked keys), which the header cannot describe.
    pub fn snapshot(&self, out: &mut [u8]) -> Result<usize, SnapshotError> {
        let payload = self.payload();
        let too_small = |payload: &PayloadOut<'_>| SnapshotError::BufferTooSmall {
            needed: SNAPSHOT_HEADER_LEN
                + postcard::experimental::serialized_size(payload).unwrap_or(0),
        };
        if out.len() < SNAPSHOT_HEADER_LEN {
            return Err(too_small(&payload));
        }
        let (header, body) = out.split_at_mut(SNAPSHOT_HEADER_LEN);
        let len = match postcard::to_slice(&payload, body) {
            Ok(written) => written.len(),
            Err(_) => return Err(too_small(&payload)),
        };
        write_header(header, &body[..len]);
        Ok(SNAPSHOT_HEADER_LEN + len)
    }

    /// [`snapshot`](Self::snapshot) into a new `Vec` of exactly the snapshot's size.
    ///
    /// # Panics
    ///
    /// As [`snapshot`](Self::snapshot), beyond 4 GiB of payload.
    pub fn snapshot_to_vec(&self) -> Vec<u8> {
        let payload = self.payload();
        // a guess at the size, to spare most reallocations
        let guess = 256 + 96 * self.keys.len() + 20 * self.seen.len() + 128 * self.lateness.len();
        let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER_LEN + guess);
        bytes.resize(SNAPSHOT_HEADER_LEN, 0);
        bytes = postcard::to_extend(&payload, bytes)
            .expect("every sequence in the payload has a known length");
        let (header, body) = bytes.split_at_mut(SNAPSHOT_HEADER_LEN);
        write_header(header, body);
        bytes
    }
}

fn write_header(header: &mut [u8], payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("a snapshot payload is at most 4 GiB");
    header[0..4].copy_from_slice(&SNAPSHOT_MAGIC);
    header[4..6].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    header[6..10].copy_from_slice(&len.to_le_bytes());
    header[10..14].copy_from_slice(&crc32(payload).to_le_bytes());
}

/// Checks the header and the checksum; returns the payload.
fn read_header(bytes: &[u8]) -> Result<&[u8], RestoreError> {
    let magic_len = bytes.len().min(SNAPSHOT_MAGIC.len());
    if bytes[..magic_len] != SNAPSHOT_MAGIC[..magic_len] {
        return Err(RestoreError::BadMagic);
    }
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return Err(RestoreError::Truncated);
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u16_at(4);
    if version != SNAPSHOT_VERSION {
        return Err(RestoreError::UnsupportedVersion(version));
    }
    let len = u32_at(6) as usize;
    let payload = &bytes[SNAPSHOT_HEADER_LEN..];
    if payload.len() < len {
        return Err(RestoreError::Truncated);
    }
    if payload.len() > len || crc32(payload) != u32_at(10) {
        return Err(RestoreError::Corrupt);
    }
    Ok(payload)
}

// ------------------------------------------------------------------ restoring

/// Where the nodes of a kept trigger went: old load-order numbers
/// `old..old + count` are new node indices `new..new + count`.
#[derive(Clone, Copy)]
struct Moved {
    old: u64,
    count: u64,
    new: u32,
}

/// The new node index of the node saved as load-order number `order`, if its trigger
/// was kept. `moved` is sorted by `old`.
fn new_node(moved: &[Moved], order: u64) -> Option<u32> {
    let i = moved.partition_point(|m| m.old <= order).checked_sub(1)?;
    let m = moved[i];
    let offset = order.checked_sub(m.old).filter(|&o| o < m.count)?;
    u32::try_from(u64::from(m.new) + offset).ok()
}

/// Structural checks that need no triggers: tree ranges, slot numbers. Returns the
/// number of key slots.
fn check_layout(p: &PayloadIn<'_>) -> Result<usize, RestoreError> {
    let corrupt = Err(RestoreError::Corrupt);
    // counters that only ever grow by one: a value no run could reach would overflow
    let Stats {
        events,
        duplicates,
        log_events,
        followers_held,
        lost_followers,
        depth_exceeded,
        firings,
        late_dropped,
        late_processed,
    } = p.stats;
    let counters = [
        events,
        duplicates,
        log_events,
        followers_held,
        lost_followers,
        depth_exceeded,
        firings,
        late_dropped,
        late_processed,
        p.seen_next_seq,
        p.next_position,
        p.lateness_arrivals,
    ];
    if counters.iter().any(|&c| c >= 1 << 62) {
        return corrupt;
    }
    // roots: distinct ids, disjoint node ranges in load order
    let mut end = 0u64;
    let mut ids: HashMap<TriggerId, (), FxBuildHasher> =
        HashMap::with_capacity_and_hasher(p.roots.len(), FxBuildHasher);
    for r in &p.roots {
        if r.nodes == 0 || r.order < end || ids.insert(r.id, ()).is_some() {
            return corrupt;
        }
        end = match r.order.checked_add(u64::from(r.nodes)) {
            Some(e) => e,
            None => return corrupt,
        };
    }
    let in_a_tree = |order: u64| {
        let i = p.roots.partition_point(|r| r.order <= order);
        i > 0 && order - p.roots[i - 1].order < u64::from(p.roots[i - 1].nodes)
    };
    let mut previous: Option<u64> = None;
    for n in &p.nodes {
        let order = match n {
            NodeIn::Event { order, .. } | NodeIn::Composite { order, .. } => *order,
        };
        if !in_a_tree(order) || previous.is_some_and(|o| o >= order) {
            return corrupt;
        }
        previous = Some(order);
    }
    // slots: every slot below the total is either live or free, exactly once
    let slots = p.keys.len() + p.free_slots.len();
    if u32::try_from(slots).is_err() {
        return corrupt;
    }
    let mut taken = alloc::vec![false; slots];
    let key_slots = p.keys.iter().map(|k| (k.slot, Some(k.node)));
    let free = p.free_slots.iter().map(|&s| (s, None));
    for (slot, node) in key_slots.chain(free) {
        match taken.get_mut(slot as usize) {
            Some(t) if !*t => *t = true,
            _ => return corrupt,
        }
        if node.is_some_and(|order| !in_a_tree(order)) {
            return corrupt;
        }
    }
    Ok(slots)
}

impl Engine {
    /// Rebuilds an engine that behaves exactly as the one that wrote `bytes` with
    /// [`snapshot`](Self::snapshot), given the triggers to load now.
    ///
    /// `config` is the configuration to run with (normally the one the snapshot was
    /// taken with; it is not stored). Events still buffered for allowed lateness are
    /// evaluated at once, in release order, when `config` has no allowed lateness. Each trigger in `triggers` whose id was in the
    /// snapshot with the same definition keeps all its state; one whose definition
    /// changed is loaded with no state, and the state of triggers in the snapshot but
    /// not in `triggers` is dropped; the [`RestoreReport`] lists which were which.
    /// Triggers from the snapshot are loaded in their saved load order, new ones
    /// after them in the order given. Everything not tied to a trigger comes back
    /// as saved: clocks, de-duplication cache, waiting followers, the lateness buffer
    /// and its watermark, counters, and firings not yet polled (also those of
    /// removed triggers). Timers are re-filed from the restored state, so
    /// [`poll_timeout`](Self::poll_timeout) is ready at once.
    ///
    /// # Errors
    ///
    /// [`RestoreError::Truncated`], [`BadMagic`](RestoreError::BadMagic),
    /// [`UnsupportedVersion`](RestoreError::UnsupportedVersion) or
    /// [`Corrupt`](RestoreError::Corrupt) for bytes that are not a complete, intact
    /// snapshot of this format; [`InvalidTrigger`](RestoreError::InvalidTrigger) for
    /// a trigger `add_trigger` would refuse (including a repeated id). Decoding never
    /// allocates much more than the input's size, and an error never leaves a
    /// partly restored engine behind.
    pub fn restore(
        config: EngineConfig,
        triggers: Vec<(TriggerId, Trigger)>,
        bytes: &[u8],
    ) -> Result<(Engine, RestoreReport), RestoreError> {
        let payload = read_header(bytes)?;
        let (saved, rest): (PayloadIn<'_>, &[u8]) =
            postcard::take_from_bytes(payload).map_err(|_| RestoreError::Corrupt)?;
        if !rest.is_empty() {
            return Err(RestoreError::Corrupt);
        }
        let slot_count = check_layout(&saved)?;

        // the triggers given now, validated, with their fingerprints
        let mut given: Vec<Option<(TriggerId, Trigger, u64)>> = Vec::with_capacity(triggers.len());
        let mut position: HashMap<TriggerId, usize, FxBuildHasher> =
            HashMap::with_capacity_and_hasher(triggers.len(), FxBuildHasher);
        for (id, mut trigger) in triggers {
            trigger
                .validate()
                .map_err(|e| RestoreError::InvalidTrigger(id, AddTriggerError::Invalid(e)))?;
            if position.insert(id, given.len()).is_some() {
                return Err(RestoreError::InvalidTrigger(
                    id,
                    AddTriggerError::DuplicateId(id),
                ));
            }
            let print = fingerprint(&trigger);
            given.push(Some((id, trigger, print)));
        }

        // load: the snapshot's triggers in saved order, then the new ones
        let mut engine = Engine::new(config);
        let mut report = RestoreReport::default();
        let mut moved: Vec<Moved> = Vec::new();
        let load = |engine: &mut Engine, id: TriggerId, trigger: Trigger| {
            let first = engine.next_order;
            engine
                .add_trigger(id, trigger)
                .map_err(|e| RestoreError::InvalidTrigger(id, e))?;
            Ok::<(u64, u32), RestoreError>((engine.next_order - first, engine.roots[&id]))
        };
        for r in &saved.roots {
            let Some(entry) = position.get(&r.id).and_then(|&i| given[i].take()) else {
                report.removed.push(r.id);
                continue;
            };
            let (id, trigger, print) = entry;
            let (count, root) = load(&mut engine, id, trigger)?;
            if print == r.fingerprint && count == u64::from(r.nodes) {
                report.kept.push(id);
                moved.push(Moved {
                    old: r.order,
                    count,
                    new: root,
                });
            } else {
                report.changed.push(id);
            }
        }
        for (id, trigger, _) in given.into_iter().flatten() {
            load(&mut engine, id, trigger)?;
            report.added.push(id);
        }
        engine.restore_state(saved, slot_count, &moved)?;
        Ok((engine, report))
    }

    /// Puts the saved state of the kept triggers (`moved`) and the engine-wide state
    /// into a freshly loaded engine, then files every key's timer.
    fn restore_state(
        &mut self,
        saved: PayloadIn<'_>,
        slot_count: usize,
        moved: &[Moved],
    ) -> Result<(), RestoreError> {
        let corrupt = RestoreError::Corrupt;
        // keys
        let mut keys = KeyTable::with_vacant_slots(slot_count, saved.keys.len());
        if self.config.proactive == ProactiveMode::Scheduled {
            keys.track_ends();
        }
        let mut free = saved.free_slots;
        for k in saved.keys {
            let Some(node) = new_node(moved, k.node) else {
                free.push(k.slot);
                continue;
            };
            match self.nodes.get_mut(node as usize) {
                Some(Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                })) => ev.keys += 1,
                _ => return Err(corrupt),
            }
            if !keys.place(k.slot, node, k.key) {
                return Err(corrupt);
            }
            keys.set_bucket(k.slot, k.bucket);
            if !k.held.is_empty() {
                keys.held_mut(k.slot).extend_from_slice(&k.held);
            }
        }
        keys.set_free(free);
        // per-node state
        for n in saved.nodes {
            let order = match &n {
                NodeIn::Event { order, .. } | NodeIn::Composite { order, .. } => *order,
            };
            let Some(idx) = new_node(moved, order) else {
                continue;
            };
            match (n, self.nodes.get_mut(idx as usize)) {
                (
                    NodeIn::Event {
                        satisfied,
                        next_run,
                        ..
                    },
                    Some(Some(Node {
                        kind: NodeKind::Event(ev),
                        ..
                    })),
                ) => {
                    for &k in &satisfied {
                        if keys.trigger(k) != Some(idx) || keys.satisfied_queued(k) {
                            return Err(corrupt);
                        }
                        keys.set_satisfied_queued(k, true);
                    }
                    ev.satisfied = satisfied;
                    ev.next_run = next_run;
                }
                (
                    NodeIn::Composite { stored, .. },
                    Some(Some(Node {
                        kind: NodeKind::Composite(c),
                        ..
                    })),
                ) if stored.len() == c.stored.len() => {
                    c.stored = stored
                        .into_iter()
                        .map(|f| f.map(|firing| super::StoredChild { firing }))
                        .collect();
                }
                _ => return Err(corrupt),
            }
        }
        self.keys = keys;
        // engine-wide state
        self.seen = decode_seen(saved.seen)
            .and_then(|seen| SeenCache::import(seen, saved.seen_next_seq))
            .ok_or(RestoreError::Corrupt)?;
        self.ordering = CausalOrdering::import(OrderingRecord {
            waiting: saved.waiting,
            followers: saved.followers,
            next_position: saved.next_position,
        })
        .ok_or(RestoreError::Corrupt)?;
        self.lateness =
            LatenessBuffer::import(saved.lateness, saved.lateness_arrivals, saved.watermark)
                .ok_or(RestoreError::Corrupt)?;
        self.wall = saved.wall;
        self.events_clock = saved.events_clock;
        self.events_clock_updated = saved.events_clock_updated;
        self.stats = saved.stats;
        self.actions = saved.actions;
        // timers, derived from the state, on a wheel whose time is the saved one
        let (tick, live) = (self.config.wheel_tick, self.keys.len());
        self.wheel = GrowableWheel::with_capacity(tick, saved.wheel_elapsed, live);
        let live: Vec<u32> = self.keys.iter().map(|(k, _)| k).collect();
        for k in live {
            self.after_change(k);
        }
        // saved with allowed lateness, restored without: nothing would ever release the
        // buffered events, so they are evaluated now, in release order
        if self.config.allowed_lateness.is_none() {
            while let Some(event) = self.lateness.pop_first() {
                self.stats.events += 1;
                let _ = self.evaluate_now(&event.view());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
