//! Level and slot arithmetic of the wheel, one level's slots, and tick division.
//!
//! Time is counted in *ticks* (`deadline / tick`, rounded down). The wheel keeps a cursor
//! `cur` (a tick); an entry with tick `t > cur` goes to the level of the highest 6-bit
//! group in which `t` and `cur` differ, at slot `(t >> 6·level) & 63`. Entries of level
//! `l` therefore agree with `cur` above group `l` and have a larger group `l`, so
//!
//! * within a level, occupied slots all lie ahead of the cursor's own slot: the earliest
//!   is the lowest set bit of the occupancy bitmap;
//! * every entry of level `l` is earlier than every entry of level `l + 1`: the earliest
//!   entry of the wheel is in the lowest occupied slot of the lowest non-empty level.
//!
//! Moving `cur` forward without passing the start of an occupied slot keeps every entry's
//! level and slot, so an entry's place is always `place(cur, t)`: entries need not
//! remember where they are.
//!
//! `LEVELS` levels cover `64^LEVELS` ticks: deadlines differing from `cur` above that
//! (beyond the top level's range) are *parked*: filed as if due at the last tick of the
//! current top-level rotation, i.e. in the top level's farthest slot (63). When that slot
//! comes due they are filed again, level by level, until the rotation ends, then relative
//! to the new rotation.

/// Bits of a tick consumed per level.
pub(crate) const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels: `64^7` ticks, 139 years at the default 1 ms tick.
pub const LEVELS: usize = 7;
/// Ticks covered by all levels, as a bit count.
pub(crate) const RANGE_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Mask of the tick bits the levels cover.
pub(crate) const RANGE_MASK: u64 = (1 << RANGE_BITS) - 1;

/// Where an entry with a given tick lives, relative to the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The sorted list of entries due at the cursor's tick (or parked at a rotation end).
    Ready,
    /// Slot `slot` of level `level`.
    Slot { level: usize, slot: usize },
}

/// The place of tick `t` relative to cursor `cur` (`t >= cur` for every live entry).
#[inline]
pub(crate) fn place(cur: u64, t: u64) -> Place {
    if t <= cur {
        return Place::Ready;
    }
    let diff = cur ^ t;
    if diff <= RANGE_MASK {
        let level = level_of(diff);
        return Place::Slot {
            level,
            slot: slot_of(t, level),
        };
    }
    // Beyond the top level: due "at the end of the current rotation".
    let end = rotation_end(cur);
    if end == cur {
        Place::Ready
    } else {
        Place::Slot {
            level: level_of(cur ^ end),
            slot: SLOTS - 1,
        }
    }
}

/// The level for a non-zero `cur ^ t` within the range.
#[inline]
pub(crate) fn level_of(diff: u64) -> usize {
    debug_assert!(diff != 0 && diff <= RANGE_MASK);
    ((63 - diff.leading_zeros()) / SLOT_BITS) as usize
}

/// The 6-bit group of the highest set bit of a non-zero `diff` (may exceed the top level).
#[inline]
pub(crate) fn level_of_any(diff: u64) -> usize {
    debug_assert!(diff != 0);
    ((63 - diff.leading_zeros()) / SLOT_BITS) as usize
}

/// The slot of tick `t` at `level`.
#[inline]
pub(crate) fn slot_of(t: u64, level: usize) -> usize {
    ((t >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1)
}

/// The first tick of slot `slot` at `level`, for cursor `cur` (same rotation above it).
#[inline]
pub(crate) fn slot_start(cur: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * SLOT_BITS;
    let above = shift + SLOT_BITS;
    (cur >> above << above) | ((slot as u64) << shift)
}

/// The last tick of the top-level rotation containing `cur`.
#[inline]
pub(crate) fn rotation_end(cur: u64) -> u64 {
    cur | RANGE_MASK
}

/// One level: 64 list heads and a bitmap of the non-empty ones.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub(crate) occupied: u64,
    pub(crate) heads: [u32; SLOTS],
}

impl Level {
    pub(crate) const EMPTY: Level = Level {
        occupied: 0,
        heads: [super::slab::NIL; SLOTS],
    };

    /// The earliest occupied slot.
    #[inline]
    pub(crate) fn earliest(&self) -> Option<usize> {
        if self.occupied == 0 {
            None
        } else {
            Some(self.occupied.trailing_zeros() as usize)
        }
    }

    /// Detaches the list of `slot`.
    #[inline]
    pub(crate) fn take(&mut self, slot: usize) -> u32 {
        self.occupied &= !(1 << slot);
        core::mem::replace(&mut self.heads[slot], super::slab::NIL)
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

    #[test]
    fn tick_zero_stays_in_ready_and_neighbours_go_to_level_0() {
        assert_eq!(place(0, 0), Place::Ready);
        assert_eq!(place(0, 1), Place::Slot { level: 0, slot: 1 });
        assert_eq!(place(0, 63), Place::Slot { level: 0, slot: 63 });
        assert_eq!(place(5, 5), Place::Ready);
    }

    #[test]
    fn slot_edges_move_up_a_level_at_64() {
        assert_eq!(place(0, 64), Place::Slot { level: 1, slot: 1 });
        assert_eq!(place(63, 64), Place::Slot { level: 1, slot: 1 });
        assert_eq!(place(64, 127), Place::Slot { level: 0, slot: 63 });
        assert_eq!(place(64, 128), Place::Slot { level: 1, slot: 2 });
        assert_eq!(place(0, 4095), Place::Slot { level: 1, slot: 63 });
        assert_eq!(place(0, 4096), Place::Slot { level: 2, slot: 1 });
    }

    #[test]
    fn level_edges_and_the_top_of_the_range() {
        for level in 0..LEVELS {
            let first = 1u64 << (level as u32 * SLOT_BITS);
            assert_eq!(
                place(0, first),
                Place::Slot { level, slot: 1 },
                "level {level}"
            );
            let last = (1u64 << ((level as u32 + 1) * SLOT_BITS)) - 1;
            assert_eq!(
                place(0, last),
                Place::Slot { level, slot: 63 },
                "level {level}"
            );
        }
        // One past the range: parked in the top level's farthest slot.
        assert_eq!(
            place(0, RANGE_MASK + 1),
            Place::Slot {
                level: LEVELS - 1,
                slot: 63
            }
        );
    }

    #[test]
    fn beyond_the_range_parks_at_the_rotation_end() {
        assert_eq!(
            place(0, u64::MAX),
            Place::Slot {
                level: LEVELS - 1,
                slot: 63
            }
        );
        // Cursor in the top level's last slot: park one level down, still slot 63.
        let cur = 63u64 << (SLOT_BITS * (LEVELS as u32 - 1));
        assert_eq!(
            place(cur, u64::MAX),
            Place::Slot {
                level: LEVELS - 2,
                slot: 63
            }
        );
        // Cursor at the rotation's last tick: nowhere left but the ready list.
        assert_eq!(place(RANGE_MASK, u64::MAX), Place::Ready);
        assert_eq!(place(RANGE_MASK, RANGE_MASK + 1), Place::Ready);
        assert_eq!(
            place(RANGE_MASK + 1, u64::MAX),
            place(0, u64::MAX - RANGE_MASK - 1)
        );
    }

    #[test]
    fn near_u64_max_stays_in_range() {
        let cur = u64::MAX - 10;
        assert_eq!(place(cur, u64::MAX), Place::Slot { level: 0, slot: 63 });
        assert_eq!(place(u64::MAX, u64::MAX), Place::Ready);
        assert_eq!(slot_start(cur, 0, 63), u64::MAX);
        assert_eq!(rotation_end(cur), u64::MAX);
    }

    #[test]
    fn slot_start_is_the_first_tick_of_the_slot() {
        assert_eq!(slot_start(0, 0, 5), 5);
        assert_eq!(slot_start(70, 0, 7), 71);
        assert_eq!(slot_start(70, 1, 2), 128);
        assert_eq!(slot_start(5000, 2, 3), 3 << 12);
        let top = LEVELS - 1;
        assert_eq!(
            slot_start(RANGE_MASK + 1, top, 63),
            (RANGE_MASK + 1) | (63 << (SLOT_BITS * top as u32))
        );
        // Every entry's tick lies inside the slot it is placed in.
        for &(cur, t) in &[
            (0u64, 1u64),
            (1, 4096),
            (4095, 4096),
            (1 << 30, (1 << 30) + 99_999),
        ] {
            if let Place::Slot { level, slot } = place(cur, t) {
                let start = slot_start(cur, level, slot);
                assert!(start <= t && t < start + (1 << (level as u32 * SLOT_BITS)));
                assert!(start > cur);
            } else {
                panic!("expected a slot");
            }
        }
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
