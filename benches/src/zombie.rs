//! The simulated fleet of `engine_zombie_1m` (shared by the criterion bench and the
//! `zombie_instructions` example): Prefect's "crash zombie flows" automation over flow
//! runs heartbeating every 30 s, 1% going silent after two heartbeats, ticks every
//! second.

use overdue_core::engine::{Capacities, Engine, EngineConfig, TriggerId};
use overdue_core::event::{Labels, Related, RESOURCE_ID};
use overdue_core::trigger::Trigger;
use overdue_core::{Event, EventId, Instant};

const ZOMBIE: &str = r#"{"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
  "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
  "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90}"#;

const EPOCH_2026: u64 = 1_767_225_600;
const PERIOD_US: u64 = 30_000_000;
const TICK_US: u64 = 1_000_000;

/// Bytes in a run's resource id (`prefect.flow-run.` and a UUID).
pub const ID_LEN: usize = 53;

/// Run `run`'s resource id, `prefect.flow-run.{run:08x}-0000-4000-8000-{run:012x}`,
/// written into `id` (whose other bytes must already be those of [`Fleet::id_template`]:
/// only the two hexadecimal fields change).
///
/// The ids are written afresh for each heartbeat, as a decoder hands over an event it
/// has just read, rather than read from a million strings built up front: those
/// strings are two streams of memory of the bench's own (24 B of `String` and 64 B of
/// heap per heartbeat) that compete with the engine's for the hardware prefetchers,
/// and they moved the measured time by up to 25% with changes to the engine that
/// touch none of it (benches/README.md, seventeenth session).
pub fn write_id(run: u32, id: &mut [u8; ID_LEN]) {
    let hex = hex8(run);
    id[17..25].copy_from_slice(&hex);
    id[45..53].copy_from_slice(&hex);
}

/// `v` as eight lower-case hexadecimal digits, most significant first (each nibble
/// spread into a byte of its own, then offset to `'0'` or `'a'`).
fn hex8(v: u32) -> [u8; 8] {
    let mut x = u64::from(v);
    x = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    x = ((x & 0x0000_ff00_0000_ff00) << 8) | (x & 0x0000_00ff_0000_00ff);
    x = ((x & 0x00f0_00f0_00f0_00f0) << 4) | (x & 0x000f_000f_000f_000f);
    // 1 in each byte whose nibble is 10 or more
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)).to_be_bytes()
}

/// The simulated fleet: run `i` heartbeats at `phase(i) + 30 s * round`; runs with
/// `i % 100 == 0` stop after round 1.
pub struct Fleet {
    runs: u64,
    /// next (round, run) to emit
    round: u64,
    run: u64,
    next_tick: u64,
    seq: u64,
    /// The resource id of the heartbeat being handed in.
    id: [u8; ID_LEN],
    /// Runs found dead so far (for the engine: the firings drained).
    pub fired: u64,
}

impl Fleet {
    /// A fleet of `runs` flow runs (2 to 2^32), before their first heartbeat.
    pub fn new(runs: u64) -> Fleet {
        assert!(runs <= 1 << 32, "run numbers are 8 hexadecimal digits");
        // (run 0 goes silent: a fleet of it alone has no heartbeat after round 1)
        assert!(runs >= 2, "a fleet needs a run that does not go silent");
        Fleet {
            runs,
            round: 0,
            run: 0,
            next_tick: EPOCH_2026 * 1_000_000 + TICK_US,
            seq: 0,
            id: Self::id_template(),
            fired: 0,
        }
    }

    /// Run 0's resource id: every run's but for the two hexadecimal fields.
    pub fn id_template() -> [u8; ID_LEN] {
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(b"prefect.flow-run.00000000-0000-4000-8000-000000000000");
        id
    }

    fn silent(&self, run: u64) -> bool {
        run.is_multiple_of(100)
    }

    /// Feeds the next heartbeat (and any ticks before it) into `monitor`.
    pub fn step<M: Monitor>(&mut self, monitor: &mut M) {
        let (t, run, seq) = self.next_heartbeat();
        self.tick_until(monitor, t);
        write_id(run as u32, &mut self.id);
        let id = std::str::from_utf8(&self.id).expect("ASCII id");
        let resource = [(RESOURCE_ID, id)];
        monitor.heartbeat(&heartbeat(seq, t, &resource), Instant::from_micros(t));
    }

    /// The next heartbeat: its instant (µs), its run and its sequence number.
    fn next_heartbeat(&mut self) -> (u64, u64, u64) {
        loop {
            let (round, run) = (self.round, self.run);
            self.run += 1;
            if self.run == self.runs {
                self.run = 0;
                self.round += 1;
            }
            if round >= 2 && self.silent(run) {
                continue;
            }
            self.seq += 1;
            return (self.at(round, run), run, self.seq);
        }
    }

    /// When run `run` heartbeats in round `round` (µs).
    fn at(&self, round: u64, run: u64) -> u64 {
        EPOCH_2026 * 1_000_000 + round * PERIOD_US + run * PERIOD_US / self.runs
    }

    /// Every tick up to `t`, counting the runs found dead at each.
    fn tick_until<M: Monitor>(&mut self, monitor: &mut M, t: u64) {
        while self.next_tick <= t {
            self.fired += monitor.tick(Instant::from_micros(self.next_tick));
            self.next_tick += TICK_US;
        }
    }
}

/// What the fleet hands its heartbeats and ticks to: the engine, or one of the
/// [`baseline`](crate::baseline)s doing (part of) the same job with std collections.
pub trait Monitor {
    /// One heartbeat, handed in at wall-clock `now`.
    fn heartbeat(&mut self, event: &Event<'_>, now: Instant);
    /// A tick at `now`; returns how many runs were found dead.
    fn tick(&mut self, now: Instant) -> u64;
    /// How many runs are being watched.
    fn tracked(&self) -> usize;
}

impl Monitor for Engine {
    fn heartbeat(&mut self, event: &Event<'_>, now: Instant) {
        self.handle_event(event, now).expect("valid event");
    }

    fn tick(&mut self, now: Instant) -> u64 {
        self.handle_timeout(now);
        let mut fired = 0;
        while self.poll_action().is_some() {
            fired += 1;
        }
        fired
    }

    fn tracked(&self) -> usize {
        self.tracked_keys()
    }
}

/// Heartbeat number `seq` at `t` µs from the run whose resource this is.
pub fn heartbeat<'a>(seq: u64, t: u64, resource: &'a [(&'a str, &'a str); 1]) -> Event<'a> {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seq.to_be_bytes());
    Event {
        id: EventId(id),
        event: "prefect.flow-run.heartbeat",
        occurred: Instant::from_micros(t),
        received: Instant::from_micros(t),
        resource: Labels::Pairs(resource),
        related: Related::EMPTY,
        follows: None,
    }
}

/// Heartbeats handed in per `Engine::prefetch` batch by `overdue_prefetch`.
pub const BATCH: usize = 32;

impl Fleet {
    /// The next `BATCH` heartbeats: read ahead with `Engine::prefetch`, then handed in
    /// one by one, each after the ticks before it (what `step` does `BATCH` times).
    pub fn step_batch(&mut self, engine: &mut Engine) {
        let plan: [(u64, u64, u64); BATCH] = std::array::from_fn(|_| self.next_heartbeat());
        let mut ids = [Self::id_template(); BATCH];
        for (id, &(_, run, _)) in ids.iter_mut().zip(&plan) {
            write_id(run as u32, id);
        }
        let resources = ids
            .each_ref()
            .map(|id| [(RESOURCE_ID, std::str::from_utf8(id).expect("ASCII id"))]);
        let events: [Event<'_>; BATCH] =
            std::array::from_fn(|i| heartbeat(plan[i].2, plan[i].0, &resources[i]));
        engine.prefetch(&events);
        for (event, &(t, _, _)) in events.iter().zip(&plan) {
            self.tick_until(engine, t);
            engine.heartbeat(event, Instant::from_micros(t));
        }
    }
}

/// The engine of the bench: the default configuration (or every capacity bounded
/// with `OVERDUE_BENCH_BOUNDED=1`) and the zombie trigger.
pub fn zombie_engine() -> Engine {
    let mut config = EngineConfig::default();
    // OVERDUE_BENCH_BOUNDED=1: the same run with every capacity bounded (generously,
    // so nothing is refused), to measure the cost of the admission checks
    if std::env::var_os("OVERDUE_BENCH_BOUNDED").is_some_and(|v| v == "1") {
        config.capacities = Capacities {
            trigger_nodes: 16,
            keys: 4_000_000,
            key_bytes: 256,
            held_events: 4_000_000,
            waiting_followers: 1_000,
            buffered_events: 1_000,
            event_bytes: 4_096,
            pending_firings: 100_000,
            trigger_bytes: 1_024,
            firing_bytes: 4_096,
        };
    }
    let mut engine = Engine::new(config);
    let trigger: Trigger = serde_json::from_str(ZOMBIE).expect("zombie trigger");
    engine
        .add_trigger(TriggerId(1), trigger)
        .expect("valid trigger");
    engine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_formatted_uuids() {
        let mut id = Fleet::id_template();
        for run in [
            0u32,
            1,
            9,
            10,
            15,
            16,
            0xabcdef,
            999_999,
            0x8000_0000,
            u32::MAX,
        ] {
            write_id(run, &mut id);
            let want = format!("prefect.flow-run.{run:08x}-0000-4000-8000-{run:012x}");
            assert_eq!(std::str::from_utf8(&id).unwrap(), want);
        }
    }
}
