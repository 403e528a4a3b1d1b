//! Shared vocabulary of the two engines: connection ids, the clock, the dialects, and
//! the typed notification-server and switchboard messages both engines speak.

pub mod dialect;
pub mod groups;
pub mod ns;
pub mod sb;

use std::time::Duration;

pub use dialect::{Auth, Dialect};

use crate::wire::{Command, Direction};

/// A typed MSNP message: read from a framed command, built back into one, in a dialect
/// (None before `VER` has agreed one).
pub trait Message: Sized {
    /// Which way it travels, which decides whether a payload follows its line.
    const DIRECTION: Direction;
    fn parse(cmd: &Command, dialect: Option<Dialect>) -> Self;
    fn to_command(&self, dialect: Option<Dialect>) -> Command;
}

/// Implements [`Message`] with a type's own `parse` and `to_command`.
macro_rules! message {
    ($ty:ty, $dir:expr) => {
        impl crate::proto::Message for $ty {
            const DIRECTION: crate::wire::Direction = $dir;
            fn parse(cmd: &crate::wire::Command, dialect: Option<crate::proto::Dialect>) -> Self {
                <$ty>::parse(cmd, dialect)
            }
            fn to_command(&self, dialect: Option<crate::proto::Dialect>) -> crate::wire::Command {
                <$ty>::to_command(self, dialect)
            }
        }
    };
}
use message;

/// Each `(bytes, message)`: the bytes read as the message, and the message builds
/// exactly the bytes.
#[cfg(test)]
pub(crate) fn assert_round_trips<M: Message + PartialEq + std::fmt::Debug>(cases: Vec<(&[u8], M)>) {
    assert_round_trips_in(Dialect::Msnp7, cases);
}

/// [`assert_round_trips`] in a given dialect.
#[cfg(test)]
pub(crate) fn assert_round_trips_in<M: Message + PartialEq + std::fmt::Debug>(
    dialect: Dialect,
    cases: Vec<(&[u8], M)>,
) {
    for (bytes, typed) in cases {
        let mut d = crate::wire::Decoder::new(M::DIRECTION);
        d.push(bytes);
        let c = d.next_command().unwrap().expect("one command");
        assert_eq!(M::parse(&c, Some(dialect)), typed, "{dialect}: {bytes:?}");
        assert_eq!(
            String::from_utf8_lossy(&typed.to_command(Some(dialect)).encode()),
            String::from_utf8_lossy(bytes),
            "{dialect}: {typed:?}"
        );
    }
}

/// A connection, numbered by whoever drives the engine.
pub type ConnId = u64;

/// Time on the driver's clock (virtual in embedded mode, monotonic on the network).
pub type Instant = Duration;

/// Windows Messenger's own client pair, used for the service's `CHL 0` pings
/// (reference msnp.md §d.3). It is public knowledge, so it can never unlock an app.
pub const CLIENT_ID: &str = "msmsgs@msnmsgr.com";
pub const CLIENT_KEY: &str = "Q1P7W2E4J9R8U3S5";

/// The client pairs of MSNP6–10, answered with MD5(challenge ‖ key) (msnp8-12.md §i).
pub const MD5_CLIENT_PAIRS: &[(&str, &str)] = &[
    (CLIENT_ID, CLIENT_KEY),
    ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR"),
    ("PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B"),
    ("PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M"),
    ("PROD00504RLUG%WL", "I2EBK%PYNLZL5_J4"),
    ("PROD0076ENE8*@AW", "CEQJ8}OE0!WTSWII"),
];

/// The client pairs of MSNP11 and 12, answered with the advanced algorithm: MSN 7.0's
/// (every public test vector's), MSN 7.0.0813's (BitlBee, Kopete…), MSN 7.5's.
pub const MSNP11_CLIENT_PAIRS: &[(&str, &str)] = &[
    ("PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL"),
    ("PROD0101{0RM?UBW", "CFHUR$52U_{VIX5T"),
    ("PROD0104U6VVM{UJ", "VK67B}379XYM5}$T"),
];

/// The answer to a service ping (`CHL 0 …`) with client pair `(id, key)` in `dialect`.
pub fn ping_response(dialect: Option<Dialect>, challenge: &str, id: &str, key: &str) -> String {
    if dialect.is_some_and(|d| d >= Dialect::Msnp11) {
        crate::wire::challenge::msnp11_response(challenge, id, key)
    } else {
        crate::wire::challenge::md5_response(challenge, key)
    }
}

/// The client pairs a service ping may be answered with in `dialect`.
pub fn ping_pairs(dialect: Option<Dialect>) -> &'static [(&'static str, &'static str)] {
    if dialect.is_some_and(|d| d >= Dialect::Msnp11) {
        MSNP11_CLIENT_PAIRS
    } else {
        MD5_CLIENT_PAIRS
    }
}

/// Longest app id (or key) accepted for Lock and Key; ours, the docs give none.
pub const MAX_APP_ID: usize = 128;

/// How long a challenge stays answerable, on both sides (msnp.md §d.1: about 50 s).
pub const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(50);

/// The profile header by which our service tells clients whether Lock and Key applies.
/// Servers that do not send it (every legacy one) are treated as .NET services.
pub const LOCK_AND_KEY_HEADER: &str = "X-Msgr-LockAndKey";

/// A sign-in name as the service accepts it: `local@domain.tld`, printable ASCII,
/// no spaces, at most 129 characters (the MSNP friendly-name bound is the same).
pub fn valid_sign_in_name(name: &str) -> bool {
    let Some((local, domain)) = name.split_once('@') else {
        return false;
    };
    name.len() <= 129
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && name.bytes().all(|b| b.is_ascii_graphic())
}

/// Product ids and app ids go on the wire as one parameter.
pub fn valid_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_names() {
        for ok in ["a@b.com", "t1h@hotmail.com", "first.last+tag@example.co.uk"] {
            assert!(valid_sign_in_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a@b.",
            "a b@c.com",
            "a@b@c.com",
            "é@b.com",
        ] {
            assert!(!valid_sign_in_name(bad), "{bad}");
        }
        assert!(!valid_sign_in_name(&format!("{}@b.com", "a".repeat(124))));
        assert!(valid_sign_in_name(&format!("{}@b.com", "a".repeat(123))));
    }
}
