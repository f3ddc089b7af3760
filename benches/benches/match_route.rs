//! Routing one event to its interested triggers: `Router::candidates` plus
//! `CompiledEventTrigger::covers` on each candidate, with 1, 100 and 10,000 loaded
//! triggers of which exactly one is interested. The cost should not grow with the
//! number of loaded triggers (target: `t10k` within 2× of `t1`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use overdue_core::event::{Event, EventId, Labels, Related};
use overdue_core::matcher::{CompiledEventTrigger, Router};
use overdue_core::trigger::{EventTrigger, Posture, ResourceSpec};
use overdue_core::{Duration, Instant};

const RESOURCE: &[(&str, &str)] = &[
    ("prefect.resource.id", "prefect.flow-run.6f0b2a8e"),
    ("prefect.resource.name", "nightly-etl"),
];
const DEPLOYMENT: &[(&str, &str)] = &[
    ("prefect.resource.id", "prefect.deployment.1234"),
    ("prefect.resource.role", "deployment"),
];
const RELATED: &[&[(&str, &str)]] = &[DEPLOYMENT];

fn heartbeat() -> Event<'static> {
    Event {
        id: EventId::default(),
        event: "prefect.flow-run.heartbeat",
        occurred: Instant::from_secs(1_767_225_600),
        received: Instant::from_secs(1_767_225_600),
        resource: Labels::Pairs(RESOURCE),
        related: Related::Pairs(RELATED),
        follows: None,
    }
}

/// The one interested trigger: Prefect's zombie-run detector.
fn zombie() -> EventTrigger {
    let mut t = EventTrigger::reactive(&["prefect.flow-run.*"]);
    t.after = vec!["prefect.flow-run.heartbeat".into()];
    t.for_each = vec!["prefect.resource.id".into()];
    t.match_ = ResourceSpec::from_pairs(&[("prefect.resource.id", &["prefect.flow-run.*"])]);
    t.posture = Posture::Proactive;
    t.within = Duration::from_secs(90);
    t
}

/// Uninterested trigger `i`: other event families, half literal, half wildcard.
fn other(i: usize) -> EventTrigger {
    let expect = if i.is_multiple_of(2) {
        format!("custom.family-{i}.done")
    } else {
        format!("custom.family-{i}.*")
    };
    let mut t = EventTrigger::reactive(&[expect.as_str()]);
    t.match_ = ResourceSpec::from_pairs(&[("prefect.resource.id", &["custom.*"])]);
    t
}

fn loaded(n: usize) -> (Router, Vec<CompiledEventTrigger<Vec<u8>>>) {
    let mut triggers = vec![CompiledEventTrigger::compile(&zombie())];
    triggers.extend((1..n).map(|i| CompiledEventTrigger::compile(&other(i))));
    let mut router = Router::new();
    for (id, t) in triggers.iter().enumerate() {
        router.insert(id as u32, t);
    }
    (router, triggers)
}

fn route(
    router: &Router,
    triggers: &[CompiledEventTrigger<Vec<u8>>],
    ev: &Event<'_>,
    out: &mut Vec<u32>,
) -> usize {
    router.candidates(ev.event, out);
    out.iter()
        .filter(|&&id| triggers[id as usize].covers(ev))
        .count()
}

fn match_route(c: &mut Criterion) {
    let ev = heartbeat();
    let mut group = c.benchmark_group("match_route");
    for (name, n) in [("t1", 1), ("t100", 100), ("t10k", 10_000)] {
        let (router, triggers) = loaded(n);
        let mut out = Vec::with_capacity(16);
        assert_eq!(route(&router, &triggers, &ev, &mut out), 1);
        group.bench_function(name, |b| {
            b.iter(|| route(&router, &triggers, black_box(&ev), &mut out))
        });
    }
    group.finish();
}

criterion_group!(benches, match_route);
criterion_main!(benches);
