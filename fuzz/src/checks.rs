//! The checks of the JSON fuzz targets, free of libFuzzer: the fuzz crate compiles this
//! file as `overdue_fuzz::checks`, and `std-adapter/tests/fuzz_corpus_json.rs` includes
//! it with `#[path]` to replay the committed corpus on stable. Every check panics with
//! a description when a property fails, and returns normally otherwise.

use overdue_core::engine::{Engine, EngineConfig, TriggerId};
use overdue_core::trigger::Trigger;
use overdue_core::{Duration, Instant, OwnedEvent};
use overdue_std::json::{event_to_json_string, parse_event_str, parse_trigger_str};
use std::sync::OnceLock;

/// The wall clock the checks run at (2026-01-01T00:00:00Z), the parser's default
/// `received`.
pub const NOW: Instant = Instant::from_secs(1_767_225_600);

/// 10000-01-01T00:00:00Z: Prefect's timestamps (Python `datetime`) end before it.
pub const YEAR_10000: Instant = Instant::from_secs(253_402_300_800);

/// The longest `within` Prefect's JSON (a float number of seconds) carries exactly,
/// with a margin: 2^50 µs, about 35 years.
pub const EXACT_WITHIN: Duration = Duration::from_micros(1 << 50);

/// Every `within` of a trigger tree in [`Trigger::all_triggers`] order (a composite
/// without one counts as zero).
fn withins(t: &Trigger) -> Vec<Duration> {
    t.all_triggers()
        .into_iter()
        .map(|t| match t {
            Trigger::Event(e) => e.within,
            Trigger::Compound(c) => c.within.unwrap_or(Duration::ZERO),
            Trigger::Sequence(s) => s.within.unwrap_or(Duration::ZERO),
        })
        .collect()
}

/// Sets the `within`s of a tree (as [`withins`] lists them) to `values`.
fn set_withins(t: &mut Trigger, values: &[Duration]) {
    fn walk(t: &mut Trigger, values: &mut std::slice::Iter<'_, Duration>) {
        let v = values.next().copied().unwrap_or(Duration::ZERO);
        let children = match t {
            Trigger::Event(e) => {
                e.within = v;
                return;
            }
            Trigger::Compound(c) => {
                c.within = c.within.map(|_| v);
                &mut c.triggers
            }
            Trigger::Sequence(s) => {
                s.within = s.within.map(|_| v);
                &mut s.triggers
            }
        };
        for child in children {
            walk(child, values);
        }
    }
    walk(t, &mut values.iter());
}

/// The longest `within` in a trigger tree.
fn longest_within(t: &Trigger) -> Duration {
    withins(t).into_iter().max().unwrap_or(Duration::ZERO)
}

/// Triggers a parsed event is evaluated against: Prefect's zombie trigger and a
/// reactive trigger keyed by a related resource (exercises label lookup).
const ENGINE_TRIGGERS: [&str; 2] = [
    r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
        "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
        "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1,
        "within": 90}"#,
    r#"{"type": "event", "match_related": {"prefect.resource.role": "deployment"},
        "for_each": ["related:deployment:prefect.resource.id", "prefect.resource.id"],
        "posture": "Reactive", "threshold": 2, "within": 60}"#,
];

/// Events fed to an engine holding a fuzzed trigger.
const ENGINE_EVENTS: [&str; 3] = [
    r#"{"id": "00000000-0000-4000-8000-000000000001", "event": "prefect.flow-run.heartbeat",
        "occurred": "2026-01-01T00:00:00Z", "resource": {"prefect.resource.id": "prefect.flow-run.a"},
        "related": [{"prefect.resource.id": "prefect.deployment.d", "prefect.resource.role": "deployment"}]}"#,
    r#"{"id": "00000000-0000-4000-8000-000000000002", "event": "prefect.flow-run.Failed",
        "occurred": "2026-01-01T00:00:30Z", "resource": {"prefect.resource.id": "prefect.flow-run.a"}}"#,
    r#"{"id": "00000000-0000-4000-8000-000000000003", "event": "animal.walked",
        "occurred": "2026-01-01T00:01:00Z", "resource": {"prefect.resource.id": "x", "genus": "Marmota"},
        "follows": "00000000-0000-4000-8000-000000000002"}"#,
];

/// `event_json`: bytes → UTF-8 → [`parse_event_str`] never panics; an accepted event
/// prints with [`event_to_json_string`] to text that parses back to the same event and
/// prints the same again; an engine evaluates it without panicking.
///
/// Returns whether the input was accepted.
pub fn check_event_json(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(event) = parse_event_str(text, NOW) else {
        return false;
    };
    // Prefect's timestamps end before the year 10000; the parser refuses later ones.
    assert!(
        event.occurred < YEAR_10000 && event.received < YEAR_10000,
        "a timestamp from the year 10000 on was accepted: {text:?}"
    );
    let printed = event_to_json_string(&event.view());
    let back = match parse_event_str(&printed, NOW) {
        Ok(back) => back,
        Err(e) => {
            panic!("a printed event does not parse: {e}\ninput: {text:?}\nprinted: {printed}")
        }
    };
    assert_eq!(
        back, event,
        "an event changed through print and parse\ninput: {text:?}\nprinted: {printed}"
    );
    assert_eq!(
        event_to_json_string(&back.view()),
        printed,
        "printing is not stable"
    );

    static TRIGGERS: OnceLock<Vec<Trigger>> = OnceLock::new();
    let triggers = TRIGGERS.get_or_init(|| {
        ENGINE_TRIGGERS
            .iter()
            .map(|json| parse_trigger_str(json).expect("the fixed triggers are valid"))
            .collect()
    });
    let mut engine = Engine::new(EngineConfig::default());
    for (i, trigger) in triggers.iter().enumerate() {
        engine
            .add_trigger(TriggerId(i as u32), trigger.clone())
            .expect("the fixed triggers load");
    }
    let _ = engine.handle_event(&event.view(), NOW);
    let _ = engine.handle_event(&event.view(), event.received);
    engine.handle_timeout(event.occurred.saturating_add(Duration::from_secs(3_600)));
    while engine.poll_action().is_some() {}
    let _ = engine.poll_timeout();
    true
}

/// `trigger_json`: bytes → UTF-8 → [`parse_trigger_str`] never panics; an accepted
/// trigger serializes (serde_json, Prefect's shape) to JSON that parses back — through
/// the same parser and through `Deserialize` — to the same trigger (a `within` longer
/// than [`EXACT_WITHIN`] to about a float's precision), validating it again
/// changes nothing, and an engine loads it and evaluates a few events without panicking.
///
/// Returns whether the input was accepted.
pub fn check_trigger_json(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(trigger) = parse_trigger_str(text) else {
        return false;
    };
    let printed = match serde_json::to_string(&trigger) {
        Ok(p) => p,
        Err(e) => panic!("an accepted trigger does not serialize: {e}\ninput: {text:?}"),
    };
    let back = match parse_trigger_str(&printed) {
        Ok(back) => back,
        Err(e) => {
            panic!("a serialized trigger does not parse: {e}\ninput: {text:?}\nprinted: {printed}")
        }
    };
    if longest_within(&trigger) <= EXACT_WITHIN {
        assert_eq!(
            back, trigger,
            "a trigger changed through serialize and parse\ninput: {text:?}\nprinted: {printed}"
        );
    } else {
        // Beyond the float's precision `within` may move by about a float's unit in
        // the last place, as it does in Prefect (regression files `regression-within-*`:
        // printing is Python's `total_seconds()`, reading a correctly rounded float).
        let (a, b) = (withins(&trigger), withins(&back));
        let same_shape = a.len() == b.len() && {
            let mut t = back.clone();
            set_withins(&mut t, &a);
            t == trigger
        };
        assert!(
            same_shape,
            "a trigger changed through serialize and parse\ninput: {text:?}\nprinted: {printed}"
        );
        for (x, y) in a.iter().zip(&b) {
            let (x, y) = (x.as_micros(), y.as_micros());
            assert!(
                x.abs_diff(y) <= (x >> 50) + 1,
                "within {x} µs came back as {y} µs\ninput: {text:?}\nprinted: {printed}"
            );
        }
    }
    match serde_json::from_str::<Trigger>(&printed) {
        Ok(other) => assert_eq!(other, back, "Deserialize disagrees with parse_trigger_str"),
        Err(e) => panic!("a serialized trigger does not deserialize: {e}\nprinted: {printed}"),
    }
    let mut again = trigger.clone();
    if let Err(e) = again.validate() {
        panic!("an accepted trigger fails validation: {e}\ninput: {text:?}");
    }
    assert_eq!(
        again, trigger,
        "validation is not idempotent\ninput: {text:?}"
    );

    let mut engine = Engine::new(EngineConfig::default());
    if engine.add_trigger(TriggerId(1), trigger).is_err() {
        return true;
    }
    static EVENTS: OnceLock<Vec<OwnedEvent>> = OnceLock::new();
    let events = EVENTS.get_or_init(|| {
        ENGINE_EVENTS
            .iter()
            .map(|json| parse_event_str(json, NOW).expect("the fixed events are valid"))
            .collect()
    });
    for (i, event) in events.iter().enumerate() {
        let now = NOW.saturating_add(Duration::from_secs(30 * i as u64));
        let _ = engine.handle_event(&event.view(), now);
        engine.handle_timeout(now);
    }
    engine.handle_timeout(NOW.saturating_add(Duration::from_secs(86_400)));
    while engine.poll_action().is_some() {}
    let _ = engine.poll_timeout();
    true
}
