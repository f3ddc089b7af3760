//! The tokio driver on a paused clock: zombies fire exactly at their deadline, a
//! heartbeat re-arms the deadline, every sink sees every firing exactly once, a slow
//! sink slows intake without losing anything, and shutdown is graceful.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use overdue_core::engine::FiringKind;
use overdue_core::{Duration, Instant, OwnedEvent};
use overdue_std::driver::{Driver, DriverConfig, Input, ReceiverStream, Summary, Timebase};
use overdue_std::json::load_automations;
use overdue_std::sink::{fn_sink, ActionSink, ChannelSink, FiringRecord, SinkFuture};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant as TokioInstant;

mod common;
use common::{event, event_id, run_id, EPOCH, FAILED, ZOMBIE};

fn driver_with(automation: &str, timebase: Timebase, queue_capacity: usize) -> Driver {
    driver_reading_ahead(automation, timebase, queue_capacity, usize::MAX)
}

/// [`driver_with`], reading ahead on batches once `read_ahead_from` keys are tracked.
fn driver_reading_ahead(
    automation: &str,
    timebase: Timebase,
    queue_capacity: usize,
    read_ahead_from: usize,
) -> Driver {
    let mut driver = Driver::new(DriverConfig {
        queue_capacity,
        timebase: Some(timebase),
        read_ahead_from,
        ..DriverConfig::default()
    });
    let report = load_automations(automation).expect("test automation is JSON");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for a in &report.automations {
        driver.add_automation(a).expect("test automation loads");
    }
    driver
}

fn secs(s: u64) -> StdDuration {
    StdDuration::from_secs(s)
}

/// Sends `(seconds after the base, event)` pairs at their instants (sorted), then keeps
/// the input open until `close_at` seconds.
fn spawn_producer(
    tb: Timebase,
    mut schedule: Vec<(u64, OwnedEvent)>,
    close_at: u64,
    capacity: usize,
) -> ReceiverStream<OwnedEvent> {
    schedule.sort_by_key(|(t, e)| (*t, e.id));
    let (tx, rx) = mpsc::channel(capacity);
    tokio::spawn(async move {
        for (t, ev) in schedule {
            tokio::time::sleep_until(tb.tokio_base() + secs(t)).await;
            tx.send(ev).await.expect("driver is running");
        }
        tokio::time::sleep_until(tb.tokio_base() + secs(close_at)).await;
    });
    ReceiverStream::new(rx)
}

type Seen = Arc<Mutex<Vec<(FiringRecord, TokioInstant)>>>;

/// A closure sink recording each firing with the tokio instant it arrived.
fn recording_sink() -> (impl ActionSink, Seen) {
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let sink = fn_sink(move |record| {
        s.lock().unwrap().push((record, TokioInstant::now()));
        Ok(())
    });
    (sink, seen)
}

fn never() -> std::future::Pending<()> {
    std::future::pending()
}

#[tokio::test(start_paused = true)]
async fn zombie_fires_exactly_at_last_heartbeat_plus_90s() {
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(ZOMBIE, tb, 8);
    let schedule = [0, 30, 60]
        .iter()
        .map(|&t| {
            (
                t,
                event(
                    t,
                    "prefect.flow-run.heartbeat",
                    1,
                    EPOCH + Duration::from_secs(t),
                ),
            )
        })
        .collect();
    let events = spawn_producer(tb, schedule, 400, 8);
    let (sink, seen) = recording_sink();

    let summary = driver.run(events, sink, never()).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one zombie, one firing: {seen:?}");
    let (record, arrived) = &seen[0];
    // the window opened by the last heartbeat (t=60) ends at t=150
    assert_eq!(record.at, EPOCH + Duration::from_secs(150));
    assert_eq!(
        *arrived,
        tb.tokio_base() + secs(150),
        "the sink got it at the deadline"
    );
    assert_eq!(record.kind, FiringKind::Proactive);
    assert_eq!(
        record.event,
        Some(event_id(60)),
        "triggering event = last heartbeat"
    );
    assert_eq!(
        record.label("prefect.resource.id"),
        Some(run_id(1).as_str())
    );
    assert_eq!(record.automation.name, "Crash zombie flows");
    assert_eq!(record.automation.actions.len(), 1);
    assert_eq!(
        summary,
        Summary {
            events: 3,
            malformed: 0,
            firings: 1,
            ..summary.clone()
        }
    );
    assert_eq!(
        summary.state, None,
        "no state path: no state file, no checkpoints"
    );
    assert_eq!(summary.checkpoints, 0);
    // the input closed at t=400: the driver ran until then
    assert_eq!(TokioInstant::now(), tb.tokio_base() + secs(400));
}

#[tokio::test(start_paused = true)]
async fn heartbeats_rearm_the_deadline_and_completion_disarms_it() {
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(ZOMBIE, tb, 8);
    let mut schedule = Vec::new();
    let mut n = 0;
    let mut push = |t: u64, name: &str, run: usize| {
        n += 1;
        schedule.push((t, event(n, name, run, EPOCH + Duration::from_secs(t))));
    };
    // run 1 beats for ten minutes, then completes: never a zombie
    for t in (0..=600).step_by(30) {
        push(t, "prefect.flow-run.heartbeat", 1);
    }
    push(610, "prefect.flow-run.Completed", 1);
    // run 2 beats until t=240 and dies: its first window ended at 90, its last at 330
    for t in (0..=240).step_by(30) {
        push(t, "prefect.flow-run.heartbeat", 2);
    }
    let events = spawn_producer(tb, schedule, 2_000, 4);
    let (sink, seen) = recording_sink();

    driver.run(events, sink, never()).await.unwrap();

    let seen = seen.lock().unwrap();
    let fired: Vec<(String, Instant, TokioInstant)> = seen
        .iter()
        .map(|(r, t)| (r.label("prefect.resource.id").unwrap().to_owned(), r.at, *t))
        .collect();
    assert_eq!(
        fired,
        vec![(
            run_id(2),
            EPOCH + Duration::from_secs(330),
            tb.tokio_base() + secs(330)
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn every_sink_sees_every_firing_exactly_once() {
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(ZOMBIE, tb, 4);
    let runs = 40;
    let mut schedule = Vec::new();
    let mut last_beat = Vec::new();
    let mut n = 0;
    for run in 0..runs {
        let start = run as u64; // staggered by a second
        let beats = run as u64 % 7 + 1;
        for b in 0..beats {
            let t = start + 30 * b;
            n += 1;
            schedule.push((
                t,
                event(
                    n,
                    "prefect.flow-run.heartbeat",
                    run,
                    EPOCH + Duration::from_secs(t),
                ),
            ));
        }
        last_beat.push(start + 30 * (beats - 1));
    }
    let events = spawn_producer(tb, schedule, 1_000, 2);

    let (channel_sink, mut rx) = ChannelSink::channel(1);
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(r) = rx.recv().await {
            got.push(r);
        }
        got
    });
    let (closure_sink, seen) = recording_sink();
    let sinks: Vec<Box<dyn ActionSink>> = vec![Box::new(channel_sink), Box::new(closure_sink)];

    let summary = driver.run(events, sinks, never()).await.unwrap();
    assert_eq!(summary.firings, runs as u64);
    assert_eq!(summary.events, n);

    let from_channel = collector.await.unwrap();
    let from_closure: Vec<FiringRecord> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(
        from_channel, from_closure,
        "both sinks saw the same firings in the same order"
    );
    let mut fired: Vec<(String, Instant)> = from_channel
        .iter()
        .map(|r| (r.label("prefect.resource.id").unwrap().to_owned(), r.at))
        .collect();
    fired.sort();
    let mut expected: Vec<(String, Instant)> = (0..runs)
        .map(|run| {
            (
                run_id(run),
                EPOCH + Duration::from_secs(last_beat[run] + 90),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        fired, expected,
        "each run fired once, at its last heartbeat + 90 s"
    );
    // firings reach the sinks in time order
    assert!(from_channel.windows(2).all(|w| w[0].at <= w[1].at));
}

/// A sink that takes `delay` of (tokio) time per firing.
struct SlowSink {
    delay: StdDuration,
    got: Arc<Mutex<Vec<FiringRecord>>>,
}

impl ActionSink for SlowSink {
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.got.lock().unwrap().push(firing);
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_sink_slows_intake_and_loses_nothing() {
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(FAILED, tb, 2);
    let total = 20u64;
    // every event fires immediately; the producer offers them all at t=0
    let (tx, rx) = mpsc::channel(1);
    let producer = tokio::spawn(async move {
        for i in 0..total {
            tx.send(event(i, "prefect.flow-run.Failed", i as usize, EPOCH))
                .await
                .unwrap();
        }
        TokioInstant::now() // when the driver took (nearly) the last one
    });
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = SlowSink {
        delay: secs(10),
        got: Arc::clone(&got),
    };

    let summary = driver
        .run(ReceiverStream::new(rx), sink, never())
        .await
        .unwrap();
    let last_send = producer.await.unwrap();

    let got = got.lock().unwrap();
    assert_eq!(summary.firings, total);
    assert_eq!(got.len(), total as usize, "no firing lost");
    let mut runs: Vec<&str> = got
        .iter()
        .map(|r| r.label("prefect.resource.id").unwrap())
        .collect();
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), total as usize, "each firing delivered once");
    // At most queue (2) + the one in the sink + the one being queued are ahead of the
    // loop: the last event was handled ~(20 - 4) * 10 s after the start.
    let last_at = got.iter().map(|r| r.at).max().unwrap();
    assert!(
        last_at >= EPOCH + Duration::from_secs(150),
        "intake was slowed by the sink: last event handled at {last_at}"
    );
    assert!(
        last_send >= tb.tokio_base() + secs(140),
        "the producer was held back"
    );
    // and the sink took 10 s per firing, all of them before the run returned
    assert_eq!(TokioInstant::now(), tb.tokio_base() + secs(10 * total));
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_intake_and_judges_what_is_due() {
    // shutdown at t=90 exactly: the window [0, 90) is due and fires in the final tick
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(ZOMBIE, tb, 8);
    let schedule = vec![(0, event(1, "prefect.flow-run.heartbeat", 1, EPOCH))];
    let events = spawn_producer(tb, schedule, 10_000, 8);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(secs(90)).await;
        stop_tx.send(true).unwrap();
        tokio::time::sleep(secs(1_000)).await; // keep the sender alive
    });
    let (sink, seen) = recording_sink();
    let shutdown = async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    let summary = driver.run(events, sink, shutdown).await.unwrap();
    assert_eq!(
        TokioInstant::now(),
        tb.tokio_base() + secs(90),
        "returned at shutdown"
    );
    assert_eq!(summary.events, 1);
    assert_eq!(summary.firings, 1);
    assert_eq!(
        seen.lock().unwrap()[0].0.at,
        EPOCH + Duration::from_secs(90)
    );

    // shutdown before the deadline: nothing is due, nothing fires, no waiting
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(ZOMBIE, tb, 8);
    let schedule = vec![(0, event(1, "prefect.flow-run.heartbeat", 1, EPOCH))];
    let events = spawn_producer(tb, schedule, 10_000, 8);
    let (sink, seen) = recording_sink();
    let summary = driver
        .run(events, sink, tokio::time::sleep(secs(50)))
        .await
        .unwrap();
    assert_eq!(TokioInstant::now(), tb.tokio_base() + secs(50));
    assert_eq!((summary.events, summary.firings), (1, 0));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn malformed_inputs_are_counted_and_sink_errors_stop_the_run() {
    let tb = Timebase::starting_at(EPOCH);
    let driver = driver_with(FAILED, tb, 1);
    let (tx, rx) = mpsc::channel(8);
    tx.send(Input::Malformed).await.unwrap();
    tx.send(Input::Event(event(1, "prefect.flow-run.Failed", 1, EPOCH)))
        .await
        .unwrap();
    let mut no_resource = event(2, "prefect.flow-run.Failed", 2, EPOCH);
    no_resource.resource.clear();
    tx.send(Input::Event(no_resource)).await.unwrap();
    tx.send(Input::Event(event(3, "prefect.flow-run.Failed", 3, EPOCH)))
        .await
        .unwrap();
    drop(tx);
    let (sink, seen) = recording_sink();
    let summary = driver
        .run(ReceiverStream::new(rx), sink, never())
        .await
        .unwrap();
    assert_eq!(
        (summary.events, summary.malformed, summary.firings),
        (2, 2, 2)
    );
    assert_eq!(seen.lock().unwrap().len(), 2);

    // a sink that fails: the run stops and says how far it got
    let driver = driver_with(FAILED, Timebase::starting_at(EPOCH), 1);
    let (tx, rx) = mpsc::channel(8);
    for i in 0..3 {
        tx.send(event(i, "prefect.flow-run.Failed", i as usize, EPOCH))
            .await
            .unwrap();
    }
    let mut calls = 0;
    let failing = fn_sink(move |_| {
        calls += 1;
        if calls == 2 {
            Err(overdue_std::sink::SinkError::Other("disk full".into()))
        } else {
            Ok(())
        }
    });
    let err = driver
        .run(ReceiverStream::new(rx), failing, never())
        .await
        .unwrap_err();
    assert_eq!(err.summary.firings, 1);
    assert!(
        matches!(err.error, overdue_std::driver::RunFailure::Sink(_)),
        "{err}"
    );
    assert!(err.to_string().contains("disk full"), "{err}");
    drop(tx);
}

/// Inputs that are all waiting at once reach the engine in batches: every one is
/// handled, in order, malformed ones counted, and a stream that ends in the middle of
/// a batch loses nothing. The same whether the batches are read ahead with
/// `Engine::prefetch` (`DriverConfig::read_ahead_from`: here from the first key) or
/// not (the default).
#[tokio::test(start_paused = true)]
async fn inputs_waiting_together_are_all_handled_in_order() {
    for read_ahead_from in [usize::MAX, 0] {
        handled_in_order(read_ahead_from).await;
    }
}

async fn handled_in_order(read_ahead_from: usize) {
    let tb = Timebase::starting_at(EPOCH);
    let at = |s: u64| EPOCH + Duration::from_secs(s);
    // 100 runs heartbeat at t=0, runs 0..50 again at t=0 (their completion ends their
    // monitoring), a malformed input in between; all queued before the driver starts
    let (tx, rx) = mpsc::channel::<Input>(512);
    let mut n = 0;
    for run in 0..100 {
        n += 1;
        tx.send(event(n, "prefect.flow-run.heartbeat", run, at(0)).into())
            .await
            .unwrap();
        if run == 37 {
            tx.send(Input::Malformed).await.unwrap();
        }
    }
    for run in 0..50 {
        n += 1;
        tx.send(event(n, "prefect.flow-run.Completed", run, at(0)).into())
            .await
            .unwrap();
    }
    // the input stays open until t=200 (the zombies of runs 50..100 fire at t=90)
    let (sink, seen) = recording_sink();
    let driver = driver_reading_ahead(ZOMBIE, tb, 8, read_ahead_from);
    tokio::spawn(async move {
        tokio::time::sleep_until(tb.tokio_base() + secs(200)).await;
        drop(tx);
    });
    let summary = driver
        .run(ReceiverStream::new(rx), sink, never())
        .await
        .unwrap();
    assert_eq!(
        (summary.events, summary.malformed),
        (150, 1),
        "read ahead from {read_ahead_from} keys"
    );
    {
        let seen = seen.lock().unwrap();
        let mut fired: Vec<String> = seen
            .iter()
            .map(|(r, _)| r.label("prefect.resource.id").unwrap().to_owned())
            .collect();
        fired.sort();
        let expected: Vec<String> = (50..100).map(run_id).collect();
        assert_eq!(
            fired, expected,
            "exactly the runs that did not complete (read ahead from {read_ahead_from} keys)"
        );
        assert!(seen.iter().all(|(r, _)| r.at == at(90)));
    }

    // a stream that ends while a batch is being taken
    let (tx, rx) = mpsc::channel::<Input>(64);
    for run in 0..40 {
        tx.send(
            event(
                1000 + run as u64,
                "prefect.flow-run.heartbeat",
                run,
                at(300),
            )
            .into(),
        )
        .await
        .unwrap();
    }
    drop(tx);
    let tb = Timebase::starting_at(at(300));
    let driver = driver_reading_ahead(ZOMBIE, tb, 8, read_ahead_from);
    let (sink, _) = recording_sink();
    let summary = driver
        .run(ReceiverStream::new(rx), sink, never())
        .await
        .unwrap();
    assert_eq!(summary.events, 40);
    assert_eq!(summary.stats.events, 40);
}
