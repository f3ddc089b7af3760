//! Conformance scenarios: the timeline format of the Prefect oracle
//! (`tests/conformance/FORMAT.md` in the shared conformance kit), parsed exactly as
//! `prefect_oracle.py` reads it.
//!
//! A scenario is one JSON object with `options`, `triggers` (an ordered map: a trigger's
//! position decides the order of firings within a step) and `steps` (events and ticks).
//! Object order matters in three places (trigger names, resource labels, related
//! labels), so the document is read into [`Json`], which keeps object members in document
//! order with Python's `dict` rule for repeated keys (first position, last value).
//!
//! Times are seconds after 2026-01-01T00:00:00Z, numbers or ISO-8601 strings; see
//! [`Time`] for how they become [`Instant`]s bit-for-bit as the oracle's
//! `EPOCH + timedelta(seconds=x)` does.

use std::fmt;

use overdue_core::time::MICROS_PER_SEC;
use overdue_core::Instant;

pub use pyjson::{py_json, py_json_object, py_json_str, Json};
pub use time::{fmt_seconds, python_float_repr, Time, SCENARIO_EPOCH_UNIX_SECS};

mod pyjson;
mod time;

/// Where a scenario goes wrong: a field of the document or of one step.
#[derive(Debug)]
pub enum ScenarioError {
    /// The file is not JSON.
    Syntax(serde_json::Error),
    /// A top-level field (`options.entry`, `triggers`, …) is invalid.
    Field {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A step is invalid.
    Step {
        /// Index of the step in `steps` (0-based, as in the oracle's output).
        step: usize,
        /// Dotted path of the field inside the step (`event.occurred`), or `""`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Syntax(e) => write!(f, "scenario is not valid JSON: {e}"),
            ScenarioError::Field { field, problem } => write!(f, "field `{field}`: {problem}"),
            ScenarioError::Step {
                step,
                field,
                problem,
            } if field.is_empty() => {
                write!(f, "step {step}: {problem}")
            }
            ScenarioError::Step {
                step,
                field,
                problem,
            } => {
                write!(f, "step {step}, field `{field}`: {problem}")
            }
        }
    }
}

impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScenarioError::Syntax(e) => Some(e),
            _ => None,
        }
    }
}

/// How events enter evaluation (`options.entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryOption {
    /// Through `triggers.consumer()`'s message handler (the default).
    Consumer,
    /// `reactive_evaluation(event)` called directly.
    Direct,
}

/// Which proactive evaluation a tick runs (`options.proactive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProactiveOption {
    /// Every Proactive trigger as of the tick (the default).
    All,
    /// `evaluate_proactive_triggers()`, honouring `next_proactive_runs`.
    Scheduled,
}

/// Whether the events-clock offset is reset before each tick (`options.events_clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventsClockOption {
    /// Reset before each tick: evaluation exactly as of the tick (the default).
    Reset,
    /// Prefect's offset applies.
    Live,
}

/// When periodic evaluation runs in a tick relative to proactive evaluation
/// (`options.periodic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodicOption {
    /// After proactive evaluation (the default).
    After,
    /// Before it.
    Before,
    /// Not at all.
    Never,
}

/// The scenario's `options`, defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// `entry`
    pub entry: EntryOption,
    /// `proactive`
    pub proactive: ProactiveOption,
    /// `events_clock`
    pub events_clock: EventsClockOption,
    /// `periodic`
    pub periodic: PeriodicOption,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            entry: EntryOption::Consumer,
            proactive: ProactiveOption::All,
            events_clock: EventsClockOption::Reset,
            periodic: PeriodicOption::After,
        }
    }
}

/// A scenario event id as written: the oracle maps `str(id)` to a UUID and prints the
/// id itself back (`json.dumps(id)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioId {
    /// Python's `str(id)`: what the UUID is derived from.
    pub text: String,
    /// Python's `json.dumps(id)`: what firings print.
    pub json: String,
}

/// One event of an event step.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioEvent {
    /// `id`
    pub id: ScenarioId,
    /// `event`: the event name.
    pub event: String,
    /// `occurred`
    pub occurred: Time,
    /// `received`, if given (defaults to the step's wall clock).
    pub received: Option<Time>,
    /// `resource` labels in document order.
    pub resource: Vec<(String, String)>,
    /// `related` resources' labels in document order.
    pub related: Vec<Vec<(String, String)>>,
    /// `follows`, if given and not `null`.
    pub follows: Option<ScenarioId>,
}

/// One step of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `{"event": {...}, "now"?: W}`
    Event {
        /// The event.
        event: ScenarioEvent,
        /// The explicit wall clock, if given.
        now: Option<Time>,
    },
    /// `{"tick": T, "now"?: W}`
    Tick {
        /// The time proactive and periodic evaluation run as of.
        tick: Time,
        /// The wall clock (defaults to `tick`).
        now: Option<Time>,
    },
}

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `description`, if given.
    pub description: Option<String>,
    /// `options` with defaults.
    pub options: Options,
    /// `triggers` in document order: name and the trigger as Prefect's API accepts it.
    pub triggers: Vec<(String, serde_json::Value)>,
    /// `steps`
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Parses a scenario document.
    pub fn from_json_str(text: &str) -> Result<Scenario, ScenarioError> {
        let doc: Json = serde_json::from_str(text).map_err(ScenarioError::Syntax)?;
        Scenario::from_json(&doc)
    }

    /// Reads a scenario from an already parsed document.
    pub fn from_json(doc: &Json) -> Result<Scenario, ScenarioError> {
        let Json::Object(_) = doc else {
            return Err(field_error(
                "",
                format!("a scenario must be an object, not {}", doc.kind()),
            ));
        };
        let description = match doc.get("description") {
            Some(Json::String(s)) => Some(s.clone()),
            _ => None,
        };
        let options = parse_options(doc.get("options"))?;
        let triggers = match doc.get("triggers") {
            Some(Json::Object(members)) => members
                .iter()
                .map(|(name, spec)| (name.clone(), spec.to_value()))
                .collect(),
            Some(other) => {
                return Err(field_error(
                    "triggers",
                    format!("must be an object, not {}", other.kind()),
                ))
            }
            None => return Err(field_error("triggers", "is missing".into())),
        };
        let steps = match doc.get("steps") {
            None => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    parse_step(step).map_err(|(field, problem)| ScenarioError::Step {
                        step: index,
                        field,
                        problem,
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(field_error(
                    "steps",
                    format!("must be an array, not {}", other.kind()),
                ))
            }
        };
        Ok(Scenario {
            description,
            options,
            triggers,
            steps,
        })
    }
}

fn field_error(field: &str, problem: String) -> ScenarioError {
    ScenarioError::Field {
        field: field.to_owned(),
        problem,
    }
}

fn parse_options(options: Option<&Json>) -> Result<Options, ScenarioError> {
    let mut out = Options::default();
    let members = match options {
        None | Some(Json::Null) => return Ok(out),
        Some(Json::Object(members)) => members,
        Some(other) => {
            return Err(field_error(
                "options",
                format!("must be an object, not {}", other.kind()),
            ))
        }
    };
    for (key, value) in members {
        let field = format!("options.{key}");
        let allowed: &[&str] = match key.as_str() {
            "entry" => &["consumer", "direct"],
            "proactive" => &["all", "scheduled"],
            "events_clock" => &["reset", "live"],
            "periodic" => &["after", "before", "never"],
            _ => {
                return Err(field_error(
                    &field,
                    "unknown option (known: entry, proactive, events_clock, periodic)".into(),
                ))
            }
        };
        let text = match value {
            Json::String(s) if allowed.contains(&s.as_str()) => s.as_str(),
            _ => {
                return Err(field_error(
                    &field,
                    format!(
                        "must be one of {} (got {})",
                        allowed.join(", "),
                        py_json(value)
                    ),
                ))
            }
        };
        match (key.as_str(), text) {
            ("entry", "consumer") => out.entry = EntryOption::Consumer,
            ("entry", _) => out.entry = EntryOption::Direct,
            ("proactive", "all") => out.proactive = ProactiveOption::All,
            ("proactive", _) => out.proactive = ProactiveOption::Scheduled,
            ("events_clock", "reset") => out.events_clock = EventsClockOption::Reset,
            ("events_clock", _) => out.events_clock = EventsClockOption::Live,
            ("periodic", "after") => out.periodic = PeriodicOption::After,
            ("periodic", "before") => out.periodic = PeriodicOption::Before,
            _ => out.periodic = PeriodicOption::Never,
        }
    }
    Ok(out)
}

/// `(field, problem)`: the caller adds the step index.
type StepProblem = (String, String);

fn parse_step(step: &Json) -> Result<Step, StepProblem> {
    let Json::Object(_) = step else {
        return Err((
            String::new(),
            format!("a step must be an object, not {}", step.kind()),
        ));
    };
    let now = step
        .get("now")
        .map(|v| Time::from_json(v).map_err(|p| ("now".to_owned(), p)))
        .transpose()?;
    if let Some(event) = step.get("event") {
        let event =
            parse_event(event).map_err(|(field, problem)| (format!("event.{field}"), problem))?;
        Ok(Step::Event { event, now })
    } else if let Some(tick) = step.get("tick") {
        let tick = Time::from_json(tick).map_err(|p| ("tick".to_owned(), p))?;
        Ok(Step::Tick { tick, now })
    } else {
        Err((
            String::new(),
            "is neither an event nor a tick (needs an `event` or a `tick` member)".into(),
        ))
    }
}

fn parse_event(event: &Json) -> Result<ScenarioEvent, StepProblem> {
    let Json::Object(_) = event else {
        return Err((
            String::new(),
            format!("must be an object, not {}", event.kind()),
        ));
    };
    let required = |name: &str| {
        event
            .get(name)
            .ok_or_else(|| (name.to_owned(), "is missing".to_owned()))
    };
    let id = scenario_id(required("id")?).map_err(|p| ("id".to_owned(), p))?;
    let name = match required("event")? {
        Json::String(s) => s.clone(),
        other => {
            return Err((
                "event".into(),
                format!("must be a string, not {}", other.kind()),
            ))
        }
    };
    let occurred =
        Time::from_json(required("occurred")?).map_err(|p| ("occurred".to_owned(), p))?;
    let received = event
        .get("received")
        .map(|v| Time::from_json(v).map_err(|p| ("received".to_owned(), p)))
        .transpose()?;
    let resource = labels(required("resource")?).map_err(|(f, p)| (join("resource", &f), p))?;
    require_label(&resource, "prefect.resource.id").map_err(|p| ("resource".to_owned(), p))?;
    let related = match event.get("related") {
        None => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = format!("related[{i}]");
                let labels = labels(item).map_err(|(f, p)| (join(&field, &f), p))?;
                require_label(&labels, "prefect.resource.id").map_err(|p| (field.clone(), p))?;
                require_label(&labels, "prefect.resource.role").map_err(|p| (field.clone(), p))?;
                Ok(labels)
            })
            .collect::<Result<_, StepProblem>>()?,
        Some(other) => {
            return Err((
                "related".into(),
                format!("must be an array, not {}", other.kind()),
            ))
        }
    };
    let follows = match event.get("follows") {
        None | Some(Json::Null) => None,
        Some(v) => Some(scenario_id(v).map_err(|p| ("follows".to_owned(), p))?),
    };
    match event.get("payload") {
        None | Some(Json::Object(_)) => {}
        Some(other) => {
            return Err((
                "payload".into(),
                format!("must be an object, not {}", other.kind()),
            ))
        }
    }
    Ok(ScenarioEvent {
        id,
        event: name,
        occurred,
        received,
        resource,
        related,
        follows,
    })
}

fn join(prefix: &str, field: &str) -> String {
    if field.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn labels(value: &Json) -> Result<Vec<(String, String)>, StepProblem> {
    let Json::Object(members) = value else {
        return Err((
            String::new(),
            format!("must be an object of labels, not {}", value.kind()),
        ));
    };
    members
        .iter()
        .map(|(k, v)| match v {
            Json::String(s) => Ok((k.clone(), s.clone())),
            other => Err((
                k.clone(),
                format!("a label value must be a string, not {}", other.kind()),
            )),
        })
        .collect()
}

fn require_label(labels: &[(String, String)], name: &str) -> Result<(), String> {
    match labels.iter().find(|(k, _)| k == name) {
        Some((_, v)) if !v.is_empty() => Ok(()),
        Some(_) => Err(format!("the {name} label must be non-empty")),
        None => Err(format!("must include the {name} label")),
    }
}

fn scenario_id(value: &Json) -> Result<ScenarioId, String> {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Number(n) => python_number_str(n),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => {
            return Err(format!(
                "an event id must be a string or a number, not {}",
                other.kind()
            ))
        }
    };
    Ok(ScenarioId {
        text,
        json: py_json(value),
    })
}

/// Python's `str()` of a JSON number (`int` digits, or a float's `repr`).
pub(crate) fn python_number_str(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        python_float_repr(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl Time {
    /// A scenario time value: a number of seconds or an ISO-8601 string.
    pub fn from_json(value: &Json) -> Result<Time, String> {
        match value {
            Json::Number(n) => {
                let seconds = if let Some(i) = n.as_i64() {
                    i as f64
                } else if let Some(u) = n.as_u64() {
                    u as f64
                } else {
                    n.as_f64().unwrap_or(f64::NAN)
                };
                Time::from_seconds(seconds)
            }
            Json::String(s) => Time::from_iso(s),
            other => Err(format!("not a time: {} ({})", py_json(other), other.kind())),
        }
    }
}

/// Microseconds between the Unix epoch and the scenario epoch, 2026-01-01T00:00:00Z.
pub const SCENARIO_EPOCH_MICROS: u64 = SCENARIO_EPOCH_UNIX_SECS * MICROS_PER_SEC;

/// The instant `micros` microseconds after the scenario epoch, if representable.
pub fn instant_from_scenario_micros(micros: i128) -> Option<Instant> {
    let unix = i128::from(SCENARIO_EPOCH_MICROS).checked_add(micros)?;
    u64::try_from(unix).ok().map(Instant::from_micros)
}

#[cfg(test)]
mod tests;
