//! Snapshot unit tests: the header and its errors, hostile payloads, and what a
//! restore keeps and drops.

use super::codec::{decode_seen, push_varint, take_varint};
use super::restore::RestoreOutcome;
use super::*;
use crate::engine::{AddTriggerError, Capacity};
use crate::engine::{EngineConfig, EventOutcome, OwnedFiring};
use crate::event::{Event, EventId, Labels, Related, RESOURCE_ID};
use crate::time::Duration;
use crate::time::Instant;
use crate::trigger::Trigger;
use alloc::string::String;
use alloc::vec;

const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

fn trigger(json: &str) -> Trigger {
    serde_json::from_str(json).expect("trigger JSON")
}

/// The zombie trigger with another `within`.
fn zombie_within(secs: u32) -> Trigger {
    trigger(&ZOMBIE.replace("\"within\": 90", &alloc::format!("\"within\": {secs}")))
}

fn at(secs: u64) -> Instant {
    Instant::from_secs(1_767_225_600 + secs)
}

fn id(n: u32) -> EventId {
    let mut b = [0u8; 16];
    b[12..].copy_from_slice(&n.to_be_bytes());
    EventId(b)
}

/// Hands a heartbeat of `run` (event id `n`) at `secs`.
fn heartbeat(e: &mut Engine, n: u32, run: &str, secs: u64) {
    let resource = [(RESOURCE_ID, run)];
    let event = Event {
        id: id(n),
        event: "prefect.flow-run.heartbeat",
        occurred: at(secs),
        received: at(secs),
        resource: Labels::Pairs(&resource),
        related: Related::EMPTY,
        follows: None,
    };
    e.handle_event(&event, at(secs)).unwrap();
}

fn drain(e: &mut Engine) -> Vec<OwnedFiring> {
    let mut out = Vec::new();
    while let Some(f) = e.poll_action() {
        out.push(f.to_owned());
    }
    out
}

fn zombies() -> Vec<(TriggerId, Trigger)> {
    vec![
        (TriggerId(1), trigger(ZOMBIE)),
        (TriggerId(2), zombie_within(120)),
    ]
}

/// Two zombie triggers (90 s and 120 s); runs C (heartbeat at 0 s), A (last
/// heartbeat at 30 s) and B (at 40 s); trigger 1's firing for C still pending.
fn busy_engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    for (i, t) in zombies() {
        e.add_trigger(i, t).unwrap();
    }
    heartbeat(&mut e, 1, "prefect.flow-run.C", 0);
    heartbeat(&mut e, 2, "prefect.flow-run.A", 10);
    heartbeat(&mut e, 3, "prefect.flow-run.A", 30);
    e.handle_timeout(at(35));
    heartbeat(&mut e, 4, "prefect.flow-run.B", 40);
    e.handle_timeout(at(90));
    e
}

#[test]
fn crc32_is_the_ieee_one() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn a_restored_engine_continues_exactly_and_saves_the_same_bytes() {
    let mut original = busy_engine();
    let bytes = original.snapshot_to_vec();
    assert_eq!(&bytes[..4], b"OVDS");
    let (mut restored, report) =
        Engine::restore(EngineConfig::default(), zombies(), &bytes).unwrap();
    assert_eq!(report.kept, [TriggerId(1), TriggerId(2)]);
    assert!(report.changed.is_empty() && report.removed.is_empty() && report.added.is_empty());
    assert_eq!(
        restored.snapshot_to_vec(),
        bytes,
        "nothing is lost or added"
    );
    assert_eq!(restored.tracked_keys(), original.tracked_keys());
    assert_eq!(restored.stats(), original.stats());
    for e in [&mut original, &mut restored] {
        heartbeat(e, 5, "prefect.flow-run.B", 100);
    }
    for t in [119, 120, 150, 160, 220, 400] {
        assert_eq!(original.poll_timeout(), restored.poll_timeout(), "at {t}");
        original.handle_timeout(at(t));
        restored.handle_timeout(at(t));
        assert_eq!(drain(&mut original), drain(&mut restored), "at {t}");
    }
    assert_eq!(original.poll_timeout(), None);
    assert_eq!(restored.stats(), original.stats());
}

#[test]
fn snapshot_into_a_slice_reports_the_size_it_needs() {
    let e = busy_engine();
    let whole = e.snapshot_to_vec();
    let mut buf = vec![0u8; whole.len()];
    assert_eq!(e.snapshot(&mut buf), Ok(whole.len()));
    assert_eq!(buf, whole);
    let needed = whole.len();
    for short in [0, 3, SNAPSHOT_HEADER_LEN, needed - 1] {
        let mut buf = vec![0u8; short];
        assert_eq!(
            e.snapshot(&mut buf),
            Err(SnapshotError::BufferTooSmall { needed })
        );
    }
    let mut roomy = vec![0xAA; needed + 10];
    assert_eq!(e.snapshot(&mut roomy), Ok(needed));
    assert_eq!(&roomy[..needed], &whole[..]);
}

fn restore(bytes: &[u8]) -> Result<(Engine, RestoreReport), RestoreError> {
    Engine::restore(EngineConfig::default(), zombies(), bytes)
}

fn err(bytes: &[u8]) -> RestoreError {
    restore(bytes).map(|_| ()).unwrap_err()
}

/// `bytes` with the payload replaced and the header's length and checksum fixed up.
fn with_payload(bytes: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = bytes[..SNAPSHOT_HEADER_LEN].to_vec();
    out.extend_from_slice(payload);
    let (header, body) = out.split_at_mut(SNAPSHOT_HEADER_LEN);
    write_header(header, body);
    out
}

#[test]
fn header_errors_are_typed() {
    let bytes = busy_engine().snapshot_to_vec();
    assert_eq!(err(&[]), RestoreError::Truncated);
    assert_eq!(err(b"OV"), RestoreError::Truncated);
    assert_eq!(err(b"{\"triggers\": {}}"), RestoreError::BadMagic);
    assert_eq!(err(b"OX"), RestoreError::BadMagic);

    let mut other_version = bytes.clone();
    other_version[4..6].copy_from_slice(&1u16.to_le_bytes());
    assert_eq!(err(&other_version), RestoreError::UnsupportedVersion(1));

    let mut longer = bytes.clone();
    let len = (bytes.len() - SNAPSHOT_HEADER_LEN) as u32;
    longer[6..10].copy_from_slice(&(len + 1).to_le_bytes());
    assert_eq!(err(&longer), RestoreError::Truncated);
    longer[6..10].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(err(&longer), RestoreError::Truncated);

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(err(&trailing), RestoreError::Corrupt);

    let mut bad_crc = bytes.clone();
    bad_crc[10] ^= 1;
    assert_eq!(err(&bad_crc), RestoreError::Corrupt);

    // every error says what to do
    for e in [
        RestoreError::Truncated,
        RestoreError::BadMagic,
        RestoreError::UnsupportedVersion(9),
        RestoreError::Corrupt,
        RestoreError::InvalidTrigger(TriggerId(3), AddTriggerError::DuplicateId(TriggerId(3))),
    ] {
        let text = alloc::format!("{e}");
        assert!(text.contains(';'), "{text}");
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    let bytes = busy_engine().snapshot_to_vec();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let e = err(&bad);
            if i >= SNAPSHOT_HEADER_LEN {
                assert_eq!(e, RestoreError::Corrupt, "payload byte {i}");
            }
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), trigger(ZOMBIE)).unwrap();
    heartbeat(&mut e, 1, "prefect.flow-run.A", 0);
    let bytes = e.snapshot_to_vec();
    let triggers = || vec![(TriggerId(1), trigger(ZOMBIE))];
    assert!(Engine::restore(EngineConfig::default(), triggers(), &bytes).is_ok());
    for len in 0..bytes.len() {
        let result = Engine::restore(EngineConfig::default(), triggers(), &bytes[..len]);
        assert_eq!(
            result.map(|_| ()).unwrap_err(),
            RestoreError::Truncated,
            "{len} of {} bytes",
            bytes.len()
        );
    }
}

#[test]
fn hostile_payloads_are_refused_without_panics_or_huge_allocations() {
    let bytes = busy_engine().snapshot_to_vec();
    // a sequence claiming 2^63 roots, with a valid checksum
    let huge = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
    assert_eq!(err(&with_payload(&bytes, &huge)), RestoreError::Corrupt);
    assert_eq!(err(&with_payload(&bytes, &[])), RestoreError::Corrupt);
    // every payload byte set to other values, checksum fixed: an error or a
    // consistent engine that keeps working, never a panic
    let payload = &bytes[SNAPSHOT_HEADER_LEN..];
    let mut accepted = 0;
    for i in 0..payload.len() {
        for value in [0x00u8, 0x01, 0x02, 0x7F, 0x80, 0xFF] {
            let mut p = payload.to_vec();
            p[i] = value;
            if let Ok((mut e, _)) = restore(&with_payload(&bytes, &p)) {
                accepted += 1;
                heartbeat(&mut e, 9, "prefect.flow-run.B", 200);
                let _ = e.poll_timeout();
                e.handle_timeout(at(1_000));
                e.handle_timeout(at(100_000));
                drain(&mut e);
                let _ = e.snapshot_to_vec();
            }
        }
    }
    assert!(accepted > 0, "some edits (times, counters) stay consistent");
}

#[test]
fn a_changed_trigger_loses_its_state_and_the_other_keeps_its_deadline() {
    let e = busy_engine();
    let bytes = e.snapshot_to_vec();
    let triggers = vec![
        (TriggerId(1), trigger(ZOMBIE)),
        (TriggerId(2), zombie_within(200)),
    ];
    let (mut r, report) = Engine::restore(EngineConfig::default(), triggers, &bytes).unwrap();
    assert_eq!(report.kept, [TriggerId(1)]);
    assert_eq!(report.changed, [TriggerId(2)]);
    // trigger 1 keeps A's window (heartbeat at 30 s + 90 s) and B's (40 s + 90 s)
    assert_eq!(r.tracked_keys(), 2);
    assert_eq!(r.poll_timeout(), Some(at(120)));
    r.handle_timeout(at(130));
    let fired = drain(&mut r);
    // the pending firing of run C (trigger 1 at 90 s) comes first, as saved
    let what: Vec<(TriggerId, Instant)> = fired.iter().map(|f| (f.trigger, f.at)).collect();
    assert_eq!(
        what,
        [
            (TriggerId(1), at(90)),
            (TriggerId(1), at(130)),
            (TriggerId(1), at(130)),
        ]
    );
    assert_eq!(r.tracked_keys(), 0, "trigger 2's windows were dropped");
    r.handle_timeout(at(10_000));
    assert!(drain(&mut r).is_empty());
}

#[test]
fn removed_and_added_triggers_are_reported() {
    let bytes = busy_engine().snapshot_to_vec();
    let triggers = vec![
        (TriggerId(3), zombie_within(60)),
        (TriggerId(2), zombie_within(120)),
    ];
    let (r, report) = Engine::restore(EngineConfig::default(), triggers, &bytes).unwrap();
    assert_eq!(
        report,
        RestoreReport {
            kept: vec![TriggerId(2)],
            changed: vec![],
            removed: vec![TriggerId(1)],
            added: vec![TriggerId(3)],
        }
    );
    assert_eq!(r.trigger_count(), 2);
    assert_eq!(r.tracked_keys(), 3, "trigger 2's windows of A, B and C");
}

#[test]
fn a_trigger_spelled_differently_but_equal_is_kept() {
    let mut e = Engine::new(EngineConfig::default());
    let messy = r#"{"type": "event", "expect": ["b", "a", "b"], "posture": "Reactive",
        "threshold": 2, "within": 60}"#;
    e.add_trigger(TriggerId(1), trigger(messy)).unwrap();
    let bytes = e.snapshot_to_vec();
    let mut t = trigger(messy);
    if let Trigger::Event(ev) = &mut t {
        ev.expect = vec![String::from("b"), String::from("a")];
    }
    let (_, report) =
        Engine::restore(EngineConfig::default(), vec![(TriggerId(1), t)], &bytes).unwrap();
    assert_eq!(report.kept, [TriggerId(1)]);
}

#[test]
fn invalid_triggers_are_refused_by_id() {
    let bytes = busy_engine().snapshot_to_vec();
    let dup = vec![
        (TriggerId(1), trigger(ZOMBIE)),
        (TriggerId(1), trigger(ZOMBIE)),
    ];
    assert_eq!(
        Engine::restore(EngineConfig::default(), dup, &bytes)
            .map(|_| ())
            .unwrap_err(),
        RestoreError::InvalidTrigger(TriggerId(1), AddTriggerError::DuplicateId(TriggerId(1)))
    );
    let mut short = zombie_within(90);
    if let Trigger::Event(ev) = &mut short {
        ev.within = Duration::from_secs(5);
    }
    let result = Engine::restore(EngineConfig::default(), vec![(TriggerId(4), short)], &bytes);
    assert!(matches!(
        result,
        Err(RestoreError::InvalidTrigger(
            TriggerId(4),
            AddTriggerError::Invalid(_)
        ))
    ));
}

#[test]
fn an_engine_after_removals_restores_with_its_load_order() {
    // removal leaves holes in the node and key slots; the restored engine packs the
    // nodes anew but evaluates in the same order
    let reactive = r#"{"type": "event", "expect": ["prefect.flow-run.heartbeat"],
        "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 2,
        "within": 60}"#;
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), trigger(ZOMBIE)).unwrap();
    e.add_trigger(TriggerId(2), trigger(reactive)).unwrap();
    heartbeat(&mut e, 1, "prefect.flow-run.A", 0);
    assert!(e.remove_trigger(TriggerId(1)));
    e.add_trigger(TriggerId(3), zombie_within(30)).unwrap();
    heartbeat(&mut e, 2, "prefect.flow-run.B", 5);
    let triggers = vec![
        (TriggerId(3), zombie_within(30)),
        (TriggerId(2), trigger(reactive)),
    ];
    let (mut r, report) =
        Engine::restore(EngineConfig::default(), triggers, &e.snapshot_to_vec()).unwrap();
    assert_eq!(
        report.kept,
        [TriggerId(2), TriggerId(3)],
        "saved load order"
    );
    for x in [&mut e, &mut r] {
        heartbeat(x, 3, "prefect.flow-run.A", 10);
        heartbeat(x, 4, "prefect.flow-run.B", 12);
        x.handle_timeout(at(100));
    }
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 4);
    assert_eq!(drain(&mut r), fired);
}

#[test]
fn packed_ids_round_trip_whatever_the_values() {
    let entries = vec![
        (0, id(1), Instant::ZERO),
        (1, id(2), Instant::from_micros(u64::MAX)),
        (2, id(3), Instant::from_micros(5)),
        (u64::MAX - 1, EventId([0xFF; 16]), Instant::from_secs(1)),
    ];
    let packed = encode_seen(entries.iter().copied(), entries.len());
    assert_eq!(decode_seen(&packed).as_ref(), Some(&entries));
    assert_eq!(decode_seen(&[]), Some(Vec::new()));
    // cut anywhere: whole entries decode, a cut entry is an error
    let mut whole = 0;
    for len in 1..packed.len() {
        if let Some(decoded) = decode_seen(&packed[..len]) {
            assert_eq!(decoded, entries[..decoded.len()], "{len} bytes");
            assert_eq!(encode_seen(decoded.iter().copied(), 0), packed[..len]);
            whole += 1;
        }
    }
    assert_eq!(whole, entries.len() - 1, "only at entry boundaries");
    // a varint longer than 64 bits
    let mut overlong = vec![0xFF; 10];
    overlong.push(0x01);
    assert_eq!(take_varint(&overlong, &mut 0), None);
    assert_eq!(
        take_varint(
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
            &mut 0
        ),
        None
    );
    let mut max = Vec::new();
    push_varint(&mut max, u64::MAX);
    assert_eq!(take_varint(&max, &mut 0), Some(u64::MAX));
}

#[test]
fn windows_due_together_fire_in_key_order_whatever_their_slots() {
    // B's key is created first (lower slot), A's second; both windows end at 90 s
    for order in [
        ["prefect.flow-run.B", "prefect.flow-run.A"],
        ["prefect.flow-run.A", "prefect.flow-run.B"],
    ] {
        let mut e = Engine::new(EngineConfig::default());
        e.add_trigger(TriggerId(1), trigger(ZOMBIE)).unwrap();
        heartbeat(&mut e, 1, order[0], 0);
        heartbeat(&mut e, 2, order[1], 0);
        e.handle_timeout(at(90));
        let runs: Vec<String> = drain(&mut e)
            .into_iter()
            .map(|f| f.labels[0].1.clone())
            .collect();
        assert_eq!(runs, ["prefect.flow-run.A", "prefect.flow-run.B"]);
    }
}

#[test]
fn buffered_events_are_evaluated_when_restored_without_allowed_lateness() {
    let late = EngineConfig {
        allowed_lateness: Some(Duration::from_secs(30)),
        ..EngineConfig::default()
    };
    let mut e = Engine::new(late);
    e.add_trigger(TriggerId(1), trigger(ZOMBIE)).unwrap();
    heartbeat(&mut e, 1, "prefect.flow-run.A", 0);
    heartbeat(&mut e, 2, "prefect.flow-run.A", 10);
    assert_eq!(e.buffered_events(), 2);
    let bytes = e.snapshot_to_vec();

    let (same, _) = Engine::restore(late, vec![(TriggerId(1), trigger(ZOMBIE))], &bytes).unwrap();
    assert_eq!(same.buffered_events(), 2, "still waiting for the watermark");

    let (mut now, _) = Engine::restore(
        EngineConfig::default(),
        vec![(TriggerId(1), trigger(ZOMBIE))],
        &bytes,
    )
    .unwrap();
    assert_eq!(now.buffered_events(), 0);
    assert_eq!(now.stats().events, 2);
    assert_eq!(
        now.poll_timeout(),
        Some(at(100)),
        "the window of the heartbeat at 10 s"
    );
}

#[test]
fn a_larger_dedup_cache_restores_into_a_smaller_one_keeping_the_newest_ids() {
    use crate::store::Fixed;
    // 12 events (12 ids remembered) through a heap engine
    let mut e = Engine::new(EngineConfig::default());
    for (id, t) in zombies() {
        e.add_trigger(id, t).unwrap();
    }
    let run = [(RESOURCE_ID, "prefect.flow-run.A")];
    let ev = |n: u32| Event {
        id: super::super::tests::id(n),
        event: "prefect.flow-run.heartbeat",
        occurred: super::super::tests::at(u64::from(n)),
        received: super::super::tests::at(u64::from(n)),
        resource: Labels::Pairs(&run),
        related: Related::EMPTY,
        follows: None,
    };
    for n in 1..=12 {
        e.handle_event(&ev(n), super::super::tests::at(u64::from(n)))
            .unwrap();
    }
    assert_eq!(e.remembered_ids(), 12);
    let bytes = e.snapshot_to_vec();
    let now = super::super::tests::at(13);

    // a fixed engine remembering 8 ids, and a heap engine configured for 5
    let (mut fixed, _) = Engine::<Fixed<8, 512, 8, 64, 8, 256, 8, 8, 512>>::restore_from(
        EngineConfig::default(),
        zombies(),
        &bytes,
    )
    .expect("restores, keeping the 8 newest ids");
    assert_eq!(fixed.remembered_ids(), 8);
    let config = EngineConfig {
        dedup_capacity: 5,
        ..EngineConfig::default()
    };
    let (mut small, _) = Engine::restore(config, zombies(), &bytes).unwrap();
    assert_eq!(small.remembered_ids(), 5);
    // the newest ids are still duplicates, the evicted ones are not
    assert_eq!(
        fixed.handle_event(&ev(12), now),
        Ok(EventOutcome::Duplicate)
    );
    assert_eq!(fixed.handle_event(&ev(5), now), Ok(EventOutcome::Duplicate));
    assert_eq!(fixed.handle_event(&ev(4), now), Ok(EventOutcome::Processed));
    assert_eq!(small.handle_event(&ev(8), now), Ok(EventOutcome::Duplicate));
    assert_eq!(small.handle_event(&ev(7), now), Ok(EventOutcome::Processed));
    // what the cache would have done at its next insert anyway
    let (mut whole, _) = Engine::restore(EngineConfig::default(), zombies(), &bytes).unwrap();
    whole.handle_event(&ev(13), now).unwrap();
    assert_eq!(whole.remembered_ids(), 13);
}

/// Fingerprints of trigger definitions are stored in snapshots: they must never change
/// for the same (validated) trigger. The values were computed by the version that
/// serialized the owned `Trigger` with postcard.
#[test]
fn fingerprints_are_stable() {
    const CASES: &[(&str, u64)] = &[
        (
            r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"}, "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"], "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#,
            0x3a5e_2e3d_d91a_6b66,
        ),
        (
            r#"{"expect": ["b", "a", "b", "c*"], "after": ["z", "y"], "for_each": ["x", "w", "x"], "match_related": [{"prefect.resource.role": "deployment", "a": ["1", "!2"]}, {}], "posture": "Proactive", "threshold": -3, "within": 0}"#,
            0x6d10_be5b_edee_8346,
        ),
        (
            r#"{"id": "0b8ac2e5-6a3c-4a43-9e3a-4a4bd4ab9e01", "posture": "Reactive", "within": 0.5}"#,
            0xdbae_ba3c_3e08_65a0,
        ),
        (
            r#"{"type": "compound", "id": "1b8ac2e5-6a3c-4a43-9e3a-4a4bd4ab9e01", "require": 2, "within": 120, "triggers": [
                {"posture": "Reactive", "expect": ["a"]},
                {"type": "sequence", "within": null, "triggers": [{"posture": "Reactive", "expect": ["b"], "match": {"k": ["v", "w*"]}}]},
                {"posture": "Proactive", "expect": ["c"], "within": 30}
            ]}"#,
            0xf6e2_52af_5f00_94e6,
        ),
        (
            r#"{"type": "compound", "require": "all", "within": null, "triggers": [{"posture": "Reactive"}]}"#,
            0x6c0a_2739_bfc1_6256,
        ),
        (
            r#"{"type": "compound", "require": "any", "within": 5, "triggers": [{"posture": "Reactive"}]}"#,
            0x80b0_239d_4473_d377,
        ),
    ];
    for (json, expected) in CASES {
        let mut de = serde_json::Deserializer::from_str(json);
        let trigger = crate::trigger::Trigger::deserialize_prefect(&mut de)
            .expect("well-formed JSON")
            .expect("valid trigger");
        let got = super::fingerprint(&trigger);
        assert_eq!(got, *expected, "{json}");
    }
}

// ------------------------------------------------------------------ golden bytes

/// A compound over a `Failed` and a `Completed` trigger, per flow run.
const COMPOUND: &str = r#"{"type": "compound", "require": "all", "within": null, "triggers": [
  {"type": "event", "expect": ["prefect.flow-run.Failed"], "for_each": ["prefect.resource.id"],
   "posture": "Reactive", "threshold": 1, "within": 0},
  {"type": "event", "expect": ["prefect.flow-run.Completed"], "for_each": ["prefect.resource.id"],
   "posture": "Reactive", "threshold": 1, "within": 0}]}"#;

/// An event `name` of `run` with id `n` at `secs`, with a related resource and
/// optionally following event `follows`.
fn event_of(e: &mut Engine, n: u32, name: &str, run: &str, secs: u64, follows: Option<u32>) {
    let resource = [(RESOURCE_ID, run), ("prefect.resource.name", "réunion")];
    let related: [&[(&str, &str)]; 1] = [&[
        (RESOURCE_ID, "prefect.deployment.x"),
        ("prefect.resource.role", "deployment"),
    ]];
    let event = Event {
        id: id(n),
        event: name,
        occurred: at(secs),
        received: at(secs),
        resource: Labels::Pairs(&resource),
        related: Related::Pairs(&related),
        follows: follows.map(id),
    };
    e.handle_event(&event, at(secs)).unwrap();
}

/// The triggers of [`golden_engines`].
fn golden_triggers() -> Vec<(TriggerId, Trigger)> {
    let mut all = zombies();
    all.push((TriggerId(7), trigger(COMPOUND)));
    all
}

/// Engines whose snapshots reach every part of the payload: keys with buckets and
/// held events, a stored child firing and pending firings, waiting followers (two of
/// one leader), a refreshed de-duplication id, and (second engine) the
/// allowed-lateness buffer.
fn golden_engines() -> Vec<Engine> {
    let mut out = Vec::new();
    for lateness in [None, Some(Duration::from_secs(30))] {
        let config = EngineConfig {
            allowed_lateness: lateness,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(config);
        for (i, t) in golden_triggers() {
            e.add_trigger(i, t).unwrap();
        }
        heartbeat(&mut e, 1, "prefect.flow-run.C", 0);
        heartbeat(&mut e, 2, "prefect.flow-run.A", 10);
        event_of(
            &mut e,
            3,
            "prefect.flow-run.Failed",
            "prefect.flow-run.A",
            20,
            None,
        );
        event_of(
            &mut e,
            4,
            "prefect.flow-run.Completed",
            "prefect.flow-run.B",
            21,
            None,
        );
        event_of(
            &mut e,
            5,
            "prefect.flow-run.Failed",
            "prefect.flow-run.B",
            22,
            Some(99),
        );
        event_of(
            &mut e,
            6,
            "prefect.flow-run.Running",
            "prefect.flow-run.B",
            23,
            Some(99),
        );
        event_of(
            &mut e,
            7,
            "prefect.flow-run.Running",
            "prefect.flow-run.D",
            24,
            Some(98),
        );
        e.handle_timeout(at(35));
        heartbeat(&mut e, 8, "prefect.flow-run.B", 40);
        e.handle_timeout(at(60));
        e.handle_timeout(at(95));
        event_of(
            &mut e,
            9,
            "prefect.flow-run.Failed",
            "prefect.flow-run.E",
            96,
            None,
        );
        out.push(e);
    }
    out
}

const GOLDEN: &[u8] = include_bytes!("golden-v3.bin");

/// The snapshots of [`golden_engines`], each prefixed with its length (`u32` LE).
fn golden_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    for e in golden_engines() {
        let bytes = e.snapshot_to_vec();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Writes `golden-v3.bin` (only when the format deliberately changes, with a new
/// version): `cargo test -p overdue-core --lib write_golden -- --ignored`.
#[test]
#[ignore]
fn write_golden() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/engine/snapshot/golden-v3.bin"
    );
    std::fs::write(path, golden_bytes()).unwrap();
}

#[test]
fn snapshots_are_the_bytes_format_3_pins() {
    assert!(golden_bytes() == GOLDEN, "the snapshot bytes changed");
    // and they restore to engines that save them again
    let mut at = 0;
    while at < GOLDEN.len() {
        let len = u32::from_le_bytes(GOLDEN[at..at + 4].try_into().unwrap()) as usize;
        let bytes = &GOLDEN[at + 4..at + 4 + len];
        let lateness = (at > 0).then(|| Duration::from_secs(30));
        let config = EngineConfig {
            allowed_lateness: lateness,
            ..EngineConfig::default()
        };
        let (e, report) = Engine::restore(config, golden_triggers(), bytes).unwrap();
        assert_eq!(report.kept.len(), 3);
        assert_eq!(e.snapshot_to_vec(), bytes);
        at += 4 + len;
    }
}

#[test]
fn the_golden_engines_reach_every_part_of_the_payload() {
    let engines = golden_engines();
    let (direct, late) = (&engines[0], &engines[1]);
    assert!(direct.tracked_keys() > 0 && direct.remembered_ids() > 0);
    assert!(
        direct.waiting_followers() >= 3,
        "{}",
        direct.waiting_followers()
    );
    assert!(!direct.actions.is_empty(), "pending firings");
    assert!(
        direct.stored.iter().any(Option::is_some),
        "a stored child firing"
    );
    assert!(late.buffered_events() > 0);
}

// ------------------------------------------------------------------ in place

/// Restores `bytes` in place into `e`, collecting the outcomes.
fn restore_into(
    e: &mut Engine,
    config: EngineConfig,
    triggers: &[(TriggerId, Trigger)],
    bytes: &[u8],
) -> Result<RestoreReport, RestoreError> {
    let mut report = RestoreReport::default();
    e.restore_in_place(config, triggers, bytes, &mut |id, outcome| {
        report.record(id, outcome)
    })?;
    Ok(report)
}

/// Whether `e` is a fresh engine with `config`: no triggers, no state, saving the
/// bytes a new one saves.
fn assert_fresh(e: &Engine, config: EngineConfig) {
    assert_eq!(e.trigger_count(), 0);
    assert_eq!(e.tracked_keys(), 0);
    assert_eq!(e.config(), Engine::new(config).config());
    assert_eq!(e.snapshot_to_vec(), Engine::new(config).snapshot_to_vec());
}

/// `Engine::clear` (what a restore starts with) leaves any engine exactly as a new one
/// with the given configuration: same snapshot bytes, same firings from then on.
#[test]
fn a_cleared_engine_is_a_new_one() {
    use crate::engine::ProactiveMode;
    let configs = [
        EngineConfig::default(),
        EngineConfig {
            allowed_lateness: Some(Duration::from_secs(30)),
            proactive: ProactiveMode::Scheduled,
            wheel_tick: Duration::from_millis(7),
            ..EngineConfig::default()
        },
    ];
    for mut used in golden_engines() {
        assert!(used.tracked_keys() > 0 && used.remembered_ids() > 0);
        for config in configs {
            used.clear(config);
            assert_fresh(&used, config);
            let mut fresh = Engine::new(config);
            for e in [&mut used, &mut fresh] {
                for (i, t) in zombies() {
                    e.add_trigger(i, t).unwrap();
                }
            }
            let script = |e: &mut Engine| {
                heartbeat(e, 1, "prefect.flow-run.A", 0);
                heartbeat(e, 2, "prefect.flow-run.B", 50);
                e.handle_timeout(at(200));
                let fired = drain(e);
                (fired, e.poll_timeout(), e.snapshot_to_vec())
            };
            let (got, want) = (script(&mut used), script(&mut fresh));
            assert_eq!(got.0.len(), 4, "two runs, two triggers");
            assert_eq!(got, want);
        }
    }
}

#[test]
fn restoring_in_place_equals_restoring_by_value() {
    let mut at = 0;
    let mut in_place = busy_engine();
    while at < GOLDEN.len() {
        let len = u32::from_le_bytes(GOLDEN[at..at + 4].try_into().unwrap()) as usize;
        let bytes = &GOLDEN[at + 4..at + 4 + len];
        let config = EngineConfig {
            allowed_lateness: (at > 0).then(|| Duration::from_secs(30)),
            ..EngineConfig::default()
        };
        // the same triggers, one changed, one removed, one added
        let mut others = golden_triggers();
        others[1].1 = zombie_within(60);
        others.remove(0);
        others.push((TriggerId(40), zombie_within(30)));
        for triggers in [golden_triggers(), others] {
            let (mut by_value, expected) =
                Engine::restore(config, triggers.clone(), bytes).unwrap();
            // into an engine with other state and another configuration
            let report = restore_into(&mut in_place, config, &triggers, bytes).unwrap();
            assert_eq!(report, expected);
            assert_eq!(in_place.snapshot_to_vec(), by_value.snapshot_to_vec());
            for t in [100, 200, 400] {
                heartbeat(&mut in_place, 1000 + t as u32, "prefect.flow-run.Z", t);
                heartbeat(&mut by_value, 1000 + t as u32, "prefect.flow-run.Z", t);
                in_place.handle_timeout(at_secs(t + 1));
                by_value.handle_timeout(at_secs(t + 1));
                assert_eq!(drain(&mut in_place), drain(&mut by_value));
            }
        }
        at += 4 + len;
    }
}

fn at_secs(secs: u64) -> Instant {
    at(secs)
}

#[test]
fn the_report_lists_kept_changed_removed_and_added_in_order() {
    let bytes = golden_engines()[0].snapshot_to_vec();
    let triggers = vec![
        (TriggerId(50), zombie_within(10)),
        (TriggerId(7), trigger(COMPOUND)),
        (TriggerId(2), zombie_within(121)),
        (TriggerId(51), zombie_within(11)),
    ];
    let mut e = Engine::new(EngineConfig::default());
    let mut outcomes = Vec::new();
    e.restore_in_place(EngineConfig::default(), &triggers, &bytes, &mut |id, o| {
        outcomes.push((id.0, o))
    })
    .unwrap();
    use RestoreOutcome::*;
    assert_eq!(
        outcomes,
        [
            (1, Removed),
            (2, Changed),
            (7, Kept),
            (50, Added),
            (51, Added)
        ]
    );
    let (_, report) = Engine::restore(EngineConfig::default(), triggers, &bytes).unwrap();
    assert_eq!(report.kept, [TriggerId(7)]);
    assert_eq!(report.changed, [TriggerId(2)]);
    assert_eq!(report.removed, [TriggerId(1)]);
    assert_eq!(report.added, [TriggerId(50), TriggerId(51)]);
}

#[test]
fn every_error_in_place_leaves_a_fresh_usable_engine() {
    let config = EngineConfig::default();
    let bytes = golden_engines()[0].snapshot_to_vec();
    let small = EngineConfig {
        capacities: crate::engine::Capacities {
            keys: 1,
            ..crate::engine::Capacities::default()
        },
        ..config
    };
    let mut corrupt = bytes.clone();
    corrupt[SNAPSHOT_HEADER_LEN + 3] ^= 0x40;
    let invalid = vec![
        (TriggerId(1), trigger(ZOMBIE)),
        (TriggerId(1), trigger(ZOMBIE)),
    ];
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        EngineConfig,
        Vec<(TriggerId, Trigger)>,
        Vec<u8>,
        RestoreError,
    )> = vec![
        (
            config,
            golden_triggers(),
            bytes[..bytes.len() - 1].to_vec(),
            RestoreError::Truncated,
        ),
        (
            config,
            golden_triggers(),
            corrupt.clone(),
            RestoreError::Corrupt,
        ),
        (
            config,
            golden_triggers(),
            with_payload(&bytes, &bytes[SNAPSHOT_HEADER_LEN..bytes.len() - 1]),
            RestoreError::Corrupt,
        ),
        (
            small,
            golden_triggers(),
            bytes.clone(),
            RestoreError::Full(Capacity::Keys),
        ),
        (
            config,
            invalid,
            bytes.clone(),
            RestoreError::InvalidTrigger(TriggerId(1), AddTriggerError::DuplicateId(TriggerId(1))),
        ),
    ];
    for (i, (config, triggers, input, expected)) in cases.into_iter().enumerate() {
        let mut e = busy_engine();
        let mut called = false;
        let got = e.restore_in_place(config, &triggers, &input, &mut |_, _| called = true);
        let got = got.expect_err(&alloc::format!("case {i}"));
        // (a flipped payload byte may decode into another inconsistency)
        if expected != RestoreError::Corrupt {
            assert_eq!(got, expected);
        }
        assert_eq!(
            Engine::restore(config, triggers.clone(), &input).unwrap_err(),
            got
        );
        assert!(!called, "no report for a failed restore");
        assert_fresh(&e, config);
        // usable: load a trigger and run
        e.add_trigger(TriggerId(9), trigger(ZOMBIE)).unwrap();
        heartbeat(&mut e, 77, "prefect.flow-run.Q", 0);
        e.handle_timeout(at(200));
        assert_eq!(drain(&mut e).len(), 1);
        // and restorable again
        restore_into(&mut e, EngineConfig::default(), &golden_triggers(), &bytes).unwrap();
        assert_eq!(e.snapshot_to_vec(), bytes);
    }
}

#[test]
fn arbitrary_payloads_in_place_never_panic_and_match_by_value() {
    let bytes = golden_engines()[0].snapshot_to_vec();
    let payload = &bytes[SNAPSHOT_HEADER_LEN..];
    let mut e = Engine::new(EngineConfig::default());
    let mut state = 0x1234_5678_9abc_def0u64;
    for round in 0..400 {
        let mut p = payload.to_vec();
        for _ in 0..(round % 5 + 1) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state as usize) % p.len();
            p[i] = (state >> 32) as u8;
        }
        let cut = if round % 7 == 0 {
            (state as usize) % p.len()
        } else {
            p.len()
        };
        let input = with_payload(&bytes, &p[..cut]);
        let by_value = Engine::restore(EngineConfig::default(), golden_triggers(), &input);
        let in_place = restore_into(&mut e, EngineConfig::default(), &golden_triggers(), &input);
        match (by_value, in_place) {
            (Ok((v, report)), Ok(r)) => {
                assert_eq!(report, r);
                assert_eq!(v.snapshot_to_vec(), e.snapshot_to_vec());
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b);
                assert_fresh(&e, EngineConfig::default());
            }
            (a, b) => panic!("round {round}: {:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }
}

#[test]
fn saving_allocates_nothing_and_fits_a_slice_exactly() {
    for e in golden_engines() {
        let whole = e.snapshot_to_vec();
        let mut buf = [0u8; 4096];
        let n = e.snapshot(&mut buf).unwrap();
        assert_eq!(&buf[..n], &whole[..]);
    }
}

#[test]
fn a_look_back_window_restores_only_with_the_look_back_it_was_opened_with() {
    // expect without after: the first event opens [occurred - lookback, occurred + 60 s)
    let counted = trigger(
        r#"{"type": "event", "expect": ["prefect.flow-run.heartbeat"],
        "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 3, "within": 60}"#,
    );
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), counted.clone()).unwrap();
    e.add_trigger(TriggerId(2), trigger(ZOMBIE)).unwrap();
    heartbeat(&mut e, 1, "prefect.flow-run.A", 1_000);
    let bytes = e.snapshot_to_vec();
    let triggers = || {
        vec![
            (TriggerId(1), counted.clone()),
            (TriggerId(2), trigger(ZOMBIE)),
        ]
    };

    let (mut same, _) = Engine::restore(EngineConfig::default(), triggers(), &bytes).unwrap();
    assert_eq!(same.snapshot_to_vec(), bytes);
    // the window still starts 15 minutes before the first event: an event 10 minutes
    // older counts, and the third event fires
    heartbeat(&mut same, 2, "prefect.flow-run.A", 400);
    heartbeat(&mut same, 3, "prefect.flow-run.A", 1_010);
    let fired: Vec<_> = drain(&mut same).into_iter().map(|f| f.trigger).collect();
    assert_eq!(fired, [TriggerId(1)]);

    let shorter = EngineConfig {
        lookback: Duration::from_mins(5),
        ..EngineConfig::default()
    };
    let refused = Engine::restore(shorter, triggers(), &bytes).map(|_| ());
    assert_eq!(refused, Err(RestoreError::Window));
    assert!(RestoreError::Window.to_string().contains("lookback"));
    // without the look-back window, the other trigger's windows restore under any
    // look-back
    let zombie_only = vec![(TriggerId(2), trigger(ZOMBIE))];
    assert!(Engine::restore(shorter, zombie_only, &bytes).is_ok());
}
