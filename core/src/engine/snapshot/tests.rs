//! Snapshot unit tests.
use super::*;
