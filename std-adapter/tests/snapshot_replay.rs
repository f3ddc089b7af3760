//! Snapshots across the whole conformance suite: every scenario in
//! `tests/conformance/scenarios/` replayed with the engine saved, dropped and restored
//! after every step (`ReplayOptions::snapshot_every = 1`) must print exactly the
//! firings Prefect produced for it, like the plain replay (`tests/conformance.rs`).
//! Scenarios are replayed with allowed lateness (30 s) too, where the plain and the
//! snapshotting replay must agree with each other. Scenarios are spread over the
//! available cores.

mod suite;

use overdue_std::replay::{replay_with, FiringLine, ReplayOptions};
use overdue_std::scenario::{Scenario, Step};

fn lines(scenario: &Scenario, options: &ReplayOptions, name: &str) -> Vec<String> {
    replay_with(scenario, options)
        .unwrap_or_else(|e| panic!("{name}: replay failed: {e}"))
        .iter()
        .map(FiringLine::to_json)
        .collect()
}

#[test]
fn every_scenario_replays_identically_when_restored_after_every_step() {
    let all = suite::scenarios();
    assert!(all.len() >= 100, "only {} scenarios found", all.len());
    let every_step = ReplayOptions {
        snapshot_every: Some(1),
        ..ReplayOptions::default()
    };
    let failed = suite::failures(&all, |name, scenario, expected| {
        let got = lines(scenario, &every_step, name);
        (got != expected).then(|| suite::first_difference(expected, &got))
    });
    assert!(
        failed.is_empty(),
        "{} of {} scenarios differ with --snapshot-every 1:\n{}",
        failed.len(),
        all.len(),
        failed.join("\n")
    );
}

#[test]
fn with_allowed_lateness_restoring_changes_nothing() {
    let all = suite::scenarios();
    let late = |snapshot_every| ReplayOptions {
        allowed_lateness: Some(overdue_core::Duration::from_secs(30)),
        snapshot_every,
        ..ReplayOptions::default()
    };
    let failed = suite::failures(&all, |name, scenario, _| {
        let plain = lines(scenario, &late(None), name);
        // every step for the usual scenarios; the 2,700-step random ones (covered step
        // by step above) every 100th, to keep the test quick
        let every = if scenario.steps.len() > 1_000 { 100 } else { 1 };
        let restored = lines(scenario, &late(Some(every)), name);
        (restored != plain).then(|| {
            format!(
                "every {every}: {}",
                suite::first_difference(&plain, &restored)
            )
        })
    });
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// With room for one pending firing, every tick that fires more than once stops after
/// each firing; the replay drains and calls the tick again (saving and restoring the
/// engine at every stop too). The firings must be Prefect's all the same.
#[test]
fn ticks_cut_short_by_the_pending_firings_capacity_resume_exactly() {
    let all = suite::scenarios();
    let one = |snapshot_every| ReplayOptions {
        pending_firings: Some(1),
        snapshot_every,
        ..ReplayOptions::default()
    };
    // the cut is exercised: ticks that fire more than once stop after every firing
    let cut_ticks: usize = all
        .iter()
        .map(|(_, scenario, expected)| {
            let mut per_step = std::collections::BTreeMap::<usize, usize>::new();
            for line in expected {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                *per_step
                    .entry(value["step"].as_u64().unwrap() as usize)
                    .or_default() += 1;
            }
            per_step
                .iter()
                .filter(|&(&step, &n)| n > 1 && matches!(scenario.steps[step], Step::Tick { .. }))
                .count()
        })
        .sum();
    assert!(
        cut_ticks >= 20,
        "only {cut_ticks} ticks fire more than once"
    );
    let failed = suite::failures(&all, |name, scenario, expected| {
        let got = lines(scenario, &one(None), name);
        if got != expected {
            return Some(format!("cut: {}", suite::first_difference(expected, &got)));
        }
        let every = if scenario.steps.len() > 1_000 { 100 } else { 1 };
        let restored = lines(scenario, &one(Some(every)), name);
        (restored != expected).then(|| {
            format!(
                "cut, restored every {every}: {}",
                suite::first_difference(expected, &restored)
            )
        })
    });
    assert!(
        failed.is_empty(),
        "{} of {} scenarios differ with --pending-firings 1:\n{}",
        failed.len(),
        all.len(),
        failed.join("\n")
    );
    // and with allowed lateness, cut ticks give what uncut ones give
    let late = |pending_firings| ReplayOptions {
        allowed_lateness: Some(overdue_core::Duration::from_secs(30)),
        pending_firings,
        ..ReplayOptions::default()
    };
    let failed = suite::failures(&all, |name, scenario, _| {
        let plain = lines(scenario, &late(None), name);
        let cut = lines(scenario, &late(Some(1)), name);
        (cut != plain).then(|| suite::first_difference(&plain, &cut))
    });
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
