//! Why a run could not go on: each says what was sent and what the server answered.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::client::msnp_error_meaning;

#[derive(Debug)]
pub enum LoadError {
    /// A bad option; nothing was sent.
    Options(String),
    /// No connection: the system's error.
    Connect {
        addr: SocketAddr,
        source: Option<IpAddr>,
        io: io::Error,
    },
    /// The server answered `stage` (the line `sent`, secrets masked) with an error line.
    Refused {
        who: String,
        stage: &'static str,
        sent: String,
        line: String,
        code: u16,
    },
    /// The server closed (or reset) the connection after `sent`. `out` is its `OUT`
    /// line, if it said one.
    Closed {
        who: String,
        stage: &'static str,
        sent: String,
        out: Option<String>,
        reset: bool,
    },
    /// No answer to `sent` in time.
    Timeout {
        who: String,
        stage: &'static str,
        sent: String,
        after: Duration,
    },
    /// An answer that is not what MSNP says, or not what the run needs.
    Protocol { who: String, detail: String },
    /// The Passport login (MSNP8+) failed.
    Passport { who: String, detail: String },
}

impl LoadError {
    /// The same refusal for every connection it happened to, without the account or
    /// TrIDs: hold mode counts refusals by it.
    pub fn reason(&self) -> String {
        match self {
            LoadError::Options(s) => s.clone(),
            LoadError::Connect { io, .. } => format!("cannot connect: {io}"),
            LoadError::Refused { stage, code, .. } => {
                format!("{code} ({}) to {stage}", msnp_error_meaning(*code))
            }
            // A reset only means our line reached a socket the server had already
            // closed: the same refusal as a close.
            LoadError::Closed { stage, out, .. } => match out {
                Some(out) => format!("`{out}` and closed, after {stage}"),
                None => format!("closed by the server after {stage}, no reply"),
            },
            LoadError::Timeout { stage, after, .. } => {
                format!("no answer to {stage} within {}", crate::net::seconds(*after))
            }
            LoadError::Protocol { detail, .. } => detail.clone(),
            LoadError::Passport { detail, .. } => format!("Passport: {detail}"),
        }
    }

    /// Options errors are the user's to fix; the command line says so with exit code 2.
    pub fn is_usage(&self) -> bool {
        matches!(self, LoadError::Options(_))
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Options(s) => f.write_str(s),
            LoadError::Connect { addr, source, io } => match source {
                Some(ip) => write!(f, "cannot connect to {addr} from {ip}: {io}"),
                None => write!(f, "cannot connect to {addr}: {io}"),
            },
            LoadError::Refused {
                who, sent, line, code, ..
            } => write!(
                f,
                "{who}: the server answered `{sent}` with `{line}` ({code}: {})",
                msnp_error_meaning(*code)
            ),
            LoadError::Closed {
                who, sent, out, reset, ..
            } => {
                let how = if *reset { "reset" } else { "closed" };
                match out {
                    Some(out) => write!(
                        f,
                        "{who}: the server said `{out}` and {how} the connection after `{sent}`"
                    ),
                    None => write!(
                        f,
                        "{who}: the server {how} the connection after `{sent}` without answering it \
                         (msgr serve closes connections past its caps, max_connections and \
                         max_per_address, without a word)"
                    ),
                }
            }
            LoadError::Timeout { who, sent, after, .. } => {
                write!(f, "{who}: no answer to `{sent}` within {}", crate::net::seconds(*after))
            }
            LoadError::Protocol { who, detail } => write!(f, "{who}: {detail}"),
            LoadError::Passport { who, detail } => write!(f, "{who}: the Passport login failed: {detail}"),
        }
    }
}

impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_server_and_reasons_drop_the_details() {
        let refused = LoadError::Refused {
            who: "load3@example.com".into(),
            stage: "USR MD5 S",
            sent: "USR 4 MD5 S ***".into(),
            line: "911 4".into(),
            code: 911,
        };
        assert_eq!(
            refused.to_string(),
            "load3@example.com: the server answered `USR 4 MD5 S ***` with `911 4` (911: authentication failed)"
        );
        assert_eq!(refused.reason(), "911 (authentication failed) to USR MD5 S");
        let closed = LoadError::Closed {
            who: "load9@example.com".into(),
            stage: "VER",
            sent: "VER 1 MSNP7 CVR0".into(),
            out: None,
            reset: false,
        };
        assert!(closed
            .to_string()
            .contains("after `VER 1 MSNP7 CVR0` without answering it"));
        assert_eq!(closed.reason(), "closed by the server after VER, no reply");
        let oth = LoadError::Closed {
            who: "a@b.c".into(),
            stage: "CHG",
            sent: "CHG 5 NLN".into(),
            out: Some("OUT OTH".into()),
            reset: false,
        };
        assert_eq!(oth.reason(), "`OUT OTH` and closed, after CHG");
        assert!(!oth.is_usage() && LoadError::Options("x".into()).is_usage());
    }
}
