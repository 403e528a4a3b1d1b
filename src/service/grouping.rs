//! Groups on the notification server: `ADG`, `RMG`, `REG` (msnp8-12.md §e.4), how a
//! connection names a group in its dialect, and the replies once a group change is
//! durable. The group forms of `ADD`, `ADC` and `REM` are in `lists.rs`, with the rest
//! of those commands; the directory checks them all (`groups.rs`).

use crate::proto::groups::{GroupReply, GroupRequest};
use crate::proto::ns::{at_least, Reply};
use crate::proto::{ConnId, Dialect};

use super::groups::group_guid;
use super::lists::Change;
use super::{ServiceEngine, Write};

/// What a group change's reply echoes, as the client sent it.
#[derive(Debug)]
pub(super) enum GroupEcho {
    Add { name: String },
    Remove { group: String },
    Rename { group: String, name: String },
}

impl ServiceEngine {
    /// The group a client names (a number up to MSNP9, a GUID from MSNP10), if the
    /// user has it.
    pub(super) fn group_ref(&self, conn: ConnId, user: &str, text: &str) -> Option<u32> {
        let owner = user.to_ascii_lowercase();
        let groups = self.dir.groups();
        if at_least(self.ns_dialect(conn), Dialect::Msnp10) {
            groups.by_guid(&owner, text)
        } else {
            let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            text.parse::<u32>()
                .ok()
                .filter(|id| digits && groups.exists(&owner, *id))
        }
    }

    /// A request's optional group: None without one, `224` for one the user does not
    /// have.
    pub(super) fn optional_group(&self, conn: ConnId, user: &str, text: Option<&str>) -> Result<Option<u32>, u16> {
        text.map(|text| {
            self.group_ref(conn, user, text)
                .ok_or(super::groups::refusal::UNKNOWN_GROUP)
        })
        .transpose()
    }

    /// How `dialect` names `owner`'s group `id`: its number up to MSNP9, its GUID from
    /// MSNP10 (group 0 has none there).
    pub(super) fn group_label(dialect: Option<Dialect>, owner: &str, id: u32) -> Option<String> {
        if !at_least(dialect, Dialect::Msnp10) {
            Some(id.to_string())
        } else {
            (id != 0).then(|| group_guid(owner, id))
        }
    }

    pub(super) fn ns_group(&mut self, conn: ConnId, request: GroupRequest) {
        let user = self.ns_user(conn);
        let trid = request.trid();
        let checked = match request {
            GroupRequest::Add { name, .. } => self.dir.new_group(&user, &name).map(|w| (w, GroupEcho::Add { name })),
            GroupRequest::Remove { group, .. } => self
                .group_ref(conn, &user, &group)
                .ok_or(super::groups::refusal::UNKNOWN_GROUP)
                .and_then(|id| self.dir.group_removal(&user, id))
                .map(|w| (w, GroupEcho::Remove { group })),
            GroupRequest::Rename { group, name, .. } => self
                .group_ref(conn, &user, &group)
                .ok_or(super::groups::refusal::UNKNOWN_GROUP)
                .and_then(|id| self.dir.group_rename(&user, id, &name))
                .map(|w| (w, GroupEcho::Rename { group, name })),
        };
        match checked {
            Err(code) => self.error_reply(conn, code, trid),
            Ok((write, echo)) => self.commit(
                write,
                super::Then::Client {
                    conn,
                    trid,
                    change: Change::Group(echo),
                },
            ),
        }
    }

    /// A group change is durable: its reply (the list version up to MSNP9, `1` after).
    pub(super) fn group_changed(&mut self, conn: ConnId, trid: u32, echo: GroupEcho, write: &Write, version: u32) {
        let dialect = self.ns_dialect(conn);
        let version = if at_least(dialect, Dialect::Msnp10) {
            "1".to_string()
        } else {
            version.to_string()
        };
        let reply = match (echo, write) {
            (GroupEcho::Add { name }, Write::Group { owner, id, .. }) => {
                let Some(group) = Self::group_label(dialect, owner, *id) else {
                    return;
                };
                GroupReply::Added {
                    trid,
                    version,
                    name,
                    group,
                }
            }
            (GroupEcho::Rename { group, name }, Write::Group { .. }) => GroupReply::Renamed {
                trid,
                version,
                group,
                name,
            },
            (GroupEcho::Remove { group }, Write::Ungroup { .. }) => GroupReply::Removed { trid, version, group },
            _ => return,
        };
        self.reply(conn, Reply::Group(reply));
    }
}
