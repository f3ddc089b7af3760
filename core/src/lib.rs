//! # overdue-core
//!
//! A sans-IO, `no_std` detector of events that do **not** arrive in time (and of
//! events that arrive too often), per resource, evaluating Prefect's automation
//! triggers with Prefect 3.9.1's semantics on a timing wheel.
//!
//! The core never reads a clock and never does I/O: time and events go in as
//! arguments, firings and "when to call me next" come out.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "alloc")]
pub mod engine;
pub mod error;
pub mod event;
#[cfg(feature = "harness")]
pub mod harness;
pub mod hash;
pub mod matcher;
pub mod rfc3339;
pub mod time;
#[cfg(feature = "alloc")]
pub mod trigger;
pub mod wheel;

#[cfg(feature = "alloc")]
pub use event::OwnedEvent;
pub use event::{Event, EventId, Labels, Related};
pub use time::{Duration, Instant};
pub use wheel::{Expired, FixedWheel, Handle, InsertError, ResetError, Wheel};
