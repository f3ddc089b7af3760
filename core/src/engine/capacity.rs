//! Capacity checks ([`Capacities`]): what an event, a trigger or a unit of a tick's
//! work may need, checked before anything changes.
//!
//! Keys and held events are *state*: an accepted event must always find room for
//! them, so every event the engine holds (waiting for its leader, or buffered for
//! allowed lateness) reserves one key and one held event per loaded event trigger (a
//! trigger's evaluation of one event creates at most one of each), and every
//! proactive trigger without `for_each` and without a window reserves the key its
//! tick will open. Firings are *output*, drained by the caller: a unit of work (an
//! event with the followers it releases, a lost follower, one window judged at a
//! tick) starts only if the pending firings have room for the most it can make — two
//! per interested event trigger per event (a reactive trigger with `threshold <= 0`
//! fires for the window it closes and again for the one the event opens) and one per
//! window — or if none are pending, so a caller that drains always makes progress.
//!
//! An event the engine holds for later (waiting for its leader, or buffered for
//! allowed lateness) is stored packed ([`PackedEvent`](crate::event::PackedEvent)):
//! one that would take more than `Capacities::event_bytes` is refused when it arrives
//! ([`Capacity::EventBytes`]). Events held later come from events held already
//! (a released follower that has to wait again, a lost follower put back), so they
//! always fit.

use core::ops::ControlFlow;

use super::firing;
use super::pool::Packed;
use super::{Capacity, Engine, HandleEventError, Node, NodeKind, Posture};
use crate::event::{Event, EventId};
use crate::store::{Queue, Storage};
use crate::time::Instant;
use crate::trigger::TriggerDef;

/// Where a tick that ran out of room for firings resumes (phases in tick order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TickResume {
    /// From the beginning (no tick was cut short).
    #[default]
    Start,
    /// From the beginning: the allowed-lateness release was cut short.
    Release,
    /// At the periodic work that runs before proactive evaluation, with the
    /// evaluation instant it computed (the lost followers it released moved the
    /// events clock since).
    PeriodicBefore { as_of: Instant },
    /// At the proactive trigger with this position in the proactive list; `begun`:
    /// its prelude (opening a global window, removing satisfied buckets) is done.
    Proactive { position: u32, begun: bool },
    /// At the periodic work that runs after proactive evaluation (as for
    /// `PeriodicBefore`).
    PeriodicAfter { as_of: Instant },
}

impl TickResume {
    /// The record a snapshot stores: (phase 0–5, position, instant in µs).
    pub(crate) fn record(self) -> (u8, u32, u64) {
        match self {
            TickResume::Start => (0, 0, 0),
            TickResume::Release => (5, 0, 0),
            TickResume::PeriodicBefore { as_of } => (1, 0, as_of.as_micros()),
            TickResume::Proactive { position, begun } => (2 + u8::from(begun), position, 0),
            TickResume::PeriodicAfter { as_of } => (4, 0, as_of.as_micros()),
        }
    }

    /// The value [`record`](Self::record) gave, if it is one.
    pub(crate) fn from_record((phase, position, micros): (u8, u32, u64)) -> Option<TickResume> {
        let as_of = Instant::from_micros(micros);
        let plain = position == 0 && micros == 0;
        Some(match phase {
            0 if plain => TickResume::Start,
            1 if position == 0 => TickResume::PeriodicBefore { as_of },
            2 | 3 if micros == 0 => TickResume::Proactive {
                position,
                begun: phase == 3,
            },
            4 if position == 0 => TickResume::PeriodicAfter { as_of },
            5 if plain => TickResume::Release,
            _ => return None,
        })
    }
}

/// What evaluating one event needs, from its interested triggers.
#[derive(Clone, Copy, Debug, Default)]
struct EventNeed {
    /// Interested event triggers whose resources the event covers.
    routes: usize,
    /// Of those, the ones without a key for the event yet.
    new_keys: usize,
    /// Of those, the ones that hold `expect` events.
    holding: usize,
}

impl<S: Storage> Engine<S> {
    /// Counts a refusal and makes its error.
    pub(crate) fn refuse(&mut self, c: Capacity) -> HandleEventError {
        self.stats.refused_full += 1;
        HandleEventError::Full(c)
    }

    /// Recounts the live event-trigger nodes (and those that hold `expect` events)
    /// after triggers were loaded or removed.
    pub(crate) fn recount_nodes(&mut self) {
        let (mut events, mut holding) = (0, 0);
        for node in self.nodes.iter().flatten() {
            if let NodeKind::Event(ev) = &node.kind {
                if !ev.shadowed {
                    events += 1;
                    holding += usize::from(ev.compiled.holds_expect_events());
                }
            }
        }
        self.event_nodes = events;
        self.holding_nodes = holding;
    }

    /// Proactive triggers without `for_each` whose next tick opens a window (a key).
    fn unopened_globals(&self) -> usize {
        self.proactive
            .iter()
            .filter(|&&p| {
                matches!(
                    &self.nodes[p as usize],
                    Some(Node { kind: NodeKind::Event(ev), .. })
                        if ev.compiled.for_each().is_empty() && ev.keys == 0
                )
            })
            .count()
    }

    /// Keys and held events reserved for `pending` held or buffered events (and for
    /// global windows), with `event_nodes` / `holding_nodes` loaded triggers.
    fn reserved(&self, pending: usize, event_nodes: usize, holding_nodes: usize) -> (usize, usize) {
        (
            pending
                .saturating_mul(event_nodes)
                .saturating_add(self.unopened_globals()),
            pending.saturating_mul(holding_nodes),
        )
    }

    /// Places on the waitlist taken or kept: waiting followers, and buffered events
    /// that follow another event (they may have to wait when released).
    fn waitlist_places(&self) -> usize {
        self.ordering.len() + self.lateness.following()
    }

    /// Events the engine holds or buffers (each keeps a reservation).
    fn pending_events(&self) -> usize {
        self.ordering.len() + self.lateness.len()
    }

    /// Whether the pending firings have room for `need` more (or none are pending).
    pub(crate) fn room_for_firings(&self, need: usize) -> bool {
        self.actions.is_empty()
            || self.actions.len().saturating_add(need) <= self.config.capacities.pending_firings
    }

    /// Whether the pending firings have room for what evaluating the event with this id
    /// (`routes` interested triggers at most) and the followers it releases can make:
    /// two per trigger per event.
    pub(crate) fn room_for_event(&self, id: &crate::event::EventId, routes: usize) -> bool {
        if self.actions.is_empty() || self.config.capacities.pending_firings == usize::MAX {
            return true;
        }
        let followers = self.ordering.chain_len(id, self.config.max_follower_depth);
        let need = routes
            .saturating_mul(2)
            .saturating_add(followers.saturating_mul(self.event_nodes).saturating_mul(2));
        self.room_for_firings(need)
    }

    /// Whether `reactive_evaluation` would put this event on the waitlist now
    /// (`wait_for_leader`: it follows another event, is not older than the follower
    /// timeout, and its leader has not been seen).
    /// Its leader, if so.
    pub(crate) fn waits_for_leader(&self, event: &Event<'_>) -> Option<EventId> {
        let leader = event.follows.filter(|l| *l != event.id)?;
        let age = self.wall.saturating_duration_since(event.received);
        let old = event.received <= self.wall && age >= self.config.follower_timeout;
        (!old && !self.seen.contains(&leader, self.wall)).then_some(leader)
    }

    /// The event's interested triggers: how many, how many lack a key, how many
    /// hold events; refuses a key longer than [`Capacities::key_bytes`](super::Capacities).
    fn event_need(&mut self, event: &Event<'_>) -> Result<EventNeed, Capacity> {
        let max_key = self.config.capacities.key_bytes;
        let mut need = EventNeed::default();
        let mut result = Ok(());
        self.keyed_routes(event, |keys, trigger, c, key| {
            let Some(key) = key.filter(|key| key.len() <= max_key) else {
                result = Err(Capacity::KeyBytes);
                return ControlFlow::Break(());
            };
            need.routes += 1;
            need.new_keys += usize::from(keys.find(trigger, key).is_none());
            need.holding += usize::from(c.holds_expect_events());
            ControlFlow::Continue(())
        });
        result.map(|()| need)
    }

    /// Whether the engine can take an event to evaluate now (or to hold for its
    /// leader): the checks of [`Capacities`](super::Capacities), before anything
    /// changes.
    pub(crate) fn admit_now(&mut self, event: &Event<'_>) -> Result<(), Capacity> {
        let caps = self.config.capacities;
        if !caps.checks_events() {
            return Ok(());
        }
        let need = self.event_need(event)?;
        let (reserved_keys, reserved_held) =
            self.reserved(self.pending_events(), self.event_nodes, self.holding_nodes);
        let (keys, held) = if let Some(leader) = self.waits_for_leader(event) {
            fits_packed::<S>(event, caps.event_bytes)?;
            if !self.ordering.room_to_follow(&leader, &event.id) {
                return Err(Capacity::WaitingFollowers);
            }
            if self.ordering.is_waiting(&event.id) {
                // a new copy replaces the waiting one and its reservation
                return Ok(());
            }
            if self.waitlist_places() >= caps.waiting_followers {
                return Err(Capacity::WaitingFollowers);
            }
            (self.event_nodes, self.holding_nodes)
        } else {
            if !self.room_for_event(&event.id, need.routes) {
                return Err(Capacity::PendingFirings);
            }
            (need.new_keys, need.holding)
        };
        let used_keys = self.keys.len().saturating_add(reserved_keys);
        if used_keys.saturating_add(keys) > caps.keys {
            return Err(Capacity::Keys);
        }
        let used_held = self.keys.held_total().saturating_add(reserved_held);
        if used_held.saturating_add(held) > caps.held_events {
            return Err(Capacity::HeldEvents);
        }
        Ok(())
    }

    /// Whether the engine can buffer one more event for allowed lateness.
    pub(crate) fn admit_buffered(&mut self, event: &Event<'_>) -> Result<(), Capacity> {
        let caps = self.config.capacities;
        if self.lateness.len() >= caps.buffered_events {
            return Err(Capacity::BufferedEvents);
        }
        if !caps.checks_events() {
            return Ok(());
        }
        fits_packed::<S>(event, caps.event_bytes)?;
        self.event_need(event)?;
        if event.follows.is_some_and(|l| l != event.id)
            && self.waitlist_places() >= caps.waiting_followers
        {
            return Err(Capacity::WaitingFollowers);
        }
        let pending = self.pending_events() + 1;
        let (keys, held) = self.reserved(pending, self.event_nodes, self.holding_nodes);
        if self.keys.len().saturating_add(keys) > caps.keys {
            return Err(Capacity::Keys);
        }
        if self.keys.held_total().saturating_add(held) > caps.held_events {
            return Err(Capacity::HeldEvents);
        }
        Ok(())
    }

    /// Whether trigger nodes can be loaded: `nodes` more nodes, of which `events` event
    /// triggers and `holding` holding ones, with the reservations they add.
    pub(crate) fn admit_nodes(
        &self,
        nodes: usize,
        events: usize,
        holding: usize,
        globals: usize,
    ) -> Result<(), Capacity> {
        let caps = self.config.capacities;
        let live = self.nodes.len() - self.free_nodes.len();
        if live.saturating_add(nodes) > caps.trigger_nodes {
            return Err(Capacity::TriggerNodes);
        }
        let (keys, held) = self.reserved(
            self.pending_events(),
            self.event_nodes + events,
            self.holding_nodes + holding,
        );
        let keys = keys.saturating_add(globals);
        if self.keys.len().saturating_add(keys) > caps.keys {
            return Err(Capacity::Keys);
        }
        if self.keys.held_total().saturating_add(held) > caps.held_events {
            return Err(Capacity::HeldEvents);
        }
        Ok(())
    }

    /// Whether every firing `trigger`'s tree can make fits
    /// [`Capacities::firing_bytes`](super::Capacities) (with keys of
    /// [`Capacities::key_bytes`](super::Capacities)) and the storage's firing buffers
    /// (with keys of the storage's longest): a firing is packed while an event or a
    /// tick is evaluated, where it must not fail.
    pub(crate) fn admit_firings(&self, trigger: &TriggerDef<'_>) -> Result<(), Capacity> {
        let caps = self.config.capacities;
        let over = |key_bytes: usize, max: usize| {
            max != usize::MAX && max_firing_len(trigger, key_bytes) > max
        };
        if over(caps.key_bytes, caps.firing_bytes) || over(S::KEY_BYTES, S::FIRING_BYTES) {
            return Err(Capacity::FiringBytes);
        }
        Ok(())
    }

    /// The first capacity the engine's state exceeds (a restored snapshot must fit).
    pub(crate) fn check_capacities(&self) -> Result<(), Capacity> {
        let caps = self.config.capacities;
        if self.trigger_nodes() > caps.trigger_nodes {
            return Err(Capacity::TriggerNodes);
        }
        if self.lateness.len() > caps.buffered_events {
            return Err(Capacity::BufferedEvents);
        }
        if self.waitlist_places() > caps.waiting_followers {
            return Err(Capacity::WaitingFollowers);
        }
        if caps.event_bytes != usize::MAX
            && self.ordering.longest().max(self.lateness.longest()) > caps.event_bytes
        {
            return Err(Capacity::EventBytes);
        }
        let (keys, held) =
            self.reserved(self.pending_events(), self.event_nodes, self.holding_nodes);
        if self.keys.len().saturating_add(keys) > caps.keys {
            return Err(Capacity::Keys);
        }
        if self.keys.held_total().saturating_add(held) > caps.held_events {
            return Err(Capacity::HeldEvents);
        }
        let too_long = |(k, _): (u32, u32)| self.keys.key(k).len() > caps.key_bytes;
        if caps.key_bytes != usize::MAX && self.keys.iter().any(too_long) {
            return Err(Capacity::KeyBytes);
        }
        Ok(())
    }

    /// The number of trigger nodes loaded (what [`Capacity::TriggerNodes`] bounds).
    pub fn trigger_nodes(&self) -> usize {
        self.nodes.len() - self.free_nodes.len()
    }

    /// Number of `expect` events held by proactive triggers with `after`.
    pub fn held_events(&self) -> usize {
        self.keys.held_total()
    }

    /// Number of firings made and not yet taken with [`poll_action`](Self::poll_action).
    pub fn pending_firings(&self) -> usize {
        self.actions.len()
    }

    /// Whether a tick stopped early because the pending firings were full: drain
    /// [`poll_action`](Self::poll_action) and call
    /// [`handle_timeout`](Self::handle_timeout) again to finish it.
    pub fn tick_deferred(&self) -> bool {
        self.resume != TickResume::Start
    }
}

/// The most bytes a firing of `trigger` (any node of its tree) takes packed, when
/// keys take at most `key_bytes` bytes. Saturates at `usize::MAX`.
pub(crate) fn max_firing_len(trigger: &TriggerDef<'_>, key_bytes: usize) -> usize {
    match trigger {
        TriggerDef::Event(t) => {
            // the labels are the sorted, de-duplicated `for_each` names
            let names = t.for_each;
            let unique = names
                .iter()
                .enumerate()
                .filter(move |&(i, name)| !names.iter().take(i).any(|n| n == name))
                .map(|(_, name)| name);
            firing::max_event_firing_len(unique, key_bytes)
        }
        TriggerDef::Compound(_) | TriggerDef::Sequence(_) => firing::max_composite_firing_len(
            trigger
                .children()
                .into_iter()
                .flat_map(|c| c.iter())
                .map(|t| max_firing_len(&t, key_bytes)),
        ),
    }
}

/// Refuses an event that takes more than `max` bytes packed (what holding it for its
/// leader or buffering it stores).
fn fits_packed<S: Storage>(event: &Event<'_>, max: usize) -> Result<(), Capacity> {
    if max != usize::MAX && Packed::<S>::encoded_len(event) > max {
        return Err(Capacity::EventBytes);
    }
    Ok(())
}

/// The event triggers of a tree about to be loaded: (event nodes, holding nodes,
/// proactive ones without `for_each`).
pub(crate) fn count_event_nodes(def: &crate::trigger::TriggerDef<'_>) -> (usize, usize, usize) {
    let mut out = (0, 0, 0);
    def.for_each_event(&mut |t| {
        out.0 += 1;
        out.1 += usize::from(t.holds_expect_events());
        out.2 += usize::from(t.posture == Posture::Proactive && t.for_each.is_empty());
    });
    out
}

#[cfg(test)]
mod tests;
