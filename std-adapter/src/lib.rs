//! # overdue-std
//!
//! The std side of overdue: Prefect JSON in and out, the `overdue` CLI.
#![warn(missing_docs)]
pub mod demo;
pub mod driver;
pub mod json;
pub mod replay;
pub mod run;
pub mod scenario;
pub mod sink;
pub mod uuid5;
