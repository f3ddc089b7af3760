//! Action sinks: where the [driver](crate::driver) hands every firing.
//!
//! A sink receives one [`FiringRecord`] at a time through [`ActionSink::deliver`] and
//! may take as long as it likes: the driver awaits it, and while it waits the bounded
//! queue in front of the sink fills and the driver stops taking events (backpressure;
//! no firing is ever dropped). Provided sinks:
//!
//! * [`ChannelSink`]: sends each record into a bounded `tokio::sync::mpsc` channel;
//! * [`FnSink`] (made with [`fn_sink`]): calls a closure;
//! * [`NdjsonSink`]: writes one JSON line per firing to any `tokio::io::AsyncWrite`;
//! * `Vec<Box<dyn ActionSink>>`: fans each record out to several sinks, in order.
//!
//! The trait is object safe (`Box<dyn ActionSink>` is a sink too): `deliver` returns a
//! boxed future ([`SinkFuture`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use overdue_core::engine::{FiringKind, TriggerId};
use overdue_core::rfc3339::Rfc3339;
use overdue_core::{EventId, Instant};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// What a sink knows about the automation a firing belongs to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutomationInfo {
    /// The automation's name (`""` for a bare trigger).
    pub name: String,
    /// The automation's `id`, if its JSON carried one.
    pub id: Option<String>,
    /// The automation's `actions`, as given (opaque to overdue).
    pub actions: Vec<Value>,
}

/// One firing as sinks see it: the engine's [`Firing`](overdue_core::engine::Firing)
/// plus the automation it belongs to.
///
/// Serialized (by [`NdjsonSink`], or with `serde_json`) as one object:
///
/// ```json
/// {"automation": "Crash zombie flows", "automation_id": null, "trigger_id": 0,
///  "labels": {"prefect.resource.id": "prefect.flow-run.…"},
///  "event": "6f0b2a8e-…", "at": "2026-01-01T00:06:30Z", "kind": "proactive",
///  "actions": [{"type": "change-flow-run-state", "state": "CRASHED"}]}
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FiringRecord {
    /// The automation (name, id, actions), shared by all its firings.
    pub automation: Arc<AutomationInfo>,
    /// The driver's id of the automation (load order, from 0).
    pub trigger_id: TriggerId,
    /// Prefect's `triggering_labels`: each `for_each` label with this key's value.
    pub labels: Vec<(String, String)>,
    /// The triggering event (for proactive firings, the window's last event).
    pub event: Option<EventId>,
    /// The wall-clock instant of the firing.
    pub at: Instant,
    /// Proactive (an expected event did not arrive) or reactive.
    pub kind: FiringKind,
}

impl FiringRecord {
    /// The value of `for_each` label `name` in this firing, if it has one.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The record as one line of compact JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a firing record always serializes")
    }
}

/// `labels` as a JSON object, in the record's (sorted) order.
struct LabelMap<'a>(&'a [(String, String)]);

impl Serialize for LabelMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for FiringRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FiringRecord", 8)?;
        st.serialize_field("automation", &self.automation.name)?;
        st.serialize_field("automation_id", &self.automation.id)?;
        st.serialize_field("trigger_id", &self.trigger_id.0)?;
        st.serialize_field("labels", &LabelMap(&self.labels))?;
        st.serialize_field("event", &self.event.map(|e| e.to_string()))?;
        st.serialize_field("at", &Rfc3339(self.at).to_string())?;
        let kind = match self.kind {
            FiringKind::Proactive => "proactive",
            FiringKind::Reactive => "reactive",
        };
        st.serialize_field("kind", kind)?;
        st.serialize_field("actions", &self.automation.actions)?;
        st.end()
    }
}

/// Why a sink could not take a firing.
#[derive(Debug)]
pub enum SinkError {
    /// Writing failed.
    Io(io::Error),
    /// The receiving end is gone (a channel's receiver was dropped).
    Closed,
    /// Any other failure, described.
    Other(String),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Io(e) => write!(f, "sink write failed: {e}"),
            SinkError::Closed => f.write_str("sink closed: its receiver is gone"),
            SinkError::Other(m) => write!(f, "sink failed: {m}"),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SinkError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for SinkError {
    fn from(e: io::Error) -> Self {
        SinkError::Io(e)
    }
}

/// The future returned by [`ActionSink::deliver`] and [`ActionSink::flush`].
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// A destination for firings.
///
/// The driver calls [`deliver`](Self::deliver) once per firing, in firing order, and
/// awaits it before delivering the next; [`flush`](Self::flush) once at shutdown after
/// the last one. An error stops the driver (see
/// [`driver::RunError`](crate::driver::RunError)).
pub trait ActionSink: Send {
    /// Takes one firing; the returned future completes when the sink is done with it.
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_>;

    /// Makes everything delivered so far durable or visible (default: nothing to do).
    fn flush(&mut self) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

impl<S: ActionSink + ?Sized> ActionSink for Box<S> {
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        (**self).deliver(firing)
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        (**self).flush()
    }
}

/// Fan-out: every firing goes to each sink in turn (the first error stops it).
impl ActionSink for Vec<Box<dyn ActionSink>> {
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        Box::pin(async move {
            for sink in self.iter_mut() {
                sink.deliver(firing.clone()).await?;
            }
            Ok(())
        })
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        Box::pin(async move {
            for sink in self.iter_mut() {
                sink.flush().await?;
            }
            Ok(())
        })
    }
}

/// A sink that sends every firing into a bounded mpsc channel.
///
/// A full channel makes `deliver` wait (backpressure); a dropped receiver is
/// [`SinkError::Closed`].
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: mpsc::Sender<FiringRecord>,
}

impl ChannelSink {
    /// A sink sending into `tx`.
    pub fn new(tx: mpsc::Sender<FiringRecord>) -> Self {
        ChannelSink { tx }
    }

    /// A sink and the receiving end of a new channel holding up to `capacity` firings.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<FiringRecord>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (ChannelSink { tx }, rx)
    }
}

impl ActionSink for ChannelSink {
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        Box::pin(async move { self.tx.send(firing).await.map_err(|_| SinkError::Closed) })
    }
}

/// A sink that calls a closure for every firing; made with [`fn_sink`].
pub struct FnSink<F> {
    f: F,
}

impl<F> fmt::Debug for FnSink<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnSink")
    }
}

/// A sink that calls `f` for every firing (synchronously, on the driver's task).
pub fn fn_sink<F>(f: F) -> FnSink<F>
where
    F: FnMut(FiringRecord) -> Result<(), SinkError> + Send,
{
    FnSink { f }
}

impl<F> ActionSink for FnSink<F>
where
    F: FnMut(FiringRecord) -> Result<(), SinkError> + Send,
{
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        let result = (self.f)(firing);
        Box::pin(async move { result })
    }
}

/// A sink that writes each firing as one JSON line (NDJSON) to an async writer.
///
/// Each line is flushed as soon as it is written, so a reader (a pipe, a terminal)
/// sees a firing when it happens.
#[derive(Debug)]
pub struct NdjsonSink<W> {
    writer: W,
    line: Vec<u8>,
}

impl<W: AsyncWrite + Unpin + Send> NdjsonSink<W> {
    /// A sink writing to `writer`.
    pub fn new(writer: W) -> Self {
        NdjsonSink {
            writer,
            line: Vec::with_capacity(256),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: AsyncWrite + Unpin + Send> ActionSink for NdjsonSink<W> {
    fn deliver(&mut self, firing: FiringRecord) -> SinkFuture<'_> {
        Box::pin(async move {
            self.line.clear();
            serde_json::to_writer(&mut self.line, &firing)
                .map_err(|e| SinkError::Other(e.to_string()))?;
            self.line.push(b'\n');
            self.writer.write_all(&self.line).await?;
            self.writer.flush().await?;
            Ok(())
        })
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        Box::pin(async move { Ok(self.writer.flush().await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FiringRecord {
        FiringRecord {
            automation: Arc::new(AutomationInfo {
                name: "Crash zombie flows".into(),
                id: None,
                actions: vec![serde_json::json!({"type": "do-nothing"})],
            }),
            trigger_id: TriggerId(3),
            labels: vec![("prefect.resource.id".into(), "prefect.flow-run.a".into())],
            event: EventId::parse("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e"),
            at: Instant::from_secs(1_767_225_690),
            kind: FiringKind::Proactive,
        }
    }

    #[test]
    fn record_serializes_as_documented() {
        let line = record().to_json_line();
        assert_eq!(
            line,
            r#"{"automation":"Crash zombie flows","automation_id":null,"trigger_id":3,"labels":{"prefect.resource.id":"prefect.flow-run.a"},"event":"6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e","at":"2026-01-01T00:01:30Z","kind":"proactive","actions":[{"type":"do-nothing"}]}"#
        );
        assert_eq!(
            record().label("prefect.resource.id"),
            Some("prefect.flow-run.a")
        );
        assert_eq!(record().label("missing"), None);
    }

    #[tokio::test]
    async fn ndjson_sink_writes_one_line_per_firing() {
        let mut sink = NdjsonSink::new(Vec::new());
        sink.deliver(record()).await.unwrap();
        sink.deliver(record()).await.unwrap();
        sink.flush().await.unwrap();
        let text = String::from_utf8(sink.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], record().to_json_line());
        assert!(text.ends_with('\n'));
    }

    #[tokio::test]
    async fn fan_out_delivers_to_every_sink_and_channel_reports_closed() {
        let (a, mut rx_a) = ChannelSink::channel(4);
        let (b, rx_b) = ChannelSink::channel(4);
        let mut sinks: Vec<Box<dyn ActionSink>> = vec![Box::new(a), Box::new(b)];
        sinks.deliver(record()).await.unwrap();
        assert_eq!(rx_a.recv().await, Some(record()));
        drop(rx_b);
        assert!(matches!(
            sinks.deliver(record()).await,
            Err(SinkError::Closed)
        ));
    }

    #[tokio::test]
    async fn fn_sink_passes_errors_through() {
        let mut seen = 0;
        {
            let mut sink = fn_sink(|_| {
                seen += 1;
                if seen > 1 {
                    Err(SinkError::Other("full".into()))
                } else {
                    Ok(())
                }
            });
            sink.deliver(record()).await.unwrap();
            let err = sink.deliver(record()).await.unwrap_err();
            assert_eq!(err.to_string(), "sink failed: full");
        }
        assert_eq!(seen, 2);
    }
}
