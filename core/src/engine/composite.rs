//! Compound and sequence triggers (`evaluate_composite_trigger`,
//! `models/composite_trigger_child_firing.py`).

use alloc::vec::Vec;

use super::{CompositeRule, Engine, Firing, Node, NodeKind, StoredChild};
use crate::store::Storage;

impl<S: Storage> Engine<S> {
    /// A child of composite `parent` fired: store it, and fire the parent when ready.
    ///
    /// As Prefect: a parent that needs one firing (`any`, `require: 1`, a one-child
    /// sequence) fires at once; otherwise stored child firings older than `within`
    /// (on the wall-clock firing instants) are dropped, this firing replaces the
    /// child's previous one, and the parent fires when `require` distinct children
    /// (compound) or every child in declared order of firing instants (sequence) are
    /// stored; the stored firings are then cleared.
    pub(crate) fn evaluate_composite(&mut self, parent: u32, child: u32, firing: Firing) {
        let (root, own_index) = match &self.nodes[parent as usize] {
            Some(n) => (n.root, n.parent.map(|_| n.child_index)),
            None => return,
        };
        let child_index = match &self.nodes[child as usize] {
            Some(n) => n.child_index as usize,
            None => return,
        };
        let at = self.wall;
        let kind = firing.kind;
        let event = firing.event;
        let ready: Option<Vec<Firing>> = {
            let Some(Node {
                kind: NodeKind::Composite(c),
                ..
            }) = &mut self.nodes[parent as usize]
            else {
                return;
            };
            let need = match c.rule {
                CompositeRule::AtLeast(n) => n,
                CompositeRule::Sequence => c.children.len(),
            };
            if need <= 1 {
                Some(alloc::vec![firing])
            } else {
                if let Some(within) = c.within {
                    let cutoff = firing.at.saturating_sub(within);
                    for slot in c.stored.iter_mut() {
                        if slot.as_ref().is_some_and(|s| s.firing.at < cutoff) {
                            *slot = None;
                        }
                    }
                }
                if child_index < c.stored.len() {
                    c.stored[child_index] = Some(StoredChild { firing });
                }
                // rows as the database returns them
                let rows: Vec<usize> = c
                    .row_order
                    .iter()
                    .copied()
                    .filter(|&i| c.stored.get(i).is_some_and(Option::is_some))
                    .collect();
                let ok = match c.rule {
                    CompositeRule::AtLeast(n) => rows.len() >= n,
                    CompositeRule::Sequence => {
                        let mut by_time = rows.clone();
                        // stable: ties keep row order
                        by_time.sort_by_key(|&i| c.stored[i].as_ref().map(|s| s.firing.at));
                        by_time.len() == c.children.len()
                            && by_time.iter().enumerate().all(|(pos, &i)| pos == i)
                    }
                };
                if ok {
                    let firings: Vec<Firing> = rows
                        .iter()
                        .filter_map(|&i| c.stored[i].take().map(|s| s.firing))
                        .collect();
                    Some(firings)
                } else {
                    None
                }
            }
        };
        if let Some(children) = ready {
            let composite = Firing {
                trigger: root,
                child: own_index,
                labels: Vec::new(),
                event,
                at,
                kind,
                children,
            };
            self.dispatch(parent, composite);
        }
    }
}
