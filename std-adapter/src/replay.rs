//! Replays a conformance [`Scenario`] through the engine and prints its firings exactly
//! as the Prefect oracle (`prefect_oracle.py`) does, one JSON line per firing.
//!
//! Per step: an event step sets the wall clock (`now`, else `max(clock, received)` if
//! `received` is given, else `max(clock, occurred)`; `received` defaults to `now`) and
//! hands the event to [`Engine::handle_event`]; a tick step `{"tick": T, "now": W}` sets
//! the clock to `W` (default `T`) and calls [`Engine::handle_tick`]. Then every pending
//! firing is drained with [`Engine::poll_action`] and stamped with the step's index and
//! wall clock. Within a step firings are ordered by the trigger's position in
//! `triggers`, then by `json.dumps(labels, sort_keys=True)` (a stable sort: the engine's
//! order otherwise), as the oracle sorts them.
//!
//! With [`ReplayOptions::snapshot_every`] `K`, after every `K`th step (firings drained)
//! the engine is saved with `Engine::snapshot_to_vec` and restored in place
//! (`Engine::restore_in_place`) from the bytes with the same triggers; the output must
//! be the same as without it.

use std::collections::HashMap;
use std::fmt;

use overdue_core::engine::{
    Engine, EngineConfig, Entry, EventsClock, Firing, FiringKind, PeriodicOrder, ProactiveMode,
    RestoreReport, TriggerId, WallClock,
};
use overdue_core::store::{Growable, Storage};
use overdue_core::trigger::Trigger;
use overdue_core::{EventId, OwnedEvent};

use crate::scenario::{
    fmt_seconds, py_json_object, py_json_str, EntryOption, EventsClockOption, Options,
    PeriodicOption, ProactiveOption, Scenario, ScenarioError, ScenarioEvent, Step, Time,
};
use crate::uuid5::scenario_event_id;

/// One firing as the oracle prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct FiringLine {
    /// Index of the step during which it fired.
    pub step: usize,
    /// The trigger's name in `triggers`.
    pub trigger: String,
    /// The step's wall clock.
    pub at: Time,
    /// `triggering_labels` (sorted by label; empty for composite triggers).
    pub labels: Vec<(String, String)>,
    /// `json.dumps` of the triggering event's scenario id, or `None` for `null`.
    pub event: Option<String>,
    /// Proactive evaluation or event processing.
    pub kind: FiringKind,
}

impl FiringLine {
    /// The oracle's line: `{"step": 3, "trigger": "zombie", "at": 121, "labels": {...},
    /// "event": "hb2", "kind": "proactive"}` (without a newline).
    pub fn to_json(&self) -> String {
        let kind = match self.kind {
            FiringKind::Proactive => "proactive",
            FiringKind::Reactive => "reactive",
        };
        py_json_object([
            ("step", self.step.to_string()),
            ("trigger", py_json_str(&self.trigger)),
            ("at", fmt_seconds(self.at.seconds())),
            ("labels", labels_json(&self.labels)),
            (
                "event",
                self.event.clone().unwrap_or_else(|| "null".to_owned()),
            ),
            ("kind", py_json_str(kind)),
        ])
    }
}

fn labels_json(labels: &[(String, String)]) -> String {
    py_json_object(labels.iter().map(|(k, v)| (k.as_str(), py_json_str(v))))
}

/// Why a scenario could not be replayed.
#[derive(Debug)]
pub enum ReplayError {
    /// The scenario document is invalid.
    Scenario(ScenarioError),
    /// A trigger was refused (by the trigger parser or by the engine).
    Trigger {
        /// The trigger's name in `triggers`.
        name: String,
        /// Why.
        problem: String,
    },
    /// The engine refused a step's event.
    Event {
        /// Index of the step.
        step: usize,
        /// Why.
        problem: String,
    },
    /// Restoring the engine from its snapshot failed (`snapshot_every`).
    Snapshot {
        /// Index of the step after which it was saved.
        step: usize,
        /// Why.
        problem: String,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Scenario(e) => e.fmt(f),
            ReplayError::Trigger { name, problem } => {
                write!(f, "field `triggers.{name}`: {problem}")
            }
            ReplayError::Event { step, problem } => {
                write!(f, "step {step}, field `event`: {problem}")
            }
            ReplayError::Snapshot { step, problem } => {
                write!(f, "after step {step}, snapshot and restore: {problem}")
            }
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Scenario(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ScenarioError> for ReplayError {
    fn from(e: ScenarioError) -> Self {
        ReplayError::Scenario(e)
    }
}

/// The engine configuration a scenario's options ask for (Prefect's constants otherwise;
/// the wall clock is taken as given, since a scenario's `now` may move back).
pub fn engine_config(options: &Options) -> EngineConfig {
    EngineConfig {
        entry: match options.entry {
            EntryOption::Consumer => Entry::Consumer,
            EntryOption::Direct => Entry::Direct,
        },
        proactive: match options.proactive {
            ProactiveOption::All => ProactiveMode::All,
            ProactiveOption::Scheduled => ProactiveMode::Scheduled,
        },
        events_clock: match options.events_clock {
            EventsClockOption::Reset => EventsClock::Reset,
            EventsClockOption::Live => EventsClock::Live,
        },
        periodic: match options.periodic {
            PeriodicOption::After => PeriodicOrder::After,
            PeriodicOption::Before => PeriodicOrder::Before,
            PeriodicOption::Never => PeriodicOrder::Never,
        },
        wall_clock: WallClock::AsGiven,
        ..EngineConfig::default()
    }
}

/// How to replay, beyond what the scenario's `options` say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Run the engine with this allowed lateness (events buffered and released in
    /// event-time order once the watermark `tick - L` passes them; see
    /// `overdue_core::engine::EngineConfig::allowed_lateness`). `None`: Prefect's
    /// evaluation on arrival, which is what the oracle does.
    pub allowed_lateness: Option<overdue_core::Duration>,
    /// After every this many steps, save the engine with `Engine::snapshot_to_vec`
    /// and restore it in place with `Engine::restore_in_place` from the bytes (same
    /// triggers, same configuration). The output must not change: this checks that a snapshot
    /// carries the whole state. `None` (or `Some(0)`): never.
    pub snapshot_every: Option<usize>,
    /// Run the engine with this capacity of pending firings
    /// (`overdue_core::engine::Capacities::pending_firings`): a tick that fills it stops,
    /// the replay drains the firings and calls the tick again until it is finished
    /// (with `snapshot_every`, also saving and restoring the engine at each stop). The
    /// output must not change. `None`: unbounded.
    pub pending_firings: Option<usize>,
}

/// Parses and replays a scenario document; one oracle line per firing.
pub fn replay_str(text: &str) -> Result<Vec<String>, ReplayError> {
    replay_str_with(text, &ReplayOptions::default())
}

/// [`replay_str`] with [`ReplayOptions`].
pub fn replay_str_with(text: &str, options: &ReplayOptions) -> Result<Vec<String>, ReplayError> {
    let scenario = Scenario::from_json_str(text)?;
    Ok(replay_with(&scenario, options)?
        .iter()
        .map(FiringLine::to_json)
        .collect())
}

/// Gives every trigger node without an `id` the oracle's deterministic one,
/// `uuid5(SCENARIO_NAMESPACE, "{automation}/{path}")` with paths `trigger`,
/// `trigger.0`, `trigger.0.1`, … (Prefect would use random UUIDs). The ids matter:
/// Prefect's database returns a composite's stored child firings in child-id order, and
/// that order breaks ties between children that fired at the same instant.
fn assign_trigger_ids(node: &mut serde_json::Value, automation: &str, path: &str) {
    let Some(object) = node.as_object_mut() else {
        return;
    };
    if !object.contains_key("id") {
        let id = crate::uuid5::uuid5(
            crate::uuid5::SCENARIO_NAMESPACE,
            &format!("{automation}/{path}"),
        );
        object.insert("id".into(), serde_json::Value::String(id.to_string()));
    }
    if let Some(serde_json::Value::Array(children)) = object.get_mut("triggers") {
        for (i, child) in children.iter_mut().enumerate() {
            assign_trigger_ids(child, automation, &format!("{path}.{i}"));
        }
    }
}

/// Replays a parsed scenario.
pub fn replay(scenario: &Scenario) -> Result<Vec<FiringLine>, ReplayError> {
    replay_with(scenario, &ReplayOptions::default())
}

/// Replays a parsed scenario with [`ReplayOptions`].
pub fn replay_with(
    scenario: &Scenario,
    options: &ReplayOptions,
) -> Result<Vec<FiringLine>, ReplayError> {
    replay_in::<Growable>(scenario, options)
}

/// [`replay_with`] on an engine whose state lives in storage `S` (for example a
/// fixed-capacity [`overdue_core::store::Fixed`]); a scenario that does not fit its
/// capacities fails with the engine's error at the step that did not fit.
pub fn replay_in<S: Storage>(
    scenario: &Scenario,
    options: &ReplayOptions,
) -> Result<Vec<FiringLine>, ReplayError> {
    let mut config = engine_config(&scenario.options);
    config.allowed_lateness = options.allowed_lateness;
    if let Some(n) = options.pending_firings {
        config.capacities.pending_firings = n;
    }
    let mut engine = Engine::<S>::create(config);
    let mut loaded: Vec<(TriggerId, Trigger)> = Vec::with_capacity(scenario.triggers.len());
    for (index, (name, spec)) in scenario.triggers.iter().enumerate() {
        let trigger_error = |problem: String| ReplayError::Trigger {
            name: name.clone(),
            problem,
        };
        let mut spec = spec.clone();
        assign_trigger_ids(&mut spec, name, "trigger");
        let trigger =
            crate::json::parse_trigger(&spec).map_err(|e| trigger_error(e.to_string()))?;
        let id =
            TriggerId(u32::try_from(index).map_err(|_| trigger_error("too many triggers".into()))?);
        engine
            .add_trigger(id, trigger.clone())
            .map_err(|e| trigger_error(e.to_string()))?;
        loaded.push((id, trigger));
    }

    // scenario id (as json.dumps prints it) of every UUID seen so far
    let mut names: HashMap<EventId, String> = HashMap::new();
    let mut clock = Time::ZERO;
    let mut lines = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        match step {
            Step::Event { event, now } => {
                let now = match (now, event.received) {
                    (Some(now), _) => *now,
                    (None, Some(received)) => clock.max(received),
                    (None, None) => clock.max(event.occurred),
                };
                clock = now;
                let owned = owned_event(event, now, &mut names);
                engine
                    .handle_event(&owned.view(), now.instant())
                    .map_err(|e| ReplayError::Event {
                        step: index,
                        problem: e.to_string(),
                    })?;
            }
            Step::Tick { tick, now } => {
                clock = now.unwrap_or(*tick);
                engine.handle_tick(tick.instant(), clock.instant());
            }
        }
        let first = lines.len();
        while let Some(firing) = engine.poll_action() {
            lines.push(firing_line(scenario, index, clock, firing, &names));
        }
        // a tick cut short by the pending-firings capacity: finish it, as a driver would
        while let Step::Tick { tick, .. } = step {
            if !engine.tick_deferred() {
                break;
            }
            if options.snapshot_every.is_some_and(|k| k > 0) {
                save_and_restore(&mut engine, config, &loaded, index)?;
            }
            engine.handle_tick(tick.instant(), clock.instant());
            while let Some(firing) = engine.poll_action() {
                lines.push(firing_line(scenario, index, clock, firing, &names));
            }
        }
        sort_step(scenario, &mut lines[first..]);
        if let Some(every) = options.snapshot_every.filter(|&k| k > 0) {
            if (index + 1) % every == 0 {
                save_and_restore(&mut engine, config, &loaded, index)?;
            }
        }
    }
    Ok(lines)
}

/// Saves the engine and restores it in place from the bytes with the same triggers
/// (the engine is never moved: a fixed-storage one is large).
fn save_and_restore<S: Storage>(
    engine: &mut Engine<S>,
    config: EngineConfig,
    triggers: &[(TriggerId, Trigger)],
    step: usize,
) -> Result<(), ReplayError> {
    let bytes = engine.snapshot_to_vec();
    let failed = |problem: String| ReplayError::Snapshot { step, problem };
    let mut report = RestoreReport::default();
    engine
        .restore_in_place(config, triggers, &bytes, &mut |id, outcome| {
            report.record(id, outcome)
        })
        .map_err(|e| failed(e.to_string()))?;
    if report.kept.len() != triggers.len() {
        return Err(failed(format!(
            "the restored engine did not keep every trigger: {report:?}"
        )));
    }
    Ok(())
}

/// The event Prefect sees for a scenario event, recording its id (and its leader's, if
/// not seen yet) for printing.
fn owned_event(
    event: &ScenarioEvent,
    now: Time,
    names: &mut HashMap<EventId, String>,
) -> OwnedEvent {
    let id = scenario_event_id(&event.id.text);
    names.insert(id, event.id.json.clone());
    let follows = event.follows.as_ref().map(|leader| {
        let leader_id = scenario_event_id(&leader.text);
        names
            .entry(leader_id)
            .or_insert_with(|| leader.json.clone());
        leader_id
    });
    OwnedEvent {
        id,
        event: event.event.clone(),
        occurred: event.occurred.instant(),
        received: event.received.unwrap_or(now).instant(),
        resource: event.resource.clone(),
        related: event.related.clone(),
        follows,
    }
}

fn firing_line(
    scenario: &Scenario,
    step: usize,
    clock: Time,
    firing: Firing<'_>,
    names: &HashMap<EventId, String>,
) -> FiringLine {
    let trigger = scenario
        .triggers
        .get(firing.trigger.0 as usize)
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| firing.trigger.0.to_string());
    // `dict(zip(sorted(for_each), key))`: a repeated label keeps its first position and
    // its last value
    let mut labels: Vec<(String, String)> = Vec::with_capacity(firing.labels().len());
    for (k, v) in firing.labels() {
        match labels.iter_mut().find(|(seen, _)| seen == k) {
            Some(slot) => slot.1 = v.to_owned(),
            None => labels.push((k.to_owned(), v.to_owned())),
        }
    }
    let event = firing.event.map(|id| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| py_json_str(&id.to_string()))
    });
    FiringLine {
        step,
        trigger,
        at: clock,
        labels,
        event,
        kind: firing.kind,
    }
}

/// The oracle's order within a step: trigger position, then `json.dumps(labels,
/// sort_keys=True)`.
fn sort_step(scenario: &Scenario, lines: &mut [FiringLine]) {
    let position = |name: &str| {
        scenario
            .triggers
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or(usize::MAX)
    };
    let mut keyed: Vec<(usize, String, FiringLine)> = lines
        .iter()
        .map(|line| {
            let mut sorted = line.labels.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            (position(&line.trigger), labels_json(&sorted), line.clone())
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (slot, (_, _, line)) in lines.iter_mut().zip(keyed) {
        *slot = line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firing_lines_print_like_the_oracle() {
        let line = FiringLine {
            step: 3,
            trigger: "zombie ✓".into(),
            at: Time::from_seconds(239.306).unwrap(),
            labels: vec![
                ("prefect.resource.id".into(), "prefect.flow-run.A".into()),
                ("related:deployment:prefect.resource.id".into(), "".into()),
            ],
            event: Some("\"hb2\"".into()),
            kind: FiringKind::Proactive,
        };
        assert_eq!(
            line.to_json(),
            r#"{"step": 3, "trigger": "zombie \u2713", "at": 239.306, "labels": {"prefect.resource.id": "prefect.flow-run.A", "related:deployment:prefect.resource.id": ""}, "event": "hb2", "kind": "proactive"}"#
        );
        let composite = FiringLine {
            step: 0,
            trigger: "c".into(),
            at: Time::from_seconds(-60.0).unwrap(),
            labels: vec![],
            event: None,
            kind: FiringKind::Reactive,
        };
        assert_eq!(
            composite.to_json(),
            r#"{"step": 0, "trigger": "c", "at": -60, "labels": {}, "event": null, "kind": "reactive"}"#
        );
    }

    #[test]
    fn a_step_is_sorted_by_trigger_position_then_labels() {
        let scenario = Scenario::from_json_str(
            r#"{"triggers": {"zeta": {"expect": ["x"]}, "alpha": {"expect": ["x"]}}}"#,
        )
        .unwrap();
        let line = |trigger: &str, labels: &[(&str, &str)], event: &str| FiringLine {
            step: 1,
            trigger: trigger.into(),
            at: Time::ZERO,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            event: Some(event.into()),
            kind: FiringKind::Reactive,
        };
        let mut lines = vec![
            line("alpha", &[("id", "b")], "1"),
            line("zeta", &[("id", "b")], "2"),
            line("alpha", &[("id", "a")], "3"),
            line("zeta", &[], "4"),
            line("alpha", &[("id", "a")], "5"),
        ];
        sort_step(&scenario, &mut lines);
        let order: Vec<&str> = lines.iter().map(|l| l.event.as_deref().unwrap()).collect();
        // zeta is declared first; as strings `{"id": ...}` sorts before `{}` ('"' < '}');
        // ties keep the engine's order
        assert_eq!(order, ["2", "4", "3", "5", "1"]);
    }
}
