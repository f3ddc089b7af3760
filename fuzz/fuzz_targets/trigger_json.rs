//! Prefect trigger JSON: the parser never panics and what it accepts round-trips and
//! validates again (`overdue_fuzz::checks::check_trigger_json`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    overdue_fuzz::checks::check_trigger_json(data);
});
