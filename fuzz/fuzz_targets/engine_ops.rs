//! Ops decoded from bytes through the engine with allowed lateness: arrival order and
//! duplicates must not change the firings (`overdue_core::harness::check_engine_ops`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| overdue_core::harness::check_engine_ops(data));
