//! Trigger model tests: Prefect's JSON (copied from the conformance scenarios) and
//! every validation rule, each compared with what Prefect 3.9.1 does.

use super::*;
use crate::time::Duration;
use alloc::string::ToString;

fn parse(json: &str) -> Result<Trigger, TriggerError> {
    let mut de = serde_json::Deserializer::from_str(json);
    Trigger::deserialize_prefect(&mut de).expect("well-formed JSON")
}

fn ok(json: &str) -> Trigger {
    parse(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn event(json: &str) -> EventTrigger {
    match ok(json) {
        Trigger::Event(e) => e,
        other => panic!("not an event trigger: {other:?}"),
    }
}

fn fails(json: &str) -> TriggerError {
    match parse(json) {
        Ok(t) => panic!("{json} was accepted as {t:?}"),
        Err(e) => e,
    }
}

/// Representative triggers from /work/shared/conformance/scenarios (copied).
const SCENARIO_TRIGGERS: &[&str] = &[
    // random_0.json: zombie
    r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"}, "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"], "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#,
    // random_0.json: quiet_deployment
    r#"{"type": "event", "expect": ["prefect.flow-run.*"], "match_related": {"prefect.resource.role": "deployment"}, "for_each": ["related:deployment:prefect.resource.id"], "posture": "Proactive", "threshold": 2, "within": 60}"#,
    // random_0.json: failed_outside_dev
    r#"{"type": "event", "expect": ["prefect.flow-run.Fail*"], "match": {"prefect.resource.id": "prefect.flow-run.*", "env": "!dev"}, "posture": "Reactive", "threshold": 1, "within": 0}"#,
    // basics_reactive_cleans_up_after_itself.json
    r#"{"after": [], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "expect": ["prefect.flow-run.Failed"], "within": 10.0, "posture": "Reactive", "for_each": ["prefect.resource.id"], "threshold": 1, "match_related": {"prefect.resource.id": ["prefect.flow.ffffffff"], "prefect.resource.role": "flow"}}"#,
    // sla_any_event_after_pending.json
    r#"{"match": {"prefect.resource.id": "prefect.flow-run.*"}, "for_each": ["prefect.resource.id"], "after": ["prefect.flow-run.pending"], "expect": [], "posture": "Reactive", "threshold": 0}"#,
    // match_wildcards_and_negation.json: dev_or_stage
    r#"{"expect": ["x.happened"], "match": {"env": ["dev", "stag?"]}, "posture": "Reactive", "threshold": 1}"#,
    // proactive_minimum_within_defaults_to_10s.json
    r#"{"expect": ["x.happened"], "posture": "Proactive", "threshold": 1, "within": 0}"#,
    // compound_all_of_all_and_any_fires.json
    r#"{"type": "compound", "require": "all", "within": 300, "triggers": [{"type": "compound", "require": "all", "within": 300, "triggers": [{"type": "event", "expect": ["prefect.flow-run.Failed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "posture": "Reactive", "threshold": 1}, {"type": "event", "expect": ["prefect.flow-run.Completed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "posture": "Reactive", "threshold": 1}]}, {"type": "compound", "require": "any", "within": 300, "triggers": [{"type": "event", "expect": ["prefect.flow-run.Completed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "posture": "Reactive", "threshold": 1}, {"type": "event", "expect": ["prefect.flow-run.NonExistent"], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "posture": "Reactive", "threshold": 1}]}]}"#,
    // sequence_no_within_expired_fires.json
    r#"{"type": "sequence", "within": null, "triggers": [{"type": "event", "expect": ["ingredients.buy"], "match": {"prefect.resource.id": "prefect.ingredients.*"}, "posture": "Reactive", "threshold": 1}, {"type": "event", "expect": ["ingredients.mix"], "match": {"prefect.resource.id": "prefect.ingredients.*"}, "posture": "Reactive", "threshold": 1}, {"type": "event", "expect": ["cake.bake"], "match": {"prefect.resource.id": "prefect.cake.*"}, "posture": "Reactive", "threshold": 1}]}"#,
];

#[test]
fn scenario_triggers_parse_validate_and_round_trip() {
    for json in SCENARIO_TRIGGERS {
        let t = ok(json);
        // serde_json's derive path gives the same trigger
        let via_serde: Trigger = serde_json::from_str(json).unwrap();
        assert_eq!(via_serde, t);
        // Prefect JSON out and back in
        let out = serde_json::to_string(&t).unwrap();
        assert_eq!(ok(&out), t, "{out}");
        // compact binary (postcard) out and back in
        let bytes = postcard::to_allocvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Trigger>(&bytes).unwrap(), t);
    }
}

#[test]
fn event_trigger_fields_and_defaults() {
    let z = event(SCENARIO_TRIGGERS[0]);
    assert_eq!(z.posture, Posture::Proactive);
    assert_eq!(z.within, Duration::from_secs(90));
    assert_eq!(z.after, ["prefect.flow-run.heartbeat"]);
    assert_eq!(z.match_.labels[0].0, "prefect.resource.id");
    assert_eq!(z.match_.labels[0].1, ["prefect.flow-run.*"]);
    let d = event(r#"{"posture": "Reactive"}"#);
    assert_eq!(d.threshold, 1);
    assert_eq!(d.within, Duration::ZERO);
    assert!(d.match_.is_empty() && d.match_related.is_empty());
    assert!(d.after.is_empty() && d.expect.is_empty() && d.for_each.is_empty());
    assert!(d.immediate());
    assert_eq!(d.id, None);
}

#[test]
fn sets_are_sorted_and_deduplicated() {
    let t =
        event(r#"{"posture": "Reactive", "for_each": ["b", "a", "b"], "expect": ["y", "x", "y"]}"#);
    assert_eq!(t.for_each, ["a", "b"]);
    assert_eq!(t.expect, ["x", "y"]);
    let mut built = EventTrigger::reactive(&["z", "a", "z"]);
    built.validate().unwrap();
    assert_eq!(built.expect, ["a", "z"]);
}

#[test]
fn match_related_is_one_spec_or_a_list() {
    let one = event(r#"{"posture": "Reactive", "match_related": {"a": "b"}}"#);
    assert_eq!(one.match_related.len(), 1);
    let list =
        event(r#"{"posture": "Reactive", "match_related": [{"a": "b"}, {"c": ["d", "e"]}, {}]}"#);
    assert_eq!(list.match_related.len(), 3);
    assert_eq!(list.match_related[1].labels[0].1, ["d", "e"]);
    let empty = event(r#"{"posture": "Reactive", "match_related": []}"#);
    assert!(empty.match_related.is_empty());
    let e = fails(r#"{"posture": "Reactive", "match_related": null}"#);
    assert_eq!(e.path, "match_related");
    let e = fails(r#"{"posture": "Reactive", "match": {"a": 1}}"#);
    assert_eq!(e.path, "match[\"a\"]");
    let e = fails(r#"{"posture": "Reactive", "match": {"a": ["x", null]}}"#);
    assert_eq!(e.path, "match[\"a\"][1]");
    assert_eq!(
        event(r#"{"posture": "Reactive", "match": {"a": []}}"#)
            .match_
            .labels[0]
            .1
            .len(),
        0
    );
}

#[test]
fn posture_is_required_and_metric_is_rejected() {
    let e = fails(r#"{"expect": ["a"]}"#);
    assert_eq!(
        (e.path.as_str(), &e.kind),
        ("posture", &TriggerErrorKind::Missing)
    );
    let e = fails(r#"{"posture": "Metric", "expect": ["a"]}"#);
    assert_eq!(e.kind, TriggerErrorKind::MetricPosture);
    assert!(e.to_string().contains("Metric"), "{e}");
    let e = fails(r#"{"posture": "reactive"}"#);
    assert_eq!(e.kind, TriggerErrorKind::UnknownPosture("reactive".into()));
    assert_eq!(fails(r#"{"posture": null}"#).kind, TriggerErrorKind::Null);
}

#[test]
fn proactive_within_defaults_to_10s_and_rejects_less() {
    assert_eq!(
        event(r#"{"posture": "Proactive"}"#).within,
        Duration::from_secs(10)
    );
    assert_eq!(
        event(r#"{"posture": "Proactive", "within": 0}"#).within,
        Duration::from_secs(10)
    );
    assert_eq!(
        event(r#"{"posture": "Proactive", "within": "PT0S"}"#).within,
        Duration::from_secs(10)
    );
    // rounded to microseconds before the check, as pydantic does
    assert_eq!(
        event(r#"{"posture": "Proactive", "within": 9.9999999}"#).within,
        Duration::from_secs(10)
    );
    let e = fails(r#"{"posture": "Proactive", "within": 5}"#);
    assert_eq!(e.path, "within");
    assert_eq!(
        e.kind,
        TriggerErrorKind::ProactiveWithinTooShort(Duration::from_secs(5))
    );
    assert_eq!(
        fails(r#"{"posture": "Proactive", "within": "PT5S"}"#).kind,
        TriggerErrorKind::ProactiveWithinTooShort(Duration::from_secs(5))
    );
    assert_eq!(
        event(r#"{"posture": "Reactive", "within": 0.5}"#).within,
        Duration::from_millis(500)
    );
    let mut built = EventTrigger::reactive(&["x"]);
    built.posture = Posture::Proactive;
    built.validate().unwrap();
    assert_eq!(built.within, Duration::from_secs(10));
}

#[test]
fn within_forms() {
    let w = |v: &str| {
        event(&alloc::format!(
            r#"{{"posture": "Reactive", "within": {v}}}"#
        ))
        .within
    };
    assert_eq!(w("90"), Duration::from_secs(90));
    assert_eq!(w("1.5"), Duration::from_micros(1_500_000));
    assert_eq!(w("1.5e-6"), Duration::from_micros(2));
    assert_eq!(w("2.5e-6"), Duration::from_micros(3));
    assert_eq!(
        w("-1e-7"),
        Duration::ZERO,
        "rounds to zero, so not negative"
    );
    assert_eq!(w("true"), Duration::from_secs(1), "pydantic lax mode");
    assert_eq!(w(r#""PT1M""#), Duration::from_secs(60));
    assert_eq!(w(r#""01:00:00""#), Duration::from_secs(3600));
    assert_eq!(w(r#""1 day, 0:00:00""#), Duration::from_secs(86_400));
    let kind = |v: &str| {
        fails(&alloc::format!(
            r#"{{"posture": "Reactive", "within": {v}}}"#
        ))
        .kind
    };
    assert_eq!(kind("-1"), TriggerErrorKind::NegativeDuration);
    assert_eq!(kind(r#""-PT1S""#), TriggerErrorKind::NegativeDuration);
    assert_eq!(kind("null"), TriggerErrorKind::Null);
    assert!(matches!(
        kind(r#""90""#),
        TriggerErrorKind::InvalidDuration(_)
    ));
    assert!(matches!(kind("1e20"), TriggerErrorKind::InvalidDuration(_)));
    assert!(matches!(kind("[1]"), TriggerErrorKind::WrongType { .. }));
}

#[test]
fn threshold_is_a_lax_unbounded_integer() {
    let t = |v: &str| {
        event(&alloc::format!(
            r#"{{"posture": "Reactive", "threshold": {v}}}"#
        ))
        .threshold
    };
    assert_eq!(t("-5"), -5);
    assert_eq!(t("0"), 0);
    assert_eq!(t("1.0"), 1);
    assert_eq!(t(r#""3""#), 3);
    assert_eq!(t(r#"" 3 ""#), 3);
    assert_eq!(t(r#""3.0""#), 3);
    assert_eq!(t(r#""1_000""#), 1000);
    assert_eq!(t("true"), 1);
    let kind = |v: &str| {
        fails(&alloc::format!(
            r#"{{"posture": "Reactive", "threshold": {v}}}"#
        ))
        .kind
    };
    assert!(matches!(kind("1.5"), TriggerErrorKind::NotAnInteger(_)));
    assert!(matches!(kind(r#""x""#), TriggerErrorKind::NotAnInteger(_)));
    assert!(matches!(
        kind(r#""1__0""#),
        TriggerErrorKind::NotAnInteger(_)
    ));
    assert!(matches!(kind("null"), TriggerErrorKind::WrongType { .. }));
    assert_eq!(
        kind("99999999999999999999"),
        TriggerErrorKind::IntegerOutOfRange
    );
}

#[test]
fn string_sets_reject_non_lists() {
    let e = fails(r#"{"posture": "Reactive", "expect": "abc"}"#);
    assert_eq!(e.path, "expect");
    let e = fails(r#"{"posture": "Reactive", "after": ["a", 1]}"#);
    assert_eq!(e.path, "after[1]");
    assert_eq!(
        fails(r#"{"posture": "Reactive", "expect": null}"#).path,
        "expect"
    );
}

#[test]
fn unknown_fields_are_ignored_and_ids_kept() {
    let t = event(
        r#"{"posture": "Reactive", "extra": {"deep": [1]}, "id": "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e"}"#,
    );
    assert_eq!(
        t.id.as_deref(),
        Some("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e")
    );
    for id in [
        "6F0B2A8E5B7C4C8E9F3E7D1A2B3C4D5E",
        "{6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e}",
        "urn:uuid:6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e",
    ] {
        ok(&alloc::format!(
            r#"{{"posture": "Reactive", "id": "{id}"}}"#
        ));
    }
    let e = fails(r#"{"posture": "Reactive", "id": "not-a-uuid"}"#);
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("id", TriggerErrorKind::InvalidId("not-a-uuid".into()))
    );
    assert_eq!(fails(r#"{"posture": "Reactive", "id": null}"#).path, "id");
}

#[test]
fn type_tags() {
    assert!(matches!(
        ok(r#"{"type": "event", "posture": "Reactive"}"#),
        Trigger::Event(_)
    ));
    let e = fails(r#"{"type": "bogus", "posture": "Reactive"}"#);
    assert_eq!(e.kind, TriggerErrorKind::UnknownType("bogus".into()));
    assert_eq!(
        fails(r#"{"type": null, "posture": "Reactive"}"#).kind,
        TriggerErrorKind::Null
    );
    assert!(fails("[]").path.is_empty());
    // Without a type, pydantic's union decides by shape:
    let child = r#"{"posture": "Reactive", "expect": ["a"]}"#;
    let c = ok(&alloc::format!(
        r#"{{"require": "all", "triggers": [{child}], "within": null}}"#
    ));
    assert!(matches!(c, Trigger::Compound(_)));
    let s = ok(&alloc::format!(
        r#"{{"triggers": [{child}], "within": null}}"#
    ));
    assert!(matches!(s, Trigger::Sequence(_)));
    let s = ok(&alloc::format!(
        r#"{{"posture": "Reactive", "triggers": [{child}], "within": 5}}"#
    ));
    assert!(matches!(s, Trigger::Sequence(_)), "what Prefect picks too");
    let e = ok(&alloc::format!(
        r#"{{"type": "event", "posture": "Reactive", "triggers": [{child}]}}"#
    ));
    assert!(matches!(e, Trigger::Event(_)));
    // composite reading fails (no `within`), the event reading works
    let e = ok(&alloc::format!(
        r#"{{"posture": "Reactive", "triggers": [{child}]}}"#
    ));
    assert!(matches!(e, Trigger::Event(_)));
}

#[test]
fn compound_require_bounds() {
    let child = r#"{"posture": "Reactive", "expect": ["a"]}"#;
    let compound = |require: &str, n: usize| {
        let kids = alloc::vec![child; n].join(", ");
        alloc::format!(
            r#"{{"type": "compound", "require": {require}, "within": null, "triggers": [{kids}]}}"#
        )
    };
    let Trigger::Compound(c) = ok(&compound("2", 2)) else {
        panic!()
    };
    assert_eq!(
        (c.require, c.num_expected_firings()),
        (Require::AtLeast(2), 2)
    );
    let Trigger::Compound(c) = ok(&compound(r#""2""#, 2)) else {
        panic!()
    };
    assert_eq!(c.require, Require::AtLeast(2));
    let Trigger::Compound(c) = ok(&compound("2.0", 3)) else {
        panic!()
    };
    assert_eq!(c.require, Require::AtLeast(2));
    let Trigger::Compound(c) = ok(&compound(r#""any""#, 3)) else {
        panic!()
    };
    assert_eq!(c.num_expected_firings(), 1);
    let Trigger::Compound(c) = ok(&compound(r#""all""#, 3)) else {
        panic!()
    };
    assert_eq!(c.num_expected_firings(), 3);

    let e = fails(&compound("0", 1));
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("require", TriggerErrorKind::RequireBelowOne(0))
    );
    let e = fails(&compound("2", 1));
    assert_eq!(
        e.kind,
        TriggerErrorKind::RequireAboveChildren {
            require: 2,
            children: 1
        }
    );
    assert_eq!(
        fails(&compound(r#""ANY""#, 2)).kind,
        TriggerErrorKind::InvalidRequire("ANY".into())
    );
    assert_eq!(
        fails(&compound(r#""some""#, 2)).kind,
        TriggerErrorKind::InvalidRequire("some".into())
    );
    let e = fails(r#"{"type": "compound", "within": null, "triggers": []}"#);
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("require", TriggerErrorKind::Missing)
    );

    let mut built = Trigger::Compound(CompoundTrigger {
        id: None,
        require: Require::AtLeast(3),
        within: None,
        triggers: alloc::vec![Trigger::Event(EventTrigger::reactive(&["a"]))],
    });
    assert_eq!(
        built.validate().unwrap_err().kind,
        TriggerErrorKind::RequireAboveChildren {
            require: 3,
            children: 1
        }
    );
}

#[test]
fn composites_need_children_and_a_within_key() {
    let e = fails(r#"{"type": "sequence", "within": null, "triggers": []}"#);
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("triggers", TriggerErrorKind::NoChildren)
    );
    let e = fails(r#"{"type": "compound", "require": "any", "within": null, "triggers": []}"#);
    assert_eq!(e.kind, TriggerErrorKind::NoChildren);
    let e = fails(r#"{"type": "sequence", "triggers": [{"posture": "Reactive"}]}"#);
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("within", TriggerErrorKind::Missing)
    );
    let e = fails(r#"{"type": "sequence", "within": -1, "triggers": [{"posture": "Reactive"}]}"#);
    assert_eq!(
        e.kind,
        TriggerErrorKind::NegativeDuration,
        "Prefect accepts this; we do not"
    );
    let Trigger::Sequence(s) =
        ok(r#"{"type": "sequence", "within": "PT5S", "triggers": [{"posture": "Reactive"}]}"#)
    else {
        panic!()
    };
    assert_eq!(
        (s.within, s.num_expected_firings()),
        (Some(Duration::from_secs(5)), 1)
    );
    let e = fails(r#"{"type": "sequence", "within": 0, "triggers": {"a": 1}}"#);
    assert_eq!(e.path, "triggers");
}

#[test]
fn nested_errors_name_their_path() {
    let json = r#"{"type": "compound", "require": "all", "within": 60, "triggers": [
        {"posture": "Reactive"},
        {"type": "sequence", "within": null, "triggers": [
            {"posture": "Reactive"}, {"posture": "Proactive", "within": 3}]}]}"#;
    let e = fails(json);
    assert_eq!(e.path, "triggers[1].triggers[1].within");
    assert_eq!(
        e.to_string(),
        "trigger field `triggers[1].triggers[1].within`: is 3.000000s, but a Proactive trigger needs at least 10 seconds (or 0 for the 10 s default)"
    );
}

#[test]
fn nested_composites_walk_in_prefect_order() {
    let t = ok(SCENARIO_TRIGGERS[7]);
    let kinds: alloc::vec::Vec<_> = t.all_triggers().iter().map(|t| t.type_name()).collect();
    assert_eq!(
        kinds,
        ["compound", "compound", "event", "event", "compound", "event", "event"]
    );
    let expects: alloc::vec::Vec<_> = t.event_triggers().map(|e| e.expect[0].as_str()).collect();
    assert_eq!(
        expects,
        [
            "prefect.flow-run.Failed",
            "prefect.flow-run.Completed",
            "prefect.flow-run.Completed",
            "prefect.flow-run.NonExistent"
        ]
    );
    let Trigger::Compound(c) = &t else { panic!() };
    assert_eq!(c.num_expected_firings(), 2);
    assert_eq!(c.within, Some(Duration::from_secs(300)));
}

#[test]
fn serde_rejects_invalid_triggers_in_both_formats() {
    let err = serde_json::from_str::<Trigger>(r#"{"posture": "Metric"}"#).unwrap_err();
    assert!(err.to_string().contains("Metric"), "{err}");
    let bad = Trigger::Compound(CompoundTrigger {
        id: None,
        require: Require::Any,
        within: None,
        triggers: alloc::vec![],
    });
    let bytes = postcard::to_allocvec(&bad).unwrap();
    assert!(postcard::from_bytes::<Trigger>(&bytes).is_err());
    let e: EventTrigger =
        serde_json::from_str(r#"{"posture": "Reactive", "expect": ["b", "a"]}"#).unwrap();
    assert_eq!(e.expect, ["a", "b"]);
    assert!(serde_json::from_str::<EventTrigger>(SCENARIO_TRIGGERS[8]).is_err());
    let spec: ResourceSpec = serde_json::from_str(r#"{"a": "b", "c": ["d"]}"#).unwrap();
    assert_eq!(
        spec,
        ResourceSpec::from_pairs(&[("a", &["b"]), ("c", &["d"])])
    );
}

// ------------------------------------------------------------ borrowed definitions

const CHILD_OK: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
    id: None,
    match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*", "!x"])]),
    match_related: SpecDefs::Borrowed(&[SpecDef::Borrowed(&[(
        "prefect.resource.role",
        &["deployment"],
    )])]),
    after: Strs::Borrowed(&["b", "a", "b"]),
    expect: Strs::Borrowed(&["z", "y*", "z"]),
    for_each: Strs::Borrowed(&["prefect.resource.id", "env", "env"]),
    posture: Posture::Proactive,
    threshold: 2,
    within: Duration::ZERO,
});

const CHILD_SHORT: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
    id: None,
    match_: SpecDef::EMPTY,
    match_related: SpecDefs::EMPTY,
    after: Strs::EMPTY,
    expect: Strs::Borrowed(&["a"]),
    for_each: Strs::EMPTY,
    posture: Posture::Proactive,
    threshold: 1,
    within: Duration::from_secs(5),
});

const SEQUENCE_JSON: &str = r#"{"type": "sequence", "within": 60, "triggers": [
    {"match": {"prefect.resource.id": ["prefect.flow-run.*", "!x"]},
     "match_related": {"prefect.resource.role": "deployment"},
     "after": ["b", "a", "b"], "expect": ["z", "y*", "z"],
     "for_each": ["prefect.resource.id", "env", "env"],
     "posture": "Proactive", "threshold": 2, "within": 0}
]}"#;

#[test]
fn a_borrowed_definition_fingerprints_as_its_validated_owned_trigger() {
    let def = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: Some(Duration::from_secs(60)),
        triggers: TriggerDefs::Borrowed(&[CHILD_OK]),
    });
    assert_eq!(def.validate(), Ok(()));
    let owned = ok(SEQUENCE_JSON);
    assert_eq!(def.fingerprint(), owned.def().fingerprint());
    assert_eq!(def.node_count(), 2);
    // a different definition hashes differently
    let other = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: Some(Duration::from_secs(61)),
        triggers: TriggerDefs::Borrowed(&[CHILD_OK]),
    });
    assert_ne!(other.fingerprint(), def.fingerprint());
}

#[test]
fn a_borrowed_definition_is_checked_as_the_owned_one_and_left_unchanged() {
    let def = TriggerDef::Compound(CompoundTriggerDef {
        id: None,
        require: Require::AtLeast(2),
        within: None,
        triggers: TriggerDefs::Borrowed(&[CHILD_OK, CHILD_SHORT]),
    });
    let e = def.validate().unwrap_err();
    assert_eq!(e.path, "triggers[1].within");
    assert_eq!(
        e.kind,
        TriggerErrorKind::ProactiveWithinTooShort(Duration::from_secs(5))
    );
    let owned = parse(
        r#"{"type": "compound", "require": 2, "within": null, "triggers": [
            {"posture": "Reactive"}, {"posture": "Proactive", "expect": ["a"], "within": 5}]}"#,
    );
    assert_eq!(owned.unwrap_err(), e);
    let too_many = TriggerDef::Compound(CompoundTriggerDef {
        id: None,
        require: Require::AtLeast(3),
        within: None,
        triggers: TriggerDefs::Borrowed(&[CHILD_OK, CHILD_OK]),
    });
    let e = too_many.validate().unwrap_err();
    assert_eq!(e.path, "require");
    let bad_id = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: None,
        triggers: TriggerDefs::Borrowed(&[TriggerDef::Sequence(SequenceTriggerDef {
            id: Some("nope"),
            within: None,
            triggers: TriggerDefs::Borrowed(&[CHILD_OK]),
        })]),
    });
    let e = bad_id.validate().unwrap_err();
    assert_eq!(e.path, "triggers[0].id");
    assert_eq!(e.kind, TriggerErrorKind::InvalidId("nope".into()));
    let empty = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: None,
        triggers: TriggerDefs::Borrowed(&[]),
    });
    assert_eq!(
        empty.validate().unwrap_err().kind,
        TriggerErrorKind::NoChildren
    );
    // normalization is only ever read, never written
    let TriggerDef::Event(e) = CHILD_OK else {
        unreachable!()
    };
    assert!(e.within.is_zero());
    assert_eq!(e.effective_within(), PROACTIVE_MIN_WITHIN);
    let sorted: Vec<&str> = e.for_each.sorted_unique().collect();
    assert_eq!(sorted, ["env", "prefect.resource.id"]);
    let union: Vec<&str> = e.expect.union(e.after).collect();
    assert_eq!(union, ["a", "b", "y*", "z"]);
}

#[test]
fn long_error_texts_are_cut_visibly() {
    let long_id = "é".repeat(100);
    let e = fails(&format!(r#"{{"posture": "Reactive", "id": "{long_id}"}}"#));
    let TriggerErrorKind::InvalidId(text) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(text.is_truncated());
    assert!(text.len() <= crate::error::ERROR_TEXT_LEN);
    assert!(text.as_str().starts_with("éé"));
    assert!(e.to_string().contains("…"));
    let path = crate::error::TriggerError::at("x".repeat(500), TriggerErrorKind::Missing).path;
    assert!(path.is_truncated() && path.len() <= crate::error::ERROR_PATH_LEN);
    let short = crate::error::TriggerError::at("within", TriggerErrorKind::Missing).path;
    assert!(!short.is_truncated());
    assert_eq!(short, "within");
}
