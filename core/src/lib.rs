//! # overdue-core
//!
//! A sans-IO, `no_std` detector of events that do **not** arrive in time (and of
//! events that arrive too often), per resource, evaluating Prefect's automation
//! triggers with Prefect 3.9.1's semantics on a timing wheel.
//!
//! The core never reads a clock and never does I/O: time and events go in as
//! arguments, firings and "when to call me next" come out.
//!
//! # The run loop
//!
//! Everything goes through [`engine::Engine`] (an example that compiles is in the
//! [`engine`] module docs):
//!
//! 1. `add_trigger(id, trigger)` for each Prefect trigger ([`trigger::Trigger`], parsed
//!    from Prefect's JSON with serde, or a borrowed [`trigger::TriggerDef`]); invalid
//!    triggers are a typed error.
//! 2. For every event, in arrival order: `handle_event(&event, now)` with `now` the wall
//!    clock ([`Event`] is a borrowed view; nothing is allocated for it).
//! 3. After every `handle_*` call, drain `poll_action()` until it returns `None`: each
//!    [`engine::Firing`] is one automation to act on.
//! 4. Read `poll_timeout()`: sleep until that instant (or until the next event), then
//!    call `handle_timeout(now)`. Extra calls are harmless; a `now` older than the last
//!    one is treated as the last one.
//!
//! Time is [`Instant`]/[`Duration`] in microseconds since the Unix epoch.
//!
//! # Without a heap
//!
//! Without the `alloc` feature the whole engine still works, on fixed-capacity
//! storage: `Engine<store::Fixed<...>>` keeps all its state inline in one value
//! (on the stack or in a `static`), its capacities const generics, and refuses
//! what does not fit with a typed error naming the capacity, before anything
//! changes. Triggers are given as borrowed definitions ([`trigger::TriggerDef`],
//! e.g. a `static`); firings are read in place ([`engine::Firing`]); snapshots are
//! written into a slice and restored in place (`Engine::restore_in_place`). The
//! `alloc` feature (default) adds the growable storage (`Engine::new`), owned
//! triggers parsed from Prefect's JSON, owned events and firings.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The docs are written for the default build (with `alloc`): without it, links to
// the `alloc`-only items they mention (owned triggers and firings, the growable
// storage, the `Vec` conveniences) have nothing to point at.
#![cfg_attr(not(feature = "alloc"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "alloc")]
extern crate alloc;

mod bytes;
pub mod engine;
pub mod error;
pub mod event;
#[cfg(feature = "harness")]
pub mod harness;
pub mod hash;
pub mod matcher;
pub mod rfc3339;
pub mod store;
#[cfg(test)]
mod test_rng;
pub mod time;
pub mod trigger;
mod varint;
pub mod wheel;

#[cfg(feature = "alloc")]
pub use event::OwnedEvent;
pub use event::{Event, EventId, Labels, Related};
pub use time::{Duration, Instant};
pub use wheel::{Expired, FixedWheel, Handle, InsertError, ResetError, Wheel};
