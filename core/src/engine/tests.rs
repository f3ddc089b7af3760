//! Engine unit tests: the run-loop contract and the behaviours conformance scenarios
//! cannot express (removal, extremes, errors, `poll_timeout`).

use super::*;
use crate::engine::LatePolicy;
use crate::event::{EventId, Labels, Related};
use crate::trigger::{Posture, Trigger};
use alloc::vec;

pub(super) const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

pub(super) fn trigger(json: &str) -> Trigger {
    serde_json::from_str(json).expect("trigger JSON")
}

pub(super) fn id(n: u32) -> EventId {
    let mut b = [0u8; 16];
    b[12..].copy_from_slice(&n.to_be_bytes());
    EventId(b)
}

pub(super) fn at(secs: u64) -> Instant {
    Instant::from_secs(1_767_225_600 + secs)
}

pub(super) struct Ev {
    pub(super) id: EventId,
    pub(super) name: &'static str,
    pub(super) occurred: Instant,
    pub(super) resource: [(&'static str, &'static str); 1],
    pub(super) follows: Option<EventId>,
}

impl Ev {
    pub(super) fn new(n: u32, name: &'static str, run: &'static str, secs: u64) -> Ev {
        Ev {
            id: id(n),
            name,
            occurred: at(secs),
            resource: [(RESOURCE_ID, run)],
            follows: None,
        }
    }
    pub(super) fn view(&self) -> Event<'_> {
        Event {
            id: self.id,
            event: self.name,
            occurred: self.occurred,
            received: self.occurred,
            resource: Labels::Pairs(&self.resource),
            related: Related::EMPTY,
            follows: self.follows,
        }
    }
}

pub(super) fn drain(e: &mut Engine) -> Vec<OwnedFiring> {
    let mut out = Vec::new();
    while let Some(f) = e.poll_action() {
        out.push(f.to_owned());
    }
    out
}

fn zombie_engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(7), trigger(ZOMBIE)).unwrap();
    e
}

#[test]
fn zombie_fires_exactly_when_its_window_ends() {
    let mut e = zombie_engine();
    let hb1 = Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0);
    let hb2 = Ev::new(2, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 30);
    e.handle_event(&hb1.view(), at(0)).unwrap();
    e.handle_event(&hb2.view(), at(30)).unwrap();
    assert_eq!(
        e.poll_timeout(),
        Some(at(120)),
        "the window of the last heartbeat"
    );
    e.handle_timeout(at(120) - Duration::from_micros(1));
    assert!(drain(&mut e).is_empty(), "one microsecond early: nothing");
    e.handle_timeout(at(120));
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    let f = &fired[0];
    assert_eq!(f.trigger, TriggerId(7));
    assert_eq!(f.event, Some(id(2)));
    assert_eq!(f.at, at(120));
    assert_eq!(f.kind, FiringKind::Proactive);
    assert_eq!(
        f.labels,
        vec![(
            String::from(RESOURCE_ID),
            String::from("prefect.flow-run.A")
        )]
    );
    assert_eq!(e.tracked_keys(), 0, "the fired window is gone");
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn heartbeats_keep_rearming_and_completion_stops_monitoring() {
    let mut e = zombie_engine();
    for (n, s) in [(1u32, 0u64), (2, 30), (3, 60), (4, 90)] {
        let hb = Ev::new(n, "prefect.flow-run.heartbeat", "prefect.flow-run.A", s);
        e.handle_event(&hb.view(), at(s)).unwrap();
        e.handle_timeout(at(s));
    }
    assert_eq!(e.poll_timeout(), Some(at(180)));
    let done = Ev::new(5, "prefect.flow-run.Completed", "prefect.flow-run.A", 100);
    e.handle_event(&done.view(), at(100)).unwrap();
    // the satisfied window is deleted at the next tick, so nothing ever fires
    e.handle_timeout(at(101));
    e.handle_timeout(at(1_000));
    assert!(drain(&mut e).is_empty());
}

#[test]
fn duplicate_ids_are_dropped_by_the_consumer_within_the_window_only() {
    let mut e = zombie_engine();
    let hb = Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0);
    assert_eq!(
        e.handle_event(&hb.view(), at(0)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(
        e.handle_event(&hb.view(), at(10)),
        Ok(EventOutcome::Duplicate)
    );
    assert_eq!(
        e.handle_event(&hb.view(), at(1_800)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(e.stats().duplicates, 1);
}

#[test]
fn removing_a_trigger_forgets_its_windows() {
    let mut e = zombie_engine();
    e.add_trigger(TriggerId(8), trigger(ZOMBIE)).unwrap();
    let hb = Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0);
    e.handle_event(&hb.view(), at(0)).unwrap();
    assert_eq!(e.tracked_keys(), 2);
    assert!(e.remove_trigger(TriggerId(7)));
    assert!(!e.remove_trigger(TriggerId(7)));
    assert_eq!(e.tracked_keys(), 1);
    e.handle_timeout(at(500));
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].trigger, TriggerId(8));
}

#[test]
fn duplicate_trigger_ids_and_invalid_triggers_are_typed_errors() {
    let mut e = zombie_engine();
    assert_eq!(
        e.add_trigger(TriggerId(7), trigger(ZOMBIE)),
        Err(AddTriggerError::DuplicateId(TriggerId(7)))
    );
    // a proactive `within` of 5 s is rejected, whichever way the trigger arrives
    let short = r#"{"type": "event", "expect": ["x"], "posture": "Proactive", "within": 5}"#;
    let rejected = match serde_json::from_str::<Trigger>(short) {
        Err(_) => true,
        Ok(t) => matches!(
            e.add_trigger(TriggerId(9), t),
            Err(AddTriggerError::Invalid(_))
        ),
    };
    assert!(rejected, "a proactive within of 5 s must be rejected");
    let mut built = crate::trigger::EventTrigger::reactive(&["x"]);
    built.posture = Posture::Proactive;
    built.within = Duration::from_secs(5);
    match e.add_trigger(TriggerId(10), Trigger::Event(built)) {
        Err(AddTriggerError::Invalid(err)) => {
            assert!(err.to_string().contains("within"), "names the field: {err}")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(e.trigger_count(), 1);
}

#[test]
fn an_event_trigger_with_the_id_of_an_earlier_one_replaces_it() {
    let on = |expect: &str| {
        trigger(&format!(
            r#"{{"type": "event", "id": "00000000-0000-0000-0000-000000000001",
                "expect": ["{expect}"], "posture": "Reactive", "threshold": 1, "within": 0}}"#
        ))
    };
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), on("prefect.flow-run.Failed"))
        .unwrap();
    // the same id nested in a compound: it replaces trigger 1's event trigger
    let compound = trigger(
        r#"{"type": "compound", "require": "any", "within": null, "triggers": [
            {"type": "event", "id": "00000000-0000-0000-0000-000000000001",
             "expect": ["prefect.flow-run.Crashed"], "posture": "Reactive", "threshold": 1}]}"#,
    );
    e.add_trigger(TriggerId(2), compound).unwrap();
    assert_eq!(e.trigger_count(), 2, "both trees stay loaded");
    let fired = |e: &mut Engine, n: u32, name: &'static str| {
        e.handle_event(
            &Ev::new(n, name, "prefect.flow-run.a", u64::from(n)).view(),
            at(100),
        )
        .unwrap();
        drain(e).iter().map(|f| f.trigger).collect::<Vec<_>>()
    };
    assert_eq!(fired(&mut e, 1, "prefect.flow-run.Failed"), []);
    assert_eq!(fired(&mut e, 2, "prefect.flow-run.Crashed"), [TriggerId(2)]);
    // the replaced trigger stays replaced, also after a snapshot
    let bytes = e.snapshot_to_vec();
    let triggers = vec![
        (TriggerId(1), on("prefect.flow-run.Failed")),
        (
            TriggerId(2),
            trigger(
                r#"{"type": "compound", "require": "any", "within": null, "triggers": [
            {"type": "event", "id": "00000000-0000-0000-0000-000000000001",
             "expect": ["prefect.flow-run.Crashed"], "posture": "Reactive", "threshold": 1}]}"#,
            ),
        ),
    ];
    let (mut restored, _) = Engine::restore(EngineConfig::default(), triggers, &bytes).unwrap();
    assert_eq!(fired(&mut restored, 3, "prefect.flow-run.Failed"), []);
    assert_eq!(
        fired(&mut restored, 4, "prefect.flow-run.Crashed"),
        [TriggerId(2)]
    );
    // unloading the replacement does not bring the replaced one back (as in Prefect)
    assert!(e.remove_trigger(TriggerId(2)));
    assert_eq!(fired(&mut e, 5, "prefect.flow-run.Failed"), []);
    // an id given again after that is a fresh trigger
    e.add_trigger(TriggerId(3), on("prefect.flow-run.Failed"))
        .unwrap();
    assert_eq!(fired(&mut e, 6, "prefect.flow-run.Failed"), [TriggerId(3)]);
}

#[test]
fn events_without_resource_id_are_refused_and_change_nothing() {
    let mut e = zombie_engine();
    let hb = Ev::new(1, "prefect.flow-run.heartbeat", "", 0);
    assert_eq!(
        e.handle_event(&hb.view(), at(0)),
        Err(HandleEventError::MissingResourceId)
    );
    assert_eq!(e.tracked_keys(), 0);
    assert_eq!(e.stats().events, 0);
}

#[test]
fn an_older_now_is_treated_as_the_last_one() {
    let mut e = zombie_engine();
    let hb = Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0);
    e.handle_event(&hb.view(), at(0)).unwrap();
    e.handle_timeout(at(200));
    assert_eq!(drain(&mut e).len(), 1);
    e.handle_timeout(at(50));
    assert_eq!(e.now(), at(200));
    assert!(drain(&mut e).is_empty());
}

#[test]
fn extreme_timestamps_and_huge_windows_never_panic() {
    let huge = r#"{"type": "event", "after": ["a"], "expect": ["b"], "for_each": ["prefect.resource.id"],
                   "posture": "Proactive", "threshold": 1, "within": 1e12}"#;
    let mut e = Engine::new(EngineConfig::default());
    e.add_trigger(TriggerId(1), trigger(huge)).unwrap();
    e.add_trigger(TriggerId(2), trigger(ZOMBIE)).unwrap();
    let reactive = r#"{"type": "event", "expect": ["a"], "posture": "Reactive", "threshold": 2, "within": 60}"#;
    e.add_trigger(TriggerId(3), trigger(reactive)).unwrap();
    for (n, t) in [(1u32, 0u64), (2, 1), (3, u64::MAX - 1), (4, u64::MAX)] {
        let mut ev = Ev::new(n, "a", "prefect.flow-run.X", 0);
        ev.occurred = Instant::from_micros(t);
        e.handle_event(&ev.view(), Instant::from_micros(t)).unwrap();
        e.handle_timeout(Instant::from_micros(t));
        let _ = drain(&mut e);
    }
    e.handle_timeout(Instant::MAX);
    let _ = drain(&mut e);
    let _ = e.poll_timeout();
}

#[test]
fn followers_wait_for_their_leader() {
    let mut e = Engine::new(EngineConfig::default());
    let t = r#"{"type": "event", "expect": ["b"], "after": ["a"], "for_each": ["prefect.resource.id"],
                "posture": "Reactive", "threshold": 1, "within": 60}"#;
    e.add_trigger(TriggerId(1), trigger(t)).unwrap();
    let a = Ev::new(1, "a", "r", 10);
    let mut b = Ev::new(2, "b", "r", 11);
    b.follows = Some(a.id);
    assert_eq!(
        e.handle_event(&b.view(), at(11)),
        Ok(EventOutcome::WaitingForLeader)
    );
    assert!(drain(&mut e).is_empty());
    assert_eq!(e.poll_timeout(), Some(at(11) + Duration::from_mins(15)));
    e.handle_event(&a.view(), at(12)).unwrap();
    let fired = drain(&mut e);
    assert_eq!(
        fired.len(),
        1,
        "the follower was evaluated right after its leader"
    );
    assert_eq!(fired[0].event, Some(id(2)));
}

#[test]
fn a_global_proactive_trigger_asks_for_a_tick_and_opens_its_window_there() {
    let mut e = Engine::new(EngineConfig::default());
    let t = r#"{"type": "event", "expect": ["x"], "posture": "Proactive", "threshold": 1, "within": 30}"#;
    e.add_trigger(TriggerId(1), trigger(t)).unwrap();
    e.handle_timeout(at(0));
    assert_eq!(e.poll_timeout(), Some(at(30)));
    e.handle_timeout(at(30));
    let fired = drain(&mut e);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].event, None);
    assert!(fired[0].labels.is_empty());
}

fn lateness_engine(lateness_secs: u64, policy: LatePolicy, capacity: usize) -> Engine {
    let config = EngineConfig {
        allowed_lateness: Some(Duration::from_secs(lateness_secs)),
        late_policy: policy,
        capacities: Capacities {
            buffered_events: capacity,
            ..Capacities::default()
        },
        ..EngineConfig::default()
    };
    let mut e = Engine::new(config);
    e.add_trigger(TriggerId(7), trigger(ZOMBIE)).unwrap();
    e
}

/// (tick, triggering event, labels) of one firing.
type Seen = (u64, Option<EventId>, Vec<(String, String)>);

/// Heartbeats of run A at 0, 30, 60 (and of run B at 10), delivered in `order`, ticks
/// every 10 s up to 300 s; returns (tick, event, labels) of every firing.
fn zombie_with_lateness(order: &[usize]) -> Vec<Seen> {
    let events = [
        Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0),
        Ev::new(2, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 30),
        Ev::new(3, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 60),
        Ev::new(4, "prefect.flow-run.heartbeat", "prefect.flow-run.B", 10),
    ];
    let mut e = lateness_engine(20, LatePolicy::Drop, 100);
    // all four arrive before the first tick whose watermark (tick - 20 s) passes them
    for &i in order {
        assert_eq!(
            e.handle_event(&events[i].view(), at(61)),
            Ok(EventOutcome::Buffered)
        );
    }
    let mut out = Vec::new();
    for tick in (70..=300).step_by(10) {
        e.handle_timeout(at(tick));
        for f in drain(&mut e) {
            out.push((tick, f.event, f.labels));
        }
    }
    out
}

#[test]
fn with_allowed_lateness_arrival_order_does_not_matter() {
    let sorted = zombie_with_lateness(&[0, 3, 1, 2]);
    assert_eq!(sorted.len(), 2, "both runs go silent: {sorted:?}");
    // A's window ends at 60 + 90 = 150, judged when the watermark (tick - 20) gets there
    assert_eq!(sorted[1].0, 170);
    assert_eq!(sorted[1].1, Some(id(3)));
    for order in [[2, 1, 0, 3], [3, 2, 0, 1], [1, 3, 2, 0]] {
        assert_eq!(zombie_with_lateness(&order), sorted, "order {order:?}");
    }
}

#[test]
fn without_allowed_lateness_prefect_depends_on_arrival_order() {
    // The same late delivery without the lateness stage: Prefect's result changes.
    let run = |order: &[usize]| {
        let events = [
            Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 0),
            Ev::new(2, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 100),
        ];
        let mut e = zombie_engine();
        for &i in order {
            e.handle_event(&events[i].view(), at(100)).unwrap();
        }
        e.handle_timeout(at(300));
        drain(&mut e)
            .into_iter()
            .map(|f| (f.kind, f.at))
            .collect::<Vec<_>>()
    };
    // in order: the second heartbeat lands past the first window and fires it
    // reactively; reversed: the old heartbeat is ignored and the window fires at the tick
    assert_eq!(run(&[0, 1]), [(FiringKind::Reactive, at(100))]);
    assert_eq!(run(&[1, 0]), [(FiringKind::Proactive, at(300))]);
}

#[test]
fn late_events_are_dropped_and_counted_or_processed_by_policy() {
    let hb = |n, s| Ev::new(n, "prefect.flow-run.heartbeat", "prefect.flow-run.A", s);
    let mut e = lateness_engine(10, LatePolicy::Drop, 100);
    e.handle_timeout(at(100)); // watermark 90
    assert_eq!(e.watermark(), Some(at(90)));
    assert_eq!(
        e.handle_event(&hb(1, 90).view(), at(100)),
        Ok(EventOutcome::Late)
    );
    assert_eq!(
        e.handle_event(&hb(2, 91).view(), at(100)),
        Ok(EventOutcome::Buffered)
    );
    assert_eq!(e.stats().late_dropped, 1);
    assert_eq!(e.buffered_events(), 1);

    let mut p = lateness_engine(10, LatePolicy::Process, 100);
    p.handle_timeout(at(100));
    assert_eq!(
        p.handle_event(&hb(1, 50).view(), at(100)),
        Ok(EventOutcome::Processed)
    );
    assert_eq!(p.stats().late_processed, 1);
    assert_eq!(
        p.tracked_keys(),
        1,
        "the late heartbeat opened a window at once"
    );
}

#[test]
fn a_full_lateness_buffer_refuses_and_keeps_nothing_of_the_event() {
    let hb = |n, s| Ev::new(n, "prefect.flow-run.heartbeat", "prefect.flow-run.A", s);
    let mut e = lateness_engine(60, LatePolicy::Drop, 2);
    e.handle_event(&hb(1, 1).view(), at(1)).unwrap();
    e.handle_event(&hb(2, 2).view(), at(2)).unwrap();
    assert_eq!(
        e.handle_event(&hb(3, 3).view(), at(3)),
        Err(HandleEventError::Full(Capacity::BufferedEvents))
    );
    assert_eq!(e.buffered_events(), 2);
    // the refused event was not remembered as seen: it can be delivered again
    e.handle_timeout(at(70));
    assert_eq!(e.buffered_events(), 0);
    assert_eq!(
        e.handle_event(&hb(3, 3).view(), at(70)),
        Ok(EventOutcome::Late)
    );
    assert_eq!(
        e.handle_event(&hb(3, 80).view(), at(80)),
        Ok(EventOutcome::Buffered)
    );
}

#[test]
fn duplicates_are_dropped_while_buffered_and_poll_timeout_waits_for_the_watermark() {
    let mut e = lateness_engine(30, LatePolicy::Drop, 100);
    let hb = Ev::new(1, "prefect.flow-run.heartbeat", "prefect.flow-run.A", 5);
    assert_eq!(
        e.handle_event(&hb.view(), at(6)),
        Ok(EventOutcome::Buffered)
    );
    assert_eq!(
        e.handle_event(&hb.view(), at(7)),
        Ok(EventOutcome::Duplicate)
    );
    assert_eq!(
        e.poll_timeout(),
        Some(at(35)),
        "released when now - 30 s reaches 5 s"
    );
    e.handle_timeout(at(35));
    assert_eq!(e.tracked_keys(), 1);
    // its window ends at 95 in event time, judged when the watermark reaches it
    assert_eq!(e.poll_timeout(), Some(at(125)));
    e.handle_timeout(at(124));
    assert!(drain(&mut e).is_empty());
    e.handle_timeout(at(125));
    assert_eq!(drain(&mut e).len(), 1);
}

#[test]
fn prefetching_large_batches_changes_nothing() {
    let reactive = r#"{"type": "event", "expect": ["prefect.flow-run.*"],
        "for_each": ["prefect.resource.id"], "posture": "Reactive", "threshold": 3,
        "within": 40}"#;
    let make = || {
        let mut e = zombie_engine();
        e.add_trigger(TriggerId(8), trigger(reactive)).unwrap();
        e
    };
    let (mut plain, mut hinted) = (make(), make());
    let runs: Vec<String> = (0..150)
        .map(|i| alloc::format!("prefect.flow-run.{i:04}"))
        .collect();
    let resources: Vec<[(&str, &str); 1]> =
        runs.iter().map(|r| [(RESOURCE_ID, r.as_str())]).collect();
    let no_resource: [(&str, &str); 0] = [];
    let mut n = 0;
    for round in 0..4u64 {
        // every run but a silent tenth, a completion now and then, and one event the
        // engine refuses (no resource id)
        let mut batch: Vec<Event<'_>> = Vec::new();
        for (i, res) in resources.iter().enumerate() {
            if round >= 2 && i % 10 == 0 {
                continue;
            }
            n += 1;
            let name = if i % 7 == 3 {
                "prefect.flow-run.Completed"
            } else {
                "prefect.flow-run.heartbeat"
            };
            batch.push(Event {
                id: id(n),
                event: name,
                occurred: at(round * 30 + i as u64 / 10),
                received: at(round * 30 + i as u64 / 10),
                resource: Labels::Pairs(res),
                related: Related::EMPTY,
                follows: None,
            });
        }
        n += 1;
        batch.push(Event {
            id: id(n),
            event: "prefect.flow-run.heartbeat",
            occurred: at(round * 30 + 20),
            received: at(round * 30 + 20),
            resource: Labels::Pairs(&no_resource),
            related: Related::EMPTY,
            follows: None,
        });
        hinted.prefetch(&batch);
        hinted.prefetch(&[]);
        for ev in &batch {
            let now = ev.occurred;
            assert_eq!(plain.handle_event(ev, now), hinted.handle_event(ev, now));
        }
        let tick = at(round * 30 + 29);
        plain.handle_timeout(tick);
        hinted.handle_timeout(tick);
        assert_eq!(drain(&mut plain), drain(&mut hinted));
        assert_eq!(plain.poll_timeout(), hinted.poll_timeout());
    }
    plain.handle_timeout(at(400));
    hinted.handle_timeout(at(400));
    let fired = drain(&mut plain);
    assert!(fired.len() >= 15, "the silent runs fired: {}", fired.len());
    assert_eq!(fired, drain(&mut hinted));
    assert_eq!(plain.stats(), hinted.stats());
    assert_eq!(plain.snapshot_to_vec(), hinted.snapshot_to_vec());
}
