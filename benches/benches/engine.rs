//! `engine_zombie_1m`: Prefect's "crash zombie flows" automation over 1,000,000 flow
//! runs heartbeating every 30 s, 1% going silent, ticks every second.
//!
//! One measured iteration = one heartbeat through `Engine::handle_event` plus its
//! share of the once-a-second `handle_timeout` ticks and of draining firings. The
//! engine's heap is measured with a counting global allocator: peak bytes while the
//! runs are tracked, divided by the number of tracked runs (see benches/README.md).
//! Two baselines get the same heartbeats and ticks (`overdue_benches::baseline`): a
//! zombie detector on std collections (`std_detector`) and the bare lookup of each
//! run by its id (`hashmap_lookup`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant as WallInstant;

use criterion::{criterion_group, criterion_main, Criterion};
use overdue_benches::baseline::{HashMapLookup, StdDetector};
use overdue_benches::zombie::{zombie_engine, Fleet, Monitor, BATCH, ID_LEN};

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

/// Builds a monitor with `make` and feeds it two rounds of `runs` heartbeats (every run
/// is then tracked), printing the peak heap it took per tracked run; then six more
/// rounds, after which a `detector` must have found exactly the silent runs dead and
/// track every other run (anything else, none dead and every run tracked).
fn populate<M: Monitor>(
    name: &str,
    runs: u64,
    make: impl FnOnce() -> M,
    detector: bool,
) -> (Fleet, M) {
    let mut fleet = Fleet::new(runs);
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut monitor = make();
    let populate = WallInstant::now();
    for _ in 0..2 * runs {
        fleet.step(&mut monitor);
    }
    let populate = populate.elapsed();
    let tracked = monitor.tracked() as u64;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let key_bytes = ID_LEN as u64 + 1;
    eprintln!(
        "engine_zombie_1m/{name}: {tracked} tracked runs, peak heap {peak} B = {:.1} B per run \
         ({key_bytes} of them key bytes => {:.1} B + key bytes); populate {:.0} ns/event",
        peak as f64 / tracked as f64,
        peak as f64 / tracked as f64 - key_bytes as f64,
        populate.as_nanos() as f64 / (2 * runs) as f64,
    );
    // Three more minutes: every silent run is found dead, nothing else.
    for _ in 0..6 * runs {
        fleet.step(&mut monitor);
    }
    let silent = runs.div_ceil(100);
    if detector {
        assert_eq!(
            fleet.fired, silent,
            "{name}: exactly the silent runs are found dead"
        );
        assert_eq!(monitor.tracked() as u64, runs - silent, "{name}");
    } else {
        assert_eq!((fleet.fired, monitor.tracked() as u64), (0, runs), "{name}");
    }
    (fleet, monitor)
}

/// One heartbeat per iteration through `monitor` (built and populated on first use,
/// so that a filtered-out function costs nothing).
fn time_steps<M: Monitor>(
    b: &mut criterion::Bencher<'_>,
    state: &RefCell<Option<(Fleet, M)>>,
    populated: impl FnOnce() -> (Fleet, M),
) {
    let mut state = state.borrow_mut();
    let (fleet, monitor) = state.get_or_insert_with(populated);
    b.iter_custom(|iters| {
        let start = WallInstant::now();
        for _ in 0..iters {
            fleet.step(monitor);
        }
        start.elapsed()
    })
}

fn bench_engine(c: &mut Criterion) {
    let runs: u64 = std::env::var("OVERDUE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let engine = RefCell::new(None);
    let mut group = c.benchmark_group("engine_zombie_1m");
    group.throughput(criterion::Throughput::Elements(1));
    let populated = || populate("overdue", runs, zombie_engine, true);
    group.bench_function("overdue", |b| time_steps(b, &engine, populated));
    // The same stream handed in 32 heartbeats at a time, read ahead with
    // `Engine::prefetch` (one iteration is still one heartbeat).
    group.bench_function("overdue_prefetch", |b| {
        let mut state = engine.borrow_mut();
        let (fleet, engine) = state.get_or_insert_with(populated);
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(BATCH as u64);
            let start = WallInstant::now();
            for _ in 0..batches {
                fleet.step_batch(engine);
            }
            // (per iteration: the heartbeats actually handed in)
            start
                .elapsed()
                .mul_f64(iters as f64 / (batches * BATCH as u64) as f64)
        })
    });
    // The baselines, each on its own fleet, after the engine is gone (so that its
    // memory is neither counted nor competing for the caches).
    drop(engine);
    let detector = RefCell::new(None);
    group.bench_function("std_detector", |b| {
        time_steps(b, &detector, || {
            populate("std_detector", runs, StdDetector::default, true)
        })
    });
    drop(detector);
    let lookup = RefCell::new(None);
    group.bench_function("hashmap_lookup", |b| {
        time_steps(b, &lookup, || {
            populate("hashmap_lookup", runs, HashMapLookup::default, false)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
