//! Replays the committed `snapshot_bytes` fuzz corpus (`fuzz/corpus/snapshot_bytes`)
//! through the fuzz target's own check, `overdue_core::harness::check_snapshot_bytes`,
//! on stable: `cargo test -p overdue-core --features harness --test
//! fuzz_corpus_snapshot`. Also checks that damaged snapshots (truncated, a byte
//! flipped, another version, foreign bytes) are refused with the right error.
//!
//! The seeds are real snapshots of the hand-built `engine_ops` timelines (their
//! committed `seed-*` inputs, with the triggers replaced by
//! `harness::snapshot_triggers`) cut at a few points, plus damaged variants;
//! `write_snapshot_bytes_seeds` (ignored) writes them to the corpus, and
//! `snapshot_seeds_in_the_corpus_are_current` keeps the two in step (snapshots are
//! deterministic, so a change there means the engine's state or the format changed).
#![cfg(feature = "harness")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use overdue_core::engine::{Engine, RestoreError, SNAPSHOT_HEADER_LEN, SNAPSHOT_VERSION};
use overdue_core::harness::{
    check_snapshot_bytes, decode_case, frame_payload, snapshot_config, snapshot_trigger_ops,
    snapshot_triggers, snapshots_at, timeline, Op,
};
use proptest::prelude::*;

mod common;

fn corpus_dir() -> PathBuf {
    common::corpus_dir("snapshot_bytes")
}

fn engine_ops_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/engine_ops")
}

/// The `engine_ops` seeds whose timelines are snapshotted.
const TIMELINES: [&str; 6] = [
    "zombie-fleet-20s-late",
    "reactive-burst-duplicates",
    "composites",
    "followers-and-lost-followers",
    "global-proactive-clock-back",
    "extreme-instants",
];

/// The real snapshots: each timeline with [`snapshot_triggers`] loaded instead of its
/// own triggers, with its own configuration, saved after about a quarter, half, three
/// quarters and all of the actions that follow the triggers' loading.
fn real_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in TIMELINES {
        let path = engine_ops_dir().join(format!("seed-{name}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (case, ops) = decode_case(&bytes);
        let mut all = snapshot_trigger_ops();
        all.extend(
            ops.into_iter()
                .filter(|op| !matches!(op, Op::AddTrigger { .. })),
        );
        let timeline = timeline(&all);
        let (first, last) = (snapshot_triggers().len(), timeline.actions.len() - 1);
        let cuts = [1, 2, 3, 4].map(|q| first + q * (last - first) / 4);
        let snapshots = snapshots_at(case.with_lateness(), &timeline, &cuts);
        for (cut, snapshot) in cuts.iter().zip(snapshots) {
            // a cut that changed nothing (the clock standing still) adds no seed
            if !out.iter().any(|(_, earlier)| *earlier == snapshot) {
                out.push((format!("{name}-at-{cut}"), snapshot));
            }
        }
    }
    out
}

/// Every seed: the real snapshots and damaged or foreign variants of one of them.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = real_seeds();
        let base = real_snapshot_of(&out).to_vec();
        let payload = base[SNAPSHOT_HEADER_LEN..].to_vec();
        let mid = SNAPSHOT_HEADER_LEN + payload.len() / 2;
        let flipped = |at: usize| {
            let mut b = base.clone();
            b[at] ^= 0x10;
            b
        };
        let mut version = base.clone();
        version[4..6].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
        let mut trailing = base.clone();
        trailing.extend_from_slice(b"\0tail");
        let mut reframed = flipped(mid);
        reframed = frame_payload(&reframed[SNAPSHOT_HEADER_LEN..]);
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("truncated-in-header", base[..10].to_vec()),
            ("truncated-in-payload", base[..mid].to_vec()),
            ("byte-flipped-in-payload", flipped(mid)),
            ("byte-flipped-in-length", flipped(7)),
            ("byte-flipped-payload-reframed", reframed),
            ("other-version", version),
            ("trailing-bytes", trailing),
            ("payload-without-header", payload),
            ("magic-only", b"OVDS".to_vec()),
            (
                "foreign-json",
                br#"{"type": "event", "posture": "Reactive"}"#.to_vec(),
            ),
            ("foreign-zip", b"PK\x03\x04\x14\0\0\0\x08\0".to_vec()),
        ];
        out.extend(variants.into_iter().map(|(n, b)| (n.to_string(), b)));
        out
    })
}

/// The followers timeline cut at half: a real snapshot with tracked keys, a waiting
/// follower and remembered ids.
fn real_snapshot_of(seeds: &[(String, Vec<u8>)]) -> &[u8] {
    &seeds
        .iter()
        .filter(|(name, _)| name.starts_with("followers-and-lost-followers"))
        .nth(1)
        .expect("a followers snapshot")
        .1
}

/// [`real_snapshot_of`] the seeds.
fn real_snapshot() -> &'static [u8] {
    real_snapshot_of(seeds())
}

fn restore(bytes: &[u8]) -> Result<Engine, RestoreError> {
    Engine::restore(snapshot_config(), snapshot_triggers(), bytes).map(|(engine, _)| engine)
}

/// Runs the fuzz target's check on one input; the panic message on failure.
fn check(bytes: &[u8]) -> Result<(), String> {
    common::check_one(check_snapshot_bytes, bytes)
}

#[test]
fn snapshot_bytes_corpus_replays_clean() {
    common::replay_corpus(&corpus_dir(), seeds().len(), check_snapshot_bytes);
}

#[test]
fn snapshot_seeds_in_the_corpus_are_current() {
    for (name, bytes) in seeds() {
        let path = corpus_dir().join(format!("seed-{name}"));
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run write_snapshot_bytes_seeds)", path.display()));
        assert!(
            committed == *bytes,
            "{name} changed: run write_snapshot_bytes_seeds"
        );
    }
}

#[test]
fn every_seed_holds() {
    for (name, bytes) in seeds() {
        if let Err(e) = check(bytes) {
            panic!("seed {name}: {e}");
        }
    }
}

#[test]
fn real_seeds_restore_with_every_trigger_kept_and_some_state() {
    let (mut keys, mut followers, mut buffered, mut ids) = (0, 0, 0, 0);
    for (name, bytes) in real_seeds() {
        let (engine, report) = Engine::restore(snapshot_config(), snapshot_triggers(), &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.kept.len(), snapshot_triggers().len(), "{name}");
        assert_eq!(engine.snapshot_to_vec(), bytes, "{name} saves other bytes");
        keys += engine.tracked_keys();
        followers += engine.waiting_followers();
        buffered += engine.buffered_events();
        ids += engine.remembered_ids();
    }
    // the seeds reach every part of the payload
    assert!(keys > 0 && followers > 0 && buffered > 0 && ids > 0);
}

#[test]
fn framing_a_real_payload_gives_the_real_snapshot() {
    for (name, bytes) in real_seeds() {
        assert_eq!(
            frame_payload(&bytes[SNAPSHOT_HEADER_LEN..]),
            bytes,
            "{name}"
        );
    }
}

#[test]
fn a_bumped_version_is_unsupported() {
    for version in [0, SNAPSHOT_VERSION + 1, u16::MAX] {
        let mut bytes = real_snapshot().to_vec();
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            restore(&bytes).err(),
            Some(RestoreError::UnsupportedVersion(version))
        );
    }
}

#[test]
fn foreign_bytes_are_not_a_snapshot() {
    let snapshot = real_snapshot();
    for bytes in [
        &b"PK\x03\x04"[..],
        br#"{"seen": []}"#,
        &snapshot[SNAPSHOT_HEADER_LEN..],
        b"ovds\x01\0",
    ] {
        assert_eq!(restore(bytes).err(), Some(RestoreError::BadMagic));
    }
}

#[test]
fn the_damaged_seeds_are_refused() {
    for (name, bytes) in seeds() {
        let expected = if name.starts_with("truncated") || name == "magic-only" {
            RestoreError::Truncated
        } else if name.starts_with("byte-flipped-in-payload") || name == "trailing-bytes" {
            RestoreError::Corrupt
        } else if name == "other-version" {
            RestoreError::UnsupportedVersion(SNAPSHOT_VERSION + 1)
        } else if name.starts_with("foreign") || name == "payload-without-header" {
            RestoreError::BadMagic
        } else {
            continue;
        };
        assert_eq!(restore(bytes).err(), Some(expected), "{name}");
    }
}

/// The key of run 0 in a real snapshot as saved: the byte string's length (19), then
/// the key as the engine writes it (the value's length, 18, and the value).
const RUN_0_KEY: &[u8] = b"\x13\x12prefect.flow-run.0";

#[test]
fn malformed_keys_are_corrupt() {
    let (_, snapshot) = seeds()
        .iter()
        .find(|(name, _)| name.starts_with("zombie-fleet"))
        .expect("a zombie fleet snapshot");
    let payload = &snapshot[SNAPSHOT_HEADER_LEN..];
    let at = payload
        .windows(RUN_0_KEY.len())
        .position(|w| w == RUN_0_KEY)
        .expect("run 0 is tracked");
    assert!(restore(&frame_payload(payload)).is_ok());
    let malformed: [&[u8]; 5] = [
        // a length of more than 64 bits (the fuzz finding: decoding it overflowed)
        b"\x13\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
        // a value longer than the key
        b"\x13\x13prefect.flow-run.0",
        // a length not in its shortest form
        b"\x13\x91\x00refect.flow-run.0",
        // a value that is not UTF-8
        b"\x13\x12prefect.flow-run\xff0",
        // two values for the trigger's one `for_each` label
        b"\x13\x08prefect.\x09flow-run.",
    ];
    for key in malformed {
        assert_eq!(key.len(), RUN_0_KEY.len());
        let mut bad = payload.to_vec();
        bad[at..at + key.len()].copy_from_slice(key);
        assert_eq!(
            restore(&frame_payload(&bad)).err(),
            Some(RestoreError::Corrupt),
            "{key:?}"
        );
        check(&frame_payload(&bad)).unwrap_or_else(|e| panic!("{key:?}: {e}"));
    }
}

/// The fuzz finding, minimized: a saved key whose length field ran past 64 bits
/// restored, and firing its window overflowed while decoding it. (The input's header
/// is from format version 1; the framed payload still decodes under version 2.)
#[test]
fn regression_key_length_overflow() {
    let bytes = std::fs::read(corpus_dir().join("regression-key-length-overflow"))
        .expect("the committed regression input");
    assert_eq!(
        restore(&frame_payload(&bytes[SNAPSHOT_HEADER_LEN..])).err(),
        Some(RestoreError::Corrupt)
    );
    check(&bytes).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_truncation_of_a_real_snapshot_is_truncated(cut in any::<prop::sample::Index>()) {
        let snapshot = real_snapshot();
        let len = cut.index(snapshot.len());
        prop_assert_eq!(restore(&snapshot[..len]).err(), Some(RestoreError::Truncated));
    }

    #[test]
    fn a_flipped_byte_is_an_error(at in any::<prop::sample::Index>(), mask in 1u8..) {
        let mut bytes = real_snapshot().to_vec();
        let at = at.index(bytes.len());
        bytes[at] ^= mask;
        let err = restore(&bytes).err();
        match at {
            0..4 => prop_assert_eq!(err, Some(RestoreError::BadMagic)),
            4..6 => prop_assert!(matches!(err, Some(RestoreError::UnsupportedVersion(_)))),
            6..10 => prop_assert!(matches!(
                err,
                Some(RestoreError::Truncated | RestoreError::Corrupt)
            )),
            _ => prop_assert_eq!(err, Some(RestoreError::Corrupt)),
        }
    }
}

/// Writes the seeds: `cargo test -p overdue-core --features harness --test
/// fuzz_corpus_snapshot -- --ignored write_snapshot_bytes_seeds`.
#[test]
#[ignore = "writes fuzz/corpus/snapshot_bytes/seed-*"]
fn write_snapshot_bytes_seeds() {
    std::fs::create_dir_all(corpus_dir()).expect("the corpus directory");
    for (name, bytes) in seeds() {
        let path = corpus_dir().join(format!("seed-{name}"));
        std::fs::write(&path, bytes).expect("a writable corpus");
    }
}
