//! Compound and sequence triggers (`evaluate_composite_trigger`,
//! `models/composite_trigger_child_firing.py`).
//!
//! The stored child firings (`composite_trigger_child_firing` rows) are kept packed
//! in one engine-wide table by child node (`Engine::stored`): a node is the child of
//! one composite at most and has at most one stored firing there, so the table needs
//! one entry per trigger node, however the trees are shaped.

use super::firing::Head;
use super::load::Children;
use super::{CompositeNode, CompositeRule, Engine, FiringBuf, Node, NodeKind};
use crate::store::{Seq, Storage};
use crate::time::Instant;

impl<S: Storage> Engine<S> {
    /// The firing stored for child node `child` in its parent.
    pub(crate) fn stored_firing(&self, child: u32) -> Option<&FiringBuf<S>> {
        self.stored.get(child as usize).and_then(Option::as_ref)
    }

    /// Forgets the firing stored for child node `child`.
    pub(crate) fn clear_stored(&mut self, child: u32) {
        if let Some(slot) = self.stored.get_mut(child as usize) {
            *slot = None;
        }
    }

    /// Stores `firing` for child node `child` (replacing its previous one); false
    /// when the table has no room for the node (never for a loaded node: the table
    /// is as long as the node table at most).
    pub(crate) fn store_firing(&mut self, child: u32, firing: FiringBuf<S>) -> bool {
        let index = child as usize;
        while self.stored.len() <= index {
            if self.stored.try_push(None).is_err() {
                return false;
            }
        }
        self.stored[index] = Some(firing);
        true
    }

    /// A child of composite `parent` fired: store it, and fire the parent when ready.
    ///
    /// As Prefect: a parent that needs one firing (`any`, `require: 1`, a one-child
    /// sequence) fires at once; otherwise stored child firings older than `within`
    /// (on the wall-clock firing instants) are dropped, this firing replaces the
    /// child's previous one, and the parent fires when `require` distinct children
    /// (compound) or every child in declared order of firing instants (sequence) are
    /// stored; the stored firings are then cleared.
    pub(crate) fn evaluate_composite(&mut self, parent: u32, child: u32, firing: FiringBuf<S>) {
        if self.nodes[child as usize].is_none() {
            return;
        }
        let Some(Node {
            kind: NodeKind::Composite(c),
            root,
            parent: grandparent,
            child_index,
            ..
        }) = &self.nodes[parent as usize]
        else {
            return;
        };
        let view = firing.view();
        let head = Head {
            trigger: *root,
            child: grandparent.map(|_| *child_index),
            event: view.event,
            at: self.wall,
            kind: view.kind,
        };
        let need = match c.rule {
            CompositeRule::AtLeast(n) => n,
            CompositeRule::Sequence => c.child_count as usize,
        };
        if need <= 1 {
            let packed = FiringBuf::<S>::pack(&head, core::iter::empty(), core::iter::once(view));
            return self.fire_composite(parent, packed);
        }
        let firing_at = view.at;
        if let Some(within) = c.within {
            let cutoff = firing_at.saturating_sub(within);
            for n in Children::of(&self.nodes, c) {
                if let Some(slot) = self.stored.get_mut(n as usize) {
                    if slot.as_ref().is_some_and(|s| s.at() < cutoff) {
                        *slot = None;
                    }
                }
            }
        }
        // (the table has room for every loaded node)
        if !self.store_firing(child, firing) {
            debug_assert!(false, "no room to store a child firing");
            return;
        }
        let Some(Node {
            kind: NodeKind::Composite(c),
            ..
        }) = &self.nodes[parent as usize]
        else {
            return;
        };
        if !self.composite_ready(c) {
            return;
        }
        // rows as the database returns them
        let nodes = &self.nodes;
        let rows = (0..c.child_count)
            .filter_map(|r| {
                Children::of(nodes, c)
                    .find(|&n| nodes[n as usize].as_ref().map(|n| n.row) == Some(r))
            })
            .filter_map(|n| self.stored_firing(n))
            .map(|f| f.view());
        let packed = FiringBuf::<S>::pack(&head, core::iter::empty(), rows);
        for n in Children::of(&self.nodes, c) {
            if let Some(slot) = self.stored.get_mut(n as usize) {
                *slot = None;
            }
        }
        self.fire_composite(parent, packed);
    }

    /// Whether composite `c`'s stored child firings make it fire: `require` distinct
    /// children (compound), or every child with firing instants in declared order,
    /// ties broken by row order (sequence).
    fn composite_ready(&self, c: &CompositeNode) -> bool {
        // (firing instant, row) of each child, in declared order
        let rows = Children::of(&self.nodes, c).map(|n| {
            let at = self.stored_firing(n).map(|f| f.at());
            (at, self.nodes[n as usize].as_ref().map(|n| n.row))
        });
        match c.rule {
            CompositeRule::AtLeast(n) => rows.filter(|(at, _)| at.is_some()).count() >= n,
            CompositeRule::Sequence => {
                // a stable sort of the rows by instant gives declared order exactly
                // when each child sorts before the next one
                let mut previous: Option<(Option<Instant>, Option<u32>)> = None;
                rows.into_iter().all(|row| {
                    let in_order = row.0.is_some() && previous.is_none_or(|p| p < row);
                    previous = Some(row);
                    in_order
                })
            }
        }
    }

    /// Hands on a composite firing (packed in advance; it always fits, as
    /// `add_trigger` refused a trigger whose firings could be longer).
    fn fire_composite(&mut self, parent: u32, packed: Option<FiringBuf<S>>) {
        match packed {
            Some(firing) => self.dispatch(parent, firing),
            None => debug_assert!(false, "a firing longer than its trigger's bound"),
        }
    }
}
