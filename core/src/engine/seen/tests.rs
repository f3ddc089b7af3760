//! The de-duplication cache: unit tests.

use alloc::vec::Vec;

use super::*;
use crate::store::{Fixed, Growable};
use crate::test_rng::Rng;

fn id(n: u8) -> EventId {
    EventId([n; 16])
}

/// An id from a wider space than [`id`].
fn wide_id(n: u32) -> EventId {
    let mut bytes = [0x5a; 16];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    EventId(bytes)
}

#[test]
fn seen_expires_on_the_wall_clock() {
    let mut c = SeenCache::<Growable>::default();
    let ttl = Duration::from_mins(30);
    c.insert(id(1), Instant::from_secs(100), ttl, 10);
    assert!(c.contains(&id(1), Instant::from_secs(100)));
    assert!(c.contains(&id(1), Instant::from_secs(100 + 1799)));
    assert!(!c.contains(&id(1), Instant::from_secs(100 + 1800)));
}

#[test]
fn an_expiry_saturated_at_the_last_instant_never_expires() {
    let mut c = SeenCache::<Growable>::default();
    let ttl = Duration::from_mins(30);
    c.insert(id(1), Instant::MAX - Duration::from_secs(1), ttl, 10);
    assert!(c.contains(&id(1), Instant::MAX));
    c.insert(id(2), Instant::MAX, ttl, 10);
    assert!(
        c.contains(&id(1), Instant::MAX),
        "not dropped by expiry either"
    );
    assert!(c.contains(&id(2), Instant::MAX));
}

#[test]
fn seen_evicts_least_recently_set_when_full() {
    let mut c = SeenCache::<Growable>::default();
    let ttl = Duration::from_mins(30);
    let t = Instant::from_secs(10);
    c.insert(id(1), t, ttl, 2);
    c.insert(id(2), t, ttl, 2);
    c.insert(id(1), t, ttl, 2); // refresh: 2 is now the oldest
    c.insert(id(3), t, ttl, 2);
    assert!(c.contains(&id(1), t));
    assert!(!c.contains(&id(2), t));
    assert!(c.contains(&id(3), t));
    assert_eq!(c.len(), 2);
}

#[test]
fn a_fixed_seen_cache_behaves_as_the_growable_one_even_when_its_ring_fills() {
    // four ids at most, and a ring of four entries: refreshes leave stale entries
    // behind that must be compacted away when the ring fills
    let mut fixed = SeenCache::<Fixed<1, 512, 1, 1, 1, 1, 4, 1, 512>>::default();
    let mut growable = SeenCache::<Growable>::default();
    let ttl = Duration::from_secs(50);
    let mut rng = Rng(0x2545_f491);
    for step in 0..5_000u64 {
        let n = (rng.next() % 7) as u8;
        let now = Instant::from_secs(step / 3);
        fixed.insert(id(n), now, ttl, 4);
        growable.insert(id(n), now, ttl, 4);
        for probe in 0..7 {
            assert_eq!(
                fixed.contains(&id(probe), now),
                growable.contains(&id(probe), now),
                "step {step}, id {probe}"
            );
        }
        assert_eq!(fixed.len(), growable.len(), "step {step}");
        assert!(fixed.export().0.eq(growable.export().0), "step {step}");
    }
}

/// `cachetools.TTLCache` as the de-duplication cache models it, naively: ids in set
/// order with their expiry.
#[derive(Default)]
struct NaiveSeen(Vec<(EventId, Instant)>);

impl NaiveSeen {
    fn insert(&mut self, id: EventId, now: Instant, ttl: Duration, capacity: usize) {
        while self.0.first().is_some_and(|&(_, exp)| !live(exp, now)) {
            self.0.remove(0);
        }
        if let Some(i) = self.0.iter().position(|&(other, _)| other == id) {
            self.0.remove(i);
        } else {
            while self.0.len() >= capacity.max(1) {
                self.0.remove(0);
            }
        }
        self.0.push((id, now.saturating_add(ttl)));
    }
    fn contains(&self, id: &EventId, now: Instant) -> bool {
        self.0
            .iter()
            .any(|(other, exp)| other == id && live(*exp, now))
    }
}

/// Runs random inserts (refreshes, expiries, evictions) on `cache` and the naive model
/// and compares every answer.
fn matches_the_naive_cache<S: Storage>(mut cache: SeenCache<S>, steps: u64, seed: u32) {
    let mut model = NaiveSeen::default();
    let ttl = Duration::from_secs(40);
    let mut rng = Rng(seed);
    let mut next = move || rng.next();
    for step in 0..steps {
        let capacity = 1 + (step / 500 % 6) as usize;
        let n = (next() % 11) as u8;
        let now = Instant::from_secs(step / 4);
        // the duplicate check before an insert: of the same id (its miss is then
        // remembered for the insert), of another one, or none
        let checked = match next() % 3 {
            0 => Some(id(n)),
            1 => Some(id((n + 1) % 11)),
            _ => None,
        };
        if let Some(c) = checked {
            assert_eq!(
                cache.check(&c, now),
                model.contains(&c, now),
                "step {step}, checked {c:?}"
            );
        }
        cache.insert(id(n), now, ttl, capacity);
        model.insert(id(n), now, ttl, capacity);
        for probe in 0..11 {
            assert_eq!(
                cache.contains(&id(probe), now),
                model.contains(&id(probe), now),
                "step {step}, id {probe}"
            );
        }
        assert_eq!(cache.len(), model.0.len(), "step {step}");
        let held: Vec<(EventId, Instant)> = cache.export().0.map(|(_, i, e)| (i, e)).collect();
        assert_eq!(held, model.0, "step {step}");
    }
}

#[test]
fn the_seen_cache_matches_a_naive_ttl_cache() {
    matches_the_naive_cache(SeenCache::<Growable>::default(), 6_000, 0x2545_f491);
    matches_the_naive_cache(
        SeenCache::<Fixed<1, 512, 1, 1, 1, 1, 6, 1, 512>>::default(),
        6_000,
        0x9e37_79b9,
    );
}

#[test]
fn ring_positions_are_renumbered_before_they_run_out() {
    // caches whose positions are about to reach the last one a lane holds
    let mut cache = SeenCache::<Growable>::default();
    cache.start_positions_at(LAST_POSITION - 5);
    matches_the_naive_cache(cache, 200, 0x1234_5678);
    let mut cache = SeenCache::<Fixed<1, 512, 1, 1, 1, 1, 6, 1, 512>>::default();
    cache.start_positions_at(LAST_POSITION - 3);
    matches_the_naive_cache(cache, 200, 0x8765_4321);
}

/// Like [`matches_the_naive_cache`] over many ids: the growable index grows and
/// rebuilds, lanes are cleared and reused all over it.
#[test]
fn a_large_seen_cache_matches_the_naive_one() {
    let mut cache = SeenCache::<Growable>::default();
    let mut model = NaiveSeen::default();
    let ttl = Duration::from_secs(300);
    let mut rng = Rng(0x0bad_5eed);
    for step in 0..6_000u64 {
        let state = rng.next();
        // capacity 400 for a while, then 150 (evicting down), then 400 again
        let capacity = if (2_000..4_000).contains(&step) {
            150
        } else {
            400
        };
        let n = state % 900;
        let now = Instant::from_secs(step / 8);
        cache.insert(wide_id(n), now, ttl, capacity);
        model.insert(wide_id(n), now, ttl, capacity);
        let probe = wide_id(state.rotate_left(7) % 900);
        assert_eq!(
            cache.contains(&probe, now),
            model.contains(&probe, now),
            "step {step}"
        );
        assert_eq!(cache.len(), model.0.len(), "step {step}");
    }
    let held: Vec<(EventId, Instant)> = cache.export().0.map(|(_, i, e)| (i, e)).collect();
    assert_eq!(held, model.0);
}

/// `count` ids that all have home bucket `bucket` in an index of `lanes` lanes.
fn crowded_ids(lanes: usize, bucket: usize, count: usize) -> Vec<EventId> {
    let buckets = geometry(lanes).1;
    (0..)
        .map(wide_id)
        .filter(|id| home(seen_hash(id), buckets) == bucket)
        .take(count)
        .collect()
}

#[test]
fn ids_crowding_buckets_overflow_into_the_next_ones_and_stay_found() {
    // 16 ids of capacity: 64 lanes, 8 buckets of 7 lanes and a mark
    type Small = Fixed<1, 512, 1, 1, 1, 1, 16, 1, 512>;
    let ttl = Duration::from_secs(1_000);
    let mut cache = SeenCache::<Small>::default();
    let mut model = NaiveSeen::default();
    let mut check = |cache: &mut SeenCache<Small>, id: EventId, step: u64, probes: &[EventId]| {
        let now = Instant::from_secs(step);
        cache.insert(id, now, ttl, 16);
        model.insert(id, now, ttl, 16);
        for probe in probes {
            assert_eq!(
                cache.contains(probe, now),
                model.contains(probe, now),
                "step {step}"
            );
        }
        assert_eq!(cache.len(), model.0.len(), "step {step}");
        let held: Vec<(EventId, Instant)> = cache.export().0.map(|(_, i, e)| (i, e)).collect();
        assert_eq!(held, model.0, "step {step}");
    };
    // 16 ids with home bucket 2 fill it and overflow through buckets 3 and 4
    let first = crowded_ids(64, 2, 16);
    for (step, &id) in first.iter().enumerate() {
        check(&mut cache, id, step as u64, &first);
    }
    assert_eq!(cache.marked, 2, "buckets 2 and 3 overflowed");
    // then groups crowding buckets 5, 6 and 0 as well, new ids evicting the oldest
    // (clearing lanes in the crowded buckets) mixed with refreshes: the marks pile
    // up until the index is rebuilt
    let mut all = first.clone();
    for bucket in [5, 6, 0] {
        all.extend(crowded_ids(64, bucket, 9));
    }
    let mut rebuilt = false;
    let runs = all[16..].to_vec();
    let mixed = (0..600).map(|step: usize| {
        let i = step * 7 % all.len();
        if step.is_multiple_of(4) {
            all[i / 2]
        } else {
            all[i]
        }
    });
    for (step, id) in runs.into_iter().chain(mixed).enumerate() {
        let marked = cache.marked;
        check(&mut cache, id, 16 + step as u64, &all);
        rebuilt |= cache.marked < marked;
    }
    assert!(rebuilt, "the marks were dropped by a rebuild");
}

#[test]
fn evicting_the_oldest_id_clears_its_lane() {
    let ttl = Duration::from_secs(1_000);
    let t = Instant::from_secs(1);
    let mut cache = SeenCache::<Growable>::default();
    for n in 0..100 {
        cache.insert(wide_id(n), t, ttl, 10);
    }
    let used = cache.flat().iter().enumerate().filter(|&(i, &v)| {
        let (width, _) = geometry(cache.flat().len());
        v != 0 && i % width != width - 1
    });
    assert_eq!(used.count(), 10, "one lane per id held");
    assert!((0..90).all(|n| !cache.contains(&wide_id(n), t)));
    assert!((90..100).all(|n| cache.contains(&wide_id(n), t)));
}

#[test]
fn the_geometry_is_the_division_it_replaces() {
    // buckets of up to 8 lanes, as many as fit: what `lanes / lanes.min(8)` gives
    for lanes in 0..5000usize {
        let width = lanes.min(8);
        assert_eq!(
            geometry(lanes),
            (width, lanes.checked_div(width).unwrap_or(0)),
            "{lanes} lanes"
        );
    }
}
