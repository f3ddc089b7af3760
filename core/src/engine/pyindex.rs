//! Prefect's `_triggers_by_expect` (index pattern → set of trigger ids) as CPython
//! lays it out, on the engine's storage, and the `candidate_ids` set
//! `find_interested_triggers` builds from it (see [`super::pyset`]).
//!
//! The dict's keys are not copied: a pattern is named by the first event-trigger
//! node indexed under it and the number of the pattern among that node's
//! [`index_keys`](crate::matcher::CompiledEventTrigger::index_keys); the dict's
//! insertion order is the order of the pattern list. Each pattern's set of trigger
//! ids is a CPython table in one [`SetArena`] of trigger-node storage, its items the
//! event-trigger nodes (their hash is CPython's `hash()` of the node's UUID id).
//! Sets are only ever added to: when a trigger leaves (removed or replaced), the
//! index is built again from the loaded triggers, as Prefect's is.
//!
//! On fixed storage the index holds at most `TRIGGERS` patterns and 16 × `TRIGGERS`
//! table slots: [`PyIndex::room_for`] refuses a trigger whose patterns might not fit,
//! before anything changes. The union is built in a scratch buffer of 16 slots per
//! trigger node, which always has room (see [`Union`]).

use super::pyset::{built_sizes, ArenaElement, SetArena, SetEntry, Union};
use super::{EventNode, Node, NodeKind};
use crate::event::EventId;
use crate::store::{Seq, Storage};
use crate::trigger::TriggerDef;

/// One pattern (a key of the dict), where its text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The first event-trigger node indexed under the pattern.
    node: u32,
    /// Its number among that node's index keys.
    key: u32,
    /// A hash of the text, to skip most comparisons.
    hash: u32,
}

/// The id set of each pattern, by pattern number.
type IdSets<S> = SetArena<
    u32,
    u32,
    <S as Storage>::TriggerTable<u32, SetEntry>,
    <S as Storage>::TriggerSorted<u32, u32>,
    <S as Storage>::TriggerSeq<ArenaElement<u32>>,
>;

/// Prefect's `_triggers_by_expect`, or nothing (`on` false) while some loaded event
/// trigger has no UUID id (its order is then not emulated).
pub(crate) struct PyIndex<S: Storage> {
    on: bool,
    /// The patterns in insertion order.
    patterns: S::TriggerSeq<Pattern>,
    /// Pattern number → its trigger ids (event-trigger nodes).
    sets: IdSets<S>,
    /// Where `candidate_ids` is built.
    scratch: S::TriggerSeq<ArenaElement<u32>>,
}

impl<S: Storage> Default for PyIndex<S> {
    fn default() -> Self {
        PyIndex {
            on: true,
            patterns: Default::default(),
            sets: Default::default(),
            scratch: Default::default(),
        }
    }
}

/// Live event-trigger node `n`.
fn event<S: Storage>(nodes: &[Option<Node<S>>], n: u32) -> Option<&EventNode<S>> {
    match nodes.get(n as usize) {
        Some(Some(Node {
            kind: NodeKind::Event(ev),
            ..
        })) => Some(ev),
        _ => None,
    }
}

/// CPython's hash of event-trigger node `n`'s id (0 if it has none: never indexed).
fn py_hash<S: Storage>(nodes: &[Option<Node<S>>], n: u32) -> u64 {
    event(nodes, n).and_then(|ev| ev.py_hash).unwrap_or(0)
}

/// The text of a pattern.
fn text<S: Storage>(nodes: &[Option<Node<S>>], p: Pattern) -> Option<&str> {
    event(nodes, p.node)?
        .compiled
        .index_keys()
        .nth(p.key as usize)
}

/// FNV-1a of a pattern's text, folded to 32 bits.
fn text_hash(s: &str) -> u32 {
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (h ^ (h >> 32)) as u32
}

impl<S: Storage> PyIndex<S> {
    /// Empties the index (to build it again with [`index`](Self::index)).
    pub(crate) fn clear(&mut self) {
        self.on = true;
        self.patterns.clear();
        self.sets.clear();
    }

    /// Whether the index is kept (every indexed trigger has a UUID id).
    #[cfg(test)]
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Turns the index off until the next [`clear`](Self::clear).
    fn turn_off(&mut self) {
        self.on = false;
        self.patterns.clear();
        self.sets.clear();
    }

    /// `_index_trigger` for these event-trigger nodes, in this order (load order,
    /// after the ones indexed already); turns the index off if one has no UUID id.
    pub(crate) fn index(&mut self, nodes: &[Option<Node<S>>], fresh: &[u32]) {
        if !self.on {
            return;
        }
        if fresh
            .iter()
            .any(|&n| event(nodes, n).is_some_and(|ev| ev.py_hash.is_none()))
        {
            self.turn_off();
            return;
        }
        for &n in fresh {
            let Some(ev) = event(nodes, n) else { continue };
            for (k, key) in ev.compiled.index_keys().enumerate() {
                let hash = text_hash(key);
                let known = self
                    .patterns
                    .iter()
                    .position(|&p| p.hash == hash && text(nodes, p) == Some(key));
                let p = match known {
                    Some(p) => p,
                    None => {
                        let pattern = Pattern {
                            node: n,
                            key: k as u32,
                            hash,
                        };
                        if self.patterns.try_push(pattern).is_err() {
                            return self.no_room();
                        }
                        self.patterns.len() - 1
                    }
                };
                if !self.sets.add(p as u32, n, |&m| py_hash(nodes, m)) {
                    return self.no_room();
                }
            }
        }
    }

    /// The index did not fit, which [`room_for`](Self::room_for) rules out: it is
    /// turned off (load order is kept) rather than wrong.
    fn no_room(&mut self) {
        debug_assert!(false, "the CPython index outgrew its storage");
        self.turn_off();
    }

    /// Whether, on fixed storage, the index surely has room once the event triggers
    /// of `def` are loaded beside the live ones in `nodes`. A bound, not the exact
    /// need: every live trigger with a UUID id is counted (those a new trigger
    /// replaces too), each pattern's set at the size `n` adds make it, plus room for
    /// the largest table a resize gives up. Always true on growable storage, and when
    /// the index will surely be off (a trigger without any id).
    pub(crate) fn room_for(&self, nodes: &[Option<Node<S>>], def: &TriggerDef<'_>) -> bool {
        let (max_sets, max_slots) = self.sets.bounds();
        let max_sets = match (max_sets, self.patterns.max_len()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if max_sets.is_none() && max_slots.is_none() {
            return true;
        }
        let mut off = nodes.iter().flatten().any(|node| {
            matches!(&node.kind, NodeKind::Event(ev)
                if !ev.shadowed && ev.py_hash.is_none() && ev.compiled.prefect_id().is_none())
        });
        def.for_each_event(&mut |t| off |= t.id.is_none());
        if off {
            return true;
        }
        let (mut patterns, mut slots, mut largest_before, mut resizes) = (0, 0, 0, false);
        let mut i = 0usize;
        each_key(nodes, def, &mut |key| {
            let (mut j, mut first, mut n) = (0usize, true, 0usize);
            each_key(nodes, def, &mut |other| {
                if other == key {
                    if j < i {
                        first = false;
                    } else {
                        n += 1;
                    }
                }
                j += 1;
            });
            i += 1;
            if first {
                let (size, before) = built_sizes(n);
                patterns += 1;
                slots += size;
                largest_before = largest_before.max(before);
                resizes |= before > 0;
            }
        });
        max_sets.is_none_or(|m| patterns + usize::from(resizes) <= m)
            && max_slots.is_none_or(|m| slots + largest_before <= m)
    }

    /// Reorders `candidates` (event-trigger nodes interested in an event named
    /// `name`) as Prefect iterates `candidate_ids`: a set updated from the id set of
    /// every pattern that fnmatches the name, in the dict's order. Leaves them as they
    /// are when the index is off or a candidate is not in the set.
    pub(crate) fn order(&mut self, nodes: &[Option<Node<S>>], name: &str, candidates: &mut [u32]) {
        if !self.on {
            return;
        }
        let hash = |&m: &u32| py_hash(nodes, m);
        let Some(mut union) = Union::start(&mut self.scratch) else {
            return;
        };
        for (p, &pattern) in self.patterns.iter().enumerate() {
            if !text(nodes, pattern).is_some_and(|t| crate::matcher::fnmatch(t, name)) {
                continue;
            }
            let Some((table, counts)) = self.sets.table_of(&(p as u32)) else {
                continue;
            };
            if !union.update(&mut self.scratch, table, counts, hash) {
                // (16 slots per trigger node always hold it)
                debug_assert!(false, "candidate_ids outgrew its scratch");
                return;
            }
        }
        let scratch = &self.scratch;
        let at = |c: &u32| union.position(scratch, hash(c), *c);
        if candidates.iter().all(|c| at(c).is_some()) {
            candidates.sort_unstable_by_key(|c| at(c));
        }
    }
}

/// Calls `f` with every index key of every live, not replaced event trigger in
/// `nodes` with a UUID id, then of every event trigger in `def` with one (keys of
/// one trigger once each).
fn each_key<S: Storage>(nodes: &[Option<Node<S>>], def: &TriggerDef<'_>, f: &mut dyn FnMut(&str)) {
    for node in nodes.iter().flatten() {
        if let NodeKind::Event(ev) = &node.kind {
            if !ev.shadowed && ev.py_hash.is_some() {
                ev.compiled.index_keys().for_each(&mut *f);
            }
        }
    }
    def.for_each_event(&mut |t| {
        if t.id.and_then(EventId::parse).is_none() {
            return;
        }
        if t.expect.is_empty() {
            f("*");
        } else {
            t.expect.union(t.after).for_each(&mut *f);
        }
    });
}

#[cfg(test)]
mod tests;
