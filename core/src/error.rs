//! Small error types: [`TriggerError`] for trigger validation and
//! [`TimestampError`] for RFC 3339 timestamps.
//!
//! Every error says *where* (a path such as `triggers[1].within`) and *why*, with a
//! hand-written [`Display`](core::fmt::Display) that reads as a sentence.

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::string::String;

use crate::time::Duration;

/// The longest [`TriggerError::path`] kept, in bytes (longer ones end with `…`).
pub const ERROR_PATH_LEN: usize = 128;
/// The longest text kept in a [`TriggerErrorKind`] (a value, a reason), in bytes
/// (longer ones end with `…`).
pub const ERROR_TEXT_LEN: usize = 64;

/// A string of at most `N` bytes, for errors without `alloc`: a longer text is cut at
/// a character boundary and ends with `…`, so the cut is visible.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text<const N: usize>(heapless::String<N>);

impl<const N: usize> Text<N> {
    /// The text (possibly cut, see [`Text`]).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the text was cut (it ends with `…`).
    pub fn is_truncated(&self) -> bool {
        self.0.ends_with(TRUNCATED)
    }

    /// What `value` displays as, cut to `N` bytes if it is longer.
    pub fn display(value: impl fmt::Display) -> Self {
        let mut out = Cut {
            text: Text(heapless::String::new()),
            full: false,
        };
        // `Cut` never fails: it stops keeping text once full
        let _ = fmt::write(&mut out, format_args!("{value}"));
        out.text
    }
}

/// What ends a cut [`Text`].
const TRUNCATED: &str = "…";

/// A writer into a [`Text`] that cuts it when full.
struct Cut<const N: usize> {
    text: Text<N>,
    full: bool,
}

impl<const N: usize> fmt::Write for Cut<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        let buf = &mut self.text.0;
        if buf.len() + s.len() <= N {
            // fits (checked above)
            let _ = buf.push_str(s);
            return Ok(());
        }
        self.full = true;
        // keep whole characters and room for the marker
        let room = N.saturating_sub(TRUNCATED.len());
        for c in s.chars() {
            if buf.len() + c.len_utf8() > room {
                break;
            }
            let _ = buf.push(c);
        }
        while buf.len() > room {
            buf.pop();
        }
        let _ = buf.push_str(TRUNCATED);
        Ok(())
    }
}

impl<const N: usize> core::ops::Deref for Text<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> From<&str> for Text<N> {
    fn from(s: &str) -> Self {
        Text::display(s)
    }
}

#[cfg(feature = "alloc")]
impl<const N: usize> From<String> for Text<N> {
    fn from(s: String) -> Self {
        Text::display(s)
    }
}

#[cfg(feature = "alloc")]
impl<const N: usize> From<&String> for Text<N> {
    fn from(s: &String) -> Self {
        Text::display(s)
    }
}

impl<const N: usize> PartialEq<str> for Text<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for Text<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a trigger was rejected, with the path of the offending field.
///
/// `path` is empty for the trigger object itself; otherwise it names the field the way
/// one would index the JSON: `within`, `triggers[1].posture`,
/// `match["prefect.resource.id"][0]`.
///
/// Texts are bounded, so the error needs no `alloc`: a path longer than
/// [`ERROR_PATH_LEN`] bytes, or a value longer than [`ERROR_TEXT_LEN`], is cut and
/// ends with `…`.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerError {
    /// Where the problem is (empty: the trigger object itself).
    pub path: Text<ERROR_PATH_LEN>,
    /// What is wrong there.
    pub kind: TriggerErrorKind,
}

/// What is wrong with one field of a trigger.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerErrorKind {
    /// A field Prefect requires is absent (`posture`, `triggers`, `require`, a
    /// composite's `within`).
    Missing,
    /// The field is `null` where Prefect does not accept `null` (e.g. an event
    /// trigger's `within`).
    Null,
    /// The field has the wrong JSON type.
    WrongType {
        /// What was expected, e.g. `"a list of strings"`.
        expected: &'static str,
    },
    /// `type` is not `event`, `compound` or `sequence`.
    UnknownType(Text<ERROR_TEXT_LEN>),
    /// `posture` is `Metric`: Prefect's server schema rejects metric triggers
    /// (`posture: Literal[Reactive, Proactive]`) and so does overdue.
    MetricPosture,
    /// `posture` is not `Reactive` or `Proactive` (case-sensitive, as in Prefect).
    UnknownPosture(Text<ERROR_TEXT_LEN>),
    /// A duration below zero.
    NegativeDuration,
    /// A duration that is not a number Prefect accepts: NaN, infinite, too large
    /// (more than 999,999,999 days, or more microseconds than a `u64` holds), or a
    /// string that is neither ISO 8601 nor `[D days, ]HH:MM[:SS[.ffffff]]`.
    InvalidDuration(&'static str),
    /// A Proactive trigger with `0 < within < 10 s`
    /// (`enforce_minimum_within_for_proactive_triggers`).
    ProactiveWithinTooShort(Duration),
    /// An integer field that is not an integer (a fraction, a non-numeric string).
    NotAnInteger(Text<ERROR_TEXT_LEN>),
    /// An integer outside the range overdue can hold (`i64`).
    IntegerOutOfRange,
    /// A compound trigger's integer `require` below 1.
    RequireBelowOne(i64),
    /// A compound trigger's integer `require` above its number of children.
    RequireAboveChildren {
        /// The `require` value.
        require: i64,
        /// How many child triggers there are.
        children: usize,
    },
    /// `require` is a string other than `any` and `all`.
    InvalidRequire(Text<ERROR_TEXT_LEN>),
    /// A composite trigger without children. Prefect accepts `"triggers": []` (with
    /// `require: "any"` or `"all"`, or as a sequence), but such an automation can
    /// never fire; overdue rejects it instead of loading a dead trigger.
    NoChildren,
    /// `id` is not a UUID.
    InvalidId(Text<ERROR_TEXT_LEN>),
}

impl TriggerError {
    /// An error at `path`.
    pub fn new(path: impl Into<Text<ERROR_PATH_LEN>>, kind: TriggerErrorKind) -> Self {
        TriggerError {
            path: path.into(),
            kind,
        }
    }

    /// An error at the path `path` displays as (cut if longer than
    /// [`ERROR_PATH_LEN`]).
    pub fn at(path: impl fmt::Display, kind: TriggerErrorKind) -> Self {
        TriggerError {
            path: Text::display(path),
            kind,
        }
    }
}

impl fmt::Display for TriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "trigger: {}", self.kind)
        } else {
            write!(f, "trigger field `{}`: {}", self.path, self.kind)
        }
    }
}

impl fmt::Display for TriggerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TriggerErrorKind::*;
        match self {
            Missing => f.write_str("is required but missing"),
            Null => f.write_str("must not be null"),
            WrongType { expected } => write!(f, "must be {expected}"),
            UnknownType(t) => write!(
                f,
                "unknown trigger type {t:?} (expected \"event\", \"compound\" or \"sequence\")"
            ),
            MetricPosture => f.write_str(
                "posture \"Metric\" is not supported (Prefect's server accepts only \"Reactive\" and \"Proactive\" here)",
            ),
            UnknownPosture(p) => write!(
                f,
                "unknown posture {p:?} (expected \"Reactive\" or \"Proactive\")"
            ),
            NegativeDuration => f.write_str("must not be negative"),
            InvalidDuration(why) => write!(f, "is not a valid duration: {why}"),
            ProactiveWithinTooShort(d) => write!(
                f,
                "is {d}, but a Proactive trigger needs at least 10 seconds (or 0 for the 10 s default)"
            ),
            NotAnInteger(v) => write!(f, "must be an integer, got {v}"),
            IntegerOutOfRange => f.write_str("is out of range (must fit in a 64-bit integer)"),
            RequireBelowOne(n) => write!(f, "is {n}, but must be at least 1"),
            RequireAboveChildren { require, children } => write!(
                f,
                "is {require}, but there are only {children} child trigger(s)"
            ),
            InvalidRequire(s) => write!(
                f,
                "is {s:?}, expected \"any\", \"all\" or an integer"
            ),
            NoChildren => f.write_str(
                "is empty: a composite trigger without child triggers can never fire",
            ),
            InvalidId(s) => write!(f, "is {s:?}, which is not a UUID"),
        }
    }
}

impl core::error::Error for TriggerError {}

/// Why an RFC 3339 timestamp was rejected ([`crate::rfc3339::parse`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// The text is empty.
    Empty,
    /// Unexpected character or end of text at this byte offset.
    Syntax {
        /// Byte offset of the problem.
        at: usize,
    },
    /// Month or day out of range (e.g. February 30).
    InvalidDate,
    /// Hour, minute or second out of range (leap second `60` and `24:00` included, as
    /// Prefect rejects them).
    InvalidTime,
    /// A UTC offset of 24 hours or more.
    InvalidOffset,
    /// Before 1970-01-01T00:00:00Z: overdue's [`Instant`](crate::Instant) starts at
    /// the Unix epoch.
    BeforeEpoch,
    /// Too far in the future for a `u64` of microseconds.
    TooLarge,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampError::Empty => f.write_str("empty timestamp"),
            TimestampError::Syntax { at } => {
                write!(
                    f,
                    "not an RFC 3339 timestamp (unexpected input at byte {at})"
                )
            }
            TimestampError::InvalidDate => f.write_str("month or day out of range"),
            TimestampError::InvalidTime => f.write_str("hour, minute or second out of range"),
            TimestampError::InvalidOffset => f.write_str("UTC offset must be less than 24 hours"),
            TimestampError::BeforeEpoch => f.write_str("before 1970-01-01T00:00:00Z"),
            TimestampError::TooLarge => f.write_str("too far in the future"),
        }
    }
}

impl core::error::Error for TimestampError {}
