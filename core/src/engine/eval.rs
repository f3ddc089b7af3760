//! Prefect's evaluation (`server/events/triggers.py`), transcribed onto in-memory
//! buckets and the timing wheel. Function names follow Prefect's.

use alloc::vec::Vec;

use super::keys::{push_key_value, Bucket, Held, LastEvent, Timer};
use super::{Engine, EventsClock, Firing, FiringKind, Node, NodeKind, ProactiveMode};
use crate::event::{Event, EventId};
use crate::time::{Duration, Instant};
use crate::trigger::Posture;
use crate::wheel::{InsertError, ResetError};

/// Why an event was not (fully) processed by `reactive_evaluation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotProcessed {
    /// `EventArrivedEarly`: waiting for its leader.
    ArrivedEarly,
    /// `MaxDepthExceeded`: a follower chain is too deep.
    MaxDepth,
    /// `EventBeingProcessed`: the same id is being processed up the stack.
    BeingProcessed,
}

/// One interested trigger for an event name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Route {
    pub(crate) trigger: u32,
    pub(crate) starts_after: bool,
    pub(crate) expects: bool,
}

/// The routes of the last event name (valid until triggers are added or removed).
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteCache {
    pub(crate) name: alloc::string::String,
    pub(crate) routes: Vec<Route>,
    pub(crate) valid: bool,
}

/// The triggering event as `evaluate` needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Triggering {
    pub(crate) id: EventId,
    pub(crate) occurred: Instant,
    /// `trigger.starts_after(event.event)`
    pub(crate) starts_after: bool,
    /// `trigger.expects(event.event)`
    pub(crate) expects: bool,
}

impl Triggering {
    fn as_last_event(&self) -> LastEvent {
        LastEvent {
            id: self.id,
            occurred: self.occurred,
            expect_only: self.expects && !self.starts_after,
        }
    }
}

/// The per-trigger parameters `evaluate` reads (copied out so the engine can be
/// mutated while evaluating).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    pub(crate) posture: Posture,
    pub(crate) threshold: i64,
    pub(crate) within: Duration,
    pub(crate) has_after: bool,
    pub(crate) immediate: bool,
    /// `holds_expect_events`: Proactive with `after` (3.9).
    pub(crate) holds: bool,
}

impl Params {
    fn meets_threshold(&self, count: i64) -> bool {
        match self.posture {
            Posture::Reactive => count >= self.threshold,
            Posture::Proactive => count < self.threshold,
        }
    }
    fn proactive(&self) -> bool {
        self.posture == Posture::Proactive
    }
}

impl Engine {
    pub(crate) fn params(&self, t: u32) -> Params {
        match &self.nodes[t as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => {
                let c = &ev.compiled;
                Params {
                    posture: c.posture(),
                    threshold: c.threshold(),
                    within: c.within(),
                    has_after: c.has_after(),
                    immediate: c.immediate(),
                    holds: c.posture() == Posture::Proactive && c.has_after(),
                }
            }
            _ => unreachable!("params of a live event-trigger node"),
        }
    }

    // ---------------------------------------------------------------- events clock

    /// `update_events_clock`: the latest event time (clamped to the wall clock) and the
    /// wall time it was seen.
    fn update_events_clock(&mut self, occurred: Instant) {
        let ts = occurred.min(self.wall);
        if self.events_clock.is_none_or(|c| ts >= c) {
            self.events_clock = Some(ts);
        }
        self.events_clock_updated = Some(self.wall);
    }

    /// `as_of + get_events_clock_offset()` for a tick.
    fn with_offset(&self, as_of: Instant) -> Instant {
        match self.config.events_clock {
            EventsClock::Reset => as_of,
            EventsClock::Live => as_of.saturating_add_signed(self.offset_micros_live()),
        }
    }

    // ---------------------------------------------------------------- reactive

    /// `reactive_evaluation(event, depth)` with the in-memory causal ordering around it.
    pub(crate) fn reactive_evaluation(
        &mut self,
        event: &Event<'_>,
        depth: u32,
    ) -> Result<(), NotProcessed> {
        self.update_events_clock(event.occurred);
        if depth > self.config.max_follower_depth {
            self.stats.depth_exceeded += 1;
            return Err(NotProcessed::MaxDepth);
        }
        if !self.ordering.start_processing(event.id) {
            return Err(NotProcessed::BeingProcessed);
        }
        // wait_for_leader
        if let Some(leader) = event.follows.filter(|l| *l != event.id) {
            let age = self.wall.saturating_duration_since(event.received);
            let old = event.received <= self.wall && age >= self.config.follower_timeout;
            if !old && !self.seen.contains(&leader, self.wall) {
                // (A leader "being processed" is waited for by Prefect for up to 8 s;
                // processing here is sequential, so a leader up the stack is never
                // seen within that wait and the event joins the waitlist.)
                self.ordering.record_follower(event.to_owned_event());
                self.ordering.stop_processing(&event.id);
                self.stats.followers_held += 1;
                return Err(NotProcessed::ArrivedEarly);
            }
        }

        self.evaluate_interested(event);

        self.seen.insert(
            event.id,
            self.wall,
            self.config.dedup_window,
            self.config.dedup_capacity,
        );
        self.ordering.stop_processing(&event.id);

        for follower in self.ordering.followers_of(&event.id) {
            if self.reactive_evaluation(&follower.view(), depth + 1) == Err(NotProcessed::MaxDepth)
            {
                break;
            }
        }
        if let Some(leader) = event.follows.filter(|l| *l != event.id) {
            self.ordering.forget_follower(&event.id, &leader);
        }
        Ok(())
    }

    /// The body of `reactive_evaluation`: every interested trigger, in load order.
    fn evaluate_interested(&mut self, event: &Event<'_>) {
        self.route(event.event);
        let routes = core::mem::take(&mut self.route_cache.routes);
        let mut key = core::mem::take(&mut self.scratch_key);
        for r in &routes {
            let covered = match &self.nodes[r.trigger as usize] {
                Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) => {
                    let c = &ev.compiled;
                    if c.covers_resources(event) {
                        key.clear();
                        for v in c.key_values(event) {
                            push_key_value(&mut key, v);
                        }
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            };
            if !covered {
                continue;
            }
            let trig = Triggering {
                id: event.id,
                occurred: event.occurred,
                starts_after: r.starts_after,
                expects: r.expects,
            };
            self.evaluate_for_trigger(r.trigger, &key, trig);
        }
        self.scratch_key = key;
        // Evaluation never changes the loaded triggers, so the routes stay valid.
        self.route_cache.routes = routes;
    }

    /// Whether two of these triggers belong to the same composite trigger tree (only
    /// then does their evaluation order change anything).
    fn shares_a_composite(&self, candidates: &[u32]) -> bool {
        let root = |t: u32| {
            self.nodes[t as usize]
                .as_ref()
                .map(|n| (n.root, n.parent.is_some()))
        };
        candidates.iter().enumerate().any(|(i, &a)| {
            let ra = root(a);
            ra.is_some_and(|(_, nested)| nested)
                && candidates[i + 1..].iter().any(|&b| root(b) == ra)
        })
    }

    /// Reorders `candidates` as Prefect iterates `candidate_ids` (a CPython set built
    /// by one `update` per matching index pattern); see [`super::pyset`].
    fn python_set_order(&self, name: &str, candidates: &mut Vec<u32>) {
        let Some(index) = &self.py_index else { return };
        let mut set = super::pyset::PySet::default();
        for (pattern, ids) in index {
            if crate::matcher::fnmatch(pattern, name) {
                set.update(ids);
            }
        }
        let ordered: Vec<u32> = set.iter().filter(|t| candidates.contains(t)).collect();
        if ordered.len() == candidates.len() {
            *candidates = ordered;
        }
    }

    /// Fills the route cache for `name`: the triggers whose index keys and `covers`
    /// name pattern accept it (`find_interested_triggers` minus the resource check),
    /// in load order, with `starts_after`/`expects`. Reused while names repeat.
    fn route(&mut self, name: &str) {
        if self.route_cache.valid && self.route_cache.name == name {
            return;
        }
        let mut candidates = core::mem::take(&mut self.scratch_candidates);
        self.router.candidates(name, &mut candidates);
        if candidates.len() > 1 {
            candidates.sort_by_key(|&t| {
                self.nodes[t as usize]
                    .as_ref()
                    .map_or(u64::MAX, |n| n.order)
            });
            if self.shares_a_composite(&candidates) {
                self.python_set_order(name, &mut candidates);
            }
        }
        let cache = &mut self.route_cache;
        cache.routes.clear();
        for &t in &candidates {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[t as usize]
            {
                let c = &ev.compiled;
                if c.covers_name(name) {
                    cache.routes.push(Route {
                        trigger: t,
                        starts_after: c.starts_after(name),
                        expects: c.expects(name),
                    });
                }
            }
        }
        cache.name.clear();
        cache.name.push_str(name);
        cache.valid = true;
        self.scratch_candidates = candidates;
    }

    /// One interested trigger's transaction in `reactive_evaluation`.
    fn evaluate_for_trigger(&mut self, t: u32, key: &[u8], ev: Triggering) {
        let p = self.params(t);
        let mut slot: Option<u32> = None;
        if p.has_after && ev.starts_after {
            let initial = if ev.expects { -1 } else { 0 };
            let end = ev.occurred.saturating_add(p.within);
            slot = Some(self.ensure_bucket(
                t,
                key,
                ev.occurred,
                end,
                Some(ev.as_last_event()),
                initial,
            ));
        }
        if slot.is_none() && !p.has_after && ev.expects {
            let start = ev.occurred.saturating_sub(self.config.lookback);
            let end = ev.occurred.saturating_add(p.within);
            slot = Some(self.ensure_bucket(t, key, start, end, Some(ev.as_last_event()), 0));
        }
        if !ev.expects {
            if let Some(k) = slot {
                self.after_change(k);
            }
            return;
        }
        let k = match slot {
            Some(k) => k,
            None => {
                if p.holds {
                    let (k, created) = self.keys.find_or_insert(t, key);
                    self.note_key_created(t, created);
                    if !self.hold_expect_event(t, k, &ev) {
                        self.after_change(k);
                        return;
                    }
                    k
                } else {
                    match self.keys.find(t, key) {
                        Some(k) if self.keys.has_bucket(k) => k,
                        _ => return,
                    }
                }
            }
        };
        if self.keys.has_bucket(k) {
            self.evaluate(t, k, ev.occurred, Some(ev));
        }
        self.after_change(k);
    }

    // ---------------------------------------------------------------- bucket operations

    /// Counts a key created for trigger `t` (the per-trigger key count).
    fn note_key_created(&mut self, t: u32, created: bool) {
        if created {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &mut self.nodes[t as usize]
            {
                ev.keys += 1;
            }
        }
    }

    /// `ensure_bucket`: the key's bucket, created `[start, end)` with `initial` (plus
    /// held events in the window) if there is none; an existing bucket, even an
    /// expired one, is returned unchanged (3.9 keeps its `last_event` too).
    fn ensure_bucket(
        &mut self,
        t: u32,
        key: &[u8],
        start: Instant,
        end: Instant,
        last_event: Option<LastEvent>,
        initial: i64,
    ) -> u32 {
        let (k, created) = self.keys.find_or_insert(t, key);
        self.note_key_created(t, created);
        if !self.keys.has_bucket(k) {
            self.set_bucket(t, k, start, end, initial, last_event);
        }
        k
    }

    /// `start_new_bucket`: replaces the key's bucket (`count` plus held events that
    /// occurred in `[start, end)`).
    fn set_bucket(
        &mut self,
        t: u32,
        k: u32,
        start: Instant,
        end: Instant,
        count: i64,
        last_event: Option<LastEvent>,
    ) {
        let p = self.params(t);
        if !self.keys.contains(k) {
            return;
        }
        let held = if p.holds {
            self.keys
                .held(k)
                .iter()
                .filter(|h| h.occurred >= start && h.occurred < end)
                .count() as i64
        } else {
            0
        };
        let count = count.saturating_add(held);
        self.keys.set_bucket(
            k,
            Some(Bucket {
                start,
                end,
                count,
                last_event,
            }),
        );
        if p.proactive() && count >= p.threshold {
            self.queue_satisfied(t, k);
        }
    }

    /// Queues a satisfied proactive bucket for deletion at the next tick
    /// (`remove_buckets_exceeding_threshold`).
    fn queue_satisfied(&mut self, t: u32, k: u32) {
        if !self.keys.contains(k) || self.keys.satisfied_queued(k) {
            return;
        }
        self.keys.set_satisfied_queued(k, true);
        if let Some(Node {
            kind: NodeKind::Event(ev),
            ..
        }) = &mut self.nodes[t as usize]
        {
            ev.satisfied.push(k);
        }
    }

    fn remove_bucket(&mut self, k: u32) {
        self.keys.set_bucket(k, None);
    }

    /// `hold_expect_event`: false when the event is held already for this key (it was
    /// counted then, so it is not evaluated again); otherwise holds it, trims the
    /// key's held events as Prefect does, and returns true.
    fn hold_expect_event(&mut self, t: u32, k: u32, ev: &Triggering) -> bool {
        let p = self.params(t);
        let wall = self.wall;
        let retention = self.config.held_retention;
        if !self.keys.contains(k) || self.keys.held(k).iter().any(|h| h.id == ev.id) {
            return false;
        }
        let held = self.keys.held_mut(k);
        held.push(Held {
            occurred: ev.occurred,
            id: ev.id,
            held_at: wall,
        });
        // Drop events older than the horizon behind the newest held event.
        let newest = held.iter().map(|h| h.occurred).max().unwrap_or(ev.occurred);
        let horizon = if p.within > retention {
            p.within
        } else {
            retention
        };
        let cutoff = newest.saturating_sub(horizon);
        held.retain(|h| h.occurred >= cutoff);
        // Per epoch-aligned slot `within` wide, keep only the first and last
        // `threshold` events (by occurred, then id). SQLite's LIMIT: a negative
        // threshold keeps everything, zero keeps nothing.
        if p.threshold >= 0 && !p.within.is_zero() {
            let width = p.within.as_micros();
            let slot_start = (ev.occurred.as_micros() / width) * width;
            let slot_end = slot_start.saturating_add(width);
            let mut in_slot: Vec<(Instant, EventId)> = held
                .iter()
                .filter(|h| {
                    h.occurred.as_micros() >= slot_start && h.occurred.as_micros() < slot_end
                })
                .map(|h| (h.occurred, h.id))
                .collect();
            let keep_n = usize::try_from(p.threshold).unwrap_or(usize::MAX);
            if in_slot.len() > keep_n.saturating_mul(2) || keep_n == 0 {
                in_slot.sort();
                let n = in_slot.len();
                let doomed: Vec<(Instant, EventId)> = in_slot
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i >= keep_n && *i + keep_n < n)
                    .map(|(_, e)| *e)
                    .collect();
                held.retain(|h| !doomed.contains(&(h.occurred, h.id)));
            }
        }
        self.keys.tidy_held(k);
        true
    }

    /// `evaluate(session, trigger, bucket, now, triggering_event)`.
    pub(crate) fn evaluate(&mut self, t: u32, k: u32, now: Instant, ev: Option<Triggering>) {
        let p = self.params(t);
        let Some(mut b) = self.keys.bucket(k) else {
            return;
        };
        let mut count: i64 = if ev.is_some() { 1 } else { 0 };
        if now < b.start {
            return;
        }
        let previous_last_event = b.last_event;
        if count > 0 && (p.immediate || (b.start <= now && now < b.end)) {
            b.count = b.count.saturating_add(count);
            if let Some(e) = &ev {
                b.last_event = Some(e.as_last_event());
            }
            count = 0;
            self.keys.set_bucket(k, Some(b));
            if p.proactive() && b.count >= p.threshold {
                self.queue_satisfied(t, k);
            }
        }
        let ready = p.posture == Posture::Reactive || b.end <= now;
        let meets = p.meets_threshold(b.count);
        if ready && meets {
            let event = ev.map(|e| e.id).or(b.last_event.map(|l| l.id));
            self.fire_bucket(t, k, event);
            self.remove_bucket(k);
        } else if now < b.end {
            if let Some(e) = ev {
                if p.proactive() && !meets && e.starts_after && e.expects {
                    self.remove_bucket(k);
                    let mut last = e.as_last_event();
                    if let Some(prev) = previous_last_event {
                        if prev.expect_only && prev.occurred >= e.occurred {
                            last = prev;
                        }
                    }
                    let end = e.occurred.saturating_add(p.within);
                    self.set_bucket(t, k, e.occurred, end, 0, Some(last));
                }
            }
            return;
        }
        if p.has_after {
            self.remove_bucket(k);
            return;
        }
        if p.within.is_zero() {
            return;
        }
        let start = b.end.max(now);
        let end = start.saturating_add(p.within);
        // (`end <= start` only when time saturates at `Instant::MAX`: the window is
        // empty and evaluating again could never count the event.)
        if p.posture == Posture::Reactive && count > 0 && start < end {
            self.set_bucket(t, k, start, end, 0, None);
            self.evaluate(t, k, now, ev);
        } else {
            self.set_bucket(t, k, start, end, count, None);
        }
    }

    /// Fires trigger `t` for key `k`.
    fn fire_bucket(&mut self, t: u32, k: u32, event: Option<EventId>) {
        let labels = match &self.nodes[t as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => ev
                .compiled
                .for_each()
                .iter()
                .cloned()
                .zip(super::keys::decode_key(self.keys.key(k)))
                .collect(),
            _ => Vec::new(),
        };
        let Some(node) = &self.nodes[t as usize] else {
            return;
        };
        let firing = Firing {
            trigger: node.root,
            child: node.parent.map(|_| node.child_index),
            labels,
            event,
            at: self.wall,
            kind: if self.in_proactive {
                FiringKind::Proactive
            } else {
                FiringKind::Reactive
            },
            children: Vec::new(),
        };
        self.dispatch(t, firing);
    }

    /// `fire`: to the caller for a top-level trigger, to the parent composite otherwise.
    pub(crate) fn dispatch(&mut self, node: u32, firing: Firing) {
        let parent = self.nodes[node as usize].as_ref().and_then(|n| n.parent);
        match parent {
            None => {
                self.stats.firings += 1;
                self.actions.push_back(firing);
            }
            Some(p) => self.evaluate_composite(p, node, firing),
        }
    }

    // ---------------------------------------------------------------- timers

    /// The earliest instant anything is due for key `k` without an event.
    fn key_due(&self, k: u32) -> Option<Instant> {
        let trigger = self.keys.trigger(k)?;
        let mut due: Option<Instant> = None;
        if let Some(b) = self.keys.bucket(k) {
            let proactive = match &self.nodes[trigger as usize] {
                Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) => ev.compiled.posture() == Posture::Proactive,
                _ => false,
            };
            let d = if proactive {
                b.end
            } else {
                b.end.saturating_add(self.config.sweep_buffer)
            };
            due = Some(d);
        }
        if let Some(oldest) = self.keys.held(k).iter().map(|h| h.held_at).min() {
            // swept once `held_at < now - retention`
            let d = oldest
                .saturating_add(self.config.held_retention)
                .saturating_add(Duration::from_micros(1));
            due = Some(due.map_or(d, |x| x.min(d)));
        }
        due
    }

    /// Removes the key's timer (wherever it is).
    pub(crate) fn cancel_timer(&mut self, k: u32) {
        match self.keys.timer(k) {
            Timer::Wheel(h) => {
                self.wheel.cancel(h);
            }
            Timer::Overdue(at) => {
                self.overdue.remove(&(at, k));
            }
            Timer::None | Timer::Batch => {}
        }
        self.keys.set_timer(k, Timer::None);
    }

    /// Files key `k`'s timer at its due instant (or drops the key when nothing about
    /// it remains). Keys taken out for a tick are re-filed at the end of the tick.
    pub(crate) fn after_change(&mut self, k: u32) {
        if !self.keys.contains(k) {
            return;
        }
        let current = self.keys.timer(k);
        if current == Timer::Batch {
            return;
        }
        let empty = !self.keys.has_bucket(k)
            && self.keys.held(k).is_empty()
            && !self.keys.satisfied_queued(k);
        if empty {
            self.drop_key(k);
            return;
        }
        let due = self.key_due(k);
        match (current, due) {
            (Timer::Wheel(h), Some(d)) => match self.wheel.reset(h, d) {
                Ok(()) => {}
                Err(ResetError::Elapsed(_)) => self.file_overdue(k, d),
                Err(ResetError::Stale) => self.file(k, d),
            },
            (Timer::Overdue(at), Some(d)) if at == d => {}
            (_, Some(d)) => {
                self.cancel_timer(k);
                self.file(k, d);
            }
            (_, None) => self.cancel_timer(k),
        }
    }

    fn file(&mut self, k: u32, due: Instant) {
        match self.wheel.insert(due, k) {
            Ok(h) => self.keys.set_timer(k, Timer::Wheel(h)),
            Err(InsertError::Elapsed(_)) => self.file_overdue(k, due),
            Err(InsertError::Full(_)) => self.file_overdue(k, due),
        }
    }

    fn file_overdue(&mut self, k: u32, due: Instant) {
        self.overdue.insert((due, k));
        self.keys.set_timer(k, Timer::Overdue(due));
    }

    /// Forgets a key with no bucket and no held events.
    fn drop_key(&mut self, k: u32) {
        self.cancel_timer(k);
        if let Some(trigger) = self.keys.remove(k) {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &mut self.nodes[trigger as usize]
            {
                ev.keys = ev.keys.saturating_sub(1);
            }
        }
    }

    /// Takes every key whose timer is at or before `threshold` into the batch.
    fn collect(&mut self, threshold: Instant) {
        while let Some(expired) = self.wheel.poll(threshold) {
            let k = expired.payload;
            if self.keys.contains(k) {
                self.keys.set_timer(k, Timer::Batch);
                self.batch.push(k);
            }
        }
        while let Some(&(at, k)) = self.overdue.iter().next() {
            if at > threshold {
                break;
            }
            self.overdue.remove(&(at, k));
            if self.keys.contains(k) {
                self.keys.set_timer(k, Timer::Batch);
                self.batch.push(k);
            }
        }
    }

    /// Re-files every key taken out for the tick.
    pub(crate) fn refile_batch(&mut self) {
        let batch = core::mem::take(&mut self.batch);
        for &k in &batch {
            if self.keys.timer(k) == Timer::Batch {
                self.keys.set_timer(k, Timer::None);
            }
            self.after_change(k);
        }
        let mut batch = batch;
        batch.clear();
        self.batch = batch;
    }

    // ---------------------------------------------------------------- ticks

    /// Proactive evaluation of every due proactive trigger (`proactive_evaluation`
    /// for each, in load order, or `evaluate_proactive_triggers` when scheduled).
    pub(crate) fn proactive_phase(&mut self, as_of: Instant) {
        let (base, scheduled) = match self.config.proactive {
            ProactiveMode::All => (as_of, false),
            ProactiveMode::Scheduled => (self.wall, true),
        };
        let a = self.with_offset(base);
        self.collect(a);
        // due keys: proactive buckets with end <= a, by (trigger order, start, key)
        let mut due: Vec<(u64, Instant, u32, u32)> = Vec::new();
        for &k in &self.batch {
            let (Some(trigger), Some(b)) = (self.keys.trigger(k), self.keys.bucket(k)) else {
                continue;
            };
            if b.end > a {
                continue;
            }
            if let Some(Node {
                kind: NodeKind::Event(ev),
                order,
                ..
            }) = &self.nodes[trigger as usize]
            {
                if ev.compiled.posture() == Posture::Proactive {
                    due.push((*order, b.start, k, trigger));
                }
            }
        }
        // By the key's values, not its slot: slot numbers depend on the history of the
        // key table (reuse order), which a restored snapshot does not reproduce.
        let keys = &self.keys;
        due.sort_unstable_by(|x, y| {
            (x.0, x.1)
                .cmp(&(y.0, y.1))
                .then_with(|| keys.key(x.2).cmp(keys.key(y.2)))
        });
        let triggers = self.proactive.clone();
        self.in_proactive = true;
        let mut cursor = 0;
        for &t in &triggers {
            let order = match &self.nodes[t as usize] {
                Some(n) => n.order,
                None => continue,
            };
            // this trigger's due keys
            let first = cursor;
            while cursor < due.len() && due[cursor].0 == order {
                cursor += 1;
            }
            if scheduled {
                let next = match &self.nodes[t as usize] {
                    Some(Node {
                        kind: NodeKind::Event(ev),
                        ..
                    }) => ev.next_run.unwrap_or(self.wall),
                    _ => continue,
                };
                if next > self.wall {
                    continue;
                }
            }
            self.proactive_evaluation(t, a, &due[first..cursor]);
            if scheduled {
                let run_again = self.run_again_at(t, a);
                if let Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) = &mut self.nodes[t as usize]
                {
                    ev.next_run = Some(run_again);
                }
            }
        }
        self.in_proactive = false;
    }

    /// `proactive_evaluation(trigger, as_of)` for one trigger, given its due keys.
    fn proactive_evaluation(&mut self, t: u32, a: Instant, due: &[(u64, Instant, u32, u32)]) {
        let p = self.params(t);
        let global = match &self.nodes[t as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => ev.compiled.for_each().is_empty(),
            _ => return,
        };
        if global {
            let k = self.ensure_bucket(t, &[], a, a.saturating_add(p.within), None, 0);
            self.after_change(k);
        }
        // remove_buckets_exceeding_threshold
        let satisfied = match &mut self.nodes[t as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => core::mem::take(&mut ev.satisfied),
            _ => Vec::new(),
        };
        for k in satisfied {
            if self.keys.trigger(k) != Some(t) {
                continue;
            }
            self.keys.set_satisfied_queued(k, false);
            if self.keys.bucket(k).is_some_and(|b| b.count >= p.threshold) {
                self.keys.set_bucket(k, None);
            }
            self.after_change(k);
        }
        for &(_, start, k, trigger) in due {
            let still = trigger == t
                && self
                    .keys
                    .bucket(k)
                    .is_some_and(|b| b.start == start && b.end <= a);
            if still {
                self.evaluate(t, k, a, None);
                self.after_change(k);
            }
        }
    }

    /// `run_again_at` of `proactive_evaluation`: the earliest bucket end of the
    /// trigger after `a`, at most `a + within`. Scans the key table (scheduled mode).
    fn run_again_at(&self, t: u32, a: Instant) -> Instant {
        let p = self.params(t);
        let mut run_again = a.saturating_add(p.within);
        if let Some(Node {
            kind: NodeKind::Event(ev),
            ..
        }) = &self.nodes[t as usize]
        {
            if ev.keys == 0 {
                return run_again;
            }
        }
        for (k, trigger) in self.keys.iter() {
            if trigger != t {
                continue;
            }
            if let Some(b) = self.keys.bucket(k) {
                if a < b.end && b.end < run_again {
                    run_again = b.end;
                }
            }
        }
        run_again
    }

    /// `periodic_evaluation(now)`: held-event sweep, lost followers, expired buckets.
    pub(crate) fn periodic(&mut self, now: Instant) {
        let as_of = self.with_offset(now);
        // sweep_held_events(now)
        self.collect(now.max(as_of));
        let retention = self.config.held_retention;
        let batch = self.batch.clone();
        for &k in &batch {
            if self.keys.held(k).is_empty() || self.keys.bucket(k).is_some_and(|b| b.end > now) {
                continue;
            }
            let cutoff = now.saturating_sub(retention);
            self.keys.held_mut(k).retain(|h| h.held_at >= cutoff);
            self.keys.tidy_held(k);
        }
        // lost followers, evaluated in occurred order
        let cutoff = self.wall.saturating_sub(self.config.follower_timeout);
        let lost = self.ordering.take_lost(cutoff);
        let was_proactive = core::mem::replace(&mut self.in_proactive, false);
        for follower in lost {
            self.stats.lost_followers += 1;
            let _ = self.reactive_evaluation(&follower.view(), 0);
        }
        self.in_proactive = was_proactive;
        // sweep_closed_buckets(as_of - buffer)
        let older_than = as_of.saturating_sub(self.config.sweep_buffer);
        self.collect(as_of);
        let batch = self.batch.clone();
        for &k in &batch {
            if self.keys.bucket(k).is_some_and(|b| b.end <= older_than) {
                self.keys.set_bucket(k, None);
            }
        }
    }
}
