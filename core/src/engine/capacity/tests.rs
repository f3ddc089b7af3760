//! Each capacity's overflow: a typed error naming it, nothing changed, nothing
//! accepted lost, the counters; and ticks cut short by the pending firings.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::super::tests::{at, drain, id, trigger, Ev, ZOMBIE};
use super::super::*;

const HB: &str = "prefect.flow-run.heartbeat";
const FAILED: &str = "prefect.flow-run.Failed";
const COMPLETED: &str = "prefect.flow-run.Completed";
/// Fires on every `Failed` event, per flow run.
const ON_FAILED: &str = r#"{"type": "event", "expect": ["prefect.flow-run.Failed"],
  "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 1, "within": 0}"#;

fn bounded(capacities: Capacities, triggers: &[&str]) -> Engine {
    let mut e = Engine::new(EngineConfig {
        capacities,
        ..EngineConfig::default()
    });
    for (i, t) in triggers.iter().enumerate() {
        e.add_trigger(TriggerId(i as u32), trigger(t)).unwrap();
    }
    e
}

fn caps(f: impl FnOnce(&mut Capacities)) -> Capacities {
    let mut c = Capacities::UNBOUNDED;
    f(&mut c);
    c
}

fn full(c: Capacity) -> Result<EventOutcome, HandleEventError> {
    Err(HandleEventError::Full(c))
}

#[test]
fn full_keys_refuse_new_runs_but_not_the_runs_already_tracked() {
    let mut e = bounded(caps(|c| c.keys = 2), &[ZOMBIE]);
    e.handle_event(&Ev::new(1, HB, "prefect.flow-run.A", 0).view(), at(0))
        .unwrap();
    e.handle_event(&Ev::new(2, HB, "prefect.flow-run.B", 0).view(), at(0))
        .unwrap();
    let c = Ev::new(3, HB, "prefect.flow-run.C", 1);
    assert_eq!(e.handle_event(&c.view(), at(1)), full(Capacity::Keys));
    assert_eq!(e.tracked_keys(), 2);
    assert_eq!(e.stats().refused_full, 1);
    assert_eq!(
        e.stats().events,
        2,
        "the refused event is not counted as handled"
    );
    // a run already tracked needs no new key
    e.handle_event(&Ev::new(4, HB, "prefect.flow-run.A", 30).view(), at(30))
        .unwrap();
    // B goes silent: its window ends at 90, it fires, its key is dropped
    e.handle_timeout(at(90));
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].labels[0].1, "prefect.flow-run.B");
    assert_eq!(e.tracked_keys(), 1);
    // the refused event was not remembered as seen: delivered again, it is taken
    assert_eq!(
        e.handle_event(&c.view(), at(91)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(e.tracked_keys(), 2);
}

#[test]
fn a_key_longer_than_key_bytes_is_refused() {
    // "prefect.flow-run.A" is 18 bytes: the key is a 1-byte length and the bytes
    let hb = Ev::new(1, HB, "prefect.flow-run.A", 0);
    let mut e = bounded(caps(|c| c.key_bytes = 18), &[ZOMBIE]);
    assert_eq!(e.handle_event(&hb.view(), at(0)), full(Capacity::KeyBytes));
    assert_eq!(e.tracked_keys(), 0);
    let mut e = bounded(caps(|c| c.key_bytes = 19), &[ZOMBIE]);
    assert_eq!(
        e.handle_event(&hb.view(), at(0)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(e.tracked_keys(), 1);
}

#[test]
fn full_held_events_refuse_another_held_event() {
    // `Completed` with no window open: the zombie trigger (Proactive, with `after`)
    // holds it (Prefect 3.9)
    let mut e = bounded(caps(|c| c.held_events = 1), &[ZOMBIE]);
    e.handle_event(
        &Ev::new(1, COMPLETED, "prefect.flow-run.A", 0).view(),
        at(0),
    )
    .unwrap();
    assert_eq!(e.held_events(), 1);
    let b = Ev::new(2, COMPLETED, "prefect.flow-run.B", 1);
    assert_eq!(e.handle_event(&b.view(), at(1)), full(Capacity::HeldEvents));
    assert_eq!((e.held_events(), e.tracked_keys()), (1, 1));
    // held events are swept after their retention (30 min): then there is room
    e.handle_timeout(at(1801));
    assert_eq!(e.held_events(), 0);
    assert_eq!(
        e.handle_event(&b.view(), at(1801)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(e.held_events(), 1);
}

#[test]
fn full_waitlist_refuses_another_follower_and_keeps_the_waiting_one() {
    let mut e = bounded(caps(|c| c.waiting_followers = 1), &[ON_FAILED]);
    let mut f1 = Ev::new(1, FAILED, "prefect.flow-run.A", 0);
    f1.follows = Some(id(100));
    let mut f2 = Ev::new(2, FAILED, "prefect.flow-run.B", 0);
    f2.follows = Some(id(200));
    assert_eq!(
        e.handle_event(&f1.view(), at(0)),
        Ok(EventOutcome::WaitingForLeader)
    );
    assert_eq!(
        e.handle_event(&f2.view(), at(0)),
        full(Capacity::WaitingFollowers)
    );
    // the same follower again replaces itself: no new room needed
    assert_eq!(
        e.handle_event(&f1.view(), at(1)),
        Ok(EventOutcome::WaitingForLeader)
    );
    assert_eq!(e.waiting_followers(), 1);
    // its leader comes: the follower is evaluated (and fires)
    let leader = Ev::new(100, "prefect.flow-run.Running", "prefect.flow-run.A", 2);
    e.handle_event(&leader.view(), at(2)).unwrap();
    assert_eq!(e.waiting_followers(), 0);
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].event, Some(id(1)));
    assert_eq!(
        e.handle_event(&f2.view(), at(3)),
        Ok(EventOutcome::WaitingForLeader)
    );
}

#[test]
fn a_waiting_follower_keeps_its_key_reserved_until_it_is_evaluated() {
    let mut e = bounded(caps(|c| c.keys = 2), &[ZOMBIE]);
    let mut follower = Ev::new(1, HB, "prefect.flow-run.B", 0);
    follower.follows = Some(id(100));
    e.handle_event(&follower.view(), at(0)).unwrap();
    e.handle_event(&Ev::new(2, HB, "prefect.flow-run.A", 0).view(), at(0))
        .unwrap();
    // one key used, one reserved for the follower
    let c = Ev::new(3, HB, "prefect.flow-run.C", 0);
    assert_eq!(e.handle_event(&c.view(), at(0)), full(Capacity::Keys));
    // a second event trigger would need a second reserved key: refused too
    assert_eq!(
        e.add_trigger(TriggerId(9), trigger(ON_FAILED)),
        Err(AddTriggerError::Full(Capacity::Keys))
    );
    assert_eq!(e.trigger_count(), 1);
    // the leader (of run A, tracked already) releases the follower into its key
    let mut leader = Ev::new(100, HB, "prefect.flow-run.A", 1);
    leader.follows = None;
    e.handle_event(&leader.view(), at(1)).unwrap();
    assert_eq!((e.waiting_followers(), e.tracked_keys()), (0, 2));
}

#[test]
fn buffered_events_reserve_keys_too() {
    let mut e = Engine::new(EngineConfig {
        allowed_lateness: Some(Duration::from_secs(10)),
        capacities: caps(|c| c.keys = 1),
        ..EngineConfig::default()
    });
    e.add_trigger(TriggerId(0), trigger(ZOMBIE)).unwrap();
    let a = Ev::new(1, HB, "prefect.flow-run.A", 0);
    let b = Ev::new(2, HB, "prefect.flow-run.B", 0);
    assert_eq!(e.handle_event(&a.view(), at(0)), Ok(EventOutcome::Buffered));
    assert_eq!(e.handle_event(&b.view(), at(0)), full(Capacity::Keys));
    e.handle_timeout(at(11));
    assert_eq!((e.buffered_events(), e.tracked_keys()), (0, 1));
}

#[test]
fn an_event_that_could_overfill_the_pending_firings_waits_for_a_drain() {
    let mut e = bounded(caps(|c| c.pending_firings = 1), &[ON_FAILED]);
    e.handle_event(&Ev::new(1, FAILED, "prefect.flow-run.A", 0).view(), at(0))
        .unwrap();
    assert_eq!(e.pending_firings(), 1);
    let second = Ev::new(2, FAILED, "prefect.flow-run.B", 1);
    assert_eq!(
        e.handle_event(&second.view(), at(1)),
        full(Capacity::PendingFirings)
    );
    assert_eq!(drain(&mut e).len(), 1);
    // with none pending, an event is always taken (a draining caller makes progress)
    assert_eq!(
        e.handle_event(&second.view(), at(1)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(drain(&mut e).len(), 1);
}

/// Five runs heartbeat at 0 and go silent: all five windows end at 90.
fn five_silent_runs(capacities: Capacities) -> Engine {
    const RUNS: [&str; 5] = [
        "prefect.flow-run.A",
        "prefect.flow-run.B",
        "prefect.flow-run.C",
        "prefect.flow-run.D",
        "prefect.flow-run.E",
    ];
    let mut e = bounded(capacities, &[ZOMBIE]);
    for (i, run) in RUNS.iter().enumerate() {
        e.handle_event(&Ev::new(i as u32 + 1, HB, run, 0).view(), at(0))
            .unwrap();
    }
    e
}

#[test]
fn a_tick_stops_when_the_pending_firings_are_full_and_resumes_where_it_stopped() {
    let mut plain = five_silent_runs(Capacities::UNBOUNDED);
    plain.handle_timeout(at(90));
    let want = drain(&mut plain);
    assert_eq!(want.len(), 5);

    let mut e = five_silent_runs(caps(|c| c.pending_firings = 2));
    let mut got = Vec::new();
    e.handle_timeout(at(90));
    let mut rounds = 1;
    while e.tick_deferred() {
        assert_eq!(e.pending_firings(), 2);
        assert_eq!(e.poll_timeout(), Some(at(90)), "resume now");
        got.extend(drain(&mut e));
        // a snapshot taken in between carries the resume point
        let bytes = e.snapshot_to_vec();
        let (restored, _) = Engine::restore(
            *e.config(),
            alloc::vec![(TriggerId(0), trigger(ZOMBIE))],
            &bytes,
        )
        .unwrap();
        e = restored;
        e.handle_timeout(at(90));
        rounds += 1;
    }
    got.extend(drain(&mut e));
    assert_eq!(got, want);
    assert_eq!(rounds, 3);
    assert_eq!(e.stats().deferred_ticks, 2);
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn trigger_nodes_bound_whole_trees() {
    const COMPOUND: &str = r#"{"type": "compound", "require": "all", "within": 60, "triggers": [
      {"type": "event", "expect": ["a"], "posture": "Reactive", "threshold": 1, "within": 0},
      {"type": "event", "expect": ["b"], "posture": "Reactive", "threshold": 1, "within": 0}]}"#;
    let mut e = bounded(caps(|c| c.trigger_nodes = 3), &[COMPOUND]);
    assert_eq!(e.trigger_nodes(), 3);
    let refused = e.add_trigger(TriggerId(5), trigger(ON_FAILED));
    assert_eq!(refused, Err(AddTriggerError::Full(Capacity::TriggerNodes)));
    assert!(refused.unwrap_err().to_string().contains("trigger_nodes"));
    assert!(e.remove_trigger(TriggerId(0)));
    e.add_trigger(TriggerId(5), trigger(ON_FAILED)).unwrap();
    assert_eq!(e.trigger_nodes(), 1);
}

#[test]
fn a_snapshot_that_does_not_fit_is_refused_on_restore() {
    let e = five_silent_runs(Capacities::UNBOUNDED);
    let bytes = e.snapshot_to_vec();
    let small = EngineConfig {
        capacities: caps(|c| c.keys = 4),
        ..EngineConfig::default()
    };
    let triggers = || alloc::vec![(TriggerId(0), trigger(ZOMBIE))];
    let err = Engine::restore(small, triggers(), &bytes).unwrap_err();
    assert_eq!(err, RestoreError::Full(Capacity::Keys));
    let fits = EngineConfig {
        capacities: caps(|c| c.keys = 5),
        ..EngineConfig::default()
    };
    assert!(Engine::restore(fits, triggers(), &bytes).is_ok());
}

#[test]
fn errors_name_the_capacity_and_what_to_do() {
    let text = HandleEventError::Full(Capacity::PendingFirings).to_string();
    assert!(text.contains("pending_firings"), "{text}");
    assert!(text.contains("poll_action"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    let mut caps = Capacities::UNBOUNDED;
    for (n, c) in Capacity::ALL.into_iter().enumerate() {
        assert!(c
            .to_string()
            .contains(&alloc::format!("Capacities::{}", c.field())));
        assert_eq!(Capacity::from_field(c.field()), Some(c));
        caps.set(c, n);
    }
    assert_eq!(Capacity::from_field("Keys"), None);
    // each field set once, in declaration order
    let set = Capacities {
        trigger_nodes: 0,
        keys: 1,
        key_bytes: 2,
        held_events: 3,
        waiting_followers: 4,
        buffered_events: 5,
        event_bytes: 6,
        pending_firings: 7,
        trigger_bytes: 8,
        firing_bytes: 9,
    };
    assert_eq!(caps, set);
    assert!(Capacity::ALL
        .into_iter()
        .enumerate()
        .all(|(n, c)| set.get(c) == n));
}

/// The footprint formula of `benches/README.md` ("Footprint of the fixed engine"):
/// every container sized by `KEYS`, per key. A new per-key container must be added
/// here and there.
#[test]
fn fixed_engine_footprint_per_key() {
    use crate::store::Fixed;
    use core::mem::size_of;
    type Small = Engine<Fixed<4, 512, 0, 64, 4, 256, 4, 4, 512>>;
    type Large = Engine<Fixed<4, 512, 1024, 64, 4, 256, 4, 4, 512>>;
    let per_key = (size_of::<Large>() - size_of::<Small>()) / 1024;
    let state = size_of::<Option<crate::engine::keys::KeyState<heapless::Vec<u8, 64>>>>();
    let formula = state // key state, key bytes inline
        + 16 // compact wheel entry (no payload: the entry at the key's slot)
        + 8 // hash index: a pair of 4-byte entries
        + 4 + 4 // free list, tick batch
        + 4 // satisfied proactive windows queued for the next run
        + 2 * 2 * size_of::<Option<(u32, Instant)>>() // two side tables, 2 slots per key
        + size_of::<((Instant, u32), ())>() // overdue-timer set
        + size_of::<((u32, Instant, u32), ())>(); // bucket ends (scheduled mode)
    std::println!("fixed engine: {per_key} B per key with 64 key bytes ({state} B key state)");
    assert_eq!(per_key, formula);
}

/// The footprint of firings on fixed storage (`benches/README.md`): one packed
/// firing of `FIRING_BYTES` inline per pending firing, one per trigger node (its
/// stored firing in its parent composite), and one for the firing last polled; the
/// other containers with one entry per trigger node (the node itself, route cache,
/// candidates, Prefect ids, roots, fingerprints, free and proactive lists) come with
/// it.
#[test]
fn fixed_engine_footprint_of_firings() {
    use crate::store::Fixed;
    use core::mem::size_of;
    type Slot = heapless::Vec<u8, 512>;
    type Base = Engine<Fixed<4, 512, 4, 64, 4, 256, 4, 4, 512>>;
    type Firings = Engine<Fixed<4, 512, 4, 64, 4, 256, 4, 1028, 512>>;
    type Nodes = Engine<Fixed<1028, 512, 4, 64, 4, 256, 4, 4, 512>>;
    let per_firing = (size_of::<Firings>() - size_of::<Base>()) / 1024;
    assert_eq!(per_firing, size_of::<Slot>());
    let per_node = (size_of::<Nodes>() - size_of::<Base>()) / 1024;
    type Node = crate::engine::Node<Fixed<1028, 512, 4, 64, 4, 256, 4, 4, 512>>;
    let others = size_of::<crate::engine::eval::Route>() // route cache
        + size_of::<u32>() // candidates scratch
        + size_of::<u32>() // index_py's scratch
        + 2 * size_of::<Option<(u64, u32)>>() // Prefect ids, 2 slots per node
        + size_of::<Option<Node>>() // the node: its packed trigger inline
        + 4 + 4 // free list, proactive list
        + 2 * size_of::<Option<(TriggerId, u32)>>() // roots, 2 slots per node
        + 2 * size_of::<Option<(TriggerId, u64)>>() // fingerprints, 2 slots per node
        + py_index_per_node();
    assert_eq!(per_node, size_of::<Option<Slot>>() + others);
    std::println!("fixed engine: {per_firing} B per pending firing, {per_node} B per trigger node with 512 firing bytes");
}

/// The CPython index of event-name patterns on fixed storage, per trigger node: a
/// pattern, 16 table slots in the arena and 16 in the `candidate_ids` scratch, the
/// set table (2 slots) and the tables by position.
fn py_index_per_node() -> usize {
    use crate::engine::pyset::{ArenaElement, SetEntry};
    use core::mem::size_of;
    size_of::<crate::engine::pyindex::Pattern>()
        + 2 * size_of::<ArenaElement<u32>>()
        + 2 * size_of::<Option<(u32, SetEntry)>>()
        + size_of::<(u32, u32)>()
}

mod event_bytes;
mod firing_bytes;

/// The whole-engine formula of `benches/README.md` ("Footprint of the fixed engine"),
/// with the per-role figures the tests above check, is within 1 KiB of the real size
/// (alignment, the last-polled firing).
#[test]
fn fixed_engine_footprint_formula() {
    use crate::store::Fixed;
    type Example = Engine<Fixed<8, 512, 1024, 64, 16, 256, 256, 16, 512>>;
    let (triggers, keys, events, seen, firings) = (8, 1024, 16, 256, 16);
    let formula = keys * (164 + 112)
        + triggers * (1676 - 1024 + 512 + 512)
        + firings * (512 + 8)
        + events * 1212
        + seen * 72
        + 4720; // with every capacity 0
    assert_eq!(
        core::mem::size_of::<Engine<Fixed<0, 0, 0, 0, 0, 0, 0, 0, 0>>>(),
        4720
    );
    // per remembered id: a ring entry (sequence, id, expiry, lane) and four lanes
    assert_eq!(
        core::mem::size_of::<Engine<Fixed<0, 0, 0, 0, 0, 0, 256, 0, 0>>>() - 4720,
        256 * 72
    );
    let size = core::mem::size_of::<Example>();
    std::println!("fixed engine example: {size} B, formula {formula} B");
    assert!(size.abs_diff(formula) <= 1024, "{size} vs {formula}");
}
