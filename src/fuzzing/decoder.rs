//! The MSNP decoder ([`crate::wire::Decoder`]) on arbitrary bytes, in both directions,
//! with the default limits or small ones, the stream pushed in arbitrary chunks.
//!
//! Input: `[flags, max_line, max_payload, n, n chunk sizes…, stream…]`. Flags bit 0: the
//! server's direction; bit 1: limits `max_line + 1` and `max_payload` instead of the
//! defaults. Chunk sizes cycle; 0 reads as 1; no sizes push the stream whole.
//!
//! Checks: nothing panics; the chunking changes nothing; an error is sticky (the same
//! error again, however many bytes follow, and nothing buffered); every command it
//! yields re-encodes to bytes that decode to that command alone.

use super::Input;
use crate::wire::{Command, Decoder, Direction, WireError};

#[derive(Clone, Copy, Debug)]
struct Setup {
    dir: Direction,
    limits: Option<(usize, usize)>,
}

impl Setup {
    fn decoder(self) -> Decoder {
        match self.limits {
            Some((line, payload)) => Decoder::with_limits(self.dir, line, payload),
            None => Decoder::new(self.dir),
        }
    }
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let (max_line, max_payload) = (usize::from(input.byte()) + 1, usize::from(input.byte()));
    let setup = Setup {
        dir: if flags & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        },
        limits: (flags & 2 != 0).then_some((max_line, max_payload)),
    };
    let n = input.below(16);
    let sizes: Vec<usize> = (0..n).map(|_| usize::from(input.byte()).max(1)).collect();
    let stream = input.rest();

    let chunked = decode(setup, stream, &sizes);
    let whole = decode(setup, stream, &[]);
    assert_eq!(chunked, whole, "the chunking {sizes:?} changed the result");
    for cmd in &chunked.0 {
        reencodes(setup, cmd);
    }
}

/// Every command, and the error that ended the stream if one did.
fn decode(setup: Setup, stream: &[u8], sizes: &[usize]) -> (Vec<Command>, Option<WireError>) {
    let mut dec = setup.decoder();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = sizes.iter().cycle();
    loop {
        loop {
            match dec.next_command() {
                Ok(Some(cmd)) => out.push(cmd),
                Ok(None) => break,
                Err(e) => {
                    sticks(&mut dec, &e, rest);
                    return (out, Some(e));
                }
            }
        }
        if rest.is_empty() {
            return (out, None);
        }
        let n = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
        dec.push(&rest[..n]);
        rest = &rest[n..];
    }
}

/// A failed decoder keeps failing the same way and holds on to nothing.
fn sticks(dec: &mut Decoder, err: &WireError, more: &[u8]) {
    assert_eq!(dec.buffered(), 0, "a failed decoder still buffers");
    for bytes in [more, b"OUT\r\n".as_slice()] {
        dec.push(bytes);
        assert_eq!(dec.next_command().as_ref(), Err(err), "the error did not stick");
        assert_eq!(dec.buffered(), 0, "a failed decoder buffered more");
    }
}

/// `cmd` encoded decodes to `cmd` alone. A line may come back one byte longer than it
/// arrived (CR LF for a bare LF; never longer otherwise, as runs of spaces collapse),
/// so the line limit gets that byte.
fn reencodes(setup: Setup, cmd: &Command) {
    let setup = Setup {
        limits: setup.limits.map(|(line, payload)| (line + 1, payload)),
        ..setup
    };
    let bytes = cmd.encode();
    let mut dec = setup.decoder();
    dec.push(&bytes);
    assert_eq!(dec.next_command(), Ok(Some(cmd.clone())), "{bytes:?}");
    assert_eq!(dec.next_command(), Ok(None), "{bytes:?}");
    assert_eq!(dec.buffered(), 0, "{bytes:?}");
}
