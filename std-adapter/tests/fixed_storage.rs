//! The conformance suite on fixed-capacity storage: every scenario in
//! `tests/conformance/scenarios/` replayed on an engine whose state lives in
//! `overdue_core::store::Fixed` must print exactly the firings Prefect produced for
//! it (capacities large enough for every scenario, also with a snapshot and restore
//! after every step); with capacities too small for some scenarios, each one either
//! prints Prefect's firings or stops with a typed "capacity is exhausted" error at the
//! step that did not fit, never with other output or a panic.

mod suite;

use overdue_core::store::{Fixed, Storage};
use overdue_std::replay::{replay_in, FiringLine, ReplayError, ReplayOptions};
use overdue_std::scenario::Scenario;

/// Room for every scenario of the suite.
type Roomy = Fixed<128, 256, 512, 256, 2048, 4096>;
/// Too small for some scenarios: 8 keys of 40 bytes, 4 held events.
type Tight = Fixed<16, 8, 40, 4, 64, 4096>;

fn replay<S: Storage>(
    scenario: &Scenario,
    options: &ReplayOptions,
) -> Result<Vec<String>, ReplayError> {
    Ok(replay_in::<S>(scenario, options)?
        .iter()
        .map(FiringLine::to_json)
        .collect())
}

/// Runs `check` on every scenario, spread over the available cores, on threads with
/// large stacks (fixed engines live inline, and debug builds move them by value a few
/// times); the results in scenario order.
fn each_scenario<T: Send + 'static>(check: fn(String, Scenario, Vec<String>) -> T) -> Vec<T> {
    let all = suite::scenarios();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    let mut chunks: Vec<Vec<(String, Scenario, Vec<String>)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, s) in all.into_iter().enumerate() {
        chunks[i % threads].push(s);
    }
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(n, s, e)| check(n, s, e))
                        .collect::<Vec<T>>()
                })
                .expect("a test thread")
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("a test thread panicked"))
        .collect()
}

#[test]
fn every_scenario_gives_prefects_firings_on_fixed_storage() {
    let failures: Vec<String> = each_scenario(|name, scenario, expected| {
        let mut failures = Vec::new();
        for every in [None, Some(1)] {
            let options = ReplayOptions {
                snapshot_every: every,
                ..ReplayOptions::default()
            };
            match replay::<Roomy>(&scenario, &options) {
                Ok(lines) if lines == expected => {}
                Ok(lines) => failures.push(format!(
                    "{name} (snapshot every {every:?}): {} lines, expected {}",
                    lines.len(),
                    expected.len()
                )),
                Err(e) => failures.push(format!("{name} (snapshot every {every:?}): {e}")),
            }
        }
        failures
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What replaying a scenario on [`Tight`] storage did.
enum Outcome {
    Fitted,
    Refused,
    Failed(String),
}

#[test]
fn scenarios_too_big_for_the_capacities_stop_with_a_typed_error() {
    let outcomes = each_scenario(|name, scenario, expected| {
        let exhausted =
            |problem: &str| problem.contains("capacity") && problem.contains("exhausted");
        match replay::<Tight>(&scenario, &ReplayOptions::default()) {
            Ok(lines) if lines == expected => Outcome::Fitted,
            Ok(lines) => Outcome::Failed(format!(
                "{name}: {} lines, expected {}",
                lines.len(),
                expected.len()
            )),
            Err(ReplayError::Event { problem, .. } | ReplayError::Trigger { problem, .. })
                if exhausted(&problem) =>
            {
                Outcome::Refused
            }
            Err(e) => Outcome::Failed(format!("{name}: {e}")),
        }
    });
    let fitted = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Fitted))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Refused))
        .count();
    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(f) => Some(f),
            _ => None,
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    // the capacities are chosen so that both outcomes happen
    assert!(fitted >= 20, "only {fitted} scenarios fit");
    assert!(refused >= 20, "only {refused} scenarios were refused");
}
