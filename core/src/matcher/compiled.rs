//! [`CompiledEventTrigger`]: one event trigger's matchers, prepared once.

use alloc::string::String;
use alloc::vec::Vec;

use super::{fnmatch, has_wildcards, label_matches, NamePrefixPattern};
use crate::event::{Event, Labels};
use crate::time::Duration;
use crate::trigger::{EventTrigger, Posture, ResourceSpec};

/// How a [`LabelPattern`] is matched, decided once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PatternKind {
    /// No wildcard: equality.
    Literal,
    /// Only one `*`, at the end (`prefect.flow-run.*`): `starts_with` the text before
    /// it (fnmatch's `*` matches any run of characters, the empty one included).
    Prefix,
    /// Anything else: [`fnmatch`].
    Glob,
}

/// One pattern of a resource spec, with the fast paths for literals and prefixes
/// decided up front.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LabelPattern {
    /// The pattern without its `!` (for [`PatternKind::Prefix`], without its `*` too).
    text: String,
    negated: bool,
    kind: PatternKind,
}

impl LabelPattern {
    fn new(pattern: &str) -> LabelPattern {
        let (negated, text) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (text, kind) = match text.strip_suffix('*') {
            _ if !has_wildcards(text) => (text, PatternKind::Literal),
            Some(prefix) if !has_wildcards(prefix) => (prefix, PatternKind::Prefix),
            _ => (text, PatternKind::Glob),
        };
        LabelPattern {
            text: String::from(text),
            negated,
            kind,
        }
    }

    /// [`label_matches`] with the pattern pre-split.
    #[inline]
    fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value else {
            return false;
        };
        let hit = match self.kind {
            PatternKind::Literal => self.text == value,
            PatternKind::Prefix => value.starts_with(self.text.as_str()),
            PatternKind::Glob => fnmatch(&self.text, value),
        };
        hit != self.negated
    }
}

/// A compiled [`ResourceSpec`]: `ResourceSpecification.includes/matches`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledSpec {
    labels: Vec<(String, Vec<LabelPattern>)>,
}

impl CompiledSpec {
    /// Compiles a spec.
    pub fn compile(spec: &ResourceSpec) -> CompiledSpec {
        CompiledSpec {
            labels: spec
                .labels
                .iter()
                .map(|(label, patterns)| {
                    (
                        label.clone(),
                        patterns.iter().map(|p| LabelPattern::new(p)).collect(),
                    )
                })
                .collect(),
        }
    }

    /// Whether the spec is empty (matches every resource, even no resource at all).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `matches(resource)`: every label has some pattern matching the resource's
    /// value; a missing label never matches (not even `!p`); an empty pattern list
    /// never matches.
    pub fn matches(&self, resource: Labels<'_>) -> bool {
        self.labels.iter().all(|(label, patterns)| {
            let value = resource.get(label);
            patterns.iter().any(|p| p.matches(value))
        })
    }

    /// `includes(candidates)`: an empty spec matches everything (even an empty list of
    /// candidates); otherwise some candidate must match.
    pub fn includes<'a>(&self, mut candidates: impl Iterator<Item = Labels<'a>>) -> bool {
        self.is_empty() || candidates.any(|r| self.matches(r))
    }
}

/// One [`EventTrigger`] compiled for the hot path: name matchers, resource specs, and
/// the data the engine reads per event.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledEventTrigger {
    expect: Vec<String>,
    after: Vec<String>,
    for_each: Vec<String>,
    /// `expect ∪ after` when `expect` is non-empty; empty means `.+`.
    covers_patterns: Vec<String>,
    index_keys: Vec<String>,
    match_: CompiledSpec,
    match_related: Vec<CompiledSpec>,
    posture: Posture,
    threshold: i64,
    within: Duration,
}

impl CompiledEventTrigger {
    /// Compiles a (validated) trigger. The sets are sorted and de-duplicated here too,
    /// so an unvalidated trigger still behaves like Prefect's set-based one.
    pub fn compile(t: &EventTrigger) -> CompiledEventTrigger {
        let set = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v.dedup();
            v
        };
        let expect = set(&t.expect);
        let after = set(&t.after);
        let union = {
            let mut u = expect.clone();
            u.extend(after.iter().cloned());
            set(&u)
        };
        let (covers_patterns, index_keys) = if expect.is_empty() {
            (Vec::new(), alloc::vec![String::from("*")])
        } else {
            (union.clone(), union)
        };
        CompiledEventTrigger {
            for_each: set(&t.for_each),
            expect,
            after,
            covers_patterns,
            index_keys,
            match_: CompiledSpec::compile(&t.match_),
            match_related: t.match_related.iter().map(CompiledSpec::compile).collect(),
            posture: t.posture,
            threshold: t.threshold,
            within: t.within,
        }
    }

    /// Prefect's `EventTrigger.covers(event)`: the name matches `event_pattern` (see
    /// [`covers_name`](Self::covers_name)) **and** the resources match
    /// ([`covers_resources`](Self::covers_resources)).
    #[inline]
    pub fn covers(&self, ev: &Event<'_>) -> bool {
        self.covers_name(ev.event) && self.covers_resources(ev)
    }

    /// `event_pattern.match(name)`: with an empty `expect`, `.+` (any name that is
    /// non-empty and does not start with `\n`); otherwise some pattern of
    /// `expect ∪ after` as a start-anchored [`NamePrefixPattern`].
    pub fn covers_name(&self, name: &str) -> bool {
        if self.covers_patterns.is_empty() {
            return name.chars().next().is_some_and(|c| c != '\n');
        }
        self.covers_patterns
            .iter()
            .any(|p| NamePrefixPattern(p).matches(name))
    }

    /// `covers_resources`: `match` includes the primary resource, and every
    /// `match_related` spec includes some related resource.
    pub fn covers_resources(&self, ev: &Event<'_>) -> bool {
        self.match_.matches_or_empty(ev.resource)
            && self
                .match_related
                .iter()
                .all(|spec| spec.includes(ev.related.iter()))
    }

    /// `expects(name)`: `expect` is empty, or some pattern [`label_matches`] the name.
    #[inline]
    pub fn expects(&self, name: &str) -> bool {
        self.expect.is_empty() || self.expect.iter().any(|p| label_matches(p, Some(name)))
    }

    /// `starts_after(name)`: some `after` pattern [`label_matches`] the name (false
    /// when `after` is empty).
    #[inline]
    pub fn starts_after(&self, name: &str) -> bool {
        self.after.iter().any(|p| label_matches(p, Some(name)))
    }

    /// Whether the trigger has `after` patterns.
    #[inline]
    pub fn has_after(&self) -> bool {
        !self.after.is_empty()
    }

    /// Reactive or Proactive.
    #[inline]
    pub fn posture(&self) -> Posture {
        self.posture
    }

    /// The threshold.
    #[inline]
    pub fn threshold(&self) -> i64 {
        self.threshold
    }

    /// The window length.
    #[inline]
    pub fn within(&self) -> Duration {
        self.within
    }

    /// Prefect 3.9's `holds_expect_events`: Proactive with `after` (such a trigger
    /// holds `expect` events that arrive while no window is open).
    #[inline]
    pub fn holds_expect_events(&self) -> bool {
        self.posture == Posture::Proactive && self.has_after()
    }

    /// Prefect's `immediate`: Reactive and `within == 0`.
    #[inline]
    pub fn immediate(&self) -> bool {
        self.posture == Posture::Reactive && self.within.is_zero()
    }

    /// `meets_threshold(count)`: Reactive `count >= threshold`, Proactive
    /// `count < threshold`.
    #[inline]
    pub fn meets_threshold(&self, count: i64) -> bool {
        match self.posture {
            Posture::Reactive => count >= self.threshold,
            Posture::Proactive => count < self.threshold,
        }
    }

    /// The `for_each` labels, sorted and unique (the order of key values).
    #[inline]
    pub fn for_each(&self) -> &[String] {
        &self.for_each
    }

    /// The `expect` patterns, sorted and unique.
    pub fn expect(&self) -> &[String] {
        &self.expect
    }

    /// The `after` patterns, sorted and unique.
    pub fn after(&self) -> &[String] {
        &self.after
    }

    /// Prefect's `bucketing_key`: for each label of [`for_each`](Self::for_each),
    /// `event.find_resource_label(label) or ""`. Missing and empty values are both
    /// `""`, so they share a bucket (quirk 13).
    #[inline]
    pub fn key_values<'s, 'e>(&'s self, ev: &Event<'e>) -> impl Iterator<Item = &'e str> + 's
    where
        'e: 's,
    {
        let ev = *ev;
        self.for_each
            .iter()
            .map(move |label| ev.find_resource_label(label).unwrap_or(""))
    }

    /// Prefect's `_index_keys_for`: `expect ∪ after` (sorted), or just `*` when
    /// `expect` is empty. Keys are fnmatch patterns **without** negation: a `!x`
    /// pattern is indexed as the literal name `!x` (Prefect's index does the same, so
    /// a negated `expect` pattern only ever sees an event literally named `!x`).
    #[inline]
    pub fn index_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.index_keys.iter().map(String::as_str)
    }
}

impl CompiledSpec {
    #[inline]
    fn matches_or_empty(&self, resource: Labels<'_>) -> bool {
        self.is_empty() || self.matches(resource)
    }
}
