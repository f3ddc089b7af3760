//! Scenario times, converted and printed bit-for-bit as the Python oracle does.
//!
//! The oracle keeps every time as a Python `float` of seconds after 2026-01-01T00:00:00Z
//! (`to_seconds`), hands Prefect `EPOCH + timedelta(seconds=x)` (rounded to whole
//! microseconds by CPython's `timedelta` constructor, see [`timedelta_micros`]) and prints
//! `at` as `fmt_seconds(x)` of the float itself. [`Time`] carries both the float and the
//! instant so the replay can do the same.

use overdue_core::Instant;

use super::instant_from_scenario_micros;

/// 2026-01-01T00:00:00Z in seconds since the Unix epoch: the zero of scenario time.
pub const SCENARIO_EPOCH_UNIX_SECS: u64 = 1_767_225_600;

/// One scenario time: the oracle's float and the [`Instant`] Prefect sees for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Time {
    seconds: f64,
    instant: Instant,
}

impl Time {
    /// The scenario epoch, where the wall clock starts.
    pub const ZERO: Time = Time {
        seconds: 0.0,
        instant: Instant::from_micros(super::SCENARIO_EPOCH_MICROS),
    };

    /// A time `seconds` after the scenario epoch (a JSON number in a scenario).
    pub fn from_seconds(seconds: f64) -> Result<Time, String> {
        let instant = timedelta_micros(seconds)
            .and_then(instant_from_scenario_micros)
            .ok_or_else(|| format!("time {} is out of range", python_float_repr(seconds)))?;
        Ok(Time { seconds, instant })
    }

    /// An ISO-8601 time (a JSON string in a scenario): `Z` or an offset, naive = UTC.
    ///
    /// Accepts what Python 3.11's `datetime.fromisoformat` accepts for well-formed input:
    /// `YYYY-MM-DD`, `YYYYMMDD` or ISO week dates (`YYYY-Www[-D]`, `YYYYWww[D]`), then any
    /// one separator character and `HH[:MM[:SS[.f…]]]` (or `HHMMSS`, fraction separator
    /// `.` or `,`, digits past the sixth truncated), then `Z` or `±HH[[:]MM[[:]SS[.f…]]]`.
    /// Malformed strings that CPython's C parser happens to tolerate are rejected.
    pub fn from_iso(text: &str) -> Result<Time, String> {
        let micros = parse_iso_micros(text)
            .map_err(|why| format!("not an ISO-8601 time: {text:?} ({why})"))?;
        // the oracle's `(parsed - EPOCH).total_seconds()`: integer microseconds / 10**6
        Time::from_seconds(micros as f64 / 1e6)
    }

    /// The oracle's float: seconds after the scenario epoch.
    pub fn seconds(self) -> f64 {
        self.seconds
    }

    /// The instant Prefect sees.
    pub fn instant(self) -> Instant {
        self.instant
    }

    /// Python's `max(self, other)`: `self` unless `other` is strictly later.
    pub fn max(self, other: Time) -> Time {
        if other.seconds > self.seconds {
            other
        } else {
            self
        }
    }
}

/// CPython's `timedelta(seconds=x)` in whole microseconds (`None` if not finite or
/// beyond `timedelta`'s range).
///
/// The integral part is exact; the fractional part is scaled by 10⁶ in `double`
/// arithmetic, its integral part added, and the remaining fraction rounded half to even
/// against the parity of the running total (`delta_new` / `accum` in `_datetimemodule.c`).
pub fn timedelta_micros(x: f64) -> Option<i128> {
    // timedelta.max is 999999999 days
    if !x.is_finite() || x.abs() >= 86_400.0 * 1e9 {
        return None;
    }
    let int_part = x.trunc();
    let frac = x - int_part;
    let mut total = (int_part as i128) * 1_000_000;
    if frac == 0.0 {
        return Some(total);
    }
    let scaled = 1e6 * frac;
    let scaled_int = scaled.trunc();
    let leftover = scaled - scaled_int;
    total += scaled_int as i128;
    let mut whole = leftover.round();
    if (whole - leftover).abs() == 0.5 {
        let odd = (total & 1) as f64;
        whole = 2.0 * ((leftover + odd) * 0.5).round() - odd;
    }
    Some(total + whole as i128)
}

/// The oracle's `fmt_seconds` as JSON text: `round(x, 6)`, printed as an `int` when
/// whole (`121`, `-5`, `0`), else as Python's float `repr` (`239.306`, `1e-06`).
pub fn fmt_seconds(seconds: f64) -> String {
    let r = python_round6(seconds);
    if r == r.trunc() {
        let text = format!("{r:.0}");
        if text == "-0" {
            "0".to_owned()
        } else {
            text
        }
    } else {
        python_float_repr(r)
    }
}

/// Python's `round(x, 6)` for a finite float: the double nearest to the exact value of
/// `x` rounded half-to-even at the sixth decimal.
fn python_round6(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust's fixed-precision formatting is exact and rounds ties to even, as dtoa does.
    format!("{x:.6}").parse().unwrap_or(x)
}

/// Python's `repr(float)`: the shortest round-tripping digits, in positional notation
/// when the decimal exponent is in `-4 ..= 15`, else as `d.ddde±XX`.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{:e}", x.abs()); // shortest digits: "1.2345e-5", "1e16"
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    // Python's `decpt`: x = 0.DIGITS × 10^decpt
    let decpt = exponent + 1;
    let n = digits.len() as i32;
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}e{esign}{:02}", exponent.abs())
    }
}

/// Microseconds after the scenario epoch for an ISO-8601 string (see [`Time::from_iso`]).
fn parse_iso_micros(text: &str) -> Result<i128, &'static str> {
    let mut text = text.trim().to_owned();
    if text.ends_with('Z') {
        text.pop();
        text.push_str("+00:00");
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 7 {
        return Err("too short");
    }
    let date_len = date_length(&chars);
    if chars.len() < date_len || !chars[..date_len].iter().all(char::is_ascii) {
        return Err("bad date");
    }
    let date: String = chars[..date_len].iter().collect();
    let days = parse_date(&date)?;
    let (time_micros, offset_micros) = if chars.len() > date_len {
        // any one separator character, then the time
        let time: String = chars[date_len + 1..].iter().collect();
        if time.is_empty() || !time.is_ascii() {
            return Err("bad time");
        }
        parse_time_and_offset(&time)?
    } else {
        (0, 0)
    };
    let days_since_epoch = days - days_from_civil(2026, 1, 1);
    Ok(i128::from(days_since_epoch) * 86_400_000_000 + time_micros - offset_micros)
}

/// How many characters the date takes (CPython's `_find_isoformat_datetime_separator`
/// for the forms accepted here).
fn date_length(chars: &[char]) -> usize {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    match (at(4), at(5)) {
        ('-', 'W') if at(8) == '-' => 10,
        ('-', 'W') => 8,
        ('-', _) => 10,
        ('W', _) if at(7).is_ascii_digit() => 8,
        ('W', _) => 7,
        _ => 8,
    }
}

fn digits(text: &str) -> Result<i64, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected digits");
    }
    text.parse().map_err(|_| "number too large")
}

/// Days since 1970-01-01 of a date in one of the accepted forms.
fn parse_date(date: &str) -> Result<i64, &'static str> {
    let year = digits(&date[..4])?;
    if year < 1 {
        return Err("year out of range");
    }
    let extended = date.as_bytes()[4] == b'-';
    let rest = &date[4 + usize::from(extended)..];
    if let Some(week_part) = rest.strip_prefix('W') {
        let week = digits(week_part.get(..2).ok_or("bad week")?)?;
        let day_part = &week_part[2..];
        let day = match (extended, day_part) {
            (_, "") => 1,
            (true, d) => digits(d.strip_prefix('-').ok_or("bad week day")?)?,
            (false, d) => digits(d)?,
        };
        if !(1..=7).contains(&day) || !(1..=53).contains(&week) {
            return Err("week or day out of range");
        }
        let jan1 = days_from_civil(year, 1, 1);
        let jan1_weekday = (jan1 + 3).rem_euclid(7); // Monday = 0
        if week == 53 && !(jan1_weekday == 3 || (jan1_weekday == 2 && is_leap(year))) {
            return Err("the year has no week 53");
        }
        let jan4 = jan1 + 3;
        let week1_monday = jan4 - (jan4 + 3).rem_euclid(7);
        return Ok(week1_monday + (week - 1) * 7 + (day - 1));
    }
    let (month, day) = if extended {
        let (m, d) = rest.split_once('-').ok_or("bad date")?;
        if m.len() != 2 || d.len() != 2 {
            return Err("bad date");
        }
        (digits(m)?, digits(d)?)
    } else {
        if rest.len() != 4 {
            return Err("bad date");
        }
        (digits(&rest[..2])?, digits(&rest[2..])?)
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("month or day out of range");
    }
    Ok(days_from_civil(year, month, day))
}

fn is_leap(year: i64) -> bool {
    overdue_core::rfc3339::is_leap(year)
}

/// `month` must be 1–12 (checked by the caller).
fn days_in_month(year: i64, month: i64) -> i64 {
    i64::from(overdue_core::rfc3339::days_in_month(year, month as u32))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1–12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    overdue_core::rfc3339::days_from_civil(year, month as u32, day as u32)
}

/// `(microseconds into the day, UTC offset in microseconds)`.
fn parse_time_and_offset(time: &str) -> Result<(i128, i128), &'static str> {
    let (clock, offset) = match time.find(['+', '-']) {
        Some(at) => (&time[..at], Some((&time[at..at + 1], &time[at + 1..]))),
        None => (time, None),
    };
    let (h, m, s, us) = parse_hh_mm_ss_ff(clock)?;
    if h > 23 || m > 59 || s > 59 {
        return Err("time out of range");
    }
    let micros = ((h * 60 + m) * 60 + s) as i128 * 1_000_000 + us as i128;
    let offset = match offset {
        None => 0,
        Some((sign, text)) => {
            let (h, m, s, us) = parse_hh_mm_ss_ff(text)?;
            if m > 59 || s > 59 {
                return Err("offset out of range");
            }
            let magnitude = ((h * 60 + m) * 60 + s) as i128 * 1_000_000 + us as i128;
            if magnitude >= 86_400_000_000 {
                return Err("offset must be strictly between -24h and 24h");
            }
            if sign == "-" {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    Ok((micros, offset))
}

/// `HH[:MM[:SS[.f…]]]` or `HH[MM[SS[.f…]]]`; the fraction only after seconds.
fn parse_hh_mm_ss_ff(text: &str) -> Result<(i64, i64, i64, i64), &'static str> {
    let (clock, fraction) = match text.find(['.', ',']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let parts: Vec<&str> = if clock.contains(':') {
        clock.split(':').collect()
    } else {
        if clock.len() % 2 != 0 {
            return Err("bad time");
        }
        (0..clock.len())
            .step_by(2)
            .map(|i| &clock[i..i + 2])
            .collect()
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
        return Err("bad time");
    }
    let mut values = [0i64; 3];
    for (slot, part) in values.iter_mut().zip(&parts) {
        *slot = digits(part)?;
    }
    let micros = match fraction {
        None => 0,
        Some(f) if parts.len() == 3 && !f.is_empty() => {
            digits(f)?;
            let six: String = f.chars().chain(core::iter::repeat('0')).take(6).collect();
            digits(&six)?
        }
        Some(_) => return Err("bad fraction"),
    };
    Ok((values[0], values[1], values[2], micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_seconds_like_the_oracle() {
        assert_eq!(fmt_seconds(121.0), "121");
        assert_eq!(fmt_seconds(239.306), "239.306");
        assert_eq!(fmt_seconds(-5.0), "-5");
        assert_eq!(fmt_seconds(-0.25), "-0.25");
        assert_eq!(fmt_seconds(-1e-9), "0"); // round(-1e-09, 6) == -0.0 → int 0
        assert_eq!(fmt_seconds(0.0), "0");
        assert_eq!(fmt_seconds(0.004), "0.004");
        assert_eq!(fmt_seconds(1e-6), "1e-06");
        assert_eq!(fmt_seconds(-1e-6), "-1e-06");
        assert_eq!(fmt_seconds(0.00012), "0.00012");
        assert_eq!(fmt_seconds(0.0000125), "1.3e-05"); // the double is above the tie
        assert_eq!(fmt_seconds(0.0078125), "0.007812"); // an exact tie: half to even
        assert_eq!(fmt_seconds(0.1234567), "0.123457");
        assert_eq!(fmt_seconds(1234567.0000004), "1234567");
        assert_eq!(fmt_seconds(1e20), "100000000000000000000");
        assert_eq!(fmt_seconds(86399.999999), "86399.999999");
    }

    #[test]
    fn float_repr_like_python() {
        for (x, text) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (123456789.123, "123456789.123"),
            (1e300, "1e+300"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(python_float_repr(x), text, "{x:e}");
        }
    }

    #[test]
    fn timedelta_rounds_like_cpython() {
        assert_eq!(timedelta_micros(121.0), Some(121_000_000));
        assert_eq!(timedelta_micros(239.306), Some(239_306_000));
        assert_eq!(timedelta_micros(-0.001), Some(-1_000));
        assert_eq!(timedelta_micros(-900.5), Some(-900_500_000));
        // python: timedelta(seconds=x) // timedelta(microseconds=1)
        assert_eq!(timedelta_micros(0.0000005), Some(0)); // 0.5 µs: tie → even (0)
        assert_eq!(timedelta_micros(0.0000015), Some(2)); // 1.5 µs → 2
        assert_eq!(timedelta_micros(0.0000025), Some(2)); // 2.5 µs → 2
        assert_eq!(timedelta_micros(1.0000005), Some(1_000_001)); // the double is above the tie
        assert_eq!(timedelta_micros(-0.0000015), Some(-2));
        assert_eq!(
            timedelta_micros(1767225600.123456),
            Some(1_767_225_600_123_456)
        );
        assert_eq!(timedelta_micros(f64::NAN), None);
        assert_eq!(timedelta_micros(1e300), None);
    }

    fn iso(text: &str) -> Result<f64, String> {
        Time::from_iso(text).map(Time::seconds)
    }

    #[test]
    fn iso_strings_like_python_fromisoformat() {
        // expected values from the oracle's to_seconds() under Python 3.11
        for (text, seconds) in [
            ("2026-01-01", 0.0),
            ("2026-01-01T00:02:01", 121.0),
            ("2026-01-01 00:02:01", 121.0),
            ("2026-01-01x00:02:01", 121.0),
            ("20260101T000201", 121.0),
            ("2026-01-01T00:02:01Z", 121.0),
            ("  2026-01-01T00:00:01Z  ", 1.0),
            ("2026-01-01T01:02:01+01:00", 121.0),
            ("2026-01-01T00:02:01-0130", 5521.0),
            ("2026-01-01T00:02:01+01", -3479.0),
            ("2026-01-01T00:02:01-00:00", 121.0),
            ("2026-01-01T00:02:01+01:00:30", -3509.0),
            ("2026-01-01T00:02:01+01:00:30.5", -3509.5),
            ("2026-01-01T00:02:01.5", 121.5),
            ("2026-01-01T00:02:01,25", 121.25),
            ("2026-01-01T00:02:01.1234567", 121.123456),
            ("2026-01-01T00:02:01.1234569", 121.123456),
            ("2026-01-01T00:02:01.12Z", 121.12),
            ("2026-01-01T00:02:01.123+0530", -19678.877),
            ("2026-01-01T000201.5", 121.5),
            ("2026-01-01T00:02", 120.0),
            ("2026-01-01T00", 0.0),
            ("2026-01-01T0002", 120.0),
            ("2026-W01-4", 0.0),
            ("2026W014", 0.0),
            ("2026-W01", -259200.0),
            ("2026-W01-4T10:00", 36000.0),
            ("2026-W53-1", 31190400.0),
            ("2020-W53-7", -157593600.0),
            ("2025-12-31T23:59:59.999999", -1e-06),
            ("2024-02-29", -58060800.0),
            ("2026-01-01T00:00:00+23:59", -86340.0),
            ("20260101", 0.0),
        ] {
            assert_eq!(iso(text), Ok(seconds), "{text}");
        }
        for text in [
            "2026-01-01T00:0201",
            "2026-01-01T24:00:00",
            "2026-01-01T00:00:60",
            "2026-01-01T00:02:01.",
            "2026-001",
            "2026-01-01T00:02:01z",
            "2026-01-01T00:02:01ZZ",
            "2026-1-01",
            "+2026-01-01",
            "2026-01-01T1",
            "2026-01-01T00:02:01+1",
            "2025-02-29",
            "2026-01-01T00:00:00+24:00",
            "2026-0101",
            "202601-01",
            "2026-01-01T00:02:01Z+01:00",
            "2026-W00-1",
            "2026-W01-8",
            "2025-W53-1",
            "2026-01-01T",
            "2026-01-01T00:02:01+01:",
            "1969-12-31T23:59:59Z", // before the Unix epoch: no Instant for it
        ] {
            assert!(iso(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn times_map_to_unix_microseconds() {
        let t = Time::from_seconds(121.5).unwrap();
        assert_eq!(t.instant().as_micros(), 1_767_225_721_500_000);
        assert_eq!(Time::ZERO.instant().as_micros(), 1_767_225_600_000_000);
        let late = Time::from_iso("2026-01-01T00:00:01.000001+00:00").unwrap();
        assert_eq!(late.instant().as_micros(), 1_767_225_601_000_001);
        assert_eq!(late.seconds(), 1.000001);
        assert!(Time::from_seconds(-1_767_225_601.0).is_err());
        assert_eq!(
            Time::from_seconds(-1_767_225_600.0).unwrap().instant(),
            Instant::ZERO
        );
    }

    #[test]
    fn max_prefers_the_first_on_ties() {
        let a = Time::from_seconds(1.0).unwrap();
        let b = Time::from_seconds(2.0).unwrap();
        assert_eq!(a.max(b), b);
        assert_eq!(b.max(a), b);
        assert_eq!(a.max(a), a);
    }
}
