//! `overdue run`: Prefect automations in, event JSON lines in, firings out as JSON
//! lines, through the [driver](crate::driver).
//!
//! * Triggers come from files, each holding a bare trigger, an automation or an array
//!   of automations ([`load_trigger_files`]); a malformed or disabled automation is
//!   reported and skipped.
//! * Events come from standard input or from TCP connections on a local address, one
//!   Prefect event JSON object per line ([`read_events`]); a malformed line is reported
//!   with its line number, counted and skipped.
//! * Firings go to standard output through an [`NdjsonSink`].
//! * SIGINT, SIGTERM or the end of standard input stops the run gracefully; a one-line
//!   summary goes to standard error.
//! * With a state file ([`RunOptions::state`]) the engine's state is restored at the
//!   start and checkpointed periodically and at the stop (see the
//!   [driver](crate::driver#state-file-and-restarts)); what became of the file and any
//!   failed checkpoint are reported on standard error.

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::driver::{system_now, Driver, DriverConfig, Input, ReceiverStream, StateNotice};
use crate::json::{load_automations, parse_event_str, Automation};
use crate::sink::NdjsonSink;

/// Where `overdue run` reads events from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSource {
    /// Standard input (`-`); its end stops the run.
    Stdin,
    /// TCP connections accepted on this address (`tcp://HOST:PORT`), one at a time;
    /// port 0 picks a free port (the bound address is printed on standard error).
    Tcp(SocketAddr),
}

/// Why an `--events` value was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSourceError(String);

impl fmt::Display for EventSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an event source: use `-` (standard input) or `tcp://127.0.0.1:PORT`",
            self.0
        )
    }
}

impl std::error::Error for EventSourceError {}

impl FromStr for EventSource {
    type Err = EventSourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "-" {
            return Ok(EventSource::Stdin);
        }
        s.strip_prefix("tcp://")
            .and_then(|addr| addr.parse().ok())
            .map(EventSource::Tcp)
            .ok_or_else(|| EventSourceError(s.to_owned()))
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSource::Stdin => f.write_str("-"),
            EventSource::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

/// What `overdue run` was asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Files holding triggers or automations.
    pub triggers: Vec<PathBuf>,
    /// Where events come from.
    pub events: EventSource,
    /// Allowed lateness (`EngineConfig::allowed_lateness`); `None` evaluates events
    /// as they arrive.
    pub allowed_lateness: Option<overdue_core::Duration>,
    /// The state file (`DriverConfig::state_path`); `None` keeps state in memory only.
    pub state: Option<PathBuf>,
    /// Bounds on the engine's state (`EngineConfig::capacities`).
    pub capacities: overdue_core::engine::Capacities,
    /// Read waiting events ahead once this many windows are tracked
    /// (`DriverConfig::read_ahead_from`); `None` never does.
    pub read_ahead_from: Option<usize>,
}

/// Parses `NAME=N` (a field of `overdue_core::engine::Capacities`, e.g. `keys=100000`).
pub fn parse_capacity(text: &str) -> Result<(overdue_core::engine::Capacity, usize), String> {
    use overdue_core::engine::Capacity;
    let names = || {
        Capacity::ALL
            .iter()
            .map(|c| c.field())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((name, bound)) = text.split_once('=') else {
        return Err(format!(
            "`{text}`: expected NAME=N, NAME one of {}",
            names()
        ));
    };
    let capacity = Capacity::from_field(name.trim())
        .ok_or_else(|| format!("`{name}` is not a capacity; use one of {}", names()))?;
    let bound = bound
        .trim()
        .parse::<usize>()
        .map_err(|_| format!("`{bound}`: the bound of {name} must be a whole number >= 0"))?;
    Ok((capacity, bound))
}

/// No automation at all could be loaded from the trigger files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoAutomationsError {
    /// How many files were read.
    pub files: usize,
}

impl fmt::Display for NoAutomationsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no valid automation in {} trigger file(s): nothing to evaluate (see the errors above)",
            self.files
        )
    }
}

impl std::error::Error for NoAutomationsError {}

/// Loads every automation of every file, reporting each problem on `diag` (one line
/// each: file, automation index and name, what is wrong) and skipping it.
///
/// Disabled automations are skipped too, as Prefect does not evaluate them. Fails only
/// when nothing at all loaded.
pub fn load_trigger_files(
    paths: &[PathBuf],
    diag: &mut dyn Write,
) -> Result<Vec<Automation>, NoAutomationsError> {
    let mut loaded = Vec::new();
    for path in paths {
        let shown = path.display();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(diag, "overdue: {shown}: {e}");
                continue;
            }
        };
        let report = match load_automations(&text) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(diag, "overdue: {shown}: {e}");
                continue;
            }
        };
        for error in &report.errors {
            let _ = writeln!(diag, "overdue: {shown}: {error} (skipped)");
        }
        for automation in report.automations {
            if automation.enabled {
                loaded.push(automation);
            } else {
                let _ = writeln!(
                    diag,
                    "overdue: {shown}: automation {:?} is disabled (skipped)",
                    automation.name
                );
            }
        }
    }
    if loaded.is_empty() {
        Err(NoAutomationsError { files: paths.len() })
    } else {
        Ok(loaded)
    }
}

/// Reads Prefect events, one JSON object per line, until the end of `reader` or until
/// the driver stops listening; returns the number of lines read.
///
/// Blank lines are ignored. A line that is not a valid event (or not UTF-8) is
/// reported on standard error as `overdue: ORIGIN line N: problem` and passed on as
/// [`Input::Malformed`]. Events without `received` get the current system time.
pub async fn read_events<R: AsyncRead + Unpin>(
    reader: R,
    origin: &str,
    tx: &mpsc::Sender<Input>,
) -> io::Result<u64> {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).await? == 0 {
            return Ok(line_no);
        }
        line_no += 1;
        let input = match std::str::from_utf8(&buf) {
            Err(e) => {
                eprintln!("overdue: {origin} line {line_no}: not UTF-8 ({e})");
                Input::Malformed
            }
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match parse_event_str(text.trim_end_matches(['\n', '\r']), system_now()) {
                Ok(event) => Input::Event(event),
                Err(e) => {
                    eprintln!("overdue: {origin} line {line_no}: {e}");
                    Input::Malformed
                }
            },
        };
        if tx.send(input).await.is_err() {
            return Ok(line_no);
        }
    }
}

/// Accepts one connection at a time on `listener` and reads events from each.
async fn serve_tcp(listener: TcpListener, tx: mpsc::Sender<Input>) {
    let mut n = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("overdue: accepting a connection failed: {e}");
                continue;
            }
        };
        n += 1;
        eprintln!("overdue: connection {n} from {peer}");
        let origin = format!("connection {n} ({peer})");
        match read_events(stream, &origin, &tx).await {
            Ok(lines) => eprintln!("overdue: connection {n} closed after {lines} lines"),
            Err(e) => eprintln!("overdue: {origin}: read failed: {e}"),
        }
        if tx.is_closed() {
            return;
        }
    }
}

/// One warning per event trigger whose explicit `id` was already used by an event
/// trigger loaded before it (in load order): the engine, like Prefect's trigger cache,
/// lets the later one replace the earlier, which then never fires.
pub fn replaced_trigger_ids(automations: &[Automation]) -> Vec<String> {
    let mut owner: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut warnings = Vec::new();
    for automation in automations.iter().filter(|a| a.enabled) {
        for trigger in automation.trigger.event_triggers() {
            let Some(id) = trigger.id.as_deref() else {
                continue;
            };
            if let Some(earlier) = owner.insert(id, &automation.name) {
                warnings.push(format!(
                    "automation {:?}: its trigger id {id} is also used by automation {earlier:?}; \
                     as in Prefect, the later trigger replaces the earlier one, which will \
                     never fire (give every trigger its own id, or none)",
                    automation.name
                ));
            }
        }
    }
    warnings
}

/// Runs `overdue run` to completion and returns the process exit code: 0 after a
/// graceful stop, 1 when reading or writing fails, 2 when no automation loads.
pub fn main(options: RunOptions) -> ExitCode {
    let automations = match load_trigger_files(&options.triggers, &mut io::stderr()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("overdue: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = DriverConfig::default();
    config.engine.allowed_lateness = options.allowed_lateness;
    config.engine.capacities = options.capacities;
    config.state_path = options.state.clone();
    config.on_state = Some(Arc::new(report_state));
    if let Some(keys) = options.read_ahead_from {
        config.read_ahead_from = keys;
        eprintln!("overdue: reading waiting events ahead once {keys} window(s) are tracked");
    }
    for warning in replaced_trigger_ids(&automations) {
        eprintln!("overdue: {warning}");
    }
    let mut driver = Driver::new(config);
    for automation in &automations {
        if let Err(e) = driver.add_automation(automation) {
            eprintln!("overdue: automation {:?}: {e} (skipped)", automation.name);
        }
    }
    if driver.automation_count() == 0 {
        eprintln!("overdue: no automation could be loaded into the engine");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("overdue: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(driver, options.events));
    // A blocking read of standard input may still be in flight: do not wait for it.
    runtime.shutdown_background();
    code
}

/// Reports what the driver did with the state file on standard error (not each
/// successful checkpoint).
fn report_state(notice: &StateNotice<'_>) {
    match notice {
        StateNotice::Loaded { path, load } => {
            eprintln!("overdue: state file {}: {load}", path.display());
        }
        StateNotice::Written { .. } => {}
        StateNotice::WriteFailed(e) => {
            eprintln!("overdue: checkpoint failed, the previous one is kept: {e}");
        }
    }
}

async fn run(driver: Driver, source: EventSource) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("overdue: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (tx, rx) = mpsc::channel::<Input>(1024);
    let count = driver.automation_count();
    match source {
        EventSource::Stdin => {
            eprintln!("overdue: {count} automation(s) loaded; reading events from standard input");
            tokio::spawn(async move {
                if let Err(e) = read_events(tokio::io::stdin(), "stdin", &tx).await {
                    eprintln!("overdue: reading standard input failed: {e}");
                }
            });
        }
        EventSource::Tcp(addr) => {
            let listener = match TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("overdue: cannot listen on tcp://{addr}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let bound = listener.local_addr().unwrap_or(addr);
            eprintln!("overdue: {count} automation(s) loaded; listening on tcp://{bound}");
            tokio::spawn(serve_tcp(listener, tx));
        }
    }
    let reason: Arc<OnceLock<&'static str>> = Arc::default();
    let stop = Arc::clone(&reason);
    let shutdown = async move {
        let name = tokio::select! {
            _ = sigint.recv() => "SIGINT",
            _ = sigterm.recv() => "SIGTERM",
        };
        let _ = stop.set(name);
    };
    let sink = NdjsonSink::new(tokio::io::stdout());
    let result = driver.run(ReceiverStream::new(rx), sink, shutdown).await;
    let why = reason.get().copied().unwrap_or("end of input");
    match result {
        Ok(summary) => {
            eprintln!("overdue: stopped ({why}): {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("overdue: stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_trigger_ids_are_warned_about() {
        let doc = r#"[
            {"name": "a", "trigger": {"type": "event", "id": "00000000-0000-0000-0000-000000000001",
             "expect": ["x"], "posture": "Reactive", "threshold": 1}, "actions": []},
            {"name": "b", "trigger": {"type": "compound", "require": "any", "within": null,
             "triggers": [{"type": "event", "id": "00000000-0000-0000-0000-000000000001",
             "expect": ["y"], "posture": "Reactive", "threshold": 1}]}, "actions": []},
            {"name": "c", "trigger": {"type": "event", "expect": ["z"], "posture": "Reactive",
             "threshold": 1}, "actions": []}
        ]"#;
        let report = load_automations(doc).expect("a valid document");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let automations = report.automations;
        let warnings = replaced_trigger_ids(&automations);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("automation \"b\"") && warnings[0].contains("\"a\""));
        assert!(replaced_trigger_ids(&automations[..1]).is_empty());
    }

    #[test]
    fn event_sources_parse() {
        assert_eq!("-".parse(), Ok(EventSource::Stdin));
        assert_eq!(
            "tcp://127.0.0.1:9000".parse(),
            Ok(EventSource::Tcp("127.0.0.1:9000".parse().unwrap()))
        );
        assert!("tcp://localhost".parse::<EventSource>().is_err());
        assert!("stdin".parse::<EventSource>().is_err());
        assert_eq!(EventSource::Stdin.to_string(), "-");
    }

    #[tokio::test]
    async fn read_events_numbers_lines_and_passes_malformed_ones_on() {
        let good = r#"{"id": "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e", "event": "x", "occurred": "2026-01-01T00:00:00Z", "resource": {"prefect.resource.id": "r"}}"#;
        let mut text = format!("{good}\r\n\n{{\n").into_bytes();
        text.extend_from_slice(b"\xff\n");
        text.extend_from_slice(good.as_bytes()); // no final newline
        let (tx, mut rx) = mpsc::channel(8);
        let lines = read_events(&text[..], "test", &tx).await.unwrap();
        drop(tx);
        assert_eq!(lines, 5);
        let mut got = Vec::new();
        while let Some(input) = rx.recv().await {
            got.push(match input {
                Input::Event(e) => e.event,
                Input::Malformed => "malformed".to_owned(),
            });
        }
        assert_eq!(got, ["x", "malformed", "malformed", "x"]);
    }

    #[test]
    fn bad_automations_are_reported_and_skipped() {
        let dir = std::env::temp_dir().join(format!("overdue-run-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            r#"[{"name": "ok", "trigger": {"expect": ["x"], "posture": "Reactive"}, "actions": []},
                {"name": "broken", "trigger": {"posture": "Sideways"}, "actions": []},
                {"name": "off", "enabled": false,
                 "trigger": {"expect": ["x"], "posture": "Reactive"}, "actions": []}]"#,
        )
        .unwrap();
        let mut diag = Vec::new();
        let loaded =
            load_trigger_files(&[good.clone(), dir.join("missing.json")], &mut diag).unwrap();
        let diag = String::from_utf8(diag).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].name, "ok");
        assert!(diag.contains("automation #1 (\"broken\")"), "{diag}");
        assert!(diag.contains("\"off\" is disabled"), "{diag}");
        assert!(diag.contains("missing.json"), "{diag}");

        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let mut diag = Vec::new();
        assert_eq!(
            load_trigger_files(&[bad], &mut diag),
            Err(NoAutomationsError { files: 1 })
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
