//! The user's contact groups on the client (msnp8-12.md §d.4–§d.5, §e.1–§e.4): read
//! from the list download (`LSG`, and the groups on each forward-list `LST`), changed
//! with `ADG`, `RMG`, `REG` and the group forms of `ADD`/`ADC`/`REM`, each counting once
//! the service answered (`DMessengerEvents::OnGroupAdded`, `OnGroupRemoved`,
//! `OnGroupNameChanged`, `OnContactAddedToGroup`, `OnContactRemovedFromGroup`).
//!
//! A group is named as the dialect names it: its number up to MSNP9 (group `0`, "Other
//! Contacts", always there), its GUID from MSNP10.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::groups::{group_name_fault, GroupReply, GroupRequest, MAX_GROUP_NAME};
use crate::proto::ns::{at_least, Adc, Reply, Request};
use crate::proto::Dialect;
use crate::wire::urlenc;

use super::{ClientEngine, ClientEvent};

/// A group as the client knows it: how the service names it, and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    pub id: String,
    pub name: String,
}

/// A group change asked for and not yet answered.
#[derive(Debug)]
enum Asked {
    Add,
    Remove(String),
    Rename(String, String),
    Join(String, String),
    Leave(String, String),
}

#[derive(Debug, Default)]
pub(super) struct Groups {
    /// In list order: (id, name).
    names: Vec<(String, String)>,
    /// Lower-cased contact -> the groups it is in.
    members: BTreeMap<String, BTreeSet<String>>,
    /// Lower-cased contact -> its contact GUID (MSNP10+), for the group forms of ADC/REM.
    guids: BTreeMap<String, String>,
    asked: BTreeMap<u32, Asked>,
}

impl Groups {
    pub(super) fn signed_out(&mut self) {
        *self = Groups::default();
    }
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn check_name(name: &str) -> Result<()> {
    if group_name_fault(name).is_some() {
        return Err(Error::api(
            HResult::E_INVALIDARG,
            format!(
                "a group name is 1 to {MAX_GROUP_NAME} bytes URL-encoded, not only spaces, without control characters"
            ),
        ));
    }
    Ok(())
}

impl ClientEngine {
    fn known_group(&self, group: &str) -> Result<String> {
        self.groups
            .names
            .iter()
            .find(|(id, _)| same(id, group))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| Error::api(HResult::E_INVALIDARG, format!("there is no group {group:?}")))
    }

    /// The user's groups, in list order.
    pub fn groups(&self) -> Vec<GroupInfo> {
        self.groups
            .names
            .iter()
            .map(|(id, name)| GroupInfo {
                id: id.clone(),
                name: name.clone(),
            })
            .collect()
    }

    /// The groups a forward-list contact is in (by id).
    pub fn groups_of(&self, contact: &str) -> Vec<String> {
        self.groups
            .members
            .get(&contact.to_ascii_lowercase())
            .map(|g| g.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn group_info(&self, id: &str) -> GroupInfo {
        let name = self
            .groups
            .names
            .iter()
            .find(|(g, _)| same(g, id))
            .map(|(_, n)| n.clone());
        GroupInfo {
            id: id.to_string(),
            name: name.unwrap_or_default(),
        }
    }

    fn send_group(&mut self, asked: Asked, build: impl FnOnce(u32) -> Request) -> Result<()> {
        let trid = self
            .ns_send(build)
            .ok_or_else(|| Error::api(HResult::MSGR_E_NOT_LOGGED_ON, "no connection to the service"))?;
        self.groups.asked.insert(trid, asked);
        Ok(())
    }

    /// `ADG`: a new group; `OnGroupAdded` gives the answer.
    pub fn add_group(&mut self, name: &str) -> Result<()> {
        check_name(name)?;
        self.signed_in_dialect()?;
        let name = urlenc::encode(name);
        self.send_group(Asked::Add, |trid| Request::Group(GroupRequest::Add { trid, name }))
    }

    /// `RMG`: removes a group (its members leave it); `OnGroupRemoved` gives the answer.
    pub fn remove_group(&mut self, group: &str) -> Result<()> {
        self.signed_in_dialect()?;
        let group = self.known_group(group)?;
        let sent = group.clone();
        self.send_group(Asked::Remove(group), |trid| {
            Request::Group(GroupRequest::Remove { trid, group: sent })
        })
    }

    /// `REG`: renames a group; `OnGroupNameChanged` gives the answer.
    pub fn rename_group(&mut self, group: &str, name: &str) -> Result<()> {
        check_name(name)?;
        self.signed_in_dialect()?;
        let group = self.known_group(group)?;
        let (sent, encoded) = (group.clone(), urlenc::encode(name));
        self.send_group(Asked::Rename(group, name.to_string()), |trid| {
            Request::Group(GroupRequest::Rename {
                trid,
                group: sent,
                name: encoded,
            })
        })
    }

    /// Puts a forward-list contact into a group (`ADD t FL acc acc group` up to MSNP9,
    /// `ADC t FL C=guid group` from MSNP10); `OnContactAddedToGroup` gives the answer.
    pub fn add_contact_to_group(&mut self, contact: &str, group: &str) -> Result<()> {
        let dialect = self.signed_in_dialect()?;
        let group = self.known_group(group)?;
        let (account, guid) = self.forward_contact(contact, dialect)?;
        let sent = group.clone();
        self.send_group(Asked::Join(account.clone(), group), move |trid| match guid {
            Some(guid) => Request::Adc(Adc {
                trid,
                list: "FL".into(),
                guid: Some(guid),
                group: Some(sent),
                ..Adc::default()
            }),
            None => Request::Add {
                trid,
                list: "FL".into(),
                name: Some(account.clone()),
                account,
                group: Some(sent),
            },
        })
    }

    /// Takes a contact out of one group (`REM t FL acc|guid group`);
    /// `OnContactRemovedFromGroup` gives the answer.
    pub fn remove_contact_from_group(&mut self, contact: &str, group: &str) -> Result<()> {
        let dialect = self.signed_in_dialect()?;
        let group = self.known_group(group)?;
        let (account, guid) = self.forward_contact(contact, dialect)?;
        let target = guid.unwrap_or_else(|| account.clone());
        let sent = group.clone();
        self.send_group(Asked::Leave(account, group), move |trid| Request::Rem {
            trid,
            list: "FL".into(),
            target,
            group: Some(sent),
        })
    }

    /// A forward-list contact's account as listed and, from MSNP10, its GUID.
    fn forward_contact(&self, contact: &str, dialect: Option<Dialect>) -> Result<(String, Option<String>)> {
        let info = self.contact(contact);
        if info.status.is_none() {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{contact} is not on the forward list"),
            ));
        }
        let key = contact.to_ascii_lowercase();
        let guid = if at_least(dialect, Dialect::Msnp10) {
            let guid = self.groups.guids.get(&key).cloned();
            Some(
                guid.ok_or_else(|| Error::api(HResult::E_FAIL, format!("the service gave {contact} no contact GUID")))?,
            )
        } else {
            None
        };
        Ok((info.sign_in_name, guid))
    }

    /// What a forward-list line of the download says of a contact: its GUID and groups.
    pub(super) fn groups_listed(&mut self, account: &str, guid: Option<String>, groups: Option<&str>) {
        let key = account.to_ascii_lowercase();
        if let Some(guid) = guid {
            self.groups.guids.insert(key.clone(), guid);
        }
        // Group 0 (up to MSNP9) is where a contact in no group is: no group of its own.
        let groups: BTreeSet<String> = groups
            .unwrap_or_default()
            .split(',')
            .filter(|g| !g.is_empty() && *g != "0")
            .map(str::to_string)
            .collect();
        self.groups.members.insert(key, groups);
    }

    /// A contact GUID the service gave in an `ADC` reply.
    pub(super) fn contact_guid_learnt(&mut self, account: &str, guid: &str) {
        self.groups.guids.insert(account.to_ascii_lowercase(), guid.to_string());
    }

    /// A line about groups: an `LSG` of the download, or the answer to a change of
    /// ours. False for anything else (which then goes on to the contacts).
    pub(super) fn groups_reply(&mut self, reply: &Reply) -> bool {
        if let Reply::Lsg { id, name, .. } = reply {
            if !self.groups.names.iter().any(|(g, _)| same(g, id)) {
                self.groups.names.push((id.clone(), name.clone()));
            }
            return true;
        }
        let trid = match reply {
            Reply::Group(
                GroupReply::Added { trid, .. } | GroupReply::Removed { trid, .. } | GroupReply::Renamed { trid, .. },
            ) => *trid,
            Reply::Add { trid, .. } | Reply::Rem { trid, .. } => *trid,
            Reply::Adc(adc) => adc.trid,
            _ => return false,
        };
        let Some(asked) = self.groups.asked.remove(&trid) else {
            return false;
        };
        let ok = HResult::S_OK;
        match (asked, reply) {
            (Asked::Add, Reply::Group(GroupReply::Added { name, group, .. })) => {
                let name = urlenc::decode(name);
                self.groups.names.push((group.clone(), name.clone()));
                let group = GroupInfo {
                    id: group.clone(),
                    name,
                };
                self.emit(ClientEvent::GroupAdded {
                    hr: ok,
                    group: Some(group),
                });
            }
            (Asked::Remove(id), _) => {
                let group = self.group_info(&id);
                self.groups.names.retain(|(g, _)| !same(g, &id));
                for groups in self.groups.members.values_mut() {
                    groups.retain(|g| !same(g, &id));
                }
                self.emit(ClientEvent::GroupRemoved { hr: ok, group });
            }
            (Asked::Rename(id, name), _) => {
                if let Some(entry) = self.groups.names.iter_mut().find(|(g, _)| same(g, &id)) {
                    entry.1 = name;
                }
                let group = self.group_info(&id);
                self.emit(ClientEvent::GroupNameChanged { hr: ok, group });
            }
            (Asked::Join(account, id), _) => {
                // Group 0 is no group of its own: a contact in it is in no group.
                if id != "0" {
                    self.groups
                        .members
                        .entry(account.to_ascii_lowercase())
                        .or_default()
                        .insert(id.clone());
                }
                let (group, contact) = (self.group_info(&id), self.contact(&account));
                self.emit(ClientEvent::ContactAddedToGroup { hr: ok, group, contact });
            }
            (Asked::Leave(account, id), _) => {
                if let Some(groups) = self.groups.members.get_mut(&account.to_ascii_lowercase()) {
                    groups.retain(|g| !same(g, &id));
                }
                let (group, contact) = (self.group_info(&id), self.contact(&account));
                self.emit(ClientEvent::ContactRemovedFromGroup { hr: ok, group, contact });
            }
            (Asked::Add, _) => {}
        }
        true
    }

    /// The service refused a group change of ours: its event with the reason.
    pub(super) fn groups_refused(&mut self, trid: u32, code: u16) -> bool {
        let Some(asked) = self.groups.asked.remove(&trid) else {
            return false;
        };
        let hr = match code {
            201 | 223 | 224 | 225 | 228 | 229 | 230 => HResult::E_INVALIDARG,
            _ => HResult::E_FAIL,
        };
        log::warn!(
            target: super::LOG,
            "{}: the service refused a group change: error {}",
            self.config.sign_in_name,
            super::error_codes::quoted(code)
        );
        let event = match asked {
            Asked::Add => ClientEvent::GroupAdded { hr, group: None },
            Asked::Remove(id) => ClientEvent::GroupRemoved {
                hr,
                group: self.group_info(&id),
            },
            Asked::Rename(id, _) => ClientEvent::GroupNameChanged {
                hr,
                group: self.group_info(&id),
            },
            Asked::Join(account, id) => ClientEvent::ContactAddedToGroup {
                hr,
                group: self.group_info(&id),
                contact: self.contact(&account),
            },
            Asked::Leave(account, id) => ClientEvent::ContactRemovedFromGroup {
                hr,
                group: self.group_info(&id),
                contact: self.contact(&account),
            },
        };
        self.emit(event);
        true
    }
}
