//! [`Capacity::EventBytes`]: an event held for later (waiting for its leader, or
//! buffered for allowed lateness) must fit `Capacities::event_bytes` packed.

use super::*;
use crate::event::PackedEvent;
use crate::store::Fixed;

/// The bytes `ev` takes packed.
fn packed_len(ev: &Ev) -> usize {
    PackedEvent::<Vec<u8>>::encoded_len(&ev.view())
}

fn following(n: u32, run: &'static str, leader: u32) -> Ev {
    let mut ev = Ev::new(n, FAILED, run, 0);
    ev.follows = Some(id(leader));
    ev
}

#[test]
fn a_follower_longer_than_event_bytes_is_refused_and_the_waiting_one_is_kept() {
    let short = following(1, "prefect.flow-run.A", 100);
    let long = following(2, "prefect.flow-run.longer-name", 200);
    let bound = packed_len(&short);
    assert_eq!(bound, 49 + 1 + 23 + 1 + 1 + 19 + 1 + 18 + 1);
    assert!(packed_len(&long) > bound);
    let mut e = bounded(caps(|c| c.event_bytes = bound), &[ON_FAILED]);
    assert_eq!(
        e.handle_event(&short.view(), at(0)),
        Ok(EventOutcome::WaitingForLeader)
    );
    assert_eq!(
        e.handle_event(&long.view(), at(0)),
        full(Capacity::EventBytes)
    );
    // a longer copy of the waiting follower is refused too; the waiting one stays
    let mut longer_copy = following(1, "prefect.flow-run.AA", 100);
    longer_copy.occurred = at(1);
    assert_eq!(
        e.handle_event(&longer_copy.view(), at(1)),
        full(Capacity::EventBytes)
    );
    assert_eq!(e.waiting_followers(), 1);
    assert_eq!(e.stats().refused_full, 2);
    assert_eq!(e.stats().followers_held, 1);
    assert_eq!(
        e.stats().events,
        1,
        "refused events are not counted as handled"
    );
    // an event evaluated now is not held: its size does not matter
    let now = Ev::new(3, FAILED, "prefect.flow-run.longer-name", 2);
    assert_eq!(
        e.handle_event(&now.view(), at(2)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(drain(&mut e).len(), 1);
    // the leader releases the waiting follower, whole: it fires for run A
    let leader = Ev::new(100, "prefect.flow-run.Running", "prefect.flow-run.A", 3);
    e.handle_event(&leader.view(), at(3)).unwrap();
    assert_eq!(e.waiting_followers(), 0);
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].event, Some(id(1)));
    assert_eq!(fired[0].labels[0].1, "prefect.flow-run.A");
}

#[test]
fn a_buffered_event_longer_than_event_bytes_is_refused_and_the_buffer_is_kept() {
    let a = Ev::new(1, HB, "prefect.flow-run.A", 0);
    let long = Ev::new(2, HB, "prefect.flow-run.longer-name", 0);
    let mut e = Engine::new(EngineConfig {
        allowed_lateness: Some(Duration::from_secs(10)),
        capacities: caps(|c| c.event_bytes = packed_len(&a)),
        ..EngineConfig::default()
    });
    e.add_trigger(TriggerId(0), trigger(ZOMBIE)).unwrap();
    assert_eq!(e.handle_event(&a.view(), at(0)), Ok(EventOutcome::Buffered));
    assert_eq!(
        e.handle_event(&long.view(), at(0)),
        full(Capacity::EventBytes)
    );
    assert_eq!(e.buffered_events(), 1);
    assert_eq!((e.stats().refused_full, e.stats().events), (1, 0));
    // the buffered event is released whole: run A is tracked
    e.handle_timeout(at(11));
    assert_eq!((e.buffered_events(), e.tracked_keys()), (0, 1));
    assert_eq!(e.stats().events, 1);
}

#[test]
fn fixed_storage_bounds_event_bytes_with_its_slot_size() {
    type Small = Engine<Fixed<4, 512, 8, 64, 4, 128, 16, 16, 512>>;
    let mut e = Small::create(EngineConfig::default());
    assert_eq!(e.config().capacities.event_bytes, 128);
    e.add_trigger(TriggerId(0), trigger(ON_FAILED)).unwrap();
    let fits = following(1, "prefect.flow-run.A", 100);
    let long = following(2, "prefect.flow-run.a-much-longer-run-name", 100);
    assert!(packed_len(&fits) <= 128 && packed_len(&long) > 128);
    assert_eq!(
        e.handle_event(&fits.view(), at(0)),
        Ok(EventOutcome::WaitingForLeader)
    );
    assert_eq!(
        e.handle_event(&long.view(), at(0)),
        full(Capacity::EventBytes)
    );
    assert_eq!((e.waiting_followers(), e.stats().refused_full), (1, 1));
}

#[test]
fn a_snapshot_holding_a_longer_event_is_refused_on_restore() {
    let mut e = bounded(Capacities::UNBOUNDED, &[ON_FAILED]);
    let long = following(1, "prefect.flow-run.longer-name", 100);
    e.handle_event(&long.view(), at(0)).unwrap();
    let bytes = e.snapshot_to_vec();
    let with = |event_bytes| EngineConfig {
        capacities: caps(|c| c.event_bytes = event_bytes),
        ..EngineConfig::default()
    };
    let triggers = || alloc::vec![(TriggerId(0), trigger(ON_FAILED))];
    let n = packed_len(&long);
    let err = Engine::restore(with(n - 1), triggers(), &bytes).unwrap_err();
    assert_eq!(err, RestoreError::Full(Capacity::EventBytes));
    let (restored, _) = Engine::restore(with(n), triggers(), &bytes).unwrap();
    assert_eq!(restored.waiting_followers(), 1);
    // fixed storage whose slots are too small refuses it the same way
    type Small = Fixed<4, 512, 8, 64, 4, 64, 16, 16, 512>;
    let err = Engine::<Small>::restore_from(EngineConfig::default(), triggers(), &bytes);
    assert_eq!(err.err(), Some(RestoreError::Full(Capacity::EventBytes)));
}

#[test]
fn the_error_says_which_bound_to_raise() {
    let text = HandleEventError::Full(Capacity::EventBytes).to_string();
    assert!(text.contains("Capacities::event_bytes"), "{text}");
    assert!(text.contains("too long"), "{text}");
}

/// The per-event footprint of `benches/README.md` ("Footprint of the fixed engine"):
/// every container sized by `EVENTS`, per event of capacity, with `EVENT_BYTES` = 256.
#[test]
fn fixed_engine_footprint_per_event() {
    use crate::event::EventId;
    use core::mem::size_of;
    type Small = Engine<Fixed<4, 512, 4, 64, 0, 256, 4, 4, 512>>;
    type Large = Engine<Fixed<4, 512, 4, 64, 1024, 256, 4, 4, 512>>;
    let per_event = (size_of::<Large>() - size_of::<Small>()) / 1024;
    let slot = size_of::<Option<PackedEvent<heapless::Vec<u8, 256>>>>();
    let formula = size_of::<((u32, Instant, EventId), Instant)>() // held `expect` pool
        + 2 * (slot + 4) // waitlist and lateness pools: a slot and a free-list entry
        + 2 * size_of::<Option<(EventId, (u32, Instant, u64))>>() // waitlist table, 2 slots
        + size_of::<((Instant, u64, EventId), ())>() // waitlist by `received`
        + size_of::<((Instant, EventId, u64), u32)>() // lateness order
        + 2 * size_of::<Option<(EventId, u32)>>() // lateness ids table, 2 slots
        // leaders' follower-id sets: 16 table slots, the set table (2 slots) and
        // the tables by position
        + size_of::<crate::engine::pyset::ArenaElement<EventId>>()
        + 2 * size_of::<Option<(EventId, crate::engine::pyset::SetEntry)>>()
        + size_of::<(u32, EventId)>()
        // lost followers being released
        + size_of::<(Instant, u64, u32, Option<crate::engine::pyset::Discarded>)>();
    std::println!("fixed engine: {per_event} B per event with 256 event bytes ({slot} B slot)");
    assert_eq!(per_event, formula);
}
