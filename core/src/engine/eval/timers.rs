//! Key timers on the wheel (the earliest instant anything is due for a key without an
//! event) and the tick: proactive evaluation, periodic work.

use super::super::capacity::TickResume;
use super::super::keys::{Timer, Window};
use super::super::{Engine, Node, NodeKind, ProactiveMode};
use crate::store::{Seq, Sorted, Storage};
use crate::time::{Duration, Instant};
use crate::trigger::Posture;
use crate::wheel::{InsertError, ResetError};

impl<S: Storage> Engine<S> {
    // ---------------------------------------------------------------- timers

    /// The earliest instant anything is due for key `k` without an event.
    pub(crate) fn key_due(&self, k: u32) -> Option<Instant> {
        let trigger = self.keys.trigger(k)?;
        let mut due: Option<Instant> = None;
        // (one look at the node: its posture and the window its buckets have)
        let (proactive, within) = match &self.nodes[trigger as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => (
                ev.compiled.posture() == Posture::Proactive,
                ev.compiled.within(),
            ),
            _ => (false, Duration::ZERO),
        };
        let window = Window {
            within,
            lookback: self.config.lookback,
        };
        if let Some(b) = self.keys.bucket(k, window) {
            let d = if proactive {
                b.end
            } else {
                b.end.saturating_add(self.config.sweep_buffer)
            };
            due = Some(d);
        }
        if let Some(oldest) = self.keys.held(k).map(|h| h.held_at).min() {
            // swept once `held_at < now - retention`
            let d = oldest
                .saturating_add(self.config.held_retention)
                .saturating_add(Duration::from_micros(1));
            due = Some(due.map_or(d, |x| x.min(d)));
        }
        due
    }

    /// Removes the key's timer (wherever it is).
    pub(crate) fn cancel_timer(&mut self, k: u32) {
        match self.keys.timer(k) {
            Timer::Wheel => {
                if let Some(h) = self.wheel.handle_at(k) {
                    self.wheel.cancel(h);
                }
            }
            Timer::Overdue(at) => {
                self.overdue.remove(&(at, k));
            }
            Timer::None | Timer::Batch => {}
        }
        self.keys.set_timer(k, Timer::None);
    }

    /// Files key `k`'s timer at its due instant (or drops the key when nothing about
    /// it remains). Keys taken out for a tick are re-filed at the end of the tick.
    pub(crate) fn after_change(&mut self, k: u32) {
        if !self.keys.contains(k) {
            return;
        }
        let current = self.keys.timer(k);
        if current == Timer::Batch {
            return;
        }
        let empty =
            !self.keys.has_bucket(k) && !self.keys.holds_any(k) && !self.keys.satisfied_queued(k);
        if empty {
            self.drop_key(k);
            return;
        }
        let due = self.key_due(k);
        self.move_timer(k, current, due);
    }

    /// Files key `k`'s timer at `due`, the instant its state is next due (as after
    /// [`renew`](super::super::keys::KeyTable::renew)): the end of
    /// [`after_change`](Self::after_change) when that instant is known.
    pub(crate) fn refile(&mut self, k: u32, due: Instant) {
        let current = self.keys.timer(k);
        if current != Timer::Batch {
            self.move_timer(k, current, Some(due));
        }
    }

    /// Moves key `k`'s timer from `current` to `due` (removes it for `None`).
    fn move_timer(&mut self, k: u32, current: Timer, due: Option<Instant>) {
        match (current, due) {
            // (already filed there: nothing to move; the wheel's order among equal
            // deadlines does not matter, a tick orders due keys by their values)
            (Timer::Wheel, Some(d)) => match self.wheel.handle_at(k) {
                Some(h) if self.wheel.deadline(h) == Some(d) => {}
                Some(h) => match self.wheel.reset(h, d) {
                    Ok(()) => {}
                    Err(ResetError::Elapsed(())) => self.file_overdue(k, d),
                    Err(ResetError::Stale) => self.file(k, d),
                },
                None => self.file(k, d),
            },
            (Timer::Overdue(at), Some(d)) if at == d => {}
            (_, Some(d)) => {
                self.cancel_timer(k);
                self.file(k, d);
            }
            (_, None) => self.cancel_timer(k),
        }
    }

    pub(crate) fn file(&mut self, k: u32, due: Instant) {
        // (key `k`'s timer is the wheel's entry `k`: no handle to keep)
        let mut filed = self.wheel.insert_at(k, due, ());
        if let Err(InsertError::Occupied(())) = filed {
            // (not reached: a key's entry is cancelled whenever its timer leaves the
            // wheel; if one were left behind, it is replaced rather than kept twice)
            if let Some(h) = self.wheel.handle_at(k) {
                self.wheel.cancel(h);
            }
            filed = self.wheel.insert_at(k, due, ());
        }
        match filed {
            Ok(_) => self.keys.set_timer(k, Timer::Wheel),
            Err(_) => self.file_overdue(k, due),
        }
    }

    pub(crate) fn file_overdue(&mut self, k: u32, due: Instant) {
        // (one entry per key: the set has room for every key)
        let _ = self.overdue.try_insert((due, k), ());
        self.keys.set_timer(k, Timer::Overdue(due));
    }

    /// Forgets a key with no bucket and no held events.
    pub(crate) fn drop_key(&mut self, k: u32) {
        self.cancel_timer(k);
        let w = self.keys.trigger(k).map(|t| self.window(t));
        if let Some(trigger) = w.and_then(|w| self.keys.remove(k, w)) {
            if let Some(ev) = self.event_node_mut(trigger) {
                ev.keys = ev.keys.saturating_sub(1);
            }
        }
    }

    /// Takes every key whose timer is at or before `threshold` into the batch.
    pub(crate) fn collect(&mut self, threshold: Instant) {
        while let Some(expired) = self.wheel.poll(threshold) {
            let k = expired.handle.index();
            if self.keys.contains(k) {
                self.keys.set_timer(k, Timer::Batch);
                // (one entry per key: the batch has room for every key)
                let _ = self.batch.try_push(k);
            }
        }
        while let Some((&(at, k), _)) = self.overdue.first() {
            if at > threshold {
                break;
            }
            self.overdue.remove(&(at, k));
            if self.keys.contains(k) {
                self.keys.set_timer(k, Timer::Batch);
                let _ = self.batch.try_push(k);
            }
        }
    }

    /// Re-files every key taken out for the tick.
    pub(crate) fn refile_batch(&mut self) {
        let batch = core::mem::take(&mut self.batch);
        for &k in batch.iter() {
            if self.keys.timer(k) == Timer::Batch {
                self.keys.set_timer(k, Timer::None);
            }
            self.after_change(k);
        }
        let mut batch = batch;
        batch.clear();
        self.batch = batch;
    }

    // ---------------------------------------------------------------- ticks

    /// Proactive evaluation of every due proactive trigger (`proactive_evaluation`
    /// for each, in load order, or `evaluate_proactive_triggers` when scheduled),
    /// from the trigger at position `from.0` of the proactive list (`from.1`: its
    /// prelude is done). `Err` says where to resume when the pending firings ran out
    /// of room.
    pub(crate) fn proactive_phase(
        &mut self,
        as_of: Instant,
        from: (u32, bool),
    ) -> Result<(), TickResume> {
        let (base, scheduled) = match self.config.proactive {
            ProactiveMode::All => (as_of, false),
            ProactiveMode::Scheduled => (self.wall, true),
        };
        let a = self.with_offset(base);
        self.collect(a);
        // due keys: proactive buckets with end <= a, by (trigger order, start, key)
        let mut due: S::KeySeq<(u64, Instant, u32, u32)> = Default::default();
        for &k in self.batch.iter() {
            let (Some(trigger), Some(b)) = (self.keys.trigger(k), self.bucket_of(k)) else {
                continue;
            };
            if b.end > a {
                continue;
            }
            if let Some(Node {
                kind: NodeKind::Event(ev),
                order,
                ..
            }) = &self.nodes[trigger as usize]
            {
                if ev.compiled.posture() == Posture::Proactive {
                    // (at most one per key in the batch)
                    let _ = due.try_push((*order, b.start, k, trigger));
                }
            }
        }
        // By the key's values, not its slot: slot numbers depend on the history of the
        // key table (reuse order), which a restored snapshot does not reproduce.
        let keys = &self.keys;
        due.sort_unstable_by(|x, y| {
            (x.0, x.1)
                .cmp(&(y.0, y.1))
                .then_with(|| keys.key(x.2).cmp(keys.key(y.2)))
        });
        self.in_proactive = true;
        let mut cursor = 0;
        let mut outcome = Ok(());
        // (evaluation never changes the loaded triggers, so the list stays as it is)
        for position in 0..self.proactive.len() {
            let t = self.proactive[position];
            let order = match &self.nodes[t as usize] {
                Some(n) => n.order,
                None => continue,
            };
            // this trigger's due keys
            let first = cursor;
            while cursor < due.len() && due[cursor].0 == order {
                cursor += 1;
            }
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            if position < from.0 {
                continue;
            }
            let begun = position == from.0 && from.1;
            if scheduled {
                let next = match &self.nodes[t as usize] {
                    Some(Node {
                        kind: NodeKind::Event(ev),
                        ..
                    }) => ev.next_run.unwrap_or(self.wall),
                    _ => continue,
                };
                if next > self.wall {
                    continue;
                }
            }
            if !self.proactive_evaluation(t, a, &due[first..cursor], begun) {
                outcome = Err(TickResume::Proactive {
                    position,
                    begun: true,
                });
                break;
            }
            if scheduled {
                let run_again = self.run_again_at(t, a);
                if let Some(ev) = self.event_node_mut(t) {
                    ev.next_run = Some(run_again);
                }
            }
        }
        self.in_proactive = false;
        outcome
    }

    /// `proactive_evaluation(trigger, as_of)` for one trigger, given its due keys
    /// (`begun`: the global window and the satisfied buckets were seen to already).
    /// False if the pending firings ran out of room before a due window (it and the
    /// ones after it are judged when the tick resumes).
    pub(crate) fn proactive_evaluation(
        &mut self,
        t: u32,
        a: Instant,
        due: &[(u64, Instant, u32, u32)],
        begun: bool,
    ) -> bool {
        let p = self.params(t);
        let global = match &self.nodes[t as usize] {
            Some(Node {
                kind: NodeKind::Event(ev),
                ..
            }) => ev.compiled.for_each().is_empty(),
            _ => return true,
        };
        if begun {
            return self.judge_due(t, a, due);
        }
        if global {
            if let Some(k) = self.ensure_bucket(t, &[], a, a.saturating_add(p.within), None, 0) {
                self.after_change(k);
            }
        }
        // remove_buckets_exceeding_threshold: this trigger's queued keys, in the
        // order they were queued. One pass compacts the queue in place (nothing
        // below queues a key), up to this trigger's last entry; entries of keys no
        // longer queued go too. A trigger with no keys queued skips the pass, so a
        // tick costs the queue once per trigger that has some, not once per
        // proactive trigger.
        let mut left = self
            .event_node_mut(t)
            .map_or(0, |ev| core::mem::take(&mut ev.queued));
        let mut kept = 0;
        let mut i = 0;
        while left > 0 && i < self.satisfied.len() {
            let k = self.satisfied[i];
            i += 1;
            let queued = self.keys.satisfied_queued(k);
            if queued && self.keys.trigger(k) != Some(t) {
                self.satisfied[kept] = k;
                kept += 1;
                continue;
            }
            if !queued {
                continue;
            }
            left -= 1;
            self.keys.set_satisfied_queued(k, false);
            if self.bucket_of(k).is_some_and(|b| b.count >= p.threshold) {
                self.replace_bucket(k, None);
            }
            self.after_change(k);
        }
        if i > kept {
            let len = self.satisfied.len();
            self.satisfied.copy_within(i..len, kept);
            self.satisfied.truncate(kept + (len - i));
        }
        self.judge_due(t, a, due)
    }

    /// Evaluates trigger `t`'s due windows that are still due, while the pending
    /// firings have room for one more; false if they ran out of room first.
    fn judge_due(&mut self, t: u32, a: Instant, due: &[(u64, Instant, u32, u32)]) -> bool {
        for &(_, start, k, trigger) in due {
            let still = trigger == t
                && self
                    .bucket_of(k)
                    .is_some_and(|b| b.start == start && b.end <= a);
            if still {
                if !self.room_for_firings(1) {
                    return false;
                }
                self.evaluate(t, k, a, None);
                self.after_change(k);
            }
        }
        true
    }

    /// `run_again_at` of `proactive_evaluation`: the earliest bucket end of the
    /// trigger after `a`, at most `a + within` (O(log keys): the key table keeps an
    /// ordered index of bucket ends in the scheduled mode).
    pub(crate) fn run_again_at(&self, t: u32, a: Instant) -> Instant {
        let p = self.params(t);
        let run_again = a.saturating_add(p.within);
        let next = self.keys.next_end_after(t, a);
        debug_assert_eq!(
            next,
            self.scan_next_end_after(t, a),
            "the index of bucket ends"
        );
        match next {
            Some(end) if end < run_again => end,
            _ => run_again,
        }
    }

    /// [`KeyTable::next_end_after`](super::super::keys::KeyTable::next_end_after) by a
    /// scan of every key: what the index must agree with (checked in debug builds).
    fn scan_next_end_after(&self, t: u32, a: Instant) -> Option<Instant> {
        self.keys
            .iter()
            .filter(|&(_, trigger)| trigger == t)
            .filter_map(|(k, _)| self.bucket_of(k).map(|b| b.end))
            .filter(|&end| end > a)
            .min()
    }

    /// `periodic_evaluation(now)`: held-event sweep, lost followers, expired buckets.
    /// `resumed`: the evaluation instant a cut-short run of it computed. `Err` (with
    /// that instant) if the pending firings ran out of room among the lost followers:
    /// the rest are back on the waitlist and the expired-bucket sweep has not run.
    pub(crate) fn periodic(
        &mut self,
        now: Instant,
        resumed: Option<Instant>,
    ) -> Result<(), Instant> {
        let as_of = resumed.unwrap_or_else(|| self.with_offset(now));
        // sweep_held_events(now)
        self.collect(now.max(as_of));
        let retention = self.config.held_retention;
        for i in 0..self.batch.len() {
            let k = self.batch[i];
            if !self.keys.holds_any(k) || self.bucket_of(k).is_some_and(|b| b.end > now) {
                continue;
            }
            let cutoff = now.saturating_sub(retention);
            self.keys.retain_held(k, |h| h.held_at >= cutoff);
        }
        // lost followers, evaluated in occurred order
        let cutoff = self.wall.saturating_sub(self.config.follower_timeout);
        self.ordering.take_lost(cutoff);
        let was_proactive = core::mem::replace(&mut self.in_proactive, false);
        let mut complete = true;
        while let Some(id) = self.ordering.peek_lost() {
            if !self.room_for_event(&id, self.event_nodes) {
                self.ordering.put_back_lost();
                complete = false;
                break;
            }
            let Some((_, follower)) = self.ordering.next_lost() else {
                break;
            };
            self.stats.lost_followers += 1;
            // (A follower of this one that now waits for an unseen leader would raise
            // `EventArrivedEarly` out of Prefect's `periodic_evaluation` and abort it;
            // here the remaining lost followers are still evaluated.)
            let _ = self.reactive_evaluation(&follower.view(), 0);
        }
        self.in_proactive = was_proactive;
        if !complete {
            return Err(as_of);
        }
        // sweep_closed_buckets(as_of - buffer)
        let older_than = as_of.saturating_sub(self.config.sweep_buffer);
        self.collect(as_of);
        for i in 0..self.batch.len() {
            let k = self.batch[i];
            if self.bucket_of(k).is_some_and(|b| b.end <= older_than) {
                self.replace_bucket(k, None);
            }
        }
        Ok(())
    }
}
