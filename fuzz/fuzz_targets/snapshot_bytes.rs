//! Arbitrary bytes into `Engine::restore`, as given and framed as a payload: a typed
//! error or an engine that runs on and saves again, never a panic
//! (`overdue_core::harness::check_snapshot_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| overdue_core::harness::check_snapshot_bytes(data));
