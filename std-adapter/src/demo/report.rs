//! Keeping score in `overdue demo`: which firings were dead runs (and how long after
//! their last heartbeat), which were false positives, the live progress line and the
//! final summary.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;

use overdue_core::{Duration, Instant};

use super::fleet::Fleet;
use crate::driver::Summary;
use crate::sink::FiringRecord;

/// The truth about each run, and what the detector said about it.
#[derive(Debug)]
pub struct Tally {
    index: HashMap<String, usize>,
    death: Vec<Option<Instant>>,
    last_beat: Vec<Instant>,
    detected_at: Vec<Option<Instant>>,
    /// Dead runs detected so far.
    pub detected: usize,
    /// Firings that were not the first detection of a dead run, described.
    pub false_positives: Vec<String>,
}

impl Tally {
    /// A tally for `fleet` with nothing detected yet.
    pub fn new(fleet: &Fleet) -> Tally {
        let at = |d: Duration| fleet.start + d;
        Tally {
            index: fleet
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| (r.resource_id.clone(), i))
                .collect(),
            death: fleet
                .runs
                .iter()
                .map(|r| match r.outcome {
                    super::fleet::Outcome::Dies(d) => Some(at(d)),
                    _ => None,
                })
                .collect(),
            last_beat: fleet.runs.iter().map(|r| at(r.last_heartbeat())).collect(),
            detected_at: vec![None; fleet.runs.len()],
            detected: 0,
            false_positives: Vec::new(),
        }
    }

    /// Scores one firing: the first firing for a run that is dead by then is a
    /// detection; anything else is a false positive.
    pub fn record(&mut self, firing: &FiringRecord) {
        let id = firing.label("prefect.resource.id").unwrap_or("");
        let Some(&run) = self.index.get(id) else {
            self.false_positives
                .push(format!("unknown resource {id:?}"));
            return;
        };
        match self.death[run] {
            Some(death) if firing.at >= death && self.detected_at[run].is_none() => {
                self.detected_at[run] = Some(firing.at);
                self.detected += 1;
            }
            Some(_) if self.detected_at[run].is_some() => {
                self.false_positives.push(format!("{id} fired twice"));
            }
            Some(_) => self
                .false_positives
                .push(format!("{id} fired before it died")),
            None => self
                .false_positives
                .push(format!("{id} fired but is alive")),
        }
    }

    /// For each detected run, the time from its last heartbeat to its detection.
    pub fn delays(&self) -> Vec<Duration> {
        self.detected_at
            .iter()
            .zip(&self.last_beat)
            .filter_map(|(d, beat)| d.map(|d| d.saturating_duration_since(*beat)))
            .collect()
    }
}

/// Simulated offsets as `HH:MM:SS`.
pub struct Clock(pub Duration);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        write!(f, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Seconds with three decimals.
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_micros() / 1_000;
        write!(f, "{}.{:03} s", ms / 1_000, ms % 1_000)
    }
}

/// The fleet's state for the progress line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Runs started and not finished or dead.
    pub alive: usize,
    /// Runs that reported `Completed`.
    pub completed: usize,
    /// Runs that reported `Failed`.
    pub failed: usize,
    /// Runs that died silently.
    pub dead: usize,
}

/// The live progress line on standard error.
pub struct Progress<'a> {
    out: &'a mut dyn Write,
    tty: bool,
    last_wall: Option<std::time::Instant>,
    next_line: Duration,
}

impl<'a> Progress<'a> {
    /// Progress written to `out`: redrawn in place every 100 ms when `tty`, else one
    /// line every 5 simulated minutes.
    pub fn new(out: &'a mut dyn Write, tty: bool) -> Self {
        Progress {
            out,
            tty,
            last_wall: None,
            next_line: Duration::ZERO,
        }
    }

    /// Shows the state at simulated offset `at`, if it is time to.
    pub fn show(&mut self, at: Duration, counts: Counts, detected: usize, force: bool) {
        let due = if self.tty {
            self.last_wall
                .is_none_or(|w| w.elapsed() >= std::time::Duration::from_millis(100))
        } else {
            at >= self.next_line
        };
        if !due && !force {
            return;
        }
        self.last_wall = Some(std::time::Instant::now());
        while self.next_line <= at {
            self.next_line = self.next_line + Duration::from_mins(5);
        }
        let line = format!(
            "sim {}  alive {:>5}  completed {:>5}  failed {:>4}  dead {:>4}  zombies detected {:>4}",
            Clock(at),
            counts.alive,
            counts.completed,
            counts.failed,
            counts.dead,
            detected
        );
        let _ = if self.tty {
            write!(self.out, "\r\x1b[2K{line}")
        } else {
            writeln!(self.out, "{line}")
        };
        let _ = self.out.flush();
    }

    /// Ends the progress line.
    pub fn finish(&mut self) {
        if self.tty {
            let _ = writeln!(self.out);
        }
    }
}

/// The outcome of a demo run.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// Runs simulated.
    pub runs: usize,
    /// Runs that died silently.
    pub dead: usize,
    /// Dead runs detected.
    pub detected: usize,
    /// Firings that were not detections of dead runs.
    pub false_positives: Vec<String>,
    /// Detection delay after the last heartbeat, per detected run (simulated time).
    pub delays: Vec<Duration>,
    /// Simulated time covered.
    pub simulated: Duration,
    /// Wall time taken.
    pub wall: std::time::Duration,
    /// Simulated seconds per wall second asked for (0: as fast as possible).
    pub speed: f64,
    /// The driver's summary.
    pub summary: Summary,
}

impl DemoReport {
    /// Every dead run was detected and nothing else fired.
    pub fn ok(&self) -> bool {
        self.detected == self.dead && self.false_positives.is_empty()
    }

    /// Writes the summary.
    pub fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "Summary")?;
        writeln!(
            out,
            "  flow runs                {} ({} died silently, {} ended normally)",
            self.runs,
            self.dead,
            self.runs - self.dead
        )?;
        writeln!(
            out,
            "  dead runs detected       {} / {}",
            self.detected, self.dead
        )?;
        writeln!(
            out,
            "  false positives          {}",
            self.false_positives.len()
        )?;
        for fp in self.false_positives.iter().take(5) {
            writeln!(out, "    {fp}")?;
        }
        let mut delays = self.delays.clone();
        delays.sort();
        if let (Some(min), Some(max)) = (delays.first(), delays.last()) {
            writeln!(
                out,
                "  detection delay          min {}, median {}, max {} after the last heartbeat (simulated)",
                Secs(*min),
                Secs(delays[delays.len() / 2]),
                Secs(*max)
            )?;
        }
        let wall = self.wall.as_secs_f64();
        let pace = if self.speed > 0.0 {
            format!("speed {}x", self.speed)
        } else {
            "as fast as possible".to_owned()
        };
        writeln!(
            out,
            "  simulated time           {} in {wall:.2} s wall ({pace})",
            Clock(self.simulated)
        )?;
        let rate = self.summary.events as f64 / wall.max(1e-9);
        writeln!(
            out,
            "  events processed         {} ({rate:.0} events/s wall{})",
            self.summary.events,
            if self.speed > 0.0 {
                "; paced by --speed, use --speed 0 for full speed"
            } else {
                ""
            }
        )?;
        writeln!(out, "  firings                  {}", self.summary.firings)?;
        if self.ok() {
            writeln!(
                out,
                "OK: every dead run was detected and nothing else fired"
            )
        } else {
            writeln!(
                out,
                "FAILED: {} dead run(s) missed, {} false positive(s)",
                self.dead - self.detected.min(self.dead),
                self.false_positives.len()
            )
        }
    }
}
