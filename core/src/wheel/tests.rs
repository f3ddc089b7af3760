//! Wheel unit tests: ordering, exact deadlines, stale handles, capacity, levels.

use super::*;
extern crate alloc;
use alloc::vec::Vec;

const US: Duration = Duration::from_micros(1);

fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn drain<S: Storage<u32>>(w: &mut Wheel<u32, S>, now: u64) -> Vec<(u64, u32)> {
    w.advance(at(now))
        .map(|e| (e.deadline.as_micros(), e.payload))
        .collect()
}

#[test]
fn yields_in_deadline_order_then_insertion_order() {
    let mut w: FixedWheel<u32, 16> = Wheel::new(DEFAULT_TICK, Instant::ZERO);
    for (p, d) in [
        (0, 5_000),
        (1, 70_000),
        (2, 5_000),
        (3, 1),
        (4, 4_096_001),
        (5, 70_000),
    ] {
        w.insert(at(d), p).unwrap();
    }
    assert_eq!(w.next_deadline(), Some(at(1)));
    assert_eq!(
        drain(&mut w, 10_000_000),
        [
            (1, 3),
            (5_000, 0),
            (5_000, 2),
            (70_000, 1),
            (70_000, 5),
            (4_096_001, 4)
        ]
    );
    assert!(w.is_empty());
    assert_eq!(w.elapsed(), at(10_000_000));
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn sub_tick_deadlines_fire_exactly() {
    // One-second tick: all of these share a level-0 slot.
    let mut w: FixedWheel<u32, 8> = Wheel::new(Duration::from_secs(1), at(0));
    w.insert(at(1_700_000), 2).unwrap();
    w.insert(at(1_200_000), 1).unwrap();
    w.insert(at(1_999_999), 3).unwrap();
    assert_eq!(drain(&mut w, 1_199_999), []);
    assert_eq!(w.elapsed(), at(1_199_999));
    assert_eq!(drain(&mut w, 1_700_000), [(1_200_000, 1), (1_700_000, 2)]);
    assert_eq!(w.next_deadline(), Some(at(1_999_999)));
    // A sub-tick insert into the current tick lands in order.
    w.insert(at(1_800_000), 4).unwrap();
    assert_eq!(w.next_deadline(), Some(at(1_800_000)));
    assert_eq!(drain(&mut w, 5_000_000), [(1_800_000, 4), (1_999_999, 3)]);
}

#[test]
fn elapsed_deadlines_are_refused_by_insert_and_reset() {
    let mut w: FixedWheel<u32, 4> = Wheel::new(DEFAULT_TICK, at(1_000));
    assert_eq!(w.insert(at(1_000), 1), Err(InsertError::Elapsed(1)));
    assert_eq!(w.insert(at(0), 2), Err(InsertError::Elapsed(2)));
    let h = w.insert(at(1_001), 3).unwrap();
    assert_eq!(w.reset(h, at(999)), Err(ResetError::Elapsed(3)));
    assert!(!w.contains(h));
    assert_eq!(w.reset(h, at(5_000)), Err(ResetError::Stale));
    assert!(w.is_empty());
    // An older `now` never moves time back.
    assert!(w.poll(at(10)).is_none());
    assert_eq!(w.elapsed(), at(1_000));
}

#[test]
fn stale_handles_touch_nothing() {
    let mut w: FixedWheel<u32, 2> = Wheel::new(DEFAULT_TICK, at(0));
    let a = w.insert(at(10), 1).unwrap();
    let fired = w.poll(at(10)).unwrap();
    assert_eq!(fired.handle, a);
    let b = w.insert(at(20), 2).unwrap(); // reuses a's slot
    assert_eq!(b.index(), a.index());
    assert_ne!(b, a);
    assert_eq!(w.cancel(a), None);
    assert_eq!(w.reset(a, at(30)), Err(ResetError::Stale));
    assert_eq!(w.get(a), None);
    assert_eq!(w.deadline(a), None);
    assert_eq!(w.get(b), Some(&2));
    assert_eq!(w.deadline(b), Some(at(20)));
    *w.get_mut(b).unwrap() = 7;
    assert_eq!(w.cancel(b), Some(7));
    assert_eq!(w.cancel(b), None);
    assert_eq!(w.cancel(Handle::from_parts(1_000, 0)), None);
}

#[test]
fn full_fixed_wheel_hands_the_payload_back() {
    let mut w: FixedWheel<u32, 2> = Wheel::new(DEFAULT_TICK, at(0));
    assert_eq!(w.capacity(), Some(2));
    w.insert(at(5), 1).unwrap();
    let h = w.insert(at(6), 2).unwrap();
    assert_eq!(w.insert(at(7), 3), Err(InsertError::Full(3)));
    w.cancel(h);
    w.insert(at(7), 3).unwrap();
    assert_eq!(drain(&mut w, 100), [(5, 1), (7, 3)]);
}

#[test]
fn next_deadline_is_exact_after_removing_the_minimum() {
    let mut w: FixedWheel<u32, 64> = Wheel::new(DEFAULT_TICK, at(0));
    let hs: Vec<Handle> = (0..40u32)
        .map(|k| w.insert(at(60_000_000 + 777 * u64::from(k)), k).unwrap())
        .collect();
    for (k, h) in hs.iter().enumerate() {
        assert_eq!(w.next_deadline(), Some(at(60_000_000 + 777 * k as u64)));
        w.reset(*h, at(90_000_000 + k as u64)).unwrap();
    }
    assert_eq!(w.next_deadline(), Some(at(90_000_000)));
    assert_eq!(w.len(), 40);
}

#[test]
fn inserting_before_a_cursor_moved_ahead() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(DEFAULT_TICK, at(0));
    w.insert(at(3_600_000_000), 1).unwrap();
    w.insert(at(3_600_000_500), 2).unwrap();
    // Finding the exact minimum puts the cursor an hour ahead.
    assert_eq!(w.next_deadline(), Some(at(3_600_000_000)));
    w.insert(at(5_000), 3).unwrap();
    w.insert(at(3_599_999_999), 4).unwrap();
    assert_eq!(w.next_deadline(), Some(at(5_000)));
    w.insert(at(4_000), 5).unwrap();
    assert_eq!(
        drain(&mut w, u64::MAX),
        [
            (4_000, 5),
            (5_000, 3),
            (3_599_999_999, 4),
            (3_600_000_000, 1),
            (3_600_000_500, 2)
        ]
    );
}

#[test]
fn deadlines_beyond_the_top_level_park_and_never_fire_early() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(US, at(0));
    let range = 1u64 << 42; // ticks covered by all levels at 1 µs
    w.insert(at(u64::MAX), 1).unwrap();
    w.insert(at(range + 5), 2).unwrap();
    w.insert(at(3 * range + 1), 3).unwrap();
    w.insert(at(10), 4).unwrap();
    assert_eq!(drain(&mut w, range - 1), [(10, 4)]);
    assert_eq!(w.next_deadline(), Some(at(range + 5)));
    assert_eq!(drain(&mut w, range + 4), []);
    assert_eq!(drain(&mut w, range + 5), [(range + 5, 2)]);
    assert_eq!(drain(&mut w, 3 * range), []);
    assert_eq!(w.next_deadline(), Some(at(3 * range + 1)));
    assert_eq!(drain(&mut w, u64::MAX - 1), [(3 * range + 1, 3)]);
    assert_eq!(drain(&mut w, u64::MAX), [(u64::MAX, 1)]);
    assert_eq!(w.elapsed(), Instant::MAX);
    assert_eq!(w.insert(Instant::MAX, 9), Err(InsertError::Elapsed(9)));
}

#[test]
fn parked_entries_are_refiled_when_their_slot_comes_due() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(US, at(0));
    let range = 1u64 << 42;
    w.insert(at(2 * range + 7), 1).unwrap();
    // Poll step by step through the rotation end; it must not fire early.
    let mut now = range - 3;
    while now < range + 3 {
        assert!(w.poll(at(now)).is_none(), "fired early at {now}");
        now += 1;
    }
    w.insert(at(range + 10), 2).unwrap();
    assert_eq!(drain(&mut w, 2 * range + 6), [(range + 10, 2)]);
    assert_eq!(drain(&mut w, 2 * range + 7), [(2 * range + 7, 1)]);
}

#[test]
fn deadlines_near_zero_and_u64_max() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(DEFAULT_TICK, at(0));
    w.insert(at(1), 1).unwrap();
    w.insert(at(u64::MAX), 2).unwrap();
    w.insert(at(u64::MAX - 1), 3).unwrap();
    assert_eq!(w.next_deadline(), Some(at(1)));
    assert_eq!(drain(&mut w, 0), []);
    assert_eq!(drain(&mut w, 1), [(1, 1)]);
    assert_eq!(w.next_deadline(), Some(at(u64::MAX - 1)));
    let mut w2: FixedWheel<u32, 8> = Wheel::new(US, at(u64::MAX - 100));
    w2.insert(at(u64::MAX), 1).unwrap();
    w2.insert(at(u64::MAX - 50), 2).unwrap();
    assert_eq!(
        drain(&mut w2, u64::MAX),
        [(u64::MAX - 50, 2), (u64::MAX, 1)]
    );
}

#[test]
fn huge_and_zero_ticks_work() {
    for tick in [
        Duration::ZERO,
        Duration::from_micros(u64::MAX / 3),
        Duration::MAX,
    ] {
        let mut w: FixedWheel<u32, 8> = Wheel::new(tick, at(5));
        assert!(w.tick() >= US);
        w.insert(at(u64::MAX), 1).unwrap();
        w.insert(at(1_000), 2).unwrap();
        w.insert(at(u64::MAX / 2), 3).unwrap();
        assert_eq!(w.next_deadline(), Some(at(1_000)));
        assert_eq!(
            drain(&mut w, u64::MAX),
            [(1_000, 2), (u64::MAX / 2, 3), (u64::MAX, 1)]
        );
    }
}

#[test]
fn reset_counts_as_a_fresh_insertion_for_ties() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(DEFAULT_TICK, at(0));
    let a = w.insert(at(500), 1).unwrap();
    w.insert(at(500), 2).unwrap();
    w.reset(a, at(500)).unwrap();
    assert_eq!(drain(&mut w, 500), [(500, 2), (500, 1)]);
}

#[test]
fn dropping_advance_early_keeps_the_rest() {
    let mut w: FixedWheel<u32, 8> = Wheel::new(DEFAULT_TICK, at(0));
    for k in 1..=3 {
        w.insert(at(k * 10), k as u32).unwrap();
    }
    let first: Vec<u32> = w.advance(at(100)).take(1).map(|e| e.payload).collect();
    assert_eq!(first, [1]);
    assert_eq!(w.elapsed(), at(0));
    assert_eq!(w.len(), 2);
    assert_eq!(drain(&mut w, 100), [(20, 2), (30, 3)]);
}

#[test]
fn cascades_through_every_level() {
    let mut w: FixedWheel<u32, 16> = Wheel::new(US, at(0));
    let ds: Vec<u64> = (0..LEVELS as u32).map(|l| (1u64 << (6 * l)) + 3).collect();
    for (k, &d) in ds.iter().enumerate().rev() {
        w.insert(at(d), k as u32).unwrap();
    }
    for (k, &d) in ds.iter().enumerate() {
        assert_eq!(w.next_deadline(), Some(at(d)));
        assert!(w.poll(at(d - 1)).is_none());
        assert_eq!(w.poll(at(d)).map(|e| e.payload), Some(k as u32));
    }
}

#[test]
fn the_wheel_itself_is_a_few_kib() {
    let size = core::mem::size_of::<FixedWheel<u32, 0>>();
    assert!(size < 3_800, "{size} bytes");
    assert_eq!(FixedWheel::<u32, 0>::entry_size(), 28);
    assert_eq!(FixedWheel::<u64, 0>::entry_size(), 32);
}

#[cfg(feature = "alloc")]
#[test]
fn growable_wheel_grows() {
    let mut w: GrowableWheel<u32> = Wheel::with_capacity(DEFAULT_TICK, at(0), 4);
    assert_eq!(w.capacity(), None);
    for k in 0..1_000u32 {
        w.insert(at(1_000_000 - u64::from(k) * 7), k).unwrap();
    }
    let got = drain(&mut w, u64::MAX);
    assert_eq!(got.len(), 1_000);
    assert!(got.windows(2).all(|p| p[0].0 <= p[1].0));
    assert_eq!(w.iter().count(), 0);
}

#[test]
fn a_cleared_wheel_behaves_as_a_new_one() {
    let script = |w: &mut FixedWheel<u32, 8>| {
        let mut out = Vec::new();
        let a = w.insert(at(9_000_000), 1).unwrap();
        w.insert_at(5, at(70_000), 2).unwrap();
        out.push(w.insert(at(5_000), 3).map(|h| h.index()).unwrap());
        w.reset(a, at(4_000)).unwrap();
        out.extend(drain(w, 100_000).iter().map(|&(_, p)| p));
        out.push(w.len() as u32);
        out
    };
    let mut used: FixedWheel<u32, 8> = Wheel::new(DEFAULT_TICK, at(7));
    for i in 0..8 {
        used.insert(at(1_000 * (i + 1)), i as u32).unwrap();
    }
    let _ = drain(&mut used, 3_500);
    used.clear(Duration::from_micros(10), at(1_000));
    let mut fresh: FixedWheel<u32, 8> = Wheel::new(Duration::from_micros(10), at(1_000));
    assert!(used.is_empty());
    assert_eq!(
        (used.tick(), used.elapsed()),
        (fresh.tick(), fresh.elapsed())
    );
    assert_eq!(used.handle_at(0), None);
    let got = script(&mut used);
    assert_eq!(got, script(&mut fresh));
    // entry 0 for the first insert (no free list left over), 5 named, so the next
    // insert gets 4 (vacated below 5, last freed first); then 1 (reset), 3 and 2 fire
    assert_eq!(got, [4, 1, 3, 2, 0]);
}
