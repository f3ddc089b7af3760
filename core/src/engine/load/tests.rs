//! Loading triggers from borrowed definitions, on fixed storage: packed triggers and
//! their byte bound, the scan router, Prefect ids.

use super::super::tests::{at, trigger, Ev, ZOMBIE};
use super::*;
use crate::engine::{EngineConfig, OwnedFiring as Firing};
use crate::store::{Fixed, Growable};
use crate::time::Duration;
use crate::trigger::{
    CompoundTriggerDef, EventTriggerDef, SequenceTriggerDef, SpecDef, SpecDefs, Strs, Trigger,
    TriggerDefs,
};
use alloc::vec::Vec;

type Small = Fixed<8, 200, 8, 64, 8, 256, 8, 8, 512>;

const ZOMBIE_DEF: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
    id: None,
    match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*"])]),
    match_related: SpecDefs::EMPTY,
    // unsorted, with duplicates: normalized while compiled
    after: Strs::Borrowed(&["prefect.flow-run.heartbeat", "prefect.flow-run.heartbeat"]),
    expect: Strs::Borrowed(&["prefect.flow-run.*"]),
    for_each: Strs::Borrowed(&["prefect.resource.id"]),
    posture: Posture::Proactive,
    threshold: 1,
    within: Duration::from_secs(90),
});

const LONG: &str = "prefect.flow-run.a-very-long-event-name-that-takes-many-bytes-to-store.*";

const TOO_BIG: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
    id: None,
    match_: SpecDef::Borrowed(&[("prefect.resource.id", &[LONG])]),
    match_related: SpecDefs::EMPTY,
    after: Strs::Borrowed(&[LONG]),
    expect: Strs::Borrowed(&[LONG]),
    for_each: Strs::EMPTY,
    posture: Posture::Reactive,
    threshold: 1,
    within: Duration::ZERO,
});

fn drain<S: Storage>(e: &mut Engine<S>) -> Vec<Firing> {
    core::iter::from_fn(|| e.poll_action().map(|f| f.to_owned())).collect()
}

/// Heartbeats for runs 1 and 2, then silence: the zombie trigger fires for both.
fn zombie_run<S: Storage>(e: &mut Engine<S>) -> Vec<Firing> {
    let mut out = Vec::new();
    for (n, run) in [(1, "prefect.flow-run.1"), (2, "prefect.flow-run.2")] {
        let ev = Ev::new(n, "prefect.flow-run.heartbeat", run, u64::from(n));
        e.handle_event(&ev.view(), at(u64::from(n))).unwrap();
        out.extend(drain(e));
    }
    e.handle_timeout(at(200));
    out.extend(drain(e));
    out
}

#[test]
fn a_borrowed_definition_loads_on_fixed_storage_as_the_owned_trigger_does() {
    let mut fixed = Engine::<Small>::create(EngineConfig::default());
    fixed.add_trigger(TriggerId(1), ZOMBIE_DEF).unwrap();
    let mut growable = Engine::new(EngineConfig::default());
    growable.add_trigger(TriggerId(1), trigger(ZOMBIE)).unwrap();
    let (a, b) = (zombie_run(&mut fixed), zombie_run(&mut growable));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
    // the same fingerprint as the owned, validated trigger
    assert_eq!(
        fixed.fingerprints.get(&TriggerId(1)),
        growable.fingerprints.get(&TriggerId(1))
    );
    // by reference too
    let mut by_ref = Engine::<Small>::create(EngineConfig::default());
    let def: &TriggerDef<'_> = &ZOMBIE_DEF;
    by_ref.add_trigger(TriggerId(1), def).unwrap();
    let owned = trigger(ZOMBIE);
    by_ref.add_trigger(TriggerId(2), &owned).unwrap();
    assert_eq!(by_ref.trigger_count(), 2);
}

#[test]
fn a_trigger_too_large_packed_is_refused_before_anything_changes() {
    assert!(
        CompiledEventTrigger::<Vec<u8>>::packed_len(match &TOO_BIG {
            TriggerDef::Event(e) => e,
            _ => unreachable!(),
        }) > Small::TRIGGER_BYTES
    );
    let mut e = Engine::<Small>::create(EngineConfig::default());
    assert_eq!(e.config().capacities.trigger_bytes, 200);
    assert_eq!(
        e.add_trigger(TriggerId(1), TOO_BIG),
        Err(AddTriggerError::Full(Capacity::TriggerBytes))
    );
    // in a composite, after a child that fits: nothing of the tree is loaded
    let children = [ZOMBIE_DEF, TOO_BIG];
    let tree = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: None,
        triggers: TriggerDefs::Borrowed(&children),
    });
    assert_eq!(
        e.add_trigger(TriggerId(2), tree),
        Err(AddTriggerError::Full(Capacity::TriggerBytes))
    );
    assert_eq!(e.trigger_count(), 0);
    assert!(e.nodes.iter().all(Option::is_none) && e.nodes.is_empty());
    // what fits still loads and works
    e.add_trigger(TriggerId(3), ZOMBIE_DEF).unwrap();
    assert_eq!(zombie_run(&mut e).len(), 2);
    // the error names what to raise
    let text = AddTriggerError::Full(Capacity::TriggerBytes).to_string();
    assert!(
        text.contains("TRIGGER_BYTES") && text.contains("trigger_bytes"),
        "{text}"
    );
    // a growable engine is bounded by its configuration alone
    let mut config = EngineConfig::default();
    config.capacities.trigger_bytes = 200;
    let mut g = Engine::new(config);
    assert_eq!(
        g.add_trigger(TriggerId(1), TOO_BIG),
        Err(AddTriggerError::Full(Capacity::TriggerBytes))
    );
    g.add_trigger(TriggerId(2), ZOMBIE_DEF).unwrap();
}

#[test]
fn an_invalid_borrowed_definition_is_refused_with_the_owned_error() {
    let short = TriggerDef::Event(EventTriggerDef {
        within: Duration::from_secs(3),
        ..match ZOMBIE_DEF {
            TriggerDef::Event(e) => e,
            _ => unreachable!(),
        }
    });
    let mut e = Engine::<Small>::create(EngineConfig::default());
    let Err(AddTriggerError::Invalid(err)) = e.add_trigger(TriggerId(1), short) else {
        panic!("accepted");
    };
    assert_eq!(err.path, "within");
    assert_eq!(e.trigger_count(), 0);
}

const PID: &str = "0b8ac2e5-6a3c-4a43-9e3a-4a4bd4ab9e01";

fn with_id(id: &'static str) -> TriggerDef<'static> {
    match ZOMBIE_DEF {
        TriggerDef::Event(e) => TriggerDef::Event(EventTriggerDef { id: Some(id), ..e }),
        other => other,
    }
}

#[test]
fn prefect_ids_are_found_in_the_packed_triggers() {
    let mut e = Engine::<Small>::create(EngineConfig::default());
    e.add_trigger(TriggerId(1), with_id(PID)).unwrap();
    let first = e.prefect_id_owner(PID).unwrap();
    // a composite carrying the same id nested: it replaces trigger 1's node
    let children = [with_id(PID)];
    let tree = TriggerDef::Compound(CompoundTriggerDef {
        id: None,
        require: crate::trigger::Require::Any,
        within: None,
        triggers: TriggerDefs::Borrowed(&children),
    });
    e.add_trigger(TriggerId(2), tree).unwrap();
    let second = e.prefect_id_owner(PID).unwrap();
    assert_ne!(first, second);
    assert!(matches!(
        &e.nodes[first as usize],
        Some(Node { kind: NodeKind::Event(ev), .. }) if ev.shadowed
    ));
    // removing the shadowed tree keeps the owner; removing the owner frees the id
    assert!(e.remove_trigger(TriggerId(1)));
    assert_eq!(e.prefect_id_owner(PID), Some(second));
    assert!(e.remove_trigger(TriggerId(2)));
    assert_eq!(e.prefect_id_owner(PID), None);
    assert!(e.by_prefect_id.is_empty());
    e.add_trigger(TriggerId(3), with_id(PID)).unwrap();
    assert!(e.prefect_id_owner(PID).is_some());
    assert_eq!(e.prefect_id_collisions, 0);
}

#[test]
fn the_route_cache_skips_names_too_long_to_keep() {
    // RouteName holds EVENT_BYTES = 8 bytes here
    type Short = Fixed<8, 200, 8, 64, 8, 8, 8, 8, 512>;
    let mut e = Engine::<Short>::create(EngineConfig::default());
    e.add_trigger(TriggerId(1), ZOMBIE_DEF).unwrap();
    e.route("prefect.flow-run.heartbeat");
    assert!(!e.route_cache.valid);
    assert_eq!(e.route_cache.routes.len(), 1);
    e.route("x");
    assert!(e.route_cache.valid);
    assert_eq!(e.route_cache.routes.len(), 0);
    // and the run is the same as on the growable engine
    let mut g = Engine::<Growable>::create(EngineConfig::default());
    g.add_trigger(TriggerId(1), ZOMBIE_DEF).unwrap();
    assert_eq!(zombie_run(&mut e), zombie_run(&mut g));
}

#[test]
fn owned_triggers_still_load_by_value() {
    let t: Trigger = trigger(ZOMBIE);
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), t).unwrap();
    assert_eq!(e.trigger_count(), 1);
}

mod fixed_vs_growable {
    //! Random trigger sets (patterns, Prefect ids that repeat, removals) and events:
    //! the fixed engine (scan router, packed triggers in fixed buffers, ids in a
    //! fixed table) fires exactly as the growable one.

    use super::*;
    use crate::event::EventId;
    use proptest::prelude::*;

    // room for everything a run can hold: 8 triggers × 16 events
    type Room = Fixed<24, 256, 256, 64, 256, 256, 64, 256, 512>;

    const PATTERNS: &[&str] = &["a", "a.*", "a.b", "b.?", "*", "!a", "a.b*"];
    const NAMES: &[&str] = &["a", "a.b", "a.bc", "b.x", "c", "!a"];
    const IDS: &[&str] = &[
        "0b8ac2e5-6a3c-4a43-9e3a-4a4bd4ab9e01",
        "1b8ac2e5-6a3c-4a43-9e3a-4a4bd4ab9e01",
    ];
    const RUNS: &[&str] = &["r1", "r2"];

    #[derive(Clone, Debug)]
    struct Spec {
        expect: Vec<&'static str>,
        after: Vec<&'static str>,
        for_each: bool,
        proactive: bool,
        id: Option<&'static str>,
        removed: bool,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let pats = || prop::collection::vec(prop::sample::select(PATTERNS), 0..3);
        (
            pats(),
            pats(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(prop::sample::select(IDS)),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(expect, after, for_each, proactive, id, removed)| Spec {
                expect,
                after,
                for_each,
                proactive,
                id,
                removed,
            })
    }

    fn run<S: Storage>(specs: &[Spec], events: &[(usize, usize, u64)]) -> Vec<Firing> {
        let mut e = Engine::<S>::create(EngineConfig::default());
        for (i, s) in specs.iter().enumerate() {
            let def = TriggerDef::Event(EventTriggerDef {
                id: s.id,
                match_: SpecDef::EMPTY,
                match_related: SpecDefs::EMPTY,
                after: Strs::Borrowed(&s.after),
                expect: Strs::Borrowed(&s.expect),
                for_each: if s.for_each {
                    Strs::Borrowed(&["prefect.resource.id"])
                } else {
                    Strs::EMPTY
                },
                posture: if s.proactive {
                    Posture::Proactive
                } else {
                    Posture::Reactive
                },
                threshold: 1,
                within: Duration::from_secs(30),
            });
            e.add_trigger(TriggerId(i as u32), def).unwrap();
        }
        for (i, s) in specs.iter().enumerate() {
            if s.removed {
                assert!(e.remove_trigger(TriggerId(i as u32)));
            }
        }
        let mut out = Vec::new();
        for (n, &(name, run, secs)) in events.iter().enumerate() {
            let resource = [("prefect.resource.id", RUNS[run])];
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
            let ev = crate::event::Event {
                id: EventId(id),
                event: NAMES[name],
                occurred: at(secs),
                received: at(secs),
                resource: crate::event::Labels::Pairs(&resource),
                related: crate::event::Related::EMPTY,
                follows: None,
            };
            e.handle_event(&ev, at(secs)).unwrap();
            out.extend(drain(&mut e));
            e.handle_timeout(at(secs));
            out.extend(drain(&mut e));
        }
        e.handle_timeout(at(1_000));
        out.extend(drain(&mut e));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_fixed_engine_fires_as_the_growable_one(
            specs in prop::collection::vec(spec(), 1..8),
            mut events in prop::collection::vec((0..NAMES.len(), 0..RUNS.len(), 0u64..120), 0..16),
        ) {
            events.sort_by_key(|e| e.2);
            let growable = run::<Growable>(&specs, &events);
            let fixed = run::<Room>(&specs, &events);
            prop_assert_eq!(fixed, growable);
        }
    }
}
