//! What the corpus-replay tests share: running a fuzz target's check on one input
//! and on every file of a committed corpus, panics turned into messages.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The committed corpus of fuzz target `target` (`fuzz/corpus/<target>`).
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Runs `check` on one input; the panic message if it panics.
pub fn check_one(check: fn(&[u8]), bytes: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| check(bytes))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Runs `check` on every file of `dir` (at least `min_files` of them), in name
/// order, and fails listing every input that panicked.
pub fn replay_corpus(dir: &Path, min_files: usize, check: fn(&[u8])) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a readable directory entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= min_files, "the corpus lost its seeds");
    let failed: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).expect("a readable corpus file");
            check_one(check, &bytes)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(failed.is_empty(), "failing inputs:\n{}", failed.join("\n"));
}
