//! Prefect trigger JSON → [`Trigger`], through a small self-describing value tree so
//! that every problem becomes a typed [`TriggerError`] with a path.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use core::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::duration::{self, Signed};
use super::{
    check_require, index, join, CompoundTrigger, EventTrigger, Posture, Require, ResourceSpec,
    SequenceTrigger, Trigger, TriggerError, TriggerErrorKind,
};
use crate::time::Duration;

/// A JSON value as pydantic sees it after `json.loads`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Keys in first-seen order; a repeated key keeps the last value (as `json.loads`).
    Map(Vec<(String, Value)>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("{b}"),
            Value::Int(i) => format!("{i}"),
            Value::Float(f) => format!("{f}"),
            Value::Str(s) => format!("{s:?}"),
            Value::List(_) => "a list".to_string(),
            Value::Map(_) => "an object".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(Value::Map(entries))
    }
}

fn err(path: &str, kind: TriggerErrorKind) -> TriggerError {
    TriggerError::new(path, kind)
}

fn wrong(path: &str, expected: &'static str) -> TriggerError {
    err(path, TriggerErrorKind::WrongType { expected })
}

/// Parses and validates one trigger object at `path`.
pub(crate) fn trigger(v: &Value, path: &str) -> Result<Trigger, TriggerError> {
    if !matches!(v, Value::Map(_)) {
        return Err(wrong(path, "a trigger object"));
    }
    let mut t = match v.get("type") {
        Some(Value::Str(s)) => match s.as_str() {
            "event" => Trigger::Event(event_trigger(v, path)?),
            "compound" => Trigger::Compound(compound(v, path)?),
            "sequence" => Trigger::Sequence(sequence(v, path)?),
            other => {
                return Err(err(
                    &join(path, "type"),
                    TriggerErrorKind::UnknownType(other.into()),
                ))
            }
        },
        Some(Value::Null) => return Err(err(&join(path, "type"), TriggerErrorKind::Null)),
        Some(_) => return Err(wrong(&join(path, "type"), "a string")),
        None => untagged(v, path)?,
    };
    t.validate_at(path)?;
    Ok(t)
}

/// No `type`: pydantic's union picks the model that validates; with `triggers` the
/// composite readings are preferred (they set more fields).
fn untagged(v: &Value, path: &str) -> Result<Trigger, TriggerError> {
    if v.get("triggers").is_none() {
        return event_trigger(v, path).map(Trigger::Event);
    }
    let composite = if v.get("require").is_some() {
        compound(v, path).map(Trigger::Compound)
    } else {
        sequence(v, path).map(Trigger::Sequence)
    };
    match composite {
        Ok(t) => Ok(t),
        Err(first) => event_trigger(v, path)
            .map(Trigger::Event)
            .map_err(|_| first),
    }
}

fn event_trigger(v: &Value, path: &str) -> Result<EventTrigger, TriggerError> {
    let posture = match v.get("posture") {
        None => return Err(err(&join(path, "posture"), TriggerErrorKind::Missing)),
        Some(Value::Str(s)) => match s.as_str() {
            "Reactive" => Posture::Reactive,
            "Proactive" => Posture::Proactive,
            "Metric" => return Err(err(&join(path, "posture"), TriggerErrorKind::MetricPosture)),
            other => {
                return Err(err(
                    &join(path, "posture"),
                    TriggerErrorKind::UnknownPosture(other.into()),
                ))
            }
        },
        Some(Value::Null) => return Err(err(&join(path, "posture"), TriggerErrorKind::Null)),
        Some(_) => {
            return Err(wrong(
                &join(path, "posture"),
                "\"Reactive\" or \"Proactive\"",
            ))
        }
    };
    let within = match v.get("within") {
        None => Duration::ZERO,
        Some(Value::Null) => return Err(err(&join(path, "within"), TriggerErrorKind::Null)),
        Some(w) => duration_value(w, &join(path, "within"))?,
    };
    let threshold = match v.get("threshold") {
        None => 1,
        Some(t) => integer(t, &join(path, "threshold"))?,
    };
    let match_ = match v.get("match") {
        None => ResourceSpec::default(),
        Some(m) => spec(m, &join(path, "match"))?,
    };
    let mr_path = join(path, "match_related");
    let match_related = match v.get("match_related") {
        None => Vec::new(),
        Some(m @ Value::Map(_)) => vec![spec(m, &mr_path)?],
        Some(Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| spec(m, &index(&mr_path, i)))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(wrong(&mr_path, "an object or a list of objects")),
    };
    Ok(EventTrigger {
        id: id(v, path)?,
        match_,
        match_related,
        after: string_set(v.get("after"), &join(path, "after"))?,
        expect: string_set(v.get("expect"), &join(path, "expect"))?,
        for_each: string_set(v.get("for_each"), &join(path, "for_each"))?,
        posture,
        threshold,
        within,
    })
}

fn compound(v: &Value, path: &str) -> Result<CompoundTrigger, TriggerError> {
    let triggers = children(v, path)?;
    let require_path = join(path, "require");
    let require = match v.get("require") {
        None => return Err(err(&require_path, TriggerErrorKind::Missing)),
        Some(Value::Str(s)) if s == "any" => Require::Any,
        Some(Value::Str(s)) if s == "all" => Require::All,
        Some(r) => {
            let n = integer(r, &require_path).map_err(|e| match (r, e.kind) {
                (Value::Str(s), TriggerErrorKind::NotAnInteger(_)) => {
                    err(&require_path, TriggerErrorKind::InvalidRequire(s.into()))
                }
                (_, kind) => err(&require_path, kind),
            })?;
            check_require(n, triggers.len(), &super::def::Path::Root(path))?;
            Require::AtLeast(n as u32)
        }
    };
    Ok(CompoundTrigger {
        id: id(v, path)?,
        require,
        within: composite_within(v, path)?,
        triggers,
    })
}

fn sequence(v: &Value, path: &str) -> Result<SequenceTrigger, TriggerError> {
    Ok(SequenceTrigger {
        id: id(v, path)?,
        triggers: children(v, path)?,
        within: composite_within(v, path)?,
    })
}

fn children(v: &Value, path: &str) -> Result<Vec<Trigger>, TriggerError> {
    let p = join(path, "triggers");
    match v.get("triggers") {
        None => Err(err(&p, TriggerErrorKind::Missing)),
        Some(Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| trigger(c, &index(&p, i)))
            .collect(),
        Some(_) => Err(wrong(&p, "a list of triggers")),
    }
}

fn composite_within(v: &Value, path: &str) -> Result<Option<Duration>, TriggerError> {
    match v.get("within") {
        None => Err(err(&join(path, "within"), TriggerErrorKind::Missing)),
        Some(Value::Null) => Ok(None),
        Some(w) => duration_value(w, &join(path, "within")).map(Some),
    }
}

fn id(v: &Value, path: &str) -> Result<Option<String>, TriggerError> {
    match v.get("id") {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong(&join(path, "id"), "a UUID string")),
    }
}

fn string_set(v: Option<&Value>, path: &str) -> Result<Vec<String>, TriggerError> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let Value::List(items) = v else {
        return Err(wrong(path, "a list of strings"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Str(s) => out.push(s.clone()),
            _ => return Err(wrong(&index(path, i), "a string")),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn spec(v: &Value, path: &str) -> Result<ResourceSpec, TriggerError> {
    let Value::Map(entries) = v else {
        return Err(wrong(path, "an object of label → pattern(s)"));
    };
    let mut labels = Vec::with_capacity(entries.len());
    for (label, patterns) in entries {
        let lp = format!("{path}[{label:?}]");
        let list = match patterns {
            Value::Str(s) => vec![s.clone()],
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(wrong(&index(&lp, i), "a string")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(wrong(&lp, "a string or a list of strings")),
        };
        labels.push((label.clone(), list));
    }
    Ok(ResourceSpec { labels })
}

/// A pydantic lax `int`: integers, integral floats, booleans, numeric strings.
fn integer(v: &Value, path: &str) -> Result<i64, TriggerError> {
    let out_of_range = || err(path, TriggerErrorKind::IntegerOutOfRange);
    let not_int = || err(path, TriggerErrorKind::NotAnInteger(v.describe().into()));
    match v {
        Value::Int(i) => i64::try_from(*i).map_err(|_| out_of_range()),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Float(f) => {
            if !f.is_finite() || *f as i64 as f64 != *f {
                if f.is_finite() && (*f >= 9.3e18 || *f <= -9.3e18) {
                    return Err(out_of_range());
                }
                return Err(not_int());
            }
            Ok(*f as i64)
        }
        Value::Str(s) => parse_int_str(s)
            .ok_or_else(not_int)?
            .ok_or_else(out_of_range),
        _ => Err(wrong(path, "an integer")),
    }
}

/// Python's `int(text)` plus pydantic's `"3.0"`: surrounding whitespace, a sign,
/// digits with single `_` between them, and an optional all-zero fraction.
/// `None`: not an integer; `Some(None)`: out of range.
fn parse_int_str(text: &str) -> Option<Option<i64>> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b == b'0') {
            return None;
        }
    }
    let bytes = int_part.as_bytes();
    if bytes.is_empty() || bytes[0] == b'_' || bytes[bytes.len() - 1] == b'_' {
        return None;
    }
    let mut value: i128 = 0;
    let mut prev_underscore = false;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                value = (value * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX) * 2);
                prev_underscore = false;
            }
            b'_' if !prev_underscore => prev_underscore = true,
            _ => return None,
        }
    }
    let value = if neg { -value } else { value };
    Some(i64::try_from(value).ok())
}

/// A `timedelta` field: must not be negative.
fn duration_value(v: &Value, path: &str) -> Result<Duration, TriggerError> {
    let invalid = |why: &'static str| err(path, TriggerErrorKind::InvalidDuration(why));
    let signed: Signed = match v {
        Value::Int(i) => duration::from_int_seconds(*i).map_err(invalid)?,
        Value::Float(f) => duration::from_float_seconds(*f).map_err(invalid)?,
        Value::Bool(b) => duration::from_int_seconds(i128::from(*b)).map_err(invalid)?,
        Value::Str(s) => duration::parse_signed(s).map_err(invalid)?,
        _ => return Err(wrong(path, "a number of seconds or a duration string")),
    };
    let micros = signed
        .non_negative()
        .ok_or_else(|| err(path, TriggerErrorKind::NegativeDuration))?;
    u64::try_from(micros)
        .map(Duration::from_micros)
        .map_err(|_| invalid("too large for overdue (more than 584,000 years)"))
}
