//! The coverage-guided fuzz harnesses: each `check` takes the bytes libFuzzer made and
//! panics when an invariant fails. The targets in `fuzz/` (nightly, `cargo fuzz`) are one
//! line each around these, so that stable `cargo test` replays every input the fuzzers
//! found ([`replay`]) through the very same code. See docs/fuzzing.md.
//!
//! Built only for tests and under `--cfg fuzzing` (which `cargo fuzz` sets), never into
//! the library that ships.

pub mod client;
pub mod decoder;
mod input;
pub mod invite;
pub mod limits;
pub mod nexus;
pub mod nexus_http;
#[cfg(test)]
mod replay;
pub mod service;

pub use input::Input;

use crate::wire::{Command, Decoder, Direction};

/// What one engine sends decodes, on the other side, to exactly that command.
fn reads_back(dir: Direction, cmd: &Command) {
    let bytes = cmd.encode();
    let mut dec = Decoder::new(dir);
    dec.push(&bytes);
    assert_eq!(dec.next_command(), Ok(Some(cmd.clone())), "{bytes:?}");
    assert_eq!(dec.next_command(), Ok(None), "{bytes:?}");
}
