//! Prefect events (`ReceivedEvent`) from and to JSON.

use std::fmt;

use overdue_core::event::{Event, EventId, RESOURCE_ID, RESOURCE_ROLE};
use overdue_core::rfc3339::{self, Rfc3339};
use overdue_core::{Instant, OwnedEvent};
use serde_json::{Map, Value};

use super::ordered::Ordered;
use super::{JsonSyntaxError, TimestampError};

/// Why an event was rejected, and where (`field` is a path such as `occurred` or
/// `related[1]["prefect.resource.role"]`; empty for the document itself).
#[derive(Clone, Debug, PartialEq)]
pub struct EventParseError {
    /// The offending field.
    pub field: String,
    /// What is wrong with it.
    pub kind: EventErrorKind,
}

/// What is wrong with one field of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventErrorKind {
    /// The text is not JSON.
    Syntax(JsonSyntaxError),
    /// A required field (`id`, `event`, `occurred`, `resource`) is absent.
    Missing,
    /// The field has the wrong JSON type.
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// What was found (`null`, `a number`, …).
        found: &'static str,
    },
    /// Not a UUID (`id`, `follows`).
    InvalidUuid(String),
    /// Not a timestamp overdue can hold.
    InvalidTimestamp(TimestampError),
    /// `prefect.resource.id` (or a related resource's `prefect.resource.role`) is
    /// absent.
    MissingLabel(&'static str),
    /// `prefect.resource.id` (or a related resource's `prefect.resource.role`) is
    /// empty.
    EmptyLabel(&'static str),
}

impl EventParseError {
    fn new(field: impl Into<String>, kind: EventErrorKind) -> Self {
        EventParseError {
            field: field.into(),
            kind,
        }
    }
}

impl fmt::Display for EventParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let EventErrorKind::Syntax(e) = &self.kind {
            return write!(f, "event: {e}");
        }
        if self.field.is_empty() {
            write!(f, "event: {}", self.kind)
        } else {
            write!(f, "event field `{}`: {}", self.field, self.kind)
        }
    }
}

impl fmt::Display for EventErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventErrorKind::Syntax(e) => e.fmt(f),
            EventErrorKind::Missing => f.write_str("is required but missing"),
            EventErrorKind::WrongType { expected, found } => {
                write!(f, "must be {expected}, got {found}")
            }
            EventErrorKind::InvalidUuid(s) => write!(f, "{s:?} is not a UUID"),
            EventErrorKind::InvalidTimestamp(e) => write!(f, "invalid timestamp: {e}"),
            EventErrorKind::MissingLabel(l) => write!(f, "must include the {l} label"),
            EventErrorKind::EmptyLabel(l) => write!(f, "the {l} label must be non-empty"),
        }
    }
}

impl std::error::Error for EventParseError {}

/// Parses a Prefect event given as JSON text. See [`parse_event`].
pub fn parse_event_str(text: &str, now: Instant) -> Result<OwnedEvent, EventParseError> {
    let doc = Ordered::from_str(text).map_err(|e| {
        EventParseError::new("", EventErrorKind::Syntax(JsonSyntaxError::from_serde(&e)))
    })?;
    event_from(&doc, now)
}

/// Parses a Prefect event (`ReceivedEvent`): `id` (UUID), `event` (string),
/// `occurred` and `resource` are required; `received` defaults to `now`; `related`
/// (each with a non-empty `prefect.resource.role`), `follows` (UUID or `null`) and
/// `payload` (an object, ignored) are optional; unknown fields are ignored. Label
/// values must be strings.
///
/// Timestamps are RFC 3339 strings ([`overdue_core::rfc3339::parse`]: fractions past
/// microseconds are truncated, as Prefect truncates them; no offset means UTC) or, as
/// pydantic allows, Unix time as a number or numeric string (seconds, or milliseconds
/// when its magnitude exceeds 2·10¹⁰). Prefect's configurable limits (event name
/// length, labels per resource, number of related resources) are not enforced.
pub fn parse_event(value: &Value, now: Instant) -> Result<OwnedEvent, EventParseError> {
    event_from(&Ordered::from_value(value), now)
}

fn wrong(field: impl Into<String>, expected: &'static str, found: &Ordered) -> EventParseError {
    EventParseError::new(
        field,
        EventErrorKind::WrongType {
            expected,
            found: found.kind(),
        },
    )
}

fn event_from(doc: &Ordered, now: Instant) -> Result<OwnedEvent, EventParseError> {
    if !matches!(doc, Ordered::Object(_)) {
        return Err(wrong("", "an object", doc));
    }
    let required = |name: &'static str| {
        doc.get(name)
            .ok_or_else(|| EventParseError::new(name, EventErrorKind::Missing))
    };
    let id = uuid(required("id")?, "id")?;
    let event = match required("event")? {
        Ordered::String(s) => s.clone(),
        other => return Err(wrong("event", "a string", other)),
    };
    let occurred = timestamp(required("occurred")?, "occurred")?;
    let received = match doc.get("received") {
        None => now,
        Some(v) => timestamp(v, "received")?,
    };
    let resource = labels(required("resource")?, "resource")?;
    require_label(&resource, RESOURCE_ID, "resource")?;
    let related = match doc.get("related") {
        None => Vec::new(),
        Some(Ordered::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("related[{i}]");
                let l = labels(item, &path)?;
                require_label(&l, RESOURCE_ID, &path)?;
                require_label(&l, RESOURCE_ROLE, &path)?;
                out.push(l);
            }
            out
        }
        Some(other) => return Err(wrong("related", "a list of objects", other)),
    };
    let follows = match doc.get("follows") {
        None | Some(Ordered::Null) => None,
        Some(v) => Some(uuid(v, "follows")?),
    };
    match doc.get("payload") {
        None | Some(Ordered::Object(_)) => {}
        Some(other) => return Err(wrong("payload", "an object", other)),
    }
    Ok(OwnedEvent {
        id,
        event,
        occurred,
        received,
        resource,
        related,
        follows,
    })
}

fn uuid(v: &Ordered, field: &str) -> Result<EventId, EventParseError> {
    match v {
        Ordered::String(s) => EventId::parse_lenient(s)
            .ok_or_else(|| EventParseError::new(field, EventErrorKind::InvalidUuid(s.clone()))),
        other => Err(wrong(field, "a UUID string", other)),
    }
}

fn labels(v: &Ordered, path: &str) -> Result<Vec<(String, String)>, EventParseError> {
    let Ordered::Object(members) = v else {
        return Err(wrong(path, "an object of string labels", v));
    };
    members
        .iter()
        .map(|(k, v)| match v {
            Ordered::String(s) => Ok((k.clone(), s.clone())),
            other => Err(wrong(format!("{path}[{k:?}]"), "a string", other)),
        })
        .collect()
}

fn require_label(
    labels: &[(String, String)],
    label: &'static str,
    path: &str,
) -> Result<(), EventParseError> {
    match labels.iter().find(|(k, _)| k == label) {
        None => Err(EventParseError::new(
            path,
            EventErrorKind::MissingLabel(label),
        )),
        Some((_, v)) if v.is_empty() => Err(EventParseError::new(
            format!("{path}[{label:?}]"),
            EventErrorKind::EmptyLabel(label),
        )),
        Some(_) => Ok(()),
    }
}

fn timestamp(v: &Ordered, field: &str) -> Result<Instant, EventParseError> {
    let bad = |e| EventParseError::new(field, EventErrorKind::InvalidTimestamp(e));
    match v {
        Ordered::String(s) if is_numeric(s) => {
            unix_number(s.parse::<f64>().map_err(|_| bad(TimestampError::Empty))?).map_err(bad)
        }
        Ordered::String(s) => rfc3339::parse(s).map_err(bad),
        Ordered::Number(n) => match (n.as_u64(), n.as_f64()) {
            // whole seconds, or (past 2·10¹⁰) whole milliseconds: exact integer math
            (Some(u), _) => {
                let micros = if u <= 20_000_000_000 {
                    u.checked_mul(1_000_000)
                } else {
                    u.checked_mul(1_000)
                };
                micros
                    .map(Instant::from_micros)
                    .filter(|t| *t < YEAR_10000)
                    .ok_or_else(|| bad(TimestampError::TooLarge))
            }
            (_, Some(f)) => unix_number(f).map_err(bad),
            _ => Err(bad(TimestampError::TooLarge)),
        },
        other => Err(wrong(field, "an RFC 3339 timestamp", other)),
    }
}

fn is_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// pydantic's number → datetime: seconds, or milliseconds beyond ±2·10¹⁰.
fn unix_number(x: f64) -> Result<Instant, TimestampError> {
    if !x.is_finite() {
        return Err(TimestampError::TooLarge);
    }
    let secs = if x.abs() > 2e10 { x / 1000.0 } else { x };
    if secs < 0.0 {
        return Err(TimestampError::BeforeEpoch);
    }
    let micros = (secs * 1_000_000.0).round();
    // Prefect's timestamps are Python datetimes: pydantic refuses anything from the
    // year 10000 on (and RFC 3339 cannot write it back).
    if micros >= YEAR_10000.as_micros() as f64 {
        return Err(TimestampError::TooLarge);
    }
    Ok(Instant::from_micros(micros as u64))
}

/// 10000-01-01T00:00:00Z, the first instant a Python `datetime` cannot hold.
const YEAR_10000: Instant = Instant::from_secs(253_402_300_800);

/// An event in Prefect's JSON shape (`id`, `event`, `occurred`, `received`,
/// `resource`, `related`, `follows`, `payload: {}`); [`parse_event`] reads it back to
/// the same event.
pub fn event_to_json(ev: &Event<'_>) -> Value {
    let labels = |l: overdue_core::Labels<'_>| {
        Value::Object(
            l.iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .collect::<Map<_, _>>(),
        )
    };
    let mut m = Map::new();
    m.insert("id".into(), Value::String(ev.id.to_string()));
    m.insert("event".into(), Value::String(ev.event.to_owned()));
    m.insert(
        "occurred".into(),
        Value::String(Rfc3339(ev.occurred).to_string()),
    );
    m.insert(
        "received".into(),
        Value::String(Rfc3339(ev.received).to_string()),
    );
    m.insert("resource".into(), labels(ev.resource));
    m.insert(
        "related".into(),
        Value::Array(ev.related.iter().map(labels).collect()),
    );
    m.insert(
        "follows".into(),
        ev.follows
            .map_or(Value::Null, |f| Value::String(f.to_string())),
    );
    m.insert("payload".into(), Value::Object(Map::new()));
    Value::Object(m)
}

/// [`event_to_json`] as compact JSON text, keeping each resource's labels in their
/// order (a `serde_json::Value` re-sorts object members); [`parse_event_str`] reads it
/// back to an equal [`OwnedEvent`].
pub fn event_to_json_string(ev: &Event<'_>) -> String {
    fn string(out: &mut String, s: &str) {
        out.push_str(&serde_json::to_string(s).expect("strings always serialize"));
    }
    fn labels(out: &mut String, l: overdue_core::Labels<'_>) {
        out.push('{');
        for (i, (k, v)) in l.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, k);
            out.push(':');
            string(out, v);
        }
        out.push('}');
    }
    let mut out = String::with_capacity(256);
    out.push_str("{\"id\":");
    string(&mut out, &ev.id.to_string());
    out.push_str(",\"event\":");
    string(&mut out, ev.event);
    out.push_str(",\"occurred\":");
    string(&mut out, &Rfc3339(ev.occurred).to_string());
    out.push_str(",\"received\":");
    string(&mut out, &Rfc3339(ev.received).to_string());
    out.push_str(",\"resource\":");
    labels(&mut out, ev.resource);
    out.push_str(",\"related\":[");
    for (i, r) in ev.related.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        labels(&mut out, r);
    }
    out.push_str("],\"follows\":");
    match ev.follows {
        Some(f) => string(&mut out, &f.to_string()),
        None => out.push_str("null"),
    }
    out.push_str(",\"payload\":{}}");
    out
}
