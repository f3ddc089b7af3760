//! `restore_in_place` works where the engine is: on fixed storage, whose containers are
//! all inline, it must not build a second engine (or a second key table, wheel or
//! cache) on the stack. The restore runs on a thread whose stack is half the engine's
//! size; an implementation that assigns a fresh engine (or component) overflows it and
//! the test process aborts.

use overdue_core::engine::{Engine, EngineConfig, TriggerId};
use overdue_core::event::{Event, EventId, Labels, Related, RESOURCE_ID};
use overdue_core::store::Fixed;
use overdue_core::time::Instant;
use overdue_core::trigger::Trigger;

/// 4,096 keys of capacity: about 1.3 MB, all inline.
type Big = Engine<Fixed<8, 512, 4096, 64, 16, 256, 256, 16, 512>>;

const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

const RUNS: u32 = 3_000;

fn heartbeat(e: &mut Big, n: u32) {
    let run = format!("prefect.flow-run.{n:08}");
    let resource = [(RESOURCE_ID, run.as_str())];
    let mut id = [0u8; 16];
    id[12..].copy_from_slice(&n.to_be_bytes());
    let at = Instant::from_secs(1_000 + u64::from(n) / 100);
    let event = Event {
        id: EventId(id),
        event: "prefect.flow-run.heartbeat",
        occurred: at,
        received: at,
        resource: Labels::Pairs(&resource),
        related: Related::EMPTY,
        follows: None,
    };
    e.handle_event(&event, at).expect("heartbeat");
}

#[test]
fn restore_in_place_needs_less_stack_than_half_the_engine() {
    let triggers: Vec<(TriggerId, Trigger)> =
        vec![(TriggerId(1), serde_json::from_str(ZOMBIE).expect("trigger"))];
    let loaded = triggers.clone();
    // a busy engine and its snapshot, made on a roomy stack and kept on the heap
    let (engine, bytes) = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut e = Box::new(Big::create(EngineConfig::default()));
            for (id, t) in &loaded {
                e.add_trigger(*id, t.clone()).expect("trigger");
            }
            for n in 0..RUNS {
                heartbeat(&mut e, n);
            }
            let bytes = bytes_of(&e);
            (e, bytes)
        })
        .expect("thread")
        .join()
        .expect("setup");
    let size = std::mem::size_of::<Big>();
    assert!(size > 1_000_000, "{size}");
    let restored = std::thread::Builder::new()
        .stack_size(size / 2)
        .spawn(move || {
            let mut e = engine;
            e.restore_in_place(EngineConfig::default(), &triggers, &bytes, &mut |_, _| {})
                .expect("restore");
            (e.tracked_keys(), bytes_of(&e) == bytes)
        })
        .expect("thread")
        .join()
        .expect("restore on a stack of half the engine's size");
    assert_eq!(restored, (RUNS as usize, true));
}

fn bytes_of(e: &Big) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 20];
    let len = e.snapshot(&mut buf).expect("snapshot");
    buf.truncate(len);
    buf
}
