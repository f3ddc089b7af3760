//! The engine's configuration: [`EngineConfig`] and the choices it is made of, with
//! Prefect 3.9.1's values as defaults.

use super::lateness::LatePolicy;
use crate::time::Duration;

/// The caller's identifier of a loaded trigger (one automation's trigger tree).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct TriggerId(pub u32);

/// How events enter the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Entry {
    /// Prefect's consumer: drops `prefect.log.write` events and events whose id was
    /// seen within the de-duplication window (production behaviour).
    #[default]
    Consumer,
    /// `triggers.reactive_evaluation` called directly, as most Prefect unit tests
    /// do: no de-duplication, log events are evaluated too.
    Direct,
}

/// When proactive triggers are evaluated at a tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProactiveMode {
    /// Every proactive trigger is evaluated at every tick (Prefect's unit tests).
    /// With ticks at the instants [`Engine::poll_timeout`](super::Engine::poll_timeout) asks for, this is the
    /// exact mode: a window is judged the moment it ends.
    #[default]
    All,
    /// Prefect's production scheduler (`evaluate_proactive_triggers`): a trigger is
    /// skipped until its `next_proactive_runs` instant, and evaluated as of the wall
    /// clock. Emulated for conformance; it keeps an ordered index of bucket ends (module docs).
    Scheduled,
}

/// Whether Prefect's events-clock offset applies to proactive evaluation and sweeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventsClock {
    /// The clock is reset before every tick: evaluation happens exactly as of the
    /// tick (Prefect's tests; overdue's default).
    #[default]
    Reset,
    /// Prefect's production behaviour: `as_of = tick + (latest event time - wall time
    /// it was seen)`, so evaluation lags behind a backlog.
    Live,
}

/// When Prefect's periodic work (held-event sweep, lost followers, expired-bucket
/// sweep) runs within a tick, relative to proactive evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeriodicOrder {
    /// After proactive evaluation.
    #[default]
    After,
    /// Before proactive evaluation.
    Before,
    /// Never (buckets are never swept, lost followers never released).
    Never,
}

/// How the engine treats a wall clock that goes backwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WallClock {
    /// A `now` older than the last one is treated as the last one (overdue's rule:
    /// time never goes back).
    #[default]
    Monotonic,
    /// Every `now` is taken as given, as Prefect's code takes its clock (for replaying
    /// Prefect's behaviour exactly; firings then carry the moved-back instant).
    AsGiven,
}

/// Engine configuration; [`Default`] gives Prefect 3.9.1's constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// How events enter (de-duplication or not).
    pub entry: Entry,
    /// When proactive triggers are evaluated at a tick.
    pub proactive: ProactiveMode,
    /// Whether the events-clock offset applies.
    pub events_clock: EventsClock,
    /// Where periodic work runs in a tick.
    pub periodic: PeriodicOrder,
    /// Whether `now` may go backwards.
    pub wall_clock: WallClock,
    /// `PRECEDING_EVENT_LOOKBACK` (15 min): how far before its event the first bucket of
    /// a trigger without `after` starts.
    pub lookback: Duration,
    /// How long a follower waits for its leader (15 min), measured from its
    /// `received`; also the age past which an event does not wait at all.
    pub follower_timeout: Duration,
    /// Maximum depth of followers processed in a chain (20).
    pub max_follower_depth: u32,
    /// How long a seen event id de-duplicates (30 min of wall clock).
    pub dedup_window: Duration,
    /// How many seen ids are remembered (10,000).
    pub dedup_capacity: usize,
    /// `PREFECT_EVENTS_EXPIRED_BUCKET_BUFFER` (60 s): buckets that ended this long
    /// before a periodic evaluation are deleted.
    pub sweep_buffer: Duration,
    /// How long held `expect` events are kept after being held (30 min).
    pub held_retention: Duration,
    /// Tick resolution of the timing wheel (firing is exact regardless).
    pub wheel_tick: Duration,
    /// Allowed lateness `L`: with `Some(L)` events are buffered and released in event
    /// time order once the watermark (`tick - L`) passes them, so firings no longer
    /// depend on arrival order (see [`handle_tick`](super::Engine::handle_tick)). `None`
    /// (default) evaluates each event on arrival, exactly as Prefect does.
    pub allowed_lateness: Option<Duration>,
    /// What to do with an event older than the watermark (with allowed lateness).
    pub late_policy: LatePolicy,
    /// Upper bounds on what the engine keeps (unbounded by default, except the
    /// allowed-lateness buffer): see [`Capacities`].
    pub capacities: Capacities,
}

/// Upper bounds on the engine's state, each named by a [`Capacity`].
///
/// A bounded engine refuses, with [`HandleEventError::Full`](super::HandleEventError::Full)
/// naming the capacity, an event whose evaluation could need more than is left,
/// **before** changing anything; so whatever it accepted (an event it holds for its
/// leader or buffers for allowed lateness included) is always evaluated in full later.
/// For that, every held or buffered event keeps a reservation of one key and one held
/// event per loaded event trigger until it is evaluated (a buffered event that follows
/// another one also keeps a place on the waitlist), and loading a trigger that would
/// overdraw the reservations is refused. An event is taken only if the pending
/// firings have room for two per interested trigger, for it and for the followers it
/// releases, or if none are pending (a caller that drains always makes progress, and
/// the queue exceeds its bound by at most one event's firings). A tick that fills the
/// pending firings stops before the next window it would judge: the rest waits until
/// the caller has drained [`poll_action`](super::Engine::poll_action), and
/// [`poll_timeout`](super::Engine::poll_timeout) then returns the current instant
/// (call [`handle_timeout`](super::Engine::handle_timeout) again; evaluation resumes
/// exactly where it stopped, as of the same instant).
///
/// The default is [`Capacities::UNBOUNDED`] with `buffered_events` = 1,000,000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacities {
    /// Trigger nodes (an event trigger is one node; a compound or sequence trigger is
    /// one node plus its children's).
    pub trigger_nodes: usize,
    /// Tracked (trigger, key) states: open windows and keys with held events.
    pub keys: usize,
    /// Bytes of one key (the `for_each` label values, each prefixed with its length
    /// as a varint).
    pub key_bytes: usize,
    /// `expect` events held by proactive triggers with `after`, over all keys.
    pub held_events: usize,
    /// Events waiting for the event they `follow`.
    pub waiting_followers: usize,
    /// Events in the allowed-lateness buffer.
    pub buffered_events: usize,
    /// Bytes of one waiting or buffered event, packed
    /// ([`PackedEvent::encoded_len`](crate::event::PackedEvent::encoded_len): 49
    /// bytes plus the name and every label name and value, each with its length as a
    /// varint, plus a count per resource).
    pub event_bytes: usize,
    /// Firings made and not yet taken with `poll_action`.
    pub pending_firings: usize,
    /// Bytes of one event trigger node compiled and packed: its Prefect id, `expect`,
    /// `after` (and their union), `for_each`, and its resource specs' label names and
    /// patterns, each string with its length as a varint, plus a few bytes of counts
    /// (see [`CompiledEventTrigger`](crate::matcher::CompiledEventTrigger)). A fixed
    /// storage bounds it by its `TRIGGER_BYTES`.
    pub trigger_bytes: usize,
    /// Bytes of one firing, packed (its child firings included): a trigger whose
    /// firings could take more is refused when it is loaded
    /// ([`Capacity::FiringBytes`]). An event trigger's firing takes 35 bytes, plus
    /// each `for_each` label name with its length as a varint, plus the key's values
    /// (at most [`key_bytes`](Self::key_bytes)); a compound or sequence trigger's
    /// 35 bytes plus each child's firing with its length as a varint.
    pub firing_bytes: usize,
}

impl Capacities {
    /// No bound at all.
    pub const UNBOUNDED: Capacities = Capacities {
        trigger_nodes: usize::MAX,
        keys: usize::MAX,
        key_bytes: usize::MAX,
        held_events: usize::MAX,
        waiting_followers: usize::MAX,
        buffered_events: usize::MAX,
        event_bytes: usize::MAX,
        pending_firings: usize::MAX,
        trigger_bytes: usize::MAX,
        firing_bytes: usize::MAX,
    };

    /// Whether any bound other than `buffered_events`, `trigger_nodes` and
    /// `trigger_bytes` is set (those are checked where they are filled; the others
    /// need an admission check).
    pub(crate) fn checks_events(&self) -> bool {
        [
            Capacity::Keys,
            Capacity::KeyBytes,
            Capacity::HeldEvents,
            Capacity::WaitingFollowers,
            Capacity::EventBytes,
            Capacity::PendingFirings,
        ]
        .into_iter()
        .any(|c| self.get(c) != usize::MAX)
    }
}

impl Capacities {
    /// The bound on `c`.
    pub const fn get(&self, c: Capacity) -> usize {
        match c {
            Capacity::TriggerNodes => self.trigger_nodes,
            Capacity::Keys => self.keys,
            Capacity::KeyBytes => self.key_bytes,
            Capacity::HeldEvents => self.held_events,
            Capacity::WaitingFollowers => self.waiting_followers,
            Capacity::BufferedEvents => self.buffered_events,
            Capacity::EventBytes => self.event_bytes,
            Capacity::PendingFirings => self.pending_firings,
            Capacity::TriggerBytes => self.trigger_bytes,
            Capacity::FiringBytes => self.firing_bytes,
        }
    }

    /// Sets the bound on `c`.
    pub fn set(&mut self, c: Capacity, bound: usize) {
        let field = match c {
            Capacity::TriggerNodes => &mut self.trigger_nodes,
            Capacity::Keys => &mut self.keys,
            Capacity::KeyBytes => &mut self.key_bytes,
            Capacity::HeldEvents => &mut self.held_events,
            Capacity::WaitingFollowers => &mut self.waiting_followers,
            Capacity::BufferedEvents => &mut self.buffered_events,
            Capacity::EventBytes => &mut self.event_bytes,
            Capacity::PendingFirings => &mut self.pending_firings,
            Capacity::TriggerBytes => &mut self.trigger_bytes,
            Capacity::FiringBytes => &mut self.firing_bytes,
        };
        *field = bound;
    }
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            buffered_events: 1_000_000,
            ..Capacities::UNBOUNDED
        }
    }
}

/// One of the [`Capacities`], as an error names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// [`Capacities::trigger_nodes`], or on fixed storage the room its trigger nodes
    /// give to the index of event-name patterns (see
    /// [`Engine::add_trigger`](super::Engine::add_trigger)).
    TriggerNodes,
    /// [`Capacities::keys`].
    Keys,
    /// [`Capacities::key_bytes`].
    KeyBytes,
    /// [`Capacities::held_events`].
    HeldEvents,
    /// [`Capacities::waiting_followers`].
    WaitingFollowers,
    /// [`Capacities::buffered_events`].
    BufferedEvents,
    /// [`Capacities::event_bytes`].
    EventBytes,
    /// [`Capacities::pending_firings`].
    PendingFirings,
    /// [`Capacities::trigger_bytes`]: an event trigger node of the trigger being loaded
    /// is too large packed.
    TriggerBytes,
    /// [`Capacities::firing_bytes`].
    FiringBytes,
}

impl Capacity {
    /// Every capacity, in the order of the fields of [`Capacities`].
    pub const ALL: [Capacity; 10] = [
        Capacity::TriggerNodes,
        Capacity::Keys,
        Capacity::KeyBytes,
        Capacity::HeldEvents,
        Capacity::WaitingFollowers,
        Capacity::BufferedEvents,
        Capacity::EventBytes,
        Capacity::PendingFirings,
        Capacity::TriggerBytes,
        Capacity::FiringBytes,
    ];

    /// The capacity whose [`field`](Self::field) name this is.
    pub fn from_field(name: &str) -> Option<Capacity> {
        Capacity::ALL.into_iter().find(|c| c.field() == name)
    }

    /// The field of [`Capacities`] that sets it.
    pub const fn field(self) -> &'static str {
        match self {
            Capacity::TriggerNodes => "trigger_nodes",
            Capacity::Keys => "keys",
            Capacity::KeyBytes => "key_bytes",
            Capacity::HeldEvents => "held_events",
            Capacity::WaitingFollowers => "waiting_followers",
            Capacity::BufferedEvents => "buffered_events",
            Capacity::EventBytes => "event_bytes",
            Capacity::PendingFirings => "pending_firings",
            Capacity::TriggerBytes => "trigger_bytes",
            Capacity::FiringBytes => "firing_bytes",
        }
    }

    /// What the caller can do about it.
    pub const fn remedy(self) -> &'static str {
        match self {
            Capacity::TriggerNodes => {
                "remove a trigger first (on fixed storage: or use a larger TRIGGERS, which also sizes the index of event-name patterns)"
            }
            Capacity::Keys | Capacity::HeldEvents => {
                "advance time with handle_timeout so windows close and are swept"
            }
            Capacity::KeyBytes => "the event's for_each label values are too long for this engine",
            Capacity::WaitingFollowers => {
                "deliver the leaders, or advance time so lost followers are released"
            }
            Capacity::BufferedEvents => "advance time with handle_timeout to release events",
            Capacity::EventBytes => {
                "the event (its name and resource labels) is too long to be held for later by this engine"
            }
            Capacity::PendingFirings => "take the pending firings with poll_action",
            Capacity::TriggerBytes => {
                "an event trigger of it (its id, patterns, labels and for_each names) is too large packed for this engine: shorten it, raise the TRIGGER_BYTES of its fixed storage"
            }
            Capacity::FiringBytes => {
                "the trigger's firings (its for_each label names and key values, and its child firings) could be too long for this engine"
            }
        }
    }
}

impl core::fmt::Display for Capacity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "capacity `{}` is exhausted: {}, or raise Capacities::{}",
            self.field(),
            self.remedy(),
            self.field()
        )
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            entry: Entry::Consumer,
            proactive: ProactiveMode::All,
            events_clock: EventsClock::Reset,
            periodic: PeriodicOrder::After,
            wall_clock: WallClock::Monotonic,
            lookback: Duration::from_mins(15),
            follower_timeout: Duration::from_mins(15),
            max_follower_depth: 20,
            dedup_window: Duration::from_mins(30),
            dedup_capacity: 10_000,
            sweep_buffer: Duration::from_secs(60),
            held_retention: Duration::from_mins(30),
            wheel_tick: Duration::from_millis(1),
            allowed_lateness: None,
            late_policy: LatePolicy::Drop,
            capacities: Capacities::default(),
        }
    }
}
