//! One `Op` harness for the engine, shared by the property tests (`core/tests/`) and
//! the cargo-fuzz targets (`fuzz/`).
//!
//! An [`Op`] is one step of a generated timeline: load a trigger from a small fixed
//! menu ([`TriggerKind`]), deliver an event built from small pools (resource, name,
//! `occurred` offset, `follows`), re-deliver an earlier event, or tick with a wall
//! clock that moves forwards, backwards, not at all, or jumps to an extreme.
//! [`timeline`] resolves ops into concrete [`Action`]s (so a timeline can be reordered
//! without changing what its events are), [`run_timeline`] drives an [`Engine`] through
//! one and collects every firing as a comparable [`FiringSummary`], and
//! [`Timeline::sorted_twin`] is the reference for the reordering property: the same
//! timeline with the events of each tick window delivered in canonical order.
//!
//! Ops decode from any byte string ([`decode_ops`], a tiny cursor that reads zeros past
//! the end) and encode back ([`encode_ops`]), so a fuzzer needs no `arbitrary` and a
//! hand-built timeline can be written to the seed corpus. [`check_engine_ops`] is the
//! whole `engine_ops` fuzz target; the corpus replay test calls the same function.
//!
//! [`check_snapshot_bytes`] is the whole `snapshot_bytes` fuzz target: arbitrary bytes,
//! as given and framed as a payload ([`frame_payload`]), into [`Engine::restore`] (and, to agree with it, [`Engine::restore_in_place`]),
//! and every engine it restores driven on, saved and restored again.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};

use crate::engine::{
    Engine, EngineConfig, Entry, EventOutcome, Firing, FiringKind, HandleEventError, LatePolicy,
    RestoreError, RestoreReport, Stats, TriggerId, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC,
};
use crate::event::{Event, EventId, OwnedEvent, RESOURCE_ID};
use crate::time::{Duration, Instant};
use crate::trigger::{
    CompoundTrigger, EventTrigger, Posture, Require, ResourceSpec, SequenceTrigger, Trigger,
};

/// The wall clock before the first tick (2026-01-01T00:00:00Z).
pub const BASE: Instant = Instant::from_secs(1_767_225_600);
/// At most this many ops are decoded from one input.
pub const MAX_OPS: usize = 512;
/// At most this many triggers are loaded in one run (later `AddTrigger`s are skipped).
pub const MAX_TRIGGERS: u32 = 8;
/// One unit of [`Step::Forward`], [`Step::Backward`] and [`When::Rel`]: 100 ms.
pub const UNIT: Duration = Duration::from_millis(100);

/// The primary resources events are about (the last one matches no trigger's `match`).
pub const RESOURCES: [&str; 5] = [
    "prefect.flow-run.0",
    "prefect.flow-run.1",
    "prefect.flow-run.2",
    "prefect.flow-run.3",
    "prefect.task-run.0",
];

/// The event names events are given.
pub const EVENT_NAMES: [&str; 7] = [
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Running",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Crashed",
    "prefect.log.write",
    "prefect.task-run.Completed",
];

/// The menu of triggers an [`Op::AddTrigger`] loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    /// Prefect's zombie-flow trigger: Proactive, after a heartbeat, expect
    /// `prefect.flow-run.*`, for each `prefect.resource.id`, threshold 1, within 90 s.
    Zombie,
    /// Reactive: two heartbeats or failures of one flow run within 60 s.
    Reactive,
    /// Proactive with neither `after` nor `for_each`: one global window, a
    /// `Completed` expected every 30 s.
    GlobalProactive,
    /// Compound, at least 2 of {Failed, Completed, Proactive Running→Completed 60 s}
    /// within 120 s.
    Compound,
    /// Sequence: Running then Failed (of any run) within 300 s.
    Sequence,
}

const TRIGGER_KINDS: [TriggerKind; 5] = [
    TriggerKind::Zombie,
    TriggerKind::Reactive,
    TriggerKind::GlobalProactive,
    TriggerKind::Compound,
    TriggerKind::Sequence,
];

/// The `within` of a loaded trigger (a composite's for compound and sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Within {
    /// The menu's value.
    Default,
    /// Whole seconds (a Proactive trigger below 10 s is refused by `add_trigger`).
    Secs(u16),
    /// Any number of microseconds, up to `u64::MAX`.
    Micros(u64),
}

/// An event's `occurred`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The current wall clock plus this many [`UNIT`]s (saturating).
    Rel(i16),
    /// Microseconds since the epoch (extremes: near 0, near `u64::MAX`).
    Abs(u64),
}

/// How a tick moves the harness's wall clock before calling `handle_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Forwards by this many [`UNIT`]s.
    Forward(u16),
    /// Backwards by this many [`UNIT`]s (the engine must treat it as the last `now`).
    Backward(u16),
    /// Not at all (a repeated tick).
    Zero,
    /// To this absolute instant in microseconds.
    To(u64),
}

/// One step of a generated timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Load a trigger from the menu under the next free id.
    AddTrigger {
        /// Which trigger.
        kind: TriggerKind,
        /// Its `within`.
        within: Within,
    },
    /// Deliver a fresh event (its id is derived from its index among fresh events).
    Event {
        /// Index into [`RESOURCES`].
        resource: u8,
        /// Index into [`EVENT_NAMES`].
        name: u8,
        /// Its `occurred`.
        occurred: When,
        /// `follows` the fresh event this many places away (it may never come).
        follows: Option<i8>,
    },
    /// Deliver an exact copy of an earlier fresh event (index modulo their number).
    Redeliver(u16),
    /// Move the wall clock, then `handle_timeout(clock)`.
    Tick(Step),
}

/// A resolved step: what the runner hands to the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `add_trigger(id, trigger)` (a refused trigger is skipped).
    AddTrigger(TriggerId, Trigger),
    /// `handle_event(event, clock)`, the clock being the last tick's `now` ([`BASE`]
    /// before the first tick).
    Deliver(OwnedEvent),
    /// `handle_timeout(now)`.
    Tick(Instant),
}

/// A resolved sequence of [`Action`]s.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// The actions, in delivery order.
    pub actions: Vec<Action>,
}

/// One firing, as plain comparable data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiringSummary {
    /// How many ticks had run when it was drained.
    pub window: u32,
    /// The loaded trigger.
    pub trigger: u32,
    /// Position among the parent composite's children (child firings only).
    pub child: Option<u32>,
    /// `triggering_labels`.
    pub labels: Vec<(String, String)>,
    /// The triggering event.
    pub event: Option<EventId>,
    /// The wall-clock instant of the firing.
    pub at: Instant,
    /// Proactive or reactive.
    pub kind: FiringKind,
    /// A composite's child firings.
    pub children: Vec<FiringSummary>,
}

impl FiringSummary {
    fn new(window: u32, f: &Firing<'_>) -> FiringSummary {
        FiringSummary {
            window,
            trigger: f.trigger.0,
            child: f.child,
            labels: f
                .labels()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            event: f.event,
            at: f.at,
            kind: f.kind,
            children: f.children().map(|c| Self::new(window, &c)).collect(),
        }
    }
}

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Every firing, in the order `poll_action` returned them.
    pub firings: Vec<FiringSummary>,
    /// The result of every `handle_event`, in delivery order.
    pub outcomes: Vec<Result<EventOutcome, HandleEventError>>,
    /// The engine's counters at the end.
    pub stats: Stats,
    /// Events still in the lateness buffer at the end.
    pub buffered_at_end: usize,
}

/// The trigger of the menu with the given `within`.
pub fn menu_trigger(kind: TriggerKind, within: Within) -> Trigger {
    let secs = |default: u64| match within {
        Within::Default => Duration::from_secs(default),
        Within::Secs(s) => Duration::from_secs(u64::from(s)),
        Within::Micros(m) => Duration::from_micros(m),
    };
    let flow_runs = || ResourceSpec::from_pairs(&[(RESOURCE_ID, &["prefect.flow-run.*"])]);
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let by_run = || vec![String::from(RESOURCE_ID)];
    match kind {
        TriggerKind::Zombie => Trigger::Event(EventTrigger {
            match_: flow_runs(),
            after: names(&["prefect.flow-run.heartbeat"]),
            expect: names(&["prefect.flow-run.*"]),
            for_each: by_run(),
            posture: Posture::Proactive,
            within: secs(90),
            ..EventTrigger::reactive(&[])
        }),
        TriggerKind::Reactive => Trigger::Event(EventTrigger {
            match_: flow_runs(),
            for_each: by_run(),
            threshold: 2,
            within: secs(60),
            ..EventTrigger::reactive(&["prefect.flow-run.heartbeat", "prefect.flow-run.Failed"])
        }),
        TriggerKind::GlobalProactive => Trigger::Event(EventTrigger {
            posture: Posture::Proactive,
            within: secs(30),
            ..EventTrigger::reactive(&["prefect.flow-run.Completed"])
        }),
        TriggerKind::Compound => Trigger::Compound(CompoundTrigger {
            id: None,
            require: Require::AtLeast(2),
            within: Some(secs(120)),
            triggers: vec![
                Trigger::Event(EventTrigger::reactive(&["prefect.flow-run.Failed"])),
                Trigger::Event(EventTrigger::reactive(&["prefect.flow-run.Completed"])),
                Trigger::Event(EventTrigger {
                    after: names(&["prefect.flow-run.Running"]),
                    for_each: by_run(),
                    posture: Posture::Proactive,
                    within: Duration::from_secs(60),
                    ..EventTrigger::reactive(&["prefect.flow-run.Completed"])
                }),
            ],
        }),
        TriggerKind::Sequence => Trigger::Sequence(SequenceTrigger {
            id: None,
            within: Some(secs(300)),
            triggers: vec![
                Trigger::Event(EventTrigger::reactive(&["prefect.flow-run.Running"])),
                Trigger::Event(EventTrigger::reactive(&["prefect.flow-run.Failed"])),
            ],
        }),
    }
}

/// The id of the `n`-th fresh event: distinct for distinct `n`, not ordered like `n`
/// (so canonical order by id is exercised).
pub fn event_id(n: u32) -> EventId {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let hi = mix(u64::from(n).wrapping_add(0x9e37_79b9_7f4a_7c15));
    let lo = mix(hi);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    EventId(bytes)
}

/// Resolves ops into a timeline (triggers built, event ids and instants fixed).
pub fn timeline(ops: &[Op]) -> Timeline {
    let mut actions = Vec::with_capacity(ops.len());
    let mut fresh: Vec<OwnedEvent> = Vec::new();
    let mut clock = BASE;
    let mut triggers = 0u32;
    for op in ops {
        match *op {
            Op::AddTrigger { kind, within } => {
                if triggers < MAX_TRIGGERS {
                    triggers += 1;
                    actions.push(Action::AddTrigger(
                        TriggerId(triggers),
                        menu_trigger(kind, within),
                    ));
                }
            }
            Op::Event {
                resource,
                name,
                occurred,
                follows,
            } => {
                let n = fresh.len() as u32;
                let occurred = match occurred {
                    When::Rel(units) => {
                        clock.saturating_add_signed(i64::from(units) * UNIT.as_micros() as i64)
                    }
                    When::Abs(micros) => Instant::from_micros(micros),
                };
                let event = OwnedEvent {
                    id: event_id(n),
                    event: EVENT_NAMES[usize::from(name) % EVENT_NAMES.len()].to_string(),
                    occurred,
                    received: clock,
                    resource: vec![(
                        RESOURCE_ID.to_string(),
                        RESOURCES[usize::from(resource) % RESOURCES.len()].to_string(),
                    )],
                    related: Vec::new(),
                    follows: follows.map(|d| event_id(n.wrapping_add_signed(i32::from(d)))),
                };
                fresh.push(event.clone());
                actions.push(Action::Deliver(event));
            }
            Op::Redeliver(i) => {
                if !fresh.is_empty() {
                    let event = fresh[usize::from(i) % fresh.len()].clone();
                    actions.push(Action::Deliver(event));
                }
            }
            Op::Tick(step) => {
                clock = match step {
                    Step::Forward(u) => clock.saturating_add(units(u)),
                    Step::Backward(u) => clock.saturating_sub(units(u)),
                    Step::Zero => clock,
                    Step::To(micros) => Instant::from_micros(micros),
                };
                actions.push(Action::Tick(clock));
            }
        }
    }
    Timeline { actions }
}

fn units(u: u16) -> Duration {
    Duration::from_micros(u64::from(u) * UNIT.as_micros())
}

/// Drives a fresh engine through `timeline`, draining firings after every action.
pub fn run_timeline(config: EngineConfig, timeline: &Timeline) -> Report {
    run_timeline_with(config, timeline, Drive::PLAIN).0
}

/// How [`run_timeline_with`] drives the engine besides its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drive {
    /// Every run of consecutive deliveries is first handed to [`Engine::prefetch`]
    /// as one batch.
    pub prefetch: bool,
    /// Evaluation's short paths are on (as in every engine outside the harness):
    /// see [`Engine::set_short_paths`].
    pub short_paths: bool,
}

impl Drive {
    /// As an engine is driven outside the harness: no prefetch, short paths on.
    pub const PLAIN: Drive = Drive {
        prefetch: false,
        short_paths: true,
    };
}

/// [`run_timeline`], and the engine as it ends, driven as `drive` says.
pub fn run_timeline_with(
    config: EngineConfig,
    timeline: &Timeline,
    drive: Drive,
) -> (Report, Engine) {
    let prefetch = drive.prefetch;
    let mut engine = Engine::new(config);
    engine.set_short_paths(drive.short_paths);
    let mut report = Report {
        firings: Vec::new(),
        outcomes: Vec::new(),
        stats: Stats::default(),
        buffered_at_end: 0,
    };
    let mut clock = BASE;
    let mut window = 0u32;
    for (i, action) in timeline.actions.iter().enumerate() {
        match action {
            Action::AddTrigger(id, trigger) => {
                let _ = engine.add_trigger(*id, trigger.clone());
            }
            Action::Deliver(event) => {
                let starts_run = i == 0 || !matches!(timeline.actions[i - 1], Action::Deliver(_));
                if prefetch && starts_run {
                    let batch: Vec<Event<'_>> = timeline.actions[i..]
                        .iter()
                        .map_while(|a| match a {
                            Action::Deliver(e) => Some(e.view()),
                            _ => None,
                        })
                        .collect();
                    engine.prefetch(&batch);
                }
                report
                    .outcomes
                    .push(engine.handle_event(&event.view(), clock));
            }
            Action::Tick(now) => {
                clock = *now;
                engine.handle_timeout(clock);
                window += 1;
            }
        }
        while let Some(f) = engine.poll_action() {
            report.firings.push(FiringSummary::new(window, &f));
        }
        let _ = engine.poll_timeout();
    }
    report.stats = engine.stats();
    report.buffered_at_end = engine.buffered_events();
    (report, engine)
}

/// Resolves `ops` and runs them: the firings.
pub fn run(config: EngineConfig, ops: &[Op]) -> Vec<FiringSummary> {
    run_timeline(config, &timeline(ops)).firings
}

impl Timeline {
    /// The same timeline with the events of each tick window delivered in canonical
    /// order (`occurred`, then id bytes), except the deliveries flagged in `pinned`
    /// (indexed by delivery, missing = not pinned), which keep their positions.
    /// Triggers and ticks keep theirs.
    pub fn sorted_twin(&self, pinned: &[bool]) -> Timeline {
        let mut actions = self.actions.clone();
        let mut movable: Vec<usize> = Vec::new();
        let mut delivery = 0usize;
        for i in 0..=actions.len() {
            match actions.get(i) {
                Some(Action::Deliver(_)) => {
                    if !pinned.get(delivery).copied().unwrap_or(false) {
                        movable.push(i);
                    }
                    delivery += 1;
                }
                Some(Action::AddTrigger(..)) => {}
                Some(Action::Tick(_)) | None => {
                    let mut events: Vec<OwnedEvent> = movable
                        .iter()
                        .map(|&j| match &actions[j] {
                            Action::Deliver(e) => e.clone(),
                            _ => unreachable!("only deliveries are movable"),
                        })
                        .collect();
                    events.sort_by_key(|e| (e.occurred, e.id));
                    for (&j, e) in movable.iter().zip(events) {
                        actions[j] = Action::Deliver(e);
                    }
                    movable.clear();
                }
            }
        }
        Timeline { actions }
    }

    /// The same timeline with every delivery for which `copy(action index)` holds
    /// repeated `copies` more times at once.
    pub fn with_copies(&self, copies: usize, copy: impl Fn(usize) -> bool) -> Timeline {
        let mut actions = Vec::with_capacity(self.actions.len() * (copies + 1));
        for (i, a) in self.actions.iter().enumerate() {
            actions.push(a.clone());
            if matches!(a, Action::Deliver(_)) && copy(i) {
                actions.extend(core::iter::repeat_n(a.clone(), copies));
            }
        }
        Timeline { actions }
    }

    /// The wall clock the engine holds after each action: the latest `now` handed to
    /// it so far (a monotonic clock).
    pub fn engine_clock(&self) -> Vec<Instant> {
        let mut latest = Instant::ZERO;
        let mut clock = BASE;
        self.actions
            .iter()
            .map(|a| {
                match a {
                    Action::Tick(now) => clock = *now,
                    Action::Deliver(_) => {}
                    Action::AddTrigger(..) => return latest,
                }
                latest = latest.max(clock);
                latest
            })
            .collect()
    }

    /// The same timeline with every tick's `now` raised to the latest `now` the engine
    /// has seen so far (deliveries before the first tick count as [`BASE`]): what a
    /// monotonic wall clock makes of it.
    pub fn clamped_clock(&self) -> Timeline {
        let mut latest = Instant::ZERO;
        let mut ticked = false;
        let actions = self
            .actions
            .iter()
            .map(|a| match a {
                Action::Tick(now) => {
                    ticked = true;
                    latest = latest.max(*now);
                    Action::Tick(latest)
                }
                Action::Deliver(_) => {
                    if !ticked {
                        latest = latest.max(BASE);
                    }
                    a.clone()
                }
                other => other.clone(),
            })
            .collect();
        Timeline { actions }
    }
}

/// Whether a delivery's outcome left it in the lateness buffer (only those may be
/// reordered without changing anything).
pub fn buffered(outcome: &Result<EventOutcome, HandleEventError>) -> bool {
    matches!(outcome, Ok(EventOutcome::Buffered))
}

// ------------------------------------------------------------------ byte encoding

/// A byte cursor that reads zeros past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

impl Op {
    fn decode(c: &mut Cursor<'_>) -> Op {
        match c.u8() % 8 {
            0 => Op::AddTrigger {
                kind: TRIGGER_KINDS[usize::from(c.u8()) % TRIGGER_KINDS.len()],
                within: match c.u8() % 4 {
                    0 | 1 => Within::Default,
                    2 => Within::Secs(c.u16()),
                    _ => Within::Micros(c.u64()),
                },
            },
            1..=4 => Op::Event {
                resource: c.u8() % RESOURCES.len() as u8,
                name: c.u8() % EVENT_NAMES.len() as u8,
                occurred: match c.u8() % 4 {
                    3 => When::Abs(c.u64()),
                    _ => When::Rel(c.u16() as i16),
                },
                follows: match c.u8() % 4 {
                    0 => Some(c.u8() as i8),
                    _ => None,
                },
            },
            5 | 6 => Op::Tick(match c.u8() % 8 {
                0..=3 => Step::Forward(c.u16()),
                4 => Step::Backward(c.u16()),
                5 | 6 => Step::Zero,
                _ => Step::To(c.u64()),
            }),
            _ => Op::Redeliver(c.u16()),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Op::AddTrigger { kind, within } => {
                let k = TRIGGER_KINDS.iter().position(|&t| t == kind).unwrap_or(0);
                out.extend([0, k as u8]);
                match within {
                    Within::Default => out.push(0),
                    Within::Secs(s) => {
                        out.push(2);
                        out.extend(s.to_le_bytes());
                    }
                    Within::Micros(m) => {
                        out.push(3);
                        out.extend(m.to_le_bytes());
                    }
                }
            }
            Op::Event {
                resource,
                name,
                occurred,
                follows,
            } => {
                out.extend([1, resource, name]);
                match occurred {
                    When::Rel(u) => {
                        out.push(0);
                        out.extend(u.to_le_bytes());
                    }
                    When::Abs(m) => {
                        out.push(3);
                        out.extend(m.to_le_bytes());
                    }
                }
                match follows {
                    Some(d) => out.extend([0, d as u8]),
                    None => out.push(1),
                }
            }
            Op::Tick(step) => {
                out.push(5);
                match step {
                    Step::Forward(u) => {
                        out.push(0);
                        out.extend(u.to_le_bytes());
                    }
                    Step::Backward(u) => {
                        out.push(4);
                        out.extend(u.to_le_bytes());
                    }
                    Step::Zero => out.push(5),
                    Step::To(m) => {
                        out.push(7);
                        out.extend(m.to_le_bytes());
                    }
                }
            }
            Op::Redeliver(i) => {
                out.push(7);
                out.extend(i.to_le_bytes());
            }
        }
    }
}

/// Decodes ops from any bytes (at most [`MAX_OPS`]); never fails.
pub fn decode_ops(bytes: &[u8]) -> Vec<Op> {
    let mut c = Cursor { bytes };
    let mut ops = Vec::new();
    while !c.is_empty() && ops.len() < MAX_OPS {
        ops.push(Op::decode(&mut c));
    }
    ops
}

/// Encodes ops so that [`decode_ops`] gives them back (fields in range, as decoded
/// ops always are).
pub fn encode_ops(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        op.encode(&mut out);
    }
    out
}

// ------------------------------------------------------------------ the fuzz target

/// The engine settings an `engine_ops` input starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseConfig {
    /// The allowed lateness `L`.
    pub lateness: Duration,
    /// What happens to late events.
    pub policy: LatePolicy,
    /// Consumer (de-duplication) or direct entry.
    pub entry: Entry,
}

/// The lateness values a case can pick (0, 1 s, 30 s, 5 min).
const LATENESS_SECS: [u64; 4] = [0, 1, 30, 300];

impl CaseConfig {
    /// The engine configuration with allowed lateness `L`.
    pub fn with_lateness(&self) -> EngineConfig {
        EngineConfig {
            entry: self.entry,
            allowed_lateness: Some(self.lateness),
            late_policy: self.policy,
            ..EngineConfig::default()
        }
    }

    fn decode(byte: u8) -> CaseConfig {
        CaseConfig {
            lateness: Duration::from_secs(LATENESS_SECS[usize::from(byte & 3)]),
            policy: if byte & 4 == 0 {
                LatePolicy::Drop
            } else {
                LatePolicy::Process
            },
            entry: if byte & 8 == 0 {
                Entry::Consumer
            } else {
                Entry::Direct
            },
        }
    }

    fn encode(&self) -> u8 {
        let l = LATENESS_SECS
            .iter()
            .position(|&s| Duration::from_secs(s) == self.lateness)
            .unwrap_or(0) as u8;
        let p = if self.policy == LatePolicy::Process {
            4
        } else {
            0
        };
        let e = if self.entry == Entry::Direct { 8 } else { 0 };
        l | p | e
    }
}

/// Decodes an `engine_ops` input: one config byte, then ops.
pub fn decode_case(bytes: &[u8]) -> (CaseConfig, Vec<Op>) {
    let (first, rest) = bytes.split_first().unwrap_or((&0, &[]));
    (CaseConfig::decode(*first), decode_ops(rest))
}

/// Encodes an `engine_ops` input ([`decode_case`] gives it back).
pub fn encode_case(config: &CaseConfig, ops: &[Op]) -> Vec<u8> {
    let mut out = vec![config.encode()];
    out.extend(encode_ops(ops));
    out
}

/// Checks the reordering property: with allowed lateness, the timeline gives the same
/// firings as its [`Timeline::sorted_twin`] (late events processed at once keep their
/// places). Returns the report of the run as given.
pub fn check_reordering(config: EngineConfig, timeline: &Timeline) -> Result<Report, String> {
    let given = run_timeline(config, timeline);
    let pinned: Vec<bool> = given.outcomes.iter().map(|o| !buffered(o)).collect();
    let twin = run_timeline(config, &timeline.sorted_twin(&pinned));
    if given.firings != twin.firings {
        return Err(format!(
            "reordering changed the firings with {config:?}:\n as given: {:?}\n sorted:   {:?}",
            given.firings, twin.firings
        ));
    }
    Ok(given)
}

/// Checks the duplicates property: with [`Entry::Consumer`], delivering every event
/// `copies + 1` times in a row gives the same firings as delivering it once.
pub fn check_duplicates(
    config: EngineConfig,
    timeline: &Timeline,
    copies: usize,
) -> Result<(), String> {
    let config = EngineConfig {
        entry: Entry::Consumer,
        ..config
    };
    let once = run_timeline(config, timeline).firings;
    let many = timeline.with_copies(copies, |_| true);
    let many = run_timeline(config, &many).firings;
    if once != many {
        return Err(format!(
            "{copies} extra copies of every event changed the firings with {config:?}:\n once: {once:?}\n more: {many:?}"
        ));
    }
    Ok(())
}

/// Checks the clock property: a wall clock that goes back behaves as the latest one.
pub fn check_clock(config: EngineConfig, timeline: &Timeline) -> Result<(), String> {
    let given = run_timeline(config, timeline).firings;
    let clamped = run_timeline(config, &timeline.clamped_clock()).firings;
    if given != clamped {
        return Err(format!(
            "a backwards clock differs from the clamped one with {config:?}:\n given:   {given:?}\n clamped: {clamped:?}"
        ));
    }
    Ok(())
}

/// Checks the prefetch property: handing every run of consecutive deliveries to
/// [`Engine::prefetch`] first changes nothing: not the firings, the outcomes, the
/// counters, nor a byte of the final snapshot.
pub fn check_prefetch(config: EngineConfig, timeline: &Timeline) -> Result<(), String> {
    let hint = Drive {
        prefetch: true,
        ..Drive::PLAIN
    };
    same_as_plain(config, timeline, hint, "prefetch")
}

/// Checks the short-paths property: evaluation's short paths (such as the proactive
/// renewal of an open window done in one pass over the key's state) change nothing
/// against the general path for every event: not the firings, the outcomes, the
/// counters, nor a byte of the final snapshot.
pub fn check_short_paths(config: EngineConfig, timeline: &Timeline) -> Result<(), String> {
    let general = Drive {
        short_paths: false,
        ..Drive::PLAIN
    };
    same_as_plain(config, timeline, general, "the general path")
}

/// Runs `timeline` driven plainly and as `other` (named `what`), and checks that both
/// runs give the same firings, outcomes and counters, and the same final snapshot.
fn same_as_plain(
    config: EngineConfig,
    timeline: &Timeline,
    other: Drive,
    what: &str,
) -> Result<(), String> {
    let (plain, plain_engine) = run_timeline_with(config, timeline, Drive::PLAIN);
    let (driven, driven_engine) = run_timeline_with(config, timeline, other);
    if plain != driven {
        return Err(format!(
            "{what} changed the run with {config:?}:\n plain: {plain:?}\n {what}: {driven:?}"
        ));
    }
    if plain_engine.snapshot_to_vec() != driven_engine.snapshot_to_vec() {
        return Err(format!("{what} changed the final snapshot with {config:?}"));
    }
    Ok(())
}

/// Checks the capacities property: an engine bounded by `config.capacities` never
/// holds more than they allow, and gives exactly the firings an unbounded engine gives
/// for the triggers and events the bounded one accepted (a refusal changes nothing;
/// ticks cut short by the pending firings are resumed at once, as a driver does).
pub fn check_capacities(config: EngineConfig, timeline: &Timeline) -> Result<(), String> {
    let caps = config.capacities;
    let mut engine = Engine::new(config);
    let mut accepted = Timeline::default();
    let mut firings = Vec::new();
    let mut clock = BASE;
    let mut window = 0u32;
    for (step, action) in timeline.actions.iter().enumerate() {
        let kept = match action {
            Action::AddTrigger(id, trigger) => engine.add_trigger(*id, trigger.clone()).is_ok(),
            Action::Deliver(event) => match engine.handle_event(&event.view(), clock) {
                Ok(_) => true,
                Err(HandleEventError::Full(_)) => false,
                Err(e) => return Err(format!("step {step}: unexpected error {e}")),
            },
            Action::Tick(now) => {
                clock = *now;
                engine.handle_timeout(clock);
                window += 1;
                true
            }
        };
        if kept {
            accepted.actions.push(action.clone());
        }
        loop {
            while let Some(f) = engine.poll_action() {
                firings.push(FiringSummary::new(window, &f));
            }
            if !engine.tick_deferred() {
                break;
            }
            engine.handle_timeout(clock);
        }
        let usage = [
            ("trigger_nodes", engine.trigger_nodes(), caps.trigger_nodes),
            ("keys", engine.tracked_keys(), caps.keys),
            ("held_events", engine.held_events(), caps.held_events),
            (
                "waiting_followers",
                engine.waiting_followers(),
                caps.waiting_followers,
            ),
            (
                "buffered_events",
                engine.buffered_events(),
                caps.buffered_events,
            ),
        ];
        for (name, used, cap) in usage {
            if used > cap {
                return Err(format!("step {step}: {name} holds {used} > capacity {cap}"));
            }
        }
    }
    let unbounded = EngineConfig {
        capacities: crate::engine::Capacities::UNBOUNDED,
        ..config
    };
    let want = run_timeline(unbounded, &accepted).firings;
    if firings != want {
        return Err(format!(
            "a bounded engine ({caps:?}) differs from an unbounded one given what it accepted:\n bounded:   {firings:?}\n unbounded: {want:?}"
        ));
    }
    Ok(())
}

/// `config` with small capacities, so that runs of a few dozen ops fill them all.
fn tight(config: EngineConfig) -> EngineConfig {
    EngineConfig {
        capacities: crate::engine::Capacities {
            trigger_nodes: 6,
            keys: 3,
            key_bytes: 24,
            held_events: 2,
            waiting_followers: 1,
            buffered_events: 3,
            // the packed size of an event with a 23- or 24-byte name (the 26-byte
            // ones do not fit)
            event_bytes: 115,
            pending_firings: 1,
            // the ops load their triggers unconditionally: only events are bounded
            trigger_bytes: usize::MAX,
            // event triggers' firings and composites of two fit, larger trees not
            firing_bytes: 256,
        },
        ..config
    }
}

/// The `engine_ops` fuzz target: decodes a case and checks, with the case's allowed
/// lateness, the reordering and duplicates properties, and without lateness the
/// duplicates, clock and prefetch properties; with and without it, the short-paths
/// property and the capacities property under small capacities. Panics with a
/// description on a violation.
pub fn check_engine_ops(bytes: &[u8]) {
    let (case, ops) = decode_case(bytes);
    let timeline = timeline(&ops);
    let lateness = case.with_lateness();
    let none = EngineConfig {
        entry: case.entry,
        ..EngineConfig::default()
    };
    let result = check_reordering(lateness, &timeline)
        .and_then(|_| check_duplicates(lateness, &timeline, 1))
        .and_then(|_| check_duplicates(none, &timeline, 1))
        .and_then(|_| check_clock(none, &timeline))
        .and_then(|_| check_clock(lateness, &timeline))
        .and_then(|_| check_prefetch(none, &timeline))
        .and_then(|_| check_short_paths(none, &timeline))
        .and_then(|_| check_short_paths(lateness, &timeline))
        .and_then(|_| check_capacities(tight(none), &timeline))
        .and_then(|_| check_capacities(tight(lateness), &timeline));
    if let Err(problem) = result {
        panic!("{problem}\nops: {ops:?}");
    }
}

// ------------------------------------------------------------------ the snapshot_bytes target

/// The triggers a `snapshot_bytes` input is restored with: every [`TriggerKind`] of
/// the menu with its default `within`, under ids 1 to 5 in menu order (what
/// [`snapshot_trigger_ops`] loads, so snapshots of such runs keep all their state).
pub fn snapshot_triggers() -> Vec<(TriggerId, Trigger)> {
    TRIGGER_KINDS
        .iter()
        .zip(1..)
        .map(|(&kind, id)| (TriggerId(id), menu_trigger(kind, Within::Default)))
        .collect()
}

/// The ops that load [`snapshot_triggers`] (ids 1 to 5 in a fresh timeline).
pub fn snapshot_trigger_ops() -> Vec<Op> {
    TRIGGER_KINDS
        .iter()
        .map(|&kind| Op::AddTrigger {
            kind,
            within: Within::Default,
        })
        .collect()
}

/// The configuration the `snapshot_bytes` seeds are written with and the first
/// restore of every input uses: consumer entry, allowed lateness 30 s, late events
/// dropped.
pub fn snapshot_config() -> EngineConfig {
    EngineConfig {
        allowed_lateness: Some(Duration::from_secs(30)),
        ..EngineConfig::default()
    }
}

/// The second restore of every input: no allowed lateness (buffered events are
/// evaluated at once), direct entry, and a different trigger set: id 1 as in
/// [`snapshot_triggers`] (kept), id 2 with another `within` (changed), ids 3 to 5 left
/// out (removed), id 9 new (added).
fn changed_setup() -> (EngineConfig, Vec<(TriggerId, Trigger)>) {
    let config = EngineConfig {
        entry: Entry::Direct,
        ..EngineConfig::default()
    };
    let triggers = vec![
        (
            TriggerId(1),
            menu_trigger(TriggerKind::Zombie, Within::Default),
        ),
        (
            TriggerId(2),
            menu_trigger(TriggerKind::Reactive, Within::Secs(61)),
        ),
        (
            TriggerId(9),
            menu_trigger(TriggerKind::Sequence, Within::Default),
        ),
    ];
    (config, triggers)
}

/// `payload` behind a valid snapshot header (magic, version, length and CRC-32,
/// written by the same code as [`Engine::snapshot`]'s), so that arbitrary payloads
/// get past the checksum to the decoding and layout checks.
///
/// # Panics
///
/// If `payload` is longer than `u32::MAX` bytes.
pub fn frame_payload(payload: &[u8]) -> Vec<u8> {
    Engine::frame_snapshot_payload(payload)
}

/// Drives a fresh engine through `timeline` as [`run_timeline`] does and returns
/// [`Engine::snapshot_to_vec`] taken after each action whose index is in `cuts`,
/// before that action's firings are drained (so they travel in the snapshot).
pub fn snapshots_at(config: EngineConfig, timeline: &Timeline, cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut engine = Engine::new(config);
    let mut clock = BASE;
    let mut out = Vec::new();
    for (i, action) in timeline.actions.iter().enumerate() {
        match action {
            Action::AddTrigger(id, trigger) => {
                let _ = engine.add_trigger(*id, trigger.clone());
            }
            Action::Deliver(event) => {
                let _ = engine.handle_event(&event.view(), clock);
            }
            Action::Tick(now) => {
                clock = *now;
                engine.handle_timeout(clock);
            }
        }
        if cuts.contains(&i) {
            out.push(engine.snapshot_to_vec());
        }
        while engine.poll_action().is_some() {}
        let _ = engine.poll_timeout();
    }
    out
}

/// A few steps on a restored engine: two events (one `follows` the first fresh event
/// of the harness's timelines), a tick two minutes on, the firings drained, a tick at
/// the instant `poll_timeout` then asks for.
fn drive(engine: &mut Engine) {
    let now = engine.now();
    let event = |n: u32, resource: usize, name: usize, occurred: Instant, follows| OwnedEvent {
        id: event_id(n),
        event: EVENT_NAMES[name].to_string(),
        occurred,
        received: now,
        resource: vec![(RESOURCE_ID.to_string(), RESOURCES[resource].to_string())],
        related: Vec::new(),
        follows,
    };
    let events = [
        event(1 << 20, 0, 0, now, None),
        event(
            (1 << 20) + 1,
            1,
            3,
            now.saturating_sub(Duration::from_secs(5)),
            Some(event_id(0)),
        ),
    ];
    for e in &events {
        let _ = engine.handle_event(&e.view(), now);
    }
    engine.handle_timeout(now.saturating_add(Duration::from_secs(120)));
    while engine.poll_action().is_some() {}
    if let Some(due) = engine.poll_timeout() {
        engine.handle_timeout(due);
        while engine.poll_action().is_some() {}
    }
    let _ = engine.poll_timeout();
}

/// The restore in place of `bytes` into an engine that already holds state (with
/// another configuration) must agree with the restore by value: the same error (the
/// engine then fresh and empty), or the same outcomes and the same saved bytes.
fn check_in_place(
    config: EngineConfig,
    triggers: &[(TriggerId, Trigger)],
    bytes: &[u8],
    by_value: &Result<(Engine, RestoreReport), RestoreError>,
) -> Result<(), String> {
    let mut engine = Engine::new(EngineConfig::default());
    for (id, trigger) in triggers {
        let _ = engine.add_trigger(*id, trigger);
    }
    drive(&mut engine);
    let mut report = RestoreReport::default();
    let in_place = engine.restore_in_place(config, triggers, bytes, &mut |id, outcome| {
        report.record(id, outcome)
    });
    match (by_value, in_place) {
        (Ok((restored, expected)), Ok(())) => {
            if *expected != report {
                return Err(format!(
                    "restored in place with {report:?}, by value with {expected:?}"
                ));
            }
            if restored.snapshot_to_vec() != engine.snapshot_to_vec() {
                return Err(String::from(
                    "restored in place and by value, the engines save different bytes",
                ));
            }
        }
        (Err(expected), Err(e)) => {
            if *expected != e {
                return Err(format!(
                    "refused in place with {e:?}, by value with {expected:?}"
                ));
            }
            if engine.trigger_count() != 0
                || engine.tracked_keys() != 0
                || engine.config() != Engine::new(config).config()
            {
                return Err(format!(
                    "refused in place ({e}), the engine is not left fresh"
                ));
            }
        }
        (expected, in_place) => {
            return Err(format!(
                "restored in place: {:?}, by value: {:?}",
                in_place.err(),
                expected.as_ref().err()
            ));
        }
    }
    Ok(())
}

/// Restores `bytes` with `config` and `triggers`. A refusal must be a
/// [`RestoreError`] other than `InvalidTrigger` (the triggers are valid and distinct);
/// a restored engine must have loaded every trigger, and after [`drive`] its snapshot
/// must restore again, keep every trigger and save the same bytes.
fn check_restore(
    config: EngineConfig,
    triggers: &[(TriggerId, Trigger)],
    bytes: &[u8],
) -> Result<(), String> {
    let restored = Engine::restore(config, triggers.to_vec(), bytes);
    check_in_place(config, triggers, bytes, &restored)?;
    let (mut engine, report) = match restored {
        Ok(restored) => restored,
        Err(e @ RestoreError::InvalidTrigger(..)) => {
            return Err(format!("valid triggers refused: {e}"));
        }
        Err(e) => {
            // the message is part of the error's contract
            let _ = e.to_string();
            return Ok(());
        }
    };
    if engine.trigger_count() != triggers.len()
        || report.kept.len() + report.changed.len() + report.added.len() != triggers.len()
    {
        return Err(format!(
            "restored {} of {} triggers: {report:?}",
            engine.trigger_count(),
            triggers.len()
        ));
    }
    drive(&mut engine);
    let first = engine.snapshot_to_vec();
    let (again, report) = Engine::restore(config, triggers.to_vec(), &first)
        .map_err(|e| format!("the snapshot of a restored and driven engine is refused: {e}"))?;
    if report.kept.len() != triggers.len() {
        return Err(format!(
            "a restored and driven engine's snapshot does not keep every trigger: {report:?}"
        ));
    }
    if again.snapshot_to_vec() != first {
        return Err(String::from(
            "a restored and driven engine's snapshot restores to different bytes",
        ));
    }
    Ok(())
}

/// The `snapshot_bytes` fuzz target: arbitrary bytes into [`Engine::restore`].
///
/// The bytes are restored twice as given: with [`snapshot_config`] and
/// [`snapshot_triggers`], then with no allowed lateness, direct entry and a trigger set
/// that keeps, changes, removes and adds triggers. Because random bytes almost never
/// match the header's checksum, the same two restores then run on the input as a
/// payload framed with a valid header ([`frame_payload`]); an input that starts with
/// [`SNAPSHOT_MAGIC`] is taken as a snapshot whose header is replaced, so mutations of
/// real snapshots reach the payload checks.
///
/// Each restore must either refuse with a [`RestoreError`] (never `InvalidTrigger`: the
/// triggers are valid) or give an engine with every trigger loaded that, driven a few
/// steps (events, ticks, firings drained, `poll_timeout`), saves a snapshot that
/// restores again, keeps every trigger and saves the same bytes. Panics with a
/// description on a violation; any other panic is a finding too.
pub fn check_snapshot_bytes(bytes: &[u8]) {
    let payload = match bytes.get(..SNAPSHOT_HEADER_LEN) {
        Some(header) if header.starts_with(&SNAPSHOT_MAGIC) => &bytes[SNAPSHOT_HEADER_LEN..],
        _ => bytes,
    };
    let framed = frame_payload(payload);
    let (other_config, other_triggers) = changed_setup();
    let setups = [
        (snapshot_config(), snapshot_triggers()),
        (other_config, other_triggers),
    ];
    let inputs: &[(&str, &[u8])] = if framed == bytes {
        &[("as given", bytes)]
    } else {
        &[("as given", bytes), ("framed", &framed)]
    };
    for (how, input) in inputs {
        for (config, triggers) in &setups {
            if let Err(problem) = check_restore(*config, triggers, input) {
                panic!(
                    "{problem}\ninput {how} ({} bytes), config {config:?}",
                    input.len()
                );
            }
        }
    }
}
