//! The driver's state file on a paused clock: a graceful stop and a restart from its
//! checkpoint neither lose nor repeat a firing; a zombie whose heartbeat came before
//! the restart fires after it; a corrupt file is reported, set aside and replaced; a
//! changed trigger loses its state and is reported; periodic checkpoints are written
//! only when something happened.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use overdue_core::engine::{Engine, EngineConfig, FiringKind, RestoreError, TriggerId};
use overdue_core::{Duration, EventId, Instant, OwnedEvent};
use overdue_std::driver::{
    Driver, DriverConfig, ReceiverStream, RunFailure, StateLoad, StateNotice, Summary, Timebase,
};
use overdue_std::json::load_automations;
use overdue_std::sink::{fn_sink, FiringRecord};
use tokio::sync::mpsc;

mod common;
use common::{event, event_id, run_id, EPOCH, FAILED, ZOMBIE};

/// A scratch directory for state files; removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("overdue-checkpoint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn state(&self) -> PathBuf {
        self.0.join("state.bin")
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Notices = Arc<Mutex<Vec<String>>>;

fn driver_with(automations: &[&str], tb: Timebase, state: Option<&Path>) -> (Driver, Notices) {
    let notices: Notices = Arc::default();
    let seen = Arc::clone(&notices);
    let mut driver = Driver::new(DriverConfig {
        timebase: Some(tb),
        state_path: state.map(Path::to_path_buf),
        on_state: Some(Arc::new(move |notice: &StateNotice<'_>| {
            let text = match notice {
                StateNotice::Loaded { load, .. } => format!("loaded: {load}"),
                StateNotice::Written { bytes, .. } => format!("written: {bytes}"),
                StateNotice::WriteFailed(e) => format!("failed: {e}"),
            };
            seen.lock().unwrap().push(text);
        })),
        ..DriverConfig::default()
    });
    for text in automations {
        let report = load_automations(text).expect("test automation is JSON");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        for a in &report.automations {
            driver.add_automation(a).expect("test automation loads");
        }
    }
    (driver, notices)
}

fn ms(ms: u64) -> StdDuration {
    StdDuration::from_millis(ms)
}

/// `(milliseconds after the base, event)`.
type Schedule = Vec<(u64, OwnedEvent)>;

/// A fleet: run `r` starts at `7r` s and beats every 30 s; odd runs die, even runs
/// complete, every third run reports a failure first.
fn fleet(runs: usize) -> Schedule {
    let mut schedule = Vec::new();
    let mut n = 0;
    let mut push = |t: u64, name: &str, run: usize| {
        n += 1;
        schedule.push((
            t * 1_000,
            event(n, name, run, EPOCH + Duration::from_secs(t)),
        ));
    };
    for run in 0..runs {
        let start = 7 * run as u64;
        let beats = run as u64 % 5 + 1;
        for b in 0..beats {
            push(start + 30 * b, "prefect.flow-run.heartbeat", run);
        }
        let last = start + 30 * (beats - 1);
        if run % 3 == 0 {
            push(last + 5, "prefect.flow-run.Failed", run);
        }
        if run % 2 == 0 {
            push(last + 10, "prefect.flow-run.Completed", run);
        }
    }
    schedule.sort_by_key(|(t, e)| (*t, e.id));
    schedule
}

/// One driver run: `schedule` is sent at its instants (input open until `close_at`
/// ms); the run stops at `stop_at` ms if given. Returns the summary and the firings.
async fn run_phase(
    driver: Driver,
    tb: Timebase,
    schedule: Schedule,
    close_at: u64,
    stop_at: Option<u64>,
) -> (Summary, Vec<FiringRecord>) {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        for (t, ev) in schedule {
            tokio::time::sleep_until(tb.tokio_base() + ms(t)).await;
            if tx.send(ev).await.is_err() {
                return;
            }
        }
        tokio::time::sleep_until(tb.tokio_base() + ms(close_at)).await;
    });
    let seen: Arc<Mutex<Vec<FiringRecord>>> = Arc::default();
    let s = Arc::clone(&seen);
    let sink = fn_sink(move |record| {
        s.lock().unwrap().push(record);
        Ok(())
    });
    let shutdown = async move {
        match stop_at {
            Some(t) => tokio::time::sleep_until(tb.tokio_base() + ms(t)).await,
            None => std::future::pending().await,
        }
    };
    let summary = driver
        .run(ReceiverStream::new(rx), sink, shutdown)
        .await
        .expect("the run succeeds");
    let firings = seen.lock().unwrap().clone();
    (summary, firings)
}

/// A firing as a sortable key: (at, trigger, labels, event, kind).
type Key = (Instant, u32, Vec<(String, String)>, Option<EventId>, bool);

fn keys(firings: &[FiringRecord]) -> Vec<Key> {
    let mut keys: Vec<Key> = firings
        .iter()
        .map(|f| {
            let proactive = f.kind == FiringKind::Proactive;
            (f.at, f.trigger_id.0, f.labels.clone(), f.event, proactive)
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test(start_paused = true)]
async fn a_restart_from_a_graceful_stop_neither_loses_nor_repeats_firings() {
    const CLOSE: u64 = 1_000_000;
    let both = [ZOMBIE, FAILED];

    let tb = Timebase::starting_at(EPOCH);
    let (driver, _) = driver_with(&both, tb, None);
    let (_, uninterrupted) = run_phase(driver, tb, fleet(12), CLOSE, None).await;
    let expected = keys(&uninterrupted);
    // zombies: the odd runs that did not report a failure (1, 5, 7, 11); failures:
    // every third run (0, 3, 6, 9)
    let proactive = expected.iter().filter(|k| k.4).count();
    assert_eq!(
        (proactive, expected.len() - proactive),
        (4, 4),
        "{expected:?}"
    );

    let sent_at: Vec<(EventId, u64)> = fleet(12).iter().map(|(t, e)| (e.id, *t)).collect();
    let mut straddled = 0;
    // 127 s: exactly when run 1's zombie is due (the stop's last tick judges it)
    for stop in [45_500, 100_500, 127_000, 160_500, 230_500] {
        let dir = Scratch::new(&format!("restart-{stop}"));
        let state = dir.state();
        let tb = Timebase::starting_at(EPOCH);
        let (before, after): (Schedule, Schedule) =
            fleet(12).into_iter().partition(|(t, _)| *t < stop);

        let (driver, _) = driver_with(&both, tb, Some(&state));
        let (first, fired_before) = run_phase(driver, tb, before, CLOSE, Some(stop)).await;
        assert_eq!(first.state, Some(StateLoad::Fresh));
        assert!(first.checkpoints >= 1, "the stop wrote a checkpoint");
        assert_eq!(first.checkpoint_failures, 0);
        assert!(state.exists());

        let (driver, notices) = driver_with(&both, tb, Some(&state));
        let (second, fired_after) = run_phase(driver, tb, after, CLOSE, None).await;
        let Some(StateLoad::Restored(report)) = &second.state else {
            panic!("restored from the checkpoint: {:?}", second.state);
        };
        assert_eq!(report.kept, [TriggerId(0), TriggerId(1)]);
        assert!(report.changed.is_empty() && report.removed.is_empty() && report.added.is_empty());
        assert!(
            notices.lock().unwrap()[0].starts_with("loaded: restored: 2 trigger(s)"),
            "{notices:?}"
        );

        let mut union = fired_before.clone();
        union.extend(fired_after.iter().cloned());
        assert_eq!(keys(&union), expected, "stop at {stop} ms");
        assert!(fired_before
            .iter()
            .all(|f| f.at <= EPOCH + Duration::from_millis(stop)));
        // a zombie whose last heartbeat came before the stop fired after the restart
        straddled += fired_after
            .iter()
            .filter(|f| {
                let sent = sent_at.iter().find(|(id, _)| Some(*id) == f.event);
                f.kind == FiringKind::Proactive && sent.is_some_and(|(_, t)| *t < stop)
            })
            .count();
    }
    assert!(straddled > 0, "some deadline was pending across a restart");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_that_passed_while_stopped_fires_at_the_restart_once() {
    let dir = Scratch::new("downtime");
    let state = dir.state();
    let tb = Timebase::starting_at(EPOCH);
    let beat = vec![(0, event(1, "prefect.flow-run.heartbeat", 1, EPOCH))];
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (_, before) = run_phase(driver, tb, beat, 1_000_000, Some(50_000)).await;
    assert!(before.is_empty());

    // down from 50 s to 120 s: the deadline (90 s) passes while no driver runs
    tokio::time::sleep_until(tb.tokio_base() + ms(120_000)).await;
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (summary, after) = run_phase(driver, tb, Vec::new(), 400_000, None).await;
    assert_eq!(summary.firings, 1, "{after:?}");
    assert_eq!(after[0].event, Some(event_id(1)));
    assert_eq!(
        after[0].at,
        EPOCH + Duration::from_secs(120),
        "fired at once"
    );
    assert_eq!(
        after[0].label("prefect.resource.id"),
        Some(run_id(1).as_str())
    );

    // and the next restart has nothing left to fire
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (summary, _) = run_phase(driver, tb, Vec::new(), 800_000, None).await;
    assert_eq!(summary.firings, 0);
}

#[tokio::test(start_paused = true)]
async fn a_corrupt_state_file_is_reported_set_aside_and_the_run_starts_clean() {
    let dir = Scratch::new("corrupt");
    let state = dir.state();
    std::fs::write(&state, b"this is not a checkpoint").unwrap();

    let tb = Timebase::starting_at(EPOCH);
    let beat = vec![(0, event(1, "prefect.flow-run.heartbeat", 1, EPOCH))];
    let (driver, notices) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (summary, fired) = run_phase(driver, tb, beat.clone(), 200_000, None).await;
    let Some(StateLoad::SetAside { error, moved_to }) = &summary.state else {
        panic!("set aside: {:?}", summary.state);
    };
    assert!(
        matches!(error, RestoreError::BadMagic | RestoreError::Truncated),
        "{error:?}"
    );
    assert_eq!(
        std::fs::read(moved_to).unwrap(),
        b"this is not a checkpoint"
    );
    let aside = moved_to.file_name().unwrap().to_str().unwrap();
    assert!(aside.starts_with("state.bin.corrupt-"), "{aside}");
    let notices = notices.lock().unwrap().clone();
    assert!(notices[0].starts_with("loaded: unusable ("), "{notices:?}");
    assert!(notices[0].contains("set aside as"), "{notices:?}");
    assert!(
        summary.to_string().contains("state file: unusable"),
        "{summary}"
    );
    // started clean and ran normally; the stop wrote a fresh state file
    assert_eq!(fired.len(), 1);
    assert_eq!(dir.names(), ["state.bin".to_owned(), aside.to_owned()]);
    let bytes = std::fs::read(&state).unwrap();
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (summary, _) = run_phase(driver, tb, Vec::new(), 300_000, None).await;
    assert!(matches!(summary.state, Some(StateLoad::Restored(_))));

    // a checkpoint cut short (as by a crash mid-write without the rename) is unusable too
    std::fs::write(&state, &bytes[..bytes.len() / 2]).unwrap();
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&state));
    let (summary, _) = run_phase(driver, tb, Vec::new(), 400_000, None).await;
    assert!(
        matches!(summary.state, Some(StateLoad::SetAside { .. })),
        "{:?}",
        summary.state
    );
    assert_eq!(dir.names().len(), 3, "both unusable files are kept");
}

#[tokio::test(start_paused = true)]
async fn a_changed_trigger_loses_its_state_and_the_change_is_reported() {
    let changed_zombie = ZOMBIE.replace("\"within\": 90", "\"within\": 120");
    let beats = |n: u64| vec![(0, event(n, "prefect.flow-run.heartbeat", 1, EPOCH))];

    // the reference: unchanged, the zombie fires at 90 s after a restart at 10 s
    let dir = Scratch::new("unchanged");
    let tb = Timebase::starting_at(EPOCH);
    let (driver, _) = driver_with(&[ZOMBIE, FAILED], tb, Some(&dir.state()));
    run_phase(driver, tb, beats(1), 1_000_000, Some(10_000)).await;
    let (driver, _) = driver_with(&[ZOMBIE, FAILED], tb, Some(&dir.state()));
    let (_, fired) = run_phase(driver, tb, Vec::new(), 500_000, None).await;
    assert_eq!(keys(&fired).len(), 1);
    assert_eq!(fired[0].at, EPOCH + Duration::from_secs(90));

    // changed: its state is dropped (no firing), the other trigger keeps its state
    let dir = Scratch::new("changed");
    let tb = Timebase::starting_at(EPOCH);
    let (driver, _) = driver_with(&[ZOMBIE, FAILED], tb, Some(&dir.state()));
    run_phase(driver, tb, beats(1), 1_000_000, Some(10_000)).await;
    let (driver, notices) = driver_with(&[&changed_zombie, FAILED], tb, Some(&dir.state()));
    let (summary, fired) = run_phase(driver, tb, Vec::new(), 500_000, None).await;
    let Some(StateLoad::Restored(report)) = &summary.state else {
        panic!("restored: {:?}", summary.state);
    };
    assert_eq!(report.changed, [TriggerId(0)]);
    assert_eq!(report.kept, [TriggerId(1)]);
    assert!(
        fired.is_empty(),
        "the changed trigger forgot the heartbeat: {fired:?}"
    );
    let notices = notices.lock().unwrap().clone();
    assert!(
        notices[0].contains("1 trigger(s) kept their state, changed (state dropped) [0]"),
        "{notices:?}"
    );
    assert!(
        summary.to_string().contains("changed (state dropped) [0]"),
        "{summary}"
    );

    // removed and added triggers are reported too
    let (driver, _) = driver_with(&[&changed_zombie], tb, Some(&dir.state()));
    let (summary, _) = run_phase(driver, tb, Vec::new(), 600_000, None).await;
    let Some(StateLoad::Restored(report)) = &summary.state else {
        panic!("restored: {:?}", summary.state);
    };
    assert_eq!(
        (report.kept.as_slice(), report.removed.as_slice()),
        (&[TriggerId(0)][..], &[TriggerId(1)][..])
    );
    let (driver, _) = driver_with(&[&changed_zombie, FAILED], tb, Some(&dir.state()));
    let (summary, _) = run_phase(driver, tb, Vec::new(), 700_000, None).await;
    let Some(StateLoad::Restored(report)) = &summary.state else {
        panic!("restored: {:?}", summary.state);
    };
    assert_eq!(report.added, [TriggerId(1)]);
}

#[tokio::test(start_paused = true)]
async fn periodic_checkpoints_are_written_only_when_something_happened() {
    let dir = Scratch::new("periodic");
    let state = dir.state();
    let tb = Timebase::starting_at(EPOCH);
    let beat = vec![(0, event(1, "prefect.flow-run.heartbeat", 1, EPOCH))];
    let (driver, notices) = driver_with(&[ZOMBIE], tb, Some(&state));
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(tb.tokio_base() + ms(35_000)).await;
            let at_35s = std::fs::read(&state).ok();
            tokio::time::sleep_until(tb.tokio_base() + ms(999_000)).await;
            (at_35s, std::fs::read(&state).ok())
        })
    };
    let (summary, fired) = run_phase(driver, tb, beat, 2_000_000, Some(1_000_000)).await;
    let (at_35s, at_999s) = watcher.await.unwrap();
    assert_eq!(fired.len(), 1);

    // written at 30 s (the heartbeat came), while the run went on
    let at_35s = at_35s.expect("a checkpoint exists after 30 s");
    let restored = Engine::restore(EngineConfig::default(), zombie_trigger(), &at_35s);
    let (engine, report) = restored.expect("the periodic checkpoint restores");
    assert_eq!(report.kept, [TriggerId(0)]);
    assert!(engine.tracked_keys() > 0, "it holds the pending window");
    assert!(at_999s.is_some());

    // ~33 ticks in 1000 s, but the engine was idle after the zombie fired at 90 s
    let written = notices
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.starts_with("written: "))
        .count();
    assert_eq!(summary.checkpoints as usize, written);
    assert!(
        (2..=5).contains(&written),
        "periodic while busy, then only the final one: {written}"
    );
    assert_eq!(summary.checkpoint_failures, 0);
}

/// A sink that takes `delay` of (tokio) time per firing.
struct SlowSink {
    delay: StdDuration,
    got: Arc<Mutex<Vec<FiringRecord>>>,
}

impl overdue_std::sink::ActionSink for SlowSink {
    fn deliver(&mut self, firing: FiringRecord) -> overdue_std::sink::SinkFuture<'_> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.got.lock().unwrap().push(firing);
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn no_checkpoint_is_written_while_a_firing_is_undelivered() {
    let dir = Scratch::new("undelivered");
    let state = dir.state();
    let tb = Timebase::starting_at(EPOCH);
    let (driver, _) = driver_with(&[FAILED], tb, Some(&state));
    let (tx, rx) = mpsc::channel(4);
    // fires at once; the sink needs 100 s to take it
    tx.send(event(1, "prefect.flow-run.Failed", 1, EPOCH))
        .await
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = SlowSink {
        delay: ms(100_000),
        got: Arc::clone(&got),
    };
    let watcher = {
        let (state, got) = (state.clone(), Arc::clone(&got));
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for t in [35_000, 99_000, 101_000] {
                tokio::time::sleep_until(tb.tokio_base() + ms(t)).await;
                seen.push((t, state.exists(), got.lock().unwrap().len()));
            }
            seen
        })
    };
    let summary = driver
        .run(
            ReceiverStream::new(rx),
            sink,
            tokio::time::sleep_until(tb.tokio_base() + ms(200_000)),
        )
        .await
        .unwrap();
    drop(tx);
    assert_eq!(
        watcher.await.unwrap(),
        [(35_000, false, 0), (99_000, false, 0), (101_000, true, 1)],
        "the checkpoint due at 30 s waited for the sink (file exists, delivered)"
    );
    assert_eq!(summary.firings, 1);
    assert_eq!(
        summary.checkpoints, 2,
        "the periodic one, then the final one"
    );
}

fn zombie_trigger() -> Vec<(TriggerId, overdue_core::trigger::Trigger)> {
    let report = load_automations(ZOMBIE).unwrap();
    vec![(TriggerId(0), report.automations[0].trigger.clone())]
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_state_path_fails_the_run_before_it_starts() {
    let dir = Scratch::new("unreadable");
    let tb = Timebase::starting_at(EPOCH);
    // a directory cannot be read as a state file
    let (driver, _) = driver_with(&[ZOMBIE], tb, Some(&dir.0));
    let (_tx, rx) = mpsc::channel::<OwnedEvent>(1);
    let sink = fn_sink(|_| Ok(()));
    let err = driver
        .run(ReceiverStream::new(rx), sink, std::future::pending())
        .await
        .unwrap_err();
    let RunFailure::State(e) = &err.error else {
        panic!("a state file error: {err}");
    };
    assert_eq!(e.op, "reading");
    assert!(err.to_string().contains("reading failed"), "{err}");
    assert!(dir.0.is_dir(), "nothing was set aside or replaced");
}
