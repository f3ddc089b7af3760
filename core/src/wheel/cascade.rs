//! Filing entries into the ready list, the levels or the overflow list, and cascading.
//!
//! Invariants, with `cur` the cursor tick:
//!
//! * the ready list holds entries with tick `<= cur`, sorted by (deadline, sequence);
//! * an entry in slot `s` of level `l` has `0 <= (t >> 6l) - (cur >> 6l) < 64`, and every
//!   occupied slot starts after `cur` once [`Wheel::refill`] has run;
//! * parked entries have ticks `>= parked_min`, whose due point is after `cur`.
//!
//! So when no slot starts at or before `cur`, the head of a non-empty ready list is the
//! earliest entry of the wheel. The cursor only moves in `refill`: to the start of the
//! earliest slot (which is then cascaded), or up to a limit that no slot starts before.

use core::num::NonZeroU32;

use super::level::{level_for, parked_due, slot_of, LEVELS};
use super::list::{List, LOC_BITS, SEQ_MASK};
use super::slab::{Storage, NIL};
use super::Wheel;

/// Location code of the ready list (levels are `level + 1`).
pub(crate) const LOC_READY: u32 = LEVELS as u32 + 1;
/// Location code of the overflow list.
pub(crate) const LOC_PARKED: u32 = LEVELS as u32 + 2;
pub(crate) const LOC_MASK: u32 = (1 << LOC_BITS) - 1;

/// A `meta` word: sequence number and location (never zero: locations start at 1).
#[inline]
pub(crate) fn meta(seq: u32, loc: u32) -> NonZeroU32 {
    NonZeroU32::new(((seq & SEQ_MASK) << LOC_BITS) | loc).unwrap_or(NonZeroU32::MIN)
}

/// Where an entry goes: the list it is linked into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Ready,
    Slot { level: usize, slot: usize },
    Parked,
}

impl Place {
    /// The location code stored in the entry.
    #[inline]
    pub(crate) fn loc(self) -> u32 {
        match self {
            Place::Ready => LOC_READY,
            Place::Slot { level, .. } => level as u32 + 1,
            Place::Parked => LOC_PARKED,
        }
    }
}

/// A list that comes due as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Slot { level: usize, slot: usize },
    Parked,
}

impl<T, S: Storage<T>> Wheel<T, S> {
    /// A fresh sequence number.
    #[inline]
    pub(crate) fn next_seq(&mut self) -> u32 {
        let seq = self.seq;
        self.seq = seq.wrapping_add(1) & SEQ_MASK;
        seq
    }

    /// Where an entry due at tick `t` goes now.
    #[inline]
    pub(crate) fn place(&self, t: u64) -> Place {
        if t <= self.cur {
            Place::Ready
        } else if let Some(level) = level_for(self.cur, t) {
            Place::Slot {
                level,
                slot: slot_of(t, level),
            }
        } else {
            Place::Parked
        }
    }

    /// Files entry `i` (unlinked) due at tick `t` at `place`, with sequence number `seq`.
    #[inline]
    pub(crate) fn file_new(&mut self, i: u32, t: u64, place: Place, seq: u32) {
        if self.slab.len() == 1 {
            // The only entry: put the cursor on it.
            self.cur = t;
            self.ready = List::EMPTY;
            self.slab.push_back(&mut self.ready, i);
            self.slab.set_meta(i, meta(seq, LOC_READY));
            return;
        }
        self.link(i, t, place, seq, true);
    }

    /// Links entry `i` (unlinked) due at tick `t` into the list of `place` and records the
    /// location; `sorted` inserts into the ready list in order (else it is appended, to be
    /// sorted later).
    #[inline]
    fn link(&mut self, i: u32, t: u64, place: Place, seq: u32, sorted: bool) {
        // First: the sorted insert compares sequence numbers.
        self.slab.set_meta(i, meta(seq, place.loc()));
        match place {
            Place::Ready if sorted => self.slab.insert_sorted(&mut self.ready, i),
            Place::Ready => self.slab.push_back(&mut self.ready, i),
            Place::Slot { level, slot } => {
                let lv = &mut self.levels[level];
                self.slab.push_back(&mut lv.lists[slot], i);
                lv.occupied |= 1 << slot;
            }
            Place::Parked => {
                self.slab.push_back(&mut self.parked, i);
                self.parked_min = self.parked_min.min(t);
            }
        }
    }

    /// Unlinks live entry `i` from its list; `t` is its current tick, `loc` its location.
    #[inline]
    pub(crate) fn unlink(&mut self, i: u32, t: u64, loc: u32) {
        match loc & LOC_MASK {
            LOC_READY => self.slab.unlink(&mut self.ready, i),
            LOC_PARKED => {
                self.slab.unlink(&mut self.parked, i);
                if self.parked.is_empty() {
                    self.parked_min = u64::MAX;
                }
            }
            loc => {
                let level = (loc - 1) as usize;
                let slot = slot_of(t, level);
                let lv = &mut self.levels[level];
                self.slab.unlink(&mut lv.lists[slot], i);
                if lv.lists[slot].is_empty() {
                    lv.occupied &= !(1 << slot);
                }
            }
        }
    }

    /// The list that comes due first, with its first tick; on ties the higher level (the
    /// overflow list highest), so coarse lists are cascaded before finer ones.
    fn earliest(&self) -> Option<(u64, Due)> {
        let mut best = if self.parked.is_empty() {
            None
        } else {
            Some((parked_due(self.parked_min), Due::Parked))
        };
        for level in (0..LEVELS).rev() {
            if let Some((slot, start)) = self.levels[level].next_occupied(level, self.cur) {
                if best.is_none_or(|(b, _)| start < b) {
                    best = Some((start, Due::Slot { level, slot }));
                }
            }
        }
        best
    }

    /// Cascades until the ready list's head is the earliest entry of the wheel, taking
    /// only lists that come due by tick `limit`; with nothing due by then and an empty
    /// ready list, the cursor catches up to `limit` (it passes no slot's start).
    pub(crate) fn refill(&mut self, limit: u64) {
        loop {
            let Some((start, due)) = self.earliest() else {
                if self.ready.is_empty() && limit > self.cur && limit != u64::MAX {
                    self.cur = limit;
                }
                return;
            };
            if start > self.cur {
                if !self.ready.is_empty() {
                    return;
                }
                if start > limit {
                    if limit > self.cur {
                        self.cur = limit;
                    }
                    return;
                }
                self.cur = start;
            }
            let list = match due {
                Due::Slot { level, slot } => self.levels[level].take(slot),
                Due::Parked => {
                    self.parked_min = u64::MAX;
                    self.parked.take()
                }
            };
            self.refile(list);
        }
    }

    /// Files every entry of the detached `list` again, relative to the cursor.
    fn refile(&mut self, list: List) {
        let was_empty = self.ready.is_empty();
        let mut i = list.head;
        while i != NIL {
            let next = self.slab.next(i);
            let t = self.div.ticks(self.slab.deadline(i));
            let seq = self.slab.meta(i) >> LOC_BITS;
            self.link(i, t, self.place(t), seq, !was_empty);
            i = next;
        }
        if was_empty {
            self.slab.sort(&mut self.ready);
        }
    }
}
