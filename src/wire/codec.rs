//! Incremental framing of an MSNP byte stream into [`Command`]s (msnp.md §a.2–a.3).
//!
//! The decoder is sans-I/O: push whatever bytes arrived, then pull commands until it says it
//! needs more. Results never depend on how the stream was chunked.

use super::command::{is_digits, validate_name};
use super::{Command, WireError};

/// Which way the bytes travel. Needed because whether a payload follows depends on it:
/// the client's `QRY` carries a payload, the server's `QRY <trid>` reply does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

const DEFAULT_MAX_LINE: usize = 8192;
const DEFAULT_MAX_PAYLOAD: usize = 65536;
/// Most buffer capacity a decoder keeps once it has nothing buffered.
const KEEP_IDLE: usize = 1024;

/// The parameter that must hold the payload byte count, when `name` is a payload command in
/// this direction with enough parameters to have one.
fn length_arg<'a>(dir: Direction, name: &str, args: &'a [String]) -> Option<&'a str> {
    let min_args = match (dir, name) {
        (_, "MSG") => 3,
        (Direction::ClientToServer, "QRY") => 3,
        // MSNP11+: a personal message, the server's relay of one, a policy file.
        (Direction::ClientToServer, "UUX") => 2,
        (Direction::ServerToClient, "UBX") => 2,
        (Direction::ServerToClient, "GCF") => 3,
        (Direction::ServerToClient, "NOT" | "IPG") => 1,
        _ => return None,
    };
    if args.len() < min_args {
        return None;
    }
    args.last().map(String::as_str)
}

/// Whether a payload follows this command line.
pub fn payload_follows(dir: Direction, name: &str, args: &[String]) -> bool {
    length_arg(dir, name, args).is_some_and(is_digits)
}

/// A command line whose payload has not fully arrived yet.
#[derive(Clone, Debug)]
struct Pending {
    cmd: Command,
    line_len: usize,
    payload_len: usize,
}

/// Incremental MSNP decoder for one direction of one connection.
#[derive(Clone, Debug)]
pub struct Decoder {
    dir: Direction,
    max_line: usize,
    max_payload: usize,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`; compacted lazily in `push`.
    start: usize,
    /// How far past `start` we already know there is no LF, so byte-at-a-time input stays linear.
    scanned: usize,
    pending: Option<Pending>,
    /// Framing errors leave the stream position unknown, so the decoder stays failed.
    failed: Option<WireError>,
}

impl Decoder {
    pub fn new(dir: Direction) -> Self {
        Self::with_limits(dir, DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD)
    }

    pub fn with_limits(dir: Direction, max_line: usize, max_payload: usize) -> Self {
        Decoder {
            dir,
            max_line,
            max_payload,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            pending: None,
            failed: None,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as part of a command.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete command, `Ok(None)` if more bytes are needed.
    pub fn next_command(&mut self) -> Result<Option<Command>, WireError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.step() {
            Ok(None) => {
                self.release_if_idle();
                Ok(None)
            }
            Ok(cmd) => Ok(cmd),
            Err(err) => {
                self.failed = Some(err.clone());
                self.buf = Vec::new();
                self.start = 0;
                self.scanned = 0;
                self.pending = None;
                Err(err)
            }
        }
    }

    fn step(&mut self) -> Result<Option<Command>, WireError> {
        loop {
            if let Some(p) = self.pending.take() {
                let end = self.start + p.line_len + p.payload_len;
                if self.buf.len() < end {
                    self.pending = Some(p);
                    return Ok(None);
                }
                let mut cmd = p.cmd;
                cmd.payload = Some(self.buf[self.start + p.line_len..end].to_vec());
                self.consume_to(end);
                return Ok(Some(cmd));
            }

            let from = self.scanned.max(self.start);
            let Some(nl) = self.buf[from..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buf.len();
                if self.buffered() > self.max_line {
                    return Err(WireError::LineTooLong { limit: self.max_line });
                }
                return Ok(None);
            };
            let nl = from + nl;
            if nl - self.start > self.max_line {
                return Err(WireError::LineTooLong { limit: self.max_line });
            }
            let line_len = nl + 1 - self.start;
            let Some(cmd) = parse_line(&self.buf[self.start..nl])? else {
                self.consume_to(nl + 1);
                continue;
            };
            match self.payload_len(&cmd)? {
                None => {
                    self.consume_to(nl + 1);
                    return Ok(Some(cmd));
                }
                Some(payload_len) => {
                    self.pending = Some(Pending {
                        cmd,
                        line_len,
                        payload_len,
                    });
                }
            }
        }
    }

    /// With everything consumed, a buffer grown by a burst is given back: an idle
    /// connection should hold (almost) nothing.
    fn release_if_idle(&mut self) {
        if self.pending.is_none() && self.start == self.buf.len() && self.buf.capacity() > KEEP_IDLE {
            self.buf = Vec::new();
            self.start = 0;
            self.scanned = 0;
        }
    }

    fn consume_to(&mut self, end: usize) {
        self.start = end;
        self.scanned = end;
    }

    fn payload_len(&self, cmd: &Command) -> Result<Option<usize>, WireError> {
        let Some(arg) = length_arg(self.dir, &cmd.name, &cmd.args) else {
            return Ok(None);
        };
        if !is_digits(arg) {
            return Err(WireError::BadPayloadLength(arg.to_string()));
        }
        // All digits, so a parse failure can only mean it overflowed.
        let len = arg.parse::<usize>().unwrap_or(usize::MAX);
        if len > self.max_payload {
            return Err(WireError::PayloadTooLarge {
                len,
                limit: self.max_payload,
            });
        }
        Ok(Some(len))
    }
}

/// Parses one line (without its LF). `Ok(None)` for blank lines, which peers may send between
/// commands (a stray CR LF after a payload, keep-alive newlines).
fn parse_line(line: &[u8]) -> Result<Option<Command>, WireError> {
    let line = std::str::from_utf8(line).map_err(|_| WireError::NotUtf8)?;
    let mut parts = line
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .split(' ')
        .filter(|p| !p.is_empty());
    let Some(name) = parts.next() else {
        return Ok(None);
    };
    validate_name(name)?;
    Ok(Some(Command {
        name: name.to_string(),
        args: parts.map(str::to_string).collect(),
        payload: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::transcript;
    use proptest::prelude::*;
    use Direction::{ClientToServer as C2S, ServerToClient as S2C};

    /// Decodes `input` fed in chunks of the given sizes (cycled), stopping at the first error.
    fn decode_chunked(dec: &mut Decoder, input: &[u8], sizes: &[usize]) -> (Vec<Command>, Option<WireError>) {
        let mut out = Vec::new();
        let mut rest = input;
        let mut sizes = sizes.iter().cycle();
        loop {
            loop {
                match dec.next_command() {
                    Ok(Some(cmd)) => out.push(cmd),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
            if rest.is_empty() {
                return (out, None);
            }
            let n = sizes.next().copied().unwrap_or(usize::MAX).clamp(1, rest.len());
            dec.push(&rest[..n]);
            rest = &rest[n..];
        }
    }

    /// Irregular chunkings every example input is also decoded with.
    const CHUNKINGS: [&[usize]; 5] = [&[2], &[3, 1], &[7, 1, 13], &[40, 1, 1, 5], &[11, 29, 2, 17, 3]];

    /// Every chunking (whole, byte by byte, each of `chunkings`) must give the same answer;
    /// returns it.
    fn decode_chunked_ways(
        dir: Direction,
        limits: (usize, usize),
        input: &[u8],
        chunkings: &[&[usize]],
    ) -> (Vec<Command>, Option<WireError>) {
        let new = || Decoder::with_limits(dir, limits.0, limits.1);
        let whole = decode_chunked(&mut new(), input, &[usize::MAX]);
        let bytewise = decode_chunked(&mut new(), input, &[1]);
        assert_eq!(whole, bytewise, "byte-at-a-time differs for {input:?}");
        for sizes in chunkings {
            let chunked = decode_chunked(&mut new(), input, sizes);
            assert_eq!(whole, chunked, "chunks of {sizes:?} differ for {input:?}");
        }
        whole
    }

    fn decode_all_ways(dir: Direction, limits: (usize, usize), input: &[u8]) -> (Vec<Command>, Option<WireError>) {
        decode_chunked_ways(dir, limits, input, &CHUNKINGS)
    }

    fn decode_ok(dir: Direction, input: &[u8]) -> Vec<Command> {
        let (cmds, err) = decode_all_ways(dir, (DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD), input);
        assert_eq!(err, None);
        cmds
    }

    fn decode_err(dir: Direction, limits: (usize, usize), input: &[u8]) -> WireError {
        let (_, err) = decode_all_ways(dir, limits, input);
        err.expect("expected an error")
    }

    #[test]
    fn round_trips_in_both_directions() {
        let cmds = [
            (C2S, Command::new("VER", ["1", "MSNP8", "CVR0"]).unwrap()),
            (
                C2S,
                Command::with_payload("MSG", ["3", "N"], b"A: b\r\n\r\n".to_vec()).unwrap(),
            ),
            (C2S, Command::with_payload("QRY", ["7", "id"], vec![b'0'; 32]).unwrap()),
            (S2C, Command::new("QRY", ["7"]).unwrap()),
            (
                S2C,
                Command::with_payload("MSG", ["a@b.c", "A%20B"], b"x".to_vec()).unwrap(),
            ),
            (
                S2C,
                Command::with_payload("NOT", [] as [&str; 0], b"<NOTIFICATION/>".to_vec()).unwrap(),
            ),
            (S2C, Command::with_payload("IPG", [] as [&str; 0], Vec::new()).unwrap()),
            (S2C, Command::new("540", ["7"]).unwrap()),
            (
                C2S,
                Command::with_payload("UUX", ["8"], b"<Data><PSM>x</PSM></Data>".to_vec()).unwrap(),
            ),
            (S2C, Command::new("UUX", ["8", "0"]).unwrap()),
            (
                S2C,
                Command::with_payload("UBX", ["bob@example.com"], b"<Data/>".to_vec()).unwrap(),
            ),
            (
                S2C,
                Command::with_payload("GCF", ["6", "Shields.xml"], b"<config/>".to_vec()).unwrap(),
            ),
            (C2S, Command::new("GCF", ["6", "Shields.xml"]).unwrap()),
        ];
        for (dir, cmd) in cmds {
            assert_eq!(decode_ok(dir, &cmd.encode()), vec![cmd.clone()]);
            // Back to back with another command: the payload must end exactly at its count.
            let mut two = cmd.encode();
            two.extend_from_slice(b"OUT\r\n");
            let got = decode_ok(dir, &two);
            assert_eq!(got.len(), 2, "{cmd}");
            assert_eq!(got[0], cmd);
        }
    }

    #[test]
    fn fixture_transcripts_decode_record_by_record_and_as_streams() {
        for file in ["msnp7_md5_login.txt", "msnp8_sb_invite.txt"] {
            let records = transcript(file);
            assert!(records.len() > 20, "{file}");
            let mut streams: Vec<(String, Direction, Vec<u8>, Vec<Command>)> = Vec::new();
            for rec in &records {
                let cmds = decode_ok(rec.dir, &rec.bytes);
                assert_eq!(cmds.len(), 1, "{file}: {:?}", rec.bytes);
                assert_eq!(cmds[0].encode(), rec.bytes, "{file}");
                let key = |s: &&mut (String, Direction, Vec<u8>, Vec<Command>)| s.0 == rec.connection && s.1 == rec.dir;
                match streams.iter_mut().find(|s| key(s)) {
                    Some(s) => {
                        s.2.extend_from_slice(&rec.bytes);
                        s.3.push(cmds[0].clone());
                    }
                    None => streams.push((rec.connection.clone(), rec.dir, rec.bytes.clone(), cmds)),
                }
            }
            for (conn, dir, bytes, expected) in streams {
                assert_eq!(decode_ok(dir, &bytes), expected, "{file} {conn} {dir:?}");
            }
        }
    }

    #[test]
    fn qry_payload_depends_on_direction() {
        let server = decode_ok(S2C, b"QRY 7\r\n");
        assert_eq!(server, vec![Command::new("QRY", ["7"]).unwrap()]);

        let mut client = b"QRY 7 id 32\r\n".to_vec();
        client.extend_from_slice(&[b'a'; 32]);
        let got = decode_ok(C2S, &client);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.as_deref(), Some(&[b'a'; 32][..]));

        // Client QRY without enough bytes yet: waits rather than guessing.
        let mut dec = Decoder::new(C2S);
        dec.push(b"QRY 7 id 32\r\nabc");
        assert_eq!(dec.next_command(), Ok(None));
        assert_eq!(dec.buffered(), 16);
    }

    #[test]
    fn errors_and_short_commands_have_no_payload() {
        for dir in [C2S, S2C] {
            let got = decode_ok(dir, b"540 7\r\n911 3\r\n");
            assert_eq!(got.len(), 2);
            assert!(got.iter().all(|c| c.payload.is_none() && c.is_error()));
        }
        // A server MSG with too few parameters to carry a count is a plain line.
        assert_eq!(decode_ok(S2C, b"MSG 5\r\n")[0].payload, None);
        // NOT/IPG are only payload commands from the server.
        assert_eq!(decode_ok(C2S, b"NOT 5\r\n")[0].payload, None);
    }

    #[test]
    fn accepts_bare_lf_blank_lines_and_extra_spaces() {
        let got = decode_ok(
            S2C,
            b"\r\n\n  \t\r\nVER 1 MSNP8\n  CHL  0   123  \r\n\r\nMSG a@b.c A 2\nhi",
        );
        let lines: Vec<String> = got.iter().map(Command::line).collect();
        assert_eq!(lines, ["VER 1 MSNP8", "CHL 0 123", "MSG a@b.c A 2"]);
        assert_eq!(got[2].payload.as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn malformed_input_is_fatal() {
        let d = (DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD);
        assert_eq!(
            decode_err(C2S, d, b"ms g 1\r\n"),
            WireError::BadCommandName("ms".into())
        );
        assert_eq!(
            decode_err(S2C, d, b"VER 1\r\nmsg 1\r\n"),
            WireError::BadCommandName("msg".into())
        );
        assert_eq!(
            decode_err(C2S, d, b"MSG 1 N 1x\r\n"),
            WireError::BadPayloadLength("1x".into())
        );
        assert_eq!(
            decode_err(S2C, d, b"NOT -5\r\n"),
            WireError::BadPayloadLength("-5".into())
        );
        assert_eq!(
            decode_err(C2S, (16, 100), b"VER 1 MSNP8 CVR0 MSNP7\r\n"),
            WireError::LineTooLong { limit: 16 }
        );
        // Exactly at the limit (CR included) is fine.
        assert_eq!(decode_all_ways(C2S, (14, 100), b"VER 1 MSNP8 X\r\n").1, None);
        assert_eq!(
            decode_all_ways(C2S, (13, 100), b"VER 1 MSNP8 X\r\n").1,
            Some(WireError::LineTooLong { limit: 13 })
        );
        assert_eq!(
            decode_err(C2S, (100, 10), b"MSG 1 N 11\r\nhello world"),
            WireError::PayloadTooLarge { len: 11, limit: 10 }
        );
        assert_eq!(
            decode_err(C2S, (100, 10), b"MSG 1 N 99999999999999999999999\r\n"),
            WireError::PayloadTooLarge {
                len: usize::MAX,
                limit: 10
            }
        );
        assert_eq!(decode_err(S2C, d, b"VER 1 \xff\r\n"), WireError::NotUtf8);
    }

    #[test]
    fn too_long_line_is_detected_without_a_newline() {
        let mut dec = Decoder::with_limits(C2S, 32, 100);
        dec.push(&[b'A'; 32]);
        assert_eq!(dec.next_command(), Ok(None));
        dec.push(b"A");
        let err = WireError::LineTooLong { limit: 32 };
        assert_eq!(dec.next_command(), Err(err.clone()));
        // Failed for good, and no longer buffering.
        dec.push(b"\r\nOUT\r\n");
        assert_eq!(dec.next_command(), Err(err.clone()));
        assert_eq!(dec.next_command(), Err(err));
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn error_state_is_sticky_after_good_commands() {
        let mut dec = Decoder::new(S2C);
        dec.push(b"VER 1 MSNP8\r\nB@D 2\r\nCHL 0 1\r\n");
        assert!(matches!(dec.next_command(), Ok(Some(_))));
        let err = WireError::BadCommandName("B@D".into());
        for _ in 0..3 {
            assert_eq!(dec.next_command(), Err(err.clone()));
        }
    }

    #[test]
    fn payload_follows_rules() {
        let a = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(payload_follows(C2S, "MSG", &a("1 N 5")));
        assert!(payload_follows(S2C, "MSG", &a("a@b.c Name 5")));
        assert!(!payload_follows(S2C, "MSG", &a("a@b.c 5")));
        assert!(payload_follows(C2S, "QRY", &a("7 id 32")));
        assert!(!payload_follows(S2C, "QRY", &a("7 id 32")));
        assert!(!payload_follows(C2S, "QRY", &a("7")));
        assert!(payload_follows(S2C, "NOT", &a("12")));
        assert!(payload_follows(S2C, "IPG", &a("12")));
        assert!(!payload_follows(C2S, "NOT", &a("12")));
        assert!(!payload_follows(S2C, "540", &a("7")));
        assert!(!payload_follows(C2S, "MSG", &a("1 N x")));
    }

    /// MSNP-like streams: command lines (payload and not, both line endings), blank lines,
    /// odd spacing, overlong counts and invalid UTF-8, mixed with short runs of random bytes.
    fn msnp_like_stream() -> impl Strategy<Value = Vec<u8>> {
        const PIECES: &[&[u8]] = &[
            b"MSG 1 N 5\r\n",
            b"MSG a@b c 3\n",
            b"QRY 7 id 32\r\n",
            b"QRY 7\r\n",
            b"NOT 4\r\n",
            b"540 7\r\n",
            b"\r\n",
            b" ",
            b"99999999999999999999",
            b"\xff\xfe",
            b"OUT",
            b"\n",
        ];
        let piece = prop_oneof![
            prop::sample::select(PIECES).prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Never panics, and how the stream is chunked never changes the commands or the error.
        #[test]
        fn chunking_never_changes_the_result(
            input in msnp_like_stream(),
            dir in prop_oneof![Just(C2S), Just(S2C)],
            max_line in 1..=64usize,
            max_payload in 0..64usize,
            chunkings in prop::collection::vec(prop::collection::vec(1..=40usize, 1..16), 5),
        ) {
            let chunkings: Vec<&[usize]> = chunkings.iter().map(Vec::as_slice).collect();
            decode_chunked_ways(dir, (max_line, max_payload), &input, &chunkings);
        }
    }
}
