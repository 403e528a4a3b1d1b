//! Contact groups (msnp.md §b.8, §g.2; msnp8-12.md §d.4, §d.5, §e.1–§e.4): each
//! account's named groups, and the groups each forward-list contact is in.
//!
//! Groups are numbered per owner from 1; group 0, "Other Contacts", always exists up
//! to MSNP9 (it may be renamed, never removed). From MSNP10 a group is named by a GUID
//! made from its owner and number, so nothing but the number needs keeping, and group
//! 0 is not shown. A contact in no group is shown in group 0 up to MSNP9.

use std::collections::{BTreeMap, BTreeSet};

use crate::wire::{challenge, urlenc};

/// The most groups an account has besides group 0; one more is `223`.
pub const MAX_GROUPS: usize = 30;
pub use crate::proto::groups::MAX_GROUP_NAME;
/// Group 0's name until its owner renames it.
pub const DEFAULT_GROUP: &str = "Other Contacts";

/// Why a group change was refused, as its MSNP error code.
pub mod refusal {
    /// Not a name (empty, only spaces, control characters), or not a group or
    /// contact reference at all.
    pub const INVALID: u16 = 201;
    pub const NOT_ON_LIST: u16 = 216;
    pub const TOO_MANY: u16 = 223;
    pub const UNKNOWN_GROUP: u16 = 224;
    pub const NOT_IN_GROUP: u16 = 225;
    pub const NAME_EXISTS: u16 = 228;
    pub const NAME_TOO_LONG: u16 = 229;
    pub const GROUP_ZERO: u16 = 230;
}

/// The GUID of `owner`'s group `id` (MSNP10+): stable, different per owner, lower case
/// `8-4-4-4-12` hex as the service wrote them.
pub fn group_guid(owner: &str, id: u32) -> String {
    let h = challenge::md5_hex(format!("group\n{}\n{id}", owner.to_ascii_lowercase()).as_bytes());
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A group name as given on the wire (URL-encoded): the name, or why it is refused.
pub fn check_name(encoded: &str) -> Result<String, u16> {
    let name = urlenc::decode(encoded);
    match crate::proto::groups::group_name_fault(&name) {
        Some(code) => Err(code),
        None => Ok(name),
    }
}

/// A stored group: (owner, number, name).
pub type GroupRow = (String, u32, String);
/// A stored membership: (owner, contact, group number).
pub type MemberRow = (String, String, u32);

#[derive(Debug, Default)]
pub struct Groups {
    /// owner -> group number -> name; group 0 only once renamed.
    names: BTreeMap<String, BTreeMap<u32, String>>,
    /// (owner, contact) -> the groups the contact is in (never empty when present).
    members: BTreeMap<(String, String), BTreeSet<u32>>,
}

impl Groups {
    /// `owner`'s groups, group 0 first, in number order.
    pub fn of(&self, owner: &str) -> Vec<(u32, &str)> {
        let named = self.names.get(owner);
        let zero = named.and_then(|n| n.get(&0)).map_or(DEFAULT_GROUP, String::as_str);
        let rest = named.into_iter().flatten().filter(|(id, _)| **id != 0);
        std::iter::once((0, zero))
            .chain(rest.map(|(id, name)| (*id, name.as_str())))
            .collect()
    }

    /// How many groups `owner` has besides group 0.
    pub fn count(&self, owner: &str) -> usize {
        self.names
            .get(owner)
            .map_or(0, |n| n.keys().filter(|id| **id != 0).count())
    }

    pub fn exists(&self, owner: &str, id: u32) -> bool {
        id == 0 || self.is_named(owner, id)
    }

    /// Whether group `id` has a name of its own (group 0: once renamed).
    pub fn is_named(&self, owner: &str, id: u32) -> bool {
        self.names.get(owner).is_some_and(|n| n.contains_key(&id))
    }

    /// The group called `name`, if any.
    pub fn named(&self, owner: &str, name: &str) -> Option<u32> {
        self.of(owner).into_iter().find(|(_, n)| *n == name).map(|(id, _)| id)
    }

    /// The group (not 0) whose GUID is `guid` (compared without regard to case).
    pub fn by_guid(&self, owner: &str, guid: &str) -> Option<u32> {
        self.names
            .get(owner)?
            .keys()
            .copied()
            .filter(|id| *id != 0)
            .find(|id| group_guid(owner, *id).eq_ignore_ascii_case(guid))
    }

    /// The number a new group of `owner`'s gets, after `pending` ones already given.
    pub fn next_id(&self, owner: &str, pending: impl Iterator<Item = u32>) -> u32 {
        let highest = self
            .names
            .get(owner)
            .and_then(|n| n.keys().next_back().copied())
            .unwrap_or(0);
        highest.max(pending.max().unwrap_or(0)) + 1
    }

    /// The groups `contact` is in on `owner`'s forward list (empty: none).
    pub fn member_of(&self, owner: &str, contact: &str) -> Vec<u32> {
        self.members
            .get(&(owner.to_string(), contact.to_string()))
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether `contact` is in group `id` (up to MSNP9, a contact in no group is in 0).
    pub fn is_member(&self, owner: &str, contact: &str, id: u32) -> bool {
        let groups = self.member_of(owner, contact);
        groups.contains(&id) || (id == 0 && groups.is_empty())
    }

    pub fn name(&mut self, owner: &str, id: u32, name: &str) {
        self.names
            .entry(owner.to_string())
            .or_default()
            .insert(id, name.to_string());
    }

    /// Removes a group; its members leave it.
    pub fn remove(&mut self, owner: &str, id: u32) {
        if let Some(names) = self.names.get_mut(owner) {
            names.remove(&id);
        }
        self.members.retain(|(o, _), groups| {
            if o == owner {
                groups.remove(&id);
            }
            !groups.is_empty()
        });
    }

    pub fn join(&mut self, owner: &str, contact: &str, id: u32) {
        self.members
            .entry((owner.to_string(), contact.to_string()))
            .or_default()
            .insert(id);
    }

    pub fn leave(&mut self, owner: &str, contact: &str, id: u32) {
        let key = (owner.to_string(), contact.to_string());
        if let Some(groups) = self.members.get_mut(&key) {
            groups.remove(&id);
            if groups.is_empty() {
                self.members.remove(&key);
            }
        }
    }

    /// `contact` left `owner`'s forward list: it is in no group any more.
    pub fn forget(&mut self, owner: &str, contact: &str) {
        self.members.remove(&(owner.to_string(), contact.to_string()));
    }

    /// Every group (owner, number, name) and membership (owner, contact, number), for a
    /// newly attached store.
    pub fn all(&self) -> (Vec<GroupRow>, Vec<MemberRow>) {
        let names = self
            .names
            .iter()
            .flat_map(|(owner, n)| n.iter().map(move |(id, name)| (owner.clone(), *id, name.clone())))
            .collect();
        let members = self
            .members
            .iter()
            .flat_map(|((owner, contact), g)| g.iter().map(move |id| (owner.clone(), contact.clone(), *id)))
            .collect();
        (names, members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_zero_always_exists_and_others_are_numbered_from_one() {
        let mut g = Groups::default();
        assert_eq!(g.of("a"), vec![(0, DEFAULT_GROUP)]);
        assert_eq!(g.next_id("a", std::iter::empty()), 1);
        g.name("a", 1, "Friends");
        assert_eq!(g.next_id("a", [3].into_iter()), 4, "past the pending ones");
        g.name("a", 0, "Others");
        assert_eq!(g.of("a"), vec![(0, "Others"), (1, "Friends")]);
        assert_eq!(g.count("a"), 1);
        assert_eq!(g.named("a", "Friends"), Some(1));
        assert!(g.exists("a", 0) && g.exists("a", 1) && !g.exists("a", 2) && !g.exists("b", 1));
    }

    #[test]
    fn guids_are_stable_per_owner_and_found_in_any_case() {
        let mut g = Groups::default();
        g.name("a", 1, "Friends");
        let guid = group_guid("A", 1);
        assert_eq!(guid, group_guid("a", 1));
        assert_ne!(guid, group_guid("b", 1));
        assert_eq!(guid.len(), 36);
        assert_eq!(g.by_guid("a", &guid.to_ascii_uppercase()), Some(1));
        assert_eq!(g.by_guid("a", &group_guid("a", 0)), None, "group 0 has no GUID");
        assert_eq!(g.by_guid("a", "nonsense"), None);
    }

    #[test]
    fn members_leave_a_removed_group_and_a_contact_in_none_is_in_zero() {
        let mut g = Groups::default();
        g.name("a", 1, "Friends");
        g.name("a", 2, "Work");
        g.join("a", "bob", 1);
        g.join("a", "bob", 2);
        assert!(!g.is_member("a", "bob", 0));
        g.remove("a", 1);
        assert_eq!(g.member_of("a", "bob"), vec![2]);
        g.leave("a", "bob", 2);
        assert!(g.member_of("a", "bob").is_empty() && g.is_member("a", "bob", 0));
        g.join("a", "carol", 2);
        g.forget("a", "carol");
        assert_eq!(g.all().1, vec![]);
    }

    #[test]
    fn names_are_checked_as_sent() {
        assert_eq!(check_name("Best%20Friends"), Ok("Best Friends".to_string()));
        assert_eq!(check_name("%20%20"), Err(refusal::INVALID));
        assert_eq!(check_name("a%0Ab"), Err(refusal::INVALID));
        assert_eq!(
            check_name(&"x".repeat(MAX_GROUP_NAME)).map(|n| n.len()),
            Ok(MAX_GROUP_NAME)
        );
        assert_eq!(check_name(&"x".repeat(MAX_GROUP_NAME + 1)), Err(refusal::NAME_TOO_LONG));
        // Measured as the service encodes it: "a" and 20 spaces are 61 bytes, 21 are 64.
        assert!(check_name(&format!("a{}", "%20".repeat(20))).is_ok());
        assert_eq!(
            check_name(&format!("a{}", "%20".repeat(21))),
            Err(refusal::NAME_TOO_LONG)
        );
    }
}
