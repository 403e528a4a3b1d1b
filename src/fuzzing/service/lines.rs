//! The dictionary: command lines in the shapes MSNP7–12 clients send, on notification
//! and switchboard connections, with arguments drawn from small sets that include the
//! malformed, and answers built from what the connection was told (salts, challenges,
//! cookies) so that they can be right.

use super::{Run, USERS};
use crate::fuzzing::Input;
use crate::proto::{ping_pairs, ping_response};
use crate::service::contact_guid;
use crate::testkit::{ALICE, APP, GUID, KEY};
use crate::wire::challenge::md5_response;
use crate::wire::{urlenc, InviteMessage};

const VERSIONS: [&str; 8] = [
    "MSNP7 CVR0",
    "MSNP8 CVR0",
    "MSNP9 MSNP8 CVR0",
    "MSNP12 MSNP11 MSNP10 MSNP9 MSNP8 MSNP7 CVR0",
    "MSNP11",
    "MSNP13 CVR0",
    "CVR0",
    "MSNP10 MSNP10",
];
const STATUSES: [&str; 10] = ["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN", "FLN", "XXX"];
const CAPABILITIES: [&str; 4] = ["0", "1073741824", "268435456", "x"];
const LISTS: [&str; 5] = ["FL", "AL", "BL", "RL", "XL"];
const ACKS: [&str; 6] = ["U", "N", "A", "D", "S", "X"];
const VERSION_NUMBERS: [&str; 4] = ["0", "1", "4294967296", "2001-10-25T00:00:00.0000000-00:00"];

impl Run {
    /// Lines for `slot`'s connection, with their payloads: mostly one; sometimes
    /// several, and blank lines, so that one read carries a whole exchange.
    pub(super) fn lines(&mut self, input: &mut Input, slot: usize) -> Vec<u8> {
        if input.below(8) != 0 {
            return self.line(input, slot);
        }
        let mut bytes = Vec::new();
        for _ in 0..input.below(4) + 2 {
            if input.below(8) == 0 {
                bytes.extend_from_slice(b"\r\n");
            } else {
                bytes.extend(self.line(input, slot));
            }
        }
        bytes
    }

    fn line(&mut self, input: &mut Input, slot: usize) -> Vec<u8> {
        let t = self.trid_arg(input);
        let user = input.pick(&USERS);
        let line = match input.below(31) {
            0 => format!("VER {t} {}", input.pick(&VERSIONS)),
            1 => format!("CVR {t} 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 msmsgs {user}"),
            2 => format!("INF {t}"),
            3 => format!("USR {t} MD5 I {user}"),
            4 => {
                let salt = self.slots[slot].salt.clone().unwrap_or_default();
                format!("USR {t} MD5 S {}", md5_response(&salt, "pw"))
            }
            5 => format!("USR {t} TWN I {user}"),
            6 => format!(
                "USR {t} TWN S {}",
                self.passport.clone().unwrap_or_else(|| "t=x&p=y".into())
            ),
            7 => match input.below(3) {
                0 => format!("SYN {t} {}", input.pick(&VERSION_NUMBERS)),
                1 => format!(
                    "SYN {t} {} {}",
                    input.pick(&VERSION_NUMBERS),
                    input.pick(&VERSION_NUMBERS)
                ),
                _ => "SYN".to_string(),
            },
            8 => {
                let mut line = format!("CHG {t} {}", input.pick(&STATUSES));
                if input.flag() {
                    line = format!("{line} {}", input.pick(&CAPABILITIES));
                    if input.flag() {
                        line.push_str(" %3Cmsnobj%20Creator%3D%22alice%40example.com%22%2F%3E");
                    }
                }
                line
            }
            9 => format!("CHL {t}"),
            10 | 11 => return self.qry(input, slot, &t),
            12 => format!("ADD {t} {} {user} {}", input.pick(&LISTS), name(input)),
            13 => format!("ADC {t} {} N={user} F={}", input.pick(&LISTS), name(input)),
            14 => format!("ADC {t} {} N={user}", input.pick(&LISTS)),
            15 => format!("ADC {t} FL C={} {GUID}", self.guid(slot, user)),
            16 => format!("REM {t} {} {user}", input.pick(&LISTS)),
            17 => format!("REM {t} FL {}", self.guid(slot, user)),
            18 => format!("GTC {t} {}", input.pick(&["A", "N", "X"])),
            19 => format!("BLP {t} {}", input.pick(&["AL", "BL", "XX"])),
            20 => format!("PRP {t} {} {}", input.pick(&["MFN", "MBE", "PHH"]), name(input)),
            21 => format!("REA {t} {user} {}", name(input)),
            22 => return payload_command(&format!("UUX {t}"), &psm(input)),
            23 => format!("GCF {t} {}", input.pick(&["Shields.xml", "Other.xml"])),
            24 => format!("XFR {t} {}", input.pick(&["SB", "NS"])),
            25 => input.pick(&["PNG", "OUT", "ZZZ 1", "BLP"]).to_string(),
            // The switchboard's.
            26 => format!("USR {t} {user} {}", self.any_cookie(input)),
            27 => {
                let (session, cookie) = self.any_rng(input);
                format!("ANS {t} {user} {cookie} {session}")
            }
            28 => format!("CAL {t} {user}"),
            _ => {
                let ack = input.pick(&ACKS);
                return payload_command(&format!("MSG {t} {ack}"), &message(input));
            }
        };
        let end = if input.below(8) == 0 { "\n" } else { "\r\n" };
        format!("{line}{end}").into_bytes()
    }

    /// Mostly the next TrID; sometimes one out of range or none.
    fn trid_arg(&mut self, input: &mut Input) -> String {
        match input.below(16) {
            0 => "0".to_string(),
            1 => "4294967296".to_string(),
            2 => "x".to_string(),
            _ => self.trid().to_string(),
        }
    }

    /// `QRY`: the right answer to the last ping or app challenge, or a wrong one.
    fn qry(&mut self, input: &mut Input, slot: usize, t: &str) -> Vec<u8> {
        let s = &self.slots[slot];
        let (id, digest) = match (input.below(4), &s.ping, &s.requested) {
            (0, Some(ping), _) => {
                let pairs = ping_pairs(s.dialect);
                let (id, key) = pairs[input.below(pairs.len())];
                (id.to_string(), ping_response(s.dialect, ping, id, key))
            }
            (1, _, Some(challenge)) => (APP.to_string(), md5_response(challenge, KEY)),
            (2, _, _) => (APP.to_string(), "0".repeat(32)),
            _ => (
                input.pick(&["msmsgs@msnmsgr.com", "PROD0090YUAUV{2B", APP]).to_string(),
                "short".to_string(),
            ),
        };
        payload_command(&format!("QRY {t} {id}"), digest.as_bytes())
    }

    /// The contact GUID `slot`'s user has for `contact` (MSNP10+), or a made-up one.
    fn guid(&self, slot: usize, contact: &str) -> String {
        let owner = self.slots[slot].user.as_deref().unwrap_or(ALICE);
        contact_guid(owner, contact)
    }

    fn any_cookie(&self, input: &mut Input) -> String {
        let s = &self.slots[input.below(self.slots.len())];
        s.cookie.clone().unwrap_or_else(|| "0123456789abcdef0123".to_string())
    }

    fn any_rng(&self, input: &mut Input) -> (String, String) {
        let s = &self.slots[input.below(self.slots.len())];
        s.rng.clone().unwrap_or_else(|| ("1".to_string(), "c".to_string()))
    }
}

fn payload_command(head: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{head} {}\r\n", payload.len()).into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// A friendly name as a parameter: encoded, malformed escapes, over-long, or chosen.
fn name(input: &mut Input) -> String {
    match input.below(8) {
        0 => "Alice".to_string(),
        1 => "A%20B".to_string(),
        2 => "%".to_string(),
        3 => "%zz%0D%0A".to_string(),
        4 => "x".repeat(130),
        5 => "caf%C3%A9".to_string(),
        _ => {
            let text = urlenc::encode(&input.text());
            if text.is_empty() {
                "-".to_string()
            } else {
                text
            }
        }
    }
}

/// A `UUX` payload: a personal message, a malformed one, an over-long one.
fn psm(input: &mut Input) -> Vec<u8> {
    match input.below(4) {
        0 | 1 => format!("<Data><PSM>{}</PSM><CurrentMedia></CurrentMedia></Data>", input.text()).into_bytes(),
        2 => format!("<Data>{}</Data>", "x".repeat(1100)).into_bytes(),
        _ => input.chunk().to_vec(),
    }
}

/// A switchboard message: chat, typing, an invitation, a datacast, an oversized one,
/// or bytes.
fn message(input: &mut Input) -> Vec<u8> {
    let mime = |kind: &str, body: &str| format!("MIME-Version: 1.0\r\nContent-Type: {kind}\r\n\r\n{body}").into_bytes();
    match input.below(7) {
        0 => mime("text/plain; charset=UTF-8", &input.text()),
        1 => mime("text/x-msmsgscontrol", "TypingUser: alice@example.com\r\n\r\n"),
        2 | 3 => {
            let command = input.pick(&["INVITE", "ACCEPT", "CANCEL", "CONTEXT"]);
            InviteMessage::new()
                .field("Application-GUID", GUID)
                .field("Invitation-Command", command)
                .field("Invitation-Cookie", input.byte().to_string())
                .field("Session-ID", "{B3D5E6F7-1111-2222-3333-444455556666}")
                .field("Context-Data", input.text())
                .encode()
                .unwrap_or_default()
        }
        4 => mime("text/x-msmsgsdatacast", "ID: 1\r\n\r\n"),
        5 => mime("text/plain", &"x".repeat(1700)),
        _ => input.chunk().to_vec(),
    }
}
