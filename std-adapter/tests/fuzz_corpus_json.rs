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

/// Found by the `trigger_json` fuzz target (corpus file
/// `regression-within-beyond-float-precision`): Prefect's JSON carries `within` as a
/// float number of seconds, so a `within` past 2^53 µs (285 years) with a fraction
/// does not survive serialize-and-parse exactly — in Prefect either. The check accepts
/// that beyond `EXACT_WITHIN` if the JSON is a fixed point after one round.
#[test]
fn within_beyond_float_precision_moves_once_then_is_a_fixed_point() {
    use overdue_core::trigger::Trigger;
    use overdue_std::json::parse_trigger_str;
    let within = |t: &Trigger| match t {
        Trigger::Event(e) => e.within.as_micros(),
        _ => unreachable!("an event trigger"),
    };
    let parsed =
        parse_trigger_str(r#"{"posture": "Reactive", "within": "1 day, 555555500:01:3.05"}"#)
            .expect("a valid trigger");
    assert_eq!(within(&parsed), 1_999_999_886_463_050_000);
    let printed = serde_json::to_string(&parsed).expect("serializes");
    let back = parse_trigger_str(&printed).expect("parses back");
    assert_eq!(
        within(&back),
        1_999_999_886_463_050_049,
        "the float's rounding"
    );
    assert_eq!(serde_json::to_string(&back).expect("serializes"), printed);
    assert!(checks::check_trigger_json(
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/corpus/trigger_json/regression-within-beyond-float-precision")
        )
        .expect("the corpus file")
        .as_slice()
    ));
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
