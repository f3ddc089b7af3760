//! A simulated fleet of Prefect flow runs: a seeded plan, and the events it emits in
//! time order.
//!
//! Every run goes `Pending` → `Running` → a heartbeat 1 s later and then every 30 s →
//! `Completed` (or `Failed`). A run chosen to die stops silently at a random instant
//! after its first heartbeat: no more heartbeats, no final state. Times are offsets
//! from the start of the simulation.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use overdue_core::{Duration, EventId, Instant, OwnedEvent};

/// Seconds between heartbeats (Prefect's `PREFECT_FLOWS_HEARTBEAT_FREQUENCY`).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// A small seeded PRNG (SplitMix64): fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A duration in `[lo, hi)`, at millisecond resolution.
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span_ms = hi.saturating_sub(lo).as_micros() / 1_000;
        lo + Duration::from_millis(self.below(span_ms))
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 100.0 < percent
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> EventId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        EventId(bytes)
    }
}

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It reports `Completed`.
    Completed,
    /// It reports `Failed` (a normal end: not a zombie).
    Failed,
    /// It dies silently at this offset.
    Dies(Duration),
}

/// One simulated flow run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// `prefect.resource.id`, e.g. `prefect.flow-run.6f0b2a8e-…`.
    pub resource_id: String,
    /// `prefect.resource.name`.
    pub name: String,
    /// When it reports `Pending`.
    pub pending: Duration,
    /// When it reports `Running` (its first heartbeat follows 1 s later).
    pub running: Duration,
    /// When it would report its final state.
    pub end: Duration,
    /// How it ends.
    pub outcome: Outcome,
}

impl RunPlan {
    /// When it stops sending heartbeats: its death, or its end.
    pub fn stop(&self) -> Duration {
        match self.outcome {
            Outcome::Dies(at) => at,
            _ => self.end,
        }
    }

    /// The offset of heartbeat `k` (from 0), if the run is still beating then.
    pub fn heartbeat(&self, k: u64) -> Option<Duration> {
        let at = self.running + Duration::from_secs(1) + HEARTBEAT_EVERY.saturating_mul(k);
        (at < self.stop()).then_some(at)
    }

    /// The offset of its last heartbeat.
    pub fn last_heartbeat(&self) -> Duration {
        let first = self.running + Duration::from_secs(1);
        let beats =
            (self.stop().saturating_sub(first).as_micros() - 1) / HEARTBEAT_EVERY.as_micros();
        first + HEARTBEAT_EVERY.saturating_mul(beats)
    }

    /// Whether it dies silently.
    pub fn dies(&self) -> bool {
        matches!(self.outcome, Outcome::Dies(_))
    }
}

/// The plan of a whole simulated fleet.
#[derive(Clone, Debug)]
pub struct Fleet {
    /// Every run, by index.
    pub runs: Vec<RunPlan>,
    /// The epoch instant the offsets count from.
    pub start: Instant,
}

impl Fleet {
    /// `runs` runs starting within the first 10 minutes, each running 1–20 minutes;
    /// each dies silently with probability `die_percent` %, and 5 % of the others
    /// fail normally.
    pub fn plan(runs: usize, die_percent: f64, seed: u64, start: Instant) -> Fleet {
        let mut rng = SplitMix64::new(seed);
        let plans = (0..runs)
            .map(|i| {
                let id = rng.uuid();
                let pending = rng.between(Duration::ZERO, Duration::from_mins(10));
                let running =
                    pending + rng.between(Duration::from_secs(2), Duration::from_secs(15));
                let end = running + rng.between(Duration::from_mins(1), Duration::from_mins(20));
                let first_beat = running + Duration::from_secs(1);
                let outcome = if rng.chance(die_percent) {
                    Outcome::Dies(rng.between(first_beat + Duration::from_millis(1), end))
                } else if rng.chance(5.0) {
                    Outcome::Failed
                } else {
                    Outcome::Completed
                };
                RunPlan {
                    resource_id: format!("prefect.flow-run.{id}"),
                    name: format!("demo-run-{i:05}"),
                    pending,
                    running,
                    end,
                    outcome,
                }
            })
            .collect();
        Fleet { runs: plans, start }
    }

    /// Number of runs that die silently.
    pub fn dying(&self) -> usize {
        self.runs.iter().filter(|r| r.dies()).count()
    }

    /// The offset of the last event or death.
    pub fn horizon(&self) -> Duration {
        self.runs
            .iter()
            .map(RunPlan::stop)
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// What happens to a run at one point of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happening {
    /// The run emits this event.
    Event(OwnedEvent),
    /// The run dies (nothing is emitted).
    Death,
}

/// One step of a run's life: (offset, run, step number).
type Step = Reverse<(Duration, u32, u64)>;

/// The fleet's timeline in time order, one happening at a time.
#[derive(Debug)]
pub struct Timeline<'a> {
    fleet: &'a Fleet,
    queue: BinaryHeap<Step>,
    ids: SplitMix64,
}

impl Fleet {
    /// The fleet's events and deaths in time order; `seed` draws the event ids.
    pub fn timeline(&self, seed: u64) -> Timeline<'_> {
        let queue = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| Reverse((r.pending, i as u32, 0)))
            .collect();
        Timeline {
            fleet: self,
            queue,
            ids: SplitMix64::new(seed ^ 0x5EED_1D5E_ED1D_5EED),
        }
    }
}

/// Step numbers: 0 Pending, 1 Running, 2.. heartbeats, then the end (or death).
fn step_at(run: &RunPlan, step: u64) -> Option<(Duration, Option<&'static str>)> {
    match step {
        0 => Some((run.pending, Some("prefect.flow-run.Pending"))),
        1 => Some((run.running, Some("prefect.flow-run.Running"))),
        k => match run.heartbeat(k - 2) {
            Some(at) => Some((at, Some("prefect.flow-run.heartbeat"))),
            None if k == 2 || run.heartbeat(k - 3).is_some() => match run.outcome {
                Outcome::Completed => Some((run.end, Some("prefect.flow-run.Completed"))),
                Outcome::Failed => Some((run.end, Some("prefect.flow-run.Failed"))),
                Outcome::Dies(at) => Some((at, None)),
            },
            None => None,
        },
    }
}

impl Iterator for Timeline<'_> {
    /// (offset, run index, what happens).
    type Item = (Duration, usize, Happening);

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((at, run_idx, step)) = self.queue.pop()?;
        let run = &self.fleet.runs[run_idx as usize];
        let (_, name) = step_at(run, step).expect("queued steps exist");
        if let Some((next_at, _)) = step_at(run, step + 1) {
            self.queue.push(Reverse((next_at, run_idx, step + 1)));
        }
        let happening = match name {
            None => Happening::Death,
            Some(name) => {
                let occurred = self.fleet.start + at;
                Happening::Event(OwnedEvent {
                    id: self.ids.uuid(),
                    event: name.to_owned(),
                    occurred,
                    received: occurred,
                    resource: vec![
                        ("prefect.resource.id".to_owned(), run.resource_id.clone()),
                        ("prefect.resource.name".to_owned(), run.name.clone()),
                    ],
                    related: Vec::new(),
                    follows: None,
                })
            }
        };
        Some((at, run_idx as usize, happening))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic_and_bounded() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert!((0..1000).all(|_| a.below(10) < 10));
        // SplitMix64's published first output for seed 0
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let hits = (0..10_000).filter(|_| a.chance(10.0)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }

    #[test]
    fn timeline_is_ordered_and_matches_the_plan() {
        let fleet = Fleet::plan(50, 30.0, 1, Instant::from_secs(1_000));
        let mut last = Duration::ZERO;
        let mut beats = vec![Vec::new(); 50];
        let mut deaths = [false; 50];
        let mut finals = [0; 50];
        for (at, run, what) in fleet.timeline(1) {
            assert!(at >= last, "time order");
            last = at;
            match what {
                Happening::Death => deaths[run] = true,
                Happening::Event(e) => {
                    assert_eq!(e.occurred, fleet.start + at);
                    match e.event.as_str() {
                        "prefect.flow-run.heartbeat" => beats[run].push(at),
                        "prefect.flow-run.Completed" | "prefect.flow-run.Failed" => {
                            finals[run] += 1
                        }
                        _ => {}
                    }
                }
            }
        }
        for (i, plan) in fleet.runs.iter().enumerate() {
            assert!(!beats[i].is_empty(), "every run beats at least once");
            assert!(
                plan.running < beats[i][0],
                "Running strictly before the first heartbeat"
            );
            assert!(beats[i]
                .windows(2)
                .all(|w| w[1].saturating_sub(w[0]) == HEARTBEAT_EVERY));
            assert_eq!(*beats[i].last().unwrap(), plan.last_heartbeat());
            assert_eq!(deaths[i], plan.dies());
            assert_eq!(finals[i], usize::from(!plan.dies()));
            assert!(*beats[i].last().unwrap() < plan.stop());
        }
        assert!(fleet.dying() > 0);
    }
}
