//! Restoring: checking the layout of a decoded snapshot, matching its triggers with
//! the given ones, and rebuilding the state.

use alloc::vec::Vec;

use hashbrown::HashMap;

use super::super::capacity::TickResume;
use super::super::keys::KeyTable;
use super::super::lateness::LatenessBuffer;
use super::super::ordering::{CausalOrdering, OrderingRecord, SeenCache};
use super::super::pool::Packed;
use super::super::{
    AddTriggerError, Capacity, Engine, EngineConfig, FiringBuf, Node, NodeKind, ProactiveMode,
    Stats, TriggerId,
};
use super::codec::{decode_seen, key_value_count};
use super::records::{NodeIn, PayloadIn};
use super::{fingerprint, read_header, RestoreError, RestoreReport};
use crate::event::OwnedEvent;
use crate::hash::FxBuildHasher;
use crate::store::{Growable, Queue, Seq, Storage, Table};
use crate::trigger::Trigger;
use crate::wheel::Wheel;

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
        refused_full,
        deferred_ticks,
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
        refused_full,
        deferred_ticks,
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

impl Engine<Growable> {
    /// Rebuilds an engine that behaves exactly as the one that wrote `bytes` with
    /// [`snapshot`](Self::snapshot), given the triggers to load now.
    ///
    /// `config` is the configuration to run with (normally the one the snapshot was
    /// taken with; it is not stored). Events still buffered for allowed lateness are
    /// evaluated at once, in release order, when `config` has no allowed
    /// lateness. Each trigger in `triggers` whose id was in the snapshot with the same definition keeps all its state; one whose definition
    /// changed is loaded with no state, and the state of triggers in the snapshot but
    /// not in `triggers` is dropped; the [`RestoreReport`] lists which were which.
    /// Triggers from the snapshot are loaded in their saved load order, new ones
    /// after them in the order given. Everything not tied to a trigger comes back
    /// as saved: clocks, de-duplication cache, waiting followers, the lateness buffer
    /// and its watermark, counters, and firings not yet polled (also those of
    /// removed triggers). Timers are re-filed from the restored state, so
    /// [`poll_timeout`](Self::poll_timeout) is ready at once. A de-duplication cache
    /// larger than `config.dedup_capacity` keeps its most recently set ids, as the
    /// cache evicts at its next insert.
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
        Engine::restore_from(config, triggers, bytes)
    }
}

impl<S: Storage> Engine<S> {
    /// [`Engine::restore`] into an engine whose state lives in storage `S`.
    ///
    /// # Errors
    ///
    /// As [`Engine::restore`], and [`RestoreError::Full`] when the saved state does
    /// not fit `S`'s capacities.
    pub fn restore_from(
        config: EngineConfig,
        triggers: Vec<(TriggerId, Trigger)>,
        bytes: &[u8],
    ) -> Result<(Engine<S>, RestoreReport), RestoreError> {
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
        let mut engine = Engine::<S>::create(config);
        let mut report = RestoreReport::default();
        let mut moved: Vec<Moved> = Vec::new();
        let load = |engine: &mut Engine<S>, id: TriggerId, trigger: Trigger| {
            let first = engine.next_order;
            engine
                .add_trigger(id, trigger)
                .map_err(|e| RestoreError::InvalidTrigger(id, e))?;
            Ok::<(u64, u32), RestoreError>((
                engine.next_order - first,
                engine.roots.get(&id).copied().unwrap_or(0),
            ))
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
        let same_triggers =
            report.changed.is_empty() && report.removed.is_empty() && report.added.is_empty();
        engine.restore_state(saved, slot_count, &moved)?;
        if !same_triggers {
            // a deferred tick resumes by position in the proactive list: start it over
            engine.resume = TickResume::Start;
        }
        engine.check_capacities().map_err(RestoreError::Full)?;
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
        let mut keys = KeyTable::<S>::with_vacant_slots(slot_count, saved.keys.len())
            .ok_or(RestoreError::Full(Capacity::Keys))?;
        if self.config.proactive == ProactiveMode::Scheduled {
            keys.track_ends();
        }
        let mut free = saved.free_slots;
        for k in saved.keys {
            let Some(node) = new_node(moved, k.node) else {
                free.push(k.slot);
                continue;
            };
            let Some(Some(Node {
                kind: NodeKind::Event(ev),
                ..
            })) = self.nodes.get_mut(node as usize)
            else {
                return Err(corrupt);
            };
            // one well-formed value per `for_each` label, as the engine writes keys
            if key_value_count(k.key) != Some(ev.compiled.for_each().len()) {
                return Err(corrupt);
            }
            ev.keys += 1;
            if !keys.place(k.slot, node, k.key) {
                return Err(corrupt);
            }
            keys.set_bucket(k.slot, k.bucket);
            for &h in &k.held {
                if !keys.hold(k.slot, h) {
                    return Err(RestoreError::Full(Capacity::HeldEvents));
                }
            }
        }
        if !keys.set_free(&free) {
            return Err(corrupt);
        }
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
                        self.satisfied
                            .try_push(k)
                            .map_err(|_| RestoreError::Full(Capacity::Keys))?;
                    }
                    ev.next_run = next_run;
                }
                (
                    NodeIn::Composite { stored, .. },
                    Some(Some(Node {
                        kind: NodeKind::Composite(c),
                        ..
                    })),
                ) if stored.len() == c.child_count as usize => {
                    let mut next = c.first_child;
                    for firing in stored {
                        let Some(child) = next else { break };
                        next = self.nodes[child as usize]
                            .as_ref()
                            .and_then(|n| n.next_sibling);
                        let Some(firing) = firing else {
                            continue;
                        };
                        let packed = FiringBuf::<S>::from_view(&firing.view())
                            .ok_or(RestoreError::Full(Capacity::FiringBytes))?;
                        if !self.store_firing(child, packed) {
                            return Err(RestoreError::Full(Capacity::TriggerNodes));
                        }
                    }
                }
                _ => return Err(corrupt),
            }
        }
        self.keys = keys;
        // engine-wide state
        self.seen = decode_seen(saved.seen)
            .and_then(|seen| {
                SeenCache::<S>::import(seen, saved.seen_next_seq, self.config.dedup_capacity)
            })
            .ok_or(RestoreError::Corrupt)?;
        // the held events must fit this engine's capacities (counts and bytes)
        let caps = self.config.capacities;
        if saved.waiting.len() > caps.waiting_followers {
            return Err(RestoreError::Full(Capacity::WaitingFollowers));
        }
        if saved.lateness.len() > caps.buffered_events {
            return Err(RestoreError::Full(Capacity::BufferedEvents));
        }
        let too_long = |e: &OwnedEvent| Packed::<S>::encoded_len(&e.view()) > caps.event_bytes;
        if caps.event_bytes != usize::MAX
            && (saved.waiting.iter().any(|(_, _, e)| too_long(e))
                || saved.lateness.iter().any(|(_, e)| too_long(e)))
        {
            return Err(RestoreError::Full(Capacity::EventBytes));
        }
        self.ordering = CausalOrdering::import(OrderingRecord {
            waiting: saved.waiting,
            followers: saved.followers,
            next_position: saved.next_position,
        })
        .ok_or(RestoreError::Corrupt)?;
        let lateness = saved.lateness.iter().map(|(a, e)| (*a, e.view()));
        self.lateness = LatenessBuffer::import(lateness, saved.lateness_arrivals, saved.watermark)
            .ok_or(RestoreError::Corrupt)?;
        self.wall = saved.wall;
        self.events_clock = saved.events_clock;
        self.events_clock_updated = saved.events_clock_updated;
        self.stats = saved.stats;
        for firing in &saved.actions {
            let packed = FiringBuf::<S>::from_view(&firing.view())
                .ok_or(RestoreError::Full(Capacity::FiringBytes))?;
            self.actions
                .try_push_back(packed)
                .map_err(|_| RestoreError::Full(Capacity::PendingFirings))?;
        }
        self.resume = TickResume::from_record(saved.resume).ok_or(RestoreError::Corrupt)?;
        // timers, derived from the state, on a wheel whose time is the saved one
        let tick = self.config.wheel_tick;
        self.wheel = Wheel::new(tick, saved.wheel_elapsed);
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
