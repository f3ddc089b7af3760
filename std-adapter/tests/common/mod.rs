//! Fixtures shared by the driver and checkpoint tests.

use overdue_core::{EventId, Instant, OwnedEvent};

/// 2026-01-01T00:00:00Z.
pub const EPOCH: Instant = Instant::from_secs(1_767_225_600);

/// Prefect's "Crash zombie flows" automation.
pub const ZOMBIE: &str = r#"{
  "name": "Crash zombie flows",
  "trigger": {
    "type": "event",
    "match": {"prefect.resource.id": "prefect.flow-run.*"},
    "after": ["prefect.flow-run.heartbeat"],
    "expect": ["prefect.flow-run.*"],
    "for_each": ["prefect.resource.id"],
    "posture": "Proactive",
    "threshold": 1,
    "within": 90
  },
  "actions": [{"type": "change-flow-run-state", "state": "CRASHED"}]
}"#;

/// A reactive automation on failed flow runs.
pub const FAILED: &str = r#"{
  "name": "Notify on failure",
  "trigger": {
    "type": "event",
    "match": {"prefect.resource.id": "prefect.flow-run.*"},
    "expect": ["prefect.flow-run.Failed"],
    "for_each": ["prefect.resource.id"],
    "posture": "Reactive",
    "threshold": 1,
    "within": 0
  },
  "actions": []
}"#;

/// A version-4-shaped event id numbered `n`.
pub fn event_id(n: u64) -> EventId {
    let mut bytes = [0u8; 16];
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    bytes[6] = 0x40;
    EventId(bytes)
}

/// The `prefect.resource.id` of flow run number `run`.
pub fn run_id(run: usize) -> String {
    format!("prefect.flow-run.{run:08}-0000-4000-8000-000000000000")
}

/// Event `n` named `name` about flow run `run`, received when it occurred.
pub fn event(n: u64, name: &str, run: usize, occurred: Instant) -> OwnedEvent {
    OwnedEvent {
        id: event_id(n),
        event: name.to_owned(),
        occurred,
        received: occurred,
        resource: vec![("prefect.resource.id".to_owned(), run_id(run))],
        related: Vec::new(),
        follows: None,
    }
}
