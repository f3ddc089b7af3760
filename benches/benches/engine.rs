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
use overdue_benches::zombie::{zombie_engine, Fleet, BATCH, ID_LEN};

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
    let key_bytes = ID_LEN as u64 + 1;
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
