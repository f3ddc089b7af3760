//! Loading and removing triggers: the tree of nodes, the router, the proactive list
//! and the CPython set order of composite children.

use alloc::vec::Vec;

use super::{
    capacity, keys, pyset, snapshot, AddTriggerError, CompositeNode, CompositeRule, Engine,
    EventNode, Node, NodeKind, TriggerId,
};
use crate::event::EventId;
use crate::matcher::CompiledEventTrigger;
use crate::store::{Seq, Storage};
use crate::trigger::{Posture, Require, Trigger};

impl<S: Storage> Engine<S> {
    /// Loads a trigger (validated as Prefect validates it) under `id`.
    ///
    /// Nested compound and sequence triggers are supported to any depth. Triggers are
    /// evaluated in load order, as Prefect evaluates automations.
    ///
    /// Event triggers are known to Prefect by their own `id`: an event trigger (at any
    /// depth) that carries the explicit `id` of an event trigger loaded before it — in
    /// another tree or earlier in this one — replaces that one, which is never
    /// evaluated again and loses its state, as in Prefect's trigger cache keyed by id.
    /// Its tree stays loaded (a composite waiting for it then never completes). Give
    /// every trigger its own id, or none, to avoid this.
    pub fn add_trigger(
        &mut self,
        id: TriggerId,
        mut trigger: Trigger,
    ) -> Result<(), AddTriggerError> {
        if self.roots.contains_key(&id) {
            return Err(AddTriggerError::DuplicateId(id));
        }
        trigger.validate()?;
        // node indices must stay below MAX_TRIGGER_NODES (free slots are reused first)
        let fresh = trigger
            .all_triggers()
            .len()
            .saturating_sub(self.free_nodes.len());
        if self.nodes.len() + fresh > keys::MAX_TRIGGER_NODES as usize {
            return Err(AddTriggerError::TooManyTriggers);
        }
        let (events, holding, globals) = capacity::count_event_nodes(trigger.event_triggers());
        self.admit_nodes(trigger.all_triggers().len(), events, holding, globals)
            .map_err(AddTriggerError::Full)?;
        self.admit_firings(&trigger)
            .map_err(AddTriggerError::Full)?;
        let first_new = self.next_order;
        let root = self.add_node(&trigger, id, None, 0);
        self.roots.insert(id, root);
        self.fingerprints
            .insert(id, snapshot::fingerprint(&trigger));
        self.route_cache.valid = false;
        if core::mem::take(&mut self.py_index_stale) {
            // a replaced trigger has to leave the index: rebuild it
            self.py_index = Some(Vec::new());
            self.index_py(0);
        } else {
            self.index_py(first_new);
        }
        self.recount_nodes();
        // a deferred tick resumes by position in the proactive list: start it over
        self.resume = capacity::TickResume::Start;
        Ok(())
    }

    /// Takes event-trigger node `n` out of evaluation for good: out of the router and
    /// the proactive list, its keys and their timers dropped.
    fn shadow(&mut self, n: u32) {
        let Some(Node {
            kind: NodeKind::Event(ev),
            ..
        }) = &mut self.nodes[n as usize]
        else {
            return;
        };
        ev.shadowed = true;
        self.py_index_stale = true;
        ev.satisfied.clear();
        ev.next_run = None;
        ev.keys = 0;
        self.router.remove(n, &ev.compiled);
        self.proactive.retain(|&p| p != n);
        self.drop_keys_of(&[n]);
    }

    /// Drops every key of the given trigger nodes, with its timer.
    fn drop_keys_of(&mut self, nodes: &[u32]) {
        let doomed_keys: Vec<u32> = self
            .keys
            .iter()
            .filter(|(_, t)| nodes.contains(t))
            .map(|(k, _)| k)
            .collect();
        for k in doomed_keys {
            self.cancel_timer(k);
            if let Some(i) = self.batch.iter().position(|&b| b == k) {
                self.batch.remove_at(i);
            }
            self.keys.remove(k);
        }
    }

    pub(crate) fn alloc_node(&mut self, node: Node) -> u32 {
        match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        }
    }

    pub(crate) fn add_node(
        &mut self,
        trigger: &Trigger,
        root: TriggerId,
        parent: Option<u32>,
        child_index: u32,
    ) -> u32 {
        let order = self.next_order;
        self.next_order += 1;
        match trigger {
            Trigger::Event(t) => {
                let compiled = CompiledEventTrigger::compile(t);
                let proactive = t.posture == Posture::Proactive;
                let idx = self.alloc_node(Node {
                    kind: NodeKind::Event(EventNode {
                        compiled,
                        satisfied: Vec::new(),
                        next_run: None,
                        keys: 0,
                        py_hash: t
                            .id
                            .as_deref()
                            .and_then(EventId::parse)
                            .map(|u| pyset::py_hash_uuid(u.0)),
                        prefect_id: t.id.clone(),
                        shadowed: false,
                    }),
                    parent,
                    child_index,
                    root,
                    order,
                });
                if let Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) = &self.nodes[idx as usize]
                {
                    self.router.insert(idx, &ev.compiled);
                }
                if proactive {
                    self.proactive.push(idx);
                }
                if let Some(pid) = &t.id {
                    if let Some(earlier) = self.by_prefect_id.insert(pid.clone(), idx) {
                        self.shadow(earlier);
                    }
                }
                idx
            }
            Trigger::Compound(_) | Trigger::Sequence(_) => {
                let (rule, within, children) = match trigger {
                    Trigger::Compound(c) => {
                        let need = match c.require {
                            Require::Any => 1,
                            Require::All => c.triggers.len(),
                            Require::AtLeast(n) => n as usize,
                        };
                        (CompositeRule::AtLeast(need), c.within, &c.triggers)
                    }
                    Trigger::Sequence(s) => (CompositeRule::Sequence, s.within, &s.triggers),
                    Trigger::Event(_) => unreachable!("matched above"),
                };
                let uuids: Vec<Option<EventId>> = children
                    .iter()
                    .map(|c| c.id().and_then(EventId::parse))
                    .collect();
                let mut row_order: Vec<usize> = (0..children.len()).collect();
                if uuids.iter().all(Option::is_some) {
                    row_order.sort_by_key(|&i| uuids[i]);
                }
                let idx = self.alloc_node(Node {
                    kind: NodeKind::Composite(CompositeNode {
                        rule,
                        within,
                        children: Vec::new(),
                        row_order,
                    }),
                    parent,
                    child_index,
                    root,
                    order,
                });
                let mut child_idxs = Vec::with_capacity(children.len());
                for (i, child) in children.iter().enumerate() {
                    child_idxs.push(self.add_node(child, root, Some(idx), i as u32));
                }
                if let Some(Node {
                    kind: NodeKind::Composite(c),
                    ..
                }) = &mut self.nodes[idx as usize]
                {
                    c.children = child_idxs;
                }
                idx
            }
        }
    }

    /// Unloads a trigger and forgets all its state (windows, held events, stored
    /// child firings). Returns whether it was loaded.
    ///
    /// Cost: proportional to the number of tracked keys (removal is rare; events and
    /// ticks never pay for it).
    pub fn remove_trigger(&mut self, id: TriggerId) -> bool {
        let Some(root) = self.roots.remove(&id) else {
            return false;
        };
        self.fingerprints.remove(&id);
        self.route_cache.valid = false;
        let mut doomed = Vec::new();
        let mut stack = alloc::vec![root];
        while let Some(n) = stack.pop() {
            doomed.push(n);
            if let Some(Node {
                kind: NodeKind::Composite(c),
                ..
            }) = &self.nodes[n as usize]
            {
                stack.extend_from_slice(&c.children);
            }
        }
        for &n in &doomed {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[n as usize]
            {
                if !ev.shadowed {
                    self.router.remove(n, &ev.compiled);
                }
                if let Some(pid) = &ev.prefect_id {
                    if self.by_prefect_id.get(pid) == Some(&n) {
                        self.by_prefect_id.remove(pid);
                    }
                }
            }
        }
        self.drop_keys_of(&doomed);
        self.proactive.retain(|p| !doomed.contains(p));
        for n in doomed {
            self.clear_stored(n);
            self.nodes[n as usize] = None;
            self.free_nodes.push(n);
        }
        self.py_index = Some(Vec::new());
        self.index_py(0);
        self.recount_nodes();
        self.resume = capacity::TickResume::Start;
        true
    }

    /// Adds the event-trigger nodes loaded at or after `from_order` to the CPython
    /// index emulation (Prefect's `_index_trigger`), in load order.
    pub(crate) fn index_py(&mut self, from_order: u64) {
        let mut fresh: Vec<(u64, u32)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n {
                Some(n)
                    if n.order >= from_order
                        && matches!(&n.kind, NodeKind::Event(ev) if !ev.shadowed) =>
                {
                    Some((n.order, i as u32))
                }
                _ => None,
            })
            .collect();
        fresh.sort_unstable();
        for (_, idx) in fresh {
            let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = &self.nodes[idx as usize]
            else {
                continue;
            };
            let (Some(index), Some(hash)) = (self.py_index.as_mut(), ev.py_hash) else {
                self.py_index = None;
                return;
            };
            for key in ev.compiled.index_keys() {
                match index.iter_mut().find(|(p, _)| p == key) {
                    Some((_, set)) => set.add(hash, idx),
                    None => {
                        let mut set = pyset::PySet::default();
                        set.add(hash, idx);
                        index.push((key.into(), set));
                    }
                }
            }
        }
    }
}
