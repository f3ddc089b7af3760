//! RFC 3339 timestamps to and from [`Instant`], without allocation.
//!
//! [`parse`] accepts what Prefect's event schema accepts for `occurred`/`received`
//! (pendulum/pydantic under Prefect 3.9.1), within the range of an [`Instant`]:
//!
//! * `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and `HH:MM`,
//!   `HH:MM:SS` or `HH:MM:SS.f…` (`.` or `,` before the fraction);
//! * an optional offset `Z`, `z`, `±HH:MM`, `±HHMM` or `±HH` (less than 24 h); a
//!   timestamp without an offset is read as UTC, as Prefect does;
//! * fractions with more than 6 digits are **truncated** to microseconds, which is
//!   what Prefect does (`…00.9999995Z` becomes `.999999`, not the next second);
//! * leap seconds (`:60`), `24:00` and impossible dates are rejected, as Prefect
//!   rejects them; so is anything before the Unix epoch (Prefect accepts it, but an
//!   [`Instant`] cannot hold it).
//!
//! [`Rfc3339`] formats an [`Instant`] as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.

use core::fmt;

use crate::error::TimestampError;
use crate::time::{Instant, MICROS_PER_SEC};

const SECS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp (see the module docs for the accepted forms).
pub fn parse(text: &str) -> Result<Instant, TimestampError> {
    let b = text.as_bytes();
    if b.is_empty() {
        return Err(TimestampError::Empty);
    }
    let mut p = Cursor { b, at: 0 };
    let year = p.digits(4)? as i64;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(TimestampError::InvalidDate);
    }
    let (mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0u64);
    let mut offset_secs: i64 = 0;
    if p.at < b.len() {
        match b[p.at] {
            b'T' | b't' | b' ' => p.at += 1,
            _ => return Err(p.syntax()),
        }
        hour = p.digits(2)?;
        p.expect(b':')?;
        minute = p.digits(2)?;
        if p.peek() == Some(b':') {
            p.at += 1;
            second = p.digits(2)?;
            if matches!(p.peek(), Some(b'.' | b',')) {
                p.at += 1;
                let start = p.at;
                let mut scale = 100_000u64;
                while let Some(d @ b'0'..=b'9') = p.peek() {
                    micros += u64::from(d - b'0') * scale;
                    scale /= 10; // digits past the 6th add 0: truncation
                    p.at += 1;
                }
                if p.at == start {
                    return Err(p.syntax());
                }
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError::InvalidTime);
        }
        match p.peek() {
            None => {}
            Some(b'Z' | b'z') => p.at += 1,
            Some(sign @ (b'+' | b'-')) => {
                p.at += 1;
                let oh = p.digits(2)?;
                let om = match p.peek() {
                    Some(b':') => {
                        p.at += 1;
                        p.digits(2)?
                    }
                    Some(b'0'..=b'9') => p.digits(2)?,
                    _ => 0,
                };
                if oh > 23 || om > 59 {
                    return Err(TimestampError::InvalidOffset);
                }
                let off = i64::from(oh) * 3600 + i64::from(om) * 60;
                offset_secs = if sign == b'+' { off } else { -off };
            }
            Some(_) => return Err(p.syntax()),
        }
        if p.at != b.len() {
            return Err(p.syntax());
        }
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * SECS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset_secs;
    if secs < 0 {
        return Err(TimestampError::BeforeEpoch);
    }
    (secs as u64)
        .checked_mul(MICROS_PER_SEC)
        .and_then(|m| m.checked_add(micros))
        .map(Instant::from_micros)
        .ok_or(TimestampError::TooLarge)
}

/// Formats an [`Instant`] as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (fraction only when not
/// zero). [`parse`] reads it back exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339(pub Instant);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        let secs = (micros / MICROS_PER_SEC) as i64;
        let frac = micros % MICROS_PER_SEC;
        let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let tod = secs.rem_euclid(SECS_PER_DAY);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            tod / 3600,
            tod / 60 % 60,
            tod % 60
        )?;
        if frac != 0 {
            write!(f, ".{frac:06}")?;
        }
        f.write_str("Z")
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn syntax(&self) -> TimestampError {
        TimestampError::Syntax { at: self.at }
    }

    fn expect(&mut self, c: u8) -> Result<(), TimestampError> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn digits(&mut self, n: usize) -> Result<u32, TimestampError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(d - b'0');
                    self.at += 1;
                }
                _ => return Err(self.syntax()),
            }
        }
        Ok(v)
    }
}

/// Whether `year` is a leap year of the proleptic Gregorian calendar.
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days of `month` (1–12) in `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm);
/// `month` is 1–12.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const NEW_YEAR_2026: u64 = 1_767_225_600;

    fn secs(t: &str) -> u64 {
        parse(t).unwrap().as_micros()
    }

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(secs("2026-01-01T00:00:00Z"), NEW_YEAR_2026 * 1_000_000);
        assert_eq!(secs("2026-01-01T00:00:00+00:00"), NEW_YEAR_2026 * 1_000_000);
        assert_eq!(secs("2026-01-01T00:00:00-00:00"), NEW_YEAR_2026 * 1_000_000);
        assert_eq!(
            secs("2026-01-01T00:00:00+02:00"),
            (NEW_YEAR_2026 - 7200) * 1_000_000
        );
        assert_eq!(
            secs("2026-01-01T00:00:00+0200"),
            (NEW_YEAR_2026 - 7200) * 1_000_000
        );
        assert_eq!(
            secs("2026-01-01T00:00:00+02"),
            (NEW_YEAR_2026 - 7200) * 1_000_000
        );
        assert_eq!(secs("2025-12-31T19:00:00-05:00"), NEW_YEAR_2026 * 1_000_000);
        assert_eq!(
            secs("2026-01-01T00:00:00+23:59"),
            (NEW_YEAR_2026 - 23 * 3600 - 59 * 60) * 1_000_000
        );
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0);
    }

    #[test]
    fn accepts_prefect_leniencies() {
        let base = NEW_YEAR_2026 * 1_000_000;
        assert_eq!(secs("2026-01-01t00:00:00z"), base);
        assert_eq!(secs("2026-01-01 00:00:00Z"), base);
        assert_eq!(secs("2026-01-01T00:00:00"), base, "naive means UTC");
        assert_eq!(secs("2026-01-01"), base);
        assert_eq!(secs("2026-01-01T00:00Z"), base);
        assert_eq!(secs("2026-01-01T00:00:00,5Z"), base + 500_000);
    }

    #[test]
    fn fractions_truncate_to_microseconds() {
        let base = NEW_YEAR_2026 * 1_000_000;
        assert_eq!(secs("2026-01-01T00:00:00.5Z"), base + 500_000);
        assert_eq!(secs("2026-01-01T00:00:00.000001Z"), base + 1);
        assert_eq!(secs("2026-01-01T00:00:00.1234565Z"), base + 123_456);
        assert_eq!(secs("2026-01-01T00:00:00.9999995Z"), base + 999_999);
        assert_eq!(secs("2026-01-01T00:00:00.123456789012Z"), base + 123_456);
    }

    #[test]
    fn rejects_what_prefect_rejects() {
        use TimestampError::*;
        assert_eq!(parse(""), Err(Empty));
        assert_eq!(parse("2026-01-01T00:00:60Z"), Err(InvalidTime));
        assert_eq!(parse("2026-01-01T24:00:00Z"), Err(InvalidTime));
        assert_eq!(parse("2026-02-30T00:00:00Z"), Err(InvalidDate));
        assert_eq!(parse("2026-13-01T00:00:00Z"), Err(InvalidDate));
        assert_eq!(parse("2026-01-01T00:00:00+24:00"), Err(InvalidOffset));
        assert_eq!(parse("2026-01-01T00:00:00.Z"), Err(Syntax { at: 20 }));
        assert_eq!(parse("2026-01-01T00:00:00 Z"), Err(Syntax { at: 19 }));
        assert_eq!(parse("2026-01-01T00:00:00Zjunk"), Err(Syntax { at: 20 }));
        assert_eq!(parse("26-01-01"), Err(Syntax { at: 2 }));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Err(BeforeEpoch));
        assert_eq!(parse("1970-01-01T00:59:59+01:00"), Err(BeforeEpoch));
        assert!(parse("2024-02-29T00:00:00Z").is_ok());
        assert_eq!(parse("2023-02-29T00:00:00Z"), Err(InvalidDate));
        assert_eq!(parse("1900-02-29T00:00:00Z"), Err(InvalidDate));
    }

    #[test]
    fn format_round_trips() {
        for micros in [
            0u64,
            1,
            NEW_YEAR_2026 * 1_000_000 + 123_456,
            951_782_400_000_000,     // 2000-02-29
            253_402_300_799_999_999, // 9999-12-31T23:59:59.999999
        ] {
            let text = Rfc3339(Instant::from_micros(micros)).to_string();
            assert_eq!(parse(&text).unwrap().as_micros(), micros, "{text}");
        }
        assert_eq!(
            Rfc3339(Instant::from_secs(NEW_YEAR_2026)).to_string(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            Rfc3339(Instant::from_micros(NEW_YEAR_2026 * 1_000_000 + 5)).to_string(),
            "2026-01-01T00:00:00.000005Z"
        );
    }
}
