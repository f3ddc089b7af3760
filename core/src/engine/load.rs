//! Loading and removing triggers: the tree of nodes, the router, the proactive list
//! and the CPython set order of composite children.

use super::{
    capacity, keys, pyset, AddTriggerError, Capacity, CompositeNode, CompositeRule, Engine,
    EventNode, Node, NodeKind, TriggerId,
};
use crate::event::EventId;
use crate::matcher::{CompiledEventTrigger, RouteIndex};
use crate::store::{Seq, Storage, Table};
use crate::trigger::{Posture, Require, TriggerDef, TriggerSource};

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
    ///
    /// The trigger is read through its borrowed definition ([`TriggerSource`]): an
    /// owned [`Trigger`](crate::trigger::Trigger) (by value or reference) or a
    /// [`TriggerDef`]. It is checked as [`TriggerDef::validate`] checks it and
    /// normalized while compiled, so it need not be validated first.
    ///
    /// # Errors
    ///
    /// Nothing changes when the trigger is refused: [`AddTriggerError::DuplicateId`],
    /// [`AddTriggerError::Invalid`], [`AddTriggerError::TooManyTriggers`], or
    /// [`AddTriggerError::Full`] with [`Capacity::TriggerNodes`], a reservation
    /// ([`Capacity::Keys`], [`Capacity::HeldEvents`]) or [`Capacity::TriggerBytes`]
    /// (one of its event triggers is larger packed than the storage's
    /// `TRIGGER_BYTES`). On fixed storage, [`Capacity::TriggerNodes`] also when the
    /// index of event-name patterns (Prefect's `_triggers_by_expect`, emulated for
    /// its evaluation order; at most `TRIGGERS` distinct patterns in 16 × `TRIGGERS`
    /// CPython table slots) might not hold the trigger's patterns.
    pub fn add_trigger(
        &mut self,
        id: TriggerId,
        trigger: impl TriggerSource,
    ) -> Result<(), AddTriggerError> {
        let def = trigger.def();
        if self.roots.contains_key(&id) {
            return Err(AddTriggerError::DuplicateId(id));
        }
        def.validate()?;
        let node_count = def.node_count();
        // node indices must stay below MAX_TRIGGER_NODES (free slots are reused first)
        let fresh = node_count.saturating_sub(self.free_nodes.len());
        if self.nodes.len() + fresh > keys::MAX_TRIGGER_NODES as usize {
            return Err(AddTriggerError::TooManyTriggers);
        }
        let (events, holding, globals) = capacity::count_event_nodes(&def);
        self.admit_nodes(node_count, events, holding, globals)
            .map_err(AddTriggerError::Full)?;
        let max_bytes = self.config.capacities.trigger_bytes;
        let mut fits = true;
        def.for_each_event(&mut |t| {
            fits &= CompiledEventTrigger::<S::TriggerBytes>::packed_len(t) <= max_bytes;
        });
        if !fits {
            return Err(AddTriggerError::Full(Capacity::TriggerBytes));
        }
        self.admit_firings(&def).map_err(AddTriggerError::Full)?;
        if !self.py_index.room_for(&self.nodes, &def) {
            return Err(AddTriggerError::Full(Capacity::TriggerNodes));
        }
        let first_new = self.next_order;
        // every event node fits its buffer (checked above), so this cannot fail
        let root = self
            .add_node(&def, id, None, 0, 0)
            .ok_or(AddTriggerError::Full(Capacity::TriggerBytes))?;
        // (both tables hold one entry per trigger node: admit_nodes made room)
        let indexed = self.roots.try_insert(id, root).is_ok()
            && self.fingerprints.try_insert(id, def.fingerprint()).is_ok();
        debug_assert!(indexed, "no room for a root admitted by admit_nodes");
        self.route_cache.valid = false;
        if core::mem::take(&mut self.py_index_stale) {
            // a replaced trigger has to leave the index: rebuild it
            self.py_index.clear();
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
        ev.next_run = None;
        ev.keys = 0;
        ev.queued = 0;
        self.router.remove(n, &ev.compiled);
        self.proactive.retain_where(|&p| p != n);
        self.drop_keys_of(KeysOf::Node(n));
    }

    /// Drops every key of the trigger nodes `of`, with its timer.
    fn drop_keys_of(&mut self, of: KeysOf) {
        let (keys, nodes) = (&self.keys, &self.nodes);
        self.satisfied
            .retain_where(|&k| !keys.trigger(k).is_some_and(|t| of.holds(nodes, t)));
        let mut k = 0;
        while k < self.keys.slot_count() {
            if self
                .keys
                .trigger(k)
                .is_some_and(|t| of.holds(&self.nodes, t))
            {
                self.cancel_timer(k);
                if let Some(i) = self.batch.iter().position(|&b| b == k) {
                    self.batch.remove_at(i);
                }
                if let Some(t) = self.keys.trigger(k) {
                    self.keys.remove(k, self.window(t));
                }
            }
            k += 1;
        }
    }

    /// Puts `node` in a free slot of the node table, or at its end; `None` when the
    /// table is full (callers check [`Capacity::TriggerNodes`] first).
    pub(crate) fn alloc_node(&mut self, node: Node<S>) -> Option<u32> {
        match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                Some(i)
            }
            None => {
                self.nodes.try_push(Some(node)).ok()?;
                Some((self.nodes.len() - 1) as u32)
            }
        }
    }

    /// Loads the tree of `trigger`, child number `child_index` of `parent` with rank
    /// `row` among its siblings; `None` (with the nodes loaded so far kept) if an
    /// event trigger does not fit its packed buffer or the node table is full, which
    /// callers check first.
    pub(crate) fn add_node(
        &mut self,
        trigger: &TriggerDef<'_>,
        root: TriggerId,
        parent: Option<u32>,
        child_index: u32,
        row: u32,
    ) -> Option<u32> {
        let order = self.next_order;
        self.next_order += 1;
        // (a node of either kind at this place in the tree)
        let placed = |kind| Node {
            kind,
            parent,
            child_index,
            next_sibling: None,
            row,
            root,
            order,
        };
        let (rule, within, children) = match trigger {
            TriggerDef::Event(t) => {
                let compiled = CompiledEventTrigger::pack(t)?;
                let proactive = t.posture == Posture::Proactive;
                let idx = self.alloc_node(placed(NodeKind::Event(EventNode {
                    compiled,
                    next_run: None,
                    keys: 0,
                    queued: 0,
                    py_hash: t
                        .id
                        .and_then(EventId::parse)
                        .map(|u| pyset::py_hash_uuid(u.0)),
                    shadowed: false,
                })))?;
                if let Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) = &self.nodes[idx as usize]
                {
                    self.router.insert(idx, &ev.compiled);
                }
                if proactive && self.proactive.try_push(idx).is_err() {
                    // (as long as the node table: cannot be full)
                    debug_assert!(false, "the proactive list is full");
                }
                if let Some(pid) = t.id {
                    self.claim_prefect_id(pid, idx);
                }
                return Some(idx);
            }
            TriggerDef::Compound(c) => {
                let need = match c.require {
                    Require::Any => 1,
                    Require::All => c.triggers.len(),
                    Require::AtLeast(n) => n as usize,
                };
                (CompositeRule::AtLeast(need), c.within, c.triggers)
            }
            TriggerDef::Sequence(s) => (CompositeRule::Sequence, s.within, s.triggers),
        };
        let idx = self.alloc_node(placed(NodeKind::Composite(CompositeNode {
            rule,
            within,
            first_child: None,
            child_count: children.len() as u32,
        })))?;
        // rows come back by trigger UUID when every child has one (a stable sort),
        // else in declared order
        let uuid = |i: usize| {
            children
                .get(i)
                .and_then(|c| c.id().and_then(EventId::parse))
        };
        let by_uuid = (0..children.len()).all(|i| uuid(i).is_some());
        let mut last: Option<u32> = None;
        for (i, child) in children.iter().enumerate() {
            let rank = if by_uuid {
                (0..children.len())
                    .filter(|&j| (uuid(j), j) < (uuid(i), i))
                    .count()
            } else {
                i
            };
            let n = self.add_node(&child, root, Some(idx), i as u32, rank as u32)?;
            let link = match last {
                None => match &mut self.nodes[idx as usize] {
                    Some(Node {
                        kind: NodeKind::Composite(c),
                        ..
                    }) => &mut c.first_child,
                    _ => return None,
                },
                Some(prev) => match &mut self.nodes[prev as usize] {
                    Some(node) => &mut node.next_sibling,
                    None => return None,
                },
            };
            *link = Some(n);
            last = Some(n);
        }
        Some(idx)
    }

    /// Event-trigger node `idx` carries Prefect id `pid`: it replaces the node that
    /// owned the id (shadowed) and becomes the owner.
    fn claim_prefect_id(&mut self, pid: &str, idx: u32) {
        let hash = prefect_id_hash(pid);
        match self.prefect_id_owner(pid) {
            Some(earlier) => {
                if self.by_prefect_id.get(&hash) == Some(&earlier) {
                    self.by_prefect_id.try_insert(hash, idx).ok();
                }
                // else the earlier owner was not indexed (a hash collision), and
                // neither is its successor: the collision count stays
                self.shadow(earlier);
            }
            None => {
                if self.by_prefect_id.contains_key(&hash)
                    || self.by_prefect_id.try_insert(hash, idx).is_err()
                {
                    self.prefect_id_collisions += 1;
                }
            }
        }
    }

    /// The live, not shadowed event-trigger node with Prefect id `pid`.
    fn prefect_id_owner(&self, pid: &str) -> Option<u32> {
        let owns = |n: u32| match self.nodes.get(n as usize) {
            Some(Some(Node {
                kind: NodeKind::Event(ev),
                ..
            })) => !ev.shadowed && ev.compiled.prefect_id() == Some(pid),
            _ => false,
        };
        match self.by_prefect_id.get(&prefect_id_hash(pid)) {
            Some(&n) if owns(n) => Some(n),
            // another id with the same hash is indexed: the owner, if any, is not
            Some(_) if self.prefect_id_collisions > 0 => {
                (0..self.nodes.len() as u32).find(|&n| owns(n))
            }
            _ => None,
        }
    }

    /// Event-trigger node `n`, the owner of Prefect id `pid`, is gone (its slot is
    /// empty already): its index entry goes to a node with a colliding id, if any.
    fn release_prefect_id(&mut self, pid: &str, n: u32) {
        let hash = prefect_id_hash(pid);
        if self.by_prefect_id.get(&hash) != Some(&n) {
            self.prefect_id_collisions = self.prefect_id_collisions.saturating_sub(1);
            return;
        }
        self.by_prefect_id.remove(&hash);
        if self.prefect_id_collisions == 0 {
            return;
        }
        let heir = self
            .nodes
            .iter()
            .enumerate()
            .find_map(|(i, node)| match node {
                Some(Node {
                    kind: NodeKind::Event(ev),
                    ..
                }) if !ev.shadowed
                    && ev
                        .compiled
                        .prefect_id()
                        .is_some_and(|p| prefect_id_hash(p) == hash) =>
                {
                    Some(i as u32)
                }
                _ => None,
            });
        if let Some(heir) = heir {
            if self.by_prefect_id.try_insert(hash, heir).is_ok() {
                self.prefect_id_collisions -= 1;
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
        // the tree's nodes are the ones with this root
        let tree = KeysOf::Tree(id);
        debug_assert!(tree.holds(&self.nodes, root));
        for n in 0..self.nodes.len() {
            if let Some(Node {
                kind: NodeKind::Event(ev),
                root: r,
                ..
            }) = &self.nodes[n]
            {
                if *r == id && !ev.shadowed {
                    self.router.remove(n as u32, &ev.compiled);
                }
            }
        }
        let nodes = &self.nodes;
        self.proactive.retain_where(|&p| !tree.holds(nodes, p));
        self.drop_keys_of(tree);
        for n in 0..self.nodes.len() as u32 {
            if !tree.holds(&self.nodes, n) {
                continue;
            }
            self.clear_stored(n);
            if let Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) = self.nodes[n as usize].take()
            {
                if let (false, Some(pid)) = (ev.shadowed, ev.compiled.prefect_id()) {
                    self.release_prefect_id(pid, n);
                }
            }
            // (the free list holds at most as many nodes as the table)
            let freed = self.free_nodes.try_push(n).is_ok();
            debug_assert!(freed, "the free list is full");
        }
        self.py_index.clear();
        self.index_py(0);
        self.recount_nodes();
        self.resume = capacity::TickResume::Start;
        true
    }

    /// Adds the event-trigger nodes loaded at or after `from_order` to the CPython
    /// index emulation (Prefect's `_index_trigger`), in load order.
    pub(crate) fn index_py(&mut self, from_order: u64) {
        // (the scratch holds one entry per trigger node: they fit; it is this
        // function's own, as a restore keeps its node map in `scratch_candidates`
        // while it loads triggers)
        let mut fresh = core::mem::take(&mut self.scratch_nodes);
        fresh.clear();
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(n) = n {
                if n.order >= from_order && matches!(&n.kind, NodeKind::Event(ev) if !ev.shadowed) {
                    let _ = fresh.try_push(i as u32);
                }
            }
        }
        fresh.sort_unstable_by_key(|&i| self.nodes[i as usize].as_ref().map(|n| n.order));
        self.py_index.index(&self.nodes, &fresh);
        fresh.clear();
        self.scratch_nodes = fresh;
    }
}

/// Whose keys [`Engine::drop_keys_of`] drops.
#[derive(Clone, Copy)]
enum KeysOf {
    /// One trigger node's.
    Node(u32),
    /// Every node's of one loaded trigger tree.
    Tree(TriggerId),
}

impl KeysOf {
    /// Whether trigger node `t` (in `nodes`) is one of these.
    fn holds<S: Storage>(self, nodes: &[Option<Node<S>>], t: u32) -> bool {
        match self {
            KeysOf::Node(n) => t == n,
            KeysOf::Tree(id) => matches!(nodes.get(t as usize), Some(Some(n)) if n.root == id),
        }
    }
}

/// The children of a composite node, in declared order (see [`Children::of`]).
pub(crate) struct Children<'a, S: Storage> {
    nodes: &'a [Option<Node<S>>],
    next: Option<u32>,
}

impl<'a, S: Storage> Children<'a, S> {
    /// The children of composite `c`, whose nodes are in `nodes`.
    pub(crate) fn of(nodes: &'a [Option<Node<S>>], c: &CompositeNode) -> Self {
        Children {
            nodes,
            next: c.first_child,
        }
    }
}

impl<S: Storage> Iterator for Children<'_, S> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let n = self.next?;
        self.next = self
            .nodes
            .get(n as usize)
            .and_then(|node| node.as_ref()?.next_sibling);
        Some(n)
    }
}

/// The key of a Prefect id in `Engine::by_prefect_id` (FNV-1a 64 of its bytes).
fn prefect_id_hash(pid: &str) -> u64 {
    pid.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
