#![no_main]
// The harness is msgr::fuzzing::invite, where stable `cargo test` replays what was kept.
libfuzzer_sys::fuzz_target!(|data: &[u8]| msgr::fuzzing::invite::check(data));
