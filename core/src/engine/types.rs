//! What goes in and out of the engine besides events and firings: [`FiringKind`], [`EventOutcome`],
//! [`Stats`] and the errors of `add_trigger` and `handle_event`.

use core::fmt;

use super::{Capacity, TriggerId};
use crate::error::TriggerError;

/// Where a firing came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FiringKind {
    /// Proactive evaluation at a tick (an expected event did not arrive in time).
    Proactive,
    /// Event processing (including lost followers released by a tick).
    Reactive,
}

/// What happened to an event handed to [`Engine::handle_event`](super::Engine::handle_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// Evaluated against the interested triggers.
    Processed,
    /// Dropped: its id was seen within the de-duplication window.
    Duplicate,
    /// Dropped: a `prefect.log.write` event (consumer entry).
    LogEvent,
    /// Held until the event it `follows` is seen (or for the follower timeout).
    WaitingForLeader,
    /// Buffered until the watermark passes it (allowed lateness).
    Buffered,
    /// Dropped: it arrived after the watermark passed its `occurred`
    /// ([`LatePolicy::Drop`](super::LatePolicy::Drop)).
    Late,
}

/// Counters the caller can read with [`Engine::stats`](super::Engine::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Events handed to `handle_event` and accepted.
    pub events: u64,
    /// Events dropped as duplicates.
    pub duplicates: u64,
    /// `prefect.log.write` events dropped.
    pub log_events: u64,
    /// Events that had to wait for their leader.
    pub followers_held: u64,
    /// Followers released by the follower timeout.
    pub lost_followers: u64,
    /// Followers not processed because a chain exceeded the maximum depth.
    pub depth_exceeded: u64,
    /// Top-level firings produced.
    pub firings: u64,
    /// Late events dropped ([`LatePolicy::Drop`](super::LatePolicy::Drop)).
    pub late_dropped: u64,
    /// Late events evaluated on arrival ([`LatePolicy::Process`](super::LatePolicy::Process)).
    pub late_processed: u64,
    /// Events refused because a capacity was exhausted
    /// ([`HandleEventError::Full`]).
    pub refused_full: u64,
    /// Ticks that stopped early because the pending firings reached their capacity
    /// (the rest of the tick ran at a later `handle_*` call).
    pub deferred_ticks: u64,
}

/// Why [`Engine::add_trigger`](super::Engine::add_trigger) refused a trigger.
#[derive(Clone, Debug, PartialEq)]
pub enum AddTriggerError {
    /// A trigger with this id is loaded already.
    DuplicateId(TriggerId),
    /// The trigger is invalid (the error says which field and why).
    Invalid(TriggerError),
    /// Loading it would exceed the engine's limit of trigger nodes (2^24).
    TooManyTriggers,
    /// Loading it would exceed a capacity: [`Capacity::TriggerNodes`], the key or
    /// held-event reservations of the events held or buffered now, or
    /// [`Capacity::FiringBytes`] when one of its firings (labels and child firings
    /// included) could take more bytes packed than the engine holds per firing (see
    /// [`Capacities`](super::Capacities)).
    Full(Capacity),
}

impl fmt::Display for AddTriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddTriggerError::DuplicateId(id) => {
                write!(
                    f,
                    "a trigger with id {} is already loaded; remove it first",
                    id.0
                )
            }
            AddTriggerError::Invalid(e) => write!(f, "invalid trigger: {e}"),
            AddTriggerError::TooManyTriggers => write!(
                f,
                "too many triggers: an engine holds at most {} trigger nodes",
                super::keys::MAX_TRIGGER_NODES
            ),
            AddTriggerError::Full(c) => write!(f, "cannot load the trigger: {c}"),
        }
    }
}

impl core::error::Error for AddTriggerError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            AddTriggerError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TriggerError> for AddTriggerError {
    fn from(e: TriggerError) -> Self {
        AddTriggerError::Invalid(e)
    }
}

/// Why [`Engine::handle_event`](super::Engine::handle_event) refused an event (nothing about it was kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleEventError {
    /// The primary resource has no (or an empty) `prefect.resource.id` label.
    MissingResourceId,
    /// Evaluating the event could need more than a capacity has left (the error
    /// names which; [`Capacity::BufferedEvents`]: the allowed-lateness buffer is
    /// full). Nothing was changed: handle it again once the capacity has room.
    Full(Capacity),
}

impl fmt::Display for HandleEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleEventError::MissingResourceId => f.write_str(
                "the event's resource has no `prefect.resource.id` label (Prefect requires a non-empty one)",
            ),
            HandleEventError::Full(c) => write!(f, "event refused, nothing changed: {c}"),
        }
    }
}

impl core::error::Error for HandleEventError {}
