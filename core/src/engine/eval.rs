//! Prefect's evaluation (`server/events/triggers.py`), transcribed onto in-memory
//! buckets and the timing wheel. Function names follow Prefect's.

use core::ops::ControlFlow;

use super::keys::{encode_key, Bucket, KeyTable, LastEvent, Window};
use super::{Engine, EventsClock, Node, NodeKind};
use crate::event::{Event, EventId};
use crate::matcher::{CompiledEventTrigger, RouteIndex};
use crate::store::{Seq, Storage};
use crate::time::{Duration, Instant};
use crate::trigger::Posture;

mod buckets;
mod timers;

/// Why an event was not (fully) processed by `reactive_evaluation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotProcessed {
    /// `EventArrivedEarly`: waiting for its leader.
    ArrivedEarly,
    /// `MaxDepthExceeded`: a follower chain is too deep.
    MaxDepth,
    /// `EventBeingProcessed`: the same id is being processed up the stack.
    BeingProcessed,
    /// The event was processed, but one of its released followers raised
    /// `EventArrivedEarly` (it now follows a leader not seen yet). Prefect's follower
    /// loop only catches `MaxDepthExceeded`, so the exception ends the loop (later
    /// followers stay waiting) and skips `forget_follower` for this event and every
    /// event up the chain (they stay on the waitlist and come back as lost
    /// followers).
    FollowerArrivedEarly,
}

/// Whether trigger `c` covers the event's resources (`None` if not) and, when it
/// does, whether the event's key for it fits in `key` (where it is encoded). The
/// usual shape of trigger looks its one label up once for both.
fn covered_key<B: crate::store::ByteBuf>(
    c: &CompiledEventTrigger<B>,
    event: &Event<'_>,
    key: &mut impl Seq<u8>,
) -> Option<bool> {
    match c.covered_key_value(event) {
        Some(value) => value.map(|v| encode_key(key, [v].into_iter())),
        None => c
            .covers_resources(event)
            .then(|| encode_key(key, c.key_values(event))),
    }
}

/// One interested trigger for an event name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Route {
    pub(crate) trigger: u32,
    pub(crate) starts_after: bool,
    pub(crate) expects: bool,
}

/// The routes of the last event name (valid until triggers are added or removed).
pub(crate) struct RouteCache<S: Storage> {
    pub(crate) name: S::RouteName,
    pub(crate) routes: S::TriggerSeq<Route>,
    /// The routes are those of `name` (false also when the name did not fit).
    pub(crate) valid: bool,
}

impl<S: Storage> Default for RouteCache<S> {
    fn default() -> Self {
        RouteCache {
            name: Default::default(),
            routes: Default::default(),
            valid: false,
        }
    }
}

impl<S: Storage> RouteCache<S> {
    /// Forgets the routes (as [`Default`] makes it).
    pub(crate) fn clear(&mut self) {
        self.name.clear();
        self.routes.clear();
        self.valid = false;
    }

    /// Whether the routes are those of `name`.
    fn holds(&self, name: &str) -> bool {
        self.valid && crate::bytes::eq(&self.name, name.as_bytes())
    }

    /// Remembers that the routes are those of `name`, if it fits.
    fn set_name(&mut self, name: &str) {
        self.name.clear();
        self.valid = name.bytes().all(|b| self.name.try_push(b).is_ok());
    }
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
    pub(crate) fn as_last_event(&self) -> LastEvent {
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
    /// What the windows of the trigger's buckets are derived from.
    pub(crate) fn window(&self, lookback: Duration) -> Window {
        Window {
            within: self.within,
            lookback,
        }
    }

    pub(crate) fn meets_threshold(&self, count: i64) -> bool {
        match self.posture {
            Posture::Reactive => count >= self.threshold,
            Posture::Proactive => count < self.threshold,
        }
    }
    pub(crate) fn proactive(&self) -> bool {
        self.posture == Posture::Proactive
    }
}

impl<S: Storage> Engine<S> {
    /// Event trigger node `t`, if it is one.
    pub(crate) fn event_node_mut(&mut self, t: u32) -> Option<&mut super::EventNode<S>> {
        match self.nodes.get_mut(t as usize) {
            Some(Some(Node {
                kind: NodeKind::Event(ev),
                ..
            })) => Some(ev),
            _ => None,
        }
    }

    /// What the windows of trigger node `t`'s buckets are derived from.
    pub(crate) fn window(&self, t: u32) -> Window {
        let within = match self.nodes.get(t as usize) {
            Some(Some(Node {
                kind: NodeKind::Event(ev),
                ..
            })) => ev.compiled.within(),
            _ => Duration::ZERO,
        };
        Window {
            within,
            lookback: self.config.lookback,
        }
    }

    /// The bucket of key `k`.
    pub(crate) fn bucket_of(&self, k: u32) -> Option<Bucket> {
        let t = self.keys.trigger(k)?;
        self.keys.bucket(k, self.window(t))
    }

    /// Replaces (or removes) the bucket of key `k` (a window Prefect opens: always of
    /// its trigger's shapes).
    pub(crate) fn replace_bucket(&mut self, k: u32, bucket: Option<Bucket>) {
        if let Some(t) = self.keys.trigger(k) {
            let fits = self.keys.set_bucket(k, bucket, self.window(t));
            debug_assert!(fits, "a window of neither shape");
        }
    }

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
                    holds: c.holds_expect_events(),
                }
            }
            _ => unreachable!("params of a live event-trigger node"),
        }
    }

    // ---------------------------------------------------------------- events clock

    /// `update_events_clock`: the latest event time (clamped to the wall clock) and the
    /// wall time it was seen.
    pub(crate) fn update_events_clock(&mut self, occurred: Instant) {
        let ts = occurred.min(self.wall);
        if self.events_clock.is_none_or(|c| ts >= c) {
            self.events_clock = Some(ts);
        }
        self.events_clock_updated = Some(self.wall);
    }

    /// `as_of + get_events_clock_offset()` for a tick.
    pub(crate) fn with_offset(&self, as_of: Instant) -> Instant {
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
                // (the admission checks leave room for it: an event held now was
                // admitted, a released follower was waiting already)
                let _ = self.ordering.record_follower(event);
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

        let mut followers = super::ordering::FollowerIds::<S>::default();
        self.ordering.followers_of(&event.id, &mut followers);
        for &(_, id) in followers.iter() {
            let Some(follower) = self.ordering.waiting_event(&id).cloned() else {
                continue;
            };
            match self.reactive_evaluation(&follower.view(), depth + 1) {
                Err(NotProcessed::MaxDepth) => break,
                Err(NotProcessed::ArrivedEarly | NotProcessed::FollowerArrivedEarly) => {
                    return Err(NotProcessed::FollowerArrivedEarly);
                }
                Ok(()) | Err(NotProcessed::BeingProcessed) => {}
            }
        }
        if let Some(leader) = event.follows.filter(|l| *l != event.id) {
            self.ordering.forget_follower(&event.id, &leader);
        }
        Ok(())
    }

    /// The body of `reactive_evaluation`: every interested trigger, in load order.
    pub(crate) fn evaluate_interested(&mut self, event: &Event<'_>) {
        self.route(event.event);
        let routes = core::mem::take(&mut self.route_cache.routes);
        let mut key = core::mem::take(&mut self.scratch_key);
        for r in routes.iter() {
            let covered = match &self.nodes[r.trigger as usize] {
                Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) => {
                    let c = &ev.compiled;
                    // (a key too long for the scratch buffer is longer than
                    // KEY_BYTES: admission refused the event, unless capacities
                    // are not checked, and then the buffer grows)
                    covered_key(c, event, &mut key) == Some(true)
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

    /// Routes `event` and calls `f` for each interested trigger that covers its
    /// resources, with the key table, the trigger's node and compiled form, and the
    /// event's key for it (built in the scratch buffer; `None` when it is longer than
    /// the buffer holds), until `f` breaks.
    pub(crate) fn keyed_routes(
        &mut self,
        event: &Event<'_>,
        mut f: impl FnMut(
            &KeyTable<S>,
            u32,
            &CompiledEventTrigger<S::TriggerBytes>,
            Option<&[u8]>,
        ) -> ControlFlow<()>,
    ) {
        self.route(event.event);
        let mut key = core::mem::take(&mut self.scratch_key);
        for r in self.route_cache.routes.iter() {
            let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[r.trigger as usize]
            else {
                continue;
            };
            let c = &ev.compiled;
            let Some(fits) = covered_key(c, event, &mut key) else {
                continue;
            };
            if f(&self.keys, r.trigger, c, fits.then_some(&key[..])).is_break() {
                break;
            }
        }
        self.scratch_key = key;
    }

    /// Whether two of these triggers belong to the same composite trigger tree (only
    /// then does their evaluation order change anything).
    pub(crate) fn shares_a_composite(&self, candidates: &[u32]) -> bool {
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
    /// by one `update` per matching index pattern); see [`super::pyindex`].
    pub(crate) fn python_set_order(&mut self, name: &str, candidates: &mut [u32]) {
        self.py_index.order(&self.nodes, name, candidates);
    }

    /// Fills the route cache for `name`: the triggers whose index keys and `covers`
    /// name pattern accept it (`find_interested_triggers` minus the resource check),
    /// in load order, with `starts_after`/`expects`. Reused while names repeat.
    pub(crate) fn route(&mut self, name: &str) {
        if self.route_cache.holds(name) {
            return;
        }
        let mut candidates = core::mem::take(&mut self.scratch_candidates);
        let loaded = self.nodes.iter().enumerate().filter_map(|(i, n)| match n {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) if !ev.shadowed => Some((i as u32, &ev.compiled)),
            _ => None,
        });
        self.router.candidates(name, loaded, &mut candidates);
        if candidates.len() > 1 {
            // (load orders are unique)
            candidates.sort_unstable_by_key(|&t| {
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
        let mut complete = true;
        for &t in candidates.iter() {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[t as usize]
            {
                let c = &ev.compiled;
                if c.covers_name(name) {
                    let route = Route {
                        trigger: t,
                        starts_after: c.starts_after(name),
                        expects: c.expects(name),
                    };
                    complete &= cache.routes.try_push(route).is_ok();
                }
            }
        }
        // (routes hold one per event-trigger node: they always fit)
        debug_assert!(complete, "more routes than trigger nodes");
        cache.set_name(name);
        self.scratch_candidates = candidates;
    }

    /// One interested trigger's transaction in `reactive_evaluation`.
    pub(crate) fn evaluate_for_trigger(&mut self, t: u32, key: &[u8], ev: Triggering) {
        let p = self.params(t);
        let mut slot: Option<u32> = None;
        if p.has_after && ev.starts_after {
            let initial = if ev.expects { -1 } else { 0 };
            let end = ev.occurred.saturating_add(p.within);
            slot = self.ensure_bucket(t, key, ev.occurred, end, Some(ev.as_last_event()), initial);
            // The steady state of a proactive trigger taken short: the key's open window
            // renewed by the event in one pass. (`renew` declines a window
            // `ensure_bucket` just opened: it counts -1 plus the key's held events, and
            // `renew` needs a count of at least 0 and no held events.)
            if let Some(k) = slot.filter(|_| ev.expects && p.proactive() && self.short_paths()) {
                let w = p.window(self.config.lookback);
                if let Some(due) = self.keys.renew(k, w, ev.occurred, ev.id, p.threshold) {
                    self.refile(k, due);
                    return;
                }
            }
        }
        if slot.is_none() && !p.has_after && ev.expects {
            let start = ev.occurred.saturating_sub(self.config.lookback);
            let end = ev.occurred.saturating_add(p.within);
            slot = self.ensure_bucket(t, key, start, end, Some(ev.as_last_event()), 0);
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
                    // (the capacity checks leave room for the key)
                    let Some((k, created)) = self.keys.find_or_insert(t, key) else {
                        return;
                    };
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
}
