//! The index on engine storage against the owned-`PySet` model it replaced.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::super::pyset::{ArenaElement, PySet, SetArena, SetEntry, Union};
use super::super::tests::trigger;
use super::super::{AddTriggerError, Capacity, Engine, EngineConfig, Node, NodeKind, TriggerId};
use crate::hash::FxHashMap;
use crate::store::{Fixed, Storage};
use crate::test_rng::Rng;

/// Small fixed storage: 12 trigger nodes.
type SmallStorage = Fixed<12, 512, 64, 64, 4, 256, 4, 16, 512>;
/// An engine on it.
type Small = Engine<SmallStorage>;
/// The smallest: 4 trigger nodes (4 patterns, 64 table slots).
type Tiny = Engine<Fixed<4, 512, 16, 64, 4, 256, 4, 16, 512>>;

/// The index as the old code kept it: built from the loaded triggers in load order
/// into owned sets; `None` when one has no UUID id.
fn model<S: Storage>(e: &Engine<S>) -> Option<Vec<(String, PySet)>> {
    let mut live: Vec<(u64, u32)> = e
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n {
            Some(n) if matches!(&n.kind, NodeKind::Event(ev) if !ev.shadowed) => {
                Some((n.order, i as u32))
            }
            _ => None,
        })
        .collect();
    live.sort_unstable();
    let mut index: Vec<(String, PySet)> = Vec::new();
    for (_, idx) in live {
        let Some(Node {
            kind: NodeKind::Event(ev),
            ..
        }) = &e.nodes[idx as usize]
        else {
            unreachable!()
        };
        let hash = ev.py_hash?;
        for key in ev.compiled.index_keys() {
            match index.iter_mut().find(|(p, _)| p == key) {
                Some((_, set)) => set.add(hash, idx),
                None => {
                    let mut set = PySet::default();
                    set.add(hash, idx);
                    index.push((key.to_string(), set));
                }
            }
        }
    }
    Some(index)
}

/// `candidate_ids` of the model for `name`, in iteration order.
fn model_order(index: &[(String, PySet)], name: &str) -> Vec<u32> {
    let mut set = PySet::default();
    for (pattern, ids) in index {
        if crate::matcher::fnmatch(pattern, name) {
            set.update(ids);
        }
    }
    set.iter().collect()
}

const PATTERNS: [&str; 8] = ["a.x", "a.y", "a.*", "b.x", "*", "b.*", "c", "*.x"];
const NAMES: [&str; 6] = ["a.x", "a.y", "b.x", "b.z", "c", "d"];

/// A random event trigger: a UUID id from a small pool (so ids repeat and replace
/// earlier triggers), now and then none; up to three `expect` patterns and one
/// `after`.
fn event_json(rng: &mut Rng, plain: bool) -> String {
    let id = match rng.below(40) {
        0 if plain => String::new(),
        _ => format!(
            r#""id": "00000000-0000-0000-0000-{:012x}","#,
            // small ints collide in CPython tables; a few large ones perturb
            if rng.below(4) == 0 {
                u64::from(rng.next()) << 16
            } else {
                rng.below(60) as u64
            }
        ),
    };
    let mut list = |max: usize| {
        let n = rng.below(max + 1);
        let items: Vec<String> = (0..n)
            .map(|_| format!("\"{}\"", PATTERNS[rng.below(PATTERNS.len())]))
            .collect();
        items.join(", ")
    };
    let expect = list(3);
    let after = list(1);
    format!(
        r#"{{"type": "event", {id} "expect": [{expect}], "after": [{after}],
            "posture": "Reactive", "threshold": 1, "within": 0}}"#
    )
}

/// A random trigger: an event trigger or a compound of two or three (`plain`: some
/// without an id).
fn random_trigger(rng: &mut Rng, plain: bool) -> crate::trigger::Trigger {
    if rng.below(3) == 0 {
        return trigger(&event_json(rng, plain));
    }
    let children: Vec<String> = (0..2 + rng.below(2))
        .map(|_| event_json(rng, plain))
        .collect();
    trigger(&format!(
        r#"{{"type": "compound", "require": "any", "within": null, "triggers": [{}]}}"#,
        children.join(", ")
    ))
}

/// Every name's order, and that of a subset of its candidates, as the model's;
/// how many names the set reorders (`None`: the index is off).
fn check<S: Storage>(e: &mut Engine<S>, step: usize) -> Option<usize> {
    let model = model(e);
    assert_eq!(model.is_some(), e.py_index.is_on(), "step {step}: on/off");
    let index = model?;
    let mut reordered = 0;
    for name in NAMES {
        let want = model_order(&index, name);
        let by_load = |c: &mut Vec<u32>| {
            c.sort_by_key(|&t| e.nodes[t as usize].as_ref().map(|n| n.order));
        };
        let mut all = want.clone();
        by_load(&mut all);
        reordered += usize::from(all != want);
        let mut some: Vec<u32> = want.iter().copied().step_by(2).collect();
        by_load(&mut some);
        e.py_index.order(&e.nodes, name, &mut all);
        e.py_index.order(&e.nodes, name, &mut some);
        assert_eq!(all, want, "step {step}: {name}");
        let want_some: Vec<u32> = want.iter().copied().step_by(2).collect();
        assert_eq!(some, want_some, "step {step}: {name}, a subset");
    }
    Some(reordered)
}

/// What a differential run saw: loads refused, checks with the index on, names
/// reordered.
#[derive(Default, Debug)]
struct Seen {
    refused: usize,
    on: usize,
    reordered: usize,
}

/// Random loads and removals; the index orders as the model after each.
fn differential<S: Storage>(seed: u32, steps: usize, seen: &mut Seen) {
    let mut rng = Rng(seed);
    let plain = seed.is_multiple_of(5);
    let mut e = Engine::<S>::create(EngineConfig::default());
    let mut loaded: Vec<u32> = Vec::new();
    for step in 0..steps {
        if !loaded.is_empty() && rng.below(4) == 0 {
            let id = loaded.swap_remove(rng.below(loaded.len()));
            assert!(e.remove_trigger(TriggerId(id)));
        } else {
            let t = random_trigger(&mut rng, plain);
            let before = model(&e).map(|m| NAMES.map(|n| model_order(&m, n)));
            match e.add_trigger(TriggerId(step as u32), &t) {
                Ok(()) => loaded.push(step as u32),
                Err(AddTriggerError::Full(_)) => {
                    seen.refused += 1;
                    let after = model(&e).map(|m| NAMES.map(|n| model_order(&m, n)));
                    assert_eq!(before, after, "step {step}: a refusal changes nothing");
                    assert_eq!(e.trigger_count(), loaded.len());
                }
                Err(other) => panic!("step {step}: {other:?}"),
            }
        }
        if let Some(reordered) = check(&mut e, step) {
            seen.on += 1;
            seen.reordered += reordered;
        }
    }
}

#[test]
fn the_index_orders_as_the_owned_sets_did_on_growable_storage() {
    let mut seen = Seen::default();
    for seed in 1..=20 {
        differential::<crate::store::Growable>(seed * 7919, 120, &mut seen);
    }
    std::println!("growable: {seen:?}");
    assert_eq!(seen.refused, 0);
    assert!(seen.on > 1500 && seen.reordered > 1000, "{seen:?}");
}

#[test]
fn the_index_orders_as_the_owned_sets_did_on_fixed_storage() {
    let mut seen = Seen::default();
    for seed in 1..=40 {
        differential::<SmallStorage>(seed * 104_729, 120, &mut seen);
    }
    std::println!("fixed: {seen:?}");
    assert!(seen.refused > 100, "the small storage fills up: {seen:?}");
    assert!(seen.on > 3000 && seen.reordered > 1000, "{seen:?}");
}

#[test]
fn union_updates_as_cpython_sets() {
    type Arena = SetArena<
        u8,
        u32,
        FxHashMap<u8, SetEntry>,
        alloc::collections::BTreeMap<u32, u8>,
        Vec<ArenaElement<u32>>,
    >;
    let hash = |x: &u32| u64::from(*x % 97) * 13 + u64::from(*x / 97);
    let mut rng = Rng(0x9e37_79b9);
    for round in 0..2000 {
        let mut arena = Arena::default();
        let mut owned: Vec<PySet> = Vec::new();
        let sets = 1 + rng.below(5);
        for k in 0..sets {
            let mut set = PySet::default();
            for _ in 0..rng.below(30) {
                let x = rng.below(200) as u32;
                assert!(arena.add(k as u8, x, hash));
                set.add(hash(&x), x);
            }
            owned.push(set);
        }
        let mut want = PySet::default();
        let mut growable: Vec<ArenaElement<u32>> = Vec::new();
        let mut fixed: heapless::Vec<ArenaElement<u32>, 64> = heapless::Vec::new();
        let mut a = Union::start(&mut growable).unwrap();
        let mut b = Union::start(&mut fixed).unwrap();
        for _ in 0..rng.below(6) {
            let k = rng.below(sets);
            want.update(&owned[k]);
            if let Some((table, counts)) = arena.table_of(&(k as u8)) {
                assert!(a.update(&mut growable, table, counts, hash));
                assert!(b.update(&mut fixed, table, counts, hash));
            }
        }
        let want: Vec<u32> = want.iter().collect();
        assert_eq!(a.iter(&growable).collect::<Vec<_>>(), want, "round {round}");
        assert_eq!(b.iter(&fixed).collect::<Vec<_>>(), want, "round {round}");
        for (i, &x) in want.iter().enumerate() {
            let at = a.position(&growable, hash(&x), x).unwrap();
            assert_eq!(
                want.iter()
                    .filter(|&&y| { a.position(&growable, hash(&y), y).unwrap() < at })
                    .count(),
                i
            );
        }
    }
}

#[test]
fn a_full_index_refuses_a_trigger_and_changes_nothing() {
    let event = |id: u32, expect: &[&str]| {
        let list: Vec<String> = expect.iter().map(|p| format!("\"{p}\"")).collect();
        trigger(&format!(
            r#"{{"type": "event", "id": "00000000-0000-0000-0000-{id:012x}",
                "expect": [{}], "posture": "Reactive", "threshold": 1, "within": 0}}"#,
            list.join(", ")
        ))
    };
    let mut e = Tiny::create(EngineConfig::default());
    // five patterns: more than 4 trigger nodes index
    assert_eq!(
        e.add_trigger(TriggerId(1), event(1, &["p1", "p2", "p3", "p4", "p5"])),
        Err(AddTriggerError::Full(Capacity::TriggerNodes))
    );
    assert_eq!(e.trigger_count(), 0);
    e.add_trigger(TriggerId(2), event(2, &["p1", "p2"]))
        .unwrap();
    e.add_trigger(TriggerId(3), event(3, &["p3", "p*"]))
        .unwrap();
    let before = model(&e).map(|m| NAMES.map(|n| model_order(&m, n)));
    assert_eq!(
        e.add_trigger(TriggerId(4), event(4, &["p5"])),
        Err(AddTriggerError::Full(Capacity::TriggerNodes))
    );
    assert_eq!(e.trigger_count(), 2);
    assert_eq!(model(&e).map(|m| NAMES.map(|n| model_order(&m, n))), before);
    check(&mut e, 0);
    // a known pattern takes no new set
    e.add_trigger(TriggerId(5), event(5, &["p1"])).unwrap();
    check(&mut e, 1);
    // once a trigger leaves, there is room again
    assert!(e.remove_trigger(TriggerId(3)));
    e.add_trigger(TriggerId(4), event(4, &["p5"])).unwrap();
    check(&mut e, 2);
    // without ids Prefect's order is not emulated: no index, no limit
    let mut e = Tiny::create(EngineConfig::default());
    let plain = trigger(
        r#"{"type": "event", "expect": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "posture": "Reactive", "threshold": 1, "within": 0}"#,
    );
    e.add_trigger(TriggerId(1), plain).unwrap();
    assert!(!e.py_index.is_on());
}

#[test]
fn a_small_fixed_index_holds_a_pattern_shared_by_every_node() {
    // 12 nodes under one pattern: a 32-slot table, then a 128-slot one (the arena
    // has 192 slots) — and the candidate_ids scratch holds their union
    let mut e = Small::create(EngineConfig::default());
    for n in 0..12u32 {
        let t = trigger(&format!(
            r#"{{"type": "event", "id": "00000000-0000-0000-0000-{:012x}",
                "expect": ["a.*"], "posture": "Reactive", "threshold": 1, "within": 0}}"#,
            u64::from(n) * 8 + 3
        ));
        e.add_trigger(TriggerId(n), t).unwrap();
        check(&mut e, n as usize);
    }
}
