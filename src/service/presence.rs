//! Presence: `CHG` sets it, watchers learn it as `ILN` (at their first `CHG`, or when
//! they add the user) and `NLN`/`FLN` (on every change), each in the watcher's own
//! dialect; from MSNP11 the personal message goes along as `UBX` (msnp8-12.md §f, §h).

use crate::proto::ns::{at_least, Chg, Presence, Reply, STATUSES};
use crate::proto::{ConnId, Dialect, Instant};

use super::{ServiceEngine, LOG};

/// The personal message of a user who has set none (msnp8-12.md §h.2, 53 bytes).
pub const EMPTY_PSM: &str = "<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>";

/// The longest `UUX` payload kept and relayed.
pub const MAX_PSM: usize = 1024;

/// What a signed-in user has told the service about themselves.
#[derive(Debug, Default)]
pub(crate) struct Own {
    /// None until the first `CHG`.
    pub(crate) status: Option<String>,
    pub(crate) capabilities: Option<String>,
    pub(crate) msnobj: Option<String>,
    /// The last `UUX` payload (MSNP11+).
    pub(crate) psm: Option<Vec<u8>>,
}

impl ServiceEngine {
    pub(super) fn ns_chg(&mut self, conn: ConnId, chg: Chg, now: Instant) {
        if !STATUSES.contains(&chg.status.as_str()) {
            return self.error_reply(conn, 201, chg.trid);
        }
        let trid = chg.trid;
        let status = chg.status.clone();
        let first = self.ns(conn).is_some_and(|ns| {
            let first = ns.presence.status.is_none();
            ns.presence.status = Some(chg.status.clone());
            ns.presence.capabilities = chg.capabilities.clone();
            ns.presence.msnobj = chg.msnobj.clone();
            first
        });
        self.reply(conn, Reply::Chg(chg));
        let user = self.ns_user(conn);
        if first {
            self.initial_presence(conn, trid, &user);
        }
        // Invisible users look offline to their watchers.
        self.broadcast_presence(&user, status != "HDN");
        if first {
            self.ping(conn, trid, now);
        }
    }

    /// A signed-in user's presence, once they have set one and unless hidden.
    pub(super) fn presence(&self, user: &str) -> Option<Presence> {
        let own = &self.ns_ref(*self.online.get(&user.to_ascii_lowercase())?)?.presence;
        let status = own.status.clone().filter(|s| s != "HDN")?;
        let account = self.dir.account(user)?;
        Some(Presence {
            status,
            account: account.sign_in_name.clone(),
            friendly: account.friendly_name.clone(),
            capabilities: own.capabilities.clone(),
            msnobj: own.msnobj.clone(),
        })
    }

    /// A user's personal message for `UBX`: the last `UUX`, or the empty one.
    fn psm(&self, user: &str) -> Vec<u8> {
        self.online
            .get(&user.to_ascii_lowercase())
            .and_then(|c| self.ns_ref(*c))
            .and_then(|ns| ns.presence.psm.clone())
            .unwrap_or_else(|| EMPTY_PSM.as_bytes().to_vec())
    }

    /// `ILN` (and from MSNP11 `UBX`) for `contact` to `conn`, if the contact is visible
    /// to that connection's user.
    pub(super) fn tell_presence(&mut self, conn: ConnId, trid: u32, contact: &str) {
        let watcher = self.ns_user(conn);
        let Some(presence) = self.presence(contact).filter(|_| self.dir.may_see(&watcher, contact)) else {
            return;
        };
        let account = presence.account.clone();
        self.reply(conn, Reply::Iln { trid, presence });
        if at_least(self.ns_dialect(conn), Dialect::Msnp11) {
            let payload = self.psm(&account);
            self.reply(conn, Reply::Ubx { account, payload });
        }
    }

    /// After the first `CHG`: the presence of every forward-list contact already online.
    fn initial_presence(&mut self, conn: ConnId, trid: u32, user: &str) {
        let contacts: Vec<String> = self
            .dir
            .list(user, "FL")
            .into_iter()
            .map(|a| a.sign_in_name.clone())
            .collect();
        for contact in contacts {
            self.tell_presence(conn, trid, &contact);
        }
    }

    /// Online users with `user` on their forward list who have set a presence (before
    /// their first `CHG` they learn everything at once, as `ILN`), with whether `user`
    /// lets them see it.
    fn watchers(&self, user: &str) -> Vec<(ConnId, bool)> {
        self.dir
            .list(user, "RL")
            .into_iter()
            .filter_map(|w| {
                let conn = *self.online.get(&w.sign_in_name.to_ascii_lowercase())?;
                let present = self.ns_ref(conn)?.presence.status.is_some();
                present.then(|| (conn, self.dir.may_see(&w.sign_in_name, user)))
            })
            .collect()
    }

    /// Everyone online who has `user` on their forward list gets `NLN` (`visible`, and
    /// allowed to see) or `FLN`: a blocked watcher cannot tell blocked from offline.
    pub(super) fn broadcast_presence(&mut self, user: &str, visible: bool) {
        self.tell_watchers(user, visible, |_| true);
    }

    /// As [`Self::broadcast_presence`], to the watchers `only` picks.
    fn tell_watchers(&mut self, user: &str, visible: bool, only: impl Fn(&str) -> bool) {
        let presence = self.presence(user).filter(|_| visible);
        let Some(account) = self.dir.account(user).map(|a| a.sign_in_name.clone()) else {
            return;
        };
        for (w, allowed) in self.watchers(user) {
            let watcher = self.ns_user(w);
            if !only(&watcher) {
                continue;
            }
            let reply = match presence.as_ref().filter(|_| allowed) {
                Some(p) => Reply::Nln(p.clone()),
                None => Reply::Fln {
                    account: account.clone(),
                },
            };
            self.reply(w, reply);
        }
    }

    /// `user`'s allow or block list, or `BLP`, changed: the watchers it concerns see
    /// them appear or vanish (`contact` None: every watcher).
    pub(super) fn privacy_changed(&mut self, user: &str, contact: Option<&str>) {
        if self.presence(user).is_none() {
            return;
        }
        self.tell_watchers(user, true, |w| contact.is_none_or(|c| c.eq_ignore_ascii_case(w)));
    }

    /// `UUX`: the personal message, relayed to MSNP11+ watchers as `UBX`. Malformed XML
    /// ends the connection, as the protocol says (msnp8-12.md §h.1).
    pub(super) fn ns_uux(&mut self, conn: ConnId, trid: u32, payload: Vec<u8>) {
        let text = std::str::from_utf8(&payload).map(str::trim).unwrap_or("");
        let well_formed = payload.len() <= MAX_PSM && text.starts_with("<Data") && text.ends_with("</Data>");
        if !well_formed {
            log::info!(target: LOG, "connection {conn} sent a malformed personal message; closing");
            return self.close(conn);
        }
        if let Some(ns) = self.ns(conn) {
            ns.presence.psm = Some(payload.clone());
        }
        self.reply(conn, Reply::Uux { trid });
        let user = self.ns_user(conn);
        if self.presence(&user).is_none() {
            return;
        }
        let Some(account) = self.dir.account(&user).map(|a| a.sign_in_name.clone()) else {
            return;
        };
        for (w, allowed) in self.watchers(&user) {
            if allowed && at_least(self.ns_dialect(w), Dialect::Msnp11) {
                let payload = payload.clone();
                self.reply(
                    w,
                    Reply::Ubx {
                        account: account.clone(),
                        payload,
                    },
                );
            }
        }
    }
}
