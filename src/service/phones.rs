//! Phone numbers and mobile settings (msnp8-12.md §d.3, §d.6): a user sets them with
//! `PRP` (MSNP8+); the list download carries the user's own as `PRP` lines and each
//! visible contact's as `BPR` lines after its `LST`; a change reaches watchers as `BPR`.
//! Who sees a user's numbers is who may see the user's presence.

use crate::proto::ns::{at_least, Reply};
use crate::proto::{ConnId, Dialect};
use crate::wire::urlenc;

use super::lists::Change;
use super::ServiceEngine;

impl ServiceEngine {
    /// `PRP <t> <PHH|PHW|PHM|MOB|MBE> [<value>]`: answered once kept, `201` for another
    /// property or a value the service does not keep.
    pub(super) fn ns_phone(&mut self, conn: ConnId, trid: u32, property: String, value: String) {
        let user = self.ns_user(conn);
        match self.dir.new_phone(&user, &property, &urlenc::decode(&value)) {
            Err(code) => self.error_reply(conn, code, trid),
            Ok(write) => self.commit_change(conn, trid, write, Change::Phone { property, value }),
        }
    }

    /// The user's own numbers as the list download's `PRP <type> <value>` lines.
    pub(super) fn own_phone_lines(&self, owner: &str) -> Vec<Reply> {
        self.dir
            .phones(owner)
            .into_iter()
            .map(|(property, value)| Reply::Prp {
                trid: None,
                version: None,
                property: property.into(),
                value: urlenc::encode(value),
            })
            .collect()
    }

    /// `contact`'s numbers as `BPR <type> <value>` lines after its `LST` in `owner`'s
    /// download: for a forward-list contact who lets `owner` see them.
    pub(super) fn contact_phone_lines(&self, owner: &str, contact: &str) -> Vec<Reply> {
        if !self.dir.on_list(owner, "FL", contact) || !self.dir.may_see(owner, contact) {
            return Vec::new();
        }
        self.dir
            .phones(contact)
            .into_iter()
            .map(|(property, value)| Reply::Bpr {
                version: None,
                account: None,
                property: property.into(),
                value: urlenc::encode(value),
            })
            .collect()
    }

    /// `user` set a number: every online watcher who may see them hears `BPR` (the
    /// watcher's list version first up to MSNP9). MSNP7 has no `BPR`.
    pub(super) fn phone_changed(&mut self, user: &str, property: &str) {
        let Some(account) = self.dir.account(user).map(|a| a.sign_in_name.clone()) else {
            return;
        };
        let value = self
            .dir
            .phones(user)
            .into_iter()
            .find(|(p, _)| *p == property)
            .map_or_else(String::new, |(_, v)| urlenc::encode(v));
        let watchers: Vec<String> = self
            .dir
            .list(user, "RL")
            .into_iter()
            .map(|a| a.sign_in_name.clone())
            .collect();
        for watcher in watchers {
            let Some(&conn) = self.online.get(&watcher.to_ascii_lowercase()) else {
                continue;
            };
            let dialect = self.ns_dialect(conn);
            if !at_least(dialect, Dialect::Msnp8) || !self.dir.may_see(&watcher, user) {
                continue;
            }
            let version = (!at_least(dialect, Dialect::Msnp10)).then(|| self.dir.list_version(&watcher).to_string());
            let reply = Reply::Bpr {
                version,
                account: Some(account.clone()),
                property: property.to_string(),
                value: value.clone(),
            };
            self.reply(conn, reply);
        }
    }
}
