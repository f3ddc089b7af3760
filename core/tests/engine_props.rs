//! Engine properties over the shared `Op` harness (`overdue_core::harness`, feature
//! `harness`): `cargo test -p overdue-core --features harness --test engine_props`.
//!
//! 1. Reordering: with allowed lateness `L`, every delivery order in which each event
//!    reaches `handle_event` before the first tick whose watermark passes its
//!    `occurred` gives the firings of the sorted delivery.
//! 2. Duplicates: with `Entry::Consumer`, an event delivered again within the
//!    de-duplication window changes nothing, with and without `L`.
//! 3. Clock: a `now` older than the last one behaves as the last one; extreme
//!    instants and `within` values never panic or overflow.
//! 4. `L = None` is the default and is Prefect's evaluation (every conformance
//!    scenario runs with it); `Some(L)` with ticks shifted by `L` finds the same zombies.
#![cfg(feature = "harness")]

use overdue_core::engine::{
    Capacities, Engine, EngineConfig, Entry, EventOutcome, FiringKind, LatePolicy, TriggerId,
};
use overdue_core::event::RESOURCE_ID;
use overdue_core::harness::{
    check_capacities, check_clock, check_duplicates, check_engine_ops, check_prefetch,
    check_reordering, check_short_paths, decode_case, decode_ops, encode_case, encode_ops,
    event_id, menu_trigger, run_timeline, timeline, Action, Op, Step, Timeline, TriggerKind, When,
    Within, BASE, EVENT_NAMES, RESOURCES,
};
use overdue_core::trigger::{EventTrigger, Posture, ResourceSpec, Trigger};
use overdue_core::{Duration, Instant, OwnedEvent};
use proptest::prelude::*;

// ------------------------------------------------------------------ strategies

fn extreme_micros() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..2_000_000,
        (0u64..2_000_000).prop_map(|d| u64::MAX - d),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn within(extreme: bool) -> BoxedStrategy<Within> {
    let usual = prop_oneof![
        3 => Just(Within::Default),
        1 => (10u16..600).prop_map(Within::Secs),
    ];
    if extreme {
        prop_oneof![
            usual,
            extreme_micros().prop_map(Within::Micros),
            any::<u16>().prop_map(Within::Secs),
        ]
        .boxed()
    } else {
        usual.boxed()
    }
}

fn add_trigger(extreme: bool) -> impl Strategy<Value = Op> {
    (0usize..5, within(extreme)).prop_map(|(k, within)| Op::AddTrigger {
        kind: [
            TriggerKind::Zombie,
            TriggerKind::Reactive,
            TriggerKind::GlobalProactive,
            TriggerKind::Compound,
            TriggerKind::Sequence,
        ][k],
        within,
    })
}

fn event(extreme: bool) -> BoxedStrategy<Op> {
    let name = prop_oneof![
        4 => Just(0u8), // heartbeats dominate, as in production
        4 => 1u8..EVENT_NAMES.len() as u8,
    ];
    let occurred = if extreme {
        prop_oneof![
            (-1200i16..=100).prop_map(When::Rel),
            any::<i16>().prop_map(When::Rel),
            extreme_micros().prop_map(When::Abs),
        ]
        .boxed()
    } else {
        // up to 2 min in the past, 10 s in the future (client clocks drift)
        (-1200i16..=100).prop_map(When::Rel).boxed()
    };
    let follows = prop_oneof![8 => Just(None), 1 => (-4i8..=4).prop_map(Some)];
    (0..RESOURCES.len() as u8, name, occurred, follows)
        .prop_map(|(resource, name, occurred, follows)| Op::Event {
            resource,
            name,
            occurred,
            follows,
        })
        .boxed()
}

fn tick(extreme: bool) -> BoxedStrategy<Op> {
    let usual = prop_oneof![
        6 => (0u16..=600).prop_map(Step::Forward), // up to a minute
        1 => (600u16..=20_000).prop_map(Step::Forward), // up to half an hour
        1 => Just(Step::Zero),
        1 => (0u16..=600).prop_map(Step::Backward),
    ];
    let step = if extreme {
        prop_oneof![
            usual,
            extreme_micros().prop_map(Step::To),
            any::<u16>().prop_map(Step::Backward),
        ]
        .boxed()
    } else {
        usual.boxed()
    };
    step.prop_map(Op::Tick).boxed()
}

/// A few triggers, then events, re-deliveries and ticks.
fn ops(extreme: bool, max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let body = prop_oneof![
        6 => event(extreme),
        4 => tick(extreme),
        1 => any::<u16>().prop_map(Op::Redeliver),
        1 => add_trigger(extreme),
    ];
    (
        prop::collection::vec(add_trigger(extreme), 1..4),
        prop::collection::vec(body, 0..max_len),
    )
        .prop_map(|(mut head, body)| {
            head.extend(body);
            head
        })
}

/// A proactive trigger whose `after` and `expect` share names, so that an event can
/// be in both (3.9's proactive renewal, which the engine short-cuts), with any
/// threshold from 0 to 3, per flow run or one global window.
fn renewal_trigger() -> impl Strategy<Value = Trigger> {
    let names = || prop::sample::subsequence(EVENT_NAMES[..3].to_vec(), 1..=3);
    let within = prop_oneof![Just(10u64), Just(30), Just(90)];
    (names(), names(), 0i64..4, within, any::<bool>()).prop_map(
        |(after, expect, threshold, within, per_run)| {
            let strings = |n: Vec<&str>| n.into_iter().map(String::from).collect::<Vec<_>>();
            Trigger::Event(EventTrigger {
                match_: if per_run {
                    ResourceSpec::from_pairs(&[(RESOURCE_ID, &["prefect.flow-run.*"])])
                } else {
                    ResourceSpec::default()
                },
                after: strings(after),
                expect: strings(expect),
                for_each: if per_run {
                    vec![String::from(RESOURCE_ID)]
                } else {
                    Vec::new()
                },
                posture: Posture::Proactive,
                threshold,
                within: Duration::from_secs(within),
                ..EventTrigger::reactive(&[])
            })
        },
    )
}

/// `ops` resolved, with `extra` triggers loaded first (under ids after the menu's).
fn timeline_with(extra: Vec<Trigger>, ops: &[Op]) -> Timeline {
    let mut t = timeline(ops);
    let loads = extra
        .into_iter()
        .zip(100..)
        .map(|(trigger, id)| Action::AddTrigger(TriggerId(id), trigger));
    t.actions.splice(0..0, loads);
    t
}

fn lateness() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (1u64..=600).prop_map(Duration::from_secs),
        (0u64..10_000_000).prop_map(Duration::from_micros),
    ]
}

fn policy() -> impl Strategy<Value = LatePolicy> {
    prop_oneof![Just(LatePolicy::Drop), Just(LatePolicy::Process)]
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![Just(Entry::Consumer), Just(Entry::Direct)]
}

fn with_lateness(l: Duration, policy: LatePolicy, entry: Entry) -> EngineConfig {
    EngineConfig {
        entry,
        allowed_lateness: Some(l),
        late_policy: policy,
        ..EngineConfig::default()
    }
}

/// [`with_lateness`] when there is allowed lateness, else the default config.
fn maybe_lateness(l: Option<Duration>, policy: LatePolicy, entry: Entry) -> EngineConfig {
    match l {
        Some(l) => with_lateness(l, policy, entry),
        None => EngineConfig {
            entry,
            ..EngineConfig::default()
        },
    }
}

// ------------------------------------------------------------------ timeline surgery

/// The number of ticks before each action (a tick belongs to the window it closes).
fn windows(t: &Timeline) -> Vec<usize> {
    let mut w = 0;
    t.actions
        .iter()
        .map(|a| {
            let here = w;
            if matches!(a, Action::Tick(_)) {
                w += 1;
            }
            here
        })
        .collect()
}

/// Moves each movable delivery to a random place in its own window or an earlier one
/// (`keys` drive the choices); everything else keeps its order.
///
/// A delivery hands the engine the current clock too, and before the first tick that
/// clock is [`BASE`]: moving the first delivery into that window could move the wall
/// clock. So window 0 takes events only if it had some already.
fn scatter(t: &Timeline, movable: &[bool], keys: &[u64]) -> Timeline {
    let win = windows(t);
    let n = t.actions.len();
    // the first action index of each window, and its closing tick (or the end)
    let mut start = vec![0usize];
    for (i, a) in t.actions.iter().enumerate() {
        if matches!(a, Action::Tick(_)) {
            start.push(i + 1);
        }
    }
    let window0_delivers = t
        .actions
        .iter()
        .take_while(|a| !matches!(a, Action::Tick(_)))
        .any(|a| matches!(a, Action::Deliver(_)));
    let mut delivery = 0usize;
    let mut keyed: Vec<((usize, usize), Action)> = Vec::with_capacity(n);
    for (i, a) in t.actions.iter().enumerate() {
        let mut key = (win[i], 2 * i + 1);
        if let Action::Deliver(_) = a {
            if movable.get(delivery).copied().unwrap_or(false) {
                let r = keys.get(delivery % keys.len().max(1)).copied().unwrap_or(0);
                let earliest = usize::from(!window0_delivers);
                let j = if win[i] <= earliest {
                    win[i]
                } else {
                    win[i] - (r as usize % (win[i] + 1 - earliest))
                };
                let lo = start[j];
                let hi = start.get(j + 1).map_or(n, |&s| s - 1); // the closing tick
                let p = lo + ((r >> 32) as usize % (hi - lo + 1));
                key = (j, 2 * p);
            }
            delivery += 1;
        }
        keyed.push((key, a.clone()));
    }
    keyed.sort_by_key(|(k, _)| *k);
    Timeline {
        actions: keyed.into_iter().map(|(_, a)| a).collect(),
    }
}

/// Inserts copies of deliveries at later places where the engine clock is still within
/// `window` of the first delivery of that event (when it was first seen, at the
/// latest). `picks` are (delivery, how far on) choices.
fn add_copies(t: &Timeline, picks: &[(usize, usize)], window: Duration) -> (Timeline, usize) {
    let clock = t.engine_clock();
    let deliveries: Vec<usize> = (0..t.actions.len())
        .filter(|&i| matches!(t.actions[i], Action::Deliver(_)))
        .collect();
    if deliveries.is_empty() {
        return (t.clone(), 0);
    }
    let first_of = |i: usize| {
        deliveries
            .iter()
            .copied()
            .find(|&d| t.actions[d] == t.actions[i])
            .unwrap_or(i)
    };
    // (insert after this index, copy of the action at that index)
    let mut inserts: Vec<(usize, usize)> = Vec::new();
    for &(d, on) in picks {
        let i = deliveries[d % deliveries.len()];
        let first = first_of(i);
        let reachable: Vec<usize> = (i..t.actions.len())
            .take_while(|&p| {
                clock[p]
                    .checked_duration_since(clock[first])
                    .is_some_and(|d| d < window)
            })
            .collect();
        if !reachable.is_empty() {
            inserts.push((reachable[on % reachable.len()], i));
        }
    }
    inserts.sort();
    let mut actions = Vec::new();
    let mut next = inserts.iter().peekable();
    for (p, a) in t.actions.iter().enumerate() {
        actions.push(a.clone());
        while let Some(&&(after, of)) = next.peek() {
            if after != p {
                break;
            }
            actions.push(t.actions[of].clone());
            next.next();
        }
    }
    (Timeline { actions }, inserts.len())
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CAPACITY_CASES))]

    /// Property 5: capacities only refuse (a bounded engine gives an unbounded one's
    /// firings for what it accepted) and are never exceeded.
    #[test]
    fn capacities_only_refuse_and_are_never_exceeded(
        ops in ops(false, 80),
        caps in (1usize..12, 0usize..6, 0usize..5, 0usize..4, 0usize..5, 1usize..4, 12usize..40, 110usize..120),
        late in prop::option::of(lateness()),
        entry in entry(),
    ) {
        // (the harness's events take 114 to 117 bytes packed: some do not fit)
        let (trigger_nodes, keys, held_events, waiting_followers, buffered_events, pending_firings, key_bytes, event_bytes) = caps;
        let config = EngineConfig {
            entry,
            allowed_lateness: late,
            capacities: Capacities {
                trigger_nodes,
                keys,
                key_bytes,
                held_events,
                waiting_followers,
                buffered_events,
                event_bytes,
                pending_firings,
                // the ops load their triggers unconditionally: only events are bounded
                trigger_bytes: usize::MAX,
                firing_bytes: usize::MAX,
            },
            ..EngineConfig::default()
        };
        if let Err(problem) = check_capacities(config, &timeline(&ops)) {
            panic!("{problem}\nops: {ops:?}");
        }
    }
}

/// Cases of property 5 (cheap: one run and one replay of 80 ops).
const CAPACITY_CASES: u32 = 256;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Property 1.
    #[test]
    fn reordering_within_allowed_windows_gives_the_sorted_firings(
        ops in ops(false, 80),
        l in lateness(),
        policy in policy(),
        entry in entry(),
        keys in prop::collection::vec(any::<u64>(), 1..32),
    ) {
        let config = with_lateness(l, policy, entry);
        let t = timeline(&ops);
        let given = check_reordering(config, &t).map_err(TestCaseError::fail)?;
        let pinned: Vec<bool> = given.outcomes.iter().map(|o| *o != Ok(EventOutcome::Buffered)).collect();
        let movable: Vec<bool> = pinned.iter().map(|p| !p).collect();
        let sorted = run_timeline(config, &t.sorted_twin(&pinned)).firings;
        let scattered = run_timeline(config, &scatter(&t, &movable, &keys)).firings;
        prop_assert_eq!(scattered, sorted);
    }

    /// Property 2.
    #[test]
    fn redelivery_within_the_dedup_window_changes_nothing(
        ops in ops(false, 80),
        l in prop::option::of(lateness()),
        policy in policy(),
        picks in prop::collection::vec((any::<usize>(), any::<usize>()), 1..24),
        copies in 1usize..4,
    ) {
        let config = match l {
            Some(l) => with_lateness(l, policy, Entry::Consumer),
            None => EngineConfig::default(),
        };
        let t = timeline(&ops);
        check_duplicates(config, &t, copies).map_err(TestCaseError::fail)?;
        let once = run_timeline(config, &t);
        let (more, added) = add_copies(&t, &picks, config.dedup_window);
        let again = run_timeline(config, &more);
        prop_assert_eq!(&again.firings, &once.firings);
        // every copy was dropped (as a duplicate, a log event or late), or is a follower
        // still waiting for its leader (held again, or buffered to be held again)
        let dropped = |r: &overdue_core::harness::Report| {
            r.stats.duplicates + r.stats.log_events + r.stats.late_dropped
                + r.stats.followers_held + r.buffered_at_end as u64
        };
        prop_assert_eq!(dropped(&again), dropped(&once) + added as u64);
    }

    /// Property 3: a clock that goes back is the last clock.
    #[test]
    fn an_older_now_behaves_as_the_last_one(
        ops in ops(false, 80),
        l in prop::option::of(lateness()),
        policy in policy(),
        entry in entry(),
    ) {
        let config = maybe_lateness(l, policy, entry);
        check_clock(config, &timeline(&ops)).map_err(TestCaseError::fail)?;
    }

    /// `Engine::prefetch` is only a hint: reading ahead every run of deliveries
    /// changes no firing, outcome, counter or snapshot byte.
    #[test]
    fn prefetch_changes_nothing(
        ops in ops(false, 120),
        l in prop::option::of(lateness()),
        policy in policy(),
        entry in entry(),
    ) {
        let config = maybe_lateness(l, policy, entry);
        check_prefetch(config, &timeline(&ops)).map_err(TestCaseError::fail)?;
    }

    /// Evaluation's short paths (the proactive renewal of an open window in one pass)
    /// give exactly what the general path gives: the same firings, outcomes,
    /// counters and final snapshot, for proactive triggers of any threshold whose
    /// `after` and `expect` overlap, next to the menu's.
    #[test]
    fn short_paths_change_nothing(
        extra in prop::collection::vec(renewal_trigger(), 1..4),
        ops in ops(false, 120),
        l in prop::option::of(lateness()),
        policy in policy(),
        entry in entry(),
    ) {
        let config = maybe_lateness(l, policy, entry);
        check_short_paths(config, &timeline_with(extra, &ops)).map_err(TestCaseError::fail)?;
    }

    /// Property 3: instants near 0 and near `u64::MAX`, huge `within`s and jumps of
    /// the clock between them neither panic nor overflow, and the other properties
    /// still hold there.
    #[test]
    fn extreme_instants_and_windows_never_panic(
        ops in ops(true, 60),
        l in prop::option::of(prop_oneof![lateness(), extreme_micros().prop_map(Duration::from_micros)]),
        policy in policy(),
        entry in entry(),
    ) {
        let t = timeline(&ops);
        let none = EngineConfig { entry, ..EngineConfig::default() };
        check_clock(none, &t).map_err(TestCaseError::fail)?;
        check_duplicates(none, &t, 1).map_err(TestCaseError::fail)?;
        check_short_paths(none, &t).map_err(TestCaseError::fail)?;
        if let Some(l) = l {
            let config = with_lateness(l, policy, entry);
            check_reordering(config, &t).map_err(TestCaseError::fail)?;
            check_duplicates(config, &t, 2).map_err(TestCaseError::fail)?;
            check_clock(config, &t).map_err(TestCaseError::fail)?;
        }
    }

    /// The fuzz target on random bytes (the corpus replay test runs it on the corpus).
    #[test]
    fn engine_ops_target_holds_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_engine_ops(&bytes);
    }

    /// What the fuzzer and the seed corpus write is what the harness reads.
    #[test]
    fn ops_encode_and_decode_back(ops in ops(true, 40), byte in any::<u8>()) {
        prop_assert_eq!(decode_ops(&encode_ops(&ops)), ops.clone());
        let (case, _) = decode_case(&[byte]);
        prop_assert_eq!(decode_case(&encode_case(&case, &ops)), (case, ops));
    }

    /// Any bytes decode (and re-encode to bytes that decode to the same ops).
    #[test]
    fn any_bytes_decode(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let ops = decode_ops(&bytes);
        prop_assert_eq!(decode_ops(&encode_ops(&ops)), ops);
    }
}

// ------------------------------------------------------------------ fixed timelines

#[test]
fn allowed_lateness_is_off_by_default() {
    let config = EngineConfig::default();
    assert_eq!(config.allowed_lateness, None);
    assert_eq!(config.late_policy, LatePolicy::Drop);
}

/// (kind, triggering event, labels, firing instant) of one firing.
type Zombie = (FiringKind, Option<String>, Vec<(String, String)>, Instant);

/// Three flow runs beating every 30 s from `start`: run 1 dies after its beat at 90 s,
/// run 2 completes at 200 s, run 3 dies after its beat at 240 s. Ticks every 10 s up to
/// 600 s. Returns (kind, event, labels, at - shift) of every firing when events arrive
/// at their `occurred` and each tick at `T + shift`.
fn zombie_fleet(config: EngineConfig, shift: Duration) -> Vec<Zombie> {
    let mut events = Vec::new();
    let mut n = 0u32;
    let mut beat = |run: usize, name: &str, secs: u64| {
        n += 1;
        OwnedEvent {
            id: event_id(n),
            event: name.to_owned(),
            occurred: BASE + Duration::from_secs(secs),
            received: BASE + Duration::from_secs(secs),
            resource: vec![("prefect.resource.id".to_owned(), RESOURCES[run].to_owned())],
            related: Vec::new(),
            follows: None,
        }
    };
    for s in (0..=90).step_by(30) {
        events.push(beat(1, "prefect.flow-run.heartbeat", s));
    }
    for s in (0..=180).step_by(30) {
        events.push(beat(2, "prefect.flow-run.heartbeat", s + 5));
    }
    events.push(beat(2, "prefect.flow-run.Completed", 200));
    for s in (0..=240).step_by(30) {
        events.push(beat(3, "prefect.flow-run.heartbeat", s + 7));
    }
    events.sort_by_key(|e| e.occurred);

    let mut engine = Engine::new(config);
    engine
        .add_trigger(
            TriggerId(1),
            menu_trigger(TriggerKind::Zombie, Within::Default),
        )
        .unwrap();
    let mut out = Vec::new();
    let mut pending = events.iter().peekable();
    for tick in (10..=600).step_by(10) {
        let tick_at = BASE + Duration::from_secs(tick) + shift;
        while let Some(e) = pending.next_if(|e| e.occurred <= tick_at) {
            let outcome = engine.handle_event(&e.view(), e.occurred).unwrap();
            assert!(matches!(
                outcome,
                EventOutcome::Processed | EventOutcome::Buffered
            ));
        }
        engine.handle_timeout(tick_at);
        while let Some(f) = engine.poll_action() {
            let event = f.event.map(|id| id.to_string());
            out.push((f.kind, event, f.to_owned().labels, f.at - shift));
        }
    }
    out
}

#[test]
fn lateness_with_ticks_shifted_by_it_finds_the_same_zombies_as_prefect() {
    let prefect = zombie_fleet(EngineConfig::default(), Duration::ZERO);
    assert_eq!(prefect.len(), 2, "runs 1 and 3 die: {prefect:?}");
    assert!(prefect.iter().all(|f| f.0 == FiringKind::Proactive));
    assert_eq!(
        prefect[0].3,
        BASE + Duration::from_secs(180),
        "run 1: 90 + 90"
    );
    assert_eq!(
        prefect[1].3,
        BASE + Duration::from_secs(340),
        "run 3: 247 + 90, next tick"
    );
    for l in [0u64, 1, 15, 45, 120] {
        let l = Duration::from_secs(l);
        let config = EngineConfig {
            allowed_lateness: Some(l),
            ..EngineConfig::default()
        };
        assert_eq!(zombie_fleet(config, l), prefect, "allowed lateness {l:?}");
    }
}

#[test]
fn without_lateness_delivery_order_matters_and_with_it_it_does_not() {
    // Run 0 beats at 0 s and (delivered 100 s later, together) at 100 s: the property
    // above is not vacuous, Prefect's own evaluation depends on the order.
    let beat = |rel| Op::Event {
        resource: 0,
        name: 0,
        occurred: When::Rel(rel),
        follows: None,
    };
    let zombie = Op::AddTrigger {
        kind: TriggerKind::Zombie,
        within: Within::Default,
    };
    let ticks = |ops: &mut Vec<Op>| ops.extend([Op::Tick(Step::Forward(2_000)); 3]);
    let mut in_order = vec![
        zombie,
        Op::Tick(Step::Forward(1_000)),
        beat(-1_000),
        beat(0),
    ];
    let mut reversed = vec![
        zombie,
        Op::Tick(Step::Forward(1_000)),
        beat(0),
        beat(-1_000),
    ];
    ticks(&mut in_order);
    ticks(&mut reversed);
    // the same events (ids are given in order of appearance: swap them back)
    let (a, b) = (timeline(&in_order), timeline(&reversed));
    let mut b_swapped = b.clone();
    b_swapped.actions.swap(2, 3);
    let ids = |t: &Timeline| -> Vec<_> {
        t.actions
            .iter()
            .filter_map(|x| match x {
                Action::Deliver(e) => Some((e.occurred, e.event.clone())),
                _ => None,
            })
            .collect()
    };
    assert_eq!(ids(&a), ids(&b_swapped));
    let prefect = EngineConfig::default();
    assert_ne!(
        run_timeline(prefect, &a).firings,
        run_timeline(prefect, &b).firings
    );
    let late = with_lateness(Duration::from_secs(150), LatePolicy::Drop, Entry::Consumer);
    let (fa, fb) = (
        run_timeline(late, &a).firings,
        run_timeline(late, &b).firings,
    );
    assert_eq!(fa.len(), 1, "{fa:?}");
    assert_eq!(
        fa.iter()
            .map(|f| (f.window, f.at, f.kind))
            .collect::<Vec<_>>(),
        fb.iter()
            .map(|f| (f.window, f.at, f.kind))
            .collect::<Vec<_>>()
    );
}

/// Findings in the engine, kept as regression tests.
mod findings {
    use super::*;

    /// Found by `extreme_instants_and_windows_never_panic`: the seen-id cache stores
    /// `now + dedup_window`, which saturates to `Instant::MAX`, and an id was seen only
    /// while `now < expiry`, so at a wall clock of exactly `Instant::MAX` nothing was a
    /// duplicate. A saturated expiry now never expires.
    #[test]
    fn redelivery_at_the_last_instant_is_a_duplicate() {
        let t = timeline(&[
            Op::AddTrigger {
                kind: TriggerKind::Reactive,
                within: Within::Default,
            },
            Op::Tick(Step::To(u64::MAX)),
            Op::Event {
                resource: 0,
                name: 0,
                occurred: When::Rel(0),
                follows: None,
            },
            Op::Redeliver(0),
        ]);
        let report = run_timeline(EngineConfig::default(), &t);
        assert_eq!(report.outcomes[1], Ok(EventOutcome::Duplicate));
    }
}
