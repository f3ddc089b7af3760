//! `engine_zombie_1m`: Prefect's "crash zombie flows" automation over 1,000,000 flow
//! runs heartbeating every 30 s, 1% going silent, ticks every second.
//!
//! One measured iteration = one heartbeat through `Engine::handle_event` plus its
//! share of the once-a-second `handle_timeout` ticks and of draining firings. The
//! engine's heap is measured with a counting global allocator: peak bytes while the
//! runs are tracked, divided by the number of tracked runs (see benches/README.md).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant as WallInstant;

use criterion::{criterion_group, criterion_main, Criterion};
use overdue_core::engine::{Capacities, Engine, EngineConfig, TriggerId};
use overdue_core::event::{Labels, Related, RESOURCE_ID};
use overdue_core::trigger::Trigger;
use overdue_core::{Event, EventId, Instant};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

const EPOCH_2026: u64 = 1_767_225_600;
const PERIOD_US: u64 = 30_000_000;
const TICK_US: u64 = 1_000_000;

/// The simulated fleet: run `i` heartbeats at `phase(i) + 30 s * round`; runs with
/// `i % 100 == 0` stop after round 1.
struct Fleet {
    ids: Vec<String>,
    runs: u64,
    /// next (round, run) to emit
    round: u64,
    run: u64,
    next_tick: u64,
    seq: u64,
    fired: u64,
}

impl Fleet {
    fn new(runs: u64) -> Fleet {
        let ids = (0..runs)
            .map(|i| format!("prefect.flow-run.{i:08x}-0000-4000-8000-{i:012x}"))
            .collect();
        Fleet {
            ids,
            runs,
            round: 0,
            run: 0,
            next_tick: EPOCH_2026 * 1_000_000 + TICK_US,
            seq: 0,
            fired: 0,
        }
    }

    fn silent(&self, run: u64) -> bool {
        run.is_multiple_of(100)
    }

    /// Feeds the next heartbeat (and any ticks before it) into the engine.
    fn step(&mut self, engine: &mut Engine) {
        let (t, run, seq) = self.next_heartbeat();
        self.tick_until(engine, t);
        let resource = [(RESOURCE_ID, self.ids[run as usize].as_str())];
        engine
            .handle_event(&heartbeat(seq, t, &resource), Instant::from_micros(t))
            .expect("valid event");
    }

    /// The next heartbeat: its instant (µs), its run and its sequence number.
    fn next_heartbeat(&mut self) -> (u64, u64, u64) {
        loop {
            let (round, run) = (self.round, self.run);
            self.run += 1;
            if self.run == self.runs {
                self.run = 0;
                self.round += 1;
            }
            if round >= 2 && self.silent(run) {
                continue;
            }
            self.seq += 1;
            return (self.at(round, run), run, self.seq);
        }
    }

    /// When run `run` heartbeats in round `round` (µs).
    fn at(&self, round: u64, run: u64) -> u64 {
        EPOCH_2026 * 1_000_000 + round * PERIOD_US + run * PERIOD_US / self.runs
    }

    /// Every tick up to `t`, draining firings after each.
    fn tick_until(&mut self, engine: &mut Engine, t: u64) {
        while self.next_tick <= t {
            engine.handle_timeout(Instant::from_micros(self.next_tick));
            self.next_tick += TICK_US;
            while engine.poll_action().is_some() {
                self.fired += 1;
            }
        }
    }
}

/// Heartbeat number `seq` at `t` µs from the run whose resource this is.
fn heartbeat<'a>(seq: u64, t: u64, resource: &'a [(&'a str, &'a str); 1]) -> Event<'a> {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seq.to_be_bytes());
    Event {
        id: EventId(id),
        event: "prefect.flow-run.heartbeat",
        occurred: Instant::from_micros(t),
        received: Instant::from_micros(t),
        resource: Labels::Pairs(resource),
        related: Related::EMPTY,
        follows: None,
    }
}

/// Heartbeats handed in per `Engine::prefetch` batch by `overdue_prefetch`.
const BATCH: usize = 32;

impl Fleet {
    /// The next `BATCH` heartbeats: read ahead with `Engine::prefetch`, then handed in
    /// one by one, each after the ticks before it (what `step` does `BATCH` times).
    fn step_batch(&mut self, engine: &mut Engine) {
        let plan: [(u64, u64, u64); BATCH] = std::array::from_fn(|_| self.next_heartbeat());
        // (the ids are lent out while the ticks mutate the fleet)
        let ids = std::mem::take(&mut self.ids);
        let resources = plan.map(|(_, run, _)| [(RESOURCE_ID, ids[run as usize].as_str())]);
        let events: [Event<'_>; BATCH] =
            std::array::from_fn(|i| heartbeat(plan[i].2, plan[i].0, &resources[i]));
        engine.prefetch(&events);
        for (event, &(t, _, _)) in events.iter().zip(&plan) {
            self.tick_until(engine, t);
            engine
                .handle_event(event, Instant::from_micros(t))
                .expect("valid event");
        }
        self.ids = ids;
    }
}

fn zombie_engine() -> Engine {
    let mut config = EngineConfig::default();
    // OVERDUE_BENCH_BOUNDED=1: the same run with every capacity bounded (generously,
    // so nothing is refused), to measure the cost of the admission checks
    if std::env::var_os("OVERDUE_BENCH_BOUNDED").is_some_and(|v| v == "1") {
        config.capacities = Capacities {
            trigger_nodes: 16,
            keys: 4_000_000,
            key_bytes: 256,
            held_events: 4_000_000,
            waiting_followers: 1_000,
            buffered_events: 1_000,
            event_bytes: 4_096,
            pending_firings: 100_000,
            trigger_bytes: 1_024,
            firing_bytes: 4_096,
        };
    }
    let mut engine = Engine::new(config);
    let trigger: Trigger = serde_json::from_str(ZOMBIE).expect("zombie trigger");
    engine
        .add_trigger(TriggerId(1), trigger)
        .expect("valid trigger");
    engine
}

fn bench_engine(c: &mut Criterion) {
    let runs: u64 = std::env::var("OVERDUE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut fleet = Fleet::new(runs);
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut engine = zombie_engine();
    // Two rounds: every run is tracked. Measure the heap while they all are.
    let populate = WallInstant::now();
    for _ in 0..2 * runs {
        fleet.step(&mut engine);
    }
    let populate = populate.elapsed();
    let tracked = engine.tracked_keys() as u64;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let key_bytes = fleet.ids[0].len() as u64 + 1;
    eprintln!(
        "engine_zombie_1m: {tracked} tracked runs, peak engine heap {peak} B = {:.1} B per run \
         ({key_bytes} of them key bytes => {:.1} B + key bytes); populate {:.0} ns/event",
        peak as f64 / tracked as f64,
        peak as f64 / tracked as f64 - key_bytes as f64,
        populate.as_nanos() as f64 / (2 * runs) as f64,
    );
    // Three more minutes: every silent run is detected, nothing else fires.
    for _ in 0..6 * runs {
        fleet.step(&mut engine);
    }
    let silent = runs.div_ceil(100);
    assert_eq!(fleet.fired, silent, "exactly the silent runs fire");
    assert_eq!(engine.tracked_keys() as u64, runs - silent);

    let fleet = RefCell::new(fleet);
    let engine = RefCell::new(engine);
    let mut group = c.benchmark_group("engine_zombie_1m");
    group.throughput(criterion::Throughput::Elements(1));
    group.bench_function("overdue", |b| {
        b.iter_custom(|iters| {
            let mut fleet = fleet.borrow_mut();
            let mut engine = engine.borrow_mut();
            let start = WallInstant::now();
            for _ in 0..iters {
                fleet.step(&mut engine);
            }
            start.elapsed()
        })
    });
    // The same stream handed in 32 heartbeats at a time, read ahead with
    // `Engine::prefetch` (one iteration is still one heartbeat).
    group.bench_function("overdue_prefetch", |b| {
        b.iter_custom(|iters| {
            let mut fleet = fleet.borrow_mut();
            let mut engine = engine.borrow_mut();
            let batches = iters.div_ceil(BATCH as u64);
            let start = WallInstant::now();
            for _ in 0..batches {
                fleet.step_batch(&mut engine);
            }
            // (per iteration: the heartbeats actually handed in)
            start
                .elapsed()
                .mul_f64(iters as f64 / (batches * BATCH as u64) as f64)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
