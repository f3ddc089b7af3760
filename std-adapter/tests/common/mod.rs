//! Fixtures shared by the driver and checkpoint tests.

use overdue_core::Instant;

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
