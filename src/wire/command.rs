//! One MSNP command: a name, its parameters and an optional payload (msnp.md §a.2–a.3).

use std::fmt;

use super::WireError;

/// A decoded or to-be-sent command.
///
/// `args` holds every parameter after the name exactly as on the wire (still URL-encoded),
/// including the TrID and, for payload commands, the trailing byte count. Keeping the raw
/// strings means `encode()` reproduces received bytes exactly, which relaying depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub args: Vec<String>,
    pub payload: Option<Vec<u8>>,
}

/// Server-initiated commands whose first parameter is never a TrID, even when it is a number
/// (`RNG <session-id>`, `NOT <len>`, `QNG <seconds>` …).
const NO_TRID: [&str; 10] = ["RNG", "JOI", "BYE", "NLN", "FLN", "OUT", "NOT", "IPG", "QNG", "PNG"];

impl Command {
    /// A command without payload. Arguments must already be URL-encoded where needed.
    pub fn new(name: &str, args: impl IntoIterator<Item = impl Into<String>>) -> Result<Command, WireError> {
        validate_name(name)?;
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        for arg in &args {
            validate_arg(arg)?;
        }
        Ok(Command {
            name: name.to_string(),
            args,
            payload: None,
        })
    }

    /// A payload command; the byte count is appended as the last argument.
    pub fn with_payload(
        name: &str,
        args: impl IntoIterator<Item = impl Into<String>>,
        payload: Vec<u8>,
    ) -> Result<Command, WireError> {
        let mut cmd = Command::new(name, args)?;
        cmd.args.push(payload.len().to_string());
        cmd.payload = Some(payload);
        Ok(cmd)
    }

    /// The wire bytes: `NAME arg…\r\n` followed by the payload, with no CR LF after it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        for arg in &self.args {
            out.push(b' ');
            out.extend_from_slice(arg.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(payload) = &self.payload {
            out.extend_from_slice(payload);
        }
    }

    /// The transaction ID, if this command carries one.
    pub fn trid(&self) -> Option<u32> {
        if NO_TRID.contains(&self.name.as_str()) {
            return None;
        }
        let first = self.args.first()?;
        if !is_digits(first) {
            return None;
        }
        first.parse().ok()
    }

    /// Error replies have a three-digit number where the name would be (msnp.md §a.5).
    pub fn is_error(&self) -> bool {
        self.name.len() == 3 && is_digits(&self.name)
    }

    pub fn error_code(&self) -> Option<u16> {
        if self.is_error() {
            self.name.parse().ok()
        } else {
            None
        }
    }

    /// The command line without CR LF.
    pub fn line(&self) -> String {
        let mut line = self.name.clone();
        for arg in &self.args {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())?;
        if let Some(payload) = &self.payload {
            write!(f, "\r\n{}", String::from_utf8_lossy(payload))?;
        }
        Ok(())
    }
}

pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn validate_name(name: &str) -> Result<(), WireError> {
    let b = name.as_bytes();
    let ok = b.len() == 3 && (b.iter().all(u8::is_ascii_uppercase) || b.iter().all(u8::is_ascii_digit));
    if ok {
        Ok(())
    } else {
        Err(WireError::BadCommandName(name.to_string()))
    }
}

fn validate_arg(arg: &str) -> Result<(), WireError> {
    let bad = arg.is_empty() || arg.chars().any(|c| c == ' ' || c.is_ascii_control());
    if bad {
        Err(WireError::BadParameter(arg.to_string()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [&str; 0] = [];

    #[test]
    fn encodes_plain_and_payload_commands() {
        let ver = Command::new("VER", ["1", "MSNP8", "CVR0"]).unwrap();
        assert_eq!(ver.encode(), b"VER 1 MSNP8 CVR0\r\n");
        assert_eq!(ver.line(), "VER 1 MSNP8 CVR0");

        let out = Command::new("OUT", NONE).unwrap();
        assert_eq!(out.encode(), b"OUT\r\n");

        let qry = Command::with_payload(
            "QRY",
            ["7", "msmsgs@msnmsgr.com"],
            b"e1280df483ca2ff34bbf499add12a3a9".to_vec(),
        )
        .unwrap();
        assert_eq!(qry.args.last().map(String::as_str), Some("32"));
        assert_eq!(
            qry.encode(),
            b"QRY 7 msmsgs@msnmsgr.com 32\r\ne1280df483ca2ff34bbf499add12a3a9"
        );

        let mut buf = b"prefix".to_vec();
        qry.encode_into(&mut buf);
        assert!(buf.starts_with(b"prefixQRY 7 "));
    }

    #[test]
    fn validates_names_and_args() {
        for bad in ["ms g", "msg", "MS", "MSGX", "5400", "5A0", "", "ÄBC"] {
            assert_eq!(Command::new(bad, NONE), Err(WireError::BadCommandName(bad.to_string())));
        }
        assert!(Command::new("540", ["7"]).is_ok());
        for bad in ["", "a b", "a\r", "b\n", "tab\t", "nul\0", "del\x7f"] {
            assert_eq!(
                Command::new("CHG", ["6", bad]),
                Err(WireError::BadParameter(bad.to_string()))
            );
        }
        assert!(Command::new("REA", ["9", "x@y.z", "Caf%C3%A9", "é"]).is_ok());
    }

    #[test]
    fn trid_rules() {
        let c = |line: &str| {
            let mut parts = line.split(' ');
            let name = parts.next().unwrap();
            Command::new(name, parts).unwrap()
        };
        assert_eq!(c("USR 3 MD5 I t1h@hotmail.com").trid(), Some(3));
        assert_eq!(c("CHL 0 59552889518292466394").trid(), Some(0));
        assert_eq!(c("QRY 7").trid(), Some(7));
        assert_eq!(c("540 7").trid(), Some(7));
        assert_eq!(c("ACK 4294967295").trid(), Some(u32::MAX));
        assert_eq!(c("ACK 4294967296").trid(), None);
        assert_eq!(c("MSG Hotmail Hotmail 12").trid(), None);
        assert_eq!(c("RNG 11752013 127.0.0.1:1864 CKI x a@b.c A").trid(), None);
        assert_eq!(c("NOT 120").trid(), None);
        assert_eq!(c("IPG 120").trid(), None);
        assert_eq!(c("QNG 50").trid(), None);
        assert_eq!(c("JOI t2e@example.com T2e").trid(), None);
        assert_eq!(Command::new("OUT", NONE).unwrap().trid(), None);
        assert_eq!(Command::new("PNG", NONE).unwrap().trid(), None);
    }

    #[test]
    fn error_replies() {
        let e = Command::new("540", ["7"]).unwrap();
        assert!(e.is_error());
        assert_eq!(e.error_code(), Some(540));
        let ok = Command::new("QRY", ["7"]).unwrap();
        assert!(!ok.is_error());
        assert_eq!(ok.error_code(), None);
    }

    #[test]
    fn display_shows_line_and_payload() {
        let msg = Command::with_payload("MSG", ["3", "N"], b"A: b\r\n\r\nhi".to_vec()).unwrap();
        assert_eq!(msg.to_string(), "MSG 3 N 10\r\nA: b\r\n\r\nhi");
        let bin = Command::with_payload("MSG", ["3", "D"], vec![0xff, b'x']).unwrap();
        assert_eq!(bin.to_string(), "MSG 3 D 2\r\n\u{FFFD}x");
        assert_eq!(Command::new("OUT", NONE).unwrap().to_string(), "OUT");
    }
}
