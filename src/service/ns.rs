//! Notification-server connections: sign-in in the dialect `VER` agreed (`INF` and
//! `USR MD5` up to MSNP7, `CVR` and `USR TWN` with a Passport ticket from MSNP8), the
//! keep-alive, and the challenges behind both the pings and Lock and Key (msnp.md §b,
//! §d, §e; msnp8-12.md §b, §c, §g, §i). Lists live in [`super::lists`], presence in
//! [`super::presence`]. Handlers take typed requests ([`crate::proto::ns`]).

use crate::proto::dialect::{self, Auth, Dialect};
use crate::proto::ns::{at_least, Reply, Request, UsrRequest};
use crate::proto::{ping_pairs, ping_response, ConnId, Instant, CHALLENGE_TIMEOUT, LOCK_AND_KEY_HEADER};
use crate::wire::{challenge, Command};

use super::lists::Echo;
use super::{Role, ServiceEngine, LOG};

#[derive(Debug)]
enum Stage {
    AwaitVer,
    /// Dialect agreed; `INF`/`CVR` and `USR … I` may come.
    Negotiated,
    AwaitProof {
        user: String,
        salt: String,
    },
    /// `USR TWN S <challenge>` sent: the ticket from the login server comes next.
    AwaitTicket {
        user: String,
    },
    SignedIn {
        user: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChallengeKind {
    /// `CHL 0 …` sent on our own initiative; answered with a client pair. The TrID is
    /// the `CHG` that triggered it, which a timeout `540` names.
    Ping { chg_trid: u32 },
    /// `CHL <t>` asked for by the client on behalf of an app (Lock and Key).
    Requested,
}

#[derive(Debug)]
struct Outstanding {
    challenge: String,
    kind: ChallengeKind,
    expires: Instant,
}

#[derive(Debug)]
pub(super) struct NsConn {
    stage: Stage,
    /// The dialect `VER` agreed on.
    dialect: Option<Dialect>,
    pub(super) presence: super::presence::Own,
    challenges: Vec<Outstanding>,
}

impl NsConn {
    pub(super) fn new() -> Self {
        NsConn {
            stage: Stage::AwaitVer,
            dialect: None,
            presence: super::presence::Own::default(),
            challenges: Vec::new(),
        }
    }

    pub(super) fn user(&self) -> Option<&str> {
        match &self.stage {
            Stage::SignedIn { user } => Some(user),
            _ => None,
        }
    }

    pub(super) fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.challenges.iter().map(|c| c.expires).min()
    }

    pub(super) fn challenge_count(&self) -> usize {
        self.challenges.len()
    }
}

/// The answer to a rate limit: `713`, "calling too rapidly" (msnp8-12.md §l).
pub(super) const TOO_FAST: u16 = 713;

/// Seconds a client may wait before its next `PNG` (MSNP9+ `QNG`); more than the 5
/// below which msnp11-sdk hangs up (msnp8-12.md §g).
/// The wait before answering a login from an address that failed for the account
/// lately (see [`ServiceEngine::guess_delay`]), and its bound.
pub const GUESS_DELAY: std::time::Duration = std::time::Duration::from_millis(250);
pub const MAX_GUESS_DELAY: std::time::Duration = std::time::Duration::from_secs(4);

/// Wrong passwords per account from every address, as a bucket whose spent tokens
/// measure the pressure on the account: 64 at most, one forgiven every 2 s.
pub(super) const PRESSURE: super::limits::Rate = super::limits::Rate::new(64, std::time::Duration::from_secs(2));

pub const PING_INTERVAL: u32 = 60;

/// The feature policy of `GCF Shields.xml`: blocks nothing (msnp8-12.md §h.3, 145 bytes).
pub const SHIELDS: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><config><shield><cli maj=\"7\" min=\"0\" minbld=\"0\" maxbld=\"9999\" deny=\" \" /></shield><block></block></config>";

impl ServiceEngine {
    pub(super) fn ns(&mut self, conn: ConnId) -> Option<&mut NsConn> {
        match self.conns.get_mut(&conn).map(|c| &mut c.role) {
            Some(Role::Ns(ns)) => Some(ns),
            _ => None,
        }
    }

    pub(super) fn ns_ref(&self, conn: ConnId) -> Option<&NsConn> {
        match self.conns.get(&conn).map(|c| &c.role) {
            Some(Role::Ns(ns)) => Some(ns),
            _ => None,
        }
    }

    pub(super) fn ns_user(&mut self, conn: ConnId) -> String {
        self.ns(conn)
            .and_then(|ns| ns.user().map(str::to_string))
            .unwrap_or_default()
    }

    pub(super) fn ns_dialect(&self, conn: ConnId) -> Option<Dialect> {
        self.ns_ref(conn).and_then(NsConn::dialect)
    }

    /// Sends a typed reply in the connection's dialect.
    pub(super) fn reply(&mut self, conn: ConnId, reply: Reply) {
        let dialect = self.ns_dialect(conn);
        self.send(conn, reply.to_command(dialect));
    }

    pub(super) fn error_reply(&mut self, conn: ConnId, code: u16, trid: u32) {
        self.send(conn, crate::proto::ns::error(code, trid));
    }

    pub(super) fn ns_command(&mut self, conn: ConnId, cmd: Command, now: Instant) {
        let dialect = self.ns_dialect(conn);
        let request = Request::parse(&cmd, dialect);
        let signed_in = self.ns(conn).is_some_and(|ns| ns.user().is_some());
        // Commands another dialect has: `502` (command disabled), as R2M answers; but
        // ADD and REA from MSNP10 close the connection, as the original service did.
        let since = |d: Dialect| at_least(dialect, d);
        match request {
            Request::Out => self.close_because(conn, "it said OUT"),
            Request::Png => {
                let seconds = since(Dialect::Msnp9).then_some(PING_INTERVAL);
                self.reply(conn, Reply::Qng { seconds })
            }
            Request::NoTrid { .. } => self.error_reply(conn, 200, 0),
            Request::Ver { trid, offered } => self.ns_ver(conn, trid, &offered),
            Request::Inf { trid } => self.ns_inf(conn, trid),
            Request::Usr { trid, auth } => self.ns_usr(conn, trid, auth, now),
            Request::Cvr { trid, fields } => {
                // Every field the client's own version: it should not be told to upgrade.
                let version = fields.get(5).cloned().unwrap_or_else(|| "4.7.0000".to_string());
                let url = "http://localhost/".to_string();
                let fields = vec![version.clone(), version.clone(), version, url.clone(), url];
                self.reply(conn, Reply::Cvr { trid, fields });
            }
            request if !signed_in => self.error_reply(conn, 302, request_trid(&request)),
            Request::Syn { trid, .. } => self.ns_syn(conn, trid),
            Request::Chg(chg) => self.ns_chg(conn, chg, now),
            Request::Chl { trid } => self.ns_chl(conn, trid, now),
            Request::Qry { trid, id, digest } => self.ns_qry(conn, trid, &id, &digest, now),
            Request::Add {
                trid,
                list,
                account,
                name,
                group,
            } if !since(Dialect::Msnp10) => {
                let user = self.ns_user(conn);
                let id = match self.optional_group(conn, &user, group.as_deref()) {
                    Ok(id) => id,
                    Err(code) => return self.error_reply(conn, code, trid),
                };
                let echo = Echo::Add {
                    account: account.clone(),
                    name,
                    group,
                };
                self.ns_add(conn, trid, &list, &account, echo, id)
            }
            Request::Adc(adc) if since(Dialect::Msnp10) => self.ns_adc(conn, adc),
            Request::Rem {
                trid,
                list,
                target,
                group,
            } => self.ns_rem(conn, trid, &list, &target, group),
            Request::Gtc { trid, setting } => self.ns_setting(conn, trid, "GTC", &setting),
            Request::Blp { trid, setting } => self.ns_setting(conn, trid, "BLP", &setting),
            Request::Prp { trid, property, value } if property == "MFN" && since(Dialect::Msnp10) => {
                self.ns_rename(conn, trid, &property, None, value)
            }
            Request::Prp { trid, property, value } if property != "MFN" && since(Dialect::Msnp8) => {
                self.ns_phone(conn, trid, property, value)
            }
            Request::Rea { trid, account, name } if !since(Dialect::Msnp10) => {
                self.ns_rename(conn, trid, "MFN", Some(account), name)
            }
            Request::Uux { trid, payload } if since(Dialect::Msnp11) => self.ns_uux(conn, trid, payload),
            Request::Gcf { trid, file } if since(Dialect::Msnp11) => {
                if file == "Shields.xml" {
                    let payload = SHIELDS.as_bytes().to_vec();
                    self.reply(conn, Reply::Gcf { trid, file, payload });
                } else {
                    self.error_reply(conn, 200, trid);
                }
            }
            Request::Xfr { trid, kind } => self.ns_xfr_checked(conn, trid, &kind, now),
            Request::Group(group) => self.ns_group(conn, group),
            Request::Sbp {
                trid,
                guid,
                property,
                value,
            } if since(Dialect::Msnp10) => self.ns_sbp(conn, trid, guid, property, value),
            // MSNP10 dropped these two, and the original service hung up on them
            // (yellows111 msnp-wiki, ADD and REA; Escargot closes too).
            Request::Add { .. } | Request::Rea { .. } => {
                self.close_because(conn, "it sent ADD or REA, which MSNP10+ lack")
            }
            request @ (Request::Adc(_)
            | Request::Prp { .. }
            | Request::Uux { .. }
            | Request::Gcf { .. }
            | Request::Sbp { .. }) => self.error_reply(conn, 502, request_trid(&request)),
            Request::Unknown { trid, .. } => self.error_reply(conn, 200, trid),
        }
    }

    fn ns_ver(&mut self, conn: ConnId, trid: u32, offered: &[String]) {
        let supported = self.config.dialects.clone();
        let Some(ns) = self.ns(conn) else { return };
        if !matches!(ns.stage, Stage::AwaitVer) {
            self.error_reply(conn, 715, trid);
            return self.close(conn);
        }
        match dialect::negotiate(offered, &supported) {
            Some(d) => {
                ns.stage = Stage::Negotiated;
                ns.dialect = Some(d);
                self.reply(
                    conn,
                    Reply::Ver {
                        trid,
                        versions: vec![d.as_str().to_string()],
                    },
                );
            }
            None => {
                log::info!(target: LOG, "connection {conn}: no dialect in common with {offered:?}; closing");
                self.reply(
                    conn,
                    Reply::Ver {
                        trid,
                        versions: vec!["0".to_string()],
                    },
                );
                self.close(conn);
            }
        }
    }

    fn ns_inf(&mut self, conn: ConnId, trid: u32) {
        match self.ns_dialect(conn).map(Dialect::auth) {
            Some(Auth::Md5) | None => self.reply(
                conn,
                Reply::Inf {
                    trid,
                    methods: vec!["MD5".to_string()],
                },
            ),
            // INF went with MD5 sign-in: MSNP8 removed both (Escargot hangs up).
            Some(Auth::Twn) => self.close_because(conn, "it sent INF, which its dialect does not have"),
        }
    }

    fn ns_usr(&mut self, conn: ConnId, trid: u32, auth: UsrRequest, now: Instant) {
        let Some(ns) = self.ns(conn) else { return };
        let method = ns.dialect().map(Dialect::auth);
        match (&ns.stage, auth) {
            (Stage::SignedIn { .. }, _) => self.error_reply(conn, 207, trid),
            (Stage::Negotiated, UsrRequest::TwnInitial { account }) if method == Some(Auth::Twn) => {
                if !account.contains('@') {
                    self.error_reply(conn, 911, trid);
                    return self.close(conn);
                }
                // Unknown accounts get a challenge too and fail at the login server, so
                // the reply does not tell which accounts exist.
                let challenge = self.passport_challenge(now);
                if let Some(ns) = self.ns(conn) {
                    ns.stage = Stage::AwaitTicket { user: account };
                }
                self.reply(conn, Reply::UsrTwnChallenge { trid, challenge });
            }
            (Stage::AwaitTicket { user }, UsrRequest::TwnTicket { ticket }) => {
                let user = user.clone();
                let account = self.dir.account(&user).cloned();
                match account {
                    Some(a) if self.passport.redeem(&ticket, &user, now) => self.ns_signed_in(conn, a, trid, now),
                    _ => {
                        log::info!(target: LOG, "sign-in refused for {user} on connection {conn}: bad ticket (911)");
                        self.error_reply(conn, 911, trid);
                        self.close(conn);
                    }
                }
            }
            (_, UsrRequest::Md5Initial { .. } | UsrRequest::Md5Proof { .. }) if method == Some(Auth::Twn) => {
                self.close_because(conn, "it tried MD5 sign-in, which its dialect does not have")
            }
            (Stage::Negotiated, UsrRequest::Md5Initial { account }) => {
                // An unknown account still gets a salt and fails at the proof, so the
                // reply does not reveal which accounts exist (as Escargot does).
                let salt = self.random_hex(15);
                if let Some(ns) = self.ns(conn) {
                    ns.stage = Stage::AwaitProof {
                        user: account,
                        salt: salt.clone(),
                    };
                }
                self.reply(conn, Reply::UsrSalt { trid, salt });
            }
            (Stage::AwaitProof { user, salt }, UsrRequest::Md5Proof { proof }) => {
                let (user, salt) = (user.clone(), salt.clone());
                let peer = self.conns.get(&conn).and_then(|c| c.peer);
                if !self.may_try_password(&user, peer, now) {
                    match peer {
                        Some(peer) => crate::refusals::note(
                            "refused an MD5 sign-in unchecked: too many wrong passwords from that address",
                            peer,
                        ),
                        None => {
                            log::info!(target: LOG, "sign-in refused for {user} on connection {conn}: too many wrong passwords")
                        }
                    }
                    self.error_reply(conn, 911, trid);
                    return self.close(conn);
                }
                let account = self.dir.account(&user).cloned();
                // An account kept only as a hash cannot prove an MD5 answer: refused.
                let ok = account
                    .as_ref()
                    .and_then(|a| a.password.plain())
                    .is_some_and(|password| {
                        challenge::responses_match(&challenge::md5_response(&salt, password), &proof)
                    });
                match account {
                    Some(a) if ok => self.ns_signed_in(conn, a, trid, now),
                    _ => {
                        self.wrong_password(&user, peer, now);
                        log::info!(target: LOG, "sign-in refused for {user} on connection {conn} (911)");
                        self.error_reply(conn, 911, trid);
                        self.close(conn);
                    }
                }
            }
            _ => {
                self.error_reply(conn, 911, trid);
                self.close(conn);
            }
        }
    }

    fn ns_signed_in(&mut self, conn: ConnId, account: super::Account, trid: u32, now: Instant) {
        let key = account.sign_in_name.to_ascii_lowercase();
        // One sign-in per account: the older connection is told why it is dropped.
        if let Some(old) = self.online.insert(key, conn) {
            if old != conn {
                log::info!(
                    target: LOG,
                    "{} signed in again: connection {old} is dropped (OUT OTH)",
                    account.sign_in_name
                );
                self.reply(
                    old,
                    Reply::Out {
                        reason: Some("OTH".to_string()),
                    },
                );
                self.close(old);
                // The displaced session's conversations go with it.
                for sb in self.sb_conns_of(&account.sign_in_name) {
                    self.close(sb);
                }
                self.drop_tickets_of(&account.sign_in_name);
            }
        }
        let dialect = self.ns(conn).and_then(|ns| {
            ns.stage = Stage::SignedIn {
                user: account.sign_in_name.clone(),
            };
            ns.dialect()
        });
        log::info!(
            target: LOG,
            "{} signed in on connection {conn} ({})",
            account.sign_in_name,
            dialect.map_or("?", Dialect::as_str)
        );
        self.reply(
            conn,
            Reply::UsrOk {
                trid,
                account: account.sign_in_name.clone(),
                friendly: Some(account.friendly_name.clone()),
            },
        );
        if at_least(dialect, Dialect::Msnp11) {
            self.reply(conn, Reply::Sbs);
        }
        let payload = self.profile(&account, dialect, now);
        self.reply(conn, Reply::Hotmail { payload });
    }

    /// The `text/x-msmsgsprofile` message sent after sign-in, plus our Lock and Key header.
    fn profile(&mut self, account: &super::Account, dialect: Option<Dialect>, now: Instant) -> Vec<u8> {
        let member_low = self.rng_u32();
        let auth = self.random_hex(32);
        // MSNP10+: the lists use GUIDs and time stamps (msnp8-12.md §c.7).
        let migrated = if at_least(dialect, Dialect::Msnp10) {
            "ABCHMigrated: 1\r\n"
        } else {
            ""
        };
        format!(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n\
             LoginTime: {}\r\nEmailEnabled: 0\r\nMemberIdHigh: 0\r\nMemberIdLow: {}\r\n\
             lang_preference: 1033\r\npreferredEmail: {}\r\ncountry: US\r\nKid: 0\r\nFlags: 1027\r\n\
             sid: 507\r\nMSPAuth: {}\r\nClientIP: 127.0.0.1\r\n{}{}: {}\r\n\r\n",
            now.as_secs(),
            member_low,
            account.sign_in_name,
            auth,
            migrated,
            LOCK_AND_KEY_HEADER,
            self.config.lock_and_key.as_str(),
        )
        .into_bytes()
    }

    fn rng_u32(&mut self) -> u32 {
        use rand::Rng;
        self.rng.random()
    }

    /// `XFR SB` once present: before the first `CHG`, or while hidden, `913`
    /// (msnp8-12.md §j.1).
    fn ns_xfr_checked(&mut self, conn: ConnId, trid: u32, kind: &str, now: Instant) {
        let visible = self
            .ns_ref(conn)
            .and_then(|ns| ns.presence.status.as_deref())
            .is_some_and(|s| s != "HDN");
        if !visible {
            return self.error_reply(conn, 913, trid);
        }
        let user = self.ns_user(conn);
        if !self.ticket_room(&user, now) || !self.rates.xfr.take(&user.to_ascii_lowercase(), now) {
            return self.error_reply(conn, TOO_FAST, trid);
        }
        self.ns_xfr(conn, trid, kind, &user, now)
    }

    /// The service's ping after the first `CHG` (msnp.md §d.1).
    pub(super) fn ping(&mut self, conn: ConnId, chg_trid: u32, now: Instant) {
        let challenge = self.random_digits(20);
        self.issue(conn, challenge.clone(), ChallengeKind::Ping { chg_trid }, now);
        self.reply(conn, Reply::Chl { trid: 0, challenge });
    }

    /// Whether a password for `user` from `peer` is still checked: each wrong one uses
    /// a token of the bucket of that account *from that address*, and of the address's
    /// own; with either empty that address's guesses are refused unchecked until they
    /// refill. An address that has not failed for the account is never refused for
    /// what others did: nobody can lock an owner out.
    pub(super) fn may_try_password(&self, user: &str, peer: Option<std::net::IpAddr>, now: Instant) -> bool {
        self.rates
            .password_account
            .allows(&(user.to_ascii_lowercase(), peer), now)
            && peer.is_none_or(|p| self.rates.password_address.allows(&p, now))
    }

    /// How long to wait before answering a login for `user` from `peer`: nothing for
    /// an address that has not failed for the account lately; for one that has,
    /// [`GUESS_DELAY`] doubled for every few wrong passwords the account got lately
    /// from anywhere, up to [`MAX_GUESS_DELAY`]. Guessing one account from many
    /// addresses slows down; its owner, from an address of its own, does not.
    pub fn guess_delay(&self, user: &str, peer: Option<std::net::IpAddr>, now: Instant) -> std::time::Duration {
        let key = user.to_ascii_lowercase();
        if !self.rates.password_account.spent_lately(&(key.clone(), peer), now) {
            return std::time::Duration::ZERO;
        }
        let pressure = self.rates.password_pressure.used(&key, now);
        let doublings = (pressure / 4.0).floor().clamp(0.0, 8.0) as u32;
        (GUESS_DELAY * 2u32.pow(doublings)).min(MAX_GUESS_DELAY)
    }

    /// Whether `peer` has guessed no password wrong lately, for any account.
    pub(super) fn address_is_clean(&self, peer: Option<std::net::IpAddr>, now: Instant) -> bool {
        peer.is_none_or(|p| !self.rates.password_address.spent_lately(&p, now))
    }

    pub(super) fn wrong_password(&mut self, user: &str, peer: Option<std::net::IpAddr>, now: Instant) {
        let key = user.to_ascii_lowercase();
        self.rates.password_account.take(&(key.clone(), peer), now);
        self.rates.password_pressure.take(&key, now);
        if let Some(p) = peer {
            self.rates.password_address.take(&p, now);
        }
    }

    /// A client-requested challenge (msnp.md §d.2, §e).
    fn ns_chl(&mut self, conn: ConnId, trid: u32, now: Instant) {
        let max = self.config.limits.max_challenges;
        if self.ns(conn).is_some_and(|ns| ns.challenges.len() >= max) {
            // A QRY is checked against each outstanding challenge: keep them few.
            return self.error_reply(conn, TOO_FAST, trid);
        }
        let challenge = self.random_digits(20);
        self.issue(conn, challenge.clone(), ChallengeKind::Requested, now);
        self.reply(conn, Reply::Chl { trid, challenge });
    }

    fn issue(&mut self, conn: ConnId, challenge: String, kind: ChallengeKind, now: Instant) {
        if let Some(ns) = self.ns(conn) {
            ns.challenges.push(Outstanding {
                challenge,
                kind,
                expires: now + CHALLENGE_TIMEOUT,
            });
        }
    }

    /// `QRY <t> <id> 32` + digest. Client pairs answer pings, with the algorithm of
    /// the connection's dialect (msnp8-12.md §i); licensed app ids answer requested
    /// challenges with MD5 in every dialect (our extension, msnp.md §e). A `QRY` does
    /// not say which challenge, so any live one of the right kind whose digest matches
    /// is consumed (msnp.md §e.3).
    fn ns_qry(&mut self, conn: ConnId, trid: u32, id: &str, digest: &[u8], now: Instant) {
        let digest = String::from_utf8_lossy(digest).into_owned();
        let dialect = self.ns_dialect(conn);
        let client_key = ping_pairs(dialect).iter().find(|(i, _)| *i == id).map(|(_, k)| *k);
        // App answers are checked at a bounded rate; past it they fail unchecked.
        let app_key = self
            .dir
            .app_key(id)
            .map(str::to_string)
            .filter(|_| client_key.is_some() || self.rates.qry.take(&conn, now));
        let Some(ns) = self.ns(conn) else { return };
        let matched = ns.challenges.iter().position(|c| {
            c.expires > now
                && match (c.kind, client_key, &app_key) {
                    (ChallengeKind::Ping { .. }, Some(key), _) => {
                        challenge::responses_match(&ping_response(dialect, &c.challenge, id, key), &digest)
                    }
                    (ChallengeKind::Requested, None, Some(key)) => {
                        challenge::responses_match(&challenge::md5_response(&c.challenge, key), &digest)
                    }
                    _ => false,
                }
        });
        let ping_outstanding = ns
            .challenges
            .iter()
            .any(|c| matches!(c.kind, ChallengeKind::Ping { .. }));
        match matched {
            Some(i) => {
                ns.challenges.remove(i);
                self.reply(conn, Reply::Qry { trid });
            }
            None if client_key.is_some() && ping_outstanding => {
                // Legacy behaviour for the client's own answer to a ping: 540 and close.
                self.error_reply(conn, 540, trid);
                self.close(conn);
            }
            None => {
                // Project choice (msnp.md §e.3): a failed app answer keeps the
                // connection, and spends no challenge. A QRY does not say which one it
                // answered, so spending any could take another lock object's, whose
                // right answer would then fail; a wrong one lives out its 50 s.
                self.error_reply(conn, 540, trid);
            }
        }
    }

    /// Expired challenges. An unanswered ping ends an MSNP7 connection with `540 <CHG
    /// trid>` (as Escargot did); from MSNP8 it is only forgotten, because clients such as
    /// msnp11-sdk never answer and a wrong answer is what matters (msnp8-12.md §i). An
    /// unanswered app challenge is simply forgotten.
    pub(super) fn ns_tick(&mut self, conn: ConnId, now: Instant) {
        let strict = !at_least(self.ns_dialect(conn), Dialect::Msnp8);
        let Some(ns) = self.ns(conn) else { return };
        let mut missed_ping = None;
        ns.challenges.retain(|c| {
            let live = c.expires > now;
            if let (false, ChallengeKind::Ping { chg_trid }) = (live, c.kind) {
                missed_ping = Some(chg_trid);
            }
            live
        });
        if let (Some(trid), true) = (missed_ping, strict) {
            log::info!(target: LOG, "connection {conn} did not answer the server's ping in time; closing");
            self.error_reply(conn, 540, trid);
            self.close(conn);
        }
    }
}

/// The TrID a request carried (0 for those without one).
pub(super) fn request_trid(request: &Request) -> u32 {
    match request {
        Request::Ver { trid, .. }
        | Request::Cvr { trid, .. }
        | Request::Inf { trid }
        | Request::Usr { trid, .. }
        | Request::Syn { trid, .. }
        | Request::Chl { trid }
        | Request::Qry { trid, .. }
        | Request::Add { trid, .. }
        | Request::Rem { trid, .. }
        | Request::Gtc { trid, .. }
        | Request::Blp { trid, .. }
        | Request::Prp { trid, .. }
        | Request::Rea { trid, .. }
        | Request::Uux { trid, .. }
        | Request::Gcf { trid, .. }
        | Request::Xfr { trid, .. }
        | Request::Sbp { trid, .. }
        | Request::Unknown { trid, .. } => *trid,
        Request::Chg(chg) => chg.trid,
        Request::Adc(adc) => adc.trid,
        Request::Group(group) => group.trid(),
        Request::Png | Request::Out | Request::NoTrid { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shields_policy_is_the_documented_145_bytes() {
        assert_eq!(super::SHIELDS.len(), 145);
    }
}
