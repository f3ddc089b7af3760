//! `overdue demo`: a simulated fleet of flow runs, some of which die silently, watched
//! by Prefect's "Crash zombie flows" automation through the real [driver](crate::driver).
//!
//! The simulation runs on a paused tokio clock: time jumps straight to the next event
//! or deadline, so the simulated fleet and the driver see exactly the same (virtual)
//! time and the outcome depends only on the seed. `--speed X` paces it to X simulated
//! seconds per wall second, by blocking between events; 0 runs it as fast as the
//! machine allows. The driver is the one [`Driver::run`] that `overdue run` uses: the
//! simulator sends events into its input channel and a closure sink scores each
//! firing against the fleet's plan.

mod fleet;
mod report;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use overdue_core::{Duration, Instant, OwnedEvent};
use tokio::sync::mpsc;

pub use fleet::{Fleet, Happening, Outcome, RunPlan, SplitMix64, HEARTBEAT_EVERY};
pub use report::{Counts, DemoReport, Tally};

use crate::driver::{Driver, DriverConfig, ReceiverStream, Timebase};
use crate::json::load_automations;
use crate::sink::fn_sink;
use report::Progress;

/// Prefect's "Crash zombie flows" automation, as the demo loads it.
pub const ZOMBIE_AUTOMATION: &str = r#"{
  "name": "Crash zombie flows",
  "trigger": {
    "type": "event",
    "match": {"prefect.resource.id": ["prefect.flow-run.*"]},
    "after": ["prefect.flow-run.heartbeat"],
    "expect": ["prefect.flow-run.*"],
    "for_each": ["prefect.resource.id"],
    "posture": "Proactive",
    "threshold": 1,
    "within": 90
  },
  "actions": [
    {
      "type": "change-flow-run-state",
      "state": "CRASHED",
      "message": "Flow run marked as crashed due to missing heartbeats."
    }
  ]
}"#;

/// Simulated seconds per wall second by default (about 5 s of wall time for the
/// default fleet).
pub const DEFAULT_SPEED: f64 = 400.0;

/// The simulated clock starts at 2026-01-01T00:00:00Z.
const START: Instant = Instant::from_secs(1_767_225_600);

/// How the demo fleet is made and run.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// Number of flow runs.
    pub runs: usize,
    /// Percentage of runs that die silently.
    pub die_percent: f64,
    /// Simulated seconds per wall second (0: as fast as possible).
    pub speed: f64,
    /// Seed of the simulation.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            runs: 2_000,
            die_percent: 10.0,
            speed: DEFAULT_SPEED,
            seed: 42,
        }
    }
}

/// Blocks the simulation so that it runs at `speed` simulated seconds per wall second.
struct Pacer {
    speed: f64,
    wall_start: std::time::Instant,
}

impl Pacer {
    fn wait_for(&self, offset: Duration) {
        if self.speed <= 0.0 {
            return;
        }
        let target = self.wall_start
            + std::time::Duration::from_secs_f64(offset.as_micros() as f64 / 1e6 / self.speed);
        let now = std::time::Instant::now();
        if target > now + std::time::Duration::from_millis(1) {
            std::thread::sleep(target - now);
        }
    }
}

/// Runs the demo and returns its report; progress goes to `progress` (redrawn in
/// place when `tty`).
pub fn simulate(
    options: &DemoOptions,
    progress: &mut dyn Write,
    tty: bool,
) -> std::io::Result<DemoReport> {
    let automation = load_automations(ZOMBIE_AUTOMATION)
        .ok()
        .and_then(|mut r| r.automations.pop())
        .expect("the demo automation is valid");
    let fleet = Fleet::plan(options.runs, options.die_percent, options.seed, START);
    let tally = Arc::new(Mutex::new(Tally::new(&fleet)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    let wall_start = std::time::Instant::now();
    let (summary, simulated) = runtime.block_on(async {
        let timebase = Timebase::starting_at(START);
        let mut driver = Driver::new(DriverConfig {
            timebase: Some(timebase),
            ..DriverConfig::default()
        });
        driver
            .add_automation(&automation)
            .expect("the demo automation loads");
        let (tx, rx) = mpsc::channel(256);
        let scores = Arc::clone(&tally);
        let sink = fn_sink(move |firing| {
            scores.lock().expect("tally lock").record(&firing);
            Ok(())
        });
        let pacer = Pacer {
            speed: options.speed,
            wall_start,
        };
        let mut progress = Progress::new(progress, tty);
        let feed = feed(
            &fleet,
            options.seed,
            timebase,
            tx,
            &pacer,
            &mut progress,
            &tally,
        );
        let (summary, simulated) = tokio::join!(
            driver.run(ReceiverStream::new(rx), sink, std::future::pending()),
            feed
        );
        progress.finish();
        (summary, simulated)
    });
    let summary = summary.expect("the demo sink never fails");
    let tally = tally.lock().expect("tally lock");
    Ok(DemoReport {
        runs: fleet.runs.len(),
        dead: fleet.dying(),
        detected: tally.detected,
        false_positives: tally.false_positives.clone(),
        delays: tally.delays(),
        simulated,
        wall: wall_start.elapsed(),
        speed: options.speed,
        summary,
    })
}

/// Plays the fleet's timeline into the driver's input on the (paused) tokio clock,
/// then waits until every dead run's deadline has passed and closes the input.
/// Returns the simulated time covered.
async fn feed(
    fleet: &Fleet,
    seed: u64,
    timebase: Timebase,
    tx: mpsc::Sender<OwnedEvent>,
    pacer: &Pacer,
    progress: &mut Progress<'_>,
    tally: &Mutex<Tally>,
) -> Duration {
    let detected = || tally.lock().map_or(0, |t| t.detected);
    let mut counts = Counts::default();
    let mut now = Duration::ZERO;
    let sleep_to = |at: Duration| {
        let deadline = timebase.to_tokio(fleet.start + at);
        async move {
            if deadline > tokio::time::Instant::now() {
                tokio::time::sleep_until(deadline).await;
            }
        }
    };
    for (at, _run, happening) in fleet.timeline(seed) {
        if at > now {
            pacer.wait_for(at);
            sleep_to(at).await;
            now = at;
        }
        match happening {
            Happening::Death => {
                counts.alive -= 1;
                counts.dead += 1;
            }
            Happening::Event(event) => {
                match event.event.as_str() {
                    "prefect.flow-run.Pending" => counts.alive += 1,
                    "prefect.flow-run.Completed" => {
                        counts.alive -= 1;
                        counts.completed += 1;
                    }
                    "prefect.flow-run.Failed" => {
                        counts.alive -= 1;
                        counts.failed += 1;
                    }
                    _ => {}
                }
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        }
        progress.show(now, counts, detected(), false);
    }
    // Every window opened by a last heartbeat ends within 90 s of it.
    let end = fleet.horizon() + Duration::from_secs(100);
    while now < end {
        now = (now + Duration::from_secs(5)).min(end);
        pacer.wait_for(now);
        sleep_to(now).await;
        progress.show(now, counts, detected(), false);
    }
    progress.show(now, counts, detected(), true);
    drop(tx);
    now
}

/// Runs `overdue demo`: prints the automation, the live progress and the summary;
/// exit code 0 only if every dead run was detected and nothing else fired.
pub fn main(options: &DemoOptions) -> ExitCode {
    if !(0.0..=100.0).contains(&options.die_percent) {
        eprintln!("overdue: --die-percent must be between 0 and 100");
        return ExitCode::from(2);
    }
    if !options.speed.is_finite() || options.speed < 0.0 {
        eprintln!("overdue: --speed must be 0 (as fast as possible) or a positive number");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "overdue demo: the automation watching the fleet (Prefect JSON, ready to copy):\n"
    );
    let _ = writeln!(out, "{ZOMBIE_AUTOMATION}\n");
    let _ = writeln!(
        out,
        "Simulating {} flow runs (seed {}): heartbeats every 30 s, {}% die silently mid-run.\n",
        options.runs, options.seed, options.die_percent
    );
    let _ = out.flush();
    let stderr = std::io::stderr();
    let tty = stderr.is_terminal();
    let report = match simulate(options, &mut stderr.lock(), tty) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("overdue: cannot run the demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = writeln!(out);
    let _ = report.print(&mut out);
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_fleet_every_zombie_detected_at_90s() {
        let options = DemoOptions {
            runs: 120,
            die_percent: 25.0,
            speed: 0.0,
            seed: 7,
        };
        let mut progress = Vec::new();
        let report = simulate(&options, &mut progress, false).unwrap();
        assert!(report.dead > 10, "{report:?}");
        assert!(report.ok(), "{report:?}");
        assert!(
            report.delays.iter().all(|d| *d == Duration::from_secs(90)),
            "{:?}",
            report.delays
        );
        assert_eq!(report.summary.firings as usize, report.dead);
        let progress = String::from_utf8(progress).unwrap();
        assert!(progress.lines().count() >= 3, "{progress}");
        assert!(
            progress.contains(&format!("zombies detected {:>4}", report.dead)),
            "{progress}"
        );
    }
}
