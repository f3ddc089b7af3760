//! Baselines for `engine_zombie_1m`: the zombie job (or the least part of it) done with
//! std collections, fed the same heartbeats and ticks as the engine, so that the
//! engine's time and memory per run can be given as ratios measured in the same run.
//!
//! Neither is Prefect's evaluation (no buckets, no `after`/`expect`, no event time,
//! no lookback, no sweep): they are what a hand-written zombie detector, and the one
//! step any detector takes, would do per heartbeat.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use overdue_core::event::RESOURCE_ID;
use overdue_core::hash::FxBuildHasher;
use overdue_core::{Event, Instant};

use crate::zombie::Monitor;

/// The zombie automation's window: a run is dead 90 s after its last heartbeat.
const WITHIN_US: u64 = 90_000_000;

/// Event ids remembered for de-duplication (Prefect's default capacity).
const DEDUP_IDS: usize = 10_000;

/// A hand-written zombie detector on std collections: each run's slot in a `HashMap`
/// keyed by its resource id (std's default hasher; one `Rc<str>` per run, shared
/// with its slot), its deadline in a `Vec`, a
/// `BinaryHeap` of `(deadline, slot)` with stale entries skipped when they come out
/// (a heartbeat pushes a new one instead of moving the old), and the last 10,000
/// event ids in a `HashSet` with a `VecDeque` for their order, so that a redelivered
/// event is dropped as the engine drops it. A run found dead is counted and
/// forgotten.
#[derive(Default)]
pub struct StdDetector {
    /// Resource id → the run's slot in `runs`.
    slots: HashMap<Rc<str>, u32>,
    /// Per slot: the run's resource id (to forget it) and its deadline (µs).
    runs: Vec<(Rc<str>, u64)>,
    /// Slots of forgotten runs, for reuse.
    free: Vec<u32>,
    /// `(deadline, slot)`, earliest first; an entry is stale once its slot's deadline
    /// moved on.
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    seen: HashSet<[u8; 16]>,
    seen_order: VecDeque<[u8; 16]>,
}

impl StdDetector {
    /// Whether `id` was among the last [`DEDUP_IDS`] event ids; records it if not.
    fn duplicate(&mut self, id: [u8; 16]) -> bool {
        if !self.seen.insert(id) {
            return true;
        }
        self.seen_order.push_back(id);
        if self.seen_order.len() > DEDUP_IDS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        false
    }
}

impl Monitor for StdDetector {
    fn heartbeat(&mut self, event: &Event<'_>, now: Instant) {
        if self.duplicate(event.id.0) {
            return;
        }
        let Some(id) = event.resource.get(RESOURCE_ID) else {
            return;
        };
        let deadline = now.as_micros().saturating_add(WITHIN_US);
        let slot = match self.slots.get(id) {
            Some(&slot) => {
                self.runs[slot as usize].1 = deadline;
                slot
            }
            None => {
                let id: Rc<str> = id.into();
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.runs[slot as usize] = (Rc::clone(&id), deadline);
                        slot
                    }
                    None => {
                        self.runs.push((Rc::clone(&id), deadline));
                        (self.runs.len() - 1) as u32
                    }
                };
                self.slots.insert(id, slot);
                slot
            }
        };
        self.queue.push(Reverse((deadline, slot)));
    }

    fn tick(&mut self, now: Instant) -> u64 {
        let now = now.as_micros();
        let mut dead = 0;
        while let Some(&Reverse((deadline, slot))) = self.queue.peek() {
            if deadline > now {
                break;
            }
            self.queue.pop();
            let run = &mut self.runs[slot as usize];
            if run.1 == deadline {
                // the run's latest deadline passed: it is dead
                run.1 = u64::MAX;
                let id = std::mem::replace(&mut run.0, Rc::from(""));
                self.slots.remove(&id);
                self.free.push(slot);
                dead += 1;
            }
        }
        dead
    }

    fn tracked(&self) -> usize {
        self.slots.len()
    }
}

/// The one step every detector takes per heartbeat, alone: the run found by its
/// resource id in a `HashMap` (std's, with the core's Fx hash) and its deadline
/// written. Nothing else: no de-duplication, no timers, and it never finds a run dead
/// or forgets one, so it is not a detector. With a million runs the lookup's cache
/// misses (the table's control bytes, its entry, the boxed id) dominate its time.
#[derive(Default)]
pub struct HashMapLookup {
    deadlines: HashMap<Box<str>, u64, FxBuildHasher>,
}

impl Monitor for HashMapLookup {
    fn heartbeat(&mut self, event: &Event<'_>, now: Instant) {
        let Some(id) = event.resource.get(RESOURCE_ID) else {
            return;
        };
        let deadline = now.as_micros().saturating_add(WITHIN_US);
        match self.deadlines.get_mut(id) {
            Some(d) => *d = deadline,
            None => {
                self.deadlines.insert(id.into(), deadline);
            }
        }
    }

    fn tick(&mut self, _now: Instant) -> u64 {
        0
    }

    fn tracked(&self) -> usize {
        self.deadlines.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zombie::{heartbeat, zombie_engine, Fleet};

    /// Eight rounds of `runs` runs through `monitor`: (found dead, still tracked).
    fn play<M: Monitor>(runs: u64, monitor: &mut M) -> (u64, usize) {
        let mut fleet = Fleet::new(runs);
        for _ in 0..8 * runs {
            fleet.step(monitor);
        }
        (fleet.fired, monitor.tracked())
    }

    #[test]
    fn the_std_detector_finds_what_the_engine_finds() {
        for runs in [2, 99, 100, 250, 1_000] {
            let engine = play(runs, &mut zombie_engine());
            let silent = runs.div_ceil(100);
            assert_eq!(engine, (silent, (runs - silent) as usize), "{runs} runs");
            assert_eq!(
                play(runs, &mut StdDetector::default()),
                engine,
                "{runs} runs"
            );
        }
    }

    #[test]
    fn the_std_detector_drops_a_redelivered_heartbeat() {
        let mut detector = StdDetector::default();
        let resource = [(RESOURCE_ID, "prefect.flow-run.a")];
        let mut event = heartbeat(7, 1_000_000, &resource);
        detector.heartbeat(&event, Instant::from_micros(1_000_000));
        // the same event 80 s later: dropped, so the run dies 90 s after the first
        detector.heartbeat(&event, Instant::from_micros(81_000_000));
        assert_eq!(detector.tick(Instant::from_micros(90_999_999)), 0);
        assert_eq!(detector.tick(Instant::from_micros(91_000_000)), 1);
        assert_eq!(detector.tracked(), 0);
        // a new event id is not a duplicate: the run is watched again
        event.id.0[15] = 1;
        detector.heartbeat(&event, Instant::from_micros(95_000_000));
        assert_eq!(detector.tracked(), 1);
        assert_eq!(detector.tick(Instant::from_micros(184_999_999)), 0);
        assert_eq!(detector.tick(Instant::from_micros(185_000_000)), 1);
        assert_eq!(detector.tracked(), 0);
    }

    #[test]
    fn the_lookup_tracks_every_run_and_finds_none_dead() {
        assert_eq!(play(500, &mut HashMapLookup::default()), (0, 500));
    }
}
