//! Matcher tests: Python's own answers first, then Prefect's rules one by one.

use super::*;

#[path = "python_cases.rs"]
mod python_cases;
use python_cases::*;

#[test]
fn fnmatch_agrees_with_cpython() {
    for (pattern, bits) in FNMATCH_ROWS {
        for (value, bit) in FNMATCH_VALUES.iter().zip(bits.bytes()) {
            assert_eq!(
                fnmatch(pattern, value),
                bit == b'1',
                "fnmatchcase({value:?}, {pattern:?})"
            );
        }
    }
}

#[test]
fn covers_pattern_agrees_with_cpython_regex() {
    for (pattern, bits) in COVERS_ROWS {
        for (value, bit) in COVERS_VALUES.iter().zip(bits.bytes()) {
            assert_eq!(
                NamePrefixPattern(pattern).matches(value),
                bit == b'1',
                "re.match(translated({pattern:?}), {value:?})"
            );
        }
    }
}

#[test]
fn fnmatch_basics() {
    assert!(fnmatch("prefect.flow-run.*", "prefect.flow-run.Failed"));
    assert!(
        fnmatch("prefect.flow-run.*", "prefect.flow-run."),
        "`*` may be empty"
    );
    assert!(!fnmatch("prefect.flow-run.*", "prefect.flow-run"));
    assert!(fnmatch("x.?", "x.a"));
    assert!(!fnmatch("x.?", "x.ab"), "full match, not prefix");
    assert!(fnmatch("x.[ab]", "x.b"));
    assert!(!fnmatch("x.[!ab]", "x.b"));
    assert!(fnmatch("x.[!ab]", "x.c"));
    assert!(fnmatch("x.[", "x.["), "unclosed `[` is literal");
    assert!(fnmatch("é?", "éü"), "characters, not bytes");
    assert!(fnmatch("?", "é"));
    assert!(!fnmatch("??", "é"));
    assert!(fnmatch("Failed", "Failed"));
    assert!(!fnmatch("failed", "Failed"), "case-sensitive");
}

#[test]
fn fnmatch_does_not_blow_up() {
    let value = "a".repeat(2_000);
    let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    assert!(!fnmatch(pattern, &value));
    let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a";
    assert!(fnmatch(pattern, &value));
    let long_pattern = "*".repeat(5_000) + "b";
    assert!(!fnmatch(&long_pattern, &value));
}

#[test]
fn covers_star_needs_a_character_and_matches_prefix_only() {
    // quirk 11: `.+`, literal `?`/`[`, prefix match
    let p = NamePrefixPattern("prefect.flow-run.*");
    assert!(p.matches("prefect.flow-run.Failed"));
    assert!(!p.matches("prefect.flow-run."), "`*` is `.+` here");
    assert!(
        NamePrefixPattern("x.a").matches("x.abc"),
        "anchored at the start only"
    );
    assert!(!NamePrefixPattern("x.?").matches("x.a"), "`?` is literal");
    assert!(NamePrefixPattern("x.?").matches("x.?"));
    assert!(
        !NamePrefixPattern("x.[ab]").matches("x.a"),
        "`[` is literal"
    );
    assert!(
        !NamePrefixPattern("a*").matches("a\nb"),
        "`.` excludes newlines"
    );
    assert!(
        NamePrefixPattern("").matches(""),
        "an empty alternative matches anything"
    );
}

#[test]
fn label_matches_negation_and_missing() {
    assert!(label_matches(
        "prefect.flow-run.*",
        Some("prefect.flow-run.x")
    ));
    assert!(label_matches("!dev", Some("prod")));
    assert!(!label_matches("!dev", Some("dev")));
    assert!(
        !label_matches("!dev", None),
        "a missing label never matches, not even `!p`"
    );
    assert!(!label_matches("*", None));
    assert!(label_matches("!d*", Some("prod")));
    assert!(!label_matches("!d*", Some("dev")));
    assert!(label_matches("", Some("")));
}

#[test]
fn literal_prefixes() {
    assert_eq!(literal_prefix("custom.family-7.*"), "custom.family-7.");
    assert_eq!(literal_prefix("a?b"), "a");
    assert_eq!(literal_prefix("[ab]"), "");
    assert_eq!(literal_prefix("plain"), "plain");
    assert!(has_wildcards("a[") && !has_wildcards("a.b!"));
}

#[cfg(feature = "alloc")]
mod compiled {
    use super::super::*;
    use crate::event::{Event, EventId, Labels, Related};
    use crate::time::{Duration, Instant};
    use crate::trigger::{EventTrigger, Posture, ResourceSpec};
    use alloc::string::String;
    use alloc::vec::Vec;

    #[test]
    fn compiled_patterns_agree_with_label_matches() {
        // literals, trailing-`*` prefixes (the fast path) and everything else
        let patterns = [
            "",
            "*",
            "**",
            "a",
            "a*",
            "a**",
            "a*b",
            "a?*",
            "a[b]*",
            "a[*",
            "!a*",
            "!*",
            "!a",
            "prefect.flow-run.*",
            "é*",
            "*a",
        ];
        let values = [
            "",
            "a",
            "ab",
            "a*",
            "a[b]x",
            "a[",
            "b",
            "prefect.flow-run.",
            "prefect.flow-run.x",
            "prefect.flow-run",
            "é",
            "éa",
            "ba",
        ];
        for pattern in patterns {
            let mut t = EventTrigger::reactive(&[]);
            t.match_ = ResourceSpec::from_pairs(&[("l", &[pattern])]);
            let compiled = CompiledEventTrigger::compile(&t);
            let spec = compiled.match_spec();
            for value in values {
                let resource = [("l", value)];
                assert_eq!(
                    spec.matches(Labels::Pairs(&resource)),
                    label_matches(pattern, Some(value)),
                    "{pattern:?} against {value:?}"
                );
            }
            assert!(
                !spec.matches(Labels::Pairs(&[])),
                "{pattern:?}: a missing label"
            );
        }
    }

    fn ev<'a>(
        name: &'a str,
        resource: &'a [(&'a str, &'a str)],
        related: &'a [&'a [(&'a str, &'a str)]],
    ) -> Event<'a> {
        Event {
            id: EventId::default(),
            event: name,
            occurred: Instant::ZERO,
            received: Instant::ZERO,
            resource: Labels::Pairs(resource),
            related: Related::Pairs(related),
            follows: None,
        }
    }

    fn trig(expect: &[&str], after: &[&str]) -> EventTrigger {
        let mut t = EventTrigger::reactive(expect);
        t.after = after.iter().map(|s| String::from(*s)).collect();
        t
    }

    const RUN: &[(&str, &str)] = &[("prefect.resource.id", "prefect.flow-run.A")];

    #[test]
    fn covers_needs_both_the_fnmatch_index_and_the_regex() {
        // scenario event_name_glob_quirks
        let t = CompiledEventTrigger::compile(&trig(&["prefect.flow-run.*"], &[]));
        assert!(t.expects("prefect.flow-run."));
        assert!(!t.covers(&ev("prefect.flow-run.", RUN, &[])));
        assert!(t.covers(&ev("prefect.flow-run.Failed", RUN, &[])));

        let q = CompiledEventTrigger::compile(&trig(&["x.?"], &[]));
        assert!(q.expects("x.a") && !q.covers_name("x.a"));
        assert!(q.expects("x.?") && q.covers_name("x.?"));

        let prefix = CompiledEventTrigger::compile(&trig(&["x.a"], &[]));
        assert!(prefix.covers_name("x.ab"), "regex prefix match");
        assert!(!prefix.expects("x.ab"));
        let mut r = Router::new();
        r.insert(1, &prefix);
        let mut out = Vec::new();
        r.candidates("x.ab", &mut out);
        assert!(out.is_empty(), "…but the fnmatch index never offers it");
    }

    #[test]
    fn covers_uses_expect_union_after_only_when_expect_is_set() {
        let t = CompiledEventTrigger::compile(&trig(&["x.b"], &["x.a"]));
        assert!(t.covers_name("x.a") && t.covers_name("x.b") && !t.covers_name("y"));
        assert_eq!(t.index_keys().collect::<Vec<_>>(), ["x.a", "x.b"]);
        assert!(t.starts_after("x.a") && !t.starts_after("x.b"));
        assert!(t.expects("x.b") && !t.expects("x.a"));

        let any = CompiledEventTrigger::compile(&trig(&[], &["x.a"]));
        assert!(any.covers_name("anything") && !any.covers_name(""));
        assert!(
            !any.covers_name("\nx"),
            "`.+` does not match a leading newline"
        );
        assert_eq!(any.index_keys().collect::<Vec<_>>(), ["*"]);
        assert!(any.expects("whatever"));
        assert!(any.has_after());
    }

    #[test]
    fn resource_specs() {
        let mut t = trig(&["x"], &[]);
        t.match_ = ResourceSpec::from_pairs(&[("env", &["!a", "!b"])]);
        let c = CompiledEventTrigger::compile(&t);
        // quirk 12: a list is an OR, so ["!a", "!b"] matches every present value
        assert!(c.covers(&ev("x", &[("prefect.resource.id", "r"), ("env", "a")], &[])));
        assert!(c.covers(&ev("x", &[("prefect.resource.id", "r"), ("env", "b")], &[])));
        assert!(
            !c.covers(&ev("x", &[("prefect.resource.id", "r")], &[])),
            "missing label"
        );

        t.match_ = ResourceSpec::from_pairs(&[("env", &[])]);
        let empty_list = CompiledEventTrigger::compile(&t);
        assert!(
            !empty_list.covers(&ev("x", &[("env", "a")], &[])),
            "empty list never matches"
        );

        t.match_ = ResourceSpec::from_pairs(&[
            ("prefect.resource.id", &["prefect.flow-run.*"]),
            ("env", &["prod"]),
        ]);
        let all = CompiledEventTrigger::compile(&t);
        assert!(all.covers(&ev(
            "x",
            &[
                ("prefect.resource.id", "prefect.flow-run.1"),
                ("env", "prod")
            ],
            &[]
        )));
        assert!(!all.covers(&ev(
            "x",
            &[
                ("prefect.resource.id", "prefect.flow-run.1"),
                ("env", "dev")
            ],
            &[]
        )));
    }

    #[test]
    fn match_related_every_spec_needs_some_related_resource() {
        let mut t = trig(&["x"], &[]);
        t.match_related = alloc::vec![
            ResourceSpec::from_pairs(&[("prefect.resource.role", &["flow"])]),
            ResourceSpec::from_pairs(&[
                ("prefect.resource.role", &["deployment"]),
                ("prefect.resource.id", &["prefect.deployment.d*"]),
            ]),
        ];
        let c = CompiledEventTrigger::compile(&t);
        let flow: &[(&str, &str)] = &[
            ("prefect.resource.id", "f"),
            ("prefect.resource.role", "flow"),
        ];
        let dep: &[(&str, &str)] = &[
            ("prefect.resource.id", "prefect.deployment.d1"),
            ("prefect.resource.role", "deployment"),
        ];
        let other_dep: &[(&str, &str)] = &[
            ("prefect.resource.id", "prefect.deployment.x"),
            ("prefect.resource.role", "deployment"),
        ];
        assert!(c.covers(&ev("x", RUN, &[flow, other_dep, dep])));
        assert!(!c.covers(&ev("x", RUN, &[flow, other_dep])));
        assert!(!c.covers(&ev("x", RUN, &[dep])));
        assert!(!c.covers(&ev("x", RUN, &[])));

        // An empty spec (or no spec) includes even an event without related resources.
        t.match_related = alloc::vec![ResourceSpec::default()];
        assert!(CompiledEventTrigger::compile(&t).covers(&ev("x", RUN, &[])));
        t.match_related.clear();
        assert!(CompiledEventTrigger::compile(&t).covers(&ev("x", RUN, &[])));
    }

    #[test]
    fn key_values_follow_sorted_for_each_and_share_the_empty_key() {
        let mut t = trig(&["x"], &[]);
        t.for_each = alloc::vec![
            String::from("related:deployment:prefect.resource.id"),
            String::from("prefect.resource.id"),
            String::from("prefect.resource.id"),
        ];
        let c = CompiledEventTrigger::compile(&t);
        assert_eq!(
            c.for_each().collect::<Vec<_>>(),
            [
                "prefect.resource.id",
                "related:deployment:prefect.resource.id"
            ]
        );
        let d1: &[(&str, &str)] = &[
            ("prefect.resource.id", "prefect.deployment.1"),
            ("prefect.resource.role", "deployment"),
        ];
        let d2: &[(&str, &str)] = &[
            ("prefect.resource.id", "prefect.deployment.2"),
            ("prefect.resource.role", "deployment"),
        ];
        let both = [d1, d2];
        let e = ev("x", RUN, &both);
        assert_eq!(
            c.key_values(&e).collect::<Vec<_>>(),
            ["prefect.flow-run.A", "prefect.deployment.1"],
            "quirk 13: only the first related resource with the role"
        );
        let no_dep = ev("x", RUN, &[]);
        assert_eq!(
            c.key_values(&no_dep).collect::<Vec<_>>(),
            ["prefect.flow-run.A", ""]
        );
        let role_without_label: &[(&str, &str)] = &[("prefect.resource.role", "deployment")];
        let rel = [role_without_label, d1];
        let missing = ev("x", RUN, &rel);
        assert_eq!(
            c.key_values(&missing).collect::<Vec<_>>(),
            ["prefect.flow-run.A", ""],
            "missing and empty share the \"\" key"
        );
    }

    #[test]
    fn thresholds_and_postures() {
        let mut t = trig(&["x"], &[]);
        t.threshold = 2;
        let r = CompiledEventTrigger::compile(&t);
        assert!(r.immediate());
        assert!(!r.meets_threshold(1) && r.meets_threshold(2) && r.meets_threshold(3));
        t.posture = Posture::Proactive;
        t.within = Duration::from_secs(10);
        let p = CompiledEventTrigger::compile(&t);
        assert!(!p.immediate());
        assert!(p.meets_threshold(1) && !p.meets_threshold(2));
        t.threshold = 0;
        assert!(
            !CompiledEventTrigger::compile(&t).meets_threshold(0),
            "Proactive 0 never fires"
        );
        t.posture = Posture::Reactive;
        assert!(CompiledEventTrigger::compile(&t).meets_threshold(0));
        assert_eq!(p.within(), Duration::from_secs(10));
        assert_eq!(p.posture(), Posture::Proactive);
        assert_eq!(p.threshold(), 2);
    }

    #[test]
    fn same_event_in_after_and_expect() {
        // quirk 14 is the engine's (initial count -1); here: both predicates hold.
        let t = CompiledEventTrigger::compile(&trig(&["some-event"], &["some-event"]));
        assert!(t.starts_after("some-event") && t.expects("some-event"));
        assert_eq!(t.index_keys().collect::<Vec<_>>(), ["some-event"]);
    }

    #[test]
    fn negated_expect_is_indexed_literally() {
        let t = CompiledEventTrigger::compile(&trig(&["!x.a"], &[]));
        assert!(t.expects("x.b"));
        let mut r = Router::new();
        r.insert(7, &t);
        let mut out = Vec::new();
        r.candidates("x.b", &mut out);
        assert!(out.is_empty());
        r.candidates("!x.a", &mut out);
        assert_eq!(out, [7]);
    }

    #[test]
    fn router_finds_literal_and_wildcard_keys_sorted_and_unique() {
        let mut r = Router::new();
        let hb = CompiledEventTrigger::compile(&trig(&["prefect.flow-run.heartbeat"], &[]));
        let fr = CompiledEventTrigger::compile(&trig(&["prefect.flow-run.*"], &[]));
        let both = CompiledEventTrigger::compile(&trig(
            &["prefect.flow-run.*", "prefect.*.heartbeat"],
            &["prefect.flow-run.heartbeat"],
        ));
        let any = CompiledEventTrigger::compile(&trig(&[], &[]));
        let other = CompiledEventTrigger::compile(&trig(&["custom.family-1.*"], &[]));
        let q = CompiledEventTrigger::compile(&trig(&["prefect.flow-run.heartbea?"], &[]));
        r.insert(5, &hb);
        r.insert(3, &fr);
        r.insert(9, &both);
        r.insert(1, &any);
        r.insert(2, &other);
        r.insert(4, &q);
        r.insert(4, &q);
        let mut out = Vec::with_capacity(16);
        r.candidates("prefect.flow-run.heartbeat", &mut out);
        assert_eq!(out, [1, 3, 4, 5, 9]);
        r.candidates("custom.family-1.x", &mut out);
        assert_eq!(out, [1, 2]);
        r.candidates("", &mut out);
        assert_eq!(out, [1]);
        r.candidates("é.prefect", &mut out); // prefix lengths that are not char boundaries
        assert_eq!(out, [1]);

        r.remove(9, &both);
        r.remove(4, &q);
        r.candidates("prefect.flow-run.heartbeat", &mut out);
        assert_eq!(out, [1, 3, 5]);
        r.remove(1, &any);
        r.remove(3, &fr);
        r.remove(5, &hb);
        r.remove(2, &other);
        r.remove(2, &other);
        assert!(r.is_empty());
        r.candidates("prefect.flow-run.heartbeat", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn router_candidates_do_not_allocate_with_capacity() {
        let mut r = Router::new();
        for i in 0..100u32 {
            let pat = alloc::format!("custom.family-{i}.*");
            r.insert(i, &CompiledEventTrigger::compile(&trig(&[&pat], &[])));
        }
        let mut out = Vec::with_capacity(4);
        let ptr = out.as_ptr();
        r.candidates("custom.family-42.done", &mut out);
        assert_eq!(out, [42]);
        assert_eq!(out.as_ptr(), ptr);
    }
}

mod scan_router {
    //! The fixed flavour's [`ScanRouter`] must route exactly as the indexed
    //! [`Router`], and packed triggers in a fixed buffer exactly as in a `Vec`.

    use super::super::*;
    use crate::trigger::EventTrigger;
    use alloc::string::String;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    type Packed = CompiledEventTrigger<heapless::Vec<u8, 256>>;

    const PATTERNS: &[&str] = &[
        "a", "a.b", "a.*", "a.?", "*", "b.[ab]", "!a", "a.b*", "ab", "a*b", "é.*", "[",
    ];
    const NAMES: &[&str] = &[
        "a", "a.b", "a.", "a.bc", "b.a", "b.c", "!a", "ab", "é.x", "[", "",
    ];

    fn patterns() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(prop::sample::select(PATTERNS), 0..3)
    }

    fn trig(expect: &[&str], after: &[&str]) -> EventTrigger {
        let mut t = EventTrigger::reactive(expect);
        t.after = after.iter().map(|s| String::from(*s)).collect();
        t
    }

    /// Prefect's `ResourceSpecification.includes`, written from its definition: every
    /// label has a value in the resource and some pattern matching it.
    fn spec_includes(spec: &crate::trigger::ResourceSpec, resource: &[(&str, &str)]) -> bool {
        spec.labels.iter().all(|(label, patterns)| {
            let value = resource.iter().find(|(k, _)| k == label).map(|(_, v)| *v);
            patterns.iter().any(|p| label_matches(p, value))
        })
    }

    const LABELS: &[&str] = &["l", "m", "related:r:l"];

    fn spec() -> impl Strategy<Value = crate::trigger::ResourceSpec> {
        prop::collection::btree_map(prop::sample::select(LABELS), patterns(), 0..3).prop_map(|m| {
            crate::trigger::ResourceSpec {
                labels: m
                    .into_iter()
                    .map(|(l, ps)| (String::from(l), ps.into_iter().map(String::from).collect()))
                    .collect(),
            }
        })
    }

    fn resource() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
        prop::collection::btree_map(
            prop::sample::select(LABELS),
            prop::sample::select(NAMES),
            0..3,
        )
        .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn scanning_routes_as_the_index_does(
            triggers in prop::collection::vec((patterns(), patterns(), any::<bool>()), 0..12),
        ) {
            let owned: Vec<EventTrigger> =
                triggers.iter().map(|(e, a, _)| trig(e, a)).collect();
            let packed: Vec<Packed> = owned
                .iter()
                .map(|t| Packed::pack(&t.def()).expect("fits"))
                .collect();
            let mut router = Router::new();
            let mut scan = ScanRouter;
            for (i, t) in packed.iter().enumerate() {
                router.insert(i as u32, t);
                RouteIndex::insert(&mut scan, i as u32, t);
            }
            // some are routed no more
            for (i, (_, _, removed)) in triggers.iter().enumerate() {
                if *removed {
                    router.remove(i as u32, &packed[i]);
                    RouteIndex::remove(&mut scan, i as u32, &packed[i]);
                }
            }
            for name in NAMES {
                let mut want = Vec::new();
                router.candidates(name, &mut want);
                let loaded = packed
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !triggers[*i].2)
                    .map(|(i, t)| (i as u32, t));
                let mut got: heapless::Vec<u32, 16> = heapless::Vec::new();
                scan.candidates(name, loaded, &mut got);
                prop_assert_eq!(&got[..], &want[..], "{}", name);
                // and the packed trigger answers as the growable one
                for (t, c) in owned.iter().zip(&packed) {
                    let g = CompiledEventTrigger::compile(t);
                    prop_assert_eq!(c.covers_name(name), g.covers_name(name));
                    prop_assert_eq!(c.expects(name), g.expects(name));
                    prop_assert_eq!(c.starts_after(name), g.starts_after(name));
                    prop_assert!(c.index_keys().eq(g.index_keys()));
                    // Prefect's `_index_keys_for`, from the owned sets
                    let keys: alloc::collections::BTreeSet<&str> = if t.expect.is_empty() {
                        ["*"].into_iter().collect()
                    } else {
                        t.expect.iter().chain(&t.after).map(String::as_str).collect()
                    };
                    prop_assert!(c.index_keys().eq(keys.iter().copied()));
                    prop_assert_eq!(c.packed(), g.packed());
                }
            }
        }

        /// `covers_resources` (whose usual shapes skip the packed specs) agrees with
        /// the specs' definition, packed in a `Vec` or a fixed buffer.
        #[test]
        fn resource_checks_agree_with_the_specs(
            match_ in spec(),
            related_specs in prop::collection::vec(spec(), 0..2),
            for_each in prop::collection::btree_set(prop::sample::select(LABELS), 0..3),
            primary in resource(),
            related in prop::collection::vec((resource(), any::<bool>()), 0..3),
        ) {
            // (some related resources have the role `related:r:l` names)
            let related: Vec<Vec<(&str, &str)>> = related
                .into_iter()
                .map(|(mut r, role)| {
                    if role {
                        r.push((crate::event::RESOURCE_ROLE, "r"));
                    }
                    r
                })
                .collect();
            let mut t = trig(&["a"], &[]);
            t.match_ = match_;
            t.match_related = related_specs;
            t.for_each = for_each.into_iter().map(String::from).collect();
            let want = spec_includes(&t.match_, &primary)
                && t.match_related.iter().all(|spec| {
                    spec.labels.is_empty() || related.iter().any(|r| spec_includes(spec, r))
                });
            let related_slices: Vec<&[(&str, &str)]> = related.iter().map(Vec::as_slice).collect();
            let ev = crate::event::Event {
                id: crate::event::EventId([1; 16]),
                event: "a",
                occurred: crate::time::Instant::ZERO,
                received: crate::time::Instant::ZERO,
                resource: crate::event::Labels::Pairs(&primary),
                related: crate::event::Related::Pairs(&related_slices),
                follows: None,
            };
            let g = CompiledEventTrigger::compile(&t);
            prop_assert_eq!(g.covers_resources(&ev), want);
            let c = Packed::pack(&t.def()).expect("fits");
            prop_assert_eq!(c.covers_resources(&ev), want);
            // the one-label shortcut: the same answer and the same key
            let one_label = t.match_related.is_empty()
                && t.match_.labels.len() == 1
                && t.match_.labels[0].1.len() == 1
                && t.for_each.len() == 1
                && t.for_each[0] == t.match_.labels[0].0
                && !t.for_each[0].starts_with("related:");
            for shortcut in [g.covered_key_value(&ev), c.covered_key_value(&ev)] {
                prop_assert_eq!(shortcut.is_some(), one_label);
                if let Some(value) = shortcut {
                    prop_assert_eq!(value.is_some(), want);
                    if want {
                        let values: Vec<&str> = g.key_values(&ev).collect();
                        prop_assert_eq!(values, [value.unwrap_or_default()]);
                    }
                }
            }
        }
    }
}
