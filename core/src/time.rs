//! Time as overdue sees it: [`Instant`] and [`Duration`] in **microseconds**.
//!
//! The core never reads a clock. Every instant is handed in by the caller: the wall
//! clock (`now`) as an argument of `handle_*`, event time (`occurred`, `received`) as
//! data. One unit is used everywhere: microseconds, because Prefect timestamps carry
//! microseconds and its evaluation is exact at that resolution. An [`Instant`] counts
//! microseconds since the Unix epoch (1970-01-01T00:00:00Z); `u64` covers more than
//! 580,000 years, so arithmetic saturates at the ends instead of wrapping or panicking.

use core::fmt;
use core::ops::{Add, Sub};
use serde::{Deserialize, Serialize};

/// Microseconds in one second.
pub const MICROS_PER_SEC: u64 = 1_000_000;

/// A point in time: microseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Instant(u64);

/// A span of time in microseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Duration(u64);

impl Instant {
    /// The Unix epoch.
    pub const ZERO: Instant = Instant(0);
    /// The last representable instant.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `micros` microseconds after the Unix epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// An instant `millis` milliseconds after the Unix epoch (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000))
    }

    /// An instant `secs` seconds after the Unix epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(MICROS_PER_SEC))
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self + d`, or `None` past [`Instant::MAX`].
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.0.checked_add(d.0) {
            Some(v) => Some(Instant(v)),
            None => None,
        }
    }

    /// `self - d`, or `None` before the epoch.
    pub const fn checked_sub(self, d: Duration) -> Option<Instant> {
        match self.0.checked_sub(d.0) {
            Some(v) => Some(Instant(v)),
            None => None,
        }
    }

    /// `self + d`, clamped to [`Instant::MAX`].
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// `self - d`, clamped to the epoch.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }

    /// `self + offset` for a signed offset in microseconds, clamped to the range.
    pub const fn saturating_add_signed(self, offset_micros: i64) -> Instant {
        Instant(self.0.saturating_add_signed(offset_micros))
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        match self.0.checked_sub(earlier.0) {
            Some(v) => Some(Duration(v)),
            None => None,
        }
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self - other` in microseconds as a signed number, clamped to `i64`.
    pub const fn signed_micros_since(self, other: Instant) -> i64 {
        let diff = self.0 as i128 - other.0 as i128;
        if diff > i64::MAX as i128 {
            i64::MAX
        } else if diff < i64::MIN as i128 {
            i64::MIN
        } else {
            diff as i64
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span.
    pub const MAX: Duration = Duration(u64::MAX);

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }

    /// A span of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis.saturating_mul(1_000))
    }

    /// A span of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs.saturating_mul(MICROS_PER_SEC))
    }

    /// A span of `mins` minutes (saturating).
    pub const fn from_mins(mins: u64) -> Self {
        Duration(mins.saturating_mul(60 * MICROS_PER_SEC))
    }

    /// The span in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The span in whole seconds (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / MICROS_PER_SEC
    }

    /// Whether the span is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Duration) -> Option<Duration> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Duration(v)),
            None => None,
        }
    }

    /// `self + other`, clamped to [`Duration::MAX`].
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }

    /// `self - other`, clamped to zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }

    /// `self * n`, clamped to [`Duration::MAX`].
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating: `Instant::MAX + d == Instant::MAX`.
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturating: `Instant::ZERO - d == Instant::ZERO`.
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    /// Saturating addition.
    fn add(self, rhs: Duration) -> Duration {
        self.saturating_add(rhs)
    }
}

impl fmt::Display for Instant {
    /// Seconds since the Unix epoch with six decimals, e.g. `1767225600.250000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / MICROS_PER_SEC,
            self.0 % MICROS_PER_SEC
        )
    }
}

impl fmt::Display for Duration {
    /// Seconds with six decimals followed by `s`, e.g. `90.000000s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.0 / MICROS_PER_SEC,
            self.0 % MICROS_PER_SEC
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_at_both_ends() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::MAX.checked_add(Duration::from_micros(1)), None);
        assert_eq!(Instant::ZERO.checked_sub(Duration::from_micros(1)), None);
        assert_eq!(Duration::MAX + Duration::from_micros(1), Duration::MAX);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
    }

    #[test]
    fn signed_differences_clamp() {
        assert_eq!(Instant::MAX.signed_micros_since(Instant::ZERO), i64::MAX);
        assert_eq!(Instant::ZERO.signed_micros_since(Instant::MAX), i64::MIN);
        assert_eq!(
            Instant::from_secs(5).signed_micros_since(Instant::from_secs(7)),
            -2_000_000
        );
        assert_eq!(
            Instant::from_secs(1).saturating_add_signed(-5_000_000),
            Instant::ZERO
        );
        assert_eq!(Instant::MAX.saturating_add_signed(1), Instant::MAX);
    }

    #[test]
    fn display_is_seconds_with_micros() {
        extern crate alloc;
        use alloc::format;
        assert_eq!(format!("{}", Instant::from_micros(1_500_001)), "1.500001");
        assert_eq!(format!("{}", Duration::from_secs(90)), "90.000000s");
    }
}
