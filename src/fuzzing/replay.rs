//! Replays, under stable `cargo test`, every input kept from fuzzing: crashes (once
//! fixed) and the corpus seeds, from `fuzz_regressions/<target>/` next to the code
//! each target exercises.

use std::path::Path;

fn replay(dir: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        // Another target's inputs may be kept in a directory beside these.
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "nothing kept in {}", dir.display());
    for file in files {
        let data = std::fs::read(&file).expect("a readable file");
        eprintln!("replaying {}", file.display());
        check(&data);
    }
}

#[test]
fn decoder() {
    replay("src/wire/fuzz_regressions/decoder", super::decoder::check);
}

#[test]
fn invite() {
    replay("src/wire/fuzz_regressions/invite", super::invite::check);
}

#[test]
fn nexus() {
    replay("src/net/fuzz_regressions/nexus", super::nexus::check);
}

#[test]
fn nexus_http() {
    replay("src/net/fuzz_regressions/nexus_http", super::nexus_http::check);
}

#[test]
fn limits() {
    replay("src/service/fuzz_regressions/limits", super::limits::check);
}

#[test]
fn service() {
    replay("src/service/fuzz_regressions", super::service::check);
}

#[test]
fn client() {
    replay("src/client/fuzz_regressions", super::client::check);
}
