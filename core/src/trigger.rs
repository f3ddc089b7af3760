//! Prefect's automation triggers: [`Trigger`] = [`EventTrigger`] | [`CompoundTrigger`]
//! | [`SequenceTrigger`], nested to any depth, validated as Prefect 3.9.1 validates
//! them (`server/events/schemas/automations.py`).
//!
//! The owned model needs `alloc`. Every trigger also has a borrowed view,
//! [`TriggerDef`] (`Trigger::def`), which is all the engine reads: without `alloc`,
//! write triggers as `TriggerDef` values (e.g. `static`s over string slices); they are
//! checked ([`TriggerDef::validate`], the same errors as `Trigger::validate`) and
//! fingerprinted without allocating, and normalized when compiled.
//!
//! # Reading Prefect's JSON
//!
//! With a human-readable serde format (serde_json), `Trigger` and `EventTrigger`
//! deserialize from exactly the JSON Prefect's automation API accepts and serialize
//! back to it; [`Trigger::deserialize_prefect`] does the same but keeps the typed
//! [`TriggerError`]. Parsing follows pydantic's rules for each field:
//!
//! * unknown fields are ignored (`PrefectBaseModel` has `extra="ignore"`);
//! * `type` is `"event"`, `"compound"` or `"sequence"`. Without `type`, Prefect's
//!   union tries every model: an object with `triggers` is a compound trigger if it has
//!   `require`, else a sequence; otherwise it is an event trigger. (If the composite
//!   reading fails, the event reading is tried, as pydantic's union would);
//! * `posture` is required: `"Reactive"` or `"Proactive"`; `"Metric"` is rejected;
//! * `after`, `expect`, `for_each` are lists of strings and are **sets** in Prefect:
//!   they are de-duplicated and sorted;
//! * `match` is an object label → string or list of strings; `match_related` is one
//!   such object or a list of them; `null` is rejected for both;
//! * `threshold` (default 1) and an integer `require` are pydantic "lax" integers:
//!   `3`, `3.0`, `"3"`, `" 3 "`, `"1_000"` and `true` are accepted, `1.5` is not. No
//!   bound is checked: `threshold: -5` is valid in Prefect and here;
//! * `within` is a pydantic `timedelta`: a number of seconds (rounded to the
//!   microsecond: whole seconds truncated, the fraction rounded half away from zero,
//!   as pydantic-core does), `true`/`false` (1 s / 0 s — pydantic's lax mode), an ISO
//!   8601 duration (`PT1M`, `P1DT2H`, `P1W`; `Y` = 365 days, `M` before `T` = 30 days,
//!   a fraction on the last component, `.` or `,`), or `[D d|day|days[,] ]HH:MM[:SS[.f]]`.
//!   A plain numeric string such as `"90"` is **rejected**, as pydantic rejects it.
//!   An event trigger's `within` defaults to 0 and may not be `null`;
//! * a composite's `within` is **required** (it may be `null`): Prefect declares it
//!   `Optional[...]` without a default.
//!
//! # Where overdue is stricter than Prefect
//!
//! * a composite trigger with an empty `triggers` list (Prefect accepts it, and it
//!   never fires) and a **negative** composite `within` (Prefect accepts it: it
//!   deletes every earlier child firing, so a composite needing two firings can never
//!   fire) are rejected with [`TriggerErrorKind::NoChildren`] /
//!   [`TriggerErrorKind::NegativeDuration`];
//! * integers beyond `i64` (Python's are unbounded) are rejected.

#[cfg(feature = "alloc")]
use alloc::string::String;
#[cfg(feature = "alloc")]
use alloc::vec::Vec;
#[cfg(feature = "alloc")]
use alloc::{format, vec};

use serde::{Deserialize, Serialize};

pub use crate::error::{TriggerError, TriggerErrorKind};
use crate::time::Duration;

mod def;
#[cfg(feature = "alloc")]
mod duration;
mod fingerprint;
#[cfg(feature = "alloc")]
mod parse;
#[cfg(feature = "alloc")]
mod serde_impl;
mod validate;

pub use def::{
    CompoundTriggerDef, EventTriggerDef, SequenceTriggerDef, SortedUnique, SpecDef, SpecDefs, Strs,
    StrsIter, TriggerDef, TriggerDefs, TriggerSource,
};
#[cfg(feature = "alloc")]
pub use duration::parse_duration;

/// The smallest `within` of a Proactive trigger, and its default.
pub const PROACTIVE_MIN_WITHIN: Duration = Duration::from_secs(10);

/// Any Prefect trigger.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// `"type": "event"`: counts events per bucket.
    Event(EventTrigger),
    /// `"type": "compound"`: some number of child firings within a period.
    Compound(CompoundTrigger),
    /// `"type": "sequence"`: all children firing in order within a period.
    Sequence(SequenceTrigger),
}

/// Reacting to the presence, or the absence, of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Posture {
    /// Fires when at least `threshold` expected events arrive within `within`.
    Reactive,
    /// Fires when fewer than `threshold` expected events arrive within `within`.
    Proactive,
}

/// Labels a resource must carry: label name → patterns (any may match).
///
/// An empty spec matches every resource. A resource matches when **every** label
/// has **some** pattern that [`label_matches`](crate::matcher::label_matches) its
/// value; a label with an empty pattern list matches nothing.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceSpec {
    /// `(label, patterns)` in document order.
    pub labels: Vec<(String, Vec<String>)>,
}

/// A trigger on events: Prefect's `EventTrigger`.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct EventTrigger {
    /// Prefect's trigger id (a UUID string), if the JSON carried one.
    pub id: Option<String>,
    /// Labels the event's primary resource must match (JSON `match`).
    pub match_: ResourceSpec,
    /// Specs that must each match some related resource (one object or a list).
    pub match_related: Vec<ResourceSpec>,
    /// Events that open a window (sorted, unique).
    pub after: Vec<String>,
    /// Events that are counted (sorted, unique; empty = every event).
    pub expect: Vec<String>,
    /// Labels whose values split events into separate buckets (sorted, unique).
    pub for_each: Vec<String>,
    /// Reactive or Proactive.
    pub posture: Posture,
    /// Events needed (Reactive) or expected (Proactive). Default 1, any integer.
    pub threshold: i64,
    /// The window length. Default 0; Proactive: 0 becomes 10 s, below 10 s rejected.
    pub within: Duration,
}

/// How many children of a [`CompoundTrigger`] must fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Require {
    /// `"any"`: one firing.
    Any,
    /// `"all"`: every child.
    All,
    /// An integer between 1 and the number of children.
    AtLeast(u32),
}

/// Prefect's `CompoundTrigger`.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct CompoundTrigger {
    /// Prefect's trigger id, if given.
    pub id: Option<String>,
    /// How many child firings are needed.
    pub require: Require,
    /// The period (wall clock) the child firings must fall in; `None`: unbounded.
    pub within: Option<Duration>,
    /// The children (at least one).
    pub triggers: Vec<Trigger>,
}

/// Prefect's `SequenceTrigger`.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceTrigger {
    /// Prefect's trigger id, if given.
    pub id: Option<String>,
    /// The period (wall clock) the child firings must fall in; `None`: unbounded.
    pub within: Option<Duration>,
    /// The children, in the order they must fire (at least one).
    pub triggers: Vec<Trigger>,
}

#[cfg(feature = "alloc")]
impl Trigger {
    /// Normalizes and checks the trigger as Prefect's validators do, recursively.
    ///
    /// Deserialization already calls this; call it after building a trigger by hand.
    /// It sorts and de-duplicates `after`/`expect`/`for_each`, turns a Proactive
    /// trigger's zero `within` into 10 s, and rejects: a Proactive `within` between 0
    /// and 10 s, a `require` outside `1..=children`, an empty `triggers` list, an `id`
    /// that is not a UUID.
    pub fn validate(&mut self) -> Result<(), TriggerError> {
        self.validate_at("")
    }

    pub(crate) fn validate_at(&mut self, path: &str) -> Result<(), TriggerError> {
        self.def().validate_at(&def::Path::Root(path))?;
        self.normalize();
        Ok(())
    }

    /// Sorts and de-duplicates the sets and turns a Proactive zero `within` into 10 s,
    /// recursively (what [`validate`](Self::validate) changes).
    fn normalize(&mut self) {
        match self {
            Trigger::Event(t) => t.normalize(),
            Trigger::Compound(c) => c.triggers.iter_mut().for_each(Trigger::normalize),
            Trigger::Sequence(s) => s.triggers.iter_mut().for_each(Trigger::normalize),
        }
    }

    /// The definition as a borrowed view (what the engine loads).
    pub fn def(&self) -> TriggerDef<'_> {
        match self {
            Trigger::Event(t) => TriggerDef::Event(t.def()),
            Trigger::Compound(c) => TriggerDef::Compound(CompoundTriggerDef {
                id: c.id.as_deref(),
                require: c.require,
                within: c.within,
                triggers: TriggerDefs::Owned(&c.triggers),
            }),
            Trigger::Sequence(s) => TriggerDef::Sequence(SequenceTriggerDef {
                id: s.id.as_deref(),
                within: s.within,
                triggers: TriggerDefs::Owned(&s.triggers),
            }),
        }
    }

    /// This trigger and all of its descendants, parents first (Prefect's
    /// `all_triggers()` order).
    pub fn all_triggers(&self) -> Vec<&Trigger> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(t) = stack.pop() {
            out.push(t);
            stack.extend(t.children().iter().rev());
        }
        out
    }

    /// Every event trigger in this tree, in [`Trigger::all_triggers`] order.
    pub fn event_triggers(&self) -> impl Iterator<Item = &EventTrigger> {
        self.all_triggers().into_iter().filter_map(|t| match t {
            Trigger::Event(e) => Some(e),
            _ => None,
        })
    }

    /// The direct children (empty for an event trigger).
    pub fn children(&self) -> &[Trigger] {
        match self {
            Trigger::Event(_) => &[],
            Trigger::Compound(c) => &c.triggers,
            Trigger::Sequence(s) => &s.triggers,
        }
    }

    /// Prefect's trigger id, if given.
    pub fn id(&self) -> Option<&str> {
        match self {
            Trigger::Event(t) => t.id.as_deref(),
            Trigger::Compound(t) => t.id.as_deref(),
            Trigger::Sequence(t) => t.id.as_deref(),
        }
    }

    /// Prefect's `type` tag: `"event"`, `"compound"` or `"sequence"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Trigger::Event(_) => "event",
            Trigger::Compound(_) => "compound",
            Trigger::Sequence(_) => "sequence",
        }
    }
}

#[cfg(feature = "alloc")]
impl EventTrigger {
    /// Prefect 3.9's `holds_expect_events`: Proactive with `after`.
    pub fn holds_expect_events(&self) -> bool {
        self.posture == Posture::Proactive && !self.after.is_empty()
    }

    /// A Reactive trigger on `expect` with Prefect's defaults (threshold 1, within 0,
    /// empty specs), for building triggers in code.
    pub fn reactive(expect: &[&str]) -> EventTrigger {
        EventTrigger {
            id: None,
            match_: ResourceSpec::default(),
            match_related: Vec::new(),
            after: Vec::new(),
            expect: expect.iter().map(|s| String::from(*s)).collect(),
            for_each: Vec::new(),
            posture: Posture::Reactive,
            threshold: 1,
            within: Duration::ZERO,
        }
    }

    /// See [`Trigger::validate`].
    pub fn validate(&mut self) -> Result<(), TriggerError> {
        self.validate_at("")
    }

    fn validate_at(&mut self, path: &str) -> Result<(), TriggerError> {
        TriggerDef::Event(self.def()).validate_at(&def::Path::Root(path))?;
        self.normalize();
        Ok(())
    }

    fn normalize(&mut self) {
        for set in [&mut self.after, &mut self.expect, &mut self.for_each] {
            set.sort_unstable();
            set.dedup();
        }
        self.within = self.def().effective_within();
    }

    /// The definition as a borrowed view.
    pub fn def(&self) -> EventTriggerDef<'_> {
        EventTriggerDef {
            id: self.id.as_deref(),
            match_: SpecDef::Owned(&self.match_),
            match_related: SpecDefs::Owned(&self.match_related),
            after: Strs::Owned(&self.after),
            expect: Strs::Owned(&self.expect),
            for_each: Strs::Owned(&self.for_each),
            posture: self.posture,
            threshold: self.threshold,
            within: self.within,
        }
    }

    /// Reactive and `within == 0`: every covered event counts, whatever its window.
    pub fn immediate(&self) -> bool {
        self.posture == Posture::Reactive && self.within.is_zero()
    }
}

#[cfg(feature = "alloc")]
impl CompoundTrigger {
    /// Prefect's `num_expected_firings`: 1 for `any`, the number of children for
    /// `all`, else the integer.
    pub fn num_expected_firings(&self) -> usize {
        match self.require {
            Require::Any => 1,
            Require::All => self.triggers.len(),
            Require::AtLeast(n) => n as usize,
        }
    }
}

#[cfg(feature = "alloc")]
impl SequenceTrigger {
    /// Prefect's `num_expected_firings`: every child.
    pub fn num_expected_firings(&self) -> usize {
        self.triggers.len()
    }
}

#[cfg(feature = "alloc")]
impl ResourceSpec {
    /// Whether the spec is empty (matches every resource).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A spec from `(label, patterns)` pairs.
    pub fn from_pairs(pairs: &[(&str, &[&str])]) -> ResourceSpec {
        ResourceSpec {
            labels: pairs
                .iter()
                .map(|(k, vs)| {
                    (
                        String::from(*k),
                        vs.iter().map(|v| String::from(*v)).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// A compound trigger's integer `require` must be in `1..=children`.
pub(crate) fn check_require(n: i64, children: usize, path: &def::Path) -> Result<(), TriggerError> {
    let kind = if n < 1 {
        TriggerErrorKind::RequireBelowOne(n)
    } else if n as u64 > children as u64 {
        TriggerErrorKind::RequireAboveChildren {
            require: n,
            children,
        }
    } else {
        return Ok(());
    };
    Err(TriggerError::at(def::Field(path, "require"), kind))
}

/// The UUID spellings pydantic accepts: hyphenated, 32 hex digits, `{…}`-braced, or
/// `urn:uuid:`-prefixed.
pub(crate) fn is_uuid(text: &str) -> bool {
    crate::event::EventId::parse_lenient(text).is_some()
}

#[cfg(feature = "alloc")]
/// `path.field` (or `field` at the root).
pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        String::from(field)
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(feature = "alloc")]
/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

#[cfg(test)]
mod tests;
