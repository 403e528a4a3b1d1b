//! `IMessengerPrivate` on the client: `AddContact` over `ADD FL` (`ADC FL` from
//! MSNP10), the lists from `SYN`, presence from `ILN`/`NLN`/`FLN`, and alerts from
//! `NOT` filtered by `EnableAlertEvents` (reference §3.2, §4.1; msnp.md §g;
//! msnp8-12.md §d, §e).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::LockStatus;
use crate::proto::ns::{at_least, Adc, Reply, Request, LIST_FL};
use crate::proto::{valid_token, Dialect};
use crate::wire::urlenc;

use super::{ClientEngine, ClientEvent, ClientState, ObjId, ObjectKind};

/// Our bound on `EnableAlertEvents` (the docs give none, C22): more is `E_OUTOFMEMORY`.
pub const MAX_ALERT_SITES: usize = 256;
/// The longest sign-in name `AddContact` will put on the wire.
pub const MAX_SIGN_IN_NAME: usize = 129;

/// A user as the client knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactInfo {
    pub sign_in_name: String,
    pub friendly_name: Option<String>,
    /// MSNP presence: `NLN`, `BSY`, `AWY`, …, `FLN` for a forward-list contact the
    /// service reports offline, or `None` when the service tells us nothing about them
    /// (presence comes only for the forward list).
    pub status: Option<String>,
    /// The personal message the contact last set (MSNP11+, `UBX`); None when none came.
    pub personal_message: Option<String>,
    /// The groups a forward-list contact is in, as the dialect names them.
    pub groups: Vec<String>,
}

#[derive(Default)]
pub(super) struct Contacts {
    /// Forward list, by lower-cased name.
    forward: BTreeMap<String, String>,
    presence: BTreeMap<String, String>,
    /// Lower-cased name -> personal message, from `UBX`.
    personal_messages: BTreeMap<String, String>,
    /// `ADD` TrID -> the MessengerPriv that asked, and the name it asked for.
    pending_adds: BTreeMap<u32, (ObjId, String)>,
    /// Per MessengerPriv object: the alert sites it listens to.
    alert_sites: BTreeMap<ObjId, BTreeSet<i32>>,
}

/// The `siteid` of a `<NOTIFICATION>`; real ones were sometimes malformed XML, so this
/// only looks for the attribute in the opening tag (msnp.md §g.1).
pub fn notification_site_id(xml: &str) -> Option<i32> {
    let start = xml.find("<NOTIFICATION")?;
    let tag_end = xml[start..].find('>').map(|i| start + i)?;
    let tag = &xml[start..tag_end];
    let at = tag.find("siteid=")? + "siteid=".len();
    let quote = tag[at..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &tag[at + 1..];
    let value = &rest[..rest.find(quote)?];
    value.trim().parse().ok()
}

fn add_error_hresult(code: u16) -> (HResult, &'static str) {
    match code {
        201 => (
            HResult::E_INVALIDARG,
            "the service says the sign-in name is malformed (201)",
        ),
        205 | 208 => (HResult::E_FAIL, "no such user (205)"),
        210 => (HResult::E_FAIL, "the contact list is full (210)"),
        _ => (HResult::E_FAIL, "the service refused the contact"),
    }
}

impl ClientEngine {
    fn priv_guard(&self, obj: ObjId) -> Result<()> {
        if self.lock_kind(obj)? != ObjectKind::MessengerPriv {
            return Err(Error::UnknownHandle {
                what: "MessengerPriv",
                id: obj,
            });
        }
        Ok(())
    }

    pub fn contact(&self, sign_in_name: &str) -> ContactInfo {
        let key = sign_in_name.to_ascii_lowercase();
        ContactInfo {
            sign_in_name: sign_in_name.to_string(),
            friendly_name: self.peer_friendly_name(sign_in_name).map(str::to_string),
            status: self
                .contacts
                .presence
                .get(&key)
                .cloned()
                .or_else(|| self.contacts.forward.contains_key(&key).then(|| "FLN".to_string())),
            personal_message: self.contacts.personal_messages.get(&key).cloned(),
            groups: self.groups_of(sign_in_name),
        }
    }

    /// The forward list as the service last told us.
    pub fn forward_list(&self) -> Vec<ContactInfo> {
        self.contacts.forward.values().map(|name| self.contact(name)).collect()
    }

    /// `IMessengerPrivate::AddContact`. `None` is the NULL BSTR (`E_POINTER`); the rest
    /// is decided by the service and reported through `OnContactListAdd` (C21).
    pub fn add_contact(&mut self, obj: ObjId, sign_in_name: Option<&str>) -> Result<()> {
        self.priv_guard(obj)?;
        let Some(name) = sign_in_name else {
            return Err(Error::api(HResult::E_POINTER, "the sign-in name is None"));
        };
        if self.state() != ClientState::SignedIn {
            return Err(Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                "this Messenger is not signed in",
            ));
        }
        self.check_unlocked(obj)?;
        // What cannot even travel as one MSNP parameter is refused here.
        if !valid_token(name, MAX_SIGN_IN_NAME) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{name:?} cannot be a sign-in name (1 to {MAX_SIGN_IN_NAME} printable characters, no spaces)"),
            ));
        }
        // As the official client: the account doubles as the initial custom name.
        let modern = at_least(self.ns.as_ref().and_then(|ns| ns.dialect()), Dialect::Msnp10);
        let trid = self
            .ns_send(|trid| {
                if modern {
                    Request::Adc(Adc {
                        trid,
                        list: "FL".into(),
                        account: Some(name.to_string()),
                        friendly: Some(urlenc::encode(name)),
                        ..Adc::default()
                    })
                } else {
                    Request::Add {
                        trid,
                        list: "FL".into(),
                        account: name.to_string(),
                        name: Some(name.to_string()),
                        group: None,
                    }
                }
            })
            .ok_or_else(|| Error::api(HResult::MSGR_E_NOT_LOGGED_ON, "no connection to the service"))?;
        self.contacts.pending_adds.insert(trid, (obj, name.to_string()));
        Ok(())
    }

    /// `IMessengerPrivate::EnableAlertEvents`: `S_FALSE` while locked (C22), else
    /// replaces the object's site list (an empty list unsubscribes).
    pub fn enable_alert_events(&mut self, obj: ObjId, site_ids: &[i64]) -> Result<HResult> {
        self.priv_guard(obj)?;
        if site_ids.len() > MAX_ALERT_SITES {
            return Err(Error::api(
                HResult::E_OUTOFMEMORY,
                format!("at most {MAX_ALERT_SITES} site ids, not {}", site_ids.len()),
            ));
        }
        let mut sites = BTreeSet::new();
        for &id in site_ids {
            let id = i32::try_from(id).map_err(|_| {
                Error::api(
                    HResult::E_INVALIDARG,
                    format!("site id {id} does not fit a 32-bit long"),
                )
            })?;
            sites.insert(id);
        }
        if self.lock_status(obj)? != LockStatus::Unlocked {
            return Ok(HResult::S_FALSE);
        }
        self.contacts.alert_sites.insert(obj, sites);
        Ok(HResult::S_OK)
    }

    pub fn alert_sites(&self, obj: ObjId) -> Vec<i32> {
        self.contacts
            .alert_sites
            .get(&obj)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// NS lines about contacts: lists, presence, `ADD` replies and alerts.
    pub(super) fn contacts_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Lst(lst) if lst.list == "FL" => {
                if let Some(m) = lst.member {
                    self.groups_listed(&m.account, None, m.groups.as_deref());
                    self.remember(&m.account, m.friendly);
                    self.contacts.forward.insert(m.account.to_ascii_lowercase(), m.account);
                }
            }
            Reply::Contact(entry) if entry.lists & LIST_FL != 0 => {
                self.groups_listed(&entry.account, entry.guid.clone(), entry.groups.as_deref());
                self.remember(&entry.account, entry.friendly);
                self.contacts
                    .forward
                    .insert(entry.account.to_ascii_lowercase(), entry.account);
            }
            Reply::Iln { presence, .. } | Reply::Nln(presence) => {
                self.remember(&presence.account, presence.friendly);
                let previous = self
                    .contacts
                    .presence
                    .insert(presence.account.to_ascii_lowercase(), presence.status.clone());
                self.status_changed(&presence.account, previous, &presence.status);
            }
            Reply::Fln { account } => {
                let previous = self.contacts.presence.remove(&account.to_ascii_lowercase());
                self.status_changed(&account, previous, "FLN");
            }
            Reply::Ubx { account, payload } => {
                let text = super::profile::personal_message_text(&payload);
                let previous = self
                    .contacts
                    .personal_messages
                    .insert(account.to_ascii_lowercase(), text.clone());
                if previous.as_deref() != Some(text.as_str()) {
                    let contact = self.contact(&account);
                    self.emit(ClientEvent::ContactPersonalMessageChange { contact });
                }
            }
            Reply::Adc(Adc {
                trid,
                account: Some(account),
                friendly,
                guid,
                ..
            }) => {
                if let Some(guid) = guid {
                    self.contact_guid_learnt(&account, &guid);
                }
                let friendly = urlenc::decode(friendly.as_deref().unwrap_or(&account));
                self.contacts_added(trid, account, friendly);
            }
            Reply::Add {
                trid,
                account,
                friendly,
                ..
            } => self.contacts_added(trid, account, friendly),
            Reply::Not { payload } => self.alert(&String::from_utf8_lossy(&payload)),
            _ => {}
        }
    }

    /// `OnContactStatusChange`, when a contact's presence really changed (a contact
    /// not heard of before was offline).
    fn status_changed(&mut self, account: &str, previous: Option<String>, now: &str) {
        let previous = previous.unwrap_or_else(|| "FLN".to_string());
        if previous != now {
            let contact = self.contact(account);
            self.emit(ClientEvent::ContactStatusChange { contact, previous });
        }
    }

    /// The service's `ADD`/`ADC` reply to an add of ours.
    fn contacts_added(&mut self, trid: u32, account: String, friendly: String) {
        if let Some((obj, _)) = self.contacts.pending_adds.remove(&trid) {
            // The reply echoes the custom name; a friendly name from ILN is better.
            if self.peer_friendly_name(&account).is_none() {
                self.remember(&account, friendly);
            }
            self.contacts
                .forward
                .insert(account.to_ascii_lowercase(), account.clone());
            let contact = self.contact(&account);
            self.emit(ClientEvent::ContactListAdd {
                obj,
                hr: HResult::S_OK,
                contact: Some(contact),
            });
        }
    }

    /// An error reply to an `ADD` of ours; true if it was one.
    pub(super) fn contacts_add_failed(&mut self, trid: u32, code: u16) -> bool {
        let Some((obj, requested)) = self.contacts.pending_adds.remove(&trid) else {
            return false;
        };
        if code == 215 {
            // Already on the list is success (msnp.md §g.2).
            let contact = Some(self.contact(&requested));
            self.emit(ClientEvent::ContactListAdd {
                obj,
                hr: HResult::S_OK,
                contact,
            });
        } else {
            let (hr, _) = add_error_hresult(code);
            // OnContactListAdd carries an HRESULT only; the service's reason goes here.
            log::warn!(
                target: super::LOG,
                "{}: the service refused to add {requested} to the contact list: {}; OnContactListAdd gets {}",
                self.config.sign_in_name,
                super::error_codes::quoted(code),
                hr.name()
            );
            self.emit(ClientEvent::ContactListAdd { obj, hr, contact: None });
        }
        true
    }

    fn remember(&mut self, name: &str, friendly: String) {
        if !name.is_empty() {
            self.peer_names.insert(name.to_ascii_lowercase(), friendly);
        }
    }

    fn alert(&mut self, xml: &str) {
        let Some(site) = notification_site_id(xml) else { return };
        let listeners: Vec<ObjId> = self
            .contacts
            .alert_sites
            .iter()
            .filter(|(obj, sites)| sites.contains(&site) && self.lock_status(**obj) == Ok(LockStatus::Unlocked))
            .map(|(obj, _)| *obj)
            .collect();
        for obj in listeners {
            self.emit(ClientEvent::AlertReceived {
                obj,
                alert: xml.to_string(),
            });
        }
    }

    pub(super) fn contacts_object_released(&mut self, obj: ObjId) {
        self.contacts.alert_sites.remove(&obj);
        self.contacts.pending_adds.retain(|_, (o, _)| *o != obj);
    }

    pub(super) fn contacts_signed_out(&mut self) {
        self.contacts.pending_adds.clear();
        self.contacts.presence.clear();
        self.contacts.alert_sites.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_are_read_defensively() {
        assert_eq!(
            notification_site_id(r#"<NOTIFICATION ver="1" id="3" siteid="111100400" siteurl="x">"#),
            Some(111100400)
        );
        assert_eq!(
            notification_site_id("<NOTIFICATION siteid='7'><TEXT>a & b</TEXT>"),
            Some(7)
        );
        assert_eq!(notification_site_id(r#"<NOTIFICATION siteid="-5">"#), Some(-5));
        assert_eq!(notification_site_id("<NOTIFICATION id=\"1\"><X siteid=\"4\"/>"), None);
        assert_eq!(notification_site_id("<NOTIFICATION siteid=5>"), None);
        assert_eq!(notification_site_id("garbage"), None);
        assert_eq!(notification_site_id("<NOTIFICATION siteid=\"99999999999\">"), None);
    }
}
