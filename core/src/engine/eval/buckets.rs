//! Bucket operations (`ensure_bucket`, `start_new_bucket`, held expect events),
//! `evaluate` and firing: the part of `triggers.py` that changes one bucket.

use super::super::firing::Head;
use super::super::keys::{key_values, Bucket, Held, LastEvent};
use super::super::{Engine, FiringBuf, FiringKind, NodeKind};
use super::Triggering;
use crate::event::EventId;
use crate::store::{Queue, Seq, Storage};
use crate::time::Instant;
use crate::trigger::Posture;

impl<S: Storage> Engine<S> {
    // ---------------------------------------------------------------- bucket operations

    /// Counts a key created for trigger `t` (the per-trigger key count).
    pub(crate) fn note_key_created(&mut self, t: u32, created: bool) {
        if created {
            if let Some(ev) = self.event_node_mut(t) {
                ev.keys += 1;
            }
        }
    }

    /// `ensure_bucket`: the key's bucket, created `[start, end)` with `initial` (plus
    /// held events in the window) if there is none; an existing bucket, even an
    /// expired one, is returned unchanged (3.9 keeps its `last_event` too).
    pub(crate) fn ensure_bucket(
        &mut self,
        t: u32,
        key: &[u8],
        start: Instant,
        end: Instant,
        last_event: Option<LastEvent>,
        initial: i64,
    ) -> Option<u32> {
        let (k, created) = self.keys.find_or_insert(t, key)?;
        self.note_key_created(t, created);
        if !self.keys.has_bucket(k) {
            self.set_bucket(t, k, start, end, initial, last_event);
        }
        Some(k)
    }

    /// `start_new_bucket`: replaces the key's bucket (`count` plus held events that
    /// occurred in `[start, end)`).
    pub(crate) fn set_bucket(
        &mut self,
        t: u32,
        k: u32,
        start: Instant,
        end: Instant,
        count: i64,
        last_event: Option<LastEvent>,
    ) {
        let p = self.params(t);
        if !self.keys.contains(k) {
            return;
        }
        let held = if p.holds && self.keys.holds_any(k) {
            self.keys
                .held(k)
                .filter(|h| h.occurred >= start && h.occurred < end)
                .count() as i64
        } else {
            0
        };
        let count = count.saturating_add(held);
        let bucket = Bucket {
            start,
            end,
            count,
            last_event,
        };
        let fits = self
            .keys
            .set_bucket(k, Some(bucket), p.window(self.config.lookback));
        debug_assert!(fits, "a window of neither shape");
        if p.proactive() && count >= p.threshold {
            self.queue_satisfied(t, k);
        }
    }

    /// Queues a satisfied proactive bucket for deletion at the next tick
    /// (`remove_buckets_exceeding_threshold`).
    pub(crate) fn queue_satisfied(&mut self, t: u32, k: u32) {
        if !self.keys.contains(k) || self.keys.satisfied_queued(k) {
            return;
        }
        debug_assert_eq!(self.keys.trigger(k), Some(t));
        // (a key is queued at most once, so the queue never holds more than the
        // key table)
        if self.satisfied.try_push(k).is_ok() {
            self.keys.set_satisfied_queued(k, true);
            if let Some(ev) = self.event_node_mut(t) {
                ev.queued = ev.queued.saturating_add(1);
            }
        }
    }

    pub(crate) fn remove_bucket(&mut self, k: u32) {
        self.replace_bucket(k, None);
    }

    /// `hold_expect_event`: false when the event is held already for this key (it was
    /// counted then, so it is not evaluated again); otherwise holds it, trims the
    /// key's held events as Prefect does, and returns true.
    pub(crate) fn hold_expect_event(&mut self, t: u32, k: u32, ev: &Triggering) -> bool {
        let p = self.params(t);
        let wall = self.wall;
        let retention = self.config.held_retention;
        if !self.keys.contains(k) || self.keys.held(k).any(|h| h.id == ev.id) {
            return false;
        }
        let held = Held {
            occurred: ev.occurred,
            id: ev.id,
            held_at: wall,
        };
        if !self.keys.hold(k, held) {
            // (the capacity checks reserve a held event for every event trigger)
            debug_assert!(false, "no room to hold an event");
            return false;
        }
        // Drop events older than the horizon behind the newest held event.
        let newest = self
            .keys
            .held(k)
            .map(|h| h.occurred)
            .max()
            .unwrap_or(ev.occurred);
        let horizon = if p.within > retention {
            p.within
        } else {
            retention
        };
        let cutoff = newest.saturating_sub(horizon);
        self.keys.retain_held(k, |h| h.occurred >= cutoff);
        // Per epoch-aligned slot `within` wide, keep only the first and last
        // `threshold` events (by occurred, then id: the order they are held in).
        // SQLite's LIMIT: a negative threshold keeps everything, zero keeps nothing.
        if p.threshold >= 0 && !p.within.is_zero() {
            let width = p.within.as_micros();
            let slot_start = (ev.occurred.as_micros() / width) * width;
            let slot_end = slot_start.saturating_add(width);
            let in_slot = |h: &Held| {
                h.occurred.as_micros() >= slot_start && h.occurred.as_micros() < slot_end
            };
            let n = self.keys.held(k).filter(in_slot).count();
            let keep_n = usize::try_from(p.threshold).unwrap_or(usize::MAX);
            if n > keep_n.saturating_mul(2) || keep_n == 0 {
                let mut rank = 0usize;
                self.keys.retain_held(k, |h| {
                    if !in_slot(h) {
                        return true;
                    }
                    let i = rank;
                    rank += 1;
                    i < keep_n || i.saturating_add(keep_n) >= n
                });
            }
        }
        true
    }

    /// `evaluate(session, trigger, bucket, now, triggering_event)`.
    pub(crate) fn evaluate(&mut self, t: u32, k: u32, now: Instant, ev: Option<Triggering>) {
        let p = self.params(t);
        let w = p.window(self.config.lookback);
        let Some(mut b) = self.keys.bucket(k, w) else {
            return;
        };
        let mut count: i64 = if ev.is_some() { 1 } else { 0 };
        if now < b.start {
            return;
        }
        let previous_last_event = b.last_event;
        let counted = count > 0 && (p.immediate || (b.start <= now && now < b.end));
        if counted {
            b.count = b.count.saturating_add(count);
            if let Some(e) = &ev {
                b.last_event = Some(e.as_last_event());
            }
            count = 0;
        }
        let ready = p.posture == Posture::Reactive || b.end <= now;
        let meets = p.meets_threshold(b.count);
        // 3.9's proactive renewal: after an event in `after` and `expect` the window
        // no longer `meets_threshold` (its count reached the threshold), so it is
        // replaced by one starting at the event
        let renewal =
            ev.filter(|e| !meets && now < b.end && p.proactive() && e.starts_after && e.expects);
        if counted && renewal.is_none() {
            // (a renewed window replaces the counted one at once: it is not stored,
            // nor queued as satisfied, in between)
            self.keys.set_count(k, b.count, b.last_event);
            if p.proactive() && b.count >= p.threshold {
                self.queue_satisfied(t, k);
            }
        }
        if ready && meets {
            let event = ev.map(|e| e.id).or(b.last_event.map(|l| l.id));
            self.fire_bucket(t, k, event);
            self.remove_bucket(k);
        } else if now < b.end {
            if let Some(e) = renewal {
                let mut last = e.as_last_event();
                if let Some(prev) = previous_last_event {
                    if prev.expect_only && prev.occurred >= e.occurred {
                        last = prev;
                    }
                }
                let end = e.occurred.saturating_add(p.within);
                self.set_bucket(t, k, e.occurred, end, 0, Some(last));
            }
            return;
        }
        if p.has_after {
            self.remove_bucket(k);
            return;
        }
        if p.within.is_zero() {
            return;
        }
        let start = b.end.max(now);
        let end = start.saturating_add(p.within);
        // (`end <= start` only when time saturates at `Instant::MAX`: the window is
        // empty and evaluating again could never count the event.)
        if p.posture == Posture::Reactive && count > 0 && start < end {
            self.set_bucket(t, k, start, end, 0, None);
            self.evaluate(t, k, now, ev);
        } else {
            self.set_bucket(t, k, start, end, count, None);
        }
    }

    /// Fires trigger `t` for key `k`.
    pub(crate) fn fire_bucket(&mut self, t: u32, k: u32, event: Option<EventId>) {
        let Some(node) = &self.nodes[t as usize] else {
            return;
        };
        let head = Head {
            trigger: node.root,
            child: node.parent.map(|_| node.child_index),
            event,
            at: self.wall,
            kind: if self.in_proactive {
                FiringKind::Proactive
            } else {
                FiringKind::Reactive
            },
        };
        let names = match &node.kind {
            NodeKind::Event(ev) => Some(ev.compiled.for_each()),
            NodeKind::Composite(_) => None,
        };
        let labels = names
            .into_iter()
            .flatten()
            .zip(key_values(self.keys.key(k)));
        // fits: `add_trigger` refused a trigger whose firings could be longer
        let Some(firing) = FiringBuf::<S>::pack(&head, labels, core::iter::empty()) else {
            debug_assert!(false, "a firing longer than its trigger's bound");
            return;
        };
        self.dispatch(t, firing);
    }

    /// `fire`: to the caller for a top-level trigger, to the parent composite otherwise.
    pub(crate) fn dispatch(&mut self, node: u32, firing: FiringBuf<S>) {
        let parent = self.nodes[node as usize].as_ref().and_then(|n| n.parent);
        match parent {
            None => {
                self.stats.firings += 1;
                // fits: every unit of work checks the room it needs first
                let pushed = self.actions.try_push_back(firing);
                debug_assert!(
                    pushed.is_ok(),
                    "a firing beyond the pending firings' storage"
                );
            }
            Some(p) => self.evaluate_composite(p, node, firing),
        }
    }
}
