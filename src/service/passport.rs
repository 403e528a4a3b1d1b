//! Passport 1.4, the service's half (msnp8-12.md §c): the login a nexus's HTTP front
//! end forwards here, and the tickets it hands out, which `USR TWN S` later redeems.
//!
//! Sans-IO like the rest of the engine: the TCP server's HTTP listener (or the embedded
//! hub, in memory) calls [`ServiceEngine::passport_login`] and writes the answer.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::proto::Instant;
use crate::wire::urlenc;

use super::{Secret, ServiceEngine, LOG};

/// How long a ticket may wait for its `USR TWN S` (Escargot: 30 s; R2M: a day). Long
/// enough for a slow client, short enough that a leaked one is soon worthless.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(60);

/// Tickets outstanding at once, all accounts together; the oldest goes first past it,
/// so a flood of logins cannot grow the table without bound.
pub const MAX_TICKETS: usize = 4096;

/// Why the login server refused (the HTTP front end answers `401` for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefused {
    #[error("no such account")]
    UnknownAccount,
    #[error("wrong password")]
    WrongPassword,
    #[error("too many wrong passwords: try again later")]
    TooMany,
    /// The password checks are all busy: refused at once, unchecked and not counted.
    #[error("the login server is busy: try again later")]
    Busy,
}

/// What a login's first step gives the driver: the secret to check the password
/// against, off the engine's lock, and how long to wait before answering
/// ([`ServiceEngine::guess_delay`]).
#[derive(Debug)]
pub struct LoginCheck {
    pub secret: Secret,
    pub delay: Duration,
    /// Whether the address has guessed no password wrong lately (for any account): a
    /// driver checks such logins before the others.
    pub clean: bool,
}

impl LoginRefused {
    /// What the client reports: the HTTP front end answers `401` either way, so the
    /// reason is not told apart, as Passport never said which part was wrong.
    pub fn to_error(self) -> crate::error::Error {
        crate::error::Error::api(
            crate::hresult::HResult::SR_AUTHENTICATION_FAILED,
            "the Passport login server refused the sign-in name or password (401)",
        )
    }
}

#[derive(Debug)]
struct Issued {
    /// Lower-cased sign-in name the ticket was issued for.
    account: String,
    expires: Instant,
}

/// Tickets issued and not yet redeemed, found by key. All live [`TICKET_LIFETIME`], so
/// the order of issue is the order of expiry: pruning pops from the front and never
/// scans the live ones.
#[derive(Debug, Default)]
pub(super) struct Tickets {
    issued: HashMap<String, Issued>,
    by_age: VecDeque<String>,
}

impl Tickets {
    pub(super) fn len(&self) -> usize {
        self.issued.len()
    }

    fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.by_age.front() {
            let expired = self.issued.get(oldest).is_none_or(|t| t.expires <= now);
            // Redeemed tickets leave their place in the queue behind: bound it too.
            if !expired && self.issued.len() < MAX_TICKETS && self.by_age.len() < 2 * MAX_TICKETS {
                break;
            }
            if let Some(oldest) = self.by_age.pop_front() {
                self.issued.remove(&oldest);
            }
        }
    }

    /// Takes `ticket` if it is live and was issued for `account`. Either way a ticket
    /// that was presented is spent: a wrong account cannot try it again.
    pub(super) fn redeem(&mut self, ticket: &str, account: &str, now: Instant) -> bool {
        let Some(issued) = self.issued.remove(ticket) else {
            return false;
        };
        issued.expires > now && issued.account == account.to_ascii_lowercase()
    }
}

/// The credentials in an `Authorization: Passport1.4 …` header value: `sign-in` and
/// `pwd`, URL-decoded (clients differ: official ones encode, msnp11-sdk sends them raw,
/// and decoding a raw `@` changes nothing). None when either is missing.
pub fn credentials(authorization: &str) -> Option<(String, String)> {
    let rest = authorization.trim().strip_prefix("Passport1.4")?.trim_start();
    let mut sign_in = None;
    let mut pwd = None;
    for part in rest.split(',') {
        if let Some(v) = part.strip_prefix("sign-in=") {
            sign_in.get_or_insert_with(|| urlenc::decode(v));
        } else if let Some(v) = part.strip_prefix("pwd=") {
            pwd.get_or_insert_with(|| urlenc::decode(v));
        }
    }
    Some((sign_in?, pwd?))
}

/// `Authentication-Info` for a ticket: `from-PP` last with nothing after it, the form
/// every client studied reads (msnp8-12.md §c.4).
pub fn authentication_info(ticket: &str) -> String {
    format!("Passport1.4 da-status=success,from-PP='{ticket}'")
}

/// `WWW-Authenticate` of a refused login (MS-PASS §2.2.2).
pub const LOGIN_FAILED: &str = "Passport1.4 da-status=failed,srealm=Passport.NET,ts=-1,prompt";

/// The `PassportURLs` value of a nexus whose login endpoint is `login_url`: one pair,
/// as msnp11-sdk can only read that form (msnp8-12.md §c.2).
pub fn passport_urls(login_url: &str) -> String {
    format!("DALogin={login_url}")
}

impl ServiceEngine {
    /// The login a nexus forwards: checks the account and password and issues a
    /// ticket for one `USR TWN S` by that account within [`TICKET_LIFETIME`].
    pub fn passport_login(&mut self, sign_in_name: &str, password: &str, now: Instant) -> Result<String, LoginRefused> {
        self.passport_login_from(sign_in_name, password, None, now)
    }

    /// [`Self::passport_login`] from `peer`: wrong passwords count against the account
    /// and the address, and past their budget a login is refused unchecked.
    pub fn passport_login_from(
        &mut self,
        sign_in_name: &str,
        password: &str,
        peer: Option<std::net::IpAddr>,
        now: Instant,
    ) -> Result<String, LoginRefused> {
        let check = self.passport_begin(sign_in_name, peer, now)?;
        let verified = check.secret.verify(password);
        self.passport_finish(sign_in_name, verified, peer, now)
    }

    /// A login's first step, under the engine's lock: the account's secret to check the
    /// password against and how long to wait before answering, unless this address's
    /// budget of wrong passwords for the account is spent or there is no such account.
    /// Checking a hash is slow on purpose, so a driver does it between this and
    /// [`Self::passport_finish`], with the lock released.
    pub fn passport_begin(
        &mut self,
        sign_in_name: &str,
        peer: Option<std::net::IpAddr>,
        now: Instant,
    ) -> Result<LoginCheck, LoginRefused> {
        if !self.may_try_password(sign_in_name, peer, now) {
            match peer {
                Some(peer) => crate::refusals::note(
                    "refused a Passport login unchecked: too many wrong passwords from that address",
                    peer,
                ),
                None => log::info!(target: LOG, "Passport login refused for {sign_in_name}: too many wrong passwords"),
            }
            return Err(LoginRefused::TooMany);
        }
        let delay = self.guess_delay(sign_in_name, peer, now);
        match self.dir.account(sign_in_name) {
            Some(account) => Ok(LoginCheck {
                secret: account.password.clone(),
                delay,
                clean: self.address_is_clean(peer, now),
            }),
            None => {
                self.wrong_password(sign_in_name, peer, now);
                log::info!(target: LOG, "Passport login refused for {sign_in_name}: no such account");
                Err(LoginRefused::UnknownAccount)
            }
        }
    }

    /// A login's last step: a ticket when the password was `verified`, else the
    /// wrong password counted.
    pub fn passport_finish(
        &mut self,
        sign_in_name: &str,
        verified: bool,
        peer: Option<std::net::IpAddr>,
        now: Instant,
    ) -> Result<String, LoginRefused> {
        if !verified {
            self.wrong_password(sign_in_name, peer, now);
            log::info!(target: LOG, "Passport login refused for {sign_in_name}: wrong password");
            return Err(LoginRefused::WrongPassword);
        }
        let Some(account) = self.dir.account(sign_in_name) else {
            return Err(LoginRefused::UnknownAccount);
        };
        let account = account.sign_in_name.to_ascii_lowercase();
        // Microsoft's shape, t=…&p=…: no space, quote or comma, so every client's
        // extraction of `from-PP` gets it whole.
        let ticket = format!("t={}&p={}", self.random_hex(32), self.random_hex(16));
        self.passport.prune(now);
        self.passport.by_age.push_back(ticket.clone());
        self.passport.issued.insert(
            ticket.clone(),
            Issued {
                account,
                expires: now + TICKET_LIFETIME,
            },
        );
        Ok(ticket)
    }

    /// The opaque Passport challenge of `USR … TWN S` (msnp8-12.md §c.1), in Microsoft's
    /// shape with the time in `ct` and a random `tpf`; clients only echo it.
    pub(super) fn passport_challenge(&mut self, now: Instant) -> String {
        format!(
            "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct={},kpp=1,kv=5,ver=2.1.0173.1,tpf={}",
            now.as_secs(),
            self.random_hex(32)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{ServiceConfig, ServiceEngine};

    fn engine() -> ServiceEngine {
        let mut config = ServiceConfig::new();
        config.seed = Some(7);
        let mut e = ServiceEngine::new(config);
        e.add_user("alice@example.com", "secret1", Some("Alice")).unwrap();
        e.add_user("bob@example.com", "pw", None).unwrap();
        e
    }

    const T0: Instant = Duration::from_secs(100);

    #[test]
    fn a_ticket_is_for_one_account_once_and_briefly() {
        let mut e = engine();
        let t = e.passport_login("Alice@Example.com", "secret1", T0).unwrap();
        assert!(t.starts_with("t=") && !t.contains([' ', '\'', ',']), "{t}");
        assert!(!e.passport.redeem(&t, "bob@example.com", T0), "another account");
        assert!(
            !e.passport.redeem(&t, "alice@example.com", T0),
            "spent by the wrong try"
        );

        let t = e.passport_login("alice@example.com", "secret1", T0).unwrap();
        assert!(e
            .passport
            .redeem(&t, "ALICE@example.com", T0 + TICKET_LIFETIME - Duration::from_millis(1)));
        assert!(!e.passport.redeem(&t, "alice@example.com", T0), "used twice");

        let t = e.passport_login("alice@example.com", "secret1", T0).unwrap();
        assert!(
            !e.passport.redeem(&t, "alice@example.com", T0 + TICKET_LIFETIME),
            "expired"
        );
        assert!(!e.passport.redeem("t=forged&p=0", "alice@example.com", T0));
    }

    #[test]
    fn wrong_passwords_and_unknown_accounts_get_no_ticket() {
        let mut e = engine();
        assert_eq!(
            e.passport_login("alice@example.com", "secret", T0),
            Err(LoginRefused::WrongPassword)
        );
        assert_eq!(
            e.passport_login("alice@example.com", "", T0),
            Err(LoginRefused::WrongPassword)
        );
        assert_eq!(
            e.passport_login("carol@example.com", "pw", T0),
            Err(LoginRefused::UnknownAccount)
        );
    }

    #[test]
    fn passwords_match_exactly() {
        for close in ["PW", "Pw", "pw ", " pw", "\tpw\r\n", "p"] {
            // A fresh engine each time: five wrong guesses spend the account's budget.
            assert_eq!(
                engine().passport_login("bob@example.com", close, T0),
                Err(LoginRefused::WrongPassword),
                "{close:?}"
            );
        }
        assert!(engine().passport_login("BOB@example.com", "pw", T0).is_ok());
    }

    #[test]
    fn the_ticket_table_stays_bounded() {
        let mut e = engine();
        let first = e.passport_login("bob@example.com", "pw", T0).unwrap();
        for _ in 0..MAX_TICKETS {
            e.passport_login("bob@example.com", "pw", T0).unwrap();
        }
        assert!(e.passport.issued.len() <= MAX_TICKETS);
        assert!(
            !e.passport.redeem(&first, "bob@example.com", T0),
            "the oldest went first"
        );
    }

    #[test]
    fn credentials_are_read_encoded_or_raw() {
        let official = "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=secret%2Cpw,lc=1033,id=507";
        assert_eq!(
            credentials(official),
            Some(("alice@example.com".into(), "secret,pw".into()))
        );
        let sdk = "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice@example.com,pwd=secret1,ct=1";
        assert_eq!(credentials(sdk), Some(("alice@example.com".into(), "secret1".into())));
        assert_eq!(credentials("Basic YWxpY2U6cHc="), None);
        assert_eq!(credentials("Passport1.4 OrgVerb=GET,sign-in=a@b.com"), None);
    }

    #[test]
    fn headers_have_the_shapes_clients_parse() {
        assert_eq!(
            authentication_info("t=abc&p=def"),
            "Passport1.4 da-status=success,from-PP='t=abc&p=def'"
        );
        assert_eq!(
            passport_urls("http://127.0.0.1:3000/login2.srf"),
            "DALogin=http://127.0.0.1:3000/login2.srf"
        );
        let mut e = engine();
        let c = e.passport_challenge(T0);
        assert!(
            c.starts_with("lc=1033,id=507,") && c.contains(",ct=100,") && !c.contains(' '),
            "{c}"
        );
    }
}
