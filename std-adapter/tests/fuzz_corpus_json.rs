//! Replays the committed corpora of the JSON fuzz targets (`fuzz/corpus/event_json`,
//! `fuzz/corpus/trigger_json`) through the very checks the fuzz targets run: the file
//! `fuzz/src/checks.rs` is compiled into this test as well.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/checks.rs"]
mod checks;

/// Every file of `fuzz/corpus/<target>`, sorted.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every corpus file of `target`; fails naming every file that fails,
/// and if fewer than `min_accepted` inputs were accepted (the seeds are valid: a check
/// that rejects everything checks nothing).
fn replay(target: &str, check: fn(&[u8]) -> bool, min_accepted: usize) {
    let files = corpus(target);
    let mut accepted = 0;
    let mut failed = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("a readable corpus file");
        match catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => failed.push(path.display().to_string()),
        }
    }
    assert!(failed.is_empty(), "{target}: failing inputs: {failed:#?}");
    assert!(
        accepted >= min_accepted,
        "{target}: only {accepted} of {} inputs accepted",
        files.len()
    );
}

#[test]
fn event_json_corpus_parses_round_trips_and_evaluates() {
    replay("event_json", checks::check_event_json, 90);
}

#[test]
fn trigger_json_corpus_parses_round_trips_and_loads() {
    replay("trigger_json", checks::check_trigger_json, 120);
}

/// Found by the `event_json` fuzz target (corpus file
/// `regression-numeric-occurred-past-9999`): `parse_event_str` accepts a numeric
/// timestamp that lands after 9999-12-31 (here milliseconds: year 561981), which
/// pydantic refuses ("dates after 9999 are not supported as unix timestamps");
/// `event_to_json_string` then prints a six-digit year that the parser rejects.
#[test]
fn numeric_timestamps_past_9999_are_refused() {
    use overdue_std::json::parse_event_str;
    for occurred in ["253402300800000", "17672255995123456", "253402300800000.5"] {
        let text = format!(
            r#"{{"id": "618afaf8-5f42-5864-bd54-1cee78c23214", "event": "x",
                "occurred": {occurred}, "resource": {{"prefect.resource.id": "r"}}}}"#
        );
        assert!(
            parse_event_str(&text, checks::NOW).is_err(),
            "occurred = {occurred} is after 9999-12-31 and must be refused"
        );
    }
    // the last instant Prefect can hold still parses, as milliseconds
    let text = r#"{"id": "618afaf8-5f42-5864-bd54-1cee78c23214", "event": "x",
        "occurred": 253402300799999, "resource": {"prefect.resource.id": "r"}}"#;
    let event = parse_event_str(text, checks::NOW).expect("9999-12-31T23:59:59.999Z");
    assert!(event.occurred < checks::YEAR_10000);
}

/// Found by the `trigger_json` fuzz target (corpus files `regression-within-*`):
/// Prefect's JSON carries `within` as a float number of seconds, so past 2^53 µs (285
/// years) a `within` with a fraction survives serialize-and-parse only to about a
/// float's precision — in Prefect too. The check accepts that beyond `EXACT_WITHIN`.
#[test]
fn within_beyond_float_precision_survives_to_a_float_ulp() {
    for name in [
        "regression-within-beyond-float-precision",
        "regression-within-float-drift",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/trigger_json")
            .join(name);
        let bytes = std::fs::read(&path).expect("the corpus file");
        assert!(checks::check_trigger_json(&bytes), "{name} is accepted");
    }
}

/// `within` of a parsed event trigger, in microseconds.
fn within_micros(json_within: &str) -> u64 {
    use overdue_core::trigger::Trigger;
    let text = format!(r#"{{"posture": "Reactive", "within": {json_within}}}"#);
    match overdue_std::json::parse_trigger_str(&text).expect("a valid trigger") {
        Trigger::Event(e) => e.within.as_micros(),
        _ => unreachable!("an event trigger"),
    }
}

/// Found while triaging `regression-within-float-drift`: Prefect serializes a
/// timedelta with Python's `total_seconds()`, one correctly rounded division; overdue
/// prints `micros as f64 / 1e6`, which rounds twice past 2^53 µs and then differs from
/// Prefect in the last digit for about a quarter of such values.
#[test]
fn within_prints_as_pythons_total_seconds() {
    use overdue_core::trigger::{EventTrigger, Trigger};
    let micros = within_micros(r#""1 day, 277777750:01:3.05""#);
    assert_eq!(micros, 999_999_986_463_050_000);
    let trigger = Trigger::Event(EventTrigger {
        within: overdue_core::Duration::from_micros(micros),
        ..EventTrigger::reactive(&[])
    });
    let printed = serde_json::to_string(&trigger).expect("serializes");
    // timedelta(microseconds=999999986463050000).total_seconds() == 999999986463.05
    assert!(
        printed.contains(r#""within":999999986463.05}"#),
        "{printed}"
    );
}

/// Found while triaging `regression-within-float-drift`: pydantic reads a JSON number
/// as a correctly rounded float; overdue reads `999999986463.0499` as if it were the
/// neighbouring float `999999986463.05` (serde_json's default float parser is not
/// always correctly rounded; its `float_roundtrip` feature is).
#[test]
fn within_numbers_are_read_as_correctly_rounded_floats() {
    // float('999999986463.0499') == 999999986463.0499267578125: 49926.757… µs → 49927
    assert_eq!(within_micros("999999986463.0499"), 999_999_986_463_049_927);
    assert_eq!(within_micros("999999986463.05"), 999_999_986_463_050_049);
}

proptest::proptest! {
    /// What `EXACT_WITHIN` claims: up to it, every `within` survives Prefect's JSON.
    #[test]
    fn within_up_to_exact_within_round_trips(micros in 0..=checks::EXACT_WITHIN.as_micros()) {
        use overdue_core::trigger::{EventTrigger, Trigger};
        use overdue_std::json::parse_trigger_str;
        let trigger = Trigger::Event(EventTrigger {
            within: overdue_core::Duration::from_micros(micros),
            ..EventTrigger::reactive(&["x"])
        });
        let printed = serde_json::to_string(&trigger).expect("serializes");
        proptest::prop_assert_eq!(parse_trigger_str(&printed).expect("parses back"), trigger);
    }
}
