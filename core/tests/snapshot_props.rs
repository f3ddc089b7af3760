//! Snapshot equivalence: for any timeline and any cut points, running, saving with
//! `Engine::snapshot_to_vec`, dropping the engine, restoring with `Engine::restore`
//! (same triggers, same configuration) and running on gives exactly the firings (and
//! the `poll_timeout` answers and counters) of the uninterrupted run.
//!
//! Timelines mix a zombie trigger (proactive with `after`: held events), a reactive
//! threshold trigger, a global proactive trigger, a compound and a sequence trigger
//! (stored child firings), events with repeated ids (de-duplication) and `follows`
//! (waiting followers), received late or on time, and ticks; configurations vary the
//! entry, the proactive scheduler, the events clock and allowed lateness.

use overdue_core::engine::{
    Engine, EngineConfig, Entry, EventsClock, LatePolicy, OwnedFiring, PeriodicOrder,
    ProactiveMode, TriggerId,
};
use overdue_core::trigger::Trigger;
use overdue_core::{Duration, EventId, Instant, OwnedEvent};
use proptest::prelude::*;

const BASE: u64 = 1_767_225_600;

const NAMES: [&str; 6] = [
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Running",
    "x.start",
    "x.done",
    "prefect.log.write",
];

const RUNS: [&str; 3] = ["prefect.flow-run.a", "prefect.flow-run.b", "x.thing"];

/// Trigger documents (Prefect JSON); `{ID<n>}` is replaced by a UUID or removed.
const TRIGGERS: [&str; 5] = [
    r#"{"type": "event", {ID1} "match": {"prefect.resource.id": "prefect.flow-run.*"},
        "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
        "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1,
        "within": 60}"#,
    r#"{"type": "event", {ID2} "expect": ["prefect.flow-run.heartbeat", "x.*"],
        "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 2,
        "within": 30}"#,
    r#"{"type": "event", {ID3} "expect": ["x.*"], "posture": "Proactive", "threshold": 2,
        "within": 20}"#,
    r#"{"type": "compound", {ID4} "require": "all", "within": 120, "triggers": [
        {"type": "event", {ID5} "expect": ["x.done"], "posture": "Reactive", "threshold": 1},
        {"type": "event", {ID6} "after": ["x.start"], "expect": ["x.done"],
         "for_each": ["prefect.resource.id"], "posture": "Proactive", "within": 15},
        {"type": "event", {ID7} "expect": ["prefect.flow-run.Completed"],
         "posture": "Reactive", "threshold": 1}]}"#,
    r#"{"type": "sequence", {ID8} "within": 90, "triggers": [
        {"type": "event", {ID9} "expect": ["x.start"], "posture": "Reactive"},
        {"type": "event", {ID10} "expect": ["prefect.flow-run.*"], "posture": "Reactive",
         "for_each": ["prefect.resource.id"]}]}"#,
];

fn triggers(with_ids: bool) -> Vec<(TriggerId, Trigger)> {
    TRIGGERS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut text = text.to_string();
            for n in (1..=10).rev() {
                let id = if with_ids {
                    // distinct UUIDs whose CPython hashes collide in small tables
                    format!(r#""id": "00000000-0000-4000-8000-{:012x}","#, n * 8 + 1)
                } else {
                    String::new()
                };
                text = text.replace(&format!("{{ID{n}}}"), &id);
            }
            let trigger: Trigger = serde_json::from_str(&text).expect("trigger JSON");
            (TriggerId(i as u32 + 1), trigger)
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Step {
    Event {
        name: usize,
        run: usize,
        id: u8,
        follows: Option<u8>,
        /// `occurred` relative to the wall clock, seconds.
        skew: i64,
        /// Received this many seconds before the wall clock (0: now).
        lag: u64,
    },
    Tick,
}

#[derive(Clone, Debug)]
struct Case {
    with_ids: bool,
    consumer: bool,
    scheduled: bool,
    live_clock: bool,
    periodic: u8,
    lateness: Option<u64>,
    process_late: bool,
    /// (seconds to advance the wall clock, step)
    steps: Vec<(u64, Step)>,
    /// Steps after which the engine is saved, dropped and restored.
    cuts: Vec<usize>,
    /// Whether pending firings are drained before a cut (else they travel in the
    /// snapshot).
    drain_first: bool,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (
            0..NAMES.len(),
            0..RUNS.len(),
            0u8..24,
            prop::option::weighted(0.2, 0u8..24),
            -20i64..6,
            prop_oneof![4 => Just(0u64), 1 => 0u64..1_200],
        )
            .prop_map(|(name, run, id, follows, skew, lag)| Step::Event {
                name,
                run,
                id,
                follows,
                skew,
                lag,
            }),
        1 => Just(Step::Tick),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (0u8..3, prop::option::of(0u64..30), any::<bool>()),
        prop::collection::vec((0u64..25, step()), 1..70),
        prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        any::<bool>(),
    )
        .prop_map(
            |(
                (with_ids, consumer, scheduled, live_clock),
                (periodic, lateness, process_late),
                steps,
                cuts,
                drain_first,
            )| {
                let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(steps.len())).collect();
                cuts.sort_unstable();
                cuts.dedup();
                Case {
                    with_ids,
                    consumer,
                    scheduled,
                    live_clock,
                    periodic,
                    lateness,
                    process_late,
                    steps,
                    cuts,
                    drain_first,
                }
            },
        )
}

fn config(case: &Case) -> EngineConfig {
    EngineConfig {
        entry: if case.consumer {
            Entry::Consumer
        } else {
            Entry::Direct
        },
        proactive: if case.scheduled {
            ProactiveMode::Scheduled
        } else {
            ProactiveMode::All
        },
        events_clock: if case.live_clock {
            EventsClock::Live
        } else {
            EventsClock::Reset
        },
        periodic: [
            PeriodicOrder::After,
            PeriodicOrder::Before,
            PeriodicOrder::Never,
        ][case.periodic as usize],
        allowed_lateness: case.lateness.map(Duration::from_secs),
        late_policy: if case.process_late {
            LatePolicy::Process
        } else {
            LatePolicy::Drop
        },
        // small enough for eviction and follower timeouts to happen in a timeline
        dedup_capacity: 8,
        follower_timeout: Duration::from_secs(120),
        held_retention: Duration::from_secs(300),
        ..EngineConfig::default()
    }
}

fn event_id(n: u8) -> EventId {
    let mut b = [0u8; 16];
    b[0] = 0x5e;
    b[15] = n;
    EventId(b)
}

/// Everything observable after each step: firings and the next deadline.
type Trace = Vec<(usize, Vec<OwnedFiring>, Option<Instant>)>;

/// Runs the case, saving and restoring after each step in `cuts`.
fn run(case: &Case, cuts: &[usize]) -> Result<(Trace, String), TestCaseError> {
    let config = config(case);
    let mut engine = Engine::new(config);
    for (id, trigger) in triggers(case.with_ids) {
        engine.add_trigger(id, trigger).unwrap();
    }
    let mut wall = BASE;
    let mut trace = Trace::new();
    for (i, (advance, step)) in case.steps.iter().enumerate() {
        wall += advance;
        let now = Instant::from_secs(wall);
        match step {
            Step::Event {
                name,
                run,
                id,
                follows,
                skew,
                lag,
            } => {
                let event = OwnedEvent {
                    id: event_id(*id),
                    event: NAMES[*name].into(),
                    occurred: Instant::from_secs(wall.saturating_add_signed(*skew)),
                    received: Instant::from_secs(wall - lag),
                    resource: vec![("prefect.resource.id".into(), RUNS[*run].into())],
                    related: Vec::new(),
                    follows: follows.map(event_id),
                };
                let _ = engine.handle_event(&event.view(), now);
            }
            Step::Tick => engine.handle_timeout(now),
        }
        let cut = cuts.contains(&i);
        let mut fired = Vec::new();
        if !cut || case.drain_first {
            while let Some(f) = engine.poll_action() {
                fired.push(f.to_owned());
            }
        }
        if cut {
            let bytes = engine.snapshot_to_vec();
            drop(engine);
            let (restored, report) = Engine::restore(config, triggers(case.with_ids), &bytes)
                .map_err(|e| TestCaseError::fail(format!("restore after step {i}: {e}")))?;
            prop_assert_eq!(report.kept.len(), TRIGGERS.len());
            engine = restored;
            prop_assert_eq!(
                engine.snapshot_to_vec(),
                bytes,
                "a restored engine saves the same bytes"
            );
            while let Some(f) = engine.poll_action() {
                fired.push(f.to_owned());
            }
        }
        trace.push((i, fired, engine.poll_timeout()));
    }
    // the end: everything still due
    engine.handle_timeout(Instant::from_secs(wall + 100_000));
    let mut fired = Vec::new();
    while let Some(f) = engine.poll_action() {
        fired.push(f.to_owned());
    }
    trace.push((usize::MAX, fired, engine.poll_timeout()));
    let summary = format!(
        "{:?} keys={} followers={} ids={} buffered={}",
        engine.stats(),
        engine.tracked_keys(),
        engine.waiting_followers(),
        engine.remembered_ids(),
        engine.buffered_events()
    );
    Ok((trace, summary))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn snapshot_and_restore_change_nothing(case in case()) {
        let (plain, plain_end) = run(&case, &[])?;
        let (cut, cut_end) = run(&case, &case.cuts)?;
        prop_assert_eq!(&cut, &plain, "cuts after steps {:?}", case.cuts);
        prop_assert_eq!(cut_end, plain_end);
    }

    #[test]
    fn restoring_after_every_step_changes_nothing(case in case()) {
        let every: Vec<usize> = (0..case.steps.len()).collect();
        let (plain, plain_end) = run(&case, &[])?;
        let (cut, cut_end) = run(&case, &every)?;
        prop_assert_eq!(&cut, &plain);
        prop_assert_eq!(cut_end, plain_end);
    }
}

#[test]
fn timelines_fire_all_kinds_of_triggers() {
    // the generator is not vacuous: a fixed timeline fires every trigger
    let event = |name, run, id| Step::Event {
        name,
        run,
        id,
        follows: None,
        skew: 0,
        lag: 0,
    };
    let steps = vec![
        (2, event(0, 0, 1)), // heartbeat of a: the zombie window opens
        (2, event(3, 2, 2)), // x.start of c: sequence child 0; compound child 1 window
        (2, event(3, 2, 3)), // again: reactive threshold 2 for c
        (2, event(4, 1, 4)), // x.done: compound child 0
        (2, event(1, 1, 5)), // Completed of b: compound child 2, sequence child 1
        (20, Step::Tick),    // c's x.done never came: compound child 1, compound fires
        (100, Step::Tick),   // a's heartbeats stopped: zombie; quiet x.*: global
    ];
    let case = Case {
        with_ids: true,
        consumer: true,
        scheduled: false,
        live_clock: false,
        periodic: 0,
        lateness: None,
        process_late: false,
        steps,
        cuts: vec![2, 5],
        drain_first: false,
    };
    let (trace, _) = run(&case, &case.cuts).unwrap();
    let mut fired: Vec<u32> = trace
        .iter()
        .flat_map(|(_, f, _)| f.iter().map(|f| f.trigger.0))
        .collect();
    fired.sort_unstable();
    fired.dedup();
    assert_eq!(fired, [1, 2, 3, 4, 5], "{trace:#?}");
}
