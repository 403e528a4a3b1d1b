//! The group commands, `ADG`, `RMG` and `REG` (msnp8-12.md §e.4), in each dialect's
//! shape. Up to MSNP9 a group is a number and replies carry the list version; from
//! MSNP10 a group is a GUID and the replies' second field is always `1` (the shape
//! msnp11-sdk reads, and Escargot's for `RMG`/`REG`). Names are kept as sent
//! (URL-encoded), since replies echo them byte for byte.

use super::ns::{arg, at_least, cmd, opt_arg};
use super::Dialect;
use crate::wire::{urlenc, Command};

/// The longest group name, in bytes as msgr URL-encodes it; longer is `229`.
pub const MAX_GROUP_NAME: usize = 61;

/// What is wrong with a group name (decoded), as its MSNP error code: `201` empty, only
/// spaces or with control characters, `229` too long; None when the service keeps it.
pub fn group_name_fault(name: &str) -> Option<u16> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Some(201);
    }
    (urlenc::encode(name).len() > MAX_GROUP_NAME).then_some(229)
}

/// A client's group command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRequest {
    /// `ADG <t> <name> 0` (up to MSNP9), `ADG <t> <name>` (MSNP10+).
    Add { trid: u32, name: String },
    /// `RMG <t> <group>`: a number up to MSNP9, a GUID from MSNP10.
    Remove { trid: u32, group: String },
    /// `REG <t> <group> <name> 0` (up to MSNP9), `REG <t> <guid> <name>` (MSNP10+).
    Rename { trid: u32, group: String, name: String },
}

/// The service's answer to one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupReply {
    /// `ADG <t> <version> <name> <id> 0` (up to MSNP9), `ADG <t> 1 <name> <guid>`.
    Added {
        trid: u32,
        version: String,
        name: String,
        group: String,
    },
    /// `RMG <t> <version> <group>`.
    Removed { trid: u32, version: String, group: String },
    /// `REG <t> <version> <id> <name> 0` (up to MSNP9), `REG <t> 1 <name> <guid>`.
    Renamed {
        trid: u32,
        version: String,
        group: String,
        name: String,
    },
}

fn modern(dialect: Option<Dialect>) -> bool {
    at_least(dialect, Dialect::Msnp10)
}

/// Whether a field is a GUID (`8-4-4-4-12` hex): how a reply in another server's shape
/// (`ADG t name guid 0`, Escargot's) is told from ours.
pub fn is_guid(field: &str) -> bool {
    let parts: Vec<&str> = field.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl GroupRequest {
    /// The group command `c` (with TrID `trid`), or None for another command.
    pub fn parse(c: &Command, trid: u32) -> Option<GroupRequest> {
        let raw = |i: usize| arg(c, i).to_string();
        Some(match c.name.as_str() {
            "ADG" => GroupRequest::Add { trid, name: raw(1) },
            "RMG" => GroupRequest::Remove { trid, group: raw(1) },
            "REG" => GroupRequest::Rename {
                trid,
                group: raw(1),
                name: raw(2),
            },
            _ => return None,
        })
    }

    pub fn trid(&self) -> u32 {
        match self {
            GroupRequest::Add { trid, .. } | GroupRequest::Remove { trid, .. } | GroupRequest::Rename { trid, .. } => {
                *trid
            }
        }
    }

    pub fn to_command(&self, dialect: Option<Dialect>) -> Command {
        // Up to MSNP9 a trailing 0 follows a name (unused, as in LSG).
        let zero = (!modern(dialect)).then(|| "0".to_string());
        match self {
            GroupRequest::Add { trid, name } => cmd(
                "ADG",
                [trid.to_string(), name.clone()].into_iter().chain(zero).collect(),
            ),
            GroupRequest::Remove { trid, group } => cmd("RMG", vec![trid.to_string(), group.clone()]),
            GroupRequest::Rename { trid, group, name } => cmd(
                "REG",
                [trid.to_string(), group.clone(), name.clone()]
                    .into_iter()
                    .chain(zero)
                    .collect(),
            ),
        }
    }
}

impl GroupReply {
    /// The group reply `c`, or None for another command. Also reads the shapes of
    /// other servers: `ADG t name guid [0]` and `REG t 1 name guid 0` (Escargot),
    /// `ADG t name guid` (y111), `REG t guid name` (R2M).
    pub fn parse(c: &Command, dialect: Option<Dialect>) -> Option<GroupReply> {
        let trid = c.trid().unwrap_or(0);
        let raw = |i: usize| arg(c, i).to_string();
        Some(match c.name.as_str() {
            "ADG" if modern(dialect) && is_guid(arg(c, 2)) => GroupReply::Added {
                trid,
                version: "1".into(),
                name: raw(1),
                group: raw(2),
            },
            "ADG" => GroupReply::Added {
                trid,
                version: raw(1),
                name: raw(2),
                group: raw(3),
            },
            "RMG" => match opt_arg(c, 2) {
                Some(group) => GroupReply::Removed {
                    trid,
                    version: raw(1),
                    group,
                },
                None => GroupReply::Removed {
                    trid,
                    version: "1".into(),
                    group: raw(1),
                },
            },
            "REG" if modern(dialect) && is_guid(arg(c, 1)) => GroupReply::Renamed {
                trid,
                version: "1".into(),
                group: raw(1),
                name: raw(2),
            },
            "REG" if modern(dialect) => GroupReply::Renamed {
                trid,
                version: raw(1),
                name: raw(2),
                group: raw(3),
            },
            "REG" => GroupReply::Renamed {
                trid,
                version: raw(1),
                group: raw(2),
                name: raw(3),
            },
            _ => return None,
        })
    }

    pub fn to_command(&self, dialect: Option<Dialect>) -> Command {
        let zero = (!modern(dialect)).then(|| "0".to_string());
        match self {
            GroupReply::Added {
                trid,
                version,
                name,
                group,
            } => cmd(
                "ADG",
                [trid.to_string(), version.clone(), name.clone(), group.clone()]
                    .into_iter()
                    .chain(zero)
                    .collect(),
            ),
            GroupReply::Removed { trid, version, group } => {
                cmd("RMG", vec![trid.to_string(), version.clone(), group.clone()])
            }
            GroupReply::Renamed {
                trid,
                version,
                group,
                name,
            } => {
                let fields = if modern(dialect) {
                    vec![trid.to_string(), version.clone(), name.clone(), group.clone()]
                } else {
                    vec![
                        trid.to_string(),
                        version.clone(),
                        group.clone(),
                        name.clone(),
                        "0".into(),
                    ]
                };
                cmd("REG", fields)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decoder, Direction};

    const GUID: &str = "3c9d5a1e-2f4b-4e8a-9b7c-1d2e3f4a5b6c";

    fn command(line: &str, direction: Direction) -> Command {
        let mut d = Decoder::new(direction);
        d.push(format!("{line}\r\n").as_bytes());
        d.next_command().unwrap().unwrap()
    }

    fn line(c: Command) -> String {
        String::from_utf8(c.encode()).unwrap().trim_end().to_string()
    }

    #[test]
    fn requests_round_trip_in_each_dialect() {
        let cases = [
            (
                Dialect::Msnp7,
                "ADG 40 Friends 0",
                GroupRequest::Add {
                    trid: 40,
                    name: "Friends".into(),
                },
            ),
            (
                Dialect::Msnp9,
                "RMG 41 1",
                GroupRequest::Remove {
                    trid: 41,
                    group: "1".into(),
                },
            ),
            (
                Dialect::Msnp8,
                "REG 42 1 Best%20Friends 0",
                GroupRequest::Rename {
                    trid: 42,
                    group: "1".into(),
                    name: "Best%20Friends".into(),
                },
            ),
            (
                Dialect::Msnp10,
                "ADG 40 Friends",
                GroupRequest::Add {
                    trid: 40,
                    name: "Friends".into(),
                },
            ),
            (
                Dialect::Msnp11,
                &format!("RMG 41 {GUID}"),
                GroupRequest::Remove {
                    trid: 41,
                    group: GUID.into(),
                },
            ),
            (
                Dialect::Msnp12,
                &format!("REG 42 {GUID} Best%20Friends"),
                GroupRequest::Rename {
                    trid: 42,
                    group: GUID.into(),
                    name: "Best%20Friends".into(),
                },
            ),
        ];
        for (dialect, text, typed) in cases {
            let c = command(text, Direction::ClientToServer);
            assert_eq!(
                GroupRequest::parse(&c, c.trid().unwrap()),
                Some(typed.clone()),
                "{text}"
            );
            assert_eq!(line(typed.to_command(Some(dialect))), text, "{dialect}");
        }
    }

    #[test]
    fn replies_round_trip_in_each_dialect() {
        let cases = [
            (
                Dialect::Msnp8,
                "ADG 40 22 Friends 1 0",
                GroupReply::Added {
                    trid: 40,
                    version: "22".into(),
                    name: "Friends".into(),
                    group: "1".into(),
                },
            ),
            (
                Dialect::Msnp7,
                "RMG 41 23 1",
                GroupReply::Removed {
                    trid: 41,
                    version: "23".into(),
                    group: "1".into(),
                },
            ),
            (
                Dialect::Msnp9,
                "REG 42 24 1 Best%20Friends 0",
                GroupReply::Renamed {
                    trid: 42,
                    version: "24".into(),
                    group: "1".into(),
                    name: "Best%20Friends".into(),
                },
            ),
            (
                Dialect::Msnp11,
                &format!("ADG 40 1 Friends {GUID}"),
                GroupReply::Added {
                    trid: 40,
                    version: "1".into(),
                    name: "Friends".into(),
                    group: GUID.into(),
                },
            ),
            (
                Dialect::Msnp10,
                &format!("RMG 41 1 {GUID}"),
                GroupReply::Removed {
                    trid: 41,
                    version: "1".into(),
                    group: GUID.into(),
                },
            ),
            (
                Dialect::Msnp12,
                &format!("REG 42 1 Best%20Friends {GUID}"),
                GroupReply::Renamed {
                    trid: 42,
                    version: "1".into(),
                    group: GUID.into(),
                    name: "Best%20Friends".into(),
                },
            ),
        ];
        for (dialect, text, typed) in cases {
            let c = command(text, Direction::ServerToClient);
            assert_eq!(GroupReply::parse(&c, Some(dialect)), Some(typed.clone()), "{text}");
            assert_eq!(line(typed.to_command(Some(dialect))), text, "{dialect}");
        }
    }

    #[test]
    fn other_servers_shapes_are_read() {
        let m11 = Some(Dialect::Msnp11);
        let added = |text: &str| GroupReply::parse(&command(text, Direction::ServerToClient), m11);
        let want = GroupReply::Added {
            trid: 40,
            version: "1".into(),
            name: "Friends".into(),
            group: GUID.into(),
        };
        assert_eq!(
            added(&format!("ADG 40 Friends {GUID} 0")),
            Some(want.clone()),
            "Escargot"
        );
        assert_eq!(added(&format!("ADG 40 Friends {GUID}")), Some(want), "y111");
        let renamed = GroupReply::Renamed {
            trid: 42,
            version: "1".into(),
            group: GUID.into(),
            name: "Work".into(),
        };
        assert_eq!(added(&format!("REG 42 {GUID} Work")), Some(renamed.clone()), "R2M");
        assert_eq!(added(&format!("REG 42 1 Work {GUID} 0")), Some(renamed), "Escargot");
        assert_eq!(
            added(&format!("RMG 41 {GUID}")),
            Some(GroupReply::Removed {
                trid: 41,
                version: "1".into(),
                group: GUID.into()
            }),
            "y111"
        );
        assert!(is_guid(GUID) && !is_guid("1") && !is_guid("3c9d5a1e-2f4b-4e8a-9b7c-1d2e3f4a5b6z"));
    }
}
