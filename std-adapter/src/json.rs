//! Prefect JSON in and out: triggers, automations and events.
//!
//! * [`parse_trigger`] / [`parse_trigger_str`]: one trigger as Prefect's automation API
//!   accepts it (rules in [`overdue_core::trigger`]).
//! * [`load_automations`]: a bare trigger, one automation object, or a JSON array of
//!   automations. One malformed automation is reported with its index and name
//!   ([`AutomationError`]) and the others still load; a document that is not JSON at
//!   all is a [`JsonSyntaxError`] with line and column.
//! * [`parse_event`] / [`parse_event_str`] / [`event_to_json`]: Prefect's event shape
//!   (see [`EventParseError`] for what is checked).
//!
//! Object members are read in document order (a repeated key keeps its first position
//! and its last value, as Python's `json.loads` does).

use std::fmt;

use overdue_core::trigger::Trigger;
use serde_json::Value;

pub use overdue_core::error::{TimestampError, TriggerError, TriggerErrorKind};

mod event;
mod ordered;

pub use event::{
    event_to_json, event_to_json_string, parse_event, parse_event_str, EventErrorKind,
    EventParseError,
};

use ordered::Ordered;

/// A document that is not JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonSyntaxError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// serde_json's description.
    pub message: String,
}

impl JsonSyntaxError {
    pub(crate) fn from_serde(e: &serde_json::Error) -> JsonSyntaxError {
        let full = e.to_string();
        // serde_json appends " at line L column C"; keep just the description.
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        JsonSyntaxError {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSON at line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonSyntaxError {}

/// Why a trigger given as text was rejected.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerLoadError {
    /// Not JSON.
    Syntax(JsonSyntaxError),
    /// JSON, but not a valid trigger.
    Invalid(TriggerError),
}

impl fmt::Display for TriggerLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TriggerLoadError::Syntax(e) => e.fmt(f),
            TriggerLoadError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TriggerLoadError {}

/// Parses and validates one Prefect trigger.
pub fn parse_trigger(value: &Value) -> Result<Trigger, TriggerError> {
    trigger_from(&Ordered::from_value(value))
}

/// Parses and validates one Prefect trigger given as JSON text (keeping the order of
/// `match` labels).
pub fn parse_trigger_str(text: &str) -> Result<Trigger, TriggerLoadError> {
    let doc = Ordered::from_str(text)
        .map_err(|e| TriggerLoadError::Syntax(JsonSyntaxError::from_serde(&e)))?;
    trigger_from(&doc).map_err(TriggerLoadError::Invalid)
}

fn trigger_from(doc: &Ordered) -> Result<Trigger, TriggerError> {
    match Trigger::deserialize_prefect(doc) {
        Ok(result) => result,
        // Reading an in-memory tree does not fail; keep a typed error all the same.
        Err(_) => Err(TriggerError::new(
            "",
            TriggerErrorKind::WrongType {
                expected: "a JSON trigger object",
            },
        )),
    }
}

/// A Prefect automation (`AutomationCore`): its trigger plus opaque actions.
#[derive(Clone, Debug, PartialEq)]
pub struct Automation {
    /// The automation's id, if the JSON carried one.
    pub id: Option<String>,
    /// Its name (required by Prefect; `""` for a bare trigger).
    pub name: String,
    /// Its description (default `""`).
    pub description: String,
    /// Whether it is evaluated (default `true`). Prefect does not load disabled
    /// automations.
    pub enabled: bool,
    /// Its tags.
    pub tags: Vec<String>,
    /// What it watches.
    pub trigger: Trigger,
    /// What to do when it fires (opaque to overdue).
    pub actions: Vec<Value>,
    /// Actions when it enters the triggered state (opaque).
    pub actions_on_trigger: Vec<Value>,
    /// Actions when it resolves (opaque).
    pub actions_on_resolve: Vec<Value>,
}

/// What is wrong with one automation.
#[derive(Clone, Debug, PartialEq)]
pub enum AutomationParseError {
    /// A field of the automation itself (`name`, `enabled`, `actions`, …).
    Field {
        /// The field's name.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The trigger (paths are relative to `trigger`).
    Trigger(TriggerError),
}

impl fmt::Display for AutomationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutomationParseError::Field { field, problem } => {
                write!(f, "field `{field}`: {problem}")
            }
            AutomationParseError::Trigger(e) if e.path.is_empty() => {
                write!(f, "field `trigger`: {}", e.kind)
            }
            AutomationParseError::Trigger(e) => {
                write!(f, "field `trigger.{}`: {}", e.path, e.kind)
            }
        }
    }
}

impl std::error::Error for AutomationParseError {}

/// One automation of a document that could not be loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct AutomationError {
    /// Its position in the document (0 for a single object).
    pub index: usize,
    /// Its name, if it had a readable one.
    pub name: Option<String>,
    /// What is wrong.
    pub error: AutomationParseError,
}

impl fmt::Display for AutomationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "automation #{} ({name:?}): {}", self.index, self.error),
            None => write!(f, "automation #{}: {}", self.index, self.error),
        }
    }
}

impl std::error::Error for AutomationError {}

/// The result of [`load_automations`]: what loaded, and what did not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// The automations that loaded, in document order.
    pub automations: Vec<Automation>,
    /// The ones that did not, in document order.
    pub errors: Vec<AutomationError>,
}

/// Parses one automation object (Prefect's `AutomationCore`; unknown fields ignored).
pub fn parse_automation(value: &Value) -> Result<Automation, AutomationParseError> {
    automation_from(&Ordered::from_value(value))
}

/// Loads a bare trigger, one automation object, or a JSON array of them.
///
/// An object counts as an automation when it has `trigger`, `name` or `actions`;
/// otherwise it is read as a bare trigger and becomes an automation named `""` with no
/// actions. Only a document that is not JSON (or not an object/array) fails as a
/// whole.
pub fn load_automations(text: &str) -> Result<LoadReport, JsonSyntaxError> {
    let doc = Ordered::from_str(text).map_err(|e| JsonSyntaxError::from_serde(&e))?;
    let mut report = LoadReport::default();
    let items: Vec<&Ordered> = match &doc {
        Ordered::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for (index, item) in items.into_iter().enumerate() {
        let parsed = if is_automation(item) {
            automation_from(item)
        } else {
            trigger_from(item)
                .map(bare_automation)
                .map_err(AutomationParseError::Trigger)
        };
        match parsed {
            Ok(a) => report.automations.push(a),
            Err(error) => report.errors.push(AutomationError {
                index,
                name: match item.get("name") {
                    Some(Ordered::String(s)) => Some(s.clone()),
                    _ => None,
                },
                error,
            }),
        }
    }
    Ok(report)
}

fn is_automation(v: &Ordered) -> bool {
    ["trigger", "name", "actions"]
        .iter()
        .any(|k| v.get(k).is_some())
}

fn bare_automation(trigger: Trigger) -> Automation {
    Automation {
        id: None,
        name: String::new(),
        description: String::new(),
        enabled: true,
        tags: Vec::new(),
        trigger,
        actions: Vec::new(),
        actions_on_trigger: Vec::new(),
        actions_on_resolve: Vec::new(),
    }
}

fn field(field: &str, problem: impl Into<String>) -> AutomationParseError {
    AutomationParseError::Field {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn automation_from(v: &Ordered) -> Result<Automation, AutomationParseError> {
    if !matches!(v, Ordered::Object(_)) {
        return Err(field("", format!("must be an object, got {}", v.kind())));
    }
    let string = |name: &str, default: Option<&str>| match (v.get(name), default) {
        (Some(Ordered::String(s)), _) => Ok(s.clone()),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => Err(field(name, "is required but missing")),
        (Some(other), _) => Err(field(
            name,
            format!("must be a string, got {}", other.kind()),
        )),
    };
    let name = string("name", None)?;
    let description = string("description", Some(""))?;
    let id = match v.get("id") {
        None => None,
        Some(Ordered::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(field(
                "id",
                format!("must be a string, got {}", other.kind()),
            ))
        }
    };
    let enabled = match v.get("enabled") {
        None => true,
        Some(e) => lax_bool(e).ok_or_else(|| field("enabled", "must be a boolean"))?,
    };
    let tags = match v.get("tags") {
        None => Vec::new(),
        Some(Ordered::Array(items)) => items
            .iter()
            .map(|t| match t {
                Ordered::String(s) => Ok(s.clone()),
                _ => Err(field("tags", "must be a list of strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(field("tags", "must be a list of strings")),
    };
    let list = |name: &str, required: bool| match v.get(name) {
        Some(Ordered::Array(items)) => Ok(items.iter().map(to_value).collect()),
        None if !required => Ok(Vec::new()),
        None => Err(field(name, "is required but missing")),
        Some(other) => Err(field(name, format!("must be a list, got {}", other.kind()))),
    };
    let trigger = match v.get("trigger") {
        None => return Err(field("trigger", "is required but missing")),
        Some(t) => trigger_from(t).map_err(AutomationParseError::Trigger)?,
    };
    Ok(Automation {
        id,
        name,
        description,
        enabled,
        tags,
        trigger,
        actions: list("actions", true)?,
        actions_on_trigger: list("actions_on_trigger", false)?,
        actions_on_resolve: list("actions_on_resolve", false)?,
    })
}

/// pydantic's lax `bool`: booleans, 0/1, and the strings it knows.
fn lax_bool(v: &Ordered) -> Option<bool> {
    match v {
        Ordered::Bool(b) => Some(*b),
        Ordered::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Ordered::String(s) => match s.to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn to_value(v: &Ordered) -> Value {
    match v {
        Ordered::Null => Value::Null,
        Ordered::Bool(b) => Value::Bool(*b),
        Ordered::Number(n) => Value::Number(n.clone()),
        Ordered::String(s) => Value::String(s.clone()),
        Ordered::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Ordered::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
