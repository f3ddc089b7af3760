//! The `engine_zombie_1m` fleet without criterion, for counting instructions: the
//! wall-clock numbers of this 2-core VM move by ±15% from run to run, an instruction
//! count does not. Populates `OVERDUE_BENCH_RUNS` runs (default 10,000), runs the
//! fleet to its steady state, then hands in `STEPS` more heartbeats (default 100,000)
//! inside `steady_state`, which callgrind can count on its own:
//!
//! ```text
//! cargo build --release -p overdue-benches --example zombie_instructions
//! valgrind --tool=callgrind --toggle-collect=*steady_state* \
//!     target/release/examples/zombie_instructions
//! ```
//!
//! Instructions per event = the collected `Ir` / `STEPS`. (Memory latency is not in
//! it: at 10,000 runs the state stays in cache, so this is the compute floor.)

use overdue_benches::zombie::{zombie_engine, Fleet};
use overdue_core::engine::Engine;

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[inline(never)]
fn steady_state(fleet: &mut Fleet, engine: &mut Engine, steps: u64) {
    for _ in 0..steps {
        fleet.step(engine);
    }
}

fn main() {
    let runs = var("OVERDUE_BENCH_RUNS", 10_000);
    let steps = var("STEPS", 100_000);
    let mut fleet = Fleet::new(runs);
    let mut engine = zombie_engine();
    // eight rounds: every run is tracked, the silent ones have fired
    for _ in 0..8 * runs {
        fleet.step(&mut engine);
    }
    steady_state(&mut fleet, &mut engine, steps);
    println!(
        "{runs} runs, {steps} steady-state heartbeats, {} firings, {} tracked keys",
        fleet.fired,
        engine.tracked_keys()
    );
}
