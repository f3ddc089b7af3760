//! The engine: Prefect 3.9.1's trigger evaluation, exactly, on a timing wheel.
//!
//! [`Engine`] is the only type an adapter touches. It is a sans-IO state machine:
//!
//! ```
//! # use overdue_core::engine::{Engine, EngineConfig, TriggerId};
//! # use overdue_core::{Instant, Duration, OwnedEvent, EventId};
//! # use overdue_core::trigger::Trigger;
//! # fn run(trigger: Trigger, events: Vec<OwnedEvent>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut engine = Engine::new(EngineConfig::default());
//! engine.add_trigger(TriggerId(1), trigger)?;
//! for event in &events {
//!     let now = event.received; // the wall clock when the event reached us
//!     engine.handle_event(&event.view(), now)?;
//!     while let Some(firing) = engine.poll_action() {
//!         println!("{firing:?}");
//!     }
//! }
//! if let Some(wake_at) = engine.poll_timeout() {
//!     engine.handle_timeout(wake_at); // sleep until then in a real driver
//!     while let Some(firing) = engine.poll_action() {
//!         println!("{firing:?}");
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Without a heap (no `alloc` feature needed), the same loop runs on fixed-capacity
//! storage, with a trigger written as a `static` definition; what does not fit is
//! refused with a typed error naming the capacity:
//!
//! ```
//! use overdue_core::engine::{Capacity, Engine, EngineConfig, HandleEventError, TriggerId};
//! use overdue_core::event::{Event, EventId, Labels, Related};
//! use overdue_core::store::Fixed;
//! use overdue_core::trigger::{EventTriggerDef, Posture, SpecDef, SpecDefs, Strs, TriggerDef};
//! use overdue_core::{Duration, Instant};
//!
//! // "another heartbeat within 90 s", per flow run
//! static ZOMBIE: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
//!     id: None,
//!     match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*"])]),
//!     match_related: SpecDefs::EMPTY,
//!     after: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
//!     expect: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
//!     for_each: Strs::Borrowed(&["prefect.resource.id"]),
//!     posture: Posture::Proactive,
//!     threshold: 1,
//!     within: Duration::from_secs(90),
//! });
//! // 4 trigger nodes of 512 bytes, 2 runs of up to 64 key bytes, 4 events of 256
//! // bytes, 64 remembered ids, 8 pending firings of 256 bytes
//! type Small = Fixed<4, 512, 2, 64, 4, 256, 64, 8, 256>;
//! let mut engine = Engine::<Small>::create(EngineConfig::default());
//! engine.add_trigger(TriggerId(1), &ZOMBIE)?;
//! let heartbeat = |id: u8, run: &'static [(&'static str, &'static str)]| Event {
//!     id: EventId([id; 16]),
//!     event: "prefect.flow-run.heartbeat",
//!     occurred: Instant::from_secs(0),
//!     received: Instant::from_secs(0),
//!     resource: Labels::Pairs(run),
//!     related: Related::EMPTY,
//!     follows: None,
//! };
//! let now = Instant::from_secs(0);
//! engine.handle_event(&heartbeat(1, &[("prefect.resource.id", "prefect.flow-run.a")]), now)?;
//! engine.handle_event(&heartbeat(2, &[("prefect.resource.id", "prefect.flow-run.b")]), now)?;
//! // a third run needs a third key
//! let third = heartbeat(3, &[("prefect.resource.id", "prefect.flow-run.c")]);
//! assert_eq!(engine.handle_event(&third, now), Err(HandleEventError::Full(Capacity::Keys)));
//! // both runs go silent: 90 s later each is detected
//! engine.handle_timeout(Instant::from_secs(90));
//! let mut dead = 0;
//! while let Some(firing) = engine.poll_action() {
//!     assert_eq!(firing.labels().count(), 1); // prefect.resource.id → the run
//!     dead += 1;
//! }
//! assert_eq!(dead, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two clocks matter, exactly where Prefect uses them: `now` (the wall clock handed to
//! `handle_*`, used for firing instants, de-duplication, causal ordering, composite
//! windows and proactive evaluation) and event time (`occurred`, used by reactive
//! evaluation). A `now` older than the last one is treated as the last one (see
//! [`WallClock`] for replaying Prefect, whose clock may be moved back).
//!
//! # Implementation
//!
//! State is Prefect's, kept in memory: one `Bucket` per (trigger,
//! for_each key) with start, end, count and last event; for proactive triggers with
//! `after`, the key's held `expect` events (3.9); the seen-id cache and the waitlist of
//! followers. Events kept for later (waiting followers, the allowed-lateness buffer)
//! are stored whole but packed, one byte buffer each
//! ([`PackedEvent`](crate::event::PackedEvent)), and read back in place as an
//! [`Event`] view when they are evaluated. Firings are packed too, labels and child
//! firings included, in one byte buffer each: the pending ones in a queue, composite
//! triggers' stored child firings in one table by child node; [`Engine::poll_action`]
//! moves the next one into a buffer the engine keeps and returns a [`Firing`] view
//! of it (with `alloc`, [`Firing::to_owned`] makes an [`OwnedFiring`] to keep).
//! Every key has at most one timer, filed in
//! the timing wheel at the earliest instant anything can happen to it without an
//! event:
//!
//! | key state | timer |
//! |---|---|
//! | proactive bucket | its `end` (proactive evaluation fires or renews it) |
//! | reactive bucket | `end` + sweep buffer (Prefect's periodic sweep deletes it) |
//! | held events, no open bucket | oldest `held_at` + held retention |
//!
//! A tick ([`Engine::handle_tick`]) takes only the due timers out of the wheel, so its
//! cost grows with the number of keys that are due, never with the number of keys.
//! Prefect's other per-tick work is done lazily with the same effect: satisfied
//! proactive buckets (`count >= threshold`, deleted at Prefect's next tick) are queued
//! when they become satisfied; a global proactive trigger's window is opened when the
//! trigger has none. A timer whose instant has passed but whose work is not due yet
//! (the events-clock offset moves proactive evaluation behind the wall clock, or
//! Prefect's scheduling skips a trigger) waits in a small ordered "overdue" set.
//!
//! [`ProactiveMode::Scheduled`], an emulation of Prefect's production scheduler kept
//! for conformance, needs each trigger's earliest bucket end after the evaluation
//! instant (`next_proactive_runs`): in that mode the key table keeps an ordered index
//! of bucket ends, O(log keys) per bucket change and per query.
//!
//! Within one tick, the due windows of one trigger are judged in order of window
//! start, then key values (never by internal slot numbers, which a restored snapshot
//! does not reproduce).
//!
//! # Snapshots
//!
//! [`Engine::snapshot`] (into a slice) or [`Engine::snapshot_to_vec`] save the whole
//! evaluation state between `handle_*` calls; [`Engine::restore_in_place`] (no heap,
//! the engine never moved) or [`Engine::restore`] and [`Engine::restore_from`] (a new
//! engine and a [`RestoreReport`]) rebuild from the
//! bytes, the configuration and the triggers to load now an engine that behaves
//! exactly as the saved one would have: for any timeline cut anywhere, run → save →
//! restore → run on gives the firings of the uninterrupted run. Triggers are matched
//! by [`TriggerId`] and a fingerprint of their definition; a trigger whose
//! definition changed starts empty, one that is gone has its state dropped
//! ([`RestoreOutcome`], [`RestoreReport`]). Bad bytes give a [`RestoreError`], never a
//! panic or a partly restored engine (one restored in place is left fresh and empty).
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | magic `OVDS` ([`SNAPSHOT_MAGIC`]) |
//! | 4..6 | format version, `u16` little-endian ([`SNAPSHOT_VERSION`] = 3) |
//! | 6..10 | payload length `n`, `u32` little-endian |
//! | 10..14 | CRC-32 (IEEE, as zlib) of the payload, `u32` little-endian |
//! | 14..14+n | the payload, [postcard](https://postcard.jamesmunns.com/wire-format) |
//!
//! The payload holds, in order:
//!
//! 1. the loaded triggers in load order: id, fingerprint (FNV-1a 64 of the postcard
//!    encoding of the validated definition), load-order number of the root node and
//!    the number of nodes in its tree (numbered on from the root's);
//! 2. per-node state, by load-order number: an event trigger's queue of satisfied
//!    proactive windows (key slots) and its next scheduled run; a composite trigger's
//!    stored child firings;
//! 3. every tracked key in slot order: slot, trigger node, key values (one byte
//!    string), bucket (start, end, count, last event), held `expect` events; then the
//!    free slots in reuse order;
//! 4. the timing wheel's time, the wall clock, the events clock (value, and when it
//!    was updated), the [`Stats`] counters, the firings not yet polled and where a
//!    tick cut short by [`Capacities::pending_firings`] resumes;
//! 5. the de-duplication cache in set order, packed into one byte string (per id:
//!    sequence-number step as a varint, 16 id bytes, expiry step in microseconds as a
//!    zigzag varint) and the next sequence number;
//! 6. the waiting followers (waitlist position, `received`, event), each leader's
//!    set of follower ids as its CPython table layout (size; occupied slots with
//!    their id, or none for a deleted entry: the order followers with equal
//!    `occurred` are released in depends on it) and the next position;
//! 7. the allowed-lateness buffer (arrival number, event, in release order), the
//!    arrival counter and the watermark.
//!
//! Not stored, because they are given or derived: the configuration, the trigger
//! definitions, and every timer (the wheel and the overdue set are filed again from
//! the keys' state on restore). A tracked zombie run takes about 100 bytes (97 MB
//! for a million runs, saved in about 0.2 s and restored in about 0.9 s on one
//! core of the development machine, release build). Any change to this layout gets a new version number; other versions are
//! refused with [`RestoreError::UnsupportedVersion`].

mod capacity;
mod composite;
mod config;
mod eval;
mod firing;
mod keys;
mod lateness;
mod load;
mod ordering;
mod pool;
mod pyindex;
mod pyset;
mod seen;
mod snapshot;
mod tick;
mod types;

use core::fmt;

use crate::event::{Event, RESOURCE_ID};
use crate::matcher::CompiledEventTrigger;
#[cfg(feature = "alloc")]
use crate::store::Growable;
use crate::store::{Queue, Seq, Sorted, Storage, Table};
use crate::time::{Duration, Instant};
use crate::trigger::Posture;
use crate::wheel::Wheel;

pub use config::{
    Capacities, Capacity, EngineConfig, Entry, EventsClock, PeriodicOrder, ProactiveMode,
    TriggerId, WallClock,
};
#[cfg(feature = "alloc")]
pub use firing::OwnedFiring;
use firing::PackedFiring;
pub use firing::{Firing, FiringChildren, FiringLabels};
use keys::KeyTable;
pub use lateness::LatePolicy;
use ordering::CausalOrdering;
use seen::SeenCache;
#[cfg(feature = "alloc")]
pub use snapshot::RestoreReport;
pub use snapshot::{
    RestoreError, RestoreOutcome, SnapshotError, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC,
    SNAPSHOT_VERSION,
};
pub use types::{AddTriggerError, EventOutcome, FiringKind, HandleEventError, Stats};

/// What a composite trigger needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompositeRule {
    /// `compound`: at least this many distinct children.
    AtLeast(usize),
    /// `sequence`: every child, in declared order of firing instants.
    Sequence,
}

/// A firing as the engine keeps it in storage `S`: packed.
pub(crate) type FiringBuf<S> = PackedFiring<<S as Storage>::FiringBytes>;

/// One node of a loaded trigger tree.
// (one per trigger node, read on every event: inline rather than boxed)
#[allow(clippy::large_enum_variant)]
pub(crate) enum NodeKind<S: Storage> {
    Event(EventNode<S>),
    Composite(CompositeNode),
}

/// An event trigger and its per-trigger state.
pub(crate) struct EventNode<S: Storage> {
    /// The compiled trigger, packed (its Prefect id included).
    pub(crate) compiled: CompiledEventTrigger<S::TriggerBytes>,
    /// `next_proactive_runs` ([`ProactiveMode::Scheduled`] only).
    pub(crate) next_run: Option<Instant>,
    /// Live keys of this trigger.
    pub(crate) keys: usize,
    /// How many of them are on the satisfied queue (a tick scans the queue for this
    /// trigger only when some are).
    pub(crate) queued: u32,
    /// CPython's `hash()` of the trigger's UUID id, when it has one.
    pub(crate) py_hash: Option<u64>,
    /// A later event trigger with the same Prefect id was loaded: this one is never
    /// evaluated again (see [`Engine::add_trigger`]).
    pub(crate) shadowed: bool,
}

/// A compound or sequence trigger (its stored child firings are in the engine's
/// `stored`, by child node).
pub(crate) struct CompositeNode {
    pub(crate) rule: CompositeRule,
    pub(crate) within: Option<Duration>,
    /// The first child node (the others follow through [`Node::next_sibling`], in
    /// declared order).
    pub(crate) first_child: Option<u32>,
    /// Number of children.
    pub(crate) child_count: u32,
}

/// A node of a trigger tree.
pub(crate) struct Node<S: Storage> {
    pub(crate) kind: NodeKind<S>,
    pub(crate) parent: Option<u32>,
    /// Position among the parent's children.
    pub(crate) child_index: u32,
    /// The parent's next child, in declared order.
    pub(crate) next_sibling: Option<u32>,
    /// Rank among the parent's children as Prefect's database returns their rows
    /// (by trigger UUID when every sibling carries one, else declared order): ties
    /// in firing instants are broken in this order.
    pub(crate) row: u32,
    pub(crate) root: TriggerId,
    /// Load order (automation order, then depth-first), Prefect's evaluation order.
    pub(crate) order: u64,
}

// The same struct with and without `alloc`: only the default storage differs
// (`Growable` exists only with `alloc`).
macro_rules! engine_struct {
    ($($default:tt)*) => {
        /// The evaluation state of every loaded trigger: see the [module docs](self).
        ///
        /// `S` is where the state lives: `Growable` (the default, feature `alloc`) on the
        /// heap, or a fixed flavour with const-generic capacities.
        pub struct Engine<S: Storage $($default)*> {
            config: EngineConfig,
            nodes: S::TriggerSeq<Option<Node<S>>>,
            free_nodes: S::TriggerSeq<u32>,
            next_order: u64,
            roots: S::TriggerTable<TriggerId, u32>,
            /// Fingerprint of each loaded trigger's definition (for snapshots).
            fingerprints: S::TriggerTable<TriggerId, u64>,
            /// Proactive event-trigger nodes in load order.
            proactive: S::TriggerSeq<u32>,
            /// Keys of proactive triggers queued for "delete buckets with count >=
            /// threshold" at their trigger's next proactive run, in the order they were
            /// queued (a key at most once: see `KeyTable::satisfied_queued`).
            satisfied: S::KeySeq<u32>,
            router: S::Router,
            keys: KeyTable<S>,
            wheel: Wheel<(), S::KeyWheel>,
            overdue: S::KeySorted<(Instant, u32), ()>,
            /// Keys taken out of the timers for the tick in progress.
            batch: S::KeySeq<u32>,
            /// Firings made and not yet polled, packed, in the order they were made.
            actions: S::FiringQueue<FiringBuf<S>>,
            /// The firing [`poll_action`](Self::poll_action) returned last (its view borrows it).
            polled: Option<FiringBuf<S>>,
            /// The stored child firings of composite triggers
            /// (`composite_trigger_child_firing` rows), by child node: a node has at most
            /// one, in its parent. As long as the node table at most (longer entries are
            /// added when a firing is stored).
            stored: S::TriggerSeq<Option<FiringBuf<S>>>,
            seen: SeenCache<S>,
            ordering: CausalOrdering<S>,
            events_clock: Option<Instant>,
            events_clock_updated: Option<Instant>,
            /// The wall clock (never goes back).
            wall: Instant,
            /// Firings made now are proactive.
            in_proactive: bool,
            stats: Stats,
            scratch_candidates: S::TriggerSeq<u32>,
            /// Event-trigger nodes being added to the CPython index (`index_py`).
            scratch_nodes: S::TriggerSeq<u32>,
            scratch_key: S::KeyScratch,
            route_cache: eval::RouteCache<S>,
            lateness: lateness::LatenessBuffer<S>,
            /// Prefect's `_triggers_by_expect` as CPython lays it out (pattern → set of
            /// trigger ids, in insertion order), off while some trigger has no UUID id.
            py_index: pyindex::PyIndex<S>,
            /// Hash of a Prefect id → the event-trigger node that owns it (Prefect's
            /// `triggers` cache is keyed by trigger id); the id itself is compared in the
            /// node's packed trigger (see `claim_prefect_id` in load.rs).
            by_prefect_id: S::TriggerTable<u64, u32>,
            /// Live event-trigger nodes whose Prefect id hashes like another live id's and
            /// so are not in `by_prefect_id` (found by a scan while there are any).
            prefect_id_collisions: usize,
            /// A trigger loaded by the `add_trigger` in progress replaced another one, so the
            /// CPython index must be rebuilt rather than extended.
            py_index_stale: bool,
            /// Live event-trigger nodes, and those that hold `expect` events (for the
            /// reservations of [`Capacities`]).
            event_nodes: usize,
            holding_nodes: usize,
            /// Where the next tick resumes (a tick ran out of room for firings).
            resume: capacity::TickResume,
            /// Whether evaluation takes its short paths (off only in the harness's
            /// property that they change nothing).
            #[cfg(feature = "harness")]
            short_paths: bool,
        }
    };
}
#[cfg(feature = "alloc")]
engine_struct!(= Growable);
#[cfg(not(feature = "alloc"))]
engine_struct!();

impl<S: Storage> fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("triggers", &self.roots.len())
            .field("keys", &self.keys.len())
            .field("pending_actions", &self.actions.len())
            .field("wall", &self.wall)
            .field("stats", &self.stats)
            .finish()
    }
}

#[cfg(feature = "alloc")]
impl Engine<Growable> {
    /// An engine with no triggers, its state on the heap.
    pub fn new(config: EngineConfig) -> Engine {
        Engine::create(config)
    }
}

impl<S: Storage> Engine<S> {
    /// An engine with no triggers, its state in storage `S`.
    ///
    /// The capacities of a fixed `S` bound the configuration's
    /// [`Capacities`] (and its `dedup_capacity`): [`config`](Self::config) shows the
    /// bounds in force.
    pub fn create(config: EngineConfig) -> Engine<S> {
        let config = Self::bounded(config);
        let mut keys = KeyTable::default();
        if config.proactive == ProactiveMode::Scheduled {
            keys.track_ends();
        }
        Engine {
            config,
            nodes: Default::default(),
            free_nodes: Default::default(),
            next_order: 0,
            roots: Default::default(),
            fingerprints: Default::default(),
            proactive: Default::default(),
            satisfied: Default::default(),
            router: Default::default(),
            keys,
            wheel: Wheel::new(config.wheel_tick, Instant::ZERO),
            overdue: Default::default(),
            batch: Default::default(),
            actions: Default::default(),
            polled: None,
            stored: Default::default(),
            seen: SeenCache::default(),
            ordering: CausalOrdering::default(),
            events_clock: None,
            events_clock_updated: None,
            wall: Instant::ZERO,
            in_proactive: false,
            stats: Stats::default(),
            scratch_candidates: Default::default(),
            scratch_nodes: Default::default(),
            scratch_key: Default::default(),
            route_cache: Default::default(),
            lateness: lateness::LatenessBuffer::default(),
            py_index: Default::default(),
            by_prefect_id: Default::default(),
            prefect_id_collisions: 0,
            py_index_stale: false,
            event_nodes: 0,
            holding_nodes: 0,
            resume: capacity::TickResume::Start,
            #[cfg(feature = "harness")]
            short_paths: true,
        }
    }

    /// Makes this engine what [`create`](Self::create) with `config` makes, in place:
    /// every container is emptied where it is, so no second engine is built (on
    /// fixed storage the containers are inline, and a second engine would need as
    /// much stack again).
    pub(crate) fn clear(&mut self, config: EngineConfig) {
        let config = Self::bounded(config);
        // (every field by name: a new field does not compile until it is reset here)
        let Engine {
            config: kept_config,
            nodes,
            free_nodes,
            next_order,
            roots,
            fingerprints,
            proactive,
            satisfied,
            router,
            keys,
            wheel,
            overdue,
            batch,
            actions,
            polled,
            stored,
            seen,
            ordering,
            events_clock,
            events_clock_updated,
            wall,
            in_proactive,
            stats,
            scratch_candidates,
            scratch_nodes,
            scratch_key,
            route_cache,
            lateness,
            py_index,
            by_prefect_id,
            prefect_id_collisions,
            py_index_stale,
            event_nodes,
            holding_nodes,
            resume,
            // (a setting of the harness's, kept)
            #[cfg(feature = "harness")]
                short_paths: _,
        } = self;
        *kept_config = config;
        nodes.clear();
        free_nodes.clear();
        *next_order = 0;
        roots.clear();
        fingerprints.clear();
        proactive.clear();
        satisfied.clear();
        // (the fixed router is a unit; the growable one only a map's header)
        *router = Default::default();
        keys.clear(config.proactive == ProactiveMode::Scheduled);
        wheel.clear(config.wheel_tick, Instant::ZERO);
        overdue.clear();
        batch.clear();
        actions.clear();
        *polled = None;
        stored.clear();
        seen.clear();
        ordering.clear();
        *events_clock = None;
        *events_clock_updated = None;
        *wall = Instant::ZERO;
        *in_proactive = false;
        *stats = Stats::default();
        scratch_candidates.clear();
        scratch_nodes.clear();
        scratch_key.clear();
        route_cache.clear();
        lateness.clear();
        py_index.clear();
        by_prefect_id.clear();
        *prefect_id_collisions = 0;
        *py_index_stale = false;
        *event_nodes = 0;
        *holding_nodes = 0;
        *resume = capacity::TickResume::Start;
    }

    /// `config` with its capacities bounded by those of `S`.
    fn bounded(mut config: EngineConfig) -> EngineConfig {
        let c = &mut config.capacities;
        c.trigger_nodes = c.trigger_nodes.min(S::TRIGGERS);
        c.keys = c.keys.min(S::KEYS);
        c.key_bytes = c.key_bytes.min(S::KEY_BYTES);
        c.held_events = c.held_events.min(S::EVENTS);
        c.waiting_followers = c.waiting_followers.min(S::EVENTS);
        c.buffered_events = c.buffered_events.min(S::EVENTS);
        c.event_bytes = c.event_bytes.min(S::EVENT_BYTES);
        c.trigger_bytes = c.trigger_bytes.min(S::TRIGGER_BYTES);
        c.pending_firings = c.pending_firings.min(S::FIRINGS);
        c.firing_bytes = c.firing_bytes.min(S::FIRING_BYTES);
        config.dedup_capacity = config.dedup_capacity.min(S::SEEN);
        config
    }

    /// The configuration the engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Counters of what the engine has seen and done.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The wall clock as the engine last saw it.
    pub fn now(&self) -> Instant {
        self.wall
    }

    /// Number of loaded triggers (automations).
    pub fn trigger_count(&self) -> usize {
        self.roots.len()
    }

    /// Number of tracked (trigger, key) states: open windows and held events.
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    /// Number of events waiting for the event they `follow`.
    pub fn waiting_followers(&self) -> usize {
        self.ordering.len()
    }

    /// Number of event ids remembered for de-duplication.
    pub fn remembered_ids(&self) -> usize {
        self.seen.len()
    }

    /// Moves the wall clock to `now` (never backwards unless [`WallClock::AsGiven`])
    /// and returns it.
    fn advance_wall(&mut self, now: Instant) -> Instant {
        if now > self.wall || self.config.wall_clock == WallClock::AsGiven {
            self.wall = now;
        }
        self.wall
    }

    /// Hands one event to the engine at wall-clock instant `now`.
    ///
    /// Call it for every event in arrival order. Afterwards drain
    /// [`poll_action`](Self::poll_action) and re-read
    /// [`poll_timeout`](Self::poll_timeout). With [`Entry::Consumer`], log events and
    /// recently seen ids are dropped (the outcome says so).
    ///
    /// # Errors
    ///
    /// [`HandleEventError::MissingResourceId`] for an event Prefect would reject;
    /// [`HandleEventError::Full`] when evaluating (or holding, or buffering) it could
    /// need more than a [`Capacities`] bound has left. Either way nothing changed, not
    /// even the clock: the event can be handed in again later.
    pub fn handle_event(
        &mut self,
        event: &Event<'_>,
        now: Instant,
    ) -> Result<EventOutcome, HandleEventError> {
        if event.resource.get(RESOURCE_ID).is_none_or(str::is_empty) {
            return Err(HandleEventError::MissingResourceId);
        }
        let wall_before = self.wall;
        self.advance_wall(now);
        if self.config.entry == Entry::Consumer {
            if event.event == "prefect.log.write" {
                self.stats.log_events += 1;
                return Ok(EventOutcome::LogEvent);
            }
            if self.seen.check(&event.id, self.wall) {
                self.stats.duplicates += 1;
                return Ok(EventOutcome::Duplicate);
            }
        }
        let outcome = if self.config.allowed_lateness.is_some() {
            self.buffer_event(event)
        } else if let Err(c) = self.admit_now(event) {
            Err(self.refuse(c))
        } else {
            self.stats.events += 1;
            Ok(self.evaluate_now(event))
        };
        if outcome.is_err() {
            // refused: nothing changed, not even the clock
            self.wall = wall_before;
        }
        outcome
    }

    /// Reads ahead, in parallel, the state that handling these events will look up.
    ///
    /// Purely a performance hint: it changes nothing the engine reports or saves, and
    /// may be skipped or called with any events. Call it on a batch of events just
    /// before handing them, in the same order, to [`handle_event`](Self::handle_event)
    /// (ticks in between are fine). With many tracked keys, finding an event's key
    /// state costs a cache miss that dominates the event's time; one `handle_event`
    /// waits for its misses one at a time, while this reads the index entries of up to
    /// 32 events' keys at once (and then the key states they name), so the memory
    /// system overlaps them and the `handle_event`s that follow find them in cache.
    /// Batches of 16 to 64 events work well; reading further ahead than the cache
    /// holds gains nothing. It does nothing with allowed lateness (events are then
    /// only buffered when handed in).
    ///
    /// It routes each event and builds its keys a second time, so it only pays when
    /// the key state no longer fits in the caches, and since the steady state of a
    /// proactive trigger got cheaper it barely does even then: on the machine of
    /// `benches/README.md` it cost 30 to 37 ns per event with 10,000 to 300,000
    /// tracked keys and saved 22 ns with a million ("When reading ahead pays"); with
    /// the one-pass renewal it costs 30 to 45 ns per event with 10,000 keys and 0 to
    /// 15 ns with a million (eighteenth and nineteenth sessions): it no longer pays
    /// there. Measure on your machine, and check [`tracked_keys`](Self::tracked_keys)
    /// before calling it, as the `overdue` driver does when told to read ahead
    /// (`DriverConfig::read_ahead_from` in `overdue-std`; off by default).
    pub fn prefetch(&mut self, events: &[Event<'_>]) {
        if self.config.allowed_lateness.is_some() {
            return;
        }
        let mut hashes = [0u64; keys::PREFETCH_BATCH];
        let mut n = 0;
        let mut acc = 0u64;
        for event in events {
            self.keyed_routes(event, |keys, trigger, _, key| {
                let Some(key) = key else {
                    return core::ops::ControlFlow::Continue(());
                };
                if n == hashes.len() {
                    acc = acc.wrapping_add(keys.prefetch(&hashes));
                    n = 0;
                }
                hashes[n] = keys.hash_key(trigger, key);
                n += 1;
                core::ops::ControlFlow::Continue(())
            });
        }
        acc = acc.wrapping_add(self.keys.prefetch(&hashes[..n]));
        core::hint::black_box(acc);
    }

    /// Turns evaluation's short paths off (or on again, as an engine starts): every
    /// event then takes the general path, which must give the same firings, outcomes
    /// and state (see `check_short_paths` in the harness). Only with feature `harness`.
    #[cfg(feature = "harness")]
    pub fn set_short_paths(&mut self, on: bool) {
        self.short_paths = on;
    }

    /// Whether evaluation may take its short paths (always, but in the harness).
    #[inline]
    pub(crate) fn short_paths(&self) -> bool {
        #[cfg(feature = "harness")]
        return self.short_paths;
        #[cfg(not(feature = "harness"))]
        return true;
    }

    /// Prefect's `reactive_evaluation` of one event, now.
    fn evaluate_now(&mut self, event: &Event<'_>) -> EventOutcome {
        match self.reactive_evaluation(event, 0) {
            Ok(()) => EventOutcome::Processed,
            Err(eval::NotProcessed::ArrivedEarly) => EventOutcome::WaitingForLeader,
            Err(_) => EventOutcome::Processed,
        }
    }

    /// Number of events in the allowed-lateness buffer.
    pub fn buffered_events(&self) -> usize {
        self.lateness.len()
    }

    /// The watermark of the allowed-lateness stage (`None` before the first tick or
    /// without allowed lateness).
    pub fn watermark(&self) -> Option<Instant> {
        self.lateness.watermark
    }

    /// Advances time: Prefect's proactive evaluation and periodic work as of `now`.
    ///
    /// Call it at (or after) the instant [`poll_timeout`](Self::poll_timeout)
    /// returned; extra calls are harmless. Then drain
    /// [`poll_action`](Self::poll_action). With bounded pending firings the tick may
    /// stop early ([`tick_deferred`](Self::tick_deferred)); after draining, call it
    /// again (`poll_timeout` then returns the current instant) and it resumes where it
    /// stopped.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance_wall(now);
        self.handle_tick(now, now);
    }

    /// The next firing to act on, in the order they were made.
    ///
    /// The view reads the firing in place from a buffer the engine keeps until the
    /// next `poll_action`: use it (or [`to_owned`](Firing::to_owned) it, feature
    /// `alloc`) before calling the engine again.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Firing<'_>> {
        self.polled = self.actions.pop_front();
        self.polled.as_ref().map(PackedFiring::view)
    }
}

#[cfg(test)]
mod tests;
