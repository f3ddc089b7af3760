//! Scenario parsing tests: options, steps, events, errors that name the field.

use super::*;

const MINIMAL: &str = r#"{"triggers": {"b": {"expect": ["x"]}, "a": {"expect": ["y"]}, "c": {}},
    "steps": [
      {"event": {"id": "e1", "event": "x", "occurred": 1.5,
                 "resource": {"prefect.resource.id": "r", "z": "1", "a": "2", "z": "3"},
                 "related": [{"prefect.resource.role": "flow", "prefect.resource.id": "f"}]},
       "now": "2026-01-01T00:00:02Z"},
      {"tick": 10},
      {"tick": 20, "now": 15}
    ]}"#;

#[test]
fn triggers_and_labels_keep_document_order() {
    let s = Scenario::from_json_str(MINIMAL).unwrap();
    let names: Vec<&str> = s.triggers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"]);
    assert_eq!(s.options, Options::default());
    let Step::Event { event, now } = &s.steps[0] else {
        panic!()
    };
    // a repeated key keeps its first position and its last value, like a Python dict
    let labels: Vec<(&str, &str)> = event
        .resource
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [("prefect.resource.id", "r"), ("z", "3"), ("a", "2")]
    );
    assert_eq!(event.related[0][0].0, "prefect.resource.role");
    assert_eq!(now.unwrap().seconds(), 2.0);
    assert_eq!(event.occurred.seconds(), 1.5);
    assert_eq!(
        event.id,
        ScenarioId {
            text: "e1".into(),
            json: "\"e1\"".into()
        }
    );
    assert!(matches!(s.steps[2], Step::Tick { now: Some(n), .. } if n.seconds() == 15.0));
}

#[test]
fn options_are_validated_by_name() {
    let with = |options: &str| {
        Scenario::from_json_str(&format!(r#"{{"options": {options}, "triggers": {{}}}}"#))
    };
    let s = with(r#"{"entry": "direct", "proactive": "scheduled", "events_clock": "live", "periodic": "never"}"#).unwrap();
    assert_eq!(s.options.entry, EntryOption::Direct);
    assert_eq!(s.options.proactive, ProactiveOption::Scheduled);
    assert_eq!(s.options.events_clock, EventsClockOption::Live);
    assert_eq!(s.options.periodic, PeriodicOption::Never);
    assert_eq!(with("null").unwrap().options, Options::default());
    let err = with(r#"{"periodic": "sometimes"}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"field `options.periodic`: must be one of after, before, never (got "sometimes")"#
    );
    let err = with(r#"{"entyr": "direct"}"#).unwrap_err().to_string();
    assert!(
        err.starts_with("field `options.entyr`: unknown option"),
        "{err}"
    );
}

#[test]
fn bad_steps_name_the_step_and_field() {
    let with = |steps: &str| {
        Scenario::from_json_str(&format!(r#"{{"triggers": {{}}, "steps": {steps}}}"#))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        with(r#"[{"tick": 1}, {"tock": 2}]"#),
        "step 1: is neither an event nor a tick (needs an `event` or a `tick` member)"
    );
    assert_eq!(
        with(r#"[{"tick": true}]"#),
        "step 0, field `tick`: not a time: true (a boolean)"
    );
    assert_eq!(
        with(
            r#"[{"tick": 0}, {"tick": 1}, {"event": {"id": "a", "event": "x", "resource": {"prefect.resource.id": "r"}}}]"#
        ),
        "step 2, field `event.occurred`: is missing"
    );
    assert_eq!(
        with(r#"[{"event": {"id": "a", "event": "x", "occurred": 0, "resource": {"prefect.resource.id": 5}}}]"#),
        "step 0, field `event.resource.prefect.resource.id`: a label value must be a string, not a number"
    );
    assert_eq!(
        with(
            r#"[{"event": {"id": "a", "event": "x", "occurred": 0, "resource": {"prefect.resource.id": "r"}, "related": [{"prefect.resource.id": "f"}]}}]"#
        ),
        "step 0, field `event.related[0]`: must include the prefect.resource.role label"
    );
    assert_eq!(
        with(r#"[{"tick": "2026-13-01"}]"#),
        r#"step 0, field `tick`: not an ISO-8601 time: "2026-13-01" (month or day out of range)"#
    );
    assert!(with("[").starts_with("scenario is not valid JSON"));
    assert_eq!(
        Scenario::from_json_str(r#"{"steps": []}"#)
            .unwrap_err()
            .to_string(),
        "field `triggers`: is missing"
    );
}

#[test]
fn ids_print_as_written() {
    let id = |v: &str| scenario_id(&serde_json::from_str::<Json>(v).unwrap()).unwrap();
    assert_eq!(
        id("7"),
        ScenarioId {
            text: "7".into(),
            json: "7".into()
        }
    );
    assert_eq!(
        id("7.0"),
        ScenarioId {
            text: "7.0".into(),
            json: "7.0".into()
        }
    );
    assert_eq!(
        id("null"),
        ScenarioId {
            text: "None".into(),
            json: "null".into()
        }
    );
    assert_eq!(
        id(r#""ü""#),
        ScenarioId {
            text: "ü".into(),
            json: r#""\u00fc""#.into()
        }
    );
    assert!(scenario_id(&Json::Array(vec![])).is_err());
}
