#![no_main]
// The harness is msgr::fuzzing::limits, where stable `cargo test` replays what was kept.
libfuzzer_sys::fuzz_target!(|data: &[u8]| msgr::fuzzing::limits::check(data));
