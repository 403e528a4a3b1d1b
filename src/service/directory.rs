//! What the service knows: accounts, the licensed Lock and Key pairs, and each
//! account's contact lists (forward, allow, block; the reverse list is derived).

use std::collections::{BTreeMap, BTreeSet};

use super::groups::{self, refusal, Groups};
use super::secret::Secret;
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{valid_sign_in_name, valid_token, MAX_APP_ID, MD5_CLIENT_PAIRS, MSNP11_CLIENT_PAIRS};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Account {
    pub sign_in_name: String,
    pub password: Secret,
    pub friendly_name: String,
}

pub const MAX_PASSWORD: usize = 256;

/// The most contacts one list holds (MSN's own limit for years); `ADD` past it is `210`.
pub const MAX_LIST: usize = 600;

/// The phone numbers and mobile settings a user may set with `PRP`, in list order.
pub const PHONES: [&str; 5] = ["PHH", "PHW", "PHM", "MOB", "MBE"];

/// The longest phone number kept, in characters.
pub const MAX_PHONE: usize = 32;

/// The lists a client may add to with `ADD` (the reverse list is the server's).
pub const LISTS: [&str; 3] = ["FL", "AL", "BL"];

/// Why an `ADD` was refused, as its MSNP error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddRefusal {
    Malformed = 201,
    UnknownUser = 205,
    ListFull = 210,
    AlreadyThere = 215,
    /// On the allow list and the block list at once, which contradict each other.
    OppositeList = 219,
    Storage = 500,
}

/// A change the service keeps across restarts: the engine emits it, a driver with a
/// store makes it durable, and only then is it applied (and answered).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Write {
    Account(Account),
    License {
        app_id: String,
        key: String,
    },
    /// `contact` put on `owner`'s `list` (both lower-cased).
    Entry {
        owner: String,
        list: String,
        contact: String,
    },
    /// `contact` taken off `owner`'s `list` (`REM`).
    Unentry {
        owner: String,
        list: String,
        contact: String,
    },
    /// One of `owner`'s privacy settings: `GTC` (A or N) or `BLP` (AL or BL).
    Setting {
        owner: String,
        name: String,
        value: String,
    },
    /// `owner`'s group `id` made, or renamed.
    Group {
        owner: String,
        id: u32,
        name: String,
    },
    /// `owner`'s group `id` removed; its members leave it.
    Ungroup {
        owner: String,
        id: u32,
    },
    /// `contact`, on `owner`'s forward list, put into group `id`.
    Member {
        owner: String,
        contact: String,
        id: u32,
    },
    /// `contact` taken out of group `id`.
    Unmember {
        owner: String,
        contact: String,
        id: u32,
    },
    /// The name `owner` keeps for `contact` on the forward list (`REA` on another
    /// account up to MSNP9, `SBP … MFN` from MSNP10).
    Nickname {
        owner: String,
        contact: String,
        name: String,
    },
    /// Writes that go together, made durable at once (a new forward-list contact put
    /// straight into a group).
    Batch(Vec<Write>),
}

/// Everything a store holds, for loading at start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accounts: Vec<Account>,
    pub licenses: Vec<(String, String)>,
    /// (owner, list, contact), in insertion order.
    pub entries: Vec<(String, String, String)>,
    /// (owner, setting, value).
    pub settings: Vec<(String, String, String)>,
    pub groups: Vec<groups::GroupRow>,
    pub members: Vec<groups::MemberRow>,
    /// (owner, contact, name).
    pub nicknames: Vec<(String, String, String)>,
}

/// What the service knows: pure data, no I/O (the store is the driver's).
#[derive(Debug, Default)]
pub struct Directory {
    accounts: BTreeMap<String, Account>,
    licenses: BTreeMap<String, String>,
    /// (owner, list) -> contacts (keys), in the order they were added.
    lists: BTreeMap<(String, String), Vec<String>>,
    /// Per owner: the list version `SYN`/`ADD` report.
    versions: BTreeMap<String, u32>,
    /// (owner, `GTC` or `BLP`) -> value; absent means the default (`A`, `AL`).
    settings: BTreeMap<(String, String), String>,
    groups: Groups,
    /// (owner, contact) -> the name the owner keeps for that forward-list contact.
    nicknames: BTreeMap<(String, String), String>,
    /// Writes checked and on their way to the store: a second one for the same key is
    /// refused as if the first were done, and a list counts its pending entries.
    reserved: BTreeSet<Write>,
}

/// A friendly name the service keeps: 1 to 129 characters, none of them control
/// characters, and not only white space.
fn check_friendly_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 129 || name.chars().any(char::is_control) {
        return Err(Error::api(
            HResult::E_INVALIDARG,
            "a friendly name is 1 to 129 characters, not only spaces, without control characters",
        ));
    }
    Ok(())
}

/// Sign-in names are case-insensitive on MSN; we key them lower-cased.
/// A password is 1 to [`MAX_PASSWORD`] bytes without control characters.
pub fn check_password(password: &str) -> Result<()> {
    if password.is_empty() || password.len() > MAX_PASSWORD || password.chars().any(char::is_control) {
        return Err(Error::api(
            HResult::E_INVALIDARG,
            "a password is 1 to 256 characters without control characters",
        ));
    }
    Ok(())
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Write {
    /// Whether two writes are about the same thing (an account, a licence, an entry).
    fn same_key(&self, other: &Write) -> bool {
        match (self, other) {
            (Write::Account(a), Write::Account(b)) => key(&a.sign_in_name) == key(&b.sign_in_name),
            (Write::License { app_id: a, .. }, Write::License { app_id: b, .. }) => a == b,
            (
                Write::Entry { owner, list, contact } | Write::Unentry { owner, list, contact },
                Write::Entry {
                    owner: o,
                    list: l,
                    contact: c,
                }
                | Write::Unentry {
                    owner: o,
                    list: l,
                    contact: c,
                },
            ) => (owner, list, contact) == (o, l, c),
            (Write::Setting { owner, name, .. }, Write::Setting { owner: o, name: n, .. }) => (owner, name) == (o, n),
            (
                Write::Group { owner, id, .. } | Write::Ungroup { owner, id },
                Write::Group { owner: o, id: i, .. } | Write::Ungroup { owner: o, id: i },
            ) => (owner, id) == (o, i),
            (
                Write::Member { owner, contact, id } | Write::Unmember { owner, contact, id },
                Write::Member {
                    owner: o,
                    contact: c,
                    id: i,
                }
                | Write::Unmember {
                    owner: o,
                    contact: c,
                    id: i,
                },
            ) => (owner, contact, id) == (o, c, i),
            (
                Write::Nickname { owner, contact, .. },
                Write::Nickname {
                    owner: o, contact: c, ..
                },
            ) => (owner, contact) == (o, c),
            (Write::Batch(writes), other) | (other, Write::Batch(writes)) => writes.iter().any(|w| w.same_key(other)),
            _ => false,
        }
    }
}

impl Directory {
    /// Checks a new account; the write that creates it. With `exist_ok`, an account
    /// that exists is updated instead (its password, and its friendly name if one is
    /// given).
    /// `secret` makes what is kept of the password (see [`Secret`]).
    pub fn new_account(
        &self,
        sign_in_name: &str,
        password: &str,
        friendly_name: Option<&str>,
        exist_ok: bool,
        secret: impl FnOnce(&str) -> Secret,
    ) -> Result<Write> {
        if !valid_sign_in_name(sign_in_name) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{sign_in_name:?} is not a valid sign-in name (user@domain.tld)"),
            ));
        }
        check_password(password)?;
        let existing = self.accounts.get(&key(sign_in_name));
        let friendly = friendly_name
            .map(str::to_string)
            .or_else(|| existing.filter(|_| exist_ok).map(|a| a.friendly_name.clone()))
            .unwrap_or_else(|| sign_in_name.split('@').next().unwrap_or(sign_in_name).to_string());
        check_friendly_name(&friendly)?;
        let write = Write::Account(Account {
            // An update keeps the spelling the account was created with.
            sign_in_name: existing.map_or(sign_in_name, |a| a.sign_in_name.as_str()).to_string(),
            password: secret(password),
            friendly_name: friendly,
        });
        if (existing.is_some() && !exist_ok) || self.is_reserved(&write) {
            return Err(Error::api(
                HResult::E_FAIL,
                format!("{sign_in_name} already has an account"),
            ));
        }
        Ok(write)
    }

    /// A new friendly name for an account that exists, its password kept as it is.
    pub fn renamed(&self, sign_in_name: &str, friendly_name: &str) -> Result<Write> {
        let Some(existing) = self.accounts.get(&key(sign_in_name)) else {
            return Err(Error::api(HResult::E_FAIL, format!("{sign_in_name} has no account")));
        };
        check_friendly_name(friendly_name)?;
        Ok(Write::Account(Account {
            friendly_name: friendly_name.to_string(),
            ..existing.clone()
        }))
    }

    pub fn account(&self, sign_in_name: &str) -> Option<&Account> {
        self.accounts.get(&key(sign_in_name))
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Checks an ID/key pair for Lock and Key (a new one, or a new key for an old one).
    pub fn new_license(&self, app_id: &str, app_key: &str) -> Result<Write> {
        if !valid_token(app_id, MAX_APP_ID) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "an app id is 1 to 128 printable ASCII characters without spaces",
            ));
        }
        if !valid_token(app_key, MAX_APP_ID) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "an app key is 1 to 128 printable ASCII characters without spaces",
            ));
        }
        if MD5_CLIENT_PAIRS
            .iter()
            .chain(MSNP11_CLIENT_PAIRS)
            .any(|(id, _)| *id == app_id)
        {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{app_id} is a public client id and cannot license an app"),
            ));
        }
        Ok(Write::License {
            app_id: app_id.to_string(),
            key: app_key.to_string(),
        })
    }

    pub fn app_key(&self, app_id: &str) -> Option<&str> {
        self.licenses.get(app_id).map(String::as_str)
    }

    pub fn licensed_app_ids(&self) -> impl Iterator<Item = &str> {
        self.licenses.keys().map(String::as_str)
    }

    /// The contacts on one of an owner's lists (`RL`: everyone with the owner on `FL`).
    pub fn list(&self, owner: &str, list: &str) -> Vec<&Account> {
        let owner = key(owner);
        let names: Vec<&String> = if list == "RL" {
            self.lists
                .iter()
                .filter(|((_, l), c)| l == "FL" && c.contains(&owner))
                .map(|((o, _), _)| o)
                .collect()
        } else {
            self.lists
                .get(&(owner, list.to_string()))
                .map(|c| c.iter().collect())
                .unwrap_or_default()
        };
        names.into_iter().filter_map(|n| self.accounts.get(n)).collect()
    }

    pub fn list_version(&self, owner: &str) -> u32 {
        self.versions.get(&key(owner)).copied().unwrap_or(0)
    }

    /// `ADD <list> <contact>`: the write that adds it, or why not.
    pub fn new_entry(&self, owner: &str, list: &str, contact: &str) -> std::result::Result<Write, AddRefusal> {
        if !LISTS.contains(&list) || !valid_sign_in_name(contact) {
            return Err(AddRefusal::Malformed);
        }
        let (owner, contact) = (key(owner), key(contact));
        if !self.accounts.contains_key(&contact) {
            return Err(AddRefusal::UnknownUser);
        }
        let write = Write::Entry {
            owner: owner.clone(),
            list: list.to_string(),
            contact: contact.clone(),
        };
        if self.listed(&owner, list, &contact) {
            return Err(AddRefusal::AlreadyThere);
        }
        // Allowed and blocked at once means nothing: `219` (hypothetic, MSNPiki).
        let opposite = match list {
            "AL" => Some("BL"),
            "BL" => Some("AL"),
            _ => None,
        };
        if opposite.is_some_and(|opposite| self.listed(&owner, opposite, &contact)) {
            return Err(AddRefusal::OppositeList);
        }
        let entries = self.lists.get(&(owner.clone(), list.to_string()));
        let pending = self
            .reserved
            .iter()
            .filter(|w| matches!(w, Write::Entry { owner: o, list: l, .. } if *o == owner && l == list))
            .count();
        if entries.map_or(0, Vec::len) + pending >= MAX_LIST {
            return Err(AddRefusal::ListFull);
        }
        Ok(write)
    }

    /// `REM <list> <contact>`: the write that takes it off, or why not (216: not there).
    pub fn removal(&self, owner: &str, list: &str, contact: &str) -> std::result::Result<Write, u16> {
        if !LISTS.contains(&list) {
            return Err(201);
        }
        let (owner, contact) = (key(owner), key(contact));
        let write = Write::Unentry {
            owner: owner.clone(),
            list: list.to_string(),
            contact: contact.clone(),
        };
        let there = self
            .lists
            .get(&(owner, list.to_string()))
            .is_some_and(|e| e.contains(&contact));
        if !there || self.is_reserved(&write) {
            return Err(216);
        }
        Ok(write)
    }

    /// A `GTC` or `BLP` change: the write, or 218 when it is already so (201: not a value).
    pub fn new_setting(&self, owner: &str, name: &str, value: &str) -> std::result::Result<Write, u16> {
        let valid = match name {
            "GTC" => ["A", "N"].contains(&value),
            "BLP" => ["AL", "BL"].contains(&value),
            _ => false,
        };
        if !valid {
            return Err(201);
        }
        if self.setting(owner, name) == value {
            return Err(218);
        }
        Ok(Write::Setting {
            owner: key(owner),
            name: name.to_string(),
            value: value.to_string(),
        })
    }

    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The name `owner` shows for forward-list `contact`: the one the owner keeps for
    /// them, or the contact's own.
    pub fn shown_name<'a>(&'a self, owner: &str, contact: &'a Account) -> &'a str {
        self.nicknames
            .get(&(key(owner), key(&contact.sign_in_name)))
            .map_or(contact.friendly_name.as_str(), String::as_str)
    }

    /// `REA <t> <contact> <name>` (up to MSNP9) or `SBP <t> <guid> MFN <name>`: the write
    /// that keeps `name` (decoded) for forward-list `contact`, or why not: `216` not on
    /// the forward list, `209` a name the service does not keep.
    pub fn nickname(&self, owner: &str, contact: &str, name: &str) -> std::result::Result<Write, u16> {
        let (owner, contact) = (key(owner), key(contact));
        if !self.on_list(&owner, "FL", &contact) {
            return Err(refusal::NOT_ON_LIST);
        }
        check_friendly_name(name).map_err(|_| 209u16)?;
        Ok(Write::Nickname {
            owner,
            contact,
            name: name.to_string(),
        })
    }

    /// `owner`'s groups being made (number, name), on their way to the store.
    fn pending_groups<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = (u32, &'a str)> + 'a {
        self.reserved.iter().filter_map(move |w| match w {
            Write::Group { owner: o, id, name } if o == owner && !self.groups.is_named(owner, *id) => {
                Some((*id, name.as_str()))
            }
            _ => None,
        })
    }

    /// `ADG`: the write that makes a group called `encoded` (URL-encoded, as sent), or
    /// why not: `228` the name is taken, `229` too long, `223` too many groups.
    pub fn new_group(&self, owner: &str, encoded: &str) -> std::result::Result<Write, u16> {
        let owner = key(owner);
        let name = groups::check_name(encoded)?;
        if self.groups.named(&owner, &name).is_some() || self.pending_groups(&owner).any(|(_, n)| n == name) {
            return Err(refusal::NAME_EXISTS);
        }
        if self.groups.count(&owner) + self.pending_groups(&owner).count() >= groups::MAX_GROUPS {
            return Err(refusal::TOO_MANY);
        }
        let id = self
            .groups
            .next_id(&owner, self.pending_groups(&owner).map(|(id, _)| id));
        Ok(Write::Group { owner, id, name })
    }

    /// `REG`: the write that renames group `id`, or why not (`224` no such group).
    pub fn group_rename(&self, owner: &str, id: u32, encoded: &str) -> std::result::Result<Write, u16> {
        let owner = key(owner);
        if !self.groups.exists(&owner, id) {
            return Err(refusal::UNKNOWN_GROUP);
        }
        let name = groups::check_name(encoded)?;
        let taken = self.groups.named(&owner, &name).is_some_and(|other| other != id)
            || self.pending_groups(&owner).any(|(_, n)| n == name);
        if taken {
            return Err(refusal::NAME_EXISTS);
        }
        Ok(Write::Group { owner, id, name })
    }

    /// `RMG`: the write that removes group `id`, or why not (`230` group 0, `224` none).
    pub fn group_removal(&self, owner: &str, id: u32) -> std::result::Result<Write, u16> {
        let owner = key(owner);
        if id == 0 {
            return Err(refusal::GROUP_ZERO);
        }
        let write = Write::Ungroup {
            owner: owner.clone(),
            id,
        };
        if !self.groups.exists(&owner, id) || self.is_reserved(&write) {
            return Err(refusal::UNKNOWN_GROUP);
        }
        Ok(write)
    }

    /// Whether forward-list `contact` (a key) is in `owner`'s group `id`: `224` no such
    /// group, `216` not on the forward list.
    fn in_group(&self, owner: &str, contact: &str, id: u32) -> std::result::Result<bool, u16> {
        if !self.groups.exists(owner, id) {
            return Err(refusal::UNKNOWN_GROUP);
        }
        if !self.on_list(owner, "FL", contact) {
            return Err(refusal::NOT_ON_LIST);
        }
        Ok(self.groups.member_of(owner, contact).contains(&id))
    }

    /// The write that puts forward-list `contact` into group `id`, or why not: `224`
    /// no such group, `216` not on the forward list, `215` in it already.
    pub fn joining(&self, owner: &str, contact: &str, id: u32) -> std::result::Result<Write, u16> {
        let (owner, contact) = (key(owner), key(contact));
        let already = self.in_group(&owner, &contact, id)?;
        let write = Write::Member { owner, contact, id };
        if already || self.is_reserved(&write) {
            return Err(AddRefusal::AlreadyThere as u16);
        }
        Ok(write)
    }

    /// The write that takes `contact` out of group `id`, or why not: `224` no such
    /// group, `216` not on the forward list, `225` not in that group.
    pub fn leaving(&self, owner: &str, contact: &str, id: u32) -> std::result::Result<Write, u16> {
        let (owner, contact) = (key(owner), key(contact));
        // In no group means in group 0, which there is nothing to take it out of.
        let listed = self.in_group(&owner, &contact, id)?;
        let write = Write::Unmember { owner, contact, id };
        if !listed || self.is_reserved(&write) {
            return Err(refusal::NOT_IN_GROUP);
        }
        Ok(write)
    }

    /// A phone number (`PHH` home, `PHW` work, `PHM` mobile; decoded, empty to clear) or
    /// a mobile setting (`MOB` others may page me, `MBE` mobile device enabled: `Y` or
    /// `N`) of the owner's (`PRP`, msnp8-12.md §d.3): the write, or `201` for anything
    /// else. Kept with the privacy settings; setting the value it has is no change.
    pub fn new_phone(&self, owner: &str, name: &str, value: &str) -> std::result::Result<Write, u16> {
        let valid = match name {
            "PHH" | "PHW" | "PHM" => value.chars().count() <= MAX_PHONE && !value.chars().any(char::is_control),
            "MOB" | "MBE" => ["Y", "N"].contains(&value),
            _ => false,
        };
        if !valid {
            return Err(201);
        }
        Ok(Write::Setting {
            owner: key(owner),
            name: name.to_string(),
            value: value.to_string(),
        })
    }

    /// The owner's phone numbers and mobile settings that are set, in the order `PHH`,
    /// `PHW`, `PHM`, `MOB`, `MBE`: (type, decoded value).
    pub fn phones(&self, owner: &str) -> Vec<(&'static str, &str)> {
        PHONES
            .into_iter()
            .filter_map(|name| {
                let value = self.settings.get(&(key(owner), name.to_string()))?;
                (!value.is_empty()).then_some((name, value.as_str()))
            })
            .collect()
    }

    /// `GTC` (default `A`: ask before others add me) or `BLP` (default `AL`).
    pub fn setting(&self, owner: &str, name: &str) -> &str {
        let default = if name == "GTC" { "A" } else { "AL" };
        self.settings
            .get(&(key(owner), name.to_string()))
            .map_or(default, String::as_str)
    }

    /// Whether `user` lets `watcher` see their presence and call them: not blocked, and
    /// with `BLP BL` only those on the allow list (msnp8-12.md §f.3).
    pub fn may_see(&self, watcher: &str, user: &str) -> bool {
        !self.on_list(user, "BL", watcher) && (self.setting(user, "BLP") != "BL" || self.on_list(user, "AL", watcher))
    }

    /// Whether `contact` is on `owner`'s `list` (`RL`: `owner` on the contact's `FL`).
    pub fn on_list(&self, owner: &str, list: &str, contact: &str) -> bool {
        let (owner, contact) = (key(owner), key(contact));
        let (o, l, c) = if list == "RL" {
            (contact, "FL", owner)
        } else {
            (owner, list, contact)
        };
        self.lists.get(&(o, l.to_string())).is_some_and(|e| e.contains(&c))
    }

    /// Whether `contact` is on `owner`'s `list` (keys, as [`key`] makes them), or a
    /// write putting it there is on its way to the store.
    fn listed(&self, owner: &str, list: &str, contact: &str) -> bool {
        let on = self.lists.get(&(owner.to_string(), list.to_string()));
        on.is_some_and(|e| e.iter().any(|c| c == contact))
            || self.is_reserved(&Write::Entry {
                owner: owner.to_string(),
                list: list.to_string(),
                contact: contact.to_string(),
            })
    }

    fn is_reserved(&self, write: &Write) -> bool {
        self.reserved.iter().any(|w| w.same_key(write))
    }

    /// A checked write is on its way to the store.
    pub fn reserve(&mut self, write: &Write) {
        self.reserved.insert(write.clone());
    }

    /// It made it (or not): it no longer holds its place.
    pub fn release(&mut self, write: &Write) {
        self.reserved.remove(write);
    }

    /// Applies a checked write; for an entry, the owner's new list version.
    pub fn apply(&mut self, write: &Write) -> u32 {
        self.release(write);
        match write {
            Write::Account(a) => {
                let owner = key(&a.sign_in_name);
                // A new name for an account that exists is a change its owner's lists see.
                match self.accounts.insert(owner.clone(), a.clone()) {
                    Some(old) if old.friendly_name != a.friendly_name => self.bump(&owner),
                    _ => 0,
                }
            }
            Write::License { app_id, key } => {
                self.licenses.insert(app_id.clone(), key.clone());
                0
            }
            Write::Entry { owner, list, contact } => {
                let entries = self.lists.entry((owner.clone(), list.clone())).or_default();
                if !entries.contains(contact) {
                    entries.push(contact.clone());
                }
                self.bump(owner)
            }
            Write::Unentry { owner, list, contact } => {
                if let Some(entries) = self.lists.get_mut(&(owner.clone(), list.clone())) {
                    entries.retain(|c| c != contact);
                }
                if list == "FL" {
                    self.groups.forget(owner, contact);
                    self.nicknames.remove(&(owner.clone(), contact.clone()));
                }
                self.bump(owner)
            }
            Write::Group { owner, id, name } => {
                self.groups.name(owner, *id, name);
                self.bump(owner)
            }
            Write::Ungroup { owner, id } => {
                self.groups.remove(owner, *id);
                self.bump(owner)
            }
            Write::Member { owner, contact, id } => {
                self.groups.join(owner, contact, *id);
                self.bump(owner)
            }
            Write::Unmember { owner, contact, id } => {
                self.groups.leave(owner, contact, *id);
                self.bump(owner)
            }
            Write::Nickname { owner, contact, name } => {
                self.nicknames.insert((owner.clone(), contact.clone()), name.clone());
                self.bump(owner)
            }
            Write::Batch(writes) => writes.iter().map(|w| self.apply(w)).max().unwrap_or(0),
            Write::Setting { owner, name, value } => {
                self.settings.insert((owner.clone(), name.clone()), value.clone());
                self.bump(owner)
            }
        }
    }

    /// Every change to an owner's lists or settings is a new list version.
    fn bump(&mut self, owner: &str) -> u32 {
        let v = self.versions.entry(owner.to_string()).or_default();
        *v += 1;
        *v
    }

    /// Everything, as writes: what a newly attached store must be given.
    pub fn writes(&self) -> Vec<Write> {
        let accounts = self.accounts.values().cloned().map(Write::Account);
        let licenses = self.licenses.iter().map(|(id, k)| Write::License {
            app_id: id.clone(),
            key: k.clone(),
        });
        let entries = self.lists.iter().flat_map(|((owner, list), contacts)| {
            contacts.iter().map(move |c| Write::Entry {
                owner: owner.clone(),
                list: list.clone(),
                contact: c.clone(),
            })
        });
        let settings = self.settings.iter().map(|((owner, name), value)| Write::Setting {
            owner: owner.clone(),
            name: name.clone(),
            value: value.clone(),
        });
        let (group_names, members) = self.groups.all();
        let groups = group_names
            .into_iter()
            .map(|(owner, id, name)| Write::Group { owner, id, name });
        let members = members
            .into_iter()
            .map(|(owner, contact, id)| Write::Member { owner, contact, id });
        let nicknames = self.nicknames.iter().map(|((owner, contact), name)| Write::Nickname {
            owner: owner.clone(),
            contact: contact.clone(),
            name: name.clone(),
        });
        accounts
            .chain(licenses)
            .chain(entries)
            .chain(settings)
            .chain(groups)
            .chain(members)
            .chain(nicknames)
            .collect()
    }

    /// Takes in what a store held; what is already here wins.
    pub fn load(&mut self, snap: Snapshot) {
        for a in snap.accounts {
            self.accounts.entry(key(&a.sign_in_name)).or_insert(a);
        }
        for (id, k) in snap.licenses {
            self.licenses.entry(id).or_insert(k);
        }
        for (owner, list, contact) in snap.entries {
            let entry = self.lists.entry((owner.clone(), list)).or_default();
            if !entry.contains(&contact) {
                entry.push(contact);
                *self.versions.entry(owner).or_default() += 1;
            }
        }
        for (owner, name, value) in snap.settings {
            self.settings.entry((owner, name)).or_insert(value);
        }
        for (owner, id, name) in snap.groups {
            if !self.groups.is_named(&owner, id) {
                self.groups.name(&owner, id, &name);
            }
        }
        for (owner, contact, name) in snap.nicknames {
            if self.on_list(&owner, "FL", &contact) {
                self.nicknames.entry((owner, contact)).or_insert(name);
            }
        }
        for (owner, contact, id) in snap.members {
            // Only for a contact on the forward list and a group that exists.
            if self.on_list(&owner, "FL", &contact) && self.groups.exists(&owner, id) {
                self.groups.join(&owner, &contact, id);
            }
        }
    }

    /// Checks and applies at once (no store): for tests and tools.
    pub fn add_user(&mut self, sign_in_name: &str, password: &str, friendly_name: Option<&str>) -> Result<()> {
        let write = self.new_account(sign_in_name, password, friendly_name, false, |p| {
            Secret::Plain(p.to_string())
        })?;
        self.apply(&write);
        Ok(())
    }

    /// Checks and applies at once (no store): for tests and tools.
    pub fn license(&mut self, app_id: &str, app_key: &str) -> Result<()> {
        let write = self.new_license(app_id, app_key)?;
        self.apply(&write);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_case_insensitive_and_unique() {
        let mut d = Directory::default();
        d.add_user("Alice@Example.com", "pw", None).unwrap();
        assert_eq!(d.account("alice@example.com").unwrap().friendly_name, "Alice");
        let err = d.add_user("alice@example.com", "pw", None).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_FAIL);
    }

    #[test]
    fn bad_accounts_are_refused() {
        let mut d = Directory::default();
        assert_eq!(
            d.add_user("nobody", "pw", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "p\nw", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "pw", Some(&"x".repeat(130)))
                .unwrap_err()
                .hresult(),
            HResult::E_INVALIDARG
        );
    }

    #[test]
    fn an_empty_friendly_name_is_refused() {
        let mut d = Directory::default();
        let err = d.add_user("a@b.com", "pw", Some("")).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_INVALIDARG);
        d.add_user("a@b.com", "pw", Some("A")).unwrap();
        let update = d
            .new_account("a@b.com", "pw", Some(""), true, |p| Secret::Plain(p.to_string()))
            .unwrap_err();
        assert_eq!(update.hresult(), HResult::E_INVALIDARG);
        assert_eq!(d.account("a@b.com").unwrap().friendly_name, "A");
    }

    #[test]
    fn licenses_cannot_reuse_client_ids() {
        let mut d = Directory::default();
        d.license("app@msnmsgr.com", "KEY1").unwrap();
        assert_eq!(d.app_key("app@msnmsgr.com"), Some("KEY1"));
        assert!(d.license(crate::proto::CLIENT_ID, "x").is_err());
        assert!(d.license("has space", "x").is_err());
        assert!(d.license("ok", "").is_err());
        assert!(d.license("PROD0090YUAUV{2B", "x").is_err(), "an MSNP11 client id");
    }
}
