//! Restoring: reading the payload in place (pass 1: decode and check its structure;
//! pass 2: load the triggers and put the state back), without the heap. See the
//! module docs of `snapshot.rs`.

use super::super::capacity::TickResume;
use super::super::firing::read_postcard_firing;
use super::super::keys::{Bucket, Held, Window};
use super::super::load::Children;
use super::super::pool::Packed;
use super::super::{
    AddTriggerError, Capacity, Engine, EngineConfig, Firing, FiringBuf, Node, NodeKind, Stats,
    TriggerId,
};
use super::codec::{key_value_count, seen_count, seen_entries};
use super::records::RootRecord;
use super::{read_header, RestoreError};
use crate::event::{read_postcard_event, take_postcard, Event, EventId};
use crate::store::{Queue, Seq as _, Storage, Table as _};
use crate::time::Instant;
use crate::trigger::TriggerSource;

/// What a restore did with one trigger, as [`Engine::restore_in_place`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestoreOutcome {
    /// In the snapshot and given now with the same definition: state restored.
    Kept,
    /// In the snapshot, but given now with a different definition: loaded, state
    /// dropped.
    Changed,
    /// In the snapshot, not given now: its state was dropped.
    Removed,
    /// Given now, not in the snapshot: loaded with no state.
    Added,
}

// ------------------------------------------------------------------ pass 1: reading

/// A sequence of the payload, read and checked: its element count and the bytes of
/// its elements (walked again with [`iter`](Self::iter)).
#[derive(Clone, Copy)]
struct Seq<'a> {
    len: usize,
    bytes: &'a [u8],
}

/// Reads one element at `*at`, moving past it.
type Element<'a, T> = fn(&'a [u8], &mut usize) -> Option<T>;

impl<'a> Seq<'a> {
    /// Reads a sequence at `*at` (postcard: its length, then the elements), checking
    /// every element with `element`.
    fn read<T>(bytes: &'a [u8], at: &mut usize, element: Element<'a, T>) -> Option<Seq<'a>> {
        let len: usize = take_postcard(bytes, at)?;
        let start = *at;
        for _ in 0..len {
            element(bytes, at)?;
        }
        Some(Seq {
            len,
            bytes: &bytes[start..*at],
        })
    }

    /// The elements, decoded again (they were checked when read, so all decode).
    fn iter<T: 'a>(self, element: Element<'a, T>) -> impl Iterator<Item = T> + Clone + 'a {
        let (bytes, mut at) = (self.bytes, 0);
        (0..self.len).map_while(move |_| element(bytes, &mut at))
    }
}

fn root(bytes: &[u8], at: &mut usize) -> Option<RootRecord> {
    take_postcard(bytes, at)
}

fn slot(bytes: &[u8], at: &mut usize) -> Option<u32> {
    take_postcard(bytes, at)
}

fn held(bytes: &[u8], at: &mut usize) -> Option<Held> {
    take_postcard(bytes, at)
}

/// A node with state, as saved (`NodeOut`).
enum NodeIn<'a> {
    Event {
        order: u64,
        satisfied: Seq<'a>,
        next_run: Option<Instant>,
    },
    Composite {
        order: u64,
        stored: Seq<'a>,
    },
}

impl NodeIn<'_> {
    fn order(&self) -> u64 {
        match self {
            NodeIn::Event { order, .. } | NodeIn::Composite { order, .. } => *order,
        }
    }
}

fn node<'a>(bytes: &'a [u8], at: &mut usize) -> Option<NodeIn<'a>> {
    // postcard: the variant's index, then its fields
    match take_postcard::<u32>(bytes, at)? {
        0 => Some(NodeIn::Event {
            order: take_postcard(bytes, at)?,
            satisfied: Seq::read(bytes, at, slot)?,
            next_run: take_postcard(bytes, at)?,
        }),
        1 => Some(NodeIn::Composite {
            order: take_postcard(bytes, at)?,
            stored: Seq::read(bytes, at, stored_firing)?,
        }),
        _ => None,
    }
}

fn option_tag(bytes: &[u8], at: &mut usize) -> Option<bool> {
    match take_postcard::<u8>(bytes, at)? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn stored_firing<'a>(bytes: &'a [u8], at: &mut usize) -> Option<Option<Firing<'a>>> {
    if option_tag(bytes, at)? {
        read_postcard_firing(bytes, at, 0).map(Some)
    } else {
        Some(None)
    }
}

fn firing<'a>(bytes: &'a [u8], at: &mut usize) -> Option<Firing<'a>> {
    read_postcard_firing(bytes, at, 0)
}

/// A tracked key, as saved (`KeyOut`).
struct KeyIn<'a> {
    slot: u32,
    node: u64,
    key: &'a [u8],
    bucket: Option<Bucket>,
    held: Seq<'a>,
}

fn key<'a>(bytes: &'a [u8], at: &mut usize) -> Option<KeyIn<'a>> {
    Some(KeyIn {
        slot: take_postcard(bytes, at)?,
        node: take_postcard(bytes, at)?,
        key: take_postcard(bytes, at)?,
        bucket: take_postcard(bytes, at)?,
        held: Seq::read(bytes, at, held)?,
    })
}

fn waiting<'a>(bytes: &'a [u8], at: &mut usize) -> Option<(u64, Instant, Event<'a>)> {
    let position = take_postcard(bytes, at)?;
    let received = take_postcard(bytes, at)?;
    Some((position, received, read_postcard_event(bytes, at)?))
}

fn follower_set<'a>(bytes: &'a [u8], at: &mut usize) -> Option<(EventId, u32, Seq<'a>)> {
    let leader = take_postcard(bytes, at)?;
    let size = take_postcard(bytes, at)?;
    Some((leader, size, Seq::read(bytes, at, follower_slot)?))
}

fn follower_slot(bytes: &[u8], at: &mut usize) -> Option<(u32, Option<EventId>)> {
    take_postcard(bytes, at)
}

fn buffered<'a>(bytes: &'a [u8], at: &mut usize) -> Option<(u64, Event<'a>)> {
    let arrival = take_postcard(bytes, at)?;
    Some((arrival, read_postcard_event(bytes, at)?))
}

/// The payload, read: scalars decoded, sequences checked and located.
struct Saved<'a> {
    roots: Seq<'a>,
    nodes: Seq<'a>,
    keys: Seq<'a>,
    free_slots: Seq<'a>,
    wheel_elapsed: Instant,
    wall: Instant,
    events_clock: Option<Instant>,
    events_clock_updated: Option<Instant>,
    stats: Stats,
    actions: Seq<'a>,
    resume: (u8, u32, u64),
    seen: &'a [u8],
    seen_len: usize,
    seen_next_seq: u64,
    waiting: Seq<'a>,
    followers: Seq<'a>,
    next_position: u64,
    lateness: Seq<'a>,
    lateness_arrivals: u64,
    watermark: Option<Instant>,
}

/// Pass 1: reads the whole payload, field by field in the order `PayloadOut` writes
/// them; `None` unless everything decodes and nothing follows.
fn read_payload(p: &[u8]) -> Option<Saved<'_>> {
    let at = &mut 0;
    let saved = Saved {
        roots: Seq::read(p, at, root)?,
        nodes: Seq::read(p, at, node)?,
        keys: Seq::read(p, at, key)?,
        free_slots: Seq::read(p, at, slot)?,
        wheel_elapsed: take_postcard(p, at)?,
        wall: take_postcard(p, at)?,
        events_clock: take_postcard(p, at)?,
        events_clock_updated: take_postcard(p, at)?,
        stats: take_postcard(p, at)?,
        actions: Seq::read(p, at, firing)?,
        resume: take_postcard(p, at)?,
        seen: take_postcard(p, at)?,
        seen_len: 0,
        seen_next_seq: take_postcard(p, at)?,
        waiting: Seq::read(p, at, waiting)?,
        followers: Seq::read(p, at, follower_set)?,
        next_position: take_postcard(p, at)?,
        lateness: Seq::read(p, at, buffered)?,
        lateness_arrivals: take_postcard(p, at)?,
        watermark: take_postcard(p, at)?,
    };
    let seen_len = seen_count(saved.seen)?;
    (*at == p.len()).then_some(Saved { seen_len, ..saved })
}

/// A 4096-bit filter of ids seen so far: a repeat always answers "maybe", a new id
/// usually "no" (then no exact check is needed).
struct Filter([u64; 64]);

impl Filter {
    /// Adds `id`; whether it may have been added before.
    fn maybe_seen(&mut self, id: u32) -> bool {
        let bit = (u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        let seen = self.0[word] & mask != 0;
        self.0[word] |= mask;
        seen
    }
}

/// Structural checks that need no triggers: counters, tree ranges, node numbers,
/// the number of key slots.
fn check_layout(p: &Saved<'_>) -> Result<(), RestoreError> {
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
    let mut ids = Filter([0; 64]);
    for (i, r) in p.roots.iter(root).enumerate() {
        if r.nodes == 0 || r.order < end {
            return corrupt;
        }
        if ids.maybe_seen(r.id.0) && p.roots.iter(root).take(i).any(|o| o.id == r.id) {
            return corrupt;
        }
        end = match r.order.checked_add(u64::from(r.nodes)) {
            Some(e) => e,
            None => return corrupt,
        };
    }
    // nodes: strictly increasing numbers, each in a tree (both lists are sorted)
    let mut roots = p.roots.iter(root).peekable();
    let mut previous: Option<u64> = None;
    for n in p.nodes.iter(node) {
        let order = n.order();
        if previous.is_some_and(|o| o >= order) {
            return corrupt;
        }
        previous = Some(order);
        while roots
            .peek()
            .is_some_and(|r| r.order + u64::from(r.nodes) <= order)
        {
            roots.next();
        }
        if roots.peek().is_none_or(|r| r.order > order) {
            return corrupt;
        }
    }
    // slots: numbered below the total of live and free ones
    if u32::try_from(p.keys.len + p.free_slots.len).is_err() {
        return corrupt;
    }
    Ok(())
}

/// The triggers given: each valid, ids distinct (as `add_trigger` would check, but
/// all of them before anything is loaded).
fn check_given<T>(triggers: &[(TriggerId, T)]) -> Result<(), RestoreError>
where
    for<'t> &'t T: TriggerSource,
{
    let mut ids = Filter([0; 64]);
    for (i, (id, trigger)) in triggers.iter().enumerate() {
        trigger
            .def()
            .validate()
            .map_err(|e| RestoreError::InvalidTrigger(*id, AddTriggerError::Invalid(e)))?;
        if ids.maybe_seen(id.0) && triggers[..i].iter().any(|(other, _)| other == id) {
            return Err(RestoreError::InvalidTrigger(
                *id,
                AddTriggerError::DuplicateId(*id),
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ pass 2: applying

/// How to find where a kept trigger's saved node went.
///
/// While the triggers are loaded, `scratch_candidates` gets one entry per node loaded
/// from the snapshot's trigger list, by new load-order number: `2 × saved number + 1`
/// for the nodes of kept triggers (odd, increasing), and for the others the last
/// kept entry plus one (even, so the entries never decrease): a saved number is then
/// found by binary search. When a saved number is too large for 32 bits (or the
/// scratch list is full), `fast` is false and lookups scan the saved trigger list.
struct Moved<'a> {
    fast: bool,
    last: u32,
    roots: Seq<'a>,
}

impl<S: Storage> Engine<S> {
    /// Files `count` nodes just loaded in `moved` (see [`Moved`]): those of a kept
    /// trigger saved from number `kept` on, or of another one.
    fn file_moved(&mut self, moved: &mut Moved<'_>, kept: Option<u64>, count: u64) {
        for k in 0..count {
            let entry = match kept {
                Some(old) => {
                    let value = old
                        .checked_add(k)
                        .and_then(|o| o.checked_mul(2))
                        .and_then(|o| o.checked_add(1))
                        .and_then(|o| u32::try_from(o).ok());
                    match value {
                        Some(v) => {
                            moved.last = v;
                            v
                        }
                        None => {
                            moved.fast = false;
                            return;
                        }
                    }
                }
                None => moved.last.saturating_add(u32::from(moved.last % 2 == 1)),
            };
            if moved.fast && self.scratch_candidates.try_push(entry).is_err() {
                moved.fast = false;
            }
        }
    }

    /// The node index of the node a new load-order number `order` has.
    fn node_of_order(&self, order: u64) -> Option<u32> {
        let has = |i: usize| {
            self.nodes
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|n| n.order == order)
        };
        // in a fresh engine nodes are numbered as they are loaded
        let i = usize::try_from(order).ok()?;
        if has(i) {
            return u32::try_from(i).ok();
        }
        (0..self.nodes.len())
            .find(|&i| has(i))
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Whether the trigger saved as `r` was loaded again with the same definition
    /// (its state is kept).
    fn is_kept(&self, r: &RootRecord, first_added: u64) -> bool {
        let Some(&idx) = self.roots.get(&r.id) else {
            return false;
        };
        let loaded_from_snapshot = self
            .nodes
            .get(idx as usize)
            .and_then(Option::as_ref)
            .is_some_and(|n| n.order < first_added);
        loaded_from_snapshot
            && self.fingerprints.get(&r.id) == Some(&r.fingerprint)
            && self.tree_size(idx) == r.nodes
    }

    /// The node index of the node saved as number `order`, if its trigger was kept.
    fn moved_node(&self, moved: &Moved<'_>, order: u64, first_added: u64) -> Option<u32> {
        if moved.fast {
            let target = u32::try_from(order.checked_mul(2)?.checked_add(1)?).ok()?;
            let entries = &self.scratch_candidates[..];
            let at = entries.partition_point(|&e| e < target);
            return match entries.get(at) {
                Some(&e) if e == target => self.node_of_order(at as u64),
                _ => None,
            };
        }
        let r = moved
            .roots
            .iter(root)
            .find(|r| r.order <= order && order - r.order < u64::from(r.nodes))?;
        if !self.is_kept(&r, first_added) {
            return None;
        }
        let root_order = self.nodes[self.roots.get(&r.id).copied()? as usize]
            .as_ref()?
            .order;
        self.node_of_order(root_order + (order - r.order))
    }

    /// Restores the engine, in place, to the state saved in `bytes` (written by
    /// [`snapshot`](Self::snapshot)) with the triggers to load now, and reports what
    /// it did with each trigger: the restored engine behaves exactly as the one that
    /// wrote `bytes` would have. Needs no heap, and never moves the engine (which may
    /// be large, in a `static`): this is the restore for `no_std` builds;
    /// [`restore_from`](Self::restore_from) and [`restore`](Engine::restore)
    /// (feature `alloc`) are built on it.
    ///
    /// `config` is the configuration to run with (normally the one the snapshot was
    /// taken with; it is not stored). Each trigger in `triggers` whose id was in the
    /// snapshot with the same definition keeps all its state; one whose definition
    /// changed is loaded with no state, and the state of triggers in the snapshot but
    /// not in `triggers` is dropped. Triggers from the snapshot are loaded in their
    /// saved load order, new ones after them in the order given. Everything not tied
    /// to a trigger comes back as saved: clocks, de-duplication cache, waiting
    /// followers, the lateness buffer and its watermark, counters, and firings not
    /// yet polled (also those of removed triggers). Timers are re-filed from the
    /// restored state, so [`poll_timeout`](Self::poll_timeout) is ready at once.
    /// Events still buffered for allowed lateness are evaluated at once, in release
    /// order, when `config` has no allowed lateness. A de-duplication cache larger
    /// than `config.dedup_capacity` keeps its most recently set ids, as the cache
    /// evicts at its next insert.
    ///
    /// Once restored, `report` is called with every trigger of the snapshot in its
    /// saved load order ([`Kept`](RestoreOutcome::Kept),
    /// [`Changed`](RestoreOutcome::Changed) or [`Removed`](RestoreOutcome::Removed)),
    /// then with every trigger given that was not in it
    /// ([`Added`](RestoreOutcome::Added)), in the order given; it is not called when
    /// the restore fails.
    ///
    /// # Errors
    ///
    /// [`RestoreError::Truncated`], [`BadMagic`](RestoreError::BadMagic),
    /// [`UnsupportedVersion`](RestoreError::UnsupportedVersion) or
    /// [`Corrupt`](RestoreError::Corrupt) for bytes that are not a complete, intact
    /// snapshot of this format; [`InvalidTrigger`](RestoreError::InvalidTrigger) for
    /// a trigger `add_trigger` would refuse (including a repeated id);
    /// [`Full`](RestoreError::Full) when the saved state does not fit the capacities
    /// of `config` or of `S`. On any error the engine is left fresh and empty with
    /// `config` (as [`create`](Self::create) makes it), never partly restored.
    pub fn restore_in_place<T>(
        &mut self,
        config: EngineConfig,
        triggers: &[(TriggerId, T)],
        bytes: &[u8],
        report: &mut impl FnMut(TriggerId, RestoreOutcome),
    ) -> Result<(), RestoreError>
    where
        for<'t> &'t T: TriggerSource,
    {
        let result = self.restore_state(config, triggers, bytes);
        self.scratch_candidates.clear();
        match result {
            Ok((roots, first_added)) => {
                for r in roots.iter(root) {
                    let outcome = if self.is_kept(&r, first_added) {
                        RestoreOutcome::Kept
                    } else if self.roots.contains_key(&r.id) {
                        RestoreOutcome::Changed
                    } else {
                        RestoreOutcome::Removed
                    };
                    report(r.id, outcome);
                }
                for (id, _) in triggers {
                    let added = self
                        .roots
                        .get(id)
                        .and_then(|&idx| self.nodes.get(idx as usize)?.as_ref())
                        .is_some_and(|n| n.order >= first_added);
                    if added {
                        report(*id, RestoreOutcome::Added);
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.clear(config);
                Err(e)
            }
        }
    }

    /// [`restore_in_place`](Self::restore_in_place) but the reports; returns the
    /// saved trigger list and the first load-order number of the added triggers.
    fn restore_state<'b, T>(
        &mut self,
        config: EngineConfig,
        triggers: &[(TriggerId, T)],
        bytes: &'b [u8],
    ) -> Result<(Seq<'b>, u64), RestoreError>
    where
        for<'t> &'t T: TriggerSource,
    {
        let payload = read_header(bytes)?;
        let saved = read_payload(payload).ok_or(RestoreError::Corrupt)?;
        check_layout(&saved)?;
        check_given(triggers)?;

        // load: the snapshot's triggers in saved order, then the new ones
        self.clear(config);
        let mut moved = Moved {
            fast: true,
            last: 0,
            roots: saved.roots,
        };
        let mut same_triggers = true;
        let mut cursor = 0;
        for r in saved.roots.iter(root) {
            // usually the triggers come in the saved order
            let found = match triggers.get(cursor) {
                Some((id, _)) if *id == r.id => Some(cursor),
                _ => triggers.iter().position(|(id, _)| *id == r.id),
            };
            let Some(i) = found else {
                same_triggers = false;
                continue;
            };
            cursor = i + 1;
            let (id, trigger) = &triggers[i];
            let first = self.next_order;
            self.add_trigger(*id, trigger)
                .map_err(|e| RestoreError::InvalidTrigger(*id, e))?;
            let count = self.next_order - first;
            let kept =
                self.fingerprints.get(id) == Some(&r.fingerprint) && count == u64::from(r.nodes);
            same_triggers &= kept;
            self.file_moved(&mut moved, kept.then_some(r.order), count);
        }
        let first_added = self.next_order;
        for (id, trigger) in triggers {
            if !self.roots.contains_key(id) {
                same_triggers = false;
                self.add_trigger(*id, trigger)
                    .map_err(|e| RestoreError::InvalidTrigger(*id, e))?;
            }
        }

        // keys of kept triggers; the slots of the others are free
        let slot_count = saved.keys.len + saved.free_slots.len;
        // (the table is empty since `clear`, and filled where it is)
        if !self.keys.make_vacant_slots(slot_count, saved.keys.len) {
            return Err(RestoreError::Full(Capacity::Keys));
        }
        for k in saved.keys.iter(key) {
            let Some(node) = self.moved_node(&moved, k.node, first_added) else {
                continue;
            };
            let Some(Some(Node {
                kind: NodeKind::Event(ev),
                ..
            })) = self.nodes.get_mut(node as usize)
            else {
                return Err(RestoreError::Corrupt);
            };
            // one well-formed value per `for_each` label, as the engine writes keys
            if key_value_count(k.key) != Some(ev.compiled.for_each().len()) {
                return Err(RestoreError::Corrupt);
            }
            ev.keys += 1;
            let window = Window {
                within: ev.compiled.within(),
                lookback: self.config.lookback,
            };
            if !self.keys.place(k.slot, node, k.key) {
                return Err(RestoreError::Corrupt);
            }
            if !self.keys.set_bucket(k.slot, k.bucket, window) {
                return Err(RestoreError::Window);
            }
            for h in k.held.iter(held) {
                if !self.keys.hold(k.slot, h) {
                    return Err(RestoreError::Full(Capacity::HeldEvents));
                }
            }
        }
        // the free list: the saved one, then the slots of keys whose trigger went
        let mut ok = saved.free_slots.iter(slot).all(|k| self.keys.add_free(k));
        for k in saved.keys.iter(key) {
            if ok && self.moved_node(&moved, k.node, first_added).is_none() {
                ok = self.keys.add_free(k.slot);
            }
        }
        if !self.keys.finish_free(ok) {
            return Err(RestoreError::Corrupt);
        }
        // per-node state
        for n in saved.nodes.iter(node) {
            let Some(idx) = self.moved_node(&moved, n.order(), first_added) else {
                continue;
            };
            match n {
                NodeIn::Event {
                    satisfied,
                    next_run,
                    ..
                } => {
                    let Some(Some(Node {
                        kind: NodeKind::Event(ev),
                        ..
                    })) = self.nodes.get_mut(idx as usize)
                    else {
                        return Err(RestoreError::Corrupt);
                    };
                    ev.next_run = next_run;
                    for k in satisfied.iter(slot) {
                        if self.keys.trigger(k) != Some(idx) || self.keys.satisfied_queued(k) {
                            return Err(RestoreError::Corrupt);
                        }
                        self.keys.set_satisfied_queued(k, true);
                        // (a key at most once: the queue holds as many as the keys)
                        self.satisfied
                            .try_push(k)
                            .map_err(|_| RestoreError::Full(Capacity::Keys))?;
                        ev.queued = ev.queued.saturating_add(1);
                    }
                }
                NodeIn::Composite { stored, .. } => {
                    let child = |e: &Self, i: usize| match e.nodes.get(idx as usize) {
                        Some(Some(Node {
                            kind: NodeKind::Composite(c),
                            ..
                        })) => Some((c.child_count as usize, Children::of(&e.nodes, c).nth(i))),
                        _ => None,
                    };
                    if child(self, 0).map(|(len, _)| len) != Some(stored.len) {
                        return Err(RestoreError::Corrupt);
                    }
                    for (i, firing) in stored.iter(stored_firing).enumerate() {
                        let (Some(firing), Some((_, Some(child)))) = (firing, child(self, i))
                        else {
                            continue;
                        };
                        let packed = FiringBuf::<S>::from_view(&firing)
                            .ok_or(RestoreError::Full(Capacity::FiringBytes))?;
                        if !self.store_firing(child, packed) {
                            return Err(RestoreError::Full(Capacity::TriggerNodes));
                        }
                    }
                }
            }
        }
        // (the scratch list is the engine's again)
        self.scratch_candidates.clear();

        // engine-wide state
        let capacity = self.config.dedup_capacity;
        if !self.seen.import_in_place(
            seen_entries(saved.seen),
            saved.seen_len,
            saved.seen_next_seq,
            capacity,
        ) {
            return Err(RestoreError::Corrupt);
        }
        // the held events must fit this engine's capacities (counts and bytes)
        let caps = self.config.capacities;
        if saved.waiting.len > caps.waiting_followers {
            return Err(RestoreError::Full(Capacity::WaitingFollowers));
        }
        if saved.lateness.len > caps.buffered_events {
            return Err(RestoreError::Full(Capacity::BufferedEvents));
        }
        let too_long = |e: &Event<'_>| Packed::<S>::encoded_len(e) > caps.event_bytes;
        if caps.event_bytes != usize::MAX
            && (saved.waiting.iter(waiting).any(|(_, _, e)| too_long(&e))
                || saved.lateness.iter(buffered).any(|(_, e)| too_long(&e)))
        {
            return Err(RestoreError::Full(Capacity::EventBytes));
        }
        let followers = saved
            .followers
            .iter(follower_set)
            .map(|(leader, size, slots)| (leader, size, slots.iter(follower_slot)));
        if !self.ordering.import_in_place(
            saved.waiting.iter(waiting),
            followers,
            saved.next_position,
        ) {
            return Err(RestoreError::Corrupt);
        }
        if !self.lateness.import_in_place(
            saved.lateness.iter(buffered),
            saved.lateness_arrivals,
            saved.watermark,
        ) {
            return Err(RestoreError::Corrupt);
        }
        self.wall = saved.wall;
        self.events_clock = saved.events_clock;
        self.events_clock_updated = saved.events_clock_updated;
        self.stats = saved.stats;
        for firing in saved.actions.iter(firing) {
            let packed = FiringBuf::<S>::from_view(&firing)
                .ok_or(RestoreError::Full(Capacity::FiringBytes))?;
            self.actions
                .try_push_back(packed)
                .map_err(|_| RestoreError::Full(Capacity::PendingFirings))?;
        }
        self.resume = TickResume::from_record(saved.resume).ok_or(RestoreError::Corrupt)?;
        // timers, derived from the state, on a wheel whose time is the saved one
        let tick = self.config.wheel_tick;
        self.wheel.clear(tick, saved.wheel_elapsed);
        for k in 0..slot_count as u32 {
            if self.keys.contains(k) {
                self.after_change(k);
            }
        }
        // saved with allowed lateness, restored without: nothing would ever release the
        // buffered events, so they are evaluated now, in release order
        if self.config.allowed_lateness.is_none() {
            while let Some(event) = self.lateness.pop_first() {
                self.stats.events += 1;
                let _ = self.evaluate_now(&event.view());
            }
        }
        if !same_triggers {
            // a deferred tick resumes by position in the proactive list: start it over
            self.resume = TickResume::Start;
        }
        self.check_capacities().map_err(RestoreError::Full)?;
        Ok((saved.roots, first_added))
    }
}

// ------------------------------------------------------------------ by value (alloc)

#[cfg(feature = "alloc")]
mod by_value {
    use alloc::vec::Vec;

    use super::super::RestoreReport;
    use super::{Engine, EngineConfig, RestoreError, RestoreOutcome, TriggerId};
    use crate::store::{Growable, Storage};
    use crate::trigger::Trigger;

    impl RestoreReport {
        /// Files one outcome of [`Engine::restore_in_place`].
        pub fn record(&mut self, id: TriggerId, outcome: RestoreOutcome) {
            match outcome {
                RestoreOutcome::Kept => self.kept.push(id),
                RestoreOutcome::Changed => self.changed.push(id),
                RestoreOutcome::Removed => self.removed.push(id),
                RestoreOutcome::Added => self.added.push(id),
            }
        }
    }

    impl Engine<Growable> {
        /// Rebuilds an engine that behaves exactly as the one that wrote `bytes` with
        /// [`snapshot`](Self::snapshot), given the triggers to load now: a new engine
        /// [`restore_in_place`](Self::restore_in_place)d, with its outcomes collected
        /// in a [`RestoreReport`] (see there for what is kept and dropped).
        ///
        /// # Errors
        ///
        /// As [`restore_in_place`](Self::restore_in_place); no engine is returned
        /// then. Decoding never allocates.
        pub fn restore(
            config: EngineConfig,
            triggers: Vec<(TriggerId, Trigger)>,
            bytes: &[u8],
        ) -> Result<(Engine, RestoreReport), RestoreError> {
            Engine::restore_from(config, triggers, bytes)
        }
    }

    impl<S: Storage> Engine<S> {
        /// [`Engine::restore`] into a new engine whose state lives in storage `S`
        /// (which is then returned by value: for a large fixed engine prefer
        /// [`restore_in_place`](Self::restore_in_place) on one that stays put).
        ///
        /// # Errors
        ///
        /// As [`restore_in_place`](Self::restore_in_place), including
        /// [`RestoreError::Full`] when the saved state does not fit `S`'s capacities.
        pub fn restore_from(
            config: EngineConfig,
            triggers: Vec<(TriggerId, Trigger)>,
            bytes: &[u8],
        ) -> Result<(Engine<S>, RestoreReport), RestoreError> {
            let mut engine = Engine::<S>::create(config);
            let mut report = RestoreReport::default();
            engine.restore_in_place(config, &triggers, bytes, &mut |id, outcome| {
                report.record(id, outcome)
            })?;
            Ok((engine, report))
        }
    }
}
