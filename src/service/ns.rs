//! Notification-server connections: sign-in (`VER`, `INF`, `USR`), `SYN`, `CHG`, and the
//! challenges behind both the pings and Lock and Key (msnp.md §b, §d, §e). Handlers take
//! typed requests ([`crate::proto::ns`]) and answer with typed replies.

use crate::proto::dialect::{self, Auth, Dialect};
use crate::proto::ns::{Lst, LstMember, Reply, Request, UsrRequest};
use crate::proto::{ConnId, Instant, CHALLENGE_TIMEOUT, LOCK_AND_KEY_HEADER};
use crate::wire::{challenge, Command};

use super::{Role, ServiceEngine, LOG};

#[derive(Debug)]
enum Stage {
    AwaitVer,
    /// Dialect agreed; `INF` and `USR … I` may come.
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
    pinged: bool,
    /// The presence set by the last `CHG`; None until the first.
    status: Option<String>,
    challenges: Vec<Outstanding>,
}

impl NsConn {
    pub(super) fn new() -> Self {
        NsConn {
            stage: Stage::AwaitVer,
            dialect: None,
            pinged: false,
            status: None,
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

    pub(super) fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
}

/// Statuses `CHG` accepts (msnp.md §b.9); `FLN` is refused with 201.
const STATUSES: &[&str] = &["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN"];

impl ServiceEngine {
    fn ns(&mut self, conn: ConnId) -> Option<&mut NsConn> {
        match self.conns.get_mut(&conn).map(|c| &mut c.role) {
            Some(Role::Ns(ns)) => Some(ns),
            _ => None,
        }
    }

    fn ns_user(&mut self, conn: ConnId) -> String {
        self.ns(conn)
            .and_then(|ns| ns.user().map(str::to_string))
            .unwrap_or_default()
    }

    /// Sends a typed reply in the connection's dialect.
    pub(super) fn reply(&mut self, conn: ConnId, reply: Reply) {
        let dialect = self.ns(conn).and_then(|ns| ns.dialect());
        self.send(conn, reply.to_command(dialect));
    }

    pub(super) fn error_reply(&mut self, conn: ConnId, code: u16, trid: u32) {
        self.send(conn, crate::proto::ns::error(code, trid));
    }

    pub(super) fn ns_command(&mut self, conn: ConnId, cmd: Command, now: Instant) {
        let dialect = self.ns(conn).and_then(|ns| ns.dialect());
        let request = Request::parse(&cmd, dialect);
        let signed_in = self.ns(conn).is_some_and(|ns| ns.user().is_some());
        match request {
            Request::Out => self.close_because(conn, "it said OUT"),
            Request::Png => self.reply(conn, Reply::Qng),
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
            Request::Chg { trid, status, .. } => self.ns_chg(conn, trid, &status, now),
            Request::Chl { trid } => self.ns_chl(conn, trid, now),
            Request::Qry { trid, id, digest } => self.ns_qry(conn, trid, &id, &digest, now),
            Request::Add {
                trid, list, account, ..
            } => self.ns_add(conn, trid, &list, &account),
            Request::Xfr { trid, kind } => {
                let user = self.ns_user(conn);
                self.ns_xfr(conn, trid, &kind, &user, now)
            }
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
        match self.ns(conn).and_then(|ns| ns.dialect()).map(Dialect::auth) {
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
                let account = self.dir.account(&user).cloned();
                let ok = account
                    .as_ref()
                    .is_some_and(|a| challenge::responses_match(&challenge::md5_response(&salt, &a.password), &proof));
                match account {
                    Some(a) if ok => self.ns_signed_in(conn, a, trid, now),
                    _ => {
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
        if dialect.is_some_and(|d| d >= Dialect::Msnp11) {
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
        let migrated = if dialect.is_some_and(|d| d >= Dialect::Msnp10) {
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

    /// MSNP7 list download: one `LST` series per list (msnp.md §b.8).
    fn ns_syn(&mut self, conn: ConnId, trid: u32) {
        let user = self.ns_user(conn);
        let version = self.dir.list_version(&user).to_string();
        self.reply(
            conn,
            Reply::Syn {
                trid,
                version: version.clone(),
            },
        );
        self.reply(
            conn,
            Reply::Gtc {
                trid,
                version: version.clone(),
                setting: "A".into(),
            },
        );
        self.reply(
            conn,
            Reply::Blp {
                trid,
                version: version.clone(),
                setting: "AL".into(),
            },
        );
        self.reply(
            conn,
            Reply::Lsg {
                trid,
                version: version.clone(),
                index: "1".into(),
                total: "1".into(),
                id: "0".into(),
                name: "Other Contacts".into(),
            },
        );
        for list in ["FL", "AL", "BL", "RL"] {
            let members: Vec<(String, String)> = self
                .dir
                .list(&user, list)
                .into_iter()
                .map(|a| (a.sign_in_name.clone(), a.friendly_name.clone()))
                .collect();
            let lst = |index: usize, member| {
                Reply::Lst(Lst {
                    trid,
                    list: list.to_string(),
                    version: version.clone(),
                    index,
                    total: members.len(),
                    member,
                })
            };
            if members.is_empty() {
                self.reply(conn, lst(0, None));
            }
            for (i, (account, friendly)) in members.iter().enumerate() {
                let member = LstMember {
                    account: account.clone(),
                    friendly: friendly.clone(),
                    groups: (list == "FL").then(|| "0".to_string()),
                };
                self.reply(conn, lst(i + 1, Some(member)));
            }
        }
    }

    /// `ADD <t> <list> <account> <name> [<group>]` (msnp.md §g.2): answered once the
    /// entry is durable.
    fn ns_add(&mut self, conn: ConnId, trid: u32, list: &str, contact: &str) {
        let user = self.ns_user(conn);
        if list == "RL" {
            // The reverse list is the server's to keep: legacy servers hang up.
            return self.close(conn);
        }
        match self.dir.new_entry(&user, list, contact) {
            Err(refusal) => self.error_reply(conn, refusal as u16, trid),
            Ok(write) => self.commit(write, super::Then::Add { conn, trid }),
        }
    }

    /// The entry an `ADD` asked for is in: the reply, and the contact hears of it.
    pub(super) fn ns_added(&mut self, conn: ConnId, trid: u32, list: &str, contact: &str, version: u32) {
        let user = self.ns_user(conn);
        let Some(account) = self.dir.account(contact).cloned() else {
            return;
        };
        if list == "FL" {
            if let Some(status) = self.presence(&account.sign_in_name) {
                self.reply(
                    conn,
                    Reply::Iln {
                        trid,
                        status,
                        account: account.sign_in_name.clone(),
                        friendly: account.friendly_name.clone(),
                    },
                );
            }
        }
        self.reply(
            conn,
            Reply::Add {
                trid,
                list: list.to_string(),
                version: version.to_string(),
                account: account.sign_in_name.clone(),
                friendly: account.friendly_name.clone(),
                group: (list == "FL").then(|| "0".to_string()),
            },
        );
        if list == "FL" && !user.is_empty() {
            self.notify_reverse_add(&user, &account.sign_in_name);
        }
    }

    /// `ADD 0 RL …` to someone who was just put on a forward list, if online.
    fn notify_reverse_add(&mut self, owner: &str, contact: &str) {
        let Some(&target) = self.online.get(&contact.to_ascii_lowercase()) else {
            return;
        };
        let Some(owner) = self.dir.account(owner).cloned() else {
            return;
        };
        let version = self.dir.list_version(contact).to_string();
        self.reply(
            target,
            Reply::Add {
                trid: 0,
                list: "RL".into(),
                version,
                account: owner.sign_in_name,
                friendly: owner.friendly_name,
                group: None,
            },
        );
    }

    /// A signed-in user's presence, once they have set one.
    pub(super) fn presence(&self, user: &str) -> Option<String> {
        let conn = self.online.get(&user.to_ascii_lowercase())?;
        match &self.conns.get(conn)?.role {
            Role::Ns(ns) => ns.status().map(str::to_string),
            _ => None,
        }
    }

    /// Everyone online who has `user` on their forward list gets `NLN`/`FLN`.
    pub(super) fn broadcast_presence(&mut self, user: &str, status: Option<&str>) {
        let Some(account) = self.dir.account(user).cloned() else {
            return;
        };
        let watchers: Vec<ConnId> = self
            .dir
            .list(user, "RL")
            .into_iter()
            .filter_map(|w| self.online.get(&w.sign_in_name.to_ascii_lowercase()).copied())
            .collect();
        for w in watchers {
            let reply = match status {
                Some(s) => Reply::Nln {
                    status: s.to_string(),
                    account: account.sign_in_name.clone(),
                    friendly: account.friendly_name.clone(),
                },
                None => Reply::Fln {
                    account: account.sign_in_name.clone(),
                },
            };
            self.reply(w, reply);
        }
    }

    fn ns_chg(&mut self, conn: ConnId, trid: u32, status: &str, now: Instant) {
        if !STATUSES.contains(&status) {
            return self.error_reply(conn, 201, trid);
        }
        self.reply(
            conn,
            Reply::Chg {
                trid,
                status: status.to_string(),
            },
        );
        let user = self.ns(conn).and_then(|ns| {
            ns.status = Some(status.to_string());
            ns.user().map(str::to_string)
        });
        let first = self.ns(conn).is_some_and(|ns| !std::mem::replace(&mut ns.pinged, true));
        if let Some(user) = &user {
            if first {
                self.initial_presence(conn, trid, user);
            }
            // Invisible users look offline to their watchers.
            self.broadcast_presence(user, (status != "HDN").then_some(status));
        }
        if first {
            let challenge = self.random_digits(20);
            self.issue(conn, challenge.clone(), ChallengeKind::Ping { chg_trid: trid }, now);
            self.reply(conn, Reply::Chl { trid: 0, challenge });
        }
    }

    /// `ILN` for every forward-list contact already online, after the first `CHG`.
    fn initial_presence(&mut self, conn: ConnId, trid: u32, user: &str) {
        let online: Vec<Reply> = self
            .dir
            .list(user, "FL")
            .into_iter()
            .filter_map(|a| {
                let status = self.presence(&a.sign_in_name).filter(|s| s != "HDN")?;
                Some(Reply::Iln {
                    trid,
                    status,
                    account: a.sign_in_name.clone(),
                    friendly: a.friendly_name.clone(),
                })
            })
            .collect();
        for iln in online {
            self.reply(conn, iln);
        }
    }

    /// A client-requested challenge (msnp.md §d.2, §e).
    fn ns_chl(&mut self, conn: ConnId, trid: u32, now: Instant) {
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

    /// `QRY <t> <id> 32` + digest. Client ids answer pings, licensed app ids answer
    /// requested challenges; a QRY does not say which challenge, so any live one of the
    /// right kind whose digest matches is consumed (msnp.md §e.3).
    fn ns_qry(&mut self, conn: ConnId, trid: u32, id: &str, digest: &[u8], now: Instant) {
        let digest = String::from_utf8_lossy(digest).into_owned();
        let (key, is_client) = match (self.dir.client_key(id), self.dir.app_key(id)) {
            (Some(k), _) => (Some(k.to_string()), true),
            (None, Some(k)) => (Some(k.to_string()), false),
            (None, None) => (None, false),
        };
        let Some(ns) = self.ns(conn) else { return };
        let matched = key.and_then(|key| {
            ns.challenges.iter().position(|c| {
                c.expires > now
                    && matches!(c.kind, ChallengeKind::Ping { .. }) == is_client
                    && challenge::responses_match(&challenge::md5_response(&c.challenge, &key), &digest)
            })
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
            None if is_client && ping_outstanding => {
                // Legacy behaviour for the client's own answer to a ping: 540 and close.
                self.error_reply(conn, 540, trid);
                self.close(conn);
            }
            None => {
                // Project choice (msnp.md §e.3): a failed app answer keeps the
                // connection. Guessing a 128-bit digest is hopeless, so no retry budget.
                self.error_reply(conn, 540, trid);
            }
        }
    }

    /// Expired challenges: an unanswered ping ends the connection with `540 <CHG trid>`
    /// (as Escargot); an unanswered app challenge is simply forgotten.
    pub(super) fn ns_tick(&mut self, conn: ConnId, now: Instant) {
        let Some(ns) = self.ns(conn) else { return };
        let mut missed_ping = None;
        ns.challenges.retain(|c| {
            let live = c.expires > now;
            if let (false, ChallengeKind::Ping { chg_trid }) = (live, c.kind) {
                missed_ping = Some(chg_trid);
            }
            live
        });
        if let Some(trid) = missed_ping {
            log::info!(target: LOG, "connection {conn} did not answer the server's ping in time; closing");
            self.error_reply(conn, 540, trid);
            self.close(conn);
        }
    }
}

/// The TrID a request carried (0 for those without one).
fn request_trid(request: &Request) -> u32 {
    match request {
        Request::Ver { trid, .. }
        | Request::Cvr { trid, .. }
        | Request::Inf { trid }
        | Request::Usr { trid, .. }
        | Request::Syn { trid, .. }
        | Request::Chg { trid, .. }
        | Request::Chl { trid }
        | Request::Qry { trid, .. }
        | Request::Add { trid, .. }
        | Request::Xfr { trid, .. }
        | Request::Unknown { trid, .. } => *trid,
        Request::Png | Request::Out | Request::NoTrid { .. } => 0,
    }
}
