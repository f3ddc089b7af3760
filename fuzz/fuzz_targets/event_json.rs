//! Prefect event JSON: the parser never panics and what it accepts round-trips
//! (`overdue_fuzz::checks::check_event_json`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    overdue_fuzz::checks::check_event_json(data);
});
