//! Contact lists on the notification server: the download (`SYN` and the lines after
//! it, in each dialect's shape), changes (`ADD` up to MSNP9, `ADC` from MSNP10, `REM`),
//! the privacy settings (`GTC`, `BLP`) and the user's own friendly name (`REA` up to
//! MSNP9, `PRP MFN` from MSNP10). Every change is a [`Write`]: it is answered once
//! durable (msnp.md §b.8, §g; msnp8-12.md §d, §e).

use crate::proto::ns::{at_least, Adc, ListEntry, Lst, LstMember, Reply, Setting, LIST_AL, LIST_BL, LIST_FL, LIST_RL};
use crate::proto::{ConnId, Dialect};
use crate::wire::{challenge, urlenc};

use super::directory::AddRefusal;
use super::grouping::GroupEcho;
use super::groups::refusal;
use super::{ServiceEngine, Then, Write};

/// The list and settings versions of MSNP10+: ISO 8601 time stamps that no client
/// parses, so one fixed value (Escargot does the same) that is always "changed".
const SYN_STAMP: &str = "2001-10-25T00:00:00.0000000-00:00";

/// What a client's change waits for before it is answered.
#[derive(Debug)]
pub(super) enum Change {
    /// `ADD` or `ADC`, whose request the reply echoes.
    Add { echo: Echo },
    /// `REM`, whose target (and group, for leaving one) the reply echoes.
    Rem { target: String, group: Option<String> },
    /// `GTC` or `BLP`.
    Setting,
    /// `PRP MFN` or `REA`, whose name the reply echoes byte for byte.
    Rename { name: String },
    /// `ADG`, `RMG`, `REG`.
    Group(GroupEcho),
    /// A name kept for a contact: `REA` (up to MSNP9; `target` is the account) or `SBP`
    /// (`target` the contact GUID, `property` `MFN`), echoed as sent.
    Nickname {
        target: String,
        property: Option<String>,
        name: String,
    },
    /// `PRP` of a phone number or mobile setting, whose value the reply echoes as sent.
    Phone { property: String, value: String },
}

/// What an add's reply echoes (msnp.md §g.2, msnp8-12.md §e.1–§e.2).
#[derive(Debug)]
pub(super) enum Echo {
    /// `ADD <t> <list> <account> <name> [<group>]`: the reply is the request with the
    /// list version inserted, account, name and group as the client gave them.
    Add {
        account: String,
        name: Option<String>,
        group: Option<String>,
    },
    /// `ADC`: the account and name as written, and the GUID for the forward list.
    Adc(Adc),
}

/// The GUID of `contact` on `owner`'s forward list (MSNP10+): stable, so nothing needs
/// storing, and different per owner, as the service's were.
pub fn contact_guid(owner: &str, contact: &str) -> String {
    let h = challenge::md5_hex(format!("{}\n{}", owner.to_ascii_lowercase(), contact.to_ascii_lowercase()).as_bytes());
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl ServiceEngine {
    /// A client's change, answered once durable ([`Self::ns_changed`]).
    pub(super) fn commit_change(&mut self, conn: ConnId, trid: u32, write: Write, change: Change) {
        self.commit(write, Then::Client { conn, trid, change });
    }

    /// Everyone on one of `user`'s lists, with the lists as bits, forward list first.
    fn entries(&self, user: &str) -> Vec<(super::Account, u8)> {
        let mut found: Vec<(super::Account, u8)> = Vec::new();
        for (list, bit) in [("FL", LIST_FL), ("AL", LIST_AL), ("BL", LIST_BL), ("RL", LIST_RL)] {
            for a in self.dir.list(user, list) {
                match found.iter_mut().find(|(f, _)| f.sign_in_name == a.sign_in_name) {
                    Some((_, bits)) => *bits |= bit,
                    None => found.push((a.clone(), bit)),
                }
            }
        }
        found
    }

    pub(super) fn ns_syn(&mut self, conn: ConnId, trid: u32) {
        let user = self.ns_user(conn);
        let dialect = self.ns_dialect(conn);
        if !at_least(dialect, Dialect::Msnp8) {
            return self.syn_msnp7(conn, trid, &user);
        }
        let modern = at_least(dialect, Dialect::Msnp10);
        let entries = self.entries(&user);
        let versions = if modern {
            vec![SYN_STAMP.to_string(), SYN_STAMP.to_string()]
        } else {
            vec![self.dir.list_version(&user).to_string()]
        };
        let owner = user.to_ascii_lowercase();
        // Up to MSNP9 group 0 is listed too; from MSNP10 it is not a group.
        let groups: Vec<(String, String)> = self
            .dir
            .groups()
            .of(&owner)
            .into_iter()
            .filter_map(|(id, name)| Some((Self::group_label(dialect, &owner, id)?, name.to_string())))
            .collect();
        let setting = |value: &str| Setting {
            trid: None,
            version: None,
            value: value.to_string(),
        };
        let mut lines = vec![
            Reply::Syn {
                trid,
                versions,
                counts: Some((entries.len(), groups.len())),
            },
            Reply::Gtc(setting(self.dir.setting(&user, "GTC"))),
            Reply::Blp(setting(self.dir.setting(&user, "BLP"))),
        ];
        if modern {
            let friendly = self
                .dir
                .account(&user)
                .map(|a| a.friendly_name.clone())
                .unwrap_or_default();
            lines.push(Reply::Prp {
                trid: None,
                version: None,
                property: "MFN".into(),
                value: urlenc::encode(&friendly),
            });
        }
        lines.extend(self.own_phone_lines(&owner));
        for (id, name) in groups {
            lines.push(Reply::Lsg {
                trid: 0,
                version: String::new(),
                index: 0,
                total: 0,
                id,
                name,
            });
        }
        for (account, lists) in entries {
            let phones = self.contact_phone_lines(&owner, &account.sign_in_name);
            lines.push(Reply::Contact(ListEntry {
                guid: modern.then(|| contact_guid(&user, &account.sign_in_name)),
                groups: self.group_field(dialect, &owner, &account.sign_in_name),
                friendly: self.dir.shown_name(&owner, &account).to_string(),
                account: account.sign_in_name,
                lists,
            }));
            lines.extend(phones);
        }
        for line in lines {
            self.reply(conn, line);
        }
    }

    /// MSNP7 list download: one `LST` series per list (msnp.md §b.8).
    fn syn_msnp7(&mut self, conn: ConnId, trid: u32, user: &str) {
        let version = self.dir.list_version(user).to_string();
        let setting = |value: &str| Setting {
            trid: Some(trid),
            version: Some(version.clone()),
            value: value.to_string(),
        };
        let mut lines = vec![
            Reply::Syn {
                trid,
                versions: vec![version.clone()],
                counts: None,
            },
            Reply::Gtc(setting(self.dir.setting(user, "GTC"))),
            Reply::Blp(setting(self.dir.setting(user, "BLP"))),
        ];
        let owner = user.to_ascii_lowercase();
        let groups = self.dir.groups().of(&owner);
        for (i, (id, name)) in groups.iter().enumerate() {
            lines.push(Reply::Lsg {
                trid,
                version: version.clone(),
                index: i + 1,
                total: groups.len(),
                id: id.to_string(),
                name: name.to_string(),
            });
        }
        for list in ["FL", "AL", "BL", "RL"] {
            let members: Vec<(String, String, Option<String>)> = self
                .dir
                .list(user, list)
                .into_iter()
                .map(|a| {
                    let groups =
                        (list == "FL").then(|| self.group_field(Some(Dialect::Msnp7), &owner, &a.sign_in_name));
                    let name = self.dir.shown_name(&owner, a).to_string();
                    (a.sign_in_name.clone(), name, groups.flatten())
                })
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
                lines.push(lst(0, None));
            }
            for (i, (account, friendly, groups)) in members.iter().enumerate() {
                let member = LstMember {
                    account: account.clone(),
                    friendly: friendly.clone(),
                    groups: groups.clone(),
                };
                lines.push(lst(i + 1, Some(member)));
            }
        }
        for line in lines {
            self.reply(conn, line);
        }
    }

    /// The group field of a forward-list contact's `LST`: its group numbers, `0` when
    /// in none (up to MSNP9), or its groups' GUIDs, none when in none (MSNP10+).
    fn group_field(&self, dialect: Option<Dialect>, owner: &str, contact: &str) -> Option<String> {
        let labels: Vec<String> = self
            .dir
            .groups()
            .member_of(owner, &contact.to_ascii_lowercase())
            .into_iter()
            .filter_map(|id| Self::group_label(dialect, owner, id))
            .collect();
        match (labels.is_empty(), at_least(dialect, Dialect::Msnp10)) {
            (false, _) => Some(labels.join(",")),
            (true, false) => Some("0".into()),
            (true, true) => None,
        }
    }

    /// `ADD <t> <list> <account> <name> [<group>]` (up to MSNP9, msnp.md §g.2) and the
    /// checked part of `ADC`: answered once the entry is durable. `group` (already
    /// checked to exist) puts a forward-list contact into that group: a new contact
    /// with it, one already there into one more group.
    pub(super) fn ns_add(
        &mut self,
        conn: ConnId,
        trid: u32,
        list: &str,
        contact: &str,
        echo: Echo,
        group: Option<u32>,
    ) {
        let user = self.ns_user(conn);
        if list == "RL" {
            // The reverse list is the server's to keep: legacy servers hang up.
            return self.close(conn);
        }
        let group = group.filter(|_| list == "FL");
        match self.dir.new_entry(&user, list, contact) {
            Err(AddRefusal::AlreadyThere) if group.is_some() => {
                match self.dir.joining(&user, contact, group.unwrap_or_default()) {
                    Err(code) => self.error_reply(conn, code, trid),
                    Ok(write) => self.commit_change(conn, trid, write, Change::Add { echo }),
                }
            }
            // From MSNP10 an unknown account is 208, not 205 (msnp8-12.md §e.2).
            Err(AddRefusal::UnknownUser) if matches!(echo, Echo::Adc(_)) => self.error_reply(conn, 208, trid),
            Err(refusal) => self.error_reply(conn, refusal as u16, trid),
            Ok(write) => {
                let write = match (&write, group) {
                    // Group 0 is where a contact in no group is already.
                    (Write::Entry { owner, contact, .. }, Some(id)) if id != 0 => {
                        let member = Write::Member {
                            owner: owner.clone(),
                            contact: contact.clone(),
                            id,
                        };
                        Write::Batch(vec![write, member])
                    }
                    _ => write,
                };
                self.commit_change(conn, trid, write, Change::Add { echo })
            }
        }
    }

    /// `ADC <t> <list> N=<account> [F=<name>] [<group>]`, and `ADC <t> FL C=<contact
    /// GUID> <group GUID>`, which puts a forward-list contact into a group (MSNP10+).
    pub(super) fn ns_adc(&mut self, conn: ConnId, adc: Adc) {
        let (trid, user) = (adc.trid, self.ns_user(conn));
        let group = match self.optional_group(conn, &user, adc.group.as_deref()) {
            // Groups are the forward list's.
            Ok(Some(_)) if adc.list != "FL" => return self.error_reply(conn, 201, trid),
            Ok(group) => group,
            Err(code) => return self.error_reply(conn, code, trid),
        };
        if let Some(guid) = adc.guid.clone() {
            // The group form: a contact already on the list, by its GUID.
            let (Some(id), None) = (group, &adc.account) else {
                return self.error_reply(conn, 201, trid);
            };
            let Some(contact) = self.forward_contact(&user, &guid) else {
                return self.error_reply(conn, 208, trid);
            };
            return match self.dir.joining(&user, &contact, id) {
                Err(code) => self.error_reply(conn, code, trid),
                Ok(write) => self.commit_change(conn, trid, write, Change::Add { echo: Echo::Adc(adc) }),
            };
        }
        let Some(account) = adc.account.clone() else {
            return self.error_reply(conn, 201, trid);
        };
        if account.eq_ignore_ascii_case(&user) {
            return self.error_reply(conn, 201, trid);
        }
        let list = adc.list.clone();
        self.ns_add(conn, trid, &list, &account, Echo::Adc(adc), group);
    }

    /// The forward-list contact of `user`'s whose contact GUID is `guid`.
    fn forward_contact(&self, user: &str, guid: &str) -> Option<String> {
        self.dir
            .list(user, "FL")
            .into_iter()
            .map(|a| a.sign_in_name.clone())
            .find(|c| contact_guid(user, c).eq_ignore_ascii_case(guid))
    }

    /// `REM <t> <list> <target> [<group>]`: from MSNP10 a forward-list entry is named
    /// by its contact GUID, every other one by account.
    /// With a group, `REM <t> FL <contact> <group>` takes the contact out of that group
    /// only (`224` no such group, `225` not in it).
    pub(super) fn ns_rem(&mut self, conn: ConnId, trid: u32, list: &str, target: &str, group: Option<String>) {
        if list == "RL" {
            return self.close(conn);
        }
        let user = self.ns_user(conn);
        let contact = if at_least(self.ns_dialect(conn), Dialect::Msnp10) && list == "FL" {
            self.forward_contact(&user, target)
        } else {
            Some(target.trim_start_matches("N=").to_string())
        };
        let removal = match group.as_deref() {
            None => contact.ok_or(216).and_then(|c| self.dir.removal(&user, list, &c)),
            Some(_) if list != "FL" => Err(201),
            Some(text) => contact.ok_or(216).and_then(|c| {
                let id = self.group_ref(conn, &user, text).ok_or(refusal::UNKNOWN_GROUP)?;
                self.dir.leaving(&user, &c, id)
            }),
        };
        match removal {
            Err(code) => self.error_reply(conn, code, trid),
            Ok(write) => self.commit_change(
                conn,
                trid,
                write,
                Change::Rem {
                    target: target.to_string(),
                    group,
                },
            ),
        }
    }

    /// `GTC <t> A|N`, `BLP <t> AL|BL`: `218` when already so, `201` for another value.
    pub(super) fn ns_setting(&mut self, conn: ConnId, trid: u32, name: &str, value: &str) {
        let user = self.ns_user(conn);
        match self.dir.new_setting(&user, name, value) {
            Err(code) => self.error_reply(conn, code, trid),
            Ok(write) => self.commit_change(conn, trid, write, Change::Setting),
        }
    }

    /// The user's own friendly name (`PRP <t> MFN <name>`, `REA <t> <self> <name>`);
    /// `REA` on a forward-list contact keeps a name for them (up to MSNP9).
    pub(super) fn ns_rename(&mut self, conn: ConnId, trid: u32, property: &str, account: Option<String>, name: String) {
        let user = self.ns_user(conn);
        let own = account.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(&user));
        if property != "MFN" {
            return self.error_reply(conn, 502, trid);
        }
        if let (false, Some(contact)) = (own, account) {
            let echo = Change::Nickname {
                target: contact.clone(),
                property: None,
                name,
            };
            return self.keep_nickname(conn, trid, &user, &contact, echo);
        }
        let write = self.dir.renamed(&user, &urlenc::decode(&name)).ok();
        match write {
            // A name the service will not store (empty, too long, control characters).
            None => self.error_reply(conn, 209, trid),
            Some(write) => self.commit_change(conn, trid, write, Change::Rename { name }),
        }
    }

    /// `SBP <t> <contact GUID> MFN <name>` (MSNP10+): keeps a name for a forward-list
    /// contact, echoed as sent; `208` no such contact, `201` another property.
    pub(super) fn ns_sbp(&mut self, conn: ConnId, trid: u32, guid: String, property: String, value: String) {
        let user = self.ns_user(conn);
        if property != "MFN" {
            return self.error_reply(conn, 201, trid);
        }
        let Some(contact) = self.forward_contact(&user, &guid) else {
            return self.error_reply(conn, 208, trid);
        };
        let echo = Change::Nickname {
            target: guid,
            property: Some(property),
            name: value,
        };
        self.keep_nickname(conn, trid, &user, &contact, echo);
    }

    /// Keeps the name a `REA`/`SBP` (`echo`) gives for `contact`, answered once durable.
    fn keep_nickname(&mut self, conn: ConnId, trid: u32, user: &str, contact: &str, echo: Change) {
        let Change::Nickname { name, .. } = &echo else { return };
        match self.dir.nickname(user, contact, &urlenc::decode(name)) {
            Err(code) => self.error_reply(conn, code, trid),
            Ok(write) => self.commit_change(conn, trid, write, echo),
        }
    }

    /// A client's change is durable (or could not be made): its reply, and who else
    /// hears of it.
    pub(super) fn ns_changed(&mut self, conn: ConnId, trid: u32, change: Change, write: &Write, version: Option<u32>) {
        // The write stands, but the connection that asked is gone: nobody is left to
        // answer, and what follows acts as that connection's user (found by fuzzing).
        if !self.conns.contains_key(&conn) {
            return;
        }
        let dialect = self.ns_dialect(conn);
        let Some(version) = version else {
            // The database refused the write: 603 from MSNP10 (msnp8-12.md §l).
            let code = if at_least(dialect, Dialect::Msnp10) { 603 } else { 500 };
            return self.error_reply(conn, code, trid);
        };
        let user = self.ns_user(conn);
        let old_style_version = (!at_least(dialect, Dialect::Msnp10)).then(|| version.to_string());
        // A batch is about its first write (a new contact, then its group).
        let write = match write {
            Write::Batch(writes) => writes.first().unwrap_or(write),
            write => write,
        };
        match (change, write) {
            (Change::Add { echo }, Write::Entry { list, contact, .. }) => {
                self.ns_added(conn, trid, list, contact, version, echo, &user);
                if list != "FL" {
                    self.privacy_changed(&user, Some(contact));
                }
            }
            (Change::Add { echo }, Write::Member { contact, .. }) => {
                self.ns_grouped(conn, trid, contact, version, echo)
            }
            (Change::Rem { target, group }, Write::Unmember { .. }) => self.reply(
                conn,
                Reply::Rem {
                    trid,
                    list: "FL".into(),
                    version: old_style_version,
                    target,
                    group,
                },
            ),
            (Change::Group(echo), write) => self.group_changed(conn, trid, echo, write, version),
            (Change::Phone { property, value }, Write::Setting { .. }) => {
                let reply = Reply::Prp {
                    trid: Some(trid),
                    version: old_style_version,
                    property: property.clone(),
                    value,
                };
                self.reply(conn, reply);
                self.phone_changed(&user, &property);
            }
            (Change::Nickname { target, property, name }, Write::Nickname { .. }) => {
                let reply = match property {
                    Some(property) => Reply::Sbp {
                        trid,
                        guid: target,
                        property,
                        value: name,
                    },
                    None => Reply::Rea {
                        trid,
                        version: version.to_string(),
                        account: target,
                        name,
                    },
                };
                self.reply(conn, reply);
            }
            (Change::Rem { target, .. }, Write::Unentry { list, contact, .. }) => {
                self.reply(
                    conn,
                    Reply::Rem {
                        trid,
                        list: list.clone(),
                        version: old_style_version,
                        target,
                        group: None,
                    },
                );
                if list == "FL" {
                    self.notify_reverse(&user, contact, false);
                } else {
                    self.privacy_changed(&user, Some(contact));
                }
            }
            (Change::Setting, Write::Setting { name, value, .. }) => {
                let setting = Setting {
                    trid: Some(trid),
                    version: old_style_version,
                    value: value.clone(),
                };
                let reply = if name == "GTC" {
                    Reply::Gtc(setting)
                } else {
                    Reply::Blp(setting)
                };
                self.reply(conn, reply);
                if name == "BLP" {
                    self.privacy_changed(&user, None);
                }
            }
            (Change::Rename { name }, Write::Account(account)) => {
                let reply = match old_style_version {
                    Some(version) => Reply::Rea {
                        trid,
                        version,
                        account: account.sign_in_name.clone(),
                        name,
                    },
                    None => Reply::Prp {
                        trid: Some(trid),
                        version: None,
                        property: "MFN".into(),
                        value: name,
                    },
                };
                self.reply(conn, reply);
                // Watchers see the new name as a new NLN with the same status.
                let visible = self.presence(&user).is_some();
                if visible {
                    self.broadcast_presence(&user, true);
                }
            }
            _ => {}
        }
    }

    /// The entry an `ADD`/`ADC` asked for is in: the contact's presence if on the
    /// forward list, the reply, and the contact hears of it.
    #[allow(clippy::too_many_arguments)]
    fn ns_added(&mut self, conn: ConnId, trid: u32, list: &str, contact: &str, version: u32, echo: Echo, user: &str) {
        let Some(account) = self.dir.account(contact).cloned() else {
            return;
        };
        let forward = list == "FL";
        if forward {
            self.tell_presence(conn, trid, &account.sign_in_name);
        }
        let reply = match echo {
            // ADD: the request with the list version inserted.
            Echo::Add {
                account: written,
                name,
                group,
            } => Reply::Add {
                trid,
                list: list.to_string(),
                version: version.to_string(),
                account: written,
                friendly: name.unwrap_or_else(|| account.friendly_name.clone()),
                group,
            },
            // ADC: the account as the client wrote it, and for the forward list always
            // a name and the new GUID (msnp11-sdk reads the GUID as the sixth field).
            Echo::Adc(adc) => Reply::Adc(Adc {
                trid,
                list: list.to_string(),
                friendly: if forward {
                    adc.friendly.or_else(|| adc.account.clone())
                } else {
                    adc.friendly
                },
                account: adc.account,
                guid: forward.then(|| contact_guid(user, &account.sign_in_name)),
                group: adc.group.filter(|_| forward),
            }),
        };
        self.reply(conn, reply);
        if forward && !user.is_empty() {
            self.notify_reverse(user, &account.sign_in_name, true);
        }
    }

    /// A forward-list contact is in one more group: the `ADD`/`ADC` echoed (the list
    /// version inserted up to MSNP9).
    fn ns_grouped(&mut self, conn: ConnId, trid: u32, contact: &str, version: u32, echo: Echo) {
        let reply = match echo {
            Echo::Add { account, name, group } => {
                let friendly = name
                    .or_else(|| self.dir.account(contact).map(|a| a.friendly_name.clone()))
                    .unwrap_or_else(|| account.clone());
                Reply::Add {
                    trid,
                    list: "FL".into(),
                    version: version.to_string(),
                    account,
                    friendly,
                    group,
                }
            }
            Echo::Adc(adc) => Reply::Adc(Adc { trid, ..adc }),
        };
        self.reply(conn, reply);
    }

    /// `contact`, if online, learns that `owner` added (or removed) them: `ADD 0 RL` /
    /// `REM 0 RL` up to MSNP9, `ADC 0 RL N= F=` / `REM 0 RL` from MSNP10.
    fn notify_reverse(&mut self, owner: &str, contact: &str, added: bool) {
        let Some(&target) = self.online.get(&contact.to_ascii_lowercase()) else {
            return;
        };
        let Some(owner) = self.dir.account(owner).cloned() else {
            return;
        };
        let modern = at_least(self.ns_dialect(target), Dialect::Msnp10);
        let version = (!modern).then(|| self.dir.list_version(contact).to_string());
        let reply = match (added, version) {
            (true, Some(version)) => Reply::Add {
                trid: 0,
                list: "RL".into(),
                version,
                account: owner.sign_in_name,
                friendly: owner.friendly_name,
                group: None,
            },
            (true, None) => Reply::Adc(Adc {
                trid: 0,
                list: "RL".into(),
                account: Some(owner.sign_in_name),
                friendly: Some(urlenc::encode(&owner.friendly_name)),
                ..Adc::default()
            }),
            (false, version) => Reply::Rem {
                trid: 0,
                list: "RL".into(),
                version,
                target: owner.sign_in_name,
                group: None,
            },
        };
        self.reply(target, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_guids_are_stable_lower_case_and_per_owner() {
        let g = contact_guid("Alice@Example.com", "bob@example.com");
        assert_eq!(g, contact_guid("alice@example.com", "BOB@example.com"));
        assert_ne!(g, contact_guid("carol@example.com", "bob@example.com"));
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(g
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
