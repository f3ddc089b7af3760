//! The `overdue replay` binary end to end: real process, real files, exit status.

use std::path::PathBuf;
use std::process::{Command, Output};

fn overdue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_overdue"))
        .args(args)
        .output()
        .expect("the overdue binary runs")
}

fn conformance_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(path)
}

/// A scratch file unique to this test process.
fn scratch(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("overdue-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn replay_prints_the_oracle_lines() {
    let scenario = conformance_file("scenarios/regression_zombie_fires_when_heartbeats_stop.json");
    let expected = std::fs::read_to_string(conformance_file(
        "expected/regression_zombie_fires_when_heartbeats_stop.jsonl",
    ))
    .unwrap();
    let out = overdue(&["replay", scenario.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!expected.is_empty());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn malformed_scenario_names_the_step_and_field() {
    let path = scratch(
        "bad-step.json",
        r#"{"triggers": {}, "steps": [{"tick": 0}, {"tick": 5}, {"event": {"id": "a", "event": "x",
            "occurred": "yesterday", "resource": {"prefect.resource.id": "r"}}}]}"#,
    );
    let out = overdue(&["replay", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("step 2, field `event.occurred`"),
        "{stderr}"
    );
}

#[test]
fn bad_option_and_bad_json_fail() {
    let path = scratch(
        "bad-option.json",
        r#"{"options": {"entry": "kafka"}, "triggers": {}}"#,
    );
    let out = overdue(&["replay", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("options.entry"));

    let path = scratch("bad-json.json", "{\"triggers\": ");
    let out = overdue(&["replay", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));

    let out = overdue(&["replay", "/nonexistent/overdue-scenario.json"]);
    assert!(!out.status.success());
}

#[test]
fn allowed_lateness_delays_judgement_by_the_lateness() {
    let scenario = conformance_file("scenarios/regression_zombie_fires_when_heartbeats_stop.json");
    let path = scenario.to_str().unwrap();
    let plain = overdue(&["replay", path]);
    assert!(plain.status.success());
    // L = 0: events are released at the next tick, in order; the same firing as Prefect
    let zero = overdue(&["replay", "--allowed-lateness", "0", path]);
    assert!(zero.status.success());
    assert_eq!(zero.stdout, plain.stdout);
    assert_eq!(String::from_utf8_lossy(&plain.stdout).lines().count(), 1);
    // L = 5: the window ending at 120 is judged once the watermark (tick - 5) reaches
    // it, which the last tick (121) does not
    let five = overdue(&["replay", "--allowed-lateness", "5", path]);
    assert!(five.status.success());
    assert!(
        five.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&five.stdout)
    );
    // a bad value names itself
    let bad = overdue(&["replay", "--allowed-lateness", "soon", path]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a number of seconds"));
}

#[test]
fn help_describes_replay() {
    let out = overdue(&["replay", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--allowed-lateness"), "{help}");
    assert!(help.contains("SCENARIO.json"), "{help}");
    let out = overdue(&["--help"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("replay"));
}

#[test]
fn replay_with_snapshots_prints_the_same_lines() {
    for name in [
        "regression_zombie_fires_when_heartbeats_stop",
        "own_compound_require_2_of_3",
        "own_follows_lost_follower_released_by_tick",
        "own_held_terminal_before_heartbeat",
    ] {
        let scenario = conformance_file(&format!("scenarios/{name}.json"));
        let expected =
            std::fs::read_to_string(conformance_file(&format!("expected/{name}.jsonl"))).unwrap();
        assert!(!expected.is_empty(), "{name}");
        for every in ["1", "2", "5"] {
            let out = overdue(&[
                "replay",
                "--snapshot-every",
                every,
                scenario.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{name}, every {every}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                expected,
                "{name}, every {every}"
            );
        }
    }
}

#[test]
fn snapshot_every_must_be_positive() {
    let scenario = conformance_file("scenarios/regression_zombie_fires_when_heartbeats_stop.json");
    for bad in ["0", "-1", "x"] {
        let out = overdue(&[
            "replay",
            "--snapshot-every",
            bad,
            scenario.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "--snapshot-every {bad}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--snapshot-every") || stderr.contains("'-1'"),
            "--snapshot-every {bad}: {stderr}"
        );
    }
}
