//! Helpers shared by the wire tests: fixture files and the transcript reader.

use super::Direction;

pub fn read_fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// One `C>`/`S>` record of a transcript fixture.
pub struct Record {
    pub connection: String,
    pub dir: Direction,
    pub bytes: Vec<u8>,
}

/// Reads the `@ NAME` / `C> b'...'` / `S> b'...'` transcript format.
pub fn transcript(rel: &str) -> Vec<Record> {
    let text = String::from_utf8(read_fixture(rel)).expect("transcript is UTF-8");
    let mut connection = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@ ") {
            connection = name.trim().to_string();
        } else if let Some(lit) = line.strip_prefix("C> ") {
            out.push(Record {
                connection: connection.clone(),
                dir: Direction::ClientToServer,
                bytes: unescape_bytes_literal(lit),
            });
        } else if let Some(lit) = line.strip_prefix("S> ") {
            out.push(Record {
                connection: connection.clone(),
                dir: Direction::ServerToClient,
                bytes: unescape_bytes_literal(lit),
            });
        }
    }
    out
}

/// Decodes a Python `b'...'` literal limited to the escapes `\\ \' \r \n \t \xNN`.
pub fn unescape_bytes_literal(lit: &str) -> Vec<u8> {
    let inner = lit
        .trim()
        .strip_prefix("b'")
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a bytes literal: {lit}"));
    let src = inner.as_bytes();
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i] != b'\\' {
            out.push(src[i]);
            i += 1;
            continue;
        }
        let esc = src[i + 1];
        i += 2;
        match esc {
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(&src[i..i + 2]).expect("hex escape");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 2;
            }
            other => panic!("unexpected escape \\{}", char::from(other)),
        }
    }
    out
}

#[test]
fn unescaper_handles_every_escape() {
    assert_eq!(
        unescape_bytes_literal(r"b'a\\b\'c\r\n\t\x00\xff'"),
        b"a\\b'c\r\n\t\x00\xff".to_vec()
    );
}
