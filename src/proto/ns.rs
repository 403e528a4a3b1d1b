//! The notification server's messages, typed: one parse and one build for each command
//! the engines use (as mini-redis's `cmd/` does), in both directions. The service parses
//! [`Request`]s and builds [`Reply`]s; the client builds the first and parses the second.
//!
//! Parsing is total: a line that is not what a variant needs becomes
//! [`Request::Unknown`] or [`Reply::Other`], and missing parameters read as empty, so a
//! handler decides what a short line means. Text parameters (friendly names) are
//! URL-decoded here and URL-encoded on the way out (msnp.md §a.2); e-mail addresses and
//! tokens travel raw. Where a dialect changes a shape, the `Dialect` argument says which.

use crate::wire::{urlenc, Command};

use super::Dialect;

/// The sender of the service's own `MSG`s (msnp.md §a.4).
const HOTMAIL: &str = "Hotmail";

/// What a client sends on a notification connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `VER <t> MSNP7 … CVR0`: every token offered, in order.
    Ver {
        trid: u32,
        offered: Vec<String>,
    },
    /// `CVR <t> <locale> <os> <os version> <cpu> <client> <version> <msmsgs> [<account>]`.
    Cvr {
        trid: u32,
        fields: Vec<String>,
    },
    /// `INF <t>` (MSNP7 and earlier).
    Inf {
        trid: u32,
    },
    Usr {
        trid: u32,
        auth: UsrRequest,
    },
    /// `SYN <t> <list version>`.
    Syn {
        trid: u32,
        version: String,
    },
    /// `CHG <t> <status> [<capabilities>]`.
    Chg {
        trid: u32,
        status: String,
        capabilities: Option<String>,
    },
    /// `CHL <t>`: a challenge asked for on behalf of an app (Lock and Key, msnp.md §e).
    Chl {
        trid: u32,
    },
    /// `QRY <t> <id> 32` + the 32-digit answer.
    Qry {
        trid: u32,
        id: String,
        digest: Vec<u8>,
    },
    /// `ADD <t> <list> <account> [<name> [<group>]]`.
    Add {
        trid: u32,
        list: String,
        account: String,
        name: Option<String>,
        group: Option<String>,
    },
    /// `XFR <t> SB`.
    Xfr {
        trid: u32,
        kind: String,
    },
    Png,
    Out,
    /// A command with a TrID that is not one of the above.
    Unknown {
        trid: u32,
        name: String,
    },
    /// A command that needs a TrID but carries none.
    NoTrid {
        name: String,
    },
}

/// The two steps of `USR` sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsrRequest {
    /// `USR <t> MD5 I <account>`.
    Md5Initial { account: String },
    /// `USR <t> MD5 S <proof>`: MD5(salt ‖ password) in hex.
    Md5Proof { proof: String },
    /// `USR <t> TWN I <account>` (MSNP8+).
    TwnInitial { account: String },
    /// `USR <t> TWN S <ticket>`: the Passport ticket the login server issued.
    TwnTicket { ticket: String },
    /// Any other shape.
    Other,
}

/// What a notification server sends: replies (with the request's TrID) and its own
/// messages (TrID 0 or none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `VER <t> <dialect>`, or `VER <t> 0` when nothing offered is supported.
    Ver {
        trid: u32,
        versions: Vec<String>,
    },
    Cvr {
        trid: u32,
        fields: Vec<String>,
    },
    /// `INF <t> MD5`.
    Inf {
        trid: u32,
        methods: Vec<String>,
    },
    /// `USR <t> MD5 S <salt>`.
    UsrSalt {
        trid: u32,
        salt: String,
    },
    /// `USR <t> TWN S <passport challenge>` (MSNP8+): opaque, echoed to the login server.
    UsrTwnChallenge {
        trid: u32,
        challenge: String,
    },
    /// Signed in: `USR <t> OK <account> <friendly> 1` (MSNP7), `… <friendly> 1 0`
    /// (MSNP8, 9), `USR <t> OK <account> 1 0` (MSNP10+, whose friendly name comes in
    /// `SYN` as `PRP MFN`).
    UsrOk {
        trid: u32,
        account: String,
        friendly: Option<String>,
    },
    /// `SBS 0 null`, after `USR … OK` from MSNP11 (its meaning is unknown; clients ignore it).
    Sbs,
    /// `MSG Hotmail Hotmail <n>` + a `text/x-msmsgsprofile` or mail notification.
    Hotmail {
        payload: Vec<u8>,
    },
    Syn {
        trid: u32,
        version: String,
    },
    Gtc {
        trid: u32,
        version: String,
        setting: String,
    },
    Blp {
        trid: u32,
        version: String,
        setting: String,
    },
    /// `LSG <t> <ver> <index> <total> <id> <name> <flags>` (MSNP7).
    Lsg {
        trid: u32,
        version: String,
        index: String,
        total: String,
        id: String,
        name: String,
    },
    Lst(Lst),
    /// `CHG <t> <status>`: the new status confirmed.
    Chg {
        trid: u32,
        status: String,
    },
    /// `ILN <t> <status> <account> <friendly>`: a contact's presence at sign-in or `ADD`.
    Iln {
        trid: u32,
        status: String,
        account: String,
        friendly: String,
    },
    /// `NLN <status> <account> <friendly>`: a contact changed status.
    Nln {
        status: String,
        account: String,
        friendly: String,
    },
    /// `FLN <account>`: a contact went offline.
    Fln {
        account: String,
    },
    /// `CHL <t> <challenge>`: TrID 0 is the service's ping, any other answers a `CHL`.
    Chl {
        trid: u32,
        challenge: String,
    },
    /// `QRY <t>`: the answer was right.
    Qry {
        trid: u32,
    },
    /// `ADD <t> <list> <ver> <account> <friendly> [<group>]`.
    Add {
        trid: u32,
        list: String,
        version: String,
        account: String,
        friendly: String,
        group: Option<String>,
    },
    /// `XFR <t> SB <host:port> CKI <cookie>`.
    XfrSb {
        trid: u32,
        address: String,
        cookie: String,
    },
    /// `RNG <session> <host:port> CKI <cookie> <caller> <friendly>`.
    Rng {
        session: String,
        address: String,
        cookie: String,
        caller: String,
        friendly: String,
    },
    /// `NOT <n>` + a `<NOTIFICATION>` (MSN Alerts).
    Not {
        payload: Vec<u8>,
    },
    /// `OUT [<reason>]`.
    Out {
        reason: Option<String>,
    },
    Qng,
    /// `<code> <t>`.
    Error {
        code: u16,
        trid: u32,
    },
    Other(Command),
}

/// One `LST` line: a list's members one per line, or a single line for an empty list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lst {
    pub trid: u32,
    pub list: String,
    pub version: String,
    pub index: usize,
    pub total: usize,
    /// None on the line of an empty list.
    pub member: Option<LstMember>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LstMember {
    pub account: String,
    pub friendly: String,
    /// Forward-list members carry their group ids.
    pub groups: Option<String>,
}

/// From MSNP10 the friendly name leaves `USR … OK` for `PRP MFN` in the list download.
fn names_in_syn(dialect: Option<Dialect>) -> bool {
    dialect.is_some_and(|d| d >= Dialect::Msnp10)
}

/// Parameter `i`, or "" when the line is shorter.
pub(super) fn arg(cmd: &Command, i: usize) -> &str {
    cmd.args.get(i).map(String::as_str).unwrap_or("")
}

pub(super) fn opt_arg(cmd: &Command, i: usize) -> Option<String> {
    cmd.args.get(i).cloned()
}

fn digits(n: impl ToString) -> String {
    n.to_string()
}

/// A command from parameters already safe on the wire.
pub(super) fn cmd(name: &str, args: Vec<String>) -> Command {
    Command {
        name: name.to_string(),
        args,
        payload: None,
    }
}

/// A payload command: the byte count goes last.
pub(super) fn payload_cmd(name: &str, mut args: Vec<String>, payload: Vec<u8>) -> Command {
    args.push(payload.len().to_string());
    Command {
        name: name.to_string(),
        args,
        payload: Some(payload),
    }
}

/// The code and TrID of an error reply, if `c` is one.
pub(super) fn error_of(c: &Command) -> Option<(u16, u32)> {
    Some((c.error_code()?, c.trid().unwrap_or(0)))
}

/// The error reply `<code> <t>` (msnp.md §a.5).
pub fn error(code: u16, trid: u32) -> Command {
    cmd(&format!("{code:03}"), vec![digits(trid)])
}

impl Request {
    pub fn parse(c: &Command, _dialect: Option<Dialect>) -> Request {
        match c.name.as_str() {
            "OUT" => return Request::Out,
            "PNG" => return Request::Png,
            _ => {}
        }
        let Some(trid) = c.trid() else {
            return Request::NoTrid { name: c.name.clone() };
        };
        let rest = || c.args.iter().skip(1).cloned().collect::<Vec<_>>();
        match c.name.as_str() {
            "VER" => Request::Ver { trid, offered: rest() },
            "CVR" => Request::Cvr { trid, fields: rest() },
            "INF" => Request::Inf { trid },
            "USR" => {
                let auth = match (arg(c, 1), arg(c, 2), c.args.len()) {
                    ("MD5", "I", 4) => UsrRequest::Md5Initial {
                        account: arg(c, 3).to_string(),
                    },
                    ("MD5", "S", 4) => UsrRequest::Md5Proof {
                        proof: arg(c, 3).to_string(),
                    },
                    ("TWN", "I", 4) => UsrRequest::TwnInitial {
                        account: arg(c, 3).to_string(),
                    },
                    ("TWN", "S", 4) => UsrRequest::TwnTicket {
                        ticket: arg(c, 3).to_string(),
                    },
                    _ => UsrRequest::Other,
                };
                Request::Usr { trid, auth }
            }
            "SYN" => Request::Syn {
                trid,
                version: arg(c, 1).to_string(),
            },
            "CHG" => Request::Chg {
                trid,
                status: arg(c, 1).to_string(),
                capabilities: opt_arg(c, 2),
            },
            "CHL" => Request::Chl { trid },
            "QRY" => Request::Qry {
                trid,
                id: arg(c, 1).to_string(),
                digest: c.payload.clone().unwrap_or_default(),
            },
            "ADD" => Request::Add {
                trid,
                list: arg(c, 1).to_string(),
                account: arg(c, 2).to_string(),
                name: opt_arg(c, 3).map(|n| urlenc::decode(&n)),
                group: opt_arg(c, 4),
            },
            "XFR" => Request::Xfr {
                trid,
                kind: arg(c, 1).to_string(),
            },
            _ => Request::Unknown {
                trid,
                name: c.name.clone(),
            },
        }
    }

    pub fn to_command(&self, _dialect: Option<Dialect>) -> Command {
        match self {
            Request::Ver { trid, offered } => cmd("VER", [vec![digits(trid)], offered.clone()].concat()),
            Request::Cvr { trid, fields } => cmd("CVR", [vec![digits(trid)], fields.clone()].concat()),
            Request::Inf { trid } => cmd("INF", vec![digits(trid)]),
            Request::Usr { trid, auth } => {
                let mut args = vec![digits(trid)];
                match auth {
                    UsrRequest::Md5Initial { account } => args.extend(["MD5".into(), "I".into(), account.clone()]),
                    UsrRequest::Md5Proof { proof } => args.extend(["MD5".into(), "S".into(), proof.clone()]),
                    UsrRequest::TwnInitial { account } => args.extend(["TWN".into(), "I".into(), account.clone()]),
                    UsrRequest::TwnTicket { ticket } => args.extend(["TWN".into(), "S".into(), ticket.clone()]),
                    UsrRequest::Other => {}
                }
                cmd("USR", args)
            }
            Request::Syn { trid, version } => cmd("SYN", vec![digits(trid), version.clone()]),
            Request::Chg {
                trid,
                status,
                capabilities,
            } => {
                let mut args = vec![digits(trid), status.clone()];
                args.extend(capabilities.clone());
                cmd("CHG", args)
            }
            Request::Chl { trid } => cmd("CHL", vec![digits(trid)]),
            Request::Qry { trid, id, digest } => payload_cmd("QRY", vec![digits(trid), id.clone()], digest.clone()),
            Request::Add {
                trid,
                list,
                account,
                name,
                group,
            } => {
                let mut args = vec![digits(trid), list.clone(), account.clone()];
                args.extend(name.as_deref().map(urlenc::encode));
                args.extend(group.clone());
                cmd("ADD", args)
            }
            Request::Xfr { trid, kind } => cmd("XFR", vec![digits(trid), kind.clone()]),
            Request::Png => cmd("PNG", vec![]),
            Request::Out => cmd("OUT", vec![]),
            Request::Unknown { trid, name } => cmd(name, vec![digits(trid)]),
            Request::NoTrid { name } => cmd(name, vec![]),
        }
    }
}

impl Reply {
    pub fn parse(c: &Command, dialect: Option<Dialect>) -> Reply {
        if let Some((code, trid)) = error_of(c) {
            return Reply::Error { code, trid };
        }
        let trid = c.trid().unwrap_or(0);
        let text = |i: usize| urlenc::decode(arg(c, i));
        let rest = || c.args.iter().skip(1).cloned().collect::<Vec<_>>();
        let payload = || c.payload.clone().unwrap_or_default();
        match (c.name.as_str(), arg(c, 1)) {
            ("VER", _) => Reply::Ver { trid, versions: rest() },
            ("CVR", _) => Reply::Cvr { trid, fields: rest() },
            ("INF", _) => Reply::Inf { trid, methods: rest() },
            ("USR", "MD5") if arg(c, 2) == "S" => Reply::UsrSalt {
                trid,
                salt: arg(c, 3).to_string(),
            },
            ("USR", "TWN") if arg(c, 2) == "S" => Reply::UsrTwnChallenge {
                trid,
                challenge: arg(c, 3).to_string(),
            },
            ("USR", "OK") => Reply::UsrOk {
                trid,
                account: arg(c, 2).to_string(),
                friendly: (!names_in_syn(dialect)).then(|| text(3)),
            },
            ("MSG", _) if arg(c, 0) == HOTMAIL && c.payload.is_some() => Reply::Hotmail { payload: payload() },
            ("SYN", _) => Reply::Syn {
                trid,
                version: arg(c, 1).to_string(),
            },
            ("GTC", _) => Reply::Gtc {
                trid,
                version: arg(c, 1).to_string(),
                setting: arg(c, 2).to_string(),
            },
            ("BLP", _) => Reply::Blp {
                trid,
                version: arg(c, 1).to_string(),
                setting: arg(c, 2).to_string(),
            },
            ("LSG", _) => Reply::Lsg {
                trid,
                version: arg(c, 1).to_string(),
                index: arg(c, 2).to_string(),
                total: arg(c, 3).to_string(),
                id: arg(c, 4).to_string(),
                name: text(5),
            },
            ("LST", _) => Reply::Lst(Lst {
                trid,
                list: arg(c, 1).to_string(),
                version: arg(c, 2).to_string(),
                index: arg(c, 3).parse().unwrap_or(0),
                total: arg(c, 4).parse().unwrap_or(0),
                member: (c.args.len() >= 7).then(|| LstMember {
                    account: arg(c, 5).to_string(),
                    friendly: text(6),
                    groups: opt_arg(c, 7),
                }),
            }),
            ("CHG", _) => Reply::Chg {
                trid,
                status: arg(c, 1).to_string(),
            },
            ("ILN", _) => Reply::Iln {
                trid,
                status: arg(c, 1).to_string(),
                account: arg(c, 2).to_string(),
                friendly: text(3),
            },
            ("NLN", _) => Reply::Nln {
                status: arg(c, 0).to_string(),
                account: arg(c, 1).to_string(),
                friendly: text(2),
            },
            ("FLN", _) => Reply::Fln {
                account: arg(c, 0).to_string(),
            },
            ("CHL", _) => Reply::Chl {
                trid,
                challenge: arg(c, 1).to_string(),
            },
            ("QRY", _) => Reply::Qry { trid },
            ("ADD", _) => Reply::Add {
                trid,
                list: arg(c, 1).to_string(),
                version: arg(c, 2).to_string(),
                account: arg(c, 3).to_string(),
                friendly: text(4),
                group: opt_arg(c, 5),
            },
            ("XFR", "SB") => Reply::XfrSb {
                trid,
                address: arg(c, 2).to_string(),
                cookie: arg(c, 4).to_string(),
            },
            ("RNG", _) => Reply::Rng {
                session: arg(c, 0).to_string(),
                address: arg(c, 1).to_string(),
                cookie: arg(c, 3).to_string(),
                caller: arg(c, 4).to_string(),
                friendly: text(5),
            },
            ("NOT", _) if c.payload.is_some() => Reply::Not { payload: payload() },
            ("OUT", _) => Reply::Out { reason: opt_arg(c, 0) },
            ("QNG", _) => Reply::Qng,
            ("SBS", _) => Reply::Sbs,
            _ => Reply::Other(c.clone()),
        }
    }

    pub fn to_command(&self, dialect: Option<Dialect>) -> Command {
        let t = |trid: &u32| digits(trid);
        match self {
            Reply::Ver { trid, versions } => cmd("VER", [vec![t(trid)], versions.clone()].concat()),
            Reply::Cvr { trid, fields } => cmd("CVR", [vec![t(trid)], fields.clone()].concat()),
            Reply::Inf { trid, methods } => cmd("INF", [vec![t(trid)], methods.clone()].concat()),
            Reply::UsrSalt { trid, salt } => cmd("USR", vec![t(trid), "MD5".into(), "S".into(), salt.clone()]),
            Reply::UsrTwnChallenge { trid, challenge } => {
                cmd("USR", vec![t(trid), "TWN".into(), "S".into(), challenge.clone()])
            }
            Reply::UsrOk {
                trid,
                account,
                friendly,
            } => {
                let mut args = vec![t(trid), "OK".into(), account.clone()];
                if !names_in_syn(dialect) {
                    args.push(urlenc::encode(friendly.as_deref().unwrap_or(account)));
                }
                // Verified Passport; from MSNP8, "not a restricted (MSN Explorer) account".
                args.push("1".into());
                if dialect.is_some_and(|d| d >= Dialect::Msnp8) {
                    args.push("0".into());
                }
                cmd("USR", args)
            }
            Reply::Hotmail { payload } => payload_cmd("MSG", vec![HOTMAIL.into(), HOTMAIL.into()], payload.clone()),
            Reply::Syn { trid, version } => cmd("SYN", vec![t(trid), version.clone()]),
            Reply::Gtc { trid, version, setting } => cmd("GTC", vec![t(trid), version.clone(), setting.clone()]),
            Reply::Blp { trid, version, setting } => cmd("BLP", vec![t(trid), version.clone(), setting.clone()]),
            Reply::Lsg {
                trid,
                version,
                index,
                total,
                id,
                name,
            } => cmd(
                "LSG",
                vec![
                    t(trid),
                    version.clone(),
                    index.clone(),
                    total.clone(),
                    id.clone(),
                    urlenc::encode(name),
                    "0".into(),
                ],
            ),
            Reply::Lst(l) => {
                let mut args = vec![t(&l.trid), l.list.clone(), l.version.clone()];
                match &l.member {
                    None => args.extend(["0".into(), "0".into()]),
                    Some(m) => {
                        args.extend([
                            digits(l.index),
                            digits(l.total),
                            m.account.clone(),
                            urlenc::encode(&m.friendly),
                        ]);
                        args.extend(m.groups.clone());
                    }
                }
                cmd("LST", args)
            }
            Reply::Chg { trid, status } => cmd("CHG", vec![t(trid), status.clone()]),
            Reply::Iln {
                trid,
                status,
                account,
                friendly,
            } => cmd(
                "ILN",
                vec![t(trid), status.clone(), account.clone(), urlenc::encode(friendly)],
            ),
            Reply::Nln {
                status,
                account,
                friendly,
            } => cmd("NLN", vec![status.clone(), account.clone(), urlenc::encode(friendly)]),
            Reply::Fln { account } => cmd("FLN", vec![account.clone()]),
            Reply::Chl { trid, challenge } => cmd("CHL", vec![t(trid), challenge.clone()]),
            Reply::Qry { trid } => cmd("QRY", vec![t(trid)]),
            Reply::Add {
                trid,
                list,
                version,
                account,
                friendly,
                group,
            } => {
                let mut args = vec![
                    t(trid),
                    list.clone(),
                    version.clone(),
                    account.clone(),
                    urlenc::encode(friendly),
                ];
                args.extend(group.clone());
                cmd("ADD", args)
            }
            Reply::XfrSb { trid, address, cookie } => cmd(
                "XFR",
                vec![t(trid), "SB".into(), address.clone(), "CKI".into(), cookie.clone()],
            ),
            Reply::Rng {
                session,
                address,
                cookie,
                caller,
                friendly,
            } => cmd(
                "RNG",
                vec![
                    session.clone(),
                    address.clone(),
                    "CKI".into(),
                    cookie.clone(),
                    caller.clone(),
                    urlenc::encode(friendly),
                ],
            ),
            Reply::Not { payload } => payload_cmd("NOT", vec![], payload.clone()),
            Reply::Out { reason } => cmd("OUT", reason.iter().cloned().collect()),
            Reply::Qng => cmd("QNG", vec![]),
            Reply::Sbs => cmd("SBS", vec!["0".into(), "null".into()]),
            Reply::Error { code, trid } => error(*code, *trid),
            Reply::Other(c) => c.clone(),
        }
    }
}

super::message!(Request, crate::wire::Direction::ClientToServer);
super::message!(Reply, crate::wire::Direction::ServerToClient);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::assert_round_trips;
    use crate::wire::{Decoder, Direction};

    const D: Option<Dialect> = Some(Dialect::Msnp7);

    fn decode(dir: Direction, line: &[u8]) -> Command {
        let mut d = Decoder::new(dir);
        d.push(line);
        d.next_command().unwrap().expect("one command")
    }

    /// Every request shape: built, it reads back as itself, and as the bytes given.
    #[test]
    fn requests_round_trip() {
        let cases: Vec<(&[u8], Request)> = vec![
            (
                b"VER 1 MSNP7 CVR0\r\n",
                Request::Ver {
                    trid: 1,
                    offered: vec!["MSNP7".into(), "CVR0".into()],
                },
            ),
            (b"INF 2\r\n", Request::Inf { trid: 2 }),
            (
                b"USR 3 MD5 I a@b.com\r\n",
                Request::Usr {
                    trid: 3,
                    auth: UsrRequest::Md5Initial {
                        account: "a@b.com".into(),
                    },
                },
            ),
            (
                b"USR 4 MD5 S 0123abcd\r\n",
                Request::Usr {
                    trid: 4,
                    auth: UsrRequest::Md5Proof {
                        proof: "0123abcd".into(),
                    },
                },
            ),
            (
                b"SYN 5 0\r\n",
                Request::Syn {
                    trid: 5,
                    version: "0".into(),
                },
            ),
            (
                b"CHG 6 NLN\r\n",
                Request::Chg {
                    trid: 6,
                    status: "NLN".into(),
                    capabilities: None,
                },
            ),
            (b"CHL 7\r\n", Request::Chl { trid: 7 }),
            (
                b"QRY 8 app@x.com 4\r\nabcd",
                Request::Qry {
                    trid: 8,
                    id: "app@x.com".into(),
                    digest: b"abcd".to_vec(),
                },
            ),
            (
                b"ADD 9 FL c@d.com Carol%20C\r\n",
                Request::Add {
                    trid: 9,
                    list: "FL".into(),
                    account: "c@d.com".into(),
                    name: Some("Carol C".into()),
                    group: None,
                },
            ),
            (
                b"XFR 10 SB\r\n",
                Request::Xfr {
                    trid: 10,
                    kind: "SB".into(),
                },
            ),
            (b"PNG\r\n", Request::Png),
            (b"OUT\r\n", Request::Out),
            (
                b"ZZZ 11\r\n",
                Request::Unknown {
                    trid: 11,
                    name: "ZZZ".into(),
                },
            ),
        ];
        assert_round_trips(cases);
        let twn: Vec<(&[u8], Request)> = vec![
            (
                b"USR 3 TWN I alice@example.com\r\n",
                Request::Usr {
                    trid: 3,
                    auth: UsrRequest::TwnInitial {
                        account: "alice@example.com".into(),
                    },
                },
            ),
            (
                b"USR 4 TWN S t=Oq3K&p=Fz9r\r\n",
                Request::Usr {
                    trid: 4,
                    auth: UsrRequest::TwnTicket {
                        ticket: "t=Oq3K&p=Fz9r".into(),
                    },
                },
            ),
        ];
        assert_round_trips(twn);
        let odd = decode(Direction::ClientToServer, b"USR 3 MD5 X a@b.com\r\n");
        assert!(matches!(
            Request::parse(&odd, D),
            Request::Usr {
                auth: UsrRequest::Other,
                ..
            }
        ));
        let no_trid = decode(Direction::ClientToServer, b"SYN\r\n");
        assert_eq!(Request::parse(&no_trid, D), Request::NoTrid { name: "SYN".into() });
    }

    #[test]
    fn replies_round_trip() {
        let cases: Vec<(&[u8], Reply)> = vec![
            (
                b"VER 1 MSNP7\r\n",
                Reply::Ver {
                    trid: 1,
                    versions: vec!["MSNP7".into()],
                },
            ),
            (
                b"INF 2 MD5\r\n",
                Reply::Inf {
                    trid: 2,
                    methods: vec!["MD5".into()],
                },
            ),
            (
                b"USR 3 MD5 S 1013928519.693957190\r\n",
                Reply::UsrSalt {
                    trid: 3,
                    salt: "1013928519.693957190".into(),
                },
            ),
            (
                b"USR 4 OK a@b.com Alice%20A 1\r\n",
                Reply::UsrOk {
                    trid: 4,
                    account: "a@b.com".into(),
                    friendly: Some("Alice A".into()),
                },
            ),
            (
                b"MSG Hotmail Hotmail 2\r\nhi",
                Reply::Hotmail {
                    payload: b"hi".to_vec(),
                },
            ),
            (
                b"LST 5 FL 3 1 2 c@d.com Carol 0\r\n",
                Reply::Lst(Lst {
                    trid: 5,
                    list: "FL".into(),
                    version: "3".into(),
                    index: 1,
                    total: 2,
                    member: Some(LstMember {
                        account: "c@d.com".into(),
                        friendly: "Carol".into(),
                        groups: Some("0".into()),
                    }),
                }),
            ),
            (
                b"LST 5 RL 3 0 0\r\n",
                Reply::Lst(Lst {
                    trid: 5,
                    list: "RL".into(),
                    version: "3".into(),
                    index: 0,
                    total: 0,
                    member: None,
                }),
            ),
            (
                b"ILN 6 NLN c@d.com Carol\r\n",
                Reply::Iln {
                    trid: 6,
                    status: "NLN".into(),
                    account: "c@d.com".into(),
                    friendly: "Carol".into(),
                },
            ),
            (
                b"NLN BSY c@d.com Carol\r\n",
                Reply::Nln {
                    status: "BSY".into(),
                    account: "c@d.com".into(),
                    friendly: "Carol".into(),
                },
            ),
            (
                b"FLN c@d.com\r\n",
                Reply::Fln {
                    account: "c@d.com".into(),
                },
            ),
            (
                b"CHL 0 12345\r\n",
                Reply::Chl {
                    trid: 0,
                    challenge: "12345".into(),
                },
            ),
            (b"QRY 7\r\n", Reply::Qry { trid: 7 }),
            (
                b"ADD 8 FL 4 c@d.com Carol 0\r\n",
                Reply::Add {
                    trid: 8,
                    list: "FL".into(),
                    version: "4".into(),
                    account: "c@d.com".into(),
                    friendly: "Carol".into(),
                    group: Some("0".into()),
                },
            ),
            (
                b"XFR 9 SB 127.0.0.1:1864 CKI 17262740.1050826919.32308\r\n",
                Reply::XfrSb {
                    trid: 9,
                    address: "127.0.0.1:1864".into(),
                    cookie: "17262740.1050826919.32308".into(),
                },
            ),
            (
                b"RNG 11752013 127.0.0.1:1864 CKI 849102291.520491113 a@b.com Alice\r\n",
                Reply::Rng {
                    session: "11752013".into(),
                    address: "127.0.0.1:1864".into(),
                    cookie: "849102291.520491113".into(),
                    caller: "a@b.com".into(),
                    friendly: "Alice".into(),
                },
            ),
            (
                b"NOT 3\r\n<N>",
                Reply::Not {
                    payload: b"<N>".to_vec(),
                },
            ),
            (
                b"OUT OTH\r\n",
                Reply::Out {
                    reason: Some("OTH".into()),
                },
            ),
            (b"OUT\r\n", Reply::Out { reason: None }),
            (b"911 4\r\n", Reply::Error { code: 911, trid: 4 }),
            (
                b"USR 3 TWN S lc=1033,id=507,ct=1,tpf=9f86\r\n",
                Reply::UsrTwnChallenge {
                    trid: 3,
                    challenge: "lc=1033,id=507,ct=1,tpf=9f86".into(),
                },
            ),
        ];
        assert_round_trips(cases);
    }

    #[test]
    fn error_replies_have_three_digits() {
        assert_eq!(error(200, 0).encode(), b"200 0\r\n");
        assert_eq!(error(911, 12).encode(), b"911 12\r\n");
    }
}
