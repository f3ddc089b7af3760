//! # overdue-std
//!
//! The std side of overdue: Prefect JSON in and out, the `overdue` CLI.
#![warn(missing_docs)]
pub mod driver;
pub mod json;
pub mod scenario;
pub mod sink;
pub mod uuid5;
