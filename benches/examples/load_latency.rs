//! What one random memory load costs on this machine, by buffer size: a dependent
//! pointer chase (each load's address is the value the previous one read) over one
//! `u64` per 64-byte line, in a random cyclic order, so neither the prefetchers nor
//! out-of-order execution can hide the latency. `benches/README.md` compares the
//! engine's per-event time at a million runs with these figures.
//!
//! ```text
//! cargo run --release -p overdue-benches --example load_latency
//! ```

use std::time::Instant;

/// The buffer sizes measured, in MiB.
const SIZES_MB: [usize; 6] = [1, 2, 8, 16, 64, 256];
/// Loads timed per size.
const LOADS: usize = 20_000_000;

fn main() {
    for mb in SIZES_MB {
        let lines = mb * 1024 * 1024 / 64;
        // a random cyclic permutation of the lines (Sattolo's algorithm, xorshift)
        let mut order: Vec<usize> = (0..lines).collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in (1..lines).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % i as u64) as usize);
        }
        // slot 8·line holds the index of the next line's slot
        let mut next = vec![0usize; lines * 8];
        for i in 0..lines {
            next[order[i] * 8] = order[(i + 1) % lines] * 8;
        }
        let mut at = 0usize;
        let start = Instant::now();
        for _ in 0..LOADS {
            at = next[at];
        }
        let ns = start.elapsed().as_nanos() as f64 / LOADS as f64;
        // (printing `at` keeps the chase from being optimized away)
        println!("{mb:4} MB: {ns:6.1} ns per dependent random load (ended at {at})");
    }
}
