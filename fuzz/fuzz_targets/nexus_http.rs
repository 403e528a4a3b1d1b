#![no_main]
// The harness is msgr::fuzzing::nexus_http, where stable `cargo test` replays what was kept.
libfuzzer_sys::fuzz_target!(|data: &[u8]| msgr::fuzzing::nexus_http::check(data));
