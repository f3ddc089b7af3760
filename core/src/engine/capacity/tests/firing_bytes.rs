//! [`Capacity::FiringBytes`]: a trigger whose firings could take more than
//! `Capacities::firing_bytes` (or the storage's `FIRING_BYTES`) packed is refused when
//! it is loaded, so packing a firing never fails mid-evaluation.

use super::*;
use crate::store::{Fixed, Storage};
use crate::trigger::Trigger;

/// Fires on every `Completed` event, per flow run.
const ON_COMPLETED: &str = r#"{"type": "event", "expect": ["prefect.flow-run.Completed"],
  "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 1, "within": 0}"#;
/// Fires on every `Failed` event, per value of a label with a 160-byte name: its
/// firings take up to 33 + 1 + 2 + 160 + 40 + 1 = 237 bytes with keys of 40 bytes.
fn long_label() -> Trigger {
    let name = "l".repeat(160);
    trigger(&alloc::format!(
        r#"{{"type": "event", "expect": ["prefect.flow-run.Failed"], "for_each": ["{name}"],
          "posture": "Reactive", "threshold": 1, "within": 0}}"#
    ))
}
/// A flow run id of 39 bytes: with its length, a key of 40 bytes.
const RUN_39: &str = "prefect.flow-run.0123456789abcdefghijkl";

/// `ON_FAILED` or `ON_COMPLETED` on storage with keys of up to 40 bytes: 33 header +
/// 1 label count + 1 + 19 name + 40 key + 1 child count.
const EVENT_FIRING: usize = 95;
/// Both in a compound: 33 header + 1 label count + 1 child count + 2 × (1 + 95).
const COMPOSITE_FIRING: usize = 227;

const BOTH: &str = r#"{"type": "compound", "require": "all", "within": null, "triggers": [
  {"type": "event", "expect": ["prefect.flow-run.Failed"], "for_each": ["prefect.resource.id"],
   "posture": "Reactive", "threshold": 1, "within": 0},
  {"type": "event", "expect": ["prefect.flow-run.Completed"], "for_each": ["prefect.resource.id"],
   "posture": "Reactive", "threshold": 1, "within": 0}]}"#;

/// Keys of 40 bytes, firings of `FIRING_BYTES`.
type Sized<const FIRING_BYTES: usize> = Engine<Fixed<16, 512, 8, 40, 4, 256, 16, 16, FIRING_BYTES>>;

fn drain_any<S: Storage>(e: &mut Engine<S>) -> Vec<OwnedFiring> {
    let mut out = Vec::new();
    while let Some(f) = e.poll_action() {
        out.push(f.to_owned());
    }
    out
}

#[test]
fn a_trigger_with_a_long_for_each_label_is_refused_by_a_small_fixed_engine() {
    let mut e = Sized::<EVENT_FIRING>::create(EngineConfig::default());
    assert_eq!(e.config().capacities.firing_bytes, EVENT_FIRING);
    e.add_trigger(TriggerId(0), trigger(ON_FAILED)).unwrap();
    let refused = e.add_trigger(TriggerId(1), long_label());
    assert_eq!(refused, Err(AddTriggerError::Full(Capacity::FiringBytes)));
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("`firing_bytes`") && message.contains("Capacities::firing_bytes"),
        "{message}"
    );
    assert_eq!(e.trigger_count(), 1);
    assert_eq!(e.trigger_nodes(), 1);
    // the accepted trigger's longest firing (a key of the longest size) fits exactly
    e.handle_event(&Ev::new(1, FAILED, RUN_39, 0).view(), at(0))
        .unwrap();
    let fired = drain_any(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].labels,
        [("prefect.resource.id".to_string(), RUN_39.to_string())]
    );
    // one byte less and even that trigger is refused
    let mut smaller = Sized::<{ EVENT_FIRING - 1 }>::create(EngineConfig::default());
    assert_eq!(
        smaller.add_trigger(TriggerId(0), trigger(ON_FAILED)),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    assert_eq!(smaller.trigger_count(), 0);
}

#[test]
fn a_composite_is_refused_when_its_children_firings_together_do_not_fit() {
    let mut small = Sized::<{ COMPOSITE_FIRING - 1 }>::create(EngineConfig::default());
    small.add_trigger(TriggerId(0), trigger(ON_FAILED)).unwrap();
    assert_eq!(
        small.add_trigger(TriggerId(1), trigger(BOTH)),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    assert_eq!(small.trigger_nodes(), 1);
    // exactly large enough: the composite fires with both children, labels and all
    let mut e = Sized::<COMPOSITE_FIRING>::create(EngineConfig::default());
    e.add_trigger(TriggerId(1), trigger(BOTH)).unwrap();
    e.handle_event(&Ev::new(1, FAILED, RUN_39, 0).view(), at(0))
        .unwrap();
    assert!(drain_any(&mut e).is_empty());
    e.handle_event(&Ev::new(2, COMPLETED, RUN_39, 1).view(), at(1))
        .unwrap();
    let fired = drain_any(&mut e);
    assert_eq!(fired.len(), 1);
    let children: Vec<_> = fired[0].children.iter().map(|c| c.child).collect();
    assert_eq!(children, [Some(0), Some(1)]);
    assert!(fired[0]
        .children
        .iter()
        .all(|c| c.labels == [("prefect.resource.id".to_string(), RUN_39.to_string())]));
    assert_eq!(fired[0].event, Some(id(2)));
}

#[test]
fn capacities_firing_bytes_bounds_a_growable_engine_with_its_key_bytes() {
    let bounded = |firing_bytes: usize| {
        caps(|c| {
            c.key_bytes = 40;
            c.firing_bytes = firing_bytes;
        })
    };
    let mut e = Engine::new(EngineConfig {
        capacities: bounded(COMPOSITE_FIRING - 1),
        ..EngineConfig::default()
    });
    e.add_trigger(TriggerId(0), trigger(ON_COMPLETED)).unwrap();
    assert_eq!(
        e.add_trigger(TriggerId(1), trigger(BOTH)),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    let mut e = Engine::new(EngineConfig {
        capacities: bounded(COMPOSITE_FIRING),
        ..EngineConfig::default()
    });
    e.add_trigger(TriggerId(1), trigger(BOTH)).unwrap();
    // without a key bound, a bounded firing leaves room for no `for_each` at all
    let mut e = Engine::new(EngineConfig {
        capacities: caps(|c| c.firing_bytes = 10_000),
        ..EngineConfig::default()
    });
    assert_eq!(
        e.add_trigger(TriggerId(0), trigger(ON_FAILED)),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    let global = r#"{"type": "event", "expect": ["prefect.flow-run.Failed"],
      "posture": "Reactive", "threshold": 1, "within": 0}"#;
    e.add_trigger(TriggerId(1), trigger(global)).unwrap();
}

#[test]
fn a_refused_trigger_changes_nothing_already_accepted() {
    let mut e = Sized::<COMPOSITE_FIRING>::create(EngineConfig::default());
    e.add_trigger(TriggerId(1), trigger(BOTH)).unwrap();
    e.add_trigger(TriggerId(2), trigger(ON_FAILED)).unwrap();
    // a stored child firing (in the compound) and a pending firing (of trigger 2)
    e.handle_event(&Ev::new(1, FAILED, RUN_39, 0).view(), at(0))
        .unwrap();
    assert_eq!(e.pending_firings(), 1);
    let before = e.snapshot_to_vec();
    let deeper = alloc::format!(
        r#"{{"type": "compound", "require": "all", "within": null, "triggers": [{BOTH}, {ON_FAILED}]}}"#
    );
    assert_eq!(
        e.add_trigger(TriggerId(3), trigger(&deeper)),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    assert_eq!(
        e.add_trigger(TriggerId(4), long_label()),
        Err(AddTriggerError::Full(Capacity::FiringBytes))
    );
    assert_eq!(e.snapshot_to_vec(), before, "the state is unchanged");
    assert_eq!(e.trigger_count(), 2);
    // the pending firing, then the stored child firing completing the compound
    let pending = drain_any(&mut e);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].trigger, TriggerId(2));
    e.handle_event(&Ev::new(2, COMPLETED, RUN_39, 1).view(), at(1))
        .unwrap();
    let fired = drain_any(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].trigger, TriggerId(1));
    assert_eq!(fired[0].children.len(), 2);
    assert_eq!(fired[0].children[0].event, Some(id(1)));
}

#[test]
fn restoring_needs_room_for_the_saved_firings() {
    let both = || {
        alloc::vec![
            (TriggerId(0), trigger(ON_FAILED)),
            (TriggerId(1), trigger(BOTH))
        ]
    };
    let mut e = Engine::new(EngineConfig::default());
    for (id, t) in both() {
        e.add_trigger(id, t).unwrap();
    }
    // three pending firings of trigger 0, and a stored child firing in the compound
    for n in 1..=3 {
        let secs = u64::from(n);
        e.handle_event(&Ev::new(n, FAILED, RUN_39, secs).view(), at(secs))
            .unwrap();
    }
    assert_eq!(e.pending_firings(), 3);
    let bytes = e.snapshot_to_vec();
    let config = EngineConfig::default();
    // firing slots one byte too small (the triggers are gone, their firings are not)
    let small = Sized::<{ EVENT_FIRING - 1 }>::restore_from(config, Vec::new(), &bytes);
    assert!(matches!(
        small,
        Err(RestoreError::Full(Capacity::FiringBytes))
    ));
    // fewer firing slots than pending firings
    type Few = Engine<Fixed<16, 512, 8, 40, 4, 256, 16, 2, COMPOSITE_FIRING>>;
    assert!(matches!(
        Few::restore_from(config, both(), &bytes),
        Err(RestoreError::Full(Capacity::PendingFirings))
    ));
    // room enough: the same firings, and the stored child firing completes the compound
    let (mut fixed, report) =
        Sized::<COMPOSITE_FIRING>::restore_from(config, both(), &bytes).expect("fits");
    assert_eq!(report.kept.len(), 2);
    assert_eq!(fixed.snapshot_to_vec(), bytes);
    assert_eq!(drain_any(&mut fixed), drain(&mut e));
    for engine_fires in [
        drain_after_completed(&mut fixed),
        drain_after_completed(&mut e),
    ] {
        assert_eq!(engine_fires.len(), 1);
        assert_eq!(engine_fires[0].trigger, TriggerId(1));
        assert_eq!(engine_fires[0].children.len(), 2);
    }
}

/// Hands a `Completed` event of the 39-byte run and drains.
fn drain_after_completed<S: Storage>(e: &mut Engine<S>) -> Vec<OwnedFiring> {
    e.handle_event(&Ev::new(9, COMPLETED, RUN_39, 9).view(), at(9))
        .unwrap();
    drain_any(e)
}
