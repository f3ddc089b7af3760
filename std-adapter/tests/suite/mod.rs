//! The conformance suite's scenarios, for the tests that replay all of them.

use std::path::PathBuf;

use overdue_std::scenario::Scenario;

/// Every scenario in `tests/conformance/scenarios/` by name, parsed, with the lines
/// Prefect printed for it, in name order.
pub fn scenarios() -> Vec<(String, Scenario, Vec<String>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut names: Vec<String> = std::fs::read_dir(dir.join("scenarios"))
        .expect("the scenarios directory")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|file| file.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |path: PathBuf| {
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let scenario =
                Scenario::from_json_str(&read(dir.join(format!("scenarios/{name}.json"))))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = read(dir.join(format!("expected/{name}.jsonl")))
                .lines()
                .map(str::to_owned)
                .collect();
            (name, scenario, expected)
        })
        .collect()
}
