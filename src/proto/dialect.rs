//! MSNP dialects and `VER` negotiation (msnp.md §b.2, msnp8-12.md §b.1).
//!
//! The dialect is a value both engines carry in their configuration (the versions they
//! support) and in each notification connection (the version agreed), as quinn carries
//! its supported QUIC versions: the typed messages ([`super::ns`], [`super::sb`]) take
//! it wherever the wire shape differs.

use std::fmt;
use std::str::FromStr;

/// A version of the MSN protocol, by its `VER` token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Msnp7,
    Msnp8,
    Msnp9,
    Msnp10,
    Msnp11,
    Msnp12,
}

/// How a dialect signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `INF`, then `USR MD5 I/S`: the proof is MD5(salt ‖ password) (MSNP2–7).
    Md5,
    /// `USR TWN I/S` with a Passport ticket (MSNP8–14).
    Twn,
}

impl Dialect {
    /// Every dialect msgr knows, oldest first.
    pub const ALL: [Dialect; 6] = [
        Dialect::Msnp7,
        Dialect::Msnp8,
        Dialect::Msnp9,
        Dialect::Msnp10,
        Dialect::Msnp11,
        Dialect::Msnp12,
    ];

    /// The dialects both engines speak: all of them.
    pub const IMPLEMENTED: [Dialect; 6] = Dialect::ALL;

    /// What a client offers unless told otherwise: Windows Messenger 4.x's dialect,
    /// the one needing no Passport nexus.
    pub const CLIENT_DEFAULT: Dialect = Dialect::Msnp7;

    pub const fn as_str(self) -> &'static str {
        match self {
            Dialect::Msnp7 => "MSNP7",
            Dialect::Msnp8 => "MSNP8",
            Dialect::Msnp9 => "MSNP9",
            Dialect::Msnp10 => "MSNP10",
            Dialect::Msnp11 => "MSNP11",
            Dialect::Msnp12 => "MSNP12",
        }
    }

    /// The dialect a `VER` token names (exactly, as on the wire).
    pub fn from_token(token: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == token)
    }

    pub const fn auth(self) -> Auth {
        match self {
            Dialect::Msnp7 => Auth::Md5,
            _ => Auth::Twn,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dialect name that is not one of [`Dialect::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown MSNP dialect {0:?}: expected one of MSNP7 to MSNP12")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// Accepts any case (`"msnp11"`), as a user would type it.
    fn from_str(s: &str) -> Result<Dialect, UnknownDialect> {
        Dialect::from_token(&s.trim().to_ascii_uppercase()).ok_or_else(|| UnknownDialect(s.to_string()))
    }
}

/// The server's choice: the best dialect it supports among those the client offered
/// (Escargot's rule; with a client list sorted best first it is also R2M's).
pub fn negotiate(offered: &[String], supported: &[Dialect]) -> Option<Dialect> {
    offered
        .iter()
        .filter_map(|t| Dialect::from_token(t))
        .filter(|d| supported.contains(d))
        .max()
}

/// The client's list for `VER`: best first (msnp8-12.md §b.1).
pub fn offer(supported: &[Dialect]) -> Vec<Dialect> {
    let mut list = supported.to_vec();
    list.sort_unstable_by(|a, b| b.cmp(a));
    list.dedup();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(Dialect::from_token(d.as_str()), Some(d));
            assert_eq!(d.to_string().parse::<Dialect>(), Ok(d));
        }
        assert_eq!("msnp11".parse::<Dialect>(), Ok(Dialect::Msnp11));
        assert!("MSNP13".parse::<Dialect>().is_err());
        assert_eq!(Dialect::from_token("msnp7"), None);
        assert_eq!(Dialect::from_token("CVR0"), None);
    }

    #[test]
    fn the_best_common_dialect_wins() {
        let all = Dialect::ALL;
        assert_eq!(
            negotiate(&tokens(&["MSNP12", "MSNP11", "MSNP10", "CVR0"]), &all),
            Some(Dialect::Msnp12)
        );
        assert_eq!(
            negotiate(&tokens(&["MSNP8", "MSNP12", "CVR0"]), &all),
            Some(Dialect::Msnp12)
        );
        assert_eq!(
            negotiate(
                &tokens(&["MSNP12", "MSNP11", "MSNP7"]),
                &[Dialect::Msnp7, Dialect::Msnp11]
            ),
            Some(Dialect::Msnp11)
        );
        assert_eq!(negotiate(&tokens(&["MSNP9", "CVR0"]), &[Dialect::Msnp7]), None);
        assert_eq!(negotiate(&tokens(&["CVR0"]), &all), None);
    }

    #[test]
    fn offers_are_best_first() {
        assert_eq!(
            offer(&[Dialect::Msnp7, Dialect::Msnp11, Dialect::Msnp8, Dialect::Msnp11]),
            vec![Dialect::Msnp11, Dialect::Msnp8, Dialect::Msnp7]
        );
        assert_eq!(Dialect::Msnp7.auth(), Auth::Md5);
        assert_eq!(Dialect::Msnp8.auth(), Auth::Twn);
    }
}
