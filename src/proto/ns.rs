//! The notification server's messages, typed: one parse and one build for each command
//! the engines use (as mini-redis's `cmd/` does), in both directions. The service parses
//! [`Request`]s and builds [`Reply`]s; the client builds the first and parses the second.
//!
//! Parsing is total: a line that is not what a variant needs becomes
//! [`Request::Unknown`] or [`Reply::Other`], and missing parameters read as empty, so a
//! handler decides what a short line means. Where a dialect changes a shape
//! (msnp8-12.md §a.2), the `Dialect` argument says which; one variant covers every
//! dialect and its build writes the fields that dialect has.
//!
//! Friendly names are URL-decoded here and URL-encoded on the way out (msnp.md §a.2),
//! except in the commands whose reply must echo the name byte for byte (`ADC`, `PRP`,
//! msnp8-12.md §d.8): those carry it as sent. E-mail addresses and tokens travel raw.

use crate::wire::{urlenc, Command};

use super::groups::{GroupReply, GroupRequest};
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
    /// `SYN <t> <list version>`, from MSNP10 `SYN <t> <list version> <settings version>`.
    Syn {
        trid: u32,
        version: String,
        settings: Option<String>,
    },
    /// `CHG <t> <status> [<capabilities> [<msn object>]]`.
    Chg(Chg),
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
    /// `ADD <t> <list> <account> [<name> [<group>]]` (up to MSNP9).
    Add {
        trid: u32,
        list: String,
        account: String,
        name: Option<String>,
        group: Option<String>,
    },
    /// `ADC <t> <list> N=… [F=…]` or `ADC <t> FL C=… <group>` (MSNP10+).
    Adc(Adc),
    /// `REM <t> <list> <account or contact GUID> [<group>]`.
    Rem {
        trid: u32,
        list: String,
        target: String,
        group: Option<String>,
    },
    /// `GTC <t> A|N`: ask before others add me, or not.
    Gtc {
        trid: u32,
        setting: String,
    },
    /// `BLP <t> AL|BL`: who may see me when on no list.
    Blp {
        trid: u32,
        setting: String,
    },
    /// `PRP <t> <property> <value>` (MSNP10+; `MFN` is the friendly name), value as sent.
    Prp {
        trid: u32,
        property: String,
        value: String,
    },
    /// `REA <t> <account> <name>` (up to MSNP9: a rename), name as sent.
    Rea {
        trid: u32,
        account: String,
        name: String,
    },
    /// `UUX <t> <n>` + `<Data><PSM>…</PSM>…</Data>` (MSNP11+).
    Uux {
        trid: u32,
        payload: Vec<u8>,
    },
    /// `GCF <t> <file>` (MSNP11, 12: the feature policy, `Shields.xml`).
    Gcf {
        trid: u32,
        file: String,
    },
    /// `XFR <t> SB`.
    Xfr {
        trid: u32,
        kind: String,
    },
    /// `ADG`, `RMG`, `REG`.
    Group(GroupRequest),
    /// `SBP <t> <contact GUID> <property> <value>` (MSNP10+: `MFN` is the name the user
    /// keeps for a contact), value as sent.
    Sbp {
        trid: u32,
        guid: String,
        property: String,
        value: String,
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

/// `CHG`, both ways: the status set, and what the client says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chg {
    pub trid: u32,
    pub status: String,
    /// Client capabilities, a decimal bit field (MSNP8+, msnp8-12.md §f.2).
    pub capabilities: Option<String>,
    /// The URL-encoded MSN object (display picture, MSNP9+), as sent.
    pub msnobj: Option<String>,
}

/// One user's presence as `ILN`/`NLN` tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    pub status: String,
    pub account: String,
    pub friendly: String,
    /// MSNP8+.
    pub capabilities: Option<String>,
    /// MSNP9+, URL-encoded as the contact sent it.
    pub msnobj: Option<String>,
}

/// `ADC` (MSNP10+), request and reply alike: `N=` account, `F=` name (as sent),
/// `C=` contact GUID, and a group GUID for the group form.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Adc {
    pub trid: u32,
    pub list: String,
    pub account: Option<String>,
    pub friendly: Option<String>,
    pub guid: Option<String>,
    pub group: Option<String>,
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
    /// `XFR <t> NS <host:port> 0 <current>`: sign in at another notification server.
    XfrNs {
        trid: u32,
        address: String,
    },
    /// `SBS 0 null`, after `USR … OK` from MSNP11 (its meaning is unknown; clients ignore it).
    Sbs,
    /// `MSG Hotmail Hotmail <n>` + a `text/x-msmsgsprofile` or mail notification.
    Hotmail {
        payload: Vec<u8>,
    },
    /// The list download's first line: `SYN <t> <version>` (MSNP7),
    /// `SYN <t> <version> <contacts> <groups>` (MSNP8, 9),
    /// `SYN <t> <version> <settings version> <contacts> <groups>` (MSNP10+).
    Syn {
        trid: u32,
        versions: Vec<String>,
        /// How many `LST` and `LSG` lines follow (MSNP8+).
        counts: Option<(usize, usize)>,
    },
    /// `GTC <t> <version> A` (MSNP7, and MSNP8/9 replies), `GTC <t> A` (MSNP10+
    /// replies), `GTC A` (inside an MSNP8+ `SYN`).
    Gtc(Setting),
    /// As [`Reply::Gtc`], for `BLP`.
    Blp(Setting),
    /// `PRP <t> <property> <value>`, or without TrID inside `SYN`; value as sent.
    Prp {
        trid: Option<u32>,
        /// The list version, in an MSNP8/9 reply to a phone number (`PRP <t> <v> PHH …`).
        version: Option<String>,
        property: String,
        value: String,
    },
    /// A contact's phone number or mobile setting: `BPR <type> <value>` after its `LST`
    /// in a list download; `BPR <version> <account> <type> <value>` (MSNP8, 9) or `BPR
    /// <account> <type> <value>` (MSNP10+) when it changes. Value as sent.
    Bpr {
        version: Option<String>,
        account: Option<String>,
        property: String,
        value: String,
    },
    /// A group: `LSG <t> <ver> <index> <total> <id> <name> 0` (MSNP7),
    /// `LSG <id> <name> 0` (MSNP8, 9), `LSG <name> <guid>` (MSNP10+).
    Lsg {
        trid: u32,
        version: String,
        index: usize,
        total: usize,
        id: String,
        name: String,
    },
    /// MSNP7's `LST`, one line per member of one list.
    Lst(Lst),
    /// MSNP8+'s `LST`, one line per contact with the lists it is on as bits.
    Contact(ListEntry),
    Chg(Chg),
    /// `ILN <t> …`: a contact's presence at sign-in or when added.
    Iln {
        trid: u32,
        presence: Presence,
    },
    /// `NLN …`: a contact changed status, name or picture.
    Nln(Presence),
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
    /// `ADD <t> <list> <ver> <account> <friendly> [<group>]` (up to MSNP9).
    Add {
        trid: u32,
        list: String,
        version: String,
        account: String,
        friendly: String,
        group: Option<String>,
    },
    /// `ADC` (MSNP10+).
    Adc(Adc),
    /// `REM <t> <list> [<ver>] <target> [<group>]`: the list version up to MSNP9.
    Rem {
        trid: u32,
        list: String,
        version: Option<String>,
        target: String,
        group: Option<String>,
    },
    /// `REA <t> <ver> <account> <name>` (up to MSNP9), name as sent.
    Rea {
        trid: u32,
        version: String,
        account: String,
        name: String,
    },
    /// `UUX <t> 0`: the personal message was taken.
    Uux {
        trid: u32,
    },
    /// The answer to `ADG`, `RMG`, `REG`.
    Group(GroupReply),
    /// `SBP <t> <contact GUID> <property> <value>`: the request echoed.
    Sbp {
        trid: u32,
        guid: String,
        property: String,
        value: String,
    },
    /// `UBX <account> <n>` + a contact's `<Data>` (MSNP11+).
    Ubx {
        account: String,
        payload: Vec<u8>,
    },
    /// `GCF <t> <file> <n>` + the file.
    Gcf {
        trid: u32,
        file: String,
        payload: Vec<u8>,
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
    /// `OUT [<reason> [<minutes>]]`.
    Out {
        reason: Option<String>,
    },
    /// `QNG`, from MSNP9 `QNG <seconds until the next PNG>`.
    Qng {
        seconds: Option<u32>,
    },
    /// `<code> <t>`.
    Error {
        code: u16,
        trid: u32,
    },
    Other(Command),
}

/// A `GTC` or `BLP` value in whichever of its three shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub trid: Option<u32>,
    pub version: Option<String>,
    pub value: String,
}

/// One MSNP7 `LST` line: a list's members one per line, or a single line for an empty list.
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

/// One MSNP8+ `LST` line: `LST <account> <name> <lists> [<groups>]` (MSNP8, 9),
/// `LST N=<account> F=<name> [C=<guid>] <lists> [<groups>]` (MSNP10, 11), and MSNP12's
/// network id (1, MSN) after the lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    pub account: String,
    pub friendly: String,
    /// The contact's GUID (MSNP10+), only for forward-list contacts.
    pub guid: Option<String>,
    /// [`LIST_FL`] | [`LIST_AL`] | [`LIST_BL`] | [`LIST_RL`] | [`LIST_PL`].
    pub lists: u8,
    pub groups: Option<String>,
}

/// The statuses a user may set with `CHG` (msnp.md §b.9); `FLN` is the service's to say.
pub const STATUSES: [&str; 8] = ["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN"];

pub const LIST_FL: u8 = 1;
pub const LIST_AL: u8 = 2;
pub const LIST_BL: u8 = 4;
pub const LIST_RL: u8 = 8;
pub const LIST_PL: u8 = 16;

/// From MSNP10 the friendly name leaves `USR … OK` for `PRP MFN` in the list download.
fn names_in_syn(dialect: Option<Dialect>) -> bool {
    at_least(dialect, Dialect::Msnp10)
}

/// Whether the connection's dialect is `d` or newer.
pub fn at_least(dialect: Option<Dialect>, d: Dialect) -> bool {
    dialect.is_some_and(|x| x >= d)
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

/// The value after `prefix` in the first parameter from `from` that has it.
fn prefixed(c: &Command, from: usize, prefix: &str) -> Option<String> {
    c.args
        .iter()
        .skip(from)
        .find_map(|a| a.strip_prefix(prefix).map(str::to_string))
}

impl Adc {
    /// Parameters from `from` on: `N=`, `F=`, `C=` in any order, then the group GUID.
    fn parse(c: &Command, trid: u32) -> Adc {
        Adc {
            trid,
            list: arg(c, 1).to_string(),
            account: prefixed(c, 2, "N="),
            friendly: prefixed(c, 2, "F="),
            guid: prefixed(c, 2, "C="),
            group: c.args.iter().skip(2).find(|a| !a.contains('=')).cloned(),
        }
    }

    fn to_command(&self) -> Command {
        let mut args = vec![digits(self.trid), self.list.clone()];
        args.extend(self.account.as_ref().map(|a| format!("N={a}")));
        args.extend(self.friendly.as_ref().map(|f| format!("F={f}")));
        args.extend(self.guid.as_ref().map(|g| format!("C={g}")));
        args.extend(self.group.clone());
        cmd("ADC", args)
    }
}

impl Chg {
    fn parse(c: &Command, trid: u32) -> Chg {
        Chg {
            trid,
            status: arg(c, 1).to_string(),
            capabilities: opt_arg(c, 2),
            msnobj: opt_arg(c, 3),
        }
    }

    /// What a connection of `dialect` may be told: no capabilities before MSNP8, no
    /// MSN object before MSNP9.
    fn args(&self, dialect: Option<Dialect>) -> Vec<String> {
        let mut args = vec![digits(self.trid), self.status.clone()];
        extend_client_fields(&mut args, dialect, &self.capabilities, &self.msnobj);
        args
    }
}

/// Capabilities (MSNP8+, 0 when unknown) and an MSN object (MSNP9+, when there is one).
fn extend_client_fields(
    args: &mut Vec<String>,
    dialect: Option<Dialect>,
    caps: &Option<String>,
    msnobj: &Option<String>,
) {
    if dialect.is_none() {
        // A message built without a dialect keeps whatever it holds.
        args.extend(caps.clone());
        args.extend(msnobj.clone());
        return;
    }
    if at_least(dialect, Dialect::Msnp8) {
        args.push(caps.clone().unwrap_or_else(|| "0".into()));
        if at_least(dialect, Dialect::Msnp9) {
            args.extend(msnobj.clone());
        }
    }
}

impl Presence {
    /// From parameter `at`: status, account, name, then capabilities and MSN object.
    fn parse(c: &Command, at: usize) -> Presence {
        Presence {
            status: arg(c, at).to_string(),
            account: arg(c, at + 1).to_string(),
            friendly: urlenc::decode(arg(c, at + 2)),
            capabilities: opt_arg(c, at + 3),
            msnobj: opt_arg(c, at + 4),
        }
    }

    fn args(&self, dialect: Option<Dialect>) -> Vec<String> {
        let mut args = vec![
            self.status.clone(),
            self.account.clone(),
            urlenc::encode(&self.friendly),
        ];
        extend_client_fields(&mut args, dialect, &self.capabilities, &self.msnobj);
        args
    }
}

impl Setting {
    /// `GTC A`, `GTC <t> A` or `GTC <t> <ver> A`, told apart by their length.
    fn parse(c: &Command) -> Setting {
        match c.args.len() {
            0 | 1 => Setting {
                trid: None,
                version: None,
                value: arg(c, 0).to_string(),
            },
            2 => Setting {
                trid: c.trid(),
                version: None,
                value: arg(c, 1).to_string(),
            },
            _ => Setting {
                trid: c.trid(),
                version: opt_arg(c, 1),
                value: arg(c, 2).to_string(),
            },
        }
    }

    fn to_command(&self, name: &str) -> Command {
        let mut args: Vec<String> = self.trid.iter().map(digits).collect();
        args.extend(self.version.clone());
        args.push(self.value.clone());
        cmd(name, args)
    }
}

impl ListEntry {
    fn parse(c: &Command, dialect: Option<Dialect>) -> ListEntry {
        if !at_least(dialect, Dialect::Msnp10) {
            return ListEntry {
                account: arg(c, 0).to_string(),
                friendly: urlenc::decode(arg(c, 1)),
                guid: None,
                lists: arg(c, 2).parse().unwrap_or(0),
                groups: opt_arg(c, 3),
            };
        }
        // After the N=/F=/C= fields: the lists, MSNP12's network id, the groups.
        let bare: Vec<&String> = c.args.iter().filter(|a| !a.contains('=')).collect();
        let groups_at = if at_least(dialect, Dialect::Msnp12) { 2 } else { 1 };
        ListEntry {
            account: prefixed(c, 0, "N=").unwrap_or_default(),
            friendly: urlenc::decode(&prefixed(c, 0, "F=").unwrap_or_default()),
            guid: prefixed(c, 0, "C="),
            lists: bare.first().and_then(|b| b.parse().ok()).unwrap_or(0),
            groups: bare.get(groups_at).map(|g| g.to_string()),
        }
    }

    fn to_command(&self, dialect: Option<Dialect>) -> Command {
        let name = urlenc::encode(&self.friendly);
        let mut args = if at_least(dialect, Dialect::Msnp10) {
            let mut a = vec![format!("N={}", self.account), format!("F={name}")];
            // The GUID only for forward-list contacts (Escargot, R2M; msnp11-sdk needs it).
            a.extend(
                self.guid
                    .iter()
                    .filter(|_| self.lists & LIST_FL != 0)
                    .map(|g| format!("C={g}")),
            );
            a.push(digits(self.lists));
            if at_least(dialect, Dialect::Msnp12) {
                a.push("1".into());
            }
            a
        } else {
            vec![self.account.clone(), name, digits(self.lists)]
        };
        args.extend(self.groups.clone().filter(|_| self.lists & LIST_FL != 0));
        cmd("LST", args)
    }
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
        if let Some(group) = GroupRequest::parse(c, trid) {
            return Request::Group(group);
        }
        let rest = || c.args.iter().skip(1).cloned().collect::<Vec<_>>();
        let text = |i: usize| arg(c, i).to_string();
        match c.name.as_str() {
            "VER" => Request::Ver { trid, offered: rest() },
            "CVR" => Request::Cvr { trid, fields: rest() },
            "INF" => Request::Inf { trid },
            "USR" => {
                let auth = match (arg(c, 1), arg(c, 2), c.args.len()) {
                    ("MD5", "I", 4) => UsrRequest::Md5Initial { account: text(3) },
                    ("MD5", "S", 4) => UsrRequest::Md5Proof { proof: text(3) },
                    ("TWN", "I", 4) => UsrRequest::TwnInitial { account: text(3) },
                    ("TWN", "S", 4) => UsrRequest::TwnTicket { ticket: text(3) },
                    _ => UsrRequest::Other,
                };
                Request::Usr { trid, auth }
            }
            "SYN" => Request::Syn {
                trid,
                version: text(1),
                settings: opt_arg(c, 2),
            },
            "CHG" => Request::Chg(Chg::parse(c, trid)),
            "CHL" => Request::Chl { trid },
            "QRY" => Request::Qry {
                trid,
                id: text(1),
                digest: c.payload.clone().unwrap_or_default(),
            },
            "ADD" => Request::Add {
                trid,
                list: text(1),
                account: text(2),
                name: opt_arg(c, 3).map(|n| urlenc::decode(&n)),
                group: opt_arg(c, 4),
            },
            "ADC" => Request::Adc(Adc::parse(c, trid)),
            "REM" => Request::Rem {
                trid,
                list: text(1),
                target: text(2),
                group: opt_arg(c, 3),
            },
            "GTC" => Request::Gtc { trid, setting: text(1) },
            "BLP" => Request::Blp { trid, setting: text(1) },
            "PRP" => Request::Prp {
                trid,
                property: text(1),
                value: text(2),
            },
            "REA" => Request::Rea {
                trid,
                account: text(1),
                name: text(2),
            },
            "UUX" => Request::Uux {
                trid,
                payload: c.payload.clone().unwrap_or_default(),
            },
            "GCF" => Request::Gcf { trid, file: text(1) },
            "XFR" => Request::Xfr { trid, kind: text(1) },
            "SBP" => Request::Sbp {
                trid,
                guid: text(1),
                property: text(2),
                value: text(3),
            },
            _ => Request::Unknown {
                trid,
                name: c.name.clone(),
            },
        }
    }

    pub fn to_command(&self, dialect: Option<Dialect>) -> Command {
        match self {
            Request::Group(group) => group.to_command(dialect),
            Request::Ver { trid, offered } => cmd("VER", [vec![digits(trid)], offered.clone()].concat()),
            Request::Cvr { trid, fields } => cmd("CVR", [vec![digits(trid)], fields.clone()].concat()),
            Request::Inf { trid } => cmd("INF", vec![digits(trid)]),
            Request::Usr { trid, auth } => {
                let mut args = vec![digits(trid)];
                let (method, step, value) = match auth {
                    UsrRequest::Md5Initial { account } => ("MD5", "I", account),
                    UsrRequest::Md5Proof { proof } => ("MD5", "S", proof),
                    UsrRequest::TwnInitial { account } => ("TWN", "I", account),
                    UsrRequest::TwnTicket { ticket } => ("TWN", "S", ticket),
                    UsrRequest::Other => return cmd("USR", args),
                };
                args.extend([method.to_string(), step.to_string(), value.clone()]);
                cmd("USR", args)
            }
            Request::Syn {
                trid,
                version,
                settings,
            } => {
                let mut args = vec![digits(trid), version.clone()];
                args.extend(settings.clone());
                cmd("SYN", args)
            }
            Request::Chg(chg) => {
                let mut args = vec![digits(chg.trid), chg.status.clone()];
                args.extend(chg.capabilities.clone());
                args.extend(chg.msnobj.clone());
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
            Request::Adc(adc) => adc.to_command(),
            Request::Rem {
                trid,
                list,
                target,
                group,
            } => {
                let mut args = vec![digits(trid), list.clone(), target.clone()];
                args.extend(group.clone());
                cmd("REM", args)
            }
            Request::Gtc { trid, setting } => cmd("GTC", vec![digits(trid), setting.clone()]),
            Request::Blp { trid, setting } => cmd("BLP", vec![digits(trid), setting.clone()]),
            Request::Prp { trid, property, value } => cmd("PRP", vec![digits(trid), property.clone(), value.clone()]),
            Request::Rea { trid, account, name } => cmd("REA", vec![digits(trid), account.clone(), name.clone()]),
            Request::Uux { trid, payload } => payload_cmd("UUX", vec![digits(trid)], payload.clone()),
            Request::Gcf { trid, file } => cmd("GCF", vec![digits(trid), file.clone()]),
            Request::Xfr { trid, kind } => cmd("XFR", vec![digits(trid), kind.clone()]),
            Request::Sbp {
                trid,
                guid,
                property,
                value,
            } => cmd("SBP", vec![digits(trid), guid.clone(), property.clone(), value.clone()]),
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
        let raw = |i: usize| arg(c, i).to_string();
        let rest = || c.args.iter().skip(1).cloned().collect::<Vec<_>>();
        let payload = || c.payload.clone().unwrap_or_default();
        let count = |i: usize| arg(c, i).parse::<usize>().unwrap_or(0);
        if let Some(group) = GroupReply::parse(c, dialect) {
            return Reply::Group(group);
        }
        match (c.name.as_str(), arg(c, 1)) {
            ("VER", _) => Reply::Ver { trid, versions: rest() },
            ("CVR", _) => Reply::Cvr { trid, fields: rest() },
            ("INF", _) => Reply::Inf { trid, methods: rest() },
            ("USR", "MD5") if arg(c, 2) == "S" => Reply::UsrSalt { trid, salt: raw(3) },
            ("USR", "TWN") if arg(c, 2) == "S" => Reply::UsrTwnChallenge {
                trid,
                challenge: raw(3),
            },
            ("USR", "OK") => Reply::UsrOk {
                trid,
                account: raw(2),
                friendly: (!names_in_syn(dialect)).then(|| text(3)),
            },
            ("XFR", "NS") => Reply::XfrNs { trid, address: raw(2) },
            ("SBS", _) => Reply::Sbs,
            ("MSG", _) if arg(c, 0) == HOTMAIL && c.payload.is_some() => Reply::Hotmail { payload: payload() },
            ("SYN", _) => {
                // The versions are what comes before the two counts (MSNP8+).
                let counted = at_least(dialect, Dialect::Msnp8) && c.args.len() >= 4;
                let versions_end = if counted { c.args.len() - 2 } else { c.args.len() };
                Reply::Syn {
                    trid,
                    versions: c.args[1.min(c.args.len())..versions_end].to_vec(),
                    counts: counted.then(|| (count(versions_end), count(versions_end + 1))),
                }
            }
            ("GTC", _) => Reply::Gtc(Setting::parse(c)),
            ("BLP", _) => Reply::Blp(Setting::parse(c)),
            ("PRP", _) => {
                // `PRP MFN <name>` in a list download, `PRP <t> MFN <name>` as a reply,
                // `PRP <t> <version> PHH <number>` as an MSNP8/9 reply to a phone number.
                let at = usize::from(c.trid().is_some() && c.args.len() >= 3);
                let versioned = at == 1 && c.args.len() >= 4 && arg(c, 1).bytes().all(|b| b.is_ascii_digit());
                let at = at + usize::from(versioned);
                Reply::Prp {
                    trid: (at >= 1).then_some(trid),
                    version: versioned.then(|| raw(1)),
                    property: raw(at),
                    value: raw(at + 1),
                }
            }
            ("BPR", _) => {
                let n = c.args.len();
                Reply::Bpr {
                    version: (n >= 4).then(|| raw(0)),
                    account: (n >= 3).then(|| raw(n - 3)),
                    property: raw(n.saturating_sub(2)),
                    value: raw(n.saturating_sub(1)),
                }
            }
            ("LSG", _) if !at_least(dialect, Dialect::Msnp8) => Reply::Lsg {
                trid,
                version: raw(1),
                index: count(2),
                total: count(3),
                id: raw(4),
                name: text(5),
            },
            ("LSG", _) if !at_least(dialect, Dialect::Msnp10) => Reply::Lsg {
                trid: 0,
                version: String::new(),
                index: 0,
                total: 0,
                id: raw(0),
                name: text(1),
            },
            ("LSG", _) => Reply::Lsg {
                trid: 0,
                version: String::new(),
                index: 0,
                total: 0,
                id: raw(1),
                name: text(0),
            },
            ("LST", _) if at_least(dialect, Dialect::Msnp8) => Reply::Contact(ListEntry::parse(c, dialect)),
            ("LST", _) => Reply::Lst(Lst {
                trid,
                list: raw(1),
                version: raw(2),
                index: count(3),
                total: count(4),
                member: (c.args.len() >= 7).then(|| LstMember {
                    account: raw(5),
                    friendly: text(6),
                    groups: opt_arg(c, 7),
                }),
            }),
            ("CHG", _) => Reply::Chg(Chg::parse(c, trid)),
            ("ILN", _) => Reply::Iln {
                trid,
                presence: Presence::parse(c, 1),
            },
            ("NLN", _) => Reply::Nln(Presence::parse(c, 0)),
            ("FLN", _) => Reply::Fln { account: raw(0) },
            ("CHL", _) => Reply::Chl {
                trid,
                challenge: raw(1),
            },
            ("QRY", _) => Reply::Qry { trid },
            ("ADD", _) => Reply::Add {
                trid,
                list: raw(1),
                version: raw(2),
                account: raw(3),
                friendly: text(4),
                group: opt_arg(c, 5),
            },
            ("ADC", _) => Reply::Adc(Adc::parse(c, trid)),
            ("REM", _) => {
                // Up to MSNP9 the list version comes first; some servers write N=.
                let (version, at) = if at_least(dialect, Dialect::Msnp10) {
                    (None, 2)
                } else {
                    (opt_arg(c, 2), 3)
                };
                Reply::Rem {
                    trid,
                    list: raw(1),
                    version,
                    target: arg(c, at).trim_start_matches("N=").to_string(),
                    group: opt_arg(c, at + 1),
                }
            }
            ("REA", _) => Reply::Rea {
                trid,
                version: raw(1),
                account: raw(2),
                name: raw(3),
            },
            ("UUX", _) => Reply::Uux { trid },
            ("SBP", _) => Reply::Sbp {
                trid,
                guid: raw(1),
                property: raw(2),
                value: raw(3),
            },
            ("UBX", _) => Reply::Ubx {
                account: raw(0),
                payload: payload(),
            },
            ("GCF", _) => Reply::Gcf {
                trid,
                file: raw(1),
                payload: payload(),
            },
            ("XFR", "SB") => Reply::XfrSb {
                trid,
                address: raw(2),
                cookie: raw(4),
            },
            ("RNG", _) => Reply::Rng {
                session: raw(0),
                address: raw(1),
                cookie: raw(3),
                caller: raw(4),
                friendly: text(5),
            },
            ("NOT", _) if c.payload.is_some() => Reply::Not { payload: payload() },
            ("OUT", _) => Reply::Out { reason: opt_arg(c, 0) },
            ("QNG", _) => Reply::Qng {
                seconds: c.args.first().and_then(|s| s.parse().ok()),
            },
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
                if at_least(dialect, Dialect::Msnp8) {
                    args.push("0".into());
                }
                cmd("USR", args)
            }
            Reply::XfrNs { trid, address } => cmd(
                "XFR",
                vec![t(trid), "NS".into(), address.clone(), "0".into(), address.clone()],
            ),
            Reply::Sbs => cmd("SBS", vec!["0".into(), "null".into()]),
            Reply::Hotmail { payload } => payload_cmd("MSG", vec![HOTMAIL.into(), HOTMAIL.into()], payload.clone()),
            Reply::Syn { trid, versions, counts } => {
                let mut args = vec![t(trid)];
                args.extend(versions.iter().cloned());
                if let Some((contacts, groups)) = counts {
                    args.extend([digits(contacts), digits(groups)]);
                }
                cmd("SYN", args)
            }
            Reply::Gtc(s) => s.to_command("GTC"),
            Reply::Blp(s) => s.to_command("BLP"),
            Reply::Prp {
                trid,
                version,
                property,
                value,
            } => {
                let mut args: Vec<String> = trid.iter().map(digits).collect();
                args.extend(version.clone());
                args.push(property.clone());
                // A number cleared has no value field.
                args.extend(Some(value.clone()).filter(|v| !v.is_empty()));
                cmd("PRP", args)
            }
            Reply::Bpr {
                version,
                account,
                property,
                value,
            } => {
                let mut args: Vec<String> = version.iter().chain(account).cloned().collect();
                args.push(property.clone());
                args.extend(Some(value.clone()).filter(|v| !v.is_empty()));
                cmd("BPR", args)
            }
            Reply::Lsg {
                trid,
                version,
                index,
                total,
                id,
                name,
            } => {
                let name = urlenc::encode(name);
                let args = if at_least(dialect, Dialect::Msnp10) {
                    vec![name, id.clone()]
                } else if at_least(dialect, Dialect::Msnp8) {
                    vec![id.clone(), name, "0".into()]
                } else {
                    vec![
                        t(trid),
                        version.clone(),
                        digits(index),
                        digits(total),
                        id.clone(),
                        name,
                        "0".into(),
                    ]
                };
                cmd("LSG", args)
            }
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
            Reply::Contact(entry) => entry.to_command(dialect),
            Reply::Chg(chg) => cmd("CHG", chg.args(dialect)),
            Reply::Iln { trid, presence } => cmd("ILN", [vec![t(trid)], presence.args(dialect)].concat()),
            Reply::Nln(presence) => cmd("NLN", presence.args(dialect)),
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
            Reply::Adc(adc) => adc.to_command(),
            Reply::Rem {
                trid,
                list,
                version,
                target,
                group,
            } => {
                let mut args = vec![t(trid), list.clone()];
                args.extend(version.clone());
                args.push(target.clone());
                args.extend(group.clone());
                cmd("REM", args)
            }
            Reply::Rea {
                trid,
                version,
                account,
                name,
            } => cmd("REA", vec![t(trid), version.clone(), account.clone(), name.clone()]),
            Reply::Uux { trid } => cmd("UUX", vec![t(trid), "0".into()]),
            Reply::Group(group) => group.to_command(dialect),
            Reply::Sbp {
                trid,
                guid,
                property,
                value,
            } => cmd("SBP", vec![t(trid), guid.clone(), property.clone(), value.clone()]),
            Reply::Ubx { account, payload } => payload_cmd("UBX", vec![account.clone()], payload.clone()),
            Reply::Gcf { trid, file, payload } => payload_cmd("GCF", vec![t(trid), file.clone()], payload.clone()),
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
            Reply::Qng { seconds } => cmd("QNG", seconds.iter().map(digits).collect()),
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
    use crate::proto::{assert_round_trips, assert_round_trips_in};
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
                    settings: None,
                },
            ),
            (
                b"CHG 6 NLN\r\n",
                Request::Chg(Chg {
                    trid: 6,
                    status: "NLN".into(),
                    capabilities: None,
                    msnobj: None,
                }),
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
                    presence: presence("NLN", None, None),
                },
            ),
            (b"NLN BSY c@d.com Carol\r\n", Reply::Nln(presence("BSY", None, None))),
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

    fn presence(status: &str, caps: Option<&str>, msnobj: Option<&str>) -> Presence {
        Presence {
            status: status.into(),
            account: "c@d.com".into(),
            friendly: "Carol".into(),
            capabilities: caps.map(Into::into),
            msnobj: msnobj.map(Into::into),
        }
    }

    fn entry(account: &str, friendly: &str, guid: Option<&str>, lists: u8, groups: Option<&str>) -> Reply {
        Reply::Contact(ListEntry {
            account: account.into(),
            friendly: friendly.into(),
            guid: guid.map(Into::into),
            lists,
            groups: groups.map(Into::into),
        })
    }

    /// The shapes of msnp8-12.md, dialect by dialect, byte for byte.
    #[test]
    fn msnp8_and_9_shapes_round_trip() {
        for d in [Dialect::Msnp8, Dialect::Msnp9] {
            let obj = (d == Dialect::Msnp9).then_some("%3Cmsnobj%2F%3E");
            let iln: &[u8] = if obj.is_some() {
                b"ILN 6 NLN c@d.com Carol 268435500 %3Cmsnobj%2F%3E\r\n"
            } else {
                b"ILN 6 NLN c@d.com Carol 268435500\r\n"
            };
            let cases: Vec<(&[u8], Reply)> = vec![
                (
                    b"USR 4 OK alice@example.com Alice%20A. 1 0\r\n",
                    Reply::UsrOk {
                        trid: 4,
                        account: "alice@example.com".into(),
                        friendly: Some("Alice A.".into()),
                    },
                ),
                (
                    b"SYN 5 12 2 1\r\n",
                    Reply::Syn {
                        trid: 5,
                        versions: vec!["12".into()],
                        counts: Some((2, 1)),
                    },
                ),
                (
                    b"GTC A\r\n",
                    Reply::Gtc(Setting {
                        trid: None,
                        version: None,
                        value: "A".into(),
                    }),
                ),
                (
                    b"BLP 10 14 BL\r\n",
                    Reply::Blp(Setting {
                        trid: Some(10),
                        version: Some("14".into()),
                        value: "BL".into(),
                    }),
                ),
                (
                    b"LSG 0 Other%20Contacts 0\r\n",
                    Reply::Lsg {
                        trid: 0,
                        version: String::new(),
                        index: 0,
                        total: 0,
                        id: "0".into(),
                        name: "Other Contacts".into(),
                    },
                ),
                (
                    b"LST bob@example.com Bob 11 0\r\n",
                    entry("bob@example.com", "Bob", None, 11, Some("0")),
                ),
                (
                    b"LST carol@example.com Carol 8\r\n",
                    entry("carol@example.com", "Carol", None, 8, None),
                ),
                (
                    iln,
                    Reply::Iln {
                        trid: 6,
                        presence: presence("NLN", Some("268435500"), obj),
                    },
                ),
                (
                    b"REM 30 FL 19 bob@example.com\r\n",
                    Reply::Rem {
                        trid: 30,
                        list: "FL".into(),
                        version: Some("19".into()),
                        target: "bob@example.com".into(),
                        group: None,
                    },
                ),
                (
                    b"REA 11 15 alice@example.com Alice%20A.\r\n",
                    Reply::Rea {
                        trid: 11,
                        version: "15".into(),
                        account: "alice@example.com".into(),
                        name: "Alice%20A.".into(),
                    },
                ),
            ];
            assert_round_trips_in(d, cases);
        }
        assert_round_trips_in(Dialect::Msnp8, vec![(&b"QNG\r\n"[..], Reply::Qng { seconds: None })]);
        assert_round_trips_in(
            Dialect::Msnp9,
            vec![(&b"QNG 60\r\n"[..], Reply::Qng { seconds: Some(60) })],
        );
    }

    #[test]
    fn msnp10_to_12_shapes_round_trip() {
        const GUID: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
        for d in [Dialect::Msnp10, Dialect::Msnp11, Dialect::Msnp12] {
            let bob: &[u8] = if d == Dialect::Msnp12 {
                b"LST N=bob@example.com F=Bob C=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 11 1\r\n"
            } else {
                b"LST N=bob@example.com F=Bob C=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 11\r\n"
            };
            let carol: &[u8] = if d == Dialect::Msnp12 {
                b"LST N=carol@example.com F=Carol 10 1\r\n"
            } else {
                b"LST N=carol@example.com F=Carol 10\r\n"
            };
            let cases: Vec<(&[u8], Reply)> = vec![
                (
                    b"USR 4 OK alice@example.com 1 0\r\n",
                    Reply::UsrOk {
                        trid: 4,
                        account: "alice@example.com".into(),
                        friendly: None,
                    },
                ),
                (
                    b"SYN 5 2005-04-23T18:57:44.8130000-07:00 2005-04-23T18:57:54.2070000-07:00 2 0\r\n",
                    Reply::Syn {
                        trid: 5,
                        versions: vec![
                            "2005-04-23T18:57:44.8130000-07:00".into(),
                            "2005-04-23T18:57:54.2070000-07:00".into(),
                        ],
                        counts: Some((2, 0)),
                    },
                ),
                (
                    b"GTC 9 N\r\n",
                    Reply::Gtc(Setting {
                        trid: Some(9),
                        version: None,
                        value: "N".into(),
                    }),
                ),
                (
                    b"PRP MFN Alice%20A.\r\n",
                    Reply::Prp {
                        trid: None,
                        version: None,
                        property: "MFN".into(),
                        value: "Alice%20A.".into(),
                    },
                ),
                (
                    b"PRP 11 MFN Alice%21\r\n",
                    Reply::Prp {
                        trid: Some(11),
                        version: None,
                        property: "MFN".into(),
                        value: "Alice%21".into(),
                    },
                ),
                (
                    b"LSG Friends 3c9d5a1e-2f4b-4e8a-9b7c-1d2e3f4a5b6c\r\n",
                    Reply::Lsg {
                        trid: 0,
                        version: String::new(),
                        index: 0,
                        total: 0,
                        id: "3c9d5a1e-2f4b-4e8a-9b7c-1d2e3f4a5b6c".into(),
                        name: "Friends".into(),
                    },
                ),
                (bob, entry("bob@example.com", "Bob", Some(GUID), 11, None)),
                (carol, entry("carol@example.com", "Carol", None, 10, None)),
                (
                    b"ADC 23 FL N=bob@example.com F=Bob C=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\r\n",
                    Reply::Adc(Adc {
                        trid: 23,
                        list: "FL".into(),
                        account: Some("bob@example.com".into()),
                        friendly: Some("Bob".into()),
                        guid: Some(GUID.into()),
                        group: None,
                    }),
                ),
                (
                    b"ADC 0 RL N=bob@example.com F=Bob\r\n",
                    Reply::Adc(Adc {
                        trid: 0,
                        list: "RL".into(),
                        account: Some("bob@example.com".into()),
                        friendly: Some("Bob".into()),
                        ..Adc::default()
                    }),
                ),
                (
                    b"REM 30 FL 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\r\n",
                    Reply::Rem {
                        trid: 30,
                        list: "FL".into(),
                        version: None,
                        target: GUID.into(),
                        group: None,
                    },
                ),
                (b"SBS 0 null\r\n", Reply::Sbs),
                (b"UUX 8 0\r\n", Reply::Uux { trid: 8 }),
                (
                    b"UBX bob@example.com 7\r\n<Data/>",
                    Reply::Ubx {
                        account: "bob@example.com".into(),
                        payload: b"<Data/>".to_vec(),
                    },
                ),
                (
                    b"GCF 6 Shields.xml 9\r\n<config/>",
                    Reply::Gcf {
                        trid: 6,
                        file: "Shields.xml".into(),
                        payload: b"<config/>".to_vec(),
                    },
                ),
                (
                    b"NLN AWY c@d.com Carol 1073791020\r\n",
                    Reply::Nln(presence("AWY", Some("1073791020"), None)),
                ),
                (
                    b"CHG 50 NLN 1073741824\r\n",
                    Reply::Chg(Chg {
                        trid: 50,
                        status: "NLN".into(),
                        capabilities: Some("1073741824".into()),
                        msnobj: None,
                    }),
                ),
            ];
            assert_round_trips_in(d, cases);
        }
        // R2M writes N= before the account of a reverse-list removal.
        let c = decode(Direction::ServerToClient, b"REM 0 RL N=bob@example.com\r\n");
        assert!(
            matches!(Reply::parse(&c, Some(Dialect::Msnp11)), Reply::Rem { target, .. } if target == "bob@example.com")
        );
    }

    #[test]
    fn msnp10_requests_round_trip() {
        let cases: Vec<(&[u8], Request)> = vec![
            (
                b"SYN 5 0 0\r\n",
                Request::Syn {
                    trid: 5,
                    version: "0".into(),
                    settings: Some("0".into()),
                },
            ),
            (
                b"ADC 23 FL N=bob@example.com F=Bob%20B\r\n",
                Request::Adc(Adc {
                    trid: 23,
                    list: "FL".into(),
                    account: Some("bob@example.com".into()),
                    friendly: Some("Bob%20B".into()),
                    ..Adc::default()
                }),
            ),
            (
                b"ADC 25 FL C=0f1e2d3c 3c9d5a1e\r\n",
                Request::Adc(Adc {
                    trid: 25,
                    list: "FL".into(),
                    guid: Some("0f1e2d3c".into()),
                    group: Some("3c9d5a1e".into()),
                    ..Adc::default()
                }),
            ),
            (
                b"REM 30 AL bob@example.com\r\n",
                Request::Rem {
                    trid: 30,
                    list: "AL".into(),
                    target: "bob@example.com".into(),
                    group: None,
                },
            ),
            (
                b"PRP 11 MFN Alice%20A.\r\n",
                Request::Prp {
                    trid: 11,
                    property: "MFN".into(),
                    value: "Alice%20A.".into(),
                },
            ),
            (
                b"UUX 8 43\r\n<Data><PSM>test</PSM><CurrentMedia/></Data>",
                Request::Uux {
                    trid: 8,
                    payload: b"<Data><PSM>test</PSM><CurrentMedia/></Data>".to_vec(),
                },
            ),
            (
                b"GCF 6 Shields.xml\r\n",
                Request::Gcf {
                    trid: 6,
                    file: "Shields.xml".into(),
                },
            ),
            (
                b"CHG 51 AWY 1073791020 %3Cmsnobj%2F%3E\r\n",
                Request::Chg(Chg {
                    trid: 51,
                    status: "AWY".into(),
                    capabilities: Some("1073791020".into()),
                    msnobj: Some("%3Cmsnobj%2F%3E".into()),
                }),
            ),
        ];
        assert_round_trips_in(Dialect::Msnp11, cases);
    }

    #[test]
    fn an_xfr_ns_redirect_reads_its_address() {
        let c = decode(Direction::ServerToClient, b"XFR 3 NS 10.0.0.5:1863 0 10.0.0.1:1863\r\n");
        assert_eq!(
            Reply::parse(&c, Some(Dialect::Msnp8)),
            Reply::XfrNs {
                trid: 3,
                address: "10.0.0.5:1863".into()
            }
        );
    }

    /// What an older dialect cannot say is left out: no capabilities before MSNP8, no
    /// MSN object before MSNP9.
    #[test]
    fn presence_is_cut_to_the_dialect() {
        let full = Reply::Nln(presence("NLN", Some("1073791020"), Some("%3Cmsnobj%2F%3E")));
        let line = |d| String::from_utf8(full.to_command(Some(d)).encode()).unwrap();
        assert_eq!(line(Dialect::Msnp7), "NLN NLN c@d.com Carol\r\n");
        assert_eq!(line(Dialect::Msnp8), "NLN NLN c@d.com Carol 1073791020\r\n");
        assert_eq!(
            line(Dialect::Msnp9),
            "NLN NLN c@d.com Carol 1073791020 %3Cmsnobj%2F%3E\r\n"
        );
        let bare = Reply::Nln(presence("NLN", None, None));
        assert_eq!(
            String::from_utf8(bare.to_command(Some(Dialect::Msnp11)).encode()).unwrap(),
            "NLN NLN c@d.com Carol 0\r\n"
        );
    }

    #[test]
    fn error_replies_have_three_digits() {
        assert_eq!(error(200, 0).encode(), b"200 0\r\n");
        assert_eq!(error(911, 12).encode(), b"911 12\r\n");
    }
}
