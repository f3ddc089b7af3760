//! The driver's input: [`Input`] items and a stream over an mpsc receiver.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use overdue_core::OwnedEvent;
use tokio::sync::mpsc;

/// One item of the driver's input: an event, or a note that an input was unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An event to hand to the engine.
    Event(OwnedEvent),
    /// An input that could not be read as an event (the reader has reported it); only
    /// counted.
    Malformed,
}

impl From<OwnedEvent> for Input {
    fn from(event: OwnedEvent) -> Self {
        Input::Event(event)
    }
}

/// A `futures_core::Stream` over a `tokio::sync::mpsc::Receiver`.
#[derive(Debug)]
pub struct ReceiverStream<T> {
    rx: mpsc::Receiver<T>,
}

impl<T> ReceiverStream<T> {
    /// A stream of what `rx` receives; it ends when every sender is dropped.
    pub fn new(rx: mpsc::Receiver<T>) -> Self {
        ReceiverStream { rx }
    }

    /// The receiver back.
    pub fn into_inner(self) -> mpsc::Receiver<T> {
        self.rx
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}
