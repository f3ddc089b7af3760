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
