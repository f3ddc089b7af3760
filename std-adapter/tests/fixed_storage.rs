//! The conformance suite on fixed-capacity storage: every scenario in
//! `tests/conformance/scenarios/` replayed on an engine whose state lives in
//! `overdue_core::store::Fixed` must print exactly the firings Prefect produced for
//! it (capacities large enough for every scenario, also with a snapshot and restore
//! after every step); with capacities too small for some scenarios, each one either
//! prints Prefect's firings or stops with a typed "capacity is exhausted" error at the
//! step that did not fit, never with other output or a panic.

mod suite;

use std::sync::atomic::{AtomicUsize, Ordering};

use overdue_core::store::{Fixed, Storage};
use overdue_std::replay::{replay_in, FiringLine, ReplayError, ReplayOptions};
use overdue_std::scenario::Scenario;

/// Room for every scenario of the suite: event triggers of up to 512 bytes packed (the
/// largest takes 326, with the id the replay gives it), firings of up to 4 KB (nested
/// composites over keys of up to 512 bytes), but few pending ones (the replay drains
/// after every step), as the engine lives inline and is moved whole at every snapshot.
type Roomy = Fixed<128, 512, 256, 512, 256, 1280, 2048, 32, 4096>;
/// Too small for some scenarios: 8 keys of 40 bytes, 4 held events of 256 bytes,
/// firings of 512 bytes (some composite trees are refused when loaded).
type Tight = Fixed<16, 512, 8, 40, 4, 256, 64, 4096, 512>;

fn replay<S: Storage>(
    scenario: &Scenario,
    options: &ReplayOptions,
) -> Result<Vec<String>, ReplayError> {
    Ok(replay_in::<S>(scenario, options)?
        .iter()
        .map(FiringLine::to_json)
        .collect())
}

#[test]
fn every_scenario_gives_prefects_firings_on_fixed_storage() {
    let all = suite::scenarios();
    let failed = suite::failures(&all, |_, scenario, expected| {
        let mut problems = Vec::new();
        for every in [None, Some(1)] {
            let options = ReplayOptions {
                snapshot_every: every,
                ..ReplayOptions::default()
            };
            match replay::<Roomy>(scenario, &options) {
                Ok(lines) if lines == expected => {}
                Ok(lines) => problems.push(format!(
                    "snapshot every {every:?}: {}",
                    suite::first_difference(expected, &lines)
                )),
                Err(e) => problems.push(format!("snapshot every {every:?}: {e}")),
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    });
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn scenarios_too_big_for_the_capacities_stop_with_a_typed_error() {
    let all = suite::scenarios();
    let (fitted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let failed = suite::failures(&all, |_, scenario, expected| {
        let exhausted =
            |problem: &str| problem.contains("capacity") && problem.contains("exhausted");
        match replay::<Tight>(scenario, &ReplayOptions::default()) {
            Ok(lines) if lines == expected => {
                fitted.fetch_add(1, Ordering::Relaxed);
                None
            }
            Ok(lines) => Some(suite::first_difference(expected, &lines)),
            Err(ReplayError::Event { problem, .. } | ReplayError::Trigger { problem, .. })
                if exhausted(&problem) =>
            {
                refused.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(e) => Some(e.to_string()),
        }
    });
    assert!(failed.is_empty(), "{failed:#?}");
    let (fitted, refused) = (fitted.into_inner(), refused.into_inner());
    // the capacities are chosen so that both outcomes happen
    assert!(fitted >= 20, "only {fitted} scenarios fit");
    assert!(refused >= 20, "only {refused} scenarios were refused");
}
