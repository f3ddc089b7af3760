//! The timing wheel (`overdue_core::wheel`) against three baselines: a `BinaryHeap` with
//! lazy deletion, a `BTreeMap`, and tokio-util's `DelayQueue` on a paused clock.
//!
//! * `wheel_w1_1m`: 1,000,000 keys, each re-armed every 30 s of simulated time with a 90 s
//!   deadline (key `k` at `k · 30 µs` into each period); at any time 1% of the keys are silent (each key skips 4 consecutive re-arms
//!   out of 400, so it expires, and is inserted again when it comes back); the clock
//!   advances in 10 ms steps.
//! * `wheel_w2_10k`: 10,000 keys, an event every 100 ms per key, 1 s deadlines, 5% of the
//!   events cancel the key's timer and insert a new one; 1% silent as above (12 of 1200
//!   events, so they expire).
//!
//! One measured iteration is one re-arm (reset, or insert after an expiry, or cancel +
//! insert) plus its share of advancing the clock and draining what expired; criterion
//! reports it as time per iteration = ns per reset. The state is built once per
//! implementation outside the timed loop and carried on from sample to sample. Before
//! timing, every implementation runs the same schedule untimed and must expire exactly the
//! same keys at the same steps as the wheel. After timing the wheel, W1 also prints the
//! spread of single advances (poll-drains) and resets, the wheel's bytes per key, and the
//! cost per event when `next_deadline` is asked after every reset (see benches/README.md).
//!
//! Run: `cargo bench -p overdue-benches --bench wheel -- --warm-up-time 1 --measurement-time 2 --noplot`

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration as StdDuration, Instant as WallInstant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use overdue_core::time::{Duration, Instant};
use overdue_core::wheel::{GrowableWheel, Handle, ResetError};
use tokio::runtime::Runtime;
use tokio_util::time::delay_queue::{DelayQueue, Key};

/// A workload: who is re-armed when, with which deadline.
#[derive(Clone, Copy, Debug)]
struct Workload {
    keys: u32,
    /// Each key's event period (µs); events of one period are spread evenly.
    period: u64,
    /// Deadline set at each event, from the (stepped) clock (µs).
    deadline: u64,
    /// Clock step (µs).
    step: u64,
    /// Key `k` is silent in period `c` when `(c + phase(k)) % silent_every < silent_len`.
    silent_every: u64,
    silent_len: u64,
    /// Percentage of events that cancel and insert anew instead of resetting.
    cancel_pct: u64,
    /// Events of the untimed comparison run.
    verify_events: u64,
}

const W1: Workload = Workload {
    keys: 1_000_000,
    period: 30_000_000,
    deadline: 90_000_000,
    step: 10_000,
    silent_every: 400,
    silent_len: 4,
    cancel_pct: 0,
    // 3.3 periods: the first silent keys expire during the fourth.
    verify_events: 3_300_000,
};

const W2: Workload = Workload {
    keys: 10_000,
    period: 100_000,
    deadline: 1_000_000,
    step: 10_000,
    silent_every: 1_200,
    silent_len: 12,
    cancel_pct: 5,
    verify_events: 400_000,
};

/// What a timer structure must do; `now` and deadlines are µs of simulated time.
trait Timers {
    /// Arms `key` to expire at `deadline`, replacing its current timer if any.
    fn arm(&mut self, key: u32, deadline: u64);
    /// Disarms `key` (no-op if it has no timer).
    fn cancel(&mut self, key: u32);
    /// Moves the clock to `now` and reports every key whose deadline is at or before it.
    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32));
}

/// The wheel under test: one `Handle` per key.
struct Overdue {
    wheel: GrowableWheel<u32>,
    handles: Vec<Handle>,
}

impl Overdue {
    fn new(keys: u32) -> Self {
        Overdue {
            wheel: GrowableWheel::with_capacity(
                Duration::from_millis(1),
                Instant::ZERO,
                keys as usize,
            ),
            handles: vec![Handle::from_parts(u32::MAX, 0); keys as usize],
        }
    }
}

impl Timers for Overdue {
    #[inline]
    fn arm(&mut self, key: u32, deadline: u64) {
        let h = &mut self.handles[key as usize];
        match self.wheel.reset(*h, Instant::from_micros(deadline)) {
            Ok(()) => {}
            Err(ResetError::Stale) => {
                *h = self
                    .wheel
                    .insert(Instant::from_micros(deadline), key)
                    .expect("growable wheel, future deadline");
            }
            Err(ResetError::Elapsed(_)) => unreachable!("deadlines are in the future"),
        }
    }

    #[inline]
    fn cancel(&mut self, key: u32) {
        self.wheel.cancel(self.handles[key as usize]);
    }

    #[inline]
    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32)) {
        while let Some(e) = self.wheel.poll(Instant::from_micros(now)) {
            fired(e.payload);
        }
    }
}

/// `BinaryHeap<Reverse<(deadline, key, generation)>>` with lazy deletion: an entry counts
/// only if its generation is the key's current one.
struct Heap {
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    generation: Vec<u32>,
}

impl Heap {
    fn new(keys: u32) -> Self {
        Heap {
            heap: BinaryHeap::with_capacity(keys as usize * 3),
            generation: vec![0; keys as usize],
        }
    }
}

impl Timers for Heap {
    #[inline]
    fn arm(&mut self, key: u32, deadline: u64) {
        let g = &mut self.generation[key as usize];
        *g = g.wrapping_add(1);
        self.heap.push(Reverse((deadline, key, *g)));
    }

    #[inline]
    fn cancel(&mut self, key: u32) {
        let g = &mut self.generation[key as usize];
        *g = g.wrapping_add(1);
    }

    #[inline]
    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32)) {
        while let Some(&Reverse((d, key, g))) = self.heap.peek() {
            if d > now {
                break;
            }
            self.heap.pop();
            let current = &mut self.generation[key as usize];
            if *current == g {
                *current = g.wrapping_add(1);
                fired(key);
            }
        }
    }
}

/// `BTreeMap<(deadline, key), ()>` plus each key's current deadline (0 = none).
struct Tree {
    map: BTreeMap<(u64, u32), ()>,
    current: Vec<u64>,
}

impl Tree {
    fn new(keys: u32) -> Self {
        Tree {
            map: BTreeMap::new(),
            current: vec![0; keys as usize],
        }
    }
}

impl Timers for Tree {
    #[inline]
    fn arm(&mut self, key: u32, deadline: u64) {
        let cur = &mut self.current[key as usize];
        if *cur != 0 {
            self.map.remove(&(*cur, key));
        }
        self.map.insert((deadline, key), ());
        *cur = deadline;
    }

    #[inline]
    fn cancel(&mut self, key: u32) {
        let cur = &mut self.current[key as usize];
        if *cur != 0 {
            self.map.remove(&(*cur, key));
            *cur = 0;
        }
    }

    #[inline]
    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32)) {
        while let Some((&(d, key), _)) = self.map.first_key_value() {
            if d > now {
                break;
            }
            self.map.pop_first();
            self.current[key as usize] = 0;
            fired(key);
        }
    }
}

/// tokio-util's `DelayQueue` on a paused current-thread runtime; the clock moves with
/// `tokio::time::advance`. The runtime must be entered by the caller (for `insert_at`).
struct Delay<'rt> {
    rt: &'rt Runtime,
    queue: DelayQueue<u32>,
    keys: Vec<Option<Key>>,
    start: tokio::time::Instant,
    clock: u64,
}

impl<'rt> Delay<'rt> {
    fn new(rt: &'rt Runtime, keys: u32) -> Self {
        Delay {
            rt,
            queue: DelayQueue::with_capacity(keys as usize),
            keys: vec![None; keys as usize],
            start: tokio::time::Instant::now(),
            clock: 0,
        }
    }
}

fn paused_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime")
}

impl Timers for Delay<'_> {
    #[inline]
    fn arm(&mut self, key: u32, deadline: u64) {
        let when = self.start + StdDuration::from_micros(deadline);
        match &self.keys[key as usize] {
            Some(k) => self.queue.reset_at(k, when),
            None => self.keys[key as usize] = Some(self.queue.insert_at(key, when)),
        }
    }

    #[inline]
    fn cancel(&mut self, key: u32) {
        if let Some(k) = self.keys[key as usize].take() {
            self.queue.remove(&k);
        }
    }

    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32)) {
        let delta = StdDuration::from_micros(now - self.clock);
        self.clock = now;
        let due = self.start + StdDuration::from_micros(now);
        let (queue, keys) = (&mut self.queue, &mut self.keys);
        self.rt.block_on(async {
            tokio::time::advance(delta).await;
            let mut idle = 0u32;
            loop {
                match poll_fn(|cx| Poll::Ready(queue.poll_expired(cx))).await {
                    Poll::Ready(Some(expired)) => {
                        let key = expired.into_inner();
                        keys[key as usize] = None;
                        fired(key);
                        idle = 0;
                    }
                    Poll::Ready(None) => break,
                    // Pending with something due: the timer driver has not run yet.
                    Poll::Pending => match queue.peek() {
                        Some(k) if queue.deadline(&k) <= due => {
                            idle += 1;
                            assert!(idle < 1_000, "DelayQueue never yielded a due entry");
                            tokio::task::yield_now().await;
                        }
                        _ => break,
                    },
                }
            }
        });
    }
}

/// Hooks for the untimed runs; the timed run uses `()`, which costs nothing.
trait Observer {
    const TIMED: bool = false;
    fn expired(&mut self, _now: u64, _key: u32) {}
    fn advance_took(&mut self, _took: StdDuration) {}
    fn arm_took(&mut self, _took: StdDuration) {}
}

impl Observer for () {}

/// Records every expiry as `(step, key)`.
#[derive(Default)]
struct ExpiryLog(Vec<(u64, u32)>);

impl Observer for ExpiryLog {
    fn expired(&mut self, now: u64, key: u32) {
        self.0.push((now, key));
    }
}

/// Every single advance and re-arm time, in ns.
#[derive(Default)]
struct Timings {
    advances: Vec<u64>,
    arms: Vec<u64>,
    expired: u64,
}

impl Observer for Timings {
    const TIMED: bool = true;
    fn expired(&mut self, _now: u64, _key: u32) {
        self.expired += 1;
    }
    fn advance_took(&mut self, took: StdDuration) {
        self.advances.push(took.as_nanos() as u64);
    }
    fn arm_took(&mut self, took: StdDuration) {
        self.arms.push(took.as_nanos() as u64);
    }
}

/// "max / p99.9 / p50" of a sample in µs.
fn spread(mut ns: Vec<u64>) -> String {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize] as f64 / 1e3;
    format!(
        "max {:.1} µs, p99.9 {:.2} µs, p50 {:.3} µs",
        at(1.0),
        at(0.999),
        at(0.5)
    )
}

/// The simulated schedule and where it is.
struct Sim {
    w: Workload,
    /// Event slot within a period -> key (a fixed random permutation).
    key_at: Vec<u32>,
    /// Event slot -> its key's offset in the silence pattern (read in order, so the
    /// schedule itself adds no random memory access besides each implementation's own).
    silent_phase: Vec<u32>,
    /// Next event: period `cycle`, slot `slot`.
    cycle: u64,
    slot: u32,
    /// The stepped clock (µs).
    clock: u64,
    events: u64,
}

impl Sim {
    fn new(w: Workload) -> Self {
        let n = w.keys as usize;
        // Key k's events come at slot k of each period; with WHEEL_BENCH_SHUFFLE set, at a
        // fixed random slot instead (each event then starts with a random access to the
        // key's state, in every implementation; see benches/README.md).
        let mut key_at: Vec<u32> = (0..w.keys).collect();
        if std::env::var_os("WHEEL_BENCH_SHUFFLE").is_some() {
            let mut x = 0x2545_f491_4f6c_dd1du64;
            for i in (1..n).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                key_at.swap(i, (x % (i as u64 + 1)) as usize);
            }
        }
        let silent_phase = key_at
            .iter()
            .map(|&k| ((u64::from(k) * 7_919) % w.silent_every) as u32)
            .collect();
        Sim {
            w,
            key_at,
            silent_phase,
            cycle: 0,
            slot: 0,
            clock: 0,
            events: 0,
        }
    }

    /// Plays `ops` re-arming events on `timers` (silent events are skipped, not counted).
    #[inline(never)]
    fn run<T: Timers, O: Observer>(&mut self, timers: &mut T, obs: &mut O, ops: u64) {
        let w = self.w;
        let spacing = w.period / u64::from(w.keys);
        let mut done = 0;
        let mut cycle_mod = self.cycle % w.silent_every;
        // Kept incrementally so that the schedule costs a few adds per event, no division.
        let mut time = self.cycle * w.period + u64::from(self.slot) * spacing;
        while done < ops {
            let stepped = if time >= self.clock + w.step {
                time - time % w.step
            } else {
                self.clock
            };
            if stepped > self.clock {
                self.clock = stepped;
                let mut fired = |key: u32| obs.expired(stepped, key);
                if O::TIMED {
                    let t0 = WallInstant::now();
                    timers.advance(stepped, &mut fired);
                    let took = t0.elapsed();
                    obs.advance_took(took);
                } else {
                    timers.advance(stepped, &mut fired);
                }
            }
            let key = self.key_at[self.slot as usize];
            let silent_phase = u64::from(self.silent_phase[self.slot as usize]);
            let event = self.events;
            self.events += 1;
            self.slot += 1;
            time += spacing;
            if self.slot == w.keys {
                self.slot = 0;
                self.cycle += 1;
                cycle_mod = self.cycle % w.silent_every;
            }
            let mut phase = cycle_mod + silent_phase;
            if phase >= w.silent_every {
                phase -= w.silent_every;
            }
            if phase < w.silent_len {
                continue;
            }
            let deadline = stepped + w.deadline;
            let t0 = O::TIMED.then(WallInstant::now);
            if w.cancel_pct > 0
                && (event.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % 100 < w.cancel_pct
            {
                timers.cancel(key);
            }
            timers.arm(key, deadline);
            if let Some(t0) = t0 {
                obs.arm_took(t0.elapsed());
            }
            done += 1;
        }
    }
}

/// Builds `timers` by playing the comparison run; returns the sorted expiry log.
fn verify_run<T: Timers>(sim: &mut Sim, timers: &mut T) -> Vec<(u64, u32)> {
    let mut log = ExpiryLog::default();
    sim.run(timers, &mut log, sim.w.verify_events);
    log.0.sort_unstable();
    log.0
}

fn check_same(name: &str, got: &[(u64, u32)], want: &[(u64, u32)]) {
    assert!(!want.is_empty(), "the comparison run must expire something");
    assert!(
        got == want,
        "{name} expired different keys than the wheel ({} vs {} expiries)",
        got.len(),
        want.len()
    );
}

/// Times `ops` further events on already-built state.
fn timed<T: Timers>(sim: &mut Sim, timers: &mut T, ops: u64) -> StdDuration {
    let t0 = WallInstant::now();
    sim.run(timers, &mut (), ops);
    t0.elapsed()
}

fn bench_workload(c: &mut Criterion, group_name: &str, w: Workload, diagnostics: bool) {
    let mut group = c.benchmark_group(group_name);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);

    let reference = {
        let mut sim = Sim::new(w);
        let mut timers = Overdue::new(w.keys);
        let reference = verify_run(&mut sim, &mut timers);
        group.bench_function("overdue", |b| {
            b.iter_custom(|iters| timed(&mut sim, &mut timers, iters))
        });
        if diagnostics {
            print_diagnostics(&mut sim, &mut timers);
        }
        reference
    };
    {
        let mut sim = Sim::new(w);
        let mut timers = Heap::new(w.keys);
        check_same(
            "binary_heap",
            &verify_run(&mut sim, &mut timers),
            &reference,
        );
        group.bench_function("binary_heap", |b| {
            b.iter_custom(|iters| timed(&mut sim, &mut timers, iters))
        });
    }
    {
        let mut sim = Sim::new(w);
        let mut timers = Tree::new(w.keys);
        check_same("btreemap", &verify_run(&mut sim, &mut timers), &reference);
        group.bench_function("btreemap", |b| {
            b.iter_custom(|iters| timed(&mut sim, &mut timers, iters))
        });
    }
    {
        let rt = paused_runtime();
        let _entered = rt.enter();
        let mut sim = Sim::new(w);
        let mut timers = Delay::new(&rt, w.keys);
        check_same(
            "delay_queue",
            &verify_run(&mut sim, &mut timers),
            &reference,
        );
        group.bench_function("delay_queue", |b| {
            b.iter_custom(|iters| timed(&mut sim, &mut timers, iters))
        });
    }
    group.finish();
}

/// Single advance and reset times over one more period (each timed alone), bytes per key,
/// and the cost of also asking `next_deadline` after every event (what the engine does).
fn print_diagnostics(sim: &mut Sim, timers: &mut Overdue) {
    let w = sim.w;
    let mut timings = Timings::default();
    sim.run(timers, &mut timings, u64::from(w.keys));
    let entry = GrowableWheel::<u32>::entry_size();
    let fixed = std::mem::size_of::<GrowableWheel<u32>>();
    eprintln!(
        "wheel diagnostics ({} keys, {} live), one period: {} advances (poll-drain, {} \
         expired): {}; {} resets: {}",
        w.keys,
        timers.wheel.len(),
        timings.advances.len(),
        timings.expired,
        spread(timings.advances),
        timings.arms.len(),
        spread(timings.arms),
    );
    eprintln!(
        "wheel bytes per key: {entry} B/entry + {fixed} B of levels / {} keys = {:.3} B/key \
         (plus {} B/key for the caller's Handle)",
        w.keys,
        entry as f64 + fixed as f64 / f64::from(w.keys),
        std::mem::size_of::<Handle>(),
    );
    // Re-arm plus next_deadline after every event, as the engine's poll_timeout does.
    let mut with_next = WithNextDeadline(timers);
    let n = u64::from(w.keys) / 2;
    let t0 = WallInstant::now();
    sim.run(&mut with_next, &mut (), n);
    eprintln!(
        "wheel reset + next_deadline per event: {:.1} ns",
        t0.elapsed().as_secs_f64() * 1e9 / n as f64
    );
}

/// The wheel, asked for its exact next deadline after every re-arm.
struct WithNextDeadline<'a>(&'a mut Overdue);

impl Timers for WithNextDeadline<'_> {
    fn arm(&mut self, key: u32, deadline: u64) {
        self.0.arm(key, deadline);
        std::hint::black_box(self.0.wheel.next_deadline());
    }
    fn cancel(&mut self, key: u32) {
        self.0.cancel(key);
    }
    fn advance(&mut self, now: u64, fired: &mut dyn FnMut(u32)) {
        self.0.advance(now, fired);
    }
}

fn wheel_w1_1m(c: &mut Criterion) {
    bench_workload(c, "wheel_w1_1m", W1, true);
}

fn wheel_w2_10k(c: &mut Criterion) {
    bench_workload(c, "wheel_w2_10k", W2, false);
}

criterion_group!(benches, wheel_w1_1m, wheel_w2_10k);
criterion_main!(benches);
