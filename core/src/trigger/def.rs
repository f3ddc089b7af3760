//! Borrowed trigger definitions: [`TriggerDef`] and its parts, usable without `alloc`.
//!
//! Every view is `Copy` and either borrows plain slices (`Borrowed` variants, for a
//! trigger written as a `const` or `static` by a caller without `alloc`) or an owned
//! [`Trigger`](super::Trigger)'s fields (`Owned` variants, with `alloc`; see
//! [`Trigger::def`](super::Trigger::def)). The engine loads triggers through these
//! views only ([`TriggerSource`]).
//!
//! A definition is taken as written: sets (`after`, `expect`, `for_each`) may be
//! unsorted and hold duplicates, and a Proactive `within` may be 0. Checking
//! ([`TriggerDef::validate`]) never changes it; the normalized form (sorted, unique
//! sets; a zero Proactive `within` read as 10 s) is what
//! [`sorted_unique`](Strs::sorted_unique) and
//! [`EventTriggerDef::effective_within`] yield.
//!
//! ```
//! use overdue_core::trigger::{EventTriggerDef, Posture, SpecDef, SpecDefs, Strs, TriggerDef};
//! use overdue_core::Duration;
//!
//! static ZOMBIE: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
//!     id: None,
//!     match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*"])]),
//!     match_related: SpecDefs::Borrowed(&[]),
//!     after: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
//!     expect: Strs::Borrowed(&["prefect.flow-run.*"]),
//!     for_each: Strs::Borrowed(&["prefect.resource.id"]),
//!     posture: Posture::Proactive,
//!     threshold: 1,
//!     within: Duration::from_secs(90),
//! });
//! assert_eq!(ZOMBIE.node_count(), 1);
//! ```

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::string::String;

use super::{Posture, Require, PROACTIVE_MIN_WITHIN};
#[cfg(feature = "alloc")]
use super::{ResourceSpec, Trigger};
use crate::time::Duration;

/// A list of strings: `after`, `expect`, `for_each`, or one label's patterns.
#[derive(Clone, Copy, Debug)]
pub enum Strs<'a> {
    /// Borrowed string slices.
    Borrowed(&'a [&'a str]),
    /// An owned trigger's strings.
    #[cfg(feature = "alloc")]
    Owned(&'a [String]),
}

impl<'a> Strs<'a> {
    /// The empty list.
    pub const EMPTY: Strs<'static> = Strs::Borrowed(&[]);

    /// Number of strings (duplicates included).
    pub fn len(&self) -> usize {
        match self {
            Strs::Borrowed(s) => s.len(),
            #[cfg(feature = "alloc")]
            Strs::Owned(s) => s.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th string.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match *self {
            Strs::Borrowed(s) => s.get(i).copied(),
            #[cfg(feature = "alloc")]
            Strs::Owned(s) => s.get(i).map(String::as_str),
        }
    }

    /// The strings in order as written.
    pub fn iter(&self) -> StrsIter<'a> {
        StrsIter {
            strs: *self,
            next: 0,
        }
    }

    /// The strings sorted (by bytes, as Rust and Python order `str`) and without
    /// duplicates: the set Prefect keeps. Allocation-free (a selection per element).
    pub fn sorted_unique(&self) -> SortedUnique<'a> {
        SortedUnique {
            lists: [*self, Strs::EMPTY],
            last: None,
        }
    }

    /// The sorted, unique union of two lists.
    pub fn union(&self, other: Strs<'a>) -> SortedUnique<'a> {
        SortedUnique {
            lists: [*self, other],
            last: None,
        }
    }
}

/// Iterator over a [`Strs`] in written order.
#[derive(Clone, Debug)]
pub struct StrsIter<'a> {
    strs: Strs<'a>,
    next: usize,
}

impl<'a> Iterator for StrsIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.strs.get(self.next)?;
        self.next += 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.strs.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for StrsIter<'_> {}

/// The sorted, de-duplicated strings of one or two [`Strs`] (see
/// [`Strs::sorted_unique`]).
#[derive(Clone, Debug)]
pub struct SortedUnique<'a> {
    lists: [Strs<'a>; 2],
    last: Option<&'a str>,
}

impl<'a> Iterator for SortedUnique<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let last = self.last;
        let next = self
            .lists
            .iter()
            .flat_map(Strs::iter)
            .filter(|s| last.is_none_or(|l| *s > l))
            .min()?;
        self.last = Some(next);
        Some(next)
    }
}

/// A resource spec: label name → patterns (any may match); see
/// [`ResourceSpec`](super::ResourceSpec).
#[derive(Clone, Copy, Debug)]
pub enum SpecDef<'a> {
    /// Borrowed `(label, patterns)` pairs in document order.
    Borrowed(&'a [(&'a str, &'a [&'a str])]),
    /// An owned trigger's spec.
    #[cfg(feature = "alloc")]
    Owned(&'a ResourceSpec),
}

impl<'a> SpecDef<'a> {
    /// The spec that matches everything.
    pub const EMPTY: SpecDef<'static> = SpecDef::Borrowed(&[]);

    /// Number of labels.
    pub fn len(&self) -> usize {
        match self {
            SpecDef::Borrowed(s) => s.len(),
            #[cfg(feature = "alloc")]
            SpecDef::Owned(s) => s.labels.len(),
        }
    }

    /// Whether the spec has no label (it matches every resource).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th `(label, patterns)`.
    pub fn get(&self, i: usize) -> Option<(&'a str, Strs<'a>)> {
        match *self {
            SpecDef::Borrowed(s) => s.get(i).map(|(l, p)| (*l, Strs::Borrowed(p))),
            #[cfg(feature = "alloc")]
            SpecDef::Owned(s) => s
                .labels
                .get(i)
                .map(|(l, p)| (l.as_str(), Strs::Owned(p.as_slice()))),
        }
    }

    /// The `(label, patterns)` pairs in document order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, Strs<'a>)> + 'a {
        let spec = *self;
        (0..spec.len())
            .filter_map(move |i| spec.get(i))
            .fuse_exact(spec.len())
    }
}

/// A list of resource specs (`match_related`).
#[derive(Clone, Copy, Debug)]
pub enum SpecDefs<'a> {
    /// Borrowed specs.
    Borrowed(&'a [SpecDef<'a>]),
    /// An owned trigger's specs.
    #[cfg(feature = "alloc")]
    Owned(&'a [ResourceSpec]),
}

impl<'a> SpecDefs<'a> {
    /// No spec.
    pub const EMPTY: SpecDefs<'static> = SpecDefs::Borrowed(&[]);

    /// Number of specs.
    pub fn len(&self) -> usize {
        match self {
            SpecDefs::Borrowed(s) => s.len(),
            #[cfg(feature = "alloc")]
            SpecDefs::Owned(s) => s.len(),
        }
    }

    /// Whether there is no spec.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th spec.
    pub fn get(&self, i: usize) -> Option<SpecDef<'a>> {
        match *self {
            SpecDefs::Borrowed(s) => s.get(i).copied(),
            #[cfg(feature = "alloc")]
            SpecDefs::Owned(s) => s.get(i).map(SpecDef::Owned),
        }
    }

    /// The specs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SpecDef<'a>> + 'a {
        let specs = *self;
        (0..specs.len())
            .filter_map(move |i| specs.get(i))
            .fuse_exact(specs.len())
    }
}

/// A list of child triggers (of a compound or sequence trigger).
#[derive(Clone, Copy, Debug)]
pub enum TriggerDefs<'a> {
    /// Borrowed definitions.
    Borrowed(&'a [TriggerDef<'a>]),
    /// An owned trigger's children.
    #[cfg(feature = "alloc")]
    Owned(&'a [Trigger]),
}

impl<'a> TriggerDefs<'a> {
    /// Number of children.
    pub fn len(&self) -> usize {
        match self {
            TriggerDefs::Borrowed(s) => s.len(),
            #[cfg(feature = "alloc")]
            TriggerDefs::Owned(s) => s.len(),
        }
    }

    /// Whether there is no child.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th child.
    pub fn get(&self, i: usize) -> Option<TriggerDef<'a>> {
        match *self {
            TriggerDefs::Borrowed(s) => s.get(i).copied(),
            #[cfg(feature = "alloc")]
            TriggerDefs::Owned(s) => s.get(i).map(Trigger::def),
        }
    }

    /// The children in declared order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TriggerDef<'a>> + 'a {
        let children = *self;
        (0..children.len())
            .filter_map(move |i| children.get(i))
            .fuse_exact(children.len())
    }
}

/// An event trigger's definition: Prefect's `EventTrigger` (see
/// [`EventTrigger`](super::EventTrigger) for the fields).
#[derive(Clone, Copy, Debug)]
pub struct EventTriggerDef<'a> {
    /// Prefect's trigger id (a UUID string), if any.
    pub id: Option<&'a str>,
    /// Labels the event's primary resource must match (JSON `match`).
    pub match_: SpecDef<'a>,
    /// Specs that must each match some related resource.
    pub match_related: SpecDefs<'a>,
    /// Events that open a window (a set: order and duplicates do not matter).
    pub after: Strs<'a>,
    /// Events that are counted (a set; empty = every event).
    pub expect: Strs<'a>,
    /// Labels whose values split events into separate buckets (a set).
    pub for_each: Strs<'a>,
    /// Reactive or Proactive.
    pub posture: Posture,
    /// Events needed (Reactive) or expected (Proactive).
    pub threshold: i64,
    /// The window length (Proactive: 0 means 10 s).
    pub within: Duration,
}

impl EventTriggerDef<'_> {
    /// The window length as Prefect's validator leaves it: a Proactive trigger's 0
    /// becomes 10 s.
    pub fn effective_within(&self) -> Duration {
        if self.posture == Posture::Proactive && self.within.is_zero() {
            PROACTIVE_MIN_WITHIN
        } else {
            self.within
        }
    }

    /// Prefect 3.9's `holds_expect_events`: Proactive with `after`.
    pub fn holds_expect_events(&self) -> bool {
        self.posture == Posture::Proactive && !self.after.is_empty()
    }
}

/// A compound trigger's definition: Prefect's `CompoundTrigger`.
#[derive(Clone, Copy, Debug)]
pub struct CompoundTriggerDef<'a> {
    /// Prefect's trigger id, if any.
    pub id: Option<&'a str>,
    /// How many child firings are needed.
    pub require: Require,
    /// The period the child firings must fall in; `None`: unbounded.
    pub within: Option<Duration>,
    /// The children (at least one).
    pub triggers: TriggerDefs<'a>,
}

/// A sequence trigger's definition: Prefect's `SequenceTrigger`.
#[derive(Clone, Copy, Debug)]
pub struct SequenceTriggerDef<'a> {
    /// Prefect's trigger id, if any.
    pub id: Option<&'a str>,
    /// The period the child firings must fall in; `None`: unbounded.
    pub within: Option<Duration>,
    /// The children, in the order they must fire (at least one).
    pub triggers: TriggerDefs<'a>,
}

/// Any trigger's definition, borrowed: the view [`Trigger`](super::Trigger) has with
/// `alloc`, and what a caller without `alloc` writes.
#[derive(Clone, Copy, Debug)]
pub enum TriggerDef<'a> {
    /// An event trigger.
    Event(EventTriggerDef<'a>),
    /// A compound trigger.
    Compound(CompoundTriggerDef<'a>),
    /// A sequence trigger.
    Sequence(SequenceTriggerDef<'a>),
}

impl<'a> TriggerDef<'a> {
    /// Prefect's trigger id, if given.
    pub fn id(&self) -> Option<&'a str> {
        match self {
            TriggerDef::Event(t) => t.id,
            TriggerDef::Compound(t) => t.id,
            TriggerDef::Sequence(t) => t.id,
        }
    }

    /// The direct children (none for an event trigger).
    pub fn children(&self) -> Option<TriggerDefs<'a>> {
        match self {
            TriggerDef::Event(_) => None,
            TriggerDef::Compound(c) => Some(c.triggers),
            TriggerDef::Sequence(s) => Some(s.triggers),
        }
    }

    /// Number of nodes in this tree (this trigger and all its descendants).
    pub fn node_count(&self) -> usize {
        let mut n = 0;
        self.for_each_node(&mut |_| n += 1);
        n
    }

    /// Calls `f` on this trigger and every descendant, parents first (Prefect's
    /// `all_triggers()` order).
    pub fn for_each_node(&self, f: &mut impl FnMut(&TriggerDef<'a>)) {
        f(self);
        if let Some(children) = self.children() {
            for child in children.iter() {
                child.for_each_node(f);
            }
        }
    }

    /// Calls `f` on every event trigger of this tree, in
    /// [`for_each_node`](Self::for_each_node) order.
    pub fn for_each_event(&self, f: &mut impl FnMut(&EventTriggerDef<'a>)) {
        self.for_each_node(&mut |t| {
            if let TriggerDef::Event(e) = t {
                f(e);
            }
        });
    }

    /// Prefect's `type` tag: `"event"`, `"compound"` or `"sequence"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            TriggerDef::Event(_) => "event",
            TriggerDef::Compound(_) => "compound",
            TriggerDef::Sequence(_) => "sequence",
        }
    }
}

/// Anything the engine can load a trigger from: a [`TriggerDef`] or (with `alloc`) a
/// [`Trigger`](super::Trigger), by value or by reference.
pub trait TriggerSource {
    /// The definition, borrowed.
    fn def(&self) -> TriggerDef<'_>;
}

impl TriggerSource for TriggerDef<'_> {
    fn def(&self) -> TriggerDef<'_> {
        *self
    }
}

impl TriggerSource for &TriggerDef<'_> {
    fn def(&self) -> TriggerDef<'_> {
        **self
    }
}

#[cfg(feature = "alloc")]
impl TriggerSource for Trigger {
    fn def(&self) -> TriggerDef<'_> {
        Trigger::def(self)
    }
}

#[cfg(feature = "alloc")]
impl TriggerSource for &Trigger {
    fn def(&self) -> TriggerDef<'_> {
        Trigger::def(self)
    }
}

/// Where a field of a trigger tree is: a base path (from the JSON parser, or empty)
/// and the child indices below it. Written as `triggers[1].triggers[0]`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'p> {
    /// The base path.
    Root(&'p str),
    /// Child `i` of the trigger at the inner path.
    Child(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn is_empty(&self) -> bool {
        matches!(self, Path::Root(""))
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(base) => f.write_str(base),
            Path::Child(parent, i) => {
                if parent.is_empty() {
                    write!(f, "triggers[{i}]")
                } else {
                    write!(f, "{parent}.triggers[{i}]")
                }
            }
        }
    }
}

/// A field at a [`Path`]: `path.field` (or `field` at the root).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'p>(pub(crate) &'p Path<'p>, pub(crate) &'p str);

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(self.1)
        } else {
            write!(f, "{}.{}", self.0, self.1)
        }
    }
}

/// `(0..n).filter_map(..)` never drops an element here (every index is in range), so
/// its length is known: this adapter says so.
trait FuseExact: Iterator + Sized {
    fn fuse_exact(self, len: usize) -> Exact<Self> {
        Exact { inner: self, len }
    }
}

impl<I: Iterator> FuseExact for I {}

/// An iterator with a known length (see [`FuseExact`]).
#[derive(Clone, Debug)]
struct Exact<I> {
    inner: I,
    len: usize,
}

impl<I: Iterator> Iterator for Exact<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.len = self.len.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<I: Iterator> ExactSizeIterator for Exact<I> {}
