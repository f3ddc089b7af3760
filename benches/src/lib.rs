//! Shared helpers for the criterion benches (see benches/README.md).

pub mod baseline;
pub mod zombie;
