//! Notification-server connections: MSNP7 sign-in (`VER`, `INF`, `USR MD5`), `SYN`,
//! `CHG`, and the challenges behind both the pings and Lock and Key (msnp.md §b, §d, §e).

use crate::proto::{line, with_payload, ConnId, Instant, CHALLENGE_TIMEOUT, DIALECT, LOCK_AND_KEY_HEADER};
use crate::wire::{challenge, urlenc, Command};

use super::{Role, ServiceEngine};

#[derive(Debug)]
enum Stage {
    AwaitVer,
    /// Dialect agreed; `INF` and `USR … I` may come.
    Negotiated,
    AwaitProof {
        user: String,
        salt: String,
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
    pinged: bool,
    /// The presence set by the last `CHG`; None until the first.
    status: Option<String>,
    challenges: Vec<Outstanding>,
}

impl NsConn {
    pub(super) fn new() -> Self {
        NsConn {
            stage: Stage::AwaitVer,
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

    pub(super) fn error_reply(&mut self, conn: ConnId, code: u16, trid: &str) {
        self.send(conn, line(&code.to_string(), &[trid]));
    }

    pub(super) fn ns_command(&mut self, conn: ConnId, cmd: Command, now: Instant) {
        // OUT and PNG are the only client commands without a TrID.
        match cmd.name.as_str() {
            "OUT" => return self.close(conn),
            "PNG" => return self.send(conn, line::<&str>("QNG", &[])),
            _ => {}
        }
        let Some(trid) = cmd.trid() else {
            return self.error_reply(conn, 200, "0");
        };
        let t = trid.to_string();
        let signed_in = self.ns(conn).is_some_and(|ns| ns.user().is_some());
        match cmd.name.as_str() {
            "VER" => self.ns_ver(conn, &cmd, &t),
            "INF" => self.send(conn, line("INF", &[t.as_str(), "MD5"])),
            "USR" => self.ns_usr(conn, &cmd, &t, now),
            "CVR" => {
                let version = cmd.args.get(6).map(String::as_str).unwrap_or("4.7.0000");
                self.send(
                    conn,
                    line(
                        "CVR",
                        &[
                            t.as_str(),
                            version,
                            version,
                            version,
                            "http://localhost/",
                            "http://localhost/",
                        ],
                    ),
                );
            }
            _ if !signed_in => self.error_reply(conn, 302, &t),
            "SYN" => self.ns_syn(conn, &t),
            "CHG" => self.ns_chg(conn, &cmd, trid, now),
            "CHL" => self.ns_chl(conn, &t, now),
            "QRY" => self.ns_qry(conn, &cmd, &t, now),
            "ADD" => self.ns_add(conn, &cmd, &t),
            "XFR" => {
                let user = self
                    .ns(conn)
                    .and_then(|ns| ns.user().map(str::to_string))
                    .unwrap_or_default();
                self.ns_xfr(conn, &cmd, &t, &user, now)
            }
            _ => self.error_reply(conn, 200, &t),
        }
    }

    fn ns_ver(&mut self, conn: ConnId, cmd: &Command, t: &str) {
        let Some(ns) = self.ns(conn) else { return };
        if !matches!(ns.stage, Stage::AwaitVer) {
            self.error_reply(conn, 715, t);
            return self.close(conn);
        }
        if cmd.args.iter().skip(1).any(|d| d == DIALECT) {
            ns.stage = Stage::Negotiated;
            self.send(conn, line("VER", &[t, DIALECT]));
        } else {
            self.send(conn, line("VER", &[t, "0"]));
            self.close(conn);
        }
    }

    fn ns_usr(&mut self, conn: ConnId, cmd: &Command, t: &str, now: Instant) {
        let args: Vec<&str> = cmd.args.iter().skip(1).map(String::as_str).collect();
        let Some(ns) = self.ns(conn) else { return };
        match (&ns.stage, args.as_slice()) {
            (Stage::SignedIn { .. }, _) => self.error_reply(conn, 207, t),
            (Stage::Negotiated, ["MD5", "I", user]) => {
                let user = user.to_string();
                // An unknown account still gets a salt and fails at the proof, so the
                // reply does not reveal which accounts exist (as Escargot does).
                let salt = self.random_hex(15);
                if let Some(ns) = self.ns(conn) {
                    ns.stage = Stage::AwaitProof {
                        user: user.clone(),
                        salt: salt.clone(),
                    };
                }
                self.send(conn, line("USR", &[t, "MD5", "S", salt.as_str()]));
            }
            (Stage::AwaitProof { user, salt }, ["MD5", "S", proof]) => {
                let (user, salt) = (user.clone(), salt.clone());
                let account = self.dir.account(&user).cloned();
                let ok = account
                    .as_ref()
                    .is_some_and(|a| challenge::responses_match(&challenge::md5_response(&salt, &a.password), proof));
                match account {
                    Some(a) if ok => self.ns_signed_in(conn, a, t, now),
                    _ => {
                        self.error_reply(conn, 911, t);
                        self.close(conn);
                    }
                }
            }
            _ => {
                self.error_reply(conn, 911, t);
                self.close(conn);
            }
        }
    }

    fn ns_signed_in(&mut self, conn: ConnId, account: super::Account, t: &str, now: Instant) {
        let key = account.sign_in_name.to_ascii_lowercase();
        // One sign-in per account: the older connection is told why it is dropped.
        if let Some(old) = self.online.insert(key, conn) {
            if old != conn {
                self.send(old, line("OUT", &["OTH"]));
                self.close(old);
            }
        }
        if let Some(ns) = self.ns(conn) {
            ns.stage = Stage::SignedIn {
                user: account.sign_in_name.clone(),
            };
        }
        let name = urlenc::encode(&account.friendly_name);
        self.send(
            conn,
            line("USR", &[t, "OK", account.sign_in_name.as_str(), name.as_str(), "1"]),
        );
        let profile = self.profile(&account, now);
        self.send(conn, with_payload("MSG", &["Hotmail", "Hotmail"], profile));
    }

    /// The `text/x-msmsgsprofile` message sent after sign-in, plus our Lock and Key header.
    fn profile(&mut self, account: &super::Account, now: Instant) -> Vec<u8> {
        let member_low = self.rng_u32();
        let auth = self.random_hex(32);
        format!(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n\
             LoginTime: {}\r\nEmailEnabled: 0\r\nMemberIdHigh: 0\r\nMemberIdLow: {}\r\n\
             lang_preference: 1033\r\npreferredEmail: {}\r\ncountry: US\r\nKid: 0\r\nFlags: 1027\r\n\
             sid: 507\r\nMSPAuth: {}\r\nClientIP: 127.0.0.1\r\n{}: {}\r\n\r\n",
            now.as_secs(),
            member_low,
            account.sign_in_name,
            auth,
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
    fn ns_syn(&mut self, conn: ConnId, t: &str) {
        let user = self
            .ns(conn)
            .and_then(|ns| ns.user().map(str::to_string))
            .unwrap_or_default();
        let ver = self.dir.list_version(&user).to_string();
        self.send(conn, line("SYN", &[t, ver.as_str()]));
        self.send(conn, line("GTC", &[t, ver.as_str(), "A"]));
        self.send(conn, line("BLP", &[t, ver.as_str(), "AL"]));
        self.send(
            conn,
            line("LSG", &[t, ver.as_str(), "1", "1", "0", "Other%20Contacts", "0"]),
        );
        for list in ["FL", "AL", "BL", "RL"] {
            let members: Vec<(String, String)> = self
                .dir
                .list(&user, list)
                .into_iter()
                .map(|a| (a.sign_in_name.clone(), urlenc::encode(&a.friendly_name)))
                .collect();
            if members.is_empty() {
                self.send(conn, line("LST", &[t, list, ver.as_str(), "0", "0"]));
            }
            let total = members.len().to_string();
            for (i, (name, friendly)) in members.iter().enumerate() {
                let index = (i + 1).to_string();
                let mut args = vec![
                    t,
                    list,
                    ver.as_str(),
                    index.as_str(),
                    total.as_str(),
                    name.as_str(),
                    friendly.as_str(),
                ];
                if list == "FL" {
                    args.push("0");
                }
                self.send(conn, line("LST", &args));
            }
        }
    }

    /// `ADD <t> <list> <account> <name> [<group>]` (msnp.md §g.2).
    fn ns_add(&mut self, conn: ConnId, cmd: &Command, t: &str) {
        let user = self
            .ns(conn)
            .and_then(|ns| ns.user().map(str::to_string))
            .unwrap_or_default();
        let list = cmd.args.get(1).map(String::as_str).unwrap_or("");
        let contact = cmd.args.get(2).map(String::as_str).unwrap_or("");
        if list == "RL" {
            // The reverse list is the server's to keep: legacy servers hang up.
            return self.close(conn);
        }
        match self.dir.add_to_list(&user, list, contact) {
            Err(refusal) => self.error_reply(conn, refusal as u16, t),
            Ok(version) => {
                let account = self.dir.account(contact).cloned();
                let Some(account) = account else { return };
                let friendly = urlenc::encode(&account.friendly_name);
                if list == "FL" {
                    if let Some(status) = self.presence(&account.sign_in_name) {
                        let name = account.sign_in_name.as_str();
                        self.send(conn, line("ILN", &[t, status.as_str(), name, friendly.as_str()]));
                    }
                }
                let ver = version.to_string();
                let mut reply = vec![t, list, ver.as_str(), account.sign_in_name.as_str(), friendly.as_str()];
                if list == "FL" {
                    reply.push("0");
                }
                self.send(conn, line("ADD", &reply));
                if list == "FL" {
                    self.notify_reverse_add(&user, &account.sign_in_name);
                }
            }
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
        let ver = self.dir.list_version(contact).to_string();
        let friendly = urlenc::encode(&owner.friendly_name);
        self.send(
            target,
            line(
                "ADD",
                &["0", "RL", ver.as_str(), owner.sign_in_name.as_str(), friendly.as_str()],
            ),
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
        let friendly = urlenc::encode(&account.friendly_name);
        for w in watchers {
            let cmd = match status {
                Some(s) => line("NLN", &[s, account.sign_in_name.as_str(), friendly.as_str()]),
                None => line("FLN", &[account.sign_in_name.as_str()]),
            };
            self.send(w, cmd);
        }
    }

    fn ns_chg(&mut self, conn: ConnId, cmd: &Command, trid: u32, now: Instant) {
        let t = trid.to_string();
        let status = cmd.args.get(1).map(String::as_str).unwrap_or("");
        if !STATUSES.contains(&status) {
            return self.error_reply(conn, 201, &t);
        }
        self.send(conn, line("CHG", &[t.as_str(), status]));
        let user = self.ns(conn).and_then(|ns| {
            ns.status = Some(status.to_string());
            ns.user().map(str::to_string)
        });
        let first = self.ns(conn).is_some_and(|ns| !std::mem::replace(&mut ns.pinged, true));
        if let Some(user) = &user {
            if first {
                self.initial_presence(conn, &t, user);
            }
            // Invisible users look offline to their watchers.
            self.broadcast_presence(user, (status != "HDN").then_some(status));
        }
        if first {
            let challenge = self.random_digits(20);
            self.issue(conn, challenge.clone(), ChallengeKind::Ping { chg_trid: trid }, now);
            self.send(conn, line("CHL", &["0", challenge.as_str()]));
        }
    }

    /// `ILN` for every forward-list contact already online, after the first `CHG`.
    fn initial_presence(&mut self, conn: ConnId, t: &str, user: &str) {
        let online: Vec<(String, String, String)> = self
            .dir
            .list(user, "FL")
            .into_iter()
            .filter_map(|a| {
                let status = self.presence(&a.sign_in_name).filter(|s| s != "HDN")?;
                Some((status, a.sign_in_name.clone(), urlenc::encode(&a.friendly_name)))
            })
            .collect();
        for (status, name, friendly) in online {
            self.send(
                conn,
                line("ILN", &[t, status.as_str(), name.as_str(), friendly.as_str()]),
            );
        }
    }

    /// A client-requested challenge (msnp.md §d.2, §e).
    fn ns_chl(&mut self, conn: ConnId, t: &str, now: Instant) {
        let challenge = self.random_digits(20);
        self.issue(conn, challenge.clone(), ChallengeKind::Requested, now);
        self.send(conn, line("CHL", &[t, challenge.as_str()]));
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
    fn ns_qry(&mut self, conn: ConnId, cmd: &Command, t: &str, now: Instant) {
        let id = cmd.args.get(1).map(String::as_str).unwrap_or("");
        let digest = String::from_utf8_lossy(cmd.payload.as_deref().unwrap_or_default()).into_owned();
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
                self.send(conn, line("QRY", &[t]));
            }
            None if is_client && ping_outstanding => {
                // Legacy behaviour for the client's own answer to a ping: 540 and close.
                self.error_reply(conn, 540, t);
                self.close(conn);
            }
            None => {
                // Project choice (msnp.md §e.3): a failed app answer keeps the
                // connection. Guessing a 128-bit digest is hopeless, so no retry budget.
                self.error_reply(conn, 540, t);
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
            self.error_reply(conn, 540, &trid.to_string());
            self.close(conn);
        }
    }
}
