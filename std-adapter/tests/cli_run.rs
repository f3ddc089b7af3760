//! The `overdue run` and `overdue demo` commands, run as a user runs them: the real
//! binary, real pipes, a real TCP socket and real signals.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use overdue_core::rfc3339::Rfc3339;
use overdue_core::Duration as Span;
use overdue_std::driver::system_now;

const BIN: &str = env!("CARGO_BIN_EXE_overdue");
const PATIENCE: Duration = Duration::from_secs(30);

const AUTOMATIONS: &str = r#"[
  {"name": "Crash zombie flows",
   "trigger": {"type": "event", "match": {"prefect.resource.id": "prefect.flow-run.*"},
     "after": ["prefect.flow-run.heartbeat"], "expect": ["prefect.flow-run.*"],
     "for_each": ["prefect.resource.id"], "posture": "Proactive", "threshold": 1, "within": 90},
   "actions": [{"type": "change-flow-run-state", "state": "CRASHED"}]},
  {"name": "broken one", "trigger": {"posture": "Sideways"}, "actions": []},
  {"name": "Failures",
   "trigger": {"expect": ["prefect.flow-run.Failed"], "for_each": ["prefect.resource.id"],
     "posture": "Reactive", "threshold": 1, "within": 0},
   "actions": [{"type": "send-notification"}]}
]"#;

/// A scratch directory with the automations file; removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("overdue-cli-run-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("automations.json"), AUTOMATIONS).unwrap();
        Scratch(dir)
    }

    fn automations(&self) -> PathBuf {
        self.0.join("automations.json")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `overdue ARGS` run to the end with `input` on standard input.
fn overdue_fed(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // (dropped after writing: the end of input)
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// `overdue ARGS` run to the end with nothing on standard input.
fn overdue(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// An event line; `ago` seconds before now.
fn event_line(id: u32, name: &str, run: &str, ago: u64) -> String {
    let occurred = Rfc3339(system_now() - Span::from_secs(ago));
    format!(
        r#"{{"id": "{id:08x}-0000-4000-8000-000000000000", "event": "{name}", "occurred": "{occurred}", "resource": {{"prefect.resource.id": "prefect.flow-run.{run}"}}}}"#
    )
}

/// A running `overdue` with its output lines arriving on channels.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_err: Vec<String>,
}

fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the overdue binary starts");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Running {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            seen_err: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn next_stdout(&mut self) -> serde_json::Value {
        let line = self
            .stdout
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no firing on stdout; stderr so far: {:?}", self.seen_err));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line {line:?} is not JSON: {e}"))
    }

    /// Waits for a stderr line containing `needle` and returns it.
    fn stderr_line(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen_err.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen_err.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no stderr line containing {needle:?}; got {:?}",
            self.seen_err
        )
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
                    self.seen_err.push(line);
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("overdue did not exit; stderr: {:?}", self.seen_err);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stdin_malformed_line_is_reported_and_the_run_continues() {
    let dir = Scratch::new("stdin");
    let automations = dir.automations();
    let mut run = Running::start(&["run", "--triggers", automations.to_str().unwrap()]);
    // the malformed automation is named, the others load
    let bad = run.stderr_line("broken one");
    assert!(bad.contains("automation #1"), "{bad}");
    run.stderr_line("2 automation(s) loaded");

    run.send(&event_line(1, "prefect.flow-run.heartbeat", "zombie", 200)); // window long over
    run.send(r#"{"id": "not-a-uuid", "event": "x""#);
    run.send("");
    run.send(&event_line(2, "prefect.flow-run.Failed", "failed", 0));
    drop(run.stdin.take()); // end of input

    let mut firings = [run.next_stdout(), run.next_stdout()];
    firings.sort_by_key(|f| f["automation"].as_str().unwrap().to_owned());
    let zombie = &firings[0];
    assert_eq!(zombie["automation"], "Crash zombie flows");
    assert_eq!(zombie["kind"], "proactive");
    assert_eq!(
        zombie["labels"]["prefect.resource.id"],
        "prefect.flow-run.zombie"
    );
    assert_eq!(zombie["event"], "00000001-0000-4000-8000-000000000000");
    assert_eq!(zombie["actions"][0]["state"], "CRASHED");
    assert!(zombie["at"].as_str().unwrap().ends_with('Z'));
    let failed = &firings[1];
    assert_eq!(failed["automation"], "Failures");
    assert_eq!(failed["kind"], "reactive");
    assert_eq!(failed["trigger_id"], 1);

    assert!(run.wait().success());
    let malformed = run.stderr_line("line 2");
    assert!(malformed.contains("stdin"), "{malformed}");
    let summary = run.stderr_line("stopped (end of input)");
    assert!(
        summary.contains("2 events (1 malformed), 2 firings"),
        "{summary}"
    );
    assert!(
        run.stdout.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing else fired"
    );
}

#[test]
fn tcp_connections_are_read_one_at_a_time_and_sigterm_stops_the_run() {
    let dir = Scratch::new("tcp");
    let automations = dir.automations();
    let mut run = Running::start(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--events",
        "tcp://127.0.0.1:0",
    ]);
    let listening = run.stderr_line("listening on tcp://");
    let addr = listening.rsplit("tcp://").next().unwrap().trim().to_owned();

    for (i, run_name) in ["first", "second"].iter().enumerate() {
        let mut conn = TcpStream::connect(&addr).unwrap();
        writeln!(conn, "garbage").unwrap();
        writeln!(
            conn,
            "{}",
            event_line(i as u32 + 1, "prefect.flow-run.Failed", run_name, 0)
        )
        .unwrap();
        drop(conn);
        let firing = run.next_stdout();
        assert_eq!(
            firing["labels"]["prefect.resource.id"],
            format!("prefect.flow-run.{run_name}")
        );
        let report = run.stderr_line(&format!("connection {} (", i + 1));
        assert!(report.contains("line 1"), "{report}");
    }

    run.signal("TERM");
    assert!(run.wait().success(), "SIGTERM is a graceful stop");
    let summary = run.stderr_line("stopped (SIGTERM)");
    assert!(
        summary.contains("2 events (2 malformed), 2 firings"),
        "{summary}"
    );
}

#[test]
fn sigterm_with_input_still_open_judges_due_deadlines_and_exits_0() {
    let dir = Scratch::new("sigterm");
    let automations = dir.automations();
    let mut run = Running::start(&["run", "--triggers", automations.to_str().unwrap()]);
    run.stderr_line("reading events from standard input");
    run.send(&event_line(7, "prefect.flow-run.Failed", "x", 0));
    assert_eq!(run.next_stdout()["automation"], "Failures");
    // a zombie whose window is already over fires while the input stays open
    run.send(&event_line(8, "prefect.flow-run.heartbeat", "y", 95));
    let zombie = run.next_stdout();
    assert_eq!(
        zombie["labels"]["prefect.resource.id"],
        "prefect.flow-run.y"
    );

    run.signal("TERM");
    assert!(run.wait().success());
    let summary = run.stderr_line("stopped (SIGTERM)");
    assert!(
        summary.contains("2 events (0 malformed), 2 firings"),
        "{summary}"
    );

    // SIGINT too
    let mut run = Running::start(&["run", "--triggers", automations.to_str().unwrap()]);
    run.stderr_line("reading events from standard input");
    run.signal("INT");
    assert!(run.wait().success());
    run.stderr_line("stopped (SIGINT): 0 events");
}

#[test]
fn no_valid_automation_and_invalid_options_exit_2() {
    let run = overdue;
    let dir = Scratch::new("errors");
    let bad = dir.0.join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"name": "only", "trigger": {"within": -1}, "actions": []}]"#,
    )
    .unwrap();
    let out = run(&["run", "--triggers", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("automation #0 (\"only\")"), "{err}");
    assert!(err.contains("no valid automation"), "{err}");

    let automations = dir.automations();
    let out = run(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--allowed-lateness",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a number of seconds"));

    let out = run(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--allowed-lateness",
        "5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--events",
        "udp://x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an event source"));
}

#[test]
fn capacity_option_bounds_the_engine_and_the_summary_counts_refusals() {
    let dir = Scratch::new("capacity");
    let automations = dir.automations();
    // two live runs: the second needs a second key
    let input: String = [(1, "A"), (2, "B")]
        .iter()
        .map(|&(id, run)| event_line(id, "prefect.flow-run.heartbeat", run, 0) + "\n")
        .collect();
    let out = overdue_fed(
        &[
            "run",
            "--triggers",
            automations.to_str().unwrap(),
            "--capacity",
            "keys=1",
        ],
        &input,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 events (0 malformed)"), "{err}");
    assert!(err.contains("1 refused (a capacity was full)"), "{err}");

    let out = overdue(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--capacity",
        "buckets=5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`buckets` is not a capacity"), "{err}");
    assert!(err.contains("keys, key_bytes"), "{err}");
}

#[test]
fn read_ahead_option_changes_nothing_the_run_reports() {
    let dir = Scratch::new("read-ahead");
    let automations = dir.automations();
    // all waiting together on standard input: runs 0, 2, .. 18 each a heartbeat whose
    // window is over (a zombie) and a failure; runs 1, 3, .. 19 a heartbeat now and a
    // late one (ignored); and run 0's heartbeat delivered again (dropped)
    let mut input = String::new();
    for i in 0..40u32 {
        let (name, ago) = match i % 4 {
            0 => ("prefect.flow-run.heartbeat", 200),
            1 => ("prefect.flow-run.Failed", 0),
            2 => ("prefect.flow-run.heartbeat", 0),
            _ => ("prefect.flow-run.heartbeat", 200),
        };
        input += &event_line(i, name, &format!("run-{}", i / 2), ago);
        input.push('\n');
    }
    input += &event_line(0, "prefect.flow-run.heartbeat", "run-0", 200);
    input.push('\n');
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--triggers", automations.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = overdue_fed(&args, &input);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        // what fired, for what and why (`at` is the wall clock of each run)
        let mut firings: Vec<_> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let f: serde_json::Value = serde_json::from_str(line).unwrap();
                let (automation, resource) = who(&f);
                (
                    automation,
                    resource,
                    f["event"].to_string(),
                    f["kind"].to_string(),
                )
            })
            .collect();
        firings.sort();
        (firings, err)
    };
    let (plain, plain_err) = run(&[]);
    let (ahead, ahead_err) = run(&["--read-ahead-from", "0"]);
    assert!(
        ahead_err.contains("reading waiting events ahead once 0 window(s) are tracked"),
        "{ahead_err}"
    );
    assert!(
        !plain_err.contains("reading waiting events ahead"),
        "{plain_err}"
    );
    // 10 zombies and 10 failures
    assert_eq!(plain.len(), 20, "{plain:?}");
    assert_eq!(ahead, plain);
    for err in [&plain_err, &ahead_err] {
        assert!(err.contains("41 events (0 malformed), 20 firings"), "{err}");
    }

    let out = overdue(&[
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--read-ahead-from",
        "many",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--read-ahead-from"), "{err}");
}

/// `(automation, resource)` of a firing line.
fn who(firing: &serde_json::Value) -> (String, String) {
    (
        firing["automation"].as_str().unwrap().to_owned(),
        firing["labels"]["prefect.resource.id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn state_file_carries_a_pending_zombie_across_a_sigterm_restart() {
    let dir = Scratch::new("state");
    let automations = dir.automations();
    let state = dir.0.join("state.bin");
    let args = [
        "run",
        "--triggers",
        automations.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let mut run = Running::start(&args);
    run.stderr_line("not found, started clean");
    run.stderr_line("reading events from standard input");
    run.send(&event_line(
        1,
        "prefect.flow-run.Failed",
        "failed-before",
        0,
    ));
    run.send(&event_line(
        2,
        "prefect.flow-run.heartbeat",
        "dead-before",
        95,
    ));
    // this run's window ends ~10 s from now: after the restart
    run.send(&event_line(3, "prefect.flow-run.heartbeat", "pending", 80));
    let mut first = vec![who(&run.next_stdout()), who(&run.next_stdout())];
    first.sort();
    let flow = |name: &str| format!("prefect.flow-run.{name}");
    assert_eq!(
        first,
        [
            ("Crash zombie flows".to_owned(), flow("dead-before")),
            ("Failures".to_owned(), flow("failed-before")),
        ]
    );
    run.signal("TERM");
    assert!(run.wait().success());
    let summary = run.stderr_line("stopped (SIGTERM)");
    assert!(
        summary.contains("3 events (0 malformed), 2 firings"),
        "{summary}"
    );
    assert!(
        summary.contains("checkpoint(s) written, 0 failed"),
        "{summary}"
    );
    assert!(
        run.stdout.recv_timeout(Duration::from_millis(200)).is_err(),
        "the pending zombie did not fire before the stop"
    );
    assert!(state.is_file(), "SIGTERM wrote the state file");

    let mut run = Running::start(&args);
    let restored = run.stderr_line("restored:");
    assert!(
        restored.contains("2 trigger(s) kept their state"),
        "{restored}"
    );
    run.stderr_line("reading events from standard input");
    // the rest of the stream: a new failure, and event 1 again (a duplicate)
    run.send(&event_line(4, "prefect.flow-run.Failed", "failed-after", 0));
    run.send(&event_line(
        1,
        "prefect.flow-run.Failed",
        "failed-before",
        0,
    ));
    let mut second = vec![who(&run.next_stdout()), who(&run.next_stdout())];
    second.sort();
    assert_eq!(
        second,
        [
            ("Crash zombie flows".to_owned(), flow("pending")),
            ("Failures".to_owned(), flow("failed-after")),
        ],
        "the pending zombie fired after the restart, nothing fired twice"
    );
    drop(run.stdin.take());
    assert!(run.wait().success());
    let summary = run.stderr_line("stopped (end of input)");
    assert!(summary.contains("2 firings"), "{summary}");
    assert!(
        run.stdout.recv_timeout(Duration::from_millis(200)).is_err(),
        "nothing else fired"
    );
}

#[test]
fn every_subcommand_has_help() {
    for (sub, needles) in [
        (
            "run",
            &[
                "--triggers",
                "--events",
                "--allowed-lateness",
                "--state",
                "wall clock",
            ][..],
        ),
        (
            "demo",
            &["--runs", "--die-percent", "--speed", "--seed"][..],
        ),
    ] {
        let out = Command::new(BIN).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        for needle in needles {
            assert!(
                help.contains(needle),
                "`overdue {sub} --help` lacks {needle}: {help}"
            );
        }
    }
}

#[test]
fn demo_small_fleet_detects_every_zombie_within_seconds() {
    for speed in ["0", "5000"] {
        let started = Instant::now();
        let out = Command::new(BIN)
            .args(["demo", "--runs", "200", "--speed", speed, "--seed", "3"])
            .output()
            .unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(took < Duration::from_secs(15), "took {took:?}");
        assert!(
            stdout.contains("\"name\": \"Crash zombie flows\""),
            "prints the automation"
        );
        assert!(stdout.contains("false positives          0"), "{stdout}");
        assert!(
            stdout.contains("min 90.000 s, median 90.000 s, max 90.000 s"),
            "{stdout}"
        );
        assert!(
            stdout.contains("OK: every dead run was detected"),
            "{stdout}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("zombies detected"),
            "progress on stderr: {stderr}"
        );
    }
}
