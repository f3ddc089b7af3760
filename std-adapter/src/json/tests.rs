//! JSON adapter tests: Prefect's automation and event documents.

use super::*;
use overdue_core::trigger::{Posture, Require};
use overdue_core::{Duration, EventId, Instant};
use serde_json::json;

const NOW: Instant = Instant::from_secs(1_767_225_600);

const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

fn automation(name: &str, trigger: &str) -> String {
    format!(
        r#"{{"id": "a1", "name": "{name}", "description": "d", "enabled": true, "tags": ["t"],
            "trigger": {trigger}, "actions": [{{"type": "do-nothing"}}],
            "actions_on_trigger": [], "actions_on_resolve": [], "owner_resource": null,
            "created": "2026-01-01T00:00:00Z"}}"#
    )
}

#[test]
fn parses_triggers_from_values_and_text() {
    let v: Value = serde_json::from_str(ZOMBIE).unwrap();
    let t = parse_trigger(&v).unwrap();
    assert_eq!(t, parse_trigger_str(ZOMBIE).unwrap());
    let Trigger::Event(e) = &t else { panic!() };
    assert_eq!(e.posture, Posture::Proactive);
    assert_eq!(e.within, Duration::from_secs(90));

    let e = parse_trigger(&json!({"posture": "Metric"})).unwrap_err();
    assert_eq!(e.kind, TriggerErrorKind::MetricPosture);
    match parse_trigger_str("{\"posture\": \n  \"Reactive\",}") {
        Err(TriggerLoadError::Syntax(s)) => assert_eq!((s.line, s.column), (2, 14)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn keeps_match_label_order_from_text() {
    let t = parse_trigger_str(r#"{"posture": "Reactive", "match": {"z": "1", "a": "2"}}"#).unwrap();
    let Trigger::Event(e) = t else { panic!() };
    let labels: Vec<_> = e.match_.labels.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(labels, ["z", "a"]);
}

#[test]
fn loads_one_automation() {
    let report = load_automations(&automation("zombies", ZOMBIE)).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let a = &report.automations[0];
    assert_eq!(a.name, "zombies");
    assert_eq!(a.id.as_deref(), Some("a1"));
    assert_eq!((a.description.as_str(), a.enabled), ("d", true));
    assert_eq!(a.tags, ["t"]);
    assert_eq!(a.actions, [json!({"type": "do-nothing"})]);
    assert!(matches!(a.trigger, Trigger::Event(_)));
    assert_eq!(
        parse_automation(&serde_json::from_str(&automation("zombies", ZOMBIE)).unwrap()).unwrap(),
        *a
    );
}

#[test]
fn one_bad_automation_does_not_stop_the_others() {
    let compound = r#"{"type": "compound", "require": 3, "within": null,
        "triggers": [{"posture": "Reactive"}, {"posture": "Reactive"}]}"#;
    let doc = format!(
        "[{}, {}, {}, {{\"trigger\": {ZOMBIE}, \"actions\": []}}, 7]",
        automation("good", ZOMBIE),
        automation("too demanding", compound),
        automation("also good", r#"{"posture": "Reactive", "expect": ["x"]}"#),
    );
    let report = load_automations(&doc).unwrap();
    let names: Vec<_> = report.automations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["good", "also good"]);
    assert_eq!(report.errors.len(), 3);
    let bad = &report.errors[0];
    assert_eq!((bad.index, bad.name.as_deref()), (1, Some("too demanding")));
    assert_eq!(
        bad.to_string(),
        "automation #1 (\"too demanding\"): field `trigger.require`: is 3, but there are only 2 child trigger(s)"
    );
    let unnamed = &report.errors[1];
    assert_eq!((unnamed.index, unnamed.name.as_deref()), (3, None));
    assert_eq!(
        unnamed.to_string(),
        "automation #3: field `name`: is required but missing"
    );
    assert_eq!(report.errors[2].index, 4);
}

#[test]
fn bare_triggers_and_automation_fields() {
    let report = load_automations(ZOMBIE).unwrap();
    assert_eq!(report.automations.len(), 1);
    assert_eq!(report.automations[0].name, "");
    assert!(report.automations[0].actions.is_empty());

    let a = |extra: &str| {
        let doc = format!(r#"{{"name": "n", "trigger": {ZOMBIE}, "actions": [] {extra}}}"#);
        load_automations(&doc).unwrap()
    };
    assert!(a("").automations[0].enabled);
    assert!(!a(r#", "enabled": false"#).automations[0].enabled);
    assert!(!a(r#", "enabled": "off""#).automations[0].enabled);
    assert_eq!(
        a(r#", "enabled": "maybe""#).errors[0].error,
        AutomationParseError::Field {
            field: "enabled".into(),
            problem: "must be a boolean".into()
        }
    );
    let no_actions = load_automations(&format!(r#"{{"name": "n", "trigger": {ZOMBIE}}}"#)).unwrap();
    assert_eq!(
        no_actions.errors[0].to_string(),
        "automation #0 (\"n\"): field `actions`: is required but missing"
    );
    let no_trigger = load_automations(r#"{"name": "n", "actions": []}"#).unwrap();
    assert_eq!(
        no_trigger.errors[0].to_string(),
        "automation #0 (\"n\"): field `trigger`: is required but missing"
    );
}

#[test]
fn malformed_documents_report_line_and_column() {
    let e = load_automations("[\n  {\"name\": \"x\",\n   oops}\n]").unwrap_err();
    assert_eq!((e.line, e.column), (3, 4));
    assert!(
        e.to_string()
            .starts_with("invalid JSON at line 3 column 4: "),
        "{e}"
    );
    assert!(load_automations("").is_err());
}

#[test]
fn composite_automation_round_trips_through_serde() {
    let seq = r#"{"type": "sequence", "within": 5, "triggers": [
        {"type": "event", "expect": ["ingredients.buy"], "posture": "Reactive", "threshold": 1},
        {"type": "compound", "require": "any", "within": null, "triggers": [
            {"expect": ["cake.bake"], "posture": "Reactive"}]}]}"#;
    let t = parse_trigger_str(seq).unwrap();
    let back = parse_trigger(&serde_json::to_value(&t).unwrap()).unwrap();
    assert_eq!(back, t);
    let Trigger::Sequence(s) = &t else { panic!() };
    let Trigger::Compound(c) = &s.triggers[1] else {
        panic!()
    };
    assert_eq!(c.require, Require::Any);
}

const EVENT: &str = r#"{
  "id": "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e",
  "event": "prefect.flow-run.heartbeat",
  "occurred": "2026-01-01T00:00:30.123456+02:00",
  "received": "2026-01-01T00:00:31Z",
  "resource": {"prefect.resource.id": "prefect.flow-run.A", "z": "last", "a": "first"},
  "related": [{"prefect.resource.id": "prefect.deployment.d", "prefect.resource.role": "deployment"}],
  "follows": "{11111111-2222-3333-4444-555555555555}",
  "payload": {"anything": [1, 2]},
  "unknown": true
}"#;

#[test]
fn parses_prefect_events() {
    let ev = parse_event_str(EVENT, NOW).unwrap();
    assert_eq!(ev.id.to_string(), "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e");
    assert_eq!(ev.event, "prefect.flow-run.heartbeat");
    assert_eq!(
        ev.occurred,
        Instant::from_micros((1_767_225_600 - 7200 + 30) * 1_000_000 + 123_456)
    );
    assert_eq!(ev.received, Instant::from_secs(1_767_225_631));
    let keys: Vec<_> = ev.resource.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["prefect.resource.id", "z", "a"], "document order");
    assert_eq!(ev.related.len(), 1);
    assert_eq!(
        ev.follows,
        EventId::parse("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        ev.view()
            .find_resource_label("related:deployment:prefect.resource.id"),
        Some("prefect.deployment.d")
    );
}

#[test]
fn event_defaults_and_numeric_timestamps() {
    let ev = parse_event(
        &json!({"id": "6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e", "event": "", "occurred": 1767225600,
                "resource": {"prefect.resource.id": "r"}, "follows": null}),
        NOW,
    )
    .unwrap();
    assert_eq!(ev.received, NOW, "received defaults to the caller's now");
    assert_eq!(ev.occurred, NOW);
    assert!(ev.related.is_empty() && ev.follows.is_none());
    let at = |t: Value| {
        let v = json!({"id": "6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e", "event": "x", "occurred": t,
                       "resource": {"prefect.resource.id": "r"}});
        parse_event(&v, NOW).map(|e| e.occurred)
    };
    assert_eq!(
        at(json!(1767225600.5)),
        Ok(Instant::from_micros(1_767_225_600_500_000))
    );
    assert_eq!(
        at(json!(1767225600500u64)),
        Ok(Instant::from_micros(1_767_225_600_500_000)),
        "ms"
    );
    assert_eq!(at(json!("1767225600")), Ok(NOW));
    assert_eq!(at(json!("2026-01-01")), Ok(NOW));
    assert_eq!(
        at(json!("2026-01-01T00:00:00.9999995Z")),
        Ok(Instant::from_micros(1_767_225_600_999_999))
    );
}

#[test]
fn event_errors_name_the_field() {
    let base = json!({"id": "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e", "event": "x",
                      "occurred": "2026-01-01T00:00:00Z",
                      "resource": {"prefect.resource.id": "r"}});
    let with = |key: &str, v: Value| {
        let mut doc = base.clone();
        doc[key] = v;
        parse_event(&doc, NOW).unwrap_err()
    };
    let without = |key: &str| {
        let mut doc = base.clone();
        doc.as_object_mut().unwrap().remove(key);
        parse_event(&doc, NOW).unwrap_err()
    };
    for key in ["id", "event", "occurred", "resource"] {
        let e = without(key);
        assert_eq!((e.field.as_str(), &e.kind), (key, &EventErrorKind::Missing));
    }
    assert_eq!(
        with("id", json!("hb1")).kind,
        EventErrorKind::InvalidUuid("hb1".into())
    );
    assert_eq!(with("follows", json!("nope")).field, "follows");
    let e = with("occurred", json!("1969-12-31T23:59:59Z"));
    assert_eq!(
        e.kind,
        EventErrorKind::InvalidTimestamp(TimestampError::BeforeEpoch)
    );
    assert_eq!(
        e.to_string(),
        "event field `occurred`: invalid timestamp: before 1970-01-01T00:00:00Z"
    );
    assert_eq!(
        with("received", Value::Null).kind,
        EventErrorKind::WrongType {
            expected: "an RFC 3339 timestamp",
            found: "null"
        }
    );
    let e = with("resource", json!({"prefect.resource.id": ""}));
    assert_eq!(e.kind, EventErrorKind::EmptyLabel("prefect.resource.id"));
    let e = with("resource", json!({"a": "b"}));
    assert_eq!(e.kind, EventErrorKind::MissingLabel("prefect.resource.id"));
    let e = with("resource", json!({"prefect.resource.id": "r", "n": 1}));
    assert_eq!(e.field, "resource[\"n\"]");
    let e = with("related", json!([{"prefect.resource.id": "a"}]));
    assert_eq!(
        (e.field.as_str(), e.kind),
        (
            "related[0]",
            EventErrorKind::MissingLabel("prefect.resource.role")
        )
    );
    let e = with(
        "related",
        json!([{"prefect.resource.id": "a", "prefect.resource.role": ""}]),
    );
    assert_eq!(e.field, "related[0][\"prefect.resource.role\"]");
    assert_eq!(with("related", Value::Null).field, "related");
    assert_eq!(with("payload", json!([1])).field, "payload");
    let e = parse_event_str("{\"id\": ", NOW).unwrap_err();
    assert!(
        matches!(
            e.kind,
            EventErrorKind::Syntax(JsonSyntaxError { line: 1, .. })
        ),
        "{e}"
    );
    assert_eq!(parse_event(&json!([]), NOW).unwrap_err().field, "");
}

#[test]
fn events_round_trip() {
    let ev = parse_event_str(EVENT, NOW).unwrap();
    // text keeps label order
    let text = event_to_json_string(&ev.view());
    assert_eq!(parse_event_str(&text, NOW).unwrap(), ev);
    // a Value re-sorts labels, so compare Value → event → Value → event
    let from_value = parse_event(&serde_json::from_str(EVENT).unwrap(), NOW).unwrap();
    let json = event_to_json(&from_value.view());
    assert_eq!(json["occurred"], "2025-12-31T22:00:30.123456Z");
    assert_eq!(json["follows"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(parse_event(&json, NOW).unwrap(), from_value);
    let minimal = parse_event(
        &json!({"id": "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e", "event": "x",
                "occurred": "2026-01-01T00:00:00Z", "resource": {"prefect.resource.id": "r"}}),
        NOW,
    )
    .unwrap();
    let json = event_to_json(&minimal.view());
    assert_eq!(json["follows"], Value::Null);
    assert_eq!(parse_event(&json, Instant::ZERO).unwrap(), minimal);
}

#[test]
fn numeric_timestamps_from_the_year_10000_on_are_refused() {
    // found by fuzzing event_json: accepted before, and RFC 3339 could not write them back
    for occurred in ["253402300800000", "17672255995123456", "253402300800000.5"] {
        let text = format!(
            r#"{{"id": "618afaf8-5f42-5864-bd54-1cee78c23214", "event": "x",
                "occurred": {occurred}, "resource": {{"prefect.resource.id": "r"}}}}"#
        );
        let err = parse_event_str(&text, Instant::from_secs(1_767_225_600)).unwrap_err();
        assert!(err.to_string().contains("occurred"), "{err}");
    }
    // the last millisecond of 9999 still parses (numbers past 2e10 are milliseconds)
    let text = r#"{"id": "618afaf8-5f42-5864-bd54-1cee78c23214", "event": "x",
        "occurred": 253402300799999, "resource": {"prefect.resource.id": "r"}}"#;
    let event = parse_event_str(text, Instant::from_secs(1_767_225_600)).unwrap();
    assert_eq!(
        event.occurred,
        Instant::from_micros(253_402_300_799_999_000)
    );
}
