//! `within` values as pydantic reads a `timedelta`: seconds as a number, or a string
//! in ISO 8601 or `[D days, ]HH:MM[:SS[.f]]` form. Results are signed microseconds.

/// Python's `timedelta` cannot exceed 999,999,999 days; pydantic reports it.
const MAX_DAYS: u128 = 999_999_999;
const MICROS_PER_SEC: u128 = 1_000_000;
const MICROS_PER_DAY: u128 = 86_400 * MICROS_PER_SEC;

/// A parsed duration: sign and magnitude in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Signed {
    pub negative: bool,
    pub micros: u128,
}

impl Signed {
    /// The magnitude if the duration is not negative (`-0` counts as zero).
    pub(crate) fn non_negative(self) -> Option<u128> {
        if self.negative && self.micros != 0 {
            None
        } else {
            Some(self.micros)
        }
    }
}

/// Parses a duration string the way pydantic (speedate) does, e.g. `PT1M30S`,
/// `P1DT2H`, `P1W`, `PT0.5S`, `01:30:00`, `2 days, 01:00:00`, `2d`. Returns the
/// duration in microseconds, or why it is not one. Negative durations (`-PT1S`) are
/// returned as `Err("negative")` so that callers can say so.
///
/// Units: `Y` = 365 days, `M` = 30 days before `T` and 60 s after it, `W` = 7 days,
/// `D`, `H`, `S`; only the last component may carry a fraction (`.` or `,`).
pub fn parse_duration(text: &str) -> Result<u64, &'static str> {
    let d = parse_signed(text)?;
    let micros = d.non_negative().ok_or("negative")?;
    u64::try_from(micros).map_err(|_| "too large")
}

pub(crate) fn parse_signed(text: &str) -> Result<Signed, &'static str> {
    let b = text.as_bytes();
    let (negative, rest) = match b.first() {
        Some(b'+') => (false, &b[1..]),
        Some(b'-') => (true, &b[1..]),
        Some(_) => (false, b),
        None => return Err("empty string"),
    };
    let micros = match rest.first() {
        Some(b'P') => iso8601(&rest[1..])?,
        _ => days_time(rest)?,
    };
    if micros > MAX_DAYS * MICROS_PER_DAY + (MICROS_PER_DAY - 1) {
        return Err("durations may not exceed 999,999,999 days");
    }
    Ok(Signed { negative, micros })
}

/// Seconds as a JSON number: whole seconds truncated, the fraction rounded to the
/// microsecond half away from zero (pydantic-core's `float_as_duration`).
pub(crate) fn from_float_seconds(secs: f64) -> Result<Signed, &'static str> {
    if secs.is_nan() {
        return Err("NaN is not a duration");
    }
    let abs = if secs < 0.0 { -secs } else { secs };
    if abs >= ((MAX_DAYS + 1) * 86_400) as f64 {
        return Err("durations may not exceed 999,999,999 days");
    }
    let whole = abs as u64; // truncation, exact below 2^53
    let frac = abs - whole as f64; // exact
    let scaled = frac * 1_000_000.0;
    let mut micros = scaled as u64;
    if scaled - micros as f64 >= 0.5 {
        micros += 1;
    }
    Ok(Signed {
        negative: secs < 0.0,
        micros: u128::from(whole) * MICROS_PER_SEC + u128::from(micros),
    })
}

/// Seconds as a JSON integer.
pub(crate) fn from_int_seconds(secs: i128) -> Result<Signed, &'static str> {
    let abs = secs.unsigned_abs();
    if abs > (MAX_DAYS + 1) * 86_400 {
        return Err("durations may not exceed 999,999,999 days");
    }
    Ok(Signed {
        negative: secs < 0,
        micros: abs * MICROS_PER_SEC,
    })
}

/// A decimal number: integer part, and the fraction as (numerator, denominator).
struct Number {
    whole: u128,
    frac: Option<(u128, u128)>,
}

fn number(b: &[u8], at: &mut usize) -> Result<Number, &'static str> {
    let start = *at;
    let mut whole: u128 = 0;
    while let Some(d @ b'0'..=b'9') = b.get(*at).copied() {
        whole = whole
            .checked_mul(10)
            .and_then(|w| w.checked_add(u128::from(d - b'0')))
            .ok_or("number too large")?;
        *at += 1;
    }
    if *at == start {
        return Err("expected a number");
    }
    let mut frac = None;
    if matches!(b.get(*at), Some(b'.' | b',')) {
        *at += 1;
        let (mut num, mut den) = (0u128, 1u128);
        let fstart = *at;
        while let Some(d @ b'0'..=b'9') = b.get(*at).copied() {
            if den < 1_000_000_000_000_000_000 {
                num = num * 10 + u128::from(d - b'0');
                den *= 10;
            }
            *at += 1;
        }
        if *at == fstart {
            return Err("expected digits after the decimal point");
        }
        frac = Some((num, den));
    }
    Ok(Number { whole, frac })
}

/// `value × unit` in microseconds, the fraction rounded half up.
fn scale(n: &Number, unit_micros: u128) -> Result<u128, &'static str> {
    let mut total = n.whole.checked_mul(unit_micros).ok_or("too large")?;
    if let Some((num, den)) = n.frac {
        total += (num * unit_micros * 2 + den) / (2 * den);
    }
    Ok(total)
}

/// The part after `P`: `[nY][nM][nW][nD][T[nH][nM][nS]]`.
fn iso8601(b: &[u8]) -> Result<u128, &'static str> {
    let mut at = 0;
    let mut in_time = false;
    let mut total: u128 = 0;
    let mut components = 0;
    let mut had_fraction = false;
    while at < b.len() {
        if b[at] == b'T' {
            if in_time {
                return Err("`T` repeated");
            }
            in_time = true;
            at += 1;
            continue;
        }
        if had_fraction {
            return Err("only the last component may have a fraction");
        }
        let n = number(b, &mut at)?;
        had_fraction = n.frac.is_some();
        let unit = match (in_time, b.get(at).copied()) {
            (false, Some(b'Y')) => 365 * MICROS_PER_DAY,
            (false, Some(b'M')) => 30 * MICROS_PER_DAY,
            (false, Some(b'W')) => 7 * MICROS_PER_DAY,
            (false, Some(b'D')) => MICROS_PER_DAY,
            (true, Some(b'H')) => 3_600 * MICROS_PER_SEC,
            (true, Some(b'M')) => 60 * MICROS_PER_SEC,
            (true, Some(b'S')) => MICROS_PER_SEC,
            (false, _) => return Err("invalid date unit (expected Y, M, W or D)"),
            (true, _) => return Err("invalid time unit (expected H, M or S)"),
        };
        at += 1;
        components += 1;
        total = total.checked_add(scale(&n, unit)?).ok_or("too large")?;
    }
    if components == 0 {
        return Err("input is too short");
    }
    Ok(total)
}

/// `D[ ](d|day|days)[,][ ][HH:MM[:SS[.f]]]` or `HH:MM[:SS[.f]]`.
fn days_time(b: &[u8]) -> Result<u128, &'static str> {
    let mut at = 0;
    let first = number(b, &mut at)?;
    if b.get(at) == Some(&b':') {
        if first.frac.is_some() {
            return Err("invalid hour");
        }
        let t = time_of_day(b, &mut at, first.whole)?;
        return if at == b.len() {
            Ok(t)
        } else {
            Err("extra characters at the end")
        };
    }
    if first.frac.is_some() {
        return Err("a plain number is not a duration string");
    }
    if b.get(at) == Some(&b' ') {
        at += 1;
    }
    if !matches!(b.get(at), Some(b'd' | b'D')) {
        return Err("expected an ISO 8601 duration, `HH:MM:SS` or `D days, HH:MM:SS`");
    }
    at += 1;
    if matches!(b.get(at), Some(b'a' | b'A')) {
        if !matches!(b.get(at + 1), Some(b'y' | b'Y')) {
            return Err("invalid days");
        }
        at += 2;
        if matches!(b.get(at), Some(b's' | b'S')) {
            at += 1;
        }
    }
    if b.get(at) == Some(&b',') {
        at += 1;
    }
    if b.get(at) == Some(&b' ') {
        at += 1;
    }
    let days = first.whole.checked_mul(MICROS_PER_DAY).ok_or("too large")?;
    if at == b.len() {
        return Ok(days);
    }
    let hours = number(b, &mut at)?;
    if hours.frac.is_some() || b.get(at) != Some(&b':') {
        return Err("invalid time");
    }
    let t = time_of_day(b, &mut at, hours.whole)?;
    if at != b.len() {
        return Err("extra characters at the end");
    }
    days.checked_add(t).ok_or("too large")
}

/// `:MM[:SS[.f]]` after `hours` (hours are not limited to 23, as in pydantic).
fn time_of_day(b: &[u8], at: &mut usize, hours: u128) -> Result<u128, &'static str> {
    *at += 1; // ':'
    let minutes = two_digits(b, at).ok_or("invalid minute")?;
    if minutes > 59 {
        return Err("minute value is outside expected range of 0-59");
    }
    let mut total = hours * 3_600 * MICROS_PER_SEC + minutes * 60 * MICROS_PER_SEC;
    if b.get(*at) == Some(&b':') {
        *at += 1;
        let start = *at;
        let secs = number(b, at)?;
        if *at - start < 2 || secs.whole > 59 {
            return Err("second value is outside expected range of 0-59");
        }
        total += scale(&secs, MICROS_PER_SEC)?;
    }
    Ok(total)
}

fn two_digits(b: &[u8], at: &mut usize) -> Option<u128> {
    let hi = b.get(*at).filter(|c| c.is_ascii_digit())?;
    let lo = b.get(*at + 1).filter(|c| c.is_ascii_digit())?;
    *at += 2;
    Some(u128::from(hi - b'0') * 10 + u128::from(lo - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn iso8601_forms() {
        assert_eq!(parse_duration("PT1M"), Ok(60 * S));
        assert_eq!(parse_duration("PT1H30M"), Ok(5400 * S));
        assert_eq!(parse_duration("P1DT2H"), Ok(93_600 * S));
        assert_eq!(parse_duration("P1W"), Ok(604_800 * S));
        assert_eq!(parse_duration("P1Y"), Ok(31_536_000 * S));
        assert_eq!(parse_duration("P1M"), Ok(2_592_000 * S));
        assert_eq!(parse_duration("P0.5D"), Ok(43_200 * S));
        assert_eq!(parse_duration("PT1.5S"), Ok(1_500_000));
        assert_eq!(parse_duration("PT1,5S"), Ok(1_500_000));
        assert_eq!(parse_duration("PT0.0000015S"), Ok(2));
        assert_eq!(parse_duration("P1DT"), Ok(86_400 * S));
        assert_eq!(parse_duration("+PT1S"), Ok(S));
        assert_eq!(parse_duration("PT0S"), Ok(0));
        assert_eq!(parse_duration("-PT1S"), Err("negative"));
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("pt1s").is_err());
        assert!(parse_duration(" PT1S").is_err());
        assert!(parse_duration("PT1.5M1S").is_err());
        assert!(parse_duration("P1H").is_err());
    }

    #[test]
    fn clock_and_day_forms() {
        assert_eq!(parse_duration("01:00:00"), Ok(3600 * S));
        assert_eq!(
            parse_duration("10:00"),
            Ok(36_000 * S),
            "HH:MM, as pydantic"
        );
        assert_eq!(parse_duration("25:00:00"), Ok(90_000 * S));
        assert_eq!(parse_duration("1:02:03.5"), Ok(3723 * S + 500_000));
        assert_eq!(parse_duration("1 day, 0:00:00"), Ok(86_400 * S));
        assert_eq!(parse_duration("2 days, 1:00:00"), Ok(176_400 * S));
        assert_eq!(parse_duration("2d"), Ok(172_800 * S));
        assert!(parse_duration("00:61:00").is_err());
        assert!(parse_duration("00:00:61").is_err());
        assert!(
            parse_duration("90").is_err(),
            "a numeric string is not a duration"
        );
        assert!(parse_duration("1.5").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn numbers_round_like_pydantic() {
        let us = |f: f64| from_float_seconds(f).unwrap();
        assert_eq!(us(1.5).micros, 1_500_000);
        assert_eq!(us(1.5e-6).micros, 2);
        assert_eq!(us(2.5e-6).micros, 3);
        assert_eq!(us(9.9999999).micros, 10_000_000);
        assert_eq!(
            us(-1e-7).non_negative(),
            Some(0),
            "rounds to zero: not negative"
        );
        assert_eq!(us(-0.0).non_negative(), Some(0));
        assert_eq!(us(-1.0).non_negative(), None);
        assert!(from_float_seconds(f64::NAN).is_err());
        assert!(from_float_seconds(f64::INFINITY).is_err());
        assert!(from_float_seconds(1e20).is_err());
        assert_eq!(from_int_seconds(90).unwrap().micros, 90_000_000);
        assert_eq!(from_int_seconds(-1).unwrap().non_negative(), None);
        assert!(parse_signed("P999999999D").is_ok(), "Python's limit");
        assert_eq!(
            parse_duration("P999999999D"),
            Err("too large"),
            "beyond u64 µs"
        );
        assert!(parse_signed("P1000000000D").is_err());
    }
}
