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

/// The first differing line, for the failure message.
pub fn first_difference(want: &[String], got: &[String]) -> String {
    let i = want.iter().zip(got).take_while(|(a, b)| a == b).count();
    format!(
        "line {i}: expected {:?}, got {:?} ({} expected lines, {} actual)",
        want.get(i),
        got.get(i),
        want.len(),
        got.len()
    )
}

/// `check` applied to every scenario on all available cores; the failures, in scenario
/// order. The threads have large stacks: fixed-capacity engines live inline, and debug
/// builds move them by value a few times.
pub fn failures<F>(all: &[(String, Scenario, Vec<String>)], check: F) -> Vec<String>
where
    F: Fn(&str, &Scenario, &[String]) -> Option<String> + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut found: Vec<(usize, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(256 << 20)
                    .spawn_scoped(scope, || {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((name, scenario, expected)) = all.get(i) else {
                                return out;
                            };
                            if let Some(problem) = check(name, scenario, expected) {
                                out.push((i, format!("{name}: {problem}")));
                            }
                        }
                    })
                    .expect("a test thread")
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a replay panicked"))
            .collect()
    });
    found.sort();
    found.into_iter().map(|(_, problem)| problem).collect()
}
