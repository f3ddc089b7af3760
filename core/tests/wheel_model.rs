//! The timing wheel against a naive reference model.
//!
//! [`run`] plays a sequence of [`Op`]s on a wheel (either storage flavour) and on a
//! `BTreeMap<(deadline, seq), id>` that is obviously right, and checks after every step
//! that both agree: results of every call, the order and set of expired entries,
//! `next_deadline`, `len`, `elapsed`, and that handles of fired or cancelled entries are
//! refused without disturbing anything else. Deadlines range over all of `u64`: near 0,
//! near `u64::MAX`, in the past, equal to a live one, at tick and level edges, and ticks
//! range from 1 µs (and 0) to `u64::MAX`. `Op` and `run` are plain data and a plain
//! function so a fuzzer can drive them too.

use std::collections::{BTreeMap, HashMap};

use overdue_core::time::{Duration, Instant};
#[cfg(feature = "alloc")]
use overdue_core::wheel::CompactVecStorage;
#[cfg(feature = "alloc")]
use overdue_core::wheel::GrowableWheel;
use overdue_core::wheel::{
    CompactArrayStorage, Expired, FixedWheel, Handle, InsertError, ResetError, Storage, Wheel,
};
use proptest::prelude::*;

/// A time, resolved against the model's state when the op runs.
#[derive(Clone, Debug)]
pub enum Time {
    /// `elapsed + x` (saturating).
    After(u64),
    /// `elapsed - x` (saturating): in the past.
    Before(u64),
    /// An absolute instant.
    Abs(u64),
    /// `u64::MAX - x`.
    NearMax(u64),
    /// `k · tick + offset`, with `k` a power of 64 times a slot number: level edges.
    Edge { power: u32, slot: u64, offset: i8 },
    /// `elapsed + k · tick + offset` with `k = 64^power · slot`: edges of level windows.
    AfterEdge { power: u32, slot: u64, offset: i8 },
    /// The deadline of a live entry picked by index (a tie), else `elapsed + 1`.
    SameAs(usize),
}

/// One step.
#[derive(Clone, Debug)]
pub enum Op {
    /// Insert a new entry (its payload is a fresh id).
    Insert(Time),
    /// Insert a new entry at a chosen slab index (`insert_at`).
    InsertAt(u32, Time),
    /// Reset the entry of a previously issued handle (live or stale).
    Reset(usize, Time),
    /// Cancel the entry of a previously issued handle.
    Cancel(usize),
    /// One `poll(now)`.
    Poll(Time),
    /// Drain everything due at `now`.
    Advance(Time),
    /// Compare `next_deadline`.
    NextDeadline,
    /// Compare `get`/`deadline` of a previously issued handle.
    Get(usize),
}

/// The reference: entries ordered by (deadline, insertion sequence).
struct Model {
    order: BTreeMap<(u64, u64), u32>,
    live: HashMap<u32, (u64, u64)>,
    elapsed: u64,
    seq: u64,
    capacity: Option<usize>,
    tick: u64,
}

impl Model {
    /// An empty model of `wheel`'s time, tick and capacity.
    fn of<T, S: Storage<T>>(wheel: &Wheel<T, S>) -> Model {
        Model {
            order: BTreeMap::new(),
            live: HashMap::new(),
            elapsed: wheel.elapsed().as_micros(),
            seq: 0,
            capacity: wheel.capacity(),
            tick: wheel.tick().as_micros(),
        }
    }

    fn resolve(&self, time: &Time) -> u64 {
        match *time {
            Time::After(x) => self.elapsed.saturating_add(x),
            Time::Before(x) => self.elapsed.saturating_sub(x),
            Time::Abs(x) => x,
            Time::NearMax(x) => u64::MAX - x,
            Time::Edge {
                power,
                slot,
                offset,
            } => {
                let k = 64u64.saturating_pow(power).saturating_mul(slot);
                k.saturating_mul(self.tick)
                    .saturating_add_signed(i64::from(offset))
            }
            Time::AfterEdge {
                power,
                slot,
                offset,
            } => {
                let k = 64u64.saturating_pow(power).saturating_mul(slot);
                self.elapsed
                    .saturating_add(k.saturating_mul(self.tick))
                    .saturating_add_signed(i64::from(offset))
            }
            Time::SameAs(k) => {
                if self.order.is_empty() {
                    self.elapsed.saturating_add(1)
                } else {
                    self.order.keys().nth(k % self.order.len()).unwrap().0
                }
            }
        }
    }

    fn add(&mut self, id: u32, deadline: u64) {
        let key = (deadline, self.seq);
        self.seq += 1;
        self.order.insert(key, id);
        self.live.insert(id, key);
    }

    fn remove(&mut self, id: u32) -> Option<u64> {
        let key = self.live.remove(&id)?;
        self.order.remove(&key);
        Some(key.0)
    }

    fn poll(&mut self, now: u64) -> Option<(u64, u32)> {
        let now = now.max(self.elapsed);
        match self.order.first_key_value() {
            Some((&(d, _), &id)) if d <= now => {
                self.remove(id);
                Some((d, id))
            }
            _ => {
                self.elapsed = now;
                None
            }
        }
    }
}

/// Plays `ops` on a wheel with the given tick and start time, checking it against the model.
pub fn run<S: Storage<u32>>(mut wheel: Wheel<u32, S>, ops: &[Op]) {
    let mut model = Model::of(&wheel);
    let mut issued: Vec<(Handle, u32)> = Vec::new();
    let mut next_id = 0u32;
    let pick = |issued: &Vec<(Handle, u32)>, k: usize| issued.get(k % issued.len().max(1)).copied();
    let check_expired =
        |e: Option<Expired<u32>>, want: Option<(u64, u32)>, issued: &[(Handle, u32)]| {
            let got = e.map(|e| {
                assert_eq!(e.handle, issued[e.payload as usize].0, "expired handle");
                (e.deadline.as_micros(), e.payload)
            });
            assert_eq!(got, want, "poll result");
        };
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(time) => {
                let d = model.resolve(time);
                let id = next_id;
                next_id += 1;
                let got = wheel.insert(Instant::from_micros(d), id);
                if d <= model.elapsed {
                    assert_eq!(got, Err(InsertError::Elapsed(id)), "step {step}");
                } else if model.capacity == Some(model.live.len()) {
                    assert_eq!(got, Err(InsertError::Full(id)), "step {step}");
                } else {
                    let h = got.expect("insert");
                    model.add(id, d);
                    issued.push((h, id));
                    assert_eq!(issued.len(), next_id as usize);
                    continue_check(&wheel, &model);
                    continue;
                }
                // Keep ids aligned with `issued` positions: a refused id gets a dead handle.
                issued.push((Handle::from_parts(u32::MAX, u32::MAX), id));
            }
            Op::InsertAt(index, time) => {
                let d = model.resolve(time);
                let id = next_id;
                next_id += 1;
                let occupied = issued
                    .iter()
                    .any(|&(h, i)| h.index() == *index && model.live.contains_key(&i));
                assert_eq!(wheel.handle_at(*index).is_some(), occupied, "step {step}");
                let got = wheel.insert_at(*index, Instant::from_micros(d), id);
                if d <= model.elapsed {
                    assert_eq!(got, Err(InsertError::Elapsed(id)), "step {step}");
                } else if model.capacity.is_some_and(|c| *index as usize >= c) {
                    assert_eq!(got, Err(InsertError::Full(id)), "step {step}");
                } else if occupied {
                    assert_eq!(got, Err(InsertError::Occupied(id)), "step {step}");
                } else {
                    let h = got.expect("insert_at");
                    assert_eq!(h.index(), *index, "step {step}");
                    assert_eq!(wheel.handle_at(*index), Some(h), "step {step}");
                    model.add(id, d);
                    issued.push((h, id));
                    continue_check(&wheel, &model);
                    continue;
                }
                issued.push((Handle::from_parts(u32::MAX, u32::MAX), id));
            }
            Op::Reset(k, time) => {
                let Some((h, id)) = pick(&issued, *k) else {
                    continue;
                };
                let d = model.resolve(time);
                let got = wheel.reset(h, Instant::from_micros(d));
                if model.remove(id).is_none() {
                    assert_eq!(got, Err(ResetError::Stale), "step {step}");
                } else if d <= model.elapsed {
                    assert_eq!(got, Err(ResetError::Elapsed(id)), "step {step}");
                    assert!(!wheel.contains(h));
                } else {
                    assert_eq!(got, Ok(()), "step {step}");
                    model.add(id, d);
                }
            }
            Op::Cancel(k) => {
                let Some((h, id)) = pick(&issued, *k) else {
                    continue;
                };
                let want = model.remove(id).map(|_| id);
                assert_eq!(wheel.cancel(h), want, "step {step}");
            }
            Op::Poll(time) => {
                let now = model.resolve(time);
                let want = model.poll(now);
                check_expired(wheel.poll(Instant::from_micros(now)), want, &issued);
            }
            Op::Advance(time) => {
                let now = model.resolve(time);
                let mut want = Vec::new();
                while let Some(e) = model.poll(now) {
                    want.push(e);
                }
                let got: Vec<(u64, u32)> = wheel
                    .advance(Instant::from_micros(now))
                    .map(|e| {
                        assert_eq!(e.handle, issued[e.payload as usize].0);
                        (e.deadline.as_micros(), e.payload)
                    })
                    .collect();
                assert_eq!(got, want, "step {step}: advance to {now}");
            }
            Op::NextDeadline => next_deadline_agrees(&mut wheel, &model, step),
            Op::Get(k) => {
                let Some((h, id)) = pick(&issued, *k) else {
                    continue;
                };
                let want = model.live.get(&id).map(|&(d, _)| d);
                assert_eq!(wheel.deadline(h).map(Instant::as_micros), want);
                assert_eq!(wheel.get(h).copied(), want.map(|_| id));
                assert_eq!(wheel.contains(h), want.is_some());
                if want.is_some() {
                    assert_eq!(wheel.handle_at(h.index()), Some(h));
                }
            }
        }
        continue_check(&wheel, &model);
        if step % 32 == 0 {
            assert_eq!(wheel.iter().count(), model.live.len(), "iter");
        }
    }
    // Finally everything comes out, in order.
    let want: Vec<(u64, u32)> = model.order.iter().map(|(&(d, _), &id)| (d, id)).collect();
    let got: Vec<(u64, u32)> = wheel
        .advance(Instant::MAX)
        .map(|e| (e.deadline.as_micros(), e.payload))
        .collect();
    assert_eq!(got, want, "final drain");
    assert!(wheel.is_empty());
}

/// Plays `ops` on a compact wheel (payload `()`, no generations, no tie order) the
/// way the engine uses it: entries are named by slab index, a handle is looked up
/// with `handle_at` when needed. Checked against the model as [`run`] does, except
/// that among entries with equal deadlines any may come out first (each exactly once).
pub fn run_compact<S: Storage<()>>(mut wheel: Wheel<(), S>, ops: &[Op]) {
    let mut model = Model::of(&wheel);
    // (ids are slab indices)
    let check = |got: Option<Expired<()>>, model: &mut Model, now: u64, step: usize| -> bool {
        let first = model.order.first_key_value().map(|(&(d, _), _)| d);
        let due = first.filter(|&d| d <= now.max(model.elapsed));
        match (got, due) {
            (Some(e), Some(d)) => {
                let i = e.handle.index();
                assert_eq!(e.handle.generation(), 0, "step {step}");
                assert_eq!(e.deadline.as_micros(), d, "step {step}: deadline order");
                assert_eq!(model.remove(i), Some(d), "step {step}: entry {i}");
                true
            }
            (None, None) => {
                model.elapsed = now.max(model.elapsed);
                false
            }
            (got, want) => panic!("step {step}: got {got:?}, want an entry due at {want:?}"),
        }
    };
    let mut next_id = 0usize;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(time) | Op::InsertAt(_, time) => {
                let d = model.resolve(time);
                let index = match op {
                    Op::InsertAt(index, _) => *index,
                    // (a fresh index beyond the ones `InsertAt` names)
                    _ => {
                        next_id += 1;
                        40 + (next_id % 24) as u32
                    }
                };
                let occupied = model.live.contains_key(&index);
                let got = wheel.insert_at(index, Instant::from_micros(d), ());
                if d <= model.elapsed {
                    assert_eq!(got, Err(InsertError::Elapsed(())), "step {step}");
                } else if model.capacity.is_some_and(|c| index as usize >= c) {
                    assert_eq!(got, Err(InsertError::Full(())), "step {step}");
                } else if occupied {
                    assert_eq!(got, Err(InsertError::Occupied(())), "step {step}");
                } else {
                    assert_eq!(got, Ok(Handle::from_parts(index, 0)), "step {step}");
                    model.add(index, d);
                }
            }
            Op::Reset(k, time) => {
                let index = (*k % 64) as u32;
                let d = model.resolve(time);
                let Some(h) = wheel.handle_at(index) else {
                    assert!(!model.live.contains_key(&index), "step {step}");
                    assert_eq!(
                        wheel.reset(Handle::from_parts(index, 0), Instant::from_micros(d)),
                        Err(ResetError::Stale),
                        "step {step}"
                    );
                    continue;
                };
                assert!(model.remove(index).is_some(), "step {step}");
                let got = wheel.reset(h, Instant::from_micros(d));
                if d <= model.elapsed {
                    assert_eq!(got, Err(ResetError::Elapsed(())), "step {step}");
                    assert_eq!(wheel.handle_at(index), None);
                } else {
                    assert_eq!(got, Ok(()), "step {step}");
                    model.add(index, d);
                }
            }
            Op::Cancel(k) => {
                let index = (*k % 64) as u32;
                let want = model.remove(index).map(|_| ());
                let h = Handle::from_parts(index, 0);
                assert_eq!(wheel.cancel(h), want, "step {step}");
            }
            Op::Poll(time) => {
                let now = model.resolve(time);
                let got = wheel.poll(Instant::from_micros(now));
                check(got, &mut model, now, step);
            }
            Op::Advance(time) => {
                let now = model.resolve(time);
                while check(wheel.poll(Instant::from_micros(now)), &mut model, now, step) {}
            }
            Op::NextDeadline => next_deadline_agrees(&mut wheel, &model, step),
            Op::Get(k) => {
                let index = (*k % 64) as u32;
                let h = Handle::from_parts(index, 0);
                let want = model.live.get(&index).map(|&(d, _)| d);
                assert_eq!(wheel.deadline(h).map(Instant::as_micros), want);
                assert_eq!(wheel.contains(h), want.is_some());
                assert_eq!(wheel.handle_at(index).is_some(), want.is_some());
            }
        }
        continue_check(&wheel, &model);
        if step % 32 == 0 {
            assert_eq!(wheel.iter().count(), model.live.len(), "iter");
        }
    }
    while check(wheel.poll(Instant::MAX), &mut model, u64::MAX, ops.len()) {}
    assert!(wheel.is_empty() && model.live.is_empty());
}

fn next_deadline_agrees<T, S: Storage<T>>(wheel: &mut Wheel<T, S>, model: &Model, step: usize) {
    let want = model.order.keys().next().map(|&(d, _)| d);
    assert_eq!(
        wheel.next_deadline().map(Instant::as_micros),
        want,
        "step {step}"
    );
}

fn continue_check<T, S: Storage<T>>(wheel: &Wheel<T, S>, model: &Model) {
    assert_eq!(wheel.len(), model.live.len(), "len");
    assert_eq!(wheel.is_empty(), model.live.is_empty());
    assert_eq!(wheel.elapsed().as_micros(), model.elapsed, "elapsed");
}

fn time() -> impl Strategy<Value = Time> {
    prop_oneof![
        4 => (0u64..100).prop_map(Time::After),
        4 => (0u64..100_000).prop_map(Time::After),
        3 => (0u64..10_000_000_000).prop_map(Time::After),
        1 => any::<u64>().prop_map(Time::After),
        1 => (0u64..1_000).prop_map(Time::Before),
        1 => any::<u64>().prop_map(Time::Abs),
        1 => (0u64..1_000).prop_map(Time::Abs),
        1 => (0u64..1_000).prop_map(Time::NearMax),
        2 => (0u32..11, 0u64..65, -2i8..3).prop_map(|(power, slot, offset)| Time::Edge {
            power,
            slot,
            offset
        }),
        2 => (0u32..8, 60u64..66, -2i8..3).prop_map(|(power, slot, offset)| Time::AfterEdge {
            power,
            slot,
            offset
        }),
        3 => any::<usize>().prop_map(Time::SameAs),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => time().prop_map(Op::Insert),
        3 => (0u32..40, time()).prop_map(|(i, t)| Op::InsertAt(i, t)),
        3 => (any::<usize>(), time()).prop_map(|(k, t)| Op::Reset(k, t)),
        2 => any::<usize>().prop_map(Op::Cancel),
        3 => time().prop_map(Op::Poll),
        2 => time().prop_map(Op::Advance),
        2 => Just(Op::NextDeadline),
        1 => any::<usize>().prop_map(Op::Get),
    ]
}

fn tick() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        1u64..100,
        Just(1_000),
        Just(1_000_000),
        Just(1 << 40),
        any::<u64>(),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(0u64),
        1 => 0u64..1_000_000,
        1 => any::<u64>(),
        1 => (0u64..1_000_000).prop_map(|x| u64::MAX - x),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fixed_wheel_matches_the_model(
        tick in tick(), start in start(), ops in prop::collection::vec(op(), 1..200)
    ) {
        let wheel: FixedWheel<u32, 24> =
            Wheel::new(Duration::from_micros(tick), Instant::from_micros(start));
        run(wheel, &ops);
    }

    #[test]
    fn compact_fixed_wheel_matches_the_model(
        tick in tick(), start in start(), ops in prop::collection::vec(op(), 1..200)
    ) {
        let wheel: Wheel<(), CompactArrayStorage<48>> =
            Wheel::new(Duration::from_micros(tick), Instant::from_micros(start));
        run_compact(wheel, &ops);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn compact_growable_wheel_matches_the_model(
        tick in tick(), start in start(), ops in prop::collection::vec(op(), 1..200)
    ) {
        let wheel: Wheel<(), CompactVecStorage> =
            Wheel::new(Duration::from_micros(tick), Instant::from_micros(start));
        run_compact(wheel, &ops);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_wheel_matches_the_model(
        tick in tick(), start in start(), ops in prop::collection::vec(op(), 1..200)
    ) {
        let wheel: GrowableWheel<u32> =
            Wheel::new(Duration::from_micros(tick), Instant::from_micros(start));
        run(wheel, &ops);
    }
}

/// A long deterministic run with many live entries: cascades through several levels,
/// rewinds, and re-filing of parked entries at a 1 µs tick.
#[test]
fn long_mixed_run() {
    let mut ops = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..8_000 {
        let r = rnd();
        let t = match r % 7 {
            0 => Time::After(rnd() % 5_000),
            1 => Time::After(rnd() % 5_000_000),
            2 => Time::After(rnd() % (1 << 44)),
            3 => Time::SameAs(rnd() as usize),
            4 => Time::NearMax(rnd() % 100),
            5 => Time::Before(rnd() % 100),
            _ => Time::After(rnd() % 300),
        };
        ops.push(match (r >> 8) % 11 {
            0..=3 => Op::Insert(t),
            10 => Op::InsertAt((rnd() % 600) as u32, t),
            4 | 5 => Op::Reset(rnd() as usize, t),
            6 => Op::Cancel(rnd() as usize),
            7 => Op::Poll(Time::After(rnd() % 2_000_000)),
            8 => Op::NextDeadline,
            _ => Op::Advance(Time::After(rnd() % 100_000)),
        });
    }
    for tick in [1u64, 1_000, 1_000_000] {
        #[cfg(feature = "alloc")]
        run(
            GrowableWheel::<u32>::new(Duration::from_micros(tick), Instant::ZERO),
            &ops,
        );
        run(
            FixedWheel::<u32, 512>::new(Duration::from_micros(tick), Instant::from_secs(1)),
            &ops,
        );
        run_compact(
            Wheel::<(), CompactArrayStorage<600>>::new(
                Duration::from_micros(tick),
                Instant::from_secs(1),
            ),
            &ops,
        );
    }
}
