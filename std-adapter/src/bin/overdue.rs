//! The `overdue` command line.
//!
//! `overdue replay SCENARIO.json` runs a conformance scenario (the Prefect oracle's
//! timeline format) through the engine and prints one JSON line per firing, exactly as
//! `prefect_oracle.py` prints Prefect's own firings, so the two can be diffed.
//!
//! `overdue run` watches a stream of Prefect events and prints every firing as a JSON
//! line; `overdue demo` simulates a fleet of flow runs and detects the dead ones live.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Detects Prefect automation triggers that are overdue: events that did not arrive in
/// time, or arrived too often, evaluated exactly as Prefect 3.9.1 does.
#[derive(Debug, Parser)]
#[command(name = "overdue", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a conformance scenario and print its firings as JSON lines.
    ///
    /// The scenario is the Prefect oracle's timeline format: `options`, `triggers` (name →
    /// Prefect trigger JSON) and `steps` (events and `{"tick": T}` steps, times in seconds
    /// after 2026-01-01T00:00:00Z or ISO-8601). Each firing is printed as the oracle prints
    /// it, e.g. `{"step": 3, "trigger": "zombie", "at": 121, "labels": {...}, "event":
    /// "hb2", "kind": "proactive"}`, so the output can be diffed against the oracle's
    /// expected `.jsonl`. An invalid scenario is reported with the step index or field at
    /// fault and a non-zero exit status.
    Replay(ReplayArgs),

    /// Watch a stream of Prefect events and print every firing as a JSON line.
    ///
    /// Loads Prefect automations (or bare triggers) from the trigger files, reads Prefect
    /// events, one JSON object per line, from standard input or from TCP connections, and
    /// prints one JSON line per firing on standard output:
    ///
    /// {"automation": NAME, "automation_id": ID|null, "trigger_id": N, "labels": {...},
    /// "event": UUID|null, "at": RFC3339, "kind": "proactive"|"reactive", "actions": [...]}
    ///
    /// `actions` are the automation's, as given; `event` is the triggering event (for a
    /// proactive firing, the last event of the window that expired); `trigger_id` is the
    /// automation's position in load order.
    ///
    /// Evaluation is Prefect 3.9.1's, with its default constants, as of the wall clock:
    /// each window is judged at the instant it ends (no 5-second sweep, no events-clock
    /// offset). Events without `received` are stamped with the time they are read.
    ///
    /// A malformed automation is reported on standard error with its index and name and
    /// skipped; a malformed event line is reported with its line number, counted and
    /// skipped. SIGINT, SIGTERM or the end of standard input stops the run gracefully:
    /// deadlines already due are judged, pending firings are printed and a one-line
    /// summary goes to standard error. With --state the engine's state is saved at the
    /// stop (and every 30 s) and restored at the next start, so a restart neither loses
    /// nor repeats a firing. Exit status: 0 after a graceful stop, 1 when reading or
    /// writing fails, 2 when no automation could be loaded.
    Run(RunArgs),

    /// Simulate a fleet of flow runs, some of which die silently, and detect them live.
    ///
    /// Flow runs go Pending -> Running -> a heartbeat every 30 s -> Completed or Failed;
    /// some die silently mid-run. Prefect's "Crash zombie flows" automation (printed at
    /// the start) watches them through the same driver as `overdue run`, on a virtual
    /// clock paced to --speed. A progress line goes to standard error; the summary
    /// (dead runs detected, false positives, detection delay after the last heartbeat,
    /// events per second) to standard output. Exit status 0 only if every dead run was
    /// detected and nothing else fired.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Run with an allowed lateness of SECONDS: events are buffered and released in
    /// `occurred` (then id) order once the watermark (tick - SECONDS) passes them, and
    /// proactive windows are judged as of the watermark, so firings no longer depend
    /// on arrival order. Without it the replay is Prefect's evaluation on arrival.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    allowed_lateness: Option<overdue_core::Duration>,

    /// After every K steps, save the engine's state to a snapshot, drop the engine and
    /// continue with one restored from the snapshot. The output is the same as without
    /// it; this checks that snapshots carry the whole state.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_every: Option<u64>,

    /// Bound the engine's pending firings to N: a tick that makes more stops when N
    /// are pending, and the replay drains them and finishes the tick. The output is
    /// the same as without it; this checks that cut ticks resume exactly.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pending_firings: Option<u64>,

    /// The scenario file (JSON).
    #[arg(value_name = "SCENARIO.json")]
    scenario: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Prefect automation or trigger files: a bare trigger, one automation, or a JSON
    /// array of automations.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    triggers: Vec<PathBuf>,

    /// Where events come from: `-` (standard input) or `tcp://127.0.0.1:PORT` (one
    /// connection at a time; port 0 picks a free port, printed on standard error).
    #[arg(long, value_name = "SOURCE", default_value = "-")]
    events: overdue_std::run::EventSource,

    /// Allow events to arrive up to SECS late: events are buffered and evaluated in
    /// `occurred` order once the watermark (now - SECS) passes them, and windows are
    /// judged as of the watermark, so a backlog or reordering cannot cause a false
    /// alert; every firing comes SECS later. Events older than the watermark are
    /// dropped and counted.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    allowed_lateness: Option<overdue_core::Duration>,

    /// Keep the engine's state in FILE across restarts: restore it at the start (with
    /// the same trigger files; a trigger whose definition changed starts empty, and the
    /// change is reported), write a checkpoint every 30 s and at a graceful stop
    /// (atomically: temporary file, fsync, rename). A checkpoint is taken only when
    /// every firing before it has been printed, so restarting after SIGINT/SIGTERM
    /// neither loses nor repeats a firing; after a crash the run resumes from the last
    /// checkpoint. A FILE that cannot be restored is reported, renamed to
    /// FILE.corrupt-SECONDS and the run starts clean.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Bound a part of the engine's state (repeatable): trigger_nodes, keys (tracked
    /// windows), key_bytes (per key), held_events, waiting_followers, buffered_events
    /// (with --allowed-lateness; default 1000000), event_bytes (per waiting or buffered
    /// event, packed) or pending_firings. An event that
    /// would need more than is left is refused and counted (the summary says how many);
    /// nothing the engine took is lost. Unbounded by default.
    #[arg(long = "capacity", value_name = "NAME=N", value_parser = overdue_std::run::parse_capacity)]
    capacities: Vec<(overdue_core::engine::Capacity, usize)>,

    /// Once N windows are tracked (0: from the start), read the events waiting
    /// together (up to 32) ahead before evaluating them, so that their cache misses
    /// overlap. It changes nothing the run reports. Off by default: it routes and
    /// keys each event twice, and on the machine of benches/README.md that costs more
    /// than it hides even with a million tracked runs; measure on yours.
    #[arg(long, value_name = "N")]
    read_ahead_from: Option<usize>,
}

/// Parses a non-negative number of seconds (fractions allowed) into a `Duration`.
fn parse_seconds(text: &str) -> Result<overdue_core::Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}`: seconds must be a finite number >= 0"));
    }
    let micros = (secs * 1e6).round();
    if micros > u64::MAX as f64 {
        return Err(format!("`{text}`: too many seconds"));
    }
    Ok(overdue_core::Duration::from_micros(micros as u64))
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Number of simulated flow runs.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    runs: usize,

    /// Percentage of runs that die silently mid-run.
    #[arg(long, value_name = "P", default_value_t = 10.0)]
    die_percent: f64,

    /// Simulated seconds per wall second; 0 runs as fast as possible.
    #[arg(long, value_name = "X", default_value_t = overdue_std::demo::DEFAULT_SPEED)]
    speed: f64,

    /// Seed of the simulation (the same seed gives the same fleet and the same result).
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay(&args),
        Command::Run(args) => return run(args),
        Command::Demo(args) => return demo(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("overdue: {message}");
            ExitCode::FAILURE
        }
    }
}

fn replay(args: &ReplayArgs) -> Result<(), String> {
    let path = args.scenario.display();
    let text = std::fs::read_to_string(&args.scenario).map_err(|e| format!("{path}: {e}"))?;
    let options = overdue_std::replay::ReplayOptions {
        allowed_lateness: args.allowed_lateness,
        snapshot_every: args
            .snapshot_every
            .map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
        pending_firings: args
            .pending_firings
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let lines = overdue_std::replay::replay_str_with(&text, &options)
        .map_err(|e| format!("{path}: {e}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        writeln!(out, "{line}").map_err(|e| format!("writing output: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing output: {e}"))
}

fn run(args: RunArgs) -> ExitCode {
    overdue_std::run::main(overdue_std::run::RunOptions {
        triggers: args.triggers,
        events: args.events,
        allowed_lateness: args.allowed_lateness,
        state: args.state,
        capacities: {
            let mut caps = overdue_core::engine::Capacities::default();
            for (capacity, bound) in args.capacities {
                caps.set(capacity, bound);
            }
            caps
        },
        read_ahead_from: args.read_ahead_from,
    })
}

fn demo(args: &DemoArgs) -> ExitCode {
    overdue_std::demo::main(&overdue_std::demo::DemoOptions {
        runs: args.runs,
        die_percent: args.die_percent,
        speed: args.speed,
        seed: args.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
