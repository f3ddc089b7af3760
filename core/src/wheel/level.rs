//! Level and slot arithmetic of the wheel, one level's slots, and tick division.
//!
//! Time is counted in *ticks* (`deadline / tick`, rounded down). The wheel keeps a cursor
//! `cur` (a tick). Level `l` has 64 slots of `64^l` ticks; slot `s` of level `l` holds
//! ticks `t` with `(t >> 6·l) & 63 == s`, and the 64 slots stand for the 64 consecutive
//! level-`l` slot numbers starting at the cursor's own, `cur >> 6·l`: the slot `k` places
//! ahead of the cursor's (modulo 64) is `k` slots in the future. An entry goes to the
//! lowest level whose window reaches it, i.e. where `(t >> 6·l) - (cur >> 6·l) < 64`, so
//! a deadline `d` ticks away lands in level `⌊log64 d⌋` or the one above, whatever
//! boundaries lie in between. (tokio picks the level from the highest bit in which the
//! deadline and the cursor differ instead; then every deadline past a level-`l` boundary
//! lands in one level-`l + 1` slot, and crossing a high boundary moves all of them at once.)
//!
//! Because levels overlap in time, the earliest slot is found per level (the bitmap rotated
//! to the cursor's slot, then its lowest set bit: the next occupied slot) and the smallest
//! start over the levels wins. An entry does not move while the cursor advances; it is
//! filed again (cascaded) when the cursor reaches the start of its slot.
//!
//! Deadlines beyond the top level's window are *parked* on an overflow list that counts as
//! one more slot, due when its earliest entry enters the top level's window: as its
//! farthest slot.

use super::list::List;

/// Bits of a tick consumed per level.
pub(crate) const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels: 139 years at the default 1 ms tick.
pub const LEVELS: usize = 7;
/// The shift of the top level.
const TOP_SHIFT: u32 = SLOT_BITS * (LEVELS as u32 - 1);

/// The level for tick `t > cur`, or `None` beyond the top level's window.
#[inline]
pub(crate) fn level_for(cur: u64, t: u64) -> Option<usize> {
    debug_assert!(t > cur);
    let bits = 64 - (t - cur).leading_zeros();
    let mut level = (bits - 1) / SLOT_BITS;
    // The distance fits in `level`'s window unless slot alignment pushes it one further.
    if level < LEVELS as u32 && (t >> (level * SLOT_BITS)) - (cur >> (level * SLOT_BITS)) >= 64 {
        level += 1;
    }
    if level < LEVELS as u32 {
        Some(level as usize)
    } else {
        None
    }
}

/// The slot of tick `t` at `level`.
#[inline]
pub(crate) fn slot_of(t: u64, level: usize) -> usize {
    ((t >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1)
}

/// The cursor position at which the earliest parked tick `t` enters the top level's
/// window (as its farthest slot): the overflow list is due then.
#[inline]
pub(crate) fn parked_due(t: u64) -> u64 {
    ((t >> TOP_SHIFT).saturating_sub(SLOTS as u64 - 1)) << TOP_SHIFT
}

/// One level: 64 lists and a bitmap of the non-empty ones.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub(crate) occupied: u64,
    pub(crate) lists: [List; SLOTS],
}

impl Level {
    pub(crate) const EMPTY: Level = Level {
        occupied: 0,
        lists: [List::EMPTY; SLOTS],
    };

    /// The next occupied slot at or after the cursor's, as `(slot, first tick)`.
    #[inline]
    pub(crate) fn next_occupied(&self, level: usize, cur: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let shift = level as u32 * SLOT_BITS;
        let base = cur >> shift;
        let here = (base as u32) & (SLOTS as u32 - 1);
        let ahead = self.occupied.rotate_right(here).trailing_zeros();
        let slot = ((here + ahead) as usize) & (SLOTS - 1);
        Some((slot, (base + u64::from(ahead)) << shift))
    }

    /// Detaches the list of `slot`.
    #[inline]
    pub(crate) fn take(&mut self, slot: usize) -> List {
        self.occupied &= !(1 << slot);
        self.lists[slot].take()
    }
}

/// Division by the tick length through a precomputed reciprocal (one multiply).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickDiv {
    tick: u64,
    magic: u64,
}

impl TickDiv {
    /// A divider for `tick` microseconds; zero is taken as one.
    pub(crate) const fn new(tick: u64) -> TickDiv {
        let tick = if tick == 0 { 1 } else { tick };
        TickDiv {
            tick,
            magic: u64::MAX / tick,
        }
    }

    /// The tick length in microseconds (at least 1).
    pub(crate) const fn tick(self) -> u64 {
        self.tick
    }

    /// `n / tick`, exactly.
    #[inline]
    pub(crate) fn ticks(self, n: u64) -> u64 {
        // magic = floor((2^64 - 1) / tick), so n·magic / 2^64 lies in (n/tick - 1, n/tick]:
        // the estimate is the quotient or one less.
        let q = ((u128::from(n) * u128::from(self.magic)) >> 64) as u64;
        if n - q * self.tick >= self.tick {
            q + 1
        } else {
            q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `t` is inside the window of `level` for cursor `cur`.
    fn in_window(cur: u64, t: u64, level: usize) -> bool {
        let shift = level as u32 * SLOT_BITS;
        (t >> shift) - (cur >> shift) < 64
    }

    #[test]
    fn level_0_holds_the_next_63_ticks_from_tick_0() {
        assert_eq!(level_for(0, 1), Some(0));
        assert_eq!(level_for(0, 63), Some(0));
        assert_eq!(level_for(0, 64), Some(1));
        assert_eq!(level_for(5, 68), Some(0));
        assert_eq!(level_for(5, 69), Some(1));
    }

    #[test]
    fn slot_edges_follow_the_distance_not_the_boundary() {
        // Just before a level-1 boundary a near deadline stays in level 0 ...
        assert_eq!(level_for(63, 64), Some(0));
        assert_eq!(level_for(63, 126), Some(0));
        assert_eq!(level_for(63, 127), Some(1));
        // ... and a deadline 90 s away at 1 ms ticks is in level 2 on either side of a
        // level-3 boundary (4096·64 ticks).
        let boundary = 1u64 << 18;
        for cur in [boundary - 1, boundary - 50_000, boundary + 3] {
            assert_eq!(level_for(cur, cur + 90_000), Some(2), "cur {cur}");
        }
    }

    #[test]
    fn every_level_is_the_lowest_window_that_reaches() {
        let curs = [
            0u64,
            1,
            63,
            64,
            4095,
            4096,
            123_456_789,
            1 << 41,
            u64::MAX - (1 << 43),
        ];
        let dists = [
            1u64,
            2,
            63,
            64,
            65,
            4095,
            4096,
            4097,
            262_143,
            262_144,
            1 << 30,
            1 << 36,
            (1 << 42) - 1,
            1 << 42,
        ];
        for &cur in &curs {
            for &d in &dists {
                let t = cur + d;
                match level_for(cur, t) {
                    Some(l) => {
                        assert!(in_window(cur, t, l), "cur {cur} d {d} level {l}");
                        assert!(
                            l == 0 || !in_window(cur, t, l - 1),
                            "cur {cur} d {d} level {l}"
                        );
                    }
                    None => assert!(!in_window(cur, t, LEVELS - 1), "cur {cur} d {d}"),
                }
            }
        }
    }

    #[test]
    fn the_top_of_the_range_and_beyond() {
        let top = LEVELS - 1;
        let span = 1u64 << TOP_SHIFT; // one top-level slot
        assert_eq!(level_for(0, 63 * span), Some(top));
        assert_eq!(level_for(0, 64 * span - 1), Some(top));
        assert_eq!(level_for(0, 64 * span), None);
        assert_eq!(level_for(0, u64::MAX), None);
        assert_eq!(level_for(u64::MAX - 1, u64::MAX), Some(0));
        assert_eq!(level_for(u64::MAX - 64 * span + 1, u64::MAX), Some(top));
        // A parked tick is due when it becomes the top level's farthest slot.
        let t = 100 * span + 5;
        let due = parked_due(t);
        assert_eq!(due, 37 * span);
        assert_eq!(level_for(due, t), Some(top));
        assert_eq!(level_for(due - 1, t), None);
        assert_eq!(parked_due(3), 0);
    }

    #[test]
    fn next_occupied_rotates_from_the_cursor() {
        let mut lv = Level::EMPTY;
        assert_eq!(lv.next_occupied(0, 10), None);
        lv.occupied = (1 << 3) | (1 << 12);
        // Cursor at slot 10 of level 0: slot 12 is 2 ahead, slot 3 is 57 ahead.
        assert_eq!(lv.next_occupied(0, 10), Some((12, 12)));
        assert_eq!(lv.next_occupied(0, 13), Some((3, 64 + 3)));
        // Level 1, cursor tick 70 (slot 1): slot 3 starts at tick 192.
        assert_eq!(lv.next_occupied(1, 70), Some((3, 192)));
        // Near u64::MAX the start does not overflow.
        lv.occupied = 1 << 63;
        assert_eq!(lv.next_occupied(0, u64::MAX - 5), Some((63, u64::MAX)));
        assert!(lv.take(63).is_empty());
        assert_eq!(lv.occupied, 0);
    }

    #[test]
    fn tick_division_is_exact() {
        let ticks = [
            0u64,
            1,
            2,
            3,
            7,
            10,
            1000,
            1_000_000,
            1 << 32,
            (1 << 40) + 1,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        let nums = [
            0u64,
            1,
            2,
            999,
            1000,
            1001,
            123_456_789,
            u32::MAX as u64,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &t in &ticks {
            let div = TickDiv::new(t);
            for &n in &nums {
                assert_eq!(div.ticks(n), n / div.tick(), "{n} / {t}");
                for k in [1u64, 2, 3] {
                    let m = n.wrapping_mul(k).wrapping_add(t);
                    assert_eq!(div.ticks(m), m / div.tick(), "{m} / {t}");
                }
            }
        }
        assert_eq!(TickDiv::new(0).tick(), 1);
    }
}
