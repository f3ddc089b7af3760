//! Replays the committed `engine_ops` fuzz corpus (`fuzz/corpus/engine_ops`) through
//! the fuzz target's own check, `overdue_core::harness::check_engine_ops`, on stable:
//! `cargo test -p overdue-core --features harness --test fuzz_corpus`.
//!
//! The hand-built seeds are defined here; `write_engine_ops_seeds` (ignored) writes
//! them to the corpus, and `seeds_in_the_corpus_are_current` keeps the two in step.
#![cfg(feature = "harness")]

use std::path::PathBuf;

use overdue_core::engine::{Entry, LatePolicy};
use overdue_core::harness::{
    check_engine_ops, encode_case, CaseConfig, Op, Step, TriggerKind, When, Within,
};
use overdue_core::Duration;

mod common;

fn corpus_dir() -> PathBuf {
    common::corpus_dir("engine_ops")
}

fn config(lateness_secs: u64, policy: LatePolicy, entry: Entry) -> CaseConfig {
    CaseConfig {
        lateness: Duration::from_secs(lateness_secs),
        policy,
        entry,
    }
}

fn add(kind: TriggerKind) -> Op {
    Op::AddTrigger {
        kind,
        within: Within::Default,
    }
}

fn ev(resource: u8, name: u8, rel: i16) -> Op {
    Op::Event {
        resource,
        name,
        occurred: When::Rel(rel),
        follows: None,
    }
}

fn tick(tenths: u16) -> Op {
    Op::Tick(Step::Forward(tenths))
}

const HEARTBEAT: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETED: u8 = 2;
const FAILED: u8 = 3;
const LOG: u8 = 5;

/// Three runs beating every 30 s (run 2 dies at 60 s), events `delay` tenths late.
fn fleet(delay: i16) -> Vec<Op> {
    let mut ops = vec![add(TriggerKind::Zombie), add(TriggerKind::Reactive)];
    for step in 0..12u16 {
        for run in 0..3u8 {
            if run == 2 && step > 2 {
                continue;
            }
            if step % 3 == 0 {
                ops.push(ev(run, HEARTBEAT, -delay));
            }
        }
        ops.push(tick(100));
    }
    ops
}

/// The hand-built timelines of the seed corpus.
fn seeds() -> Vec<(&'static str, CaseConfig, Vec<Op>)> {
    let consumer = |l| config(l, LatePolicy::Drop, Entry::Consumer);
    let mut out = vec![
        ("zombie-fleet-in-order", consumer(30), fleet(0)),
        ("zombie-fleet-20s-late", consumer(30), fleet(200)),
        (
            "zombie-fleet-late-processed",
            config(1, LatePolicy::Process, Entry::Consumer),
            fleet(200),
        ),
    ];
    // heartbeats out of order within one window, with re-deliveries and a log event
    let mut burst = vec![add(TriggerKind::Reactive), add(TriggerKind::Zombie)];
    for (i, rel) in [-50i16, -10, -300, -20, -20, 0].into_iter().enumerate() {
        burst.push(ev((i % 2) as u8, HEARTBEAT, rel));
    }
    burst.extend([Op::Redeliver(1), Op::Redeliver(4), ev(0, LOG, -5)]);
    burst.extend([tick(300), ev(0, FAILED, -400), Op::Redeliver(2), tick(600)]);
    burst.extend([tick(0), tick(900), tick(1800)]);
    out.push(("reactive-burst-duplicates", consumer(30), burst.clone()));
    out.push((
        "reactive-burst-direct",
        config(0, LatePolicy::Drop, Entry::Direct),
        burst,
    ));
    // composites: Running, Failed and Completed of several runs
    let mut composite = vec![add(TriggerKind::Compound), add(TriggerKind::Sequence)];
    composite.extend([ev(0, RUNNING, 0), tick(50), ev(1, FAILED, -20), tick(50)]);
    composite.extend([ev(1, COMPLETED, 0), ev(0, FAILED, -10), tick(700)]);
    composite.extend([
        ev(2, RUNNING, 0),
        tick(1200),
        ev(2, COMPLETED, -1000),
        tick(900),
    ]);
    out.push(("composites", consumer(30), composite.clone()));
    out.push((
        "composites-late-processed",
        config(0, LatePolicy::Process, Entry::Consumer),
        composite,
    ));
    // a global proactive window with the clock going back and standing still
    let global = vec![
        add(TriggerKind::GlobalProactive),
        tick(100),
        Op::Tick(Step::Backward(50)),
        Op::Tick(Step::Zero),
        ev(0, COMPLETED, 0),
        tick(250),
        Op::Tick(Step::Backward(400)),
        tick(400),
        ev(1, COMPLETED, 0),
        tick(300),
        tick(300),
    ];
    out.push(("global-proactive-clock-back", consumer(1), global));
    // followers: one waits for a later leader, one for a leader that never comes
    let followers = vec![
        add(TriggerKind::Zombie),
        add(TriggerKind::Reactive),
        Op::Event {
            resource: 0,
            name: HEARTBEAT,
            occurred: When::Rel(0),
            follows: Some(1),
        },
        ev(0, HEARTBEAT, -10),
        Op::Event {
            resource: 1,
            name: FAILED,
            occurred: When::Rel(0),
            follows: Some(100),
        },
        tick(300),
        tick(9_000),
        tick(9_000),
        ev(1, HEARTBEAT, 0),
        tick(1_000),
    ];
    out.push(("followers-and-lost-followers", consumer(30), followers));
    // instants near both ends of time and windows as long as time
    let extremes = vec![
        Op::AddTrigger {
            kind: TriggerKind::Zombie,
            within: Within::Micros(u64::MAX),
        },
        Op::AddTrigger {
            kind: TriggerKind::Reactive,
            within: Within::Micros(u64::MAX - 1),
        },
        Op::AddTrigger {
            kind: TriggerKind::Compound,
            within: Within::Micros(u64::MAX),
        },
        Op::Tick(Step::To(0)),
        Op::Event {
            resource: 0,
            name: HEARTBEAT,
            occurred: When::Abs(0),
            follows: None,
        },
        ev(0, HEARTBEAT, -30_000),
        Op::Tick(Step::To(u64::MAX - 1_000_000)),
        Op::Event {
            resource: 1,
            name: FAILED,
            occurred: When::Abs(u64::MAX),
            follows: None,
        },
        ev(1, HEARTBEAT, i16::MAX),
        tick(u16::MAX),
        Op::Tick(Step::To(u64::MAX)),
        ev(2, FAILED, 0),
        Op::Redeliver(3),
    ];
    out.push(("extreme-instants", consumer(300), extremes));
    out
}

/// Runs the fuzz target's check on one input; the panic message on failure.
fn check(bytes: &[u8]) -> Result<(), String> {
    common::check_one(check_engine_ops, bytes)
}

#[test]
fn engine_ops_corpus_replays_clean() {
    common::replay_corpus(&corpus_dir(), seeds().len(), check_engine_ops);
}

#[test]
fn seeds_in_the_corpus_are_current() {
    for (name, case, ops) in seeds() {
        let path = corpus_dir().join(format!("seed-{name}"));
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run write_engine_ops_seeds)", path.display()));
        assert_eq!(
            committed,
            encode_case(&case, &ops),
            "{name} changed: run write_engine_ops_seeds"
        );
    }
}

#[test]
fn every_seed_holds() {
    for (name, case, ops) in seeds() {
        if let Err(e) = check(&encode_case(&case, &ops)) {
            panic!("seed {name}: {e}");
        }
    }
}

/// Writes the seeds: `cargo test -p overdue-core --features harness --test fuzz_corpus
/// -- --ignored write_engine_ops_seeds`.
#[test]
#[ignore = "writes fuzz/corpus/engine_ops/seed-*"]
fn write_engine_ops_seeds() {
    std::fs::create_dir_all(corpus_dir()).expect("the corpus directory");
    for (name, case, ops) in seeds() {
        let path = corpus_dir().join(format!("seed-{name}"));
        std::fs::write(&path, encode_case(&case, &ops)).expect("a writable corpus");
    }
}
