//! The switchboard's messages, typed (msnp.md §c): the service parses [`Request`]s and
//! builds [`Reply`]s, the client the other way round. As in [`super::ns`], parsing is
//! total and friendly names are URL-decoded here.

use crate::wire::{urlenc, Command};

use super::ns::{arg, cmd, error, error_of, payload_cmd};
use super::Dialect;

/// What a client sends on a switchboard connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `USR <t> <account> <cookie>`: opens the switchboard an `XFR` ticket promised.
    Usr {
        trid: u32,
        account: String,
        cookie: String,
    },
    /// `ANS <t> <account> <cookie> <session>`: joins the one an `RNG` named.
    Ans {
        trid: u32,
        account: String,
        cookie: String,
        session: String,
    },
    /// `CAL <t> <account>`.
    Cal {
        trid: u32,
        account: String,
    },
    /// `MSG <t> <ack type> <n>` + the message.
    Msg {
        trid: u32,
        ack: String,
        payload: Vec<u8>,
    },
    Out,
    Unknown {
        trid: u32,
        name: String,
    },
    NoTrid {
        name: String,
    },
}

/// What a switchboard sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `USR <t> OK <account> <friendly>`.
    UsrOk {
        trid: u32,
        account: String,
        friendly: String,
    },
    /// `CAL <t> RINGING <session>`.
    CalRinging {
        trid: u32,
        session: String,
    },
    /// `IRO <t> <index> <total> <account> <friendly> [<capabilities>]`: who is already
    /// there; the capabilities from MSNP12 (msnp8-12.md §j.3).
    Iro {
        trid: u32,
        index: usize,
        total: usize,
        account: String,
        friendly: String,
        capabilities: Option<String>,
    },
    /// `ANS <t> OK`.
    AnsOk {
        trid: u32,
    },
    /// `JOI <account> <friendly> [<capabilities>]` (the capabilities from MSNP12).
    Joi {
        account: String,
        friendly: String,
        capabilities: Option<String>,
    },
    /// `MSG <sender> <friendly> <n>` + the message, passed on unchanged.
    Msg {
        sender: String,
        friendly: String,
        payload: Vec<u8>,
    },
    Ack {
        trid: u32,
    },
    Nak {
        trid: u32,
    },
    /// `BYE <account>`: someone left.
    Bye {
        account: String,
        /// `BYE <account> 1`: the server dropped the member for idling.
        idled: bool,
    },
    Error {
        code: u16,
        trid: u32,
    },
    Other(Command),
}

/// Whether a connection's first command opens it as a switchboard connection: one port
/// serves both roles, and a notification client starts with `VER`.
pub fn opens_switchboard(c: &Command) -> bool {
    (c.name == "USR" && c.args.len() == 3) || c.name == "ANS"
}

impl Request {
    pub fn parse(c: &Command, _dialect: Option<Dialect>) -> Request {
        if c.name == "OUT" {
            return Request::Out;
        }
        let Some(trid) = c.trid() else {
            return Request::NoTrid { name: c.name.clone() };
        };
        let text = |i: usize| arg(c, i).to_string();
        match c.name.as_str() {
            "USR" => Request::Usr {
                trid,
                account: text(1),
                cookie: text(2),
            },
            "ANS" => Request::Ans {
                trid,
                account: text(1),
                cookie: text(2),
                session: text(3),
            },
            "CAL" => Request::Cal { trid, account: text(1) },
            "MSG" => Request::Msg {
                trid,
                ack: text(1),
                payload: c.payload.clone().unwrap_or_default(),
            },
            _ => Request::Unknown {
                trid,
                name: c.name.clone(),
            },
        }
    }

    pub fn to_command(&self, _dialect: Option<Dialect>) -> Command {
        let t = |trid: &u32| trid.to_string();
        match self {
            Request::Usr { trid, account, cookie } => cmd("USR", vec![t(trid), account.clone(), cookie.clone()]),
            Request::Ans {
                trid,
                account,
                cookie,
                session,
            } => cmd("ANS", vec![t(trid), account.clone(), cookie.clone(), session.clone()]),
            Request::Cal { trid, account } => cmd("CAL", vec![t(trid), account.clone()]),
            Request::Msg { trid, ack, payload } => payload_cmd("MSG", vec![t(trid), ack.clone()], payload.clone()),
            Request::Out => cmd("OUT", vec![]),
            Request::Unknown { trid, name } => cmd(name, vec![t(trid)]),
            Request::NoTrid { name } => cmd(name, vec![]),
        }
    }
}

impl Reply {
    pub fn parse(c: &Command, _dialect: Option<Dialect>) -> Reply {
        if let Some((code, trid)) = error_of(c) {
            return Reply::Error { code, trid };
        }
        let trid = c.trid().unwrap_or(0);
        let text = |i: usize| arg(c, i).to_string();
        let friendly = |i: usize| urlenc::decode(arg(c, i));
        match (c.name.as_str(), arg(c, 1)) {
            ("USR", "OK") => Reply::UsrOk {
                trid,
                account: text(2),
                friendly: friendly(3),
            },
            ("CAL", "RINGING") => Reply::CalRinging { trid, session: text(2) },
            ("IRO", _) => Reply::Iro {
                trid,
                index: arg(c, 1).parse().unwrap_or(0),
                total: arg(c, 2).parse().unwrap_or(0),
                account: text(3),
                friendly: friendly(4),
                capabilities: c.args.get(5).cloned(),
            },
            ("ANS", "OK") => Reply::AnsOk { trid },
            ("JOI", _) => Reply::Joi {
                account: text(0),
                friendly: friendly(1),
                capabilities: c.args.get(2).cloned(),
            },
            ("MSG", _) if c.payload.is_some() => Reply::Msg {
                sender: text(0),
                friendly: friendly(1),
                payload: c.payload.clone().unwrap_or_default(),
            },
            ("ACK", _) => Reply::Ack { trid },
            ("NAK", _) => Reply::Nak { trid },
            ("BYE", _) => Reply::Bye {
                account: text(0),
                idled: c.args.get(1).is_some_and(|a| a == "1"),
            },
            _ => Reply::Other(c.clone()),
        }
    }

    pub fn to_command(&self, _dialect: Option<Dialect>) -> Command {
        let t = |trid: &u32| trid.to_string();
        match self {
            Reply::UsrOk {
                trid,
                account,
                friendly,
            } => cmd(
                "USR",
                vec![t(trid), "OK".into(), account.clone(), urlenc::encode(friendly)],
            ),
            Reply::CalRinging { trid, session } => cmd("CAL", vec![t(trid), "RINGING".into(), session.clone()]),
            Reply::Iro {
                trid,
                index,
                total,
                account,
                friendly,
                capabilities,
            } => {
                let mut args = vec![
                    t(trid),
                    index.to_string(),
                    total.to_string(),
                    account.clone(),
                    urlenc::encode(friendly),
                ];
                args.extend(capabilities.clone());
                cmd("IRO", args)
            }
            Reply::AnsOk { trid } => cmd("ANS", vec![t(trid), "OK".into()]),
            Reply::Joi {
                account,
                friendly,
                capabilities,
            } => {
                let mut args = vec![account.clone(), urlenc::encode(friendly)];
                args.extend(capabilities.clone());
                cmd("JOI", args)
            }
            Reply::Msg {
                sender,
                friendly,
                payload,
            } => relayed_msg(sender, friendly, payload.clone()),
            Reply::Ack { trid } => cmd("ACK", vec![t(trid)]),
            Reply::Nak { trid } => cmd("NAK", vec![t(trid)]),
            Reply::Bye { account, idled } => {
                let mut args = vec![account.clone()];
                if *idled {
                    args.push("1".to_string());
                }
                cmd("BYE", args)
            }
            Reply::Error { code, trid } => error(*code, *trid),
            Reply::Other(c) => c.clone(),
        }
    }
}

/// The `MSG <sender> <friendly> <len>` a switchboard relays, taking the payload over:
/// the relay's hot path builds it without copying the payload.
pub fn relayed_msg(sender: &str, friendly: &str, payload: Vec<u8>) -> Command {
    payload_cmd("MSG", vec![sender.to_string(), urlenc::encode(friendly)], payload)
}

super::message!(Request, crate::wire::Direction::ClientToServer);
super::message!(Reply, crate::wire::Direction::ServerToClient);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::assert_round_trips;
    use crate::wire::{Decoder, Direction};

    fn decode(dir: Direction, bytes: &[u8]) -> Command {
        let mut d = Decoder::new(dir);
        d.push(bytes);
        d.next_command().unwrap().expect("one command")
    }

    #[test]
    fn requests_round_trip() {
        let cases: Vec<(&[u8], Request)> = vec![
            (
                b"USR 1 a@b.com 17262740.1050826919.32308\r\n",
                Request::Usr {
                    trid: 1,
                    account: "a@b.com".into(),
                    cookie: "17262740.1050826919.32308".into(),
                },
            ),
            (
                b"ANS 1 b@c.com 849102291.520491113 11752013\r\n",
                Request::Ans {
                    trid: 1,
                    account: "b@c.com".into(),
                    cookie: "849102291.520491113".into(),
                    session: "11752013".into(),
                },
            ),
            (
                b"CAL 2 b@c.com\r\n",
                Request::Cal {
                    trid: 2,
                    account: "b@c.com".into(),
                },
            ),
            (
                b"MSG 3 N 2\r\nhi",
                Request::Msg {
                    trid: 3,
                    ack: "N".into(),
                    payload: b"hi".to_vec(),
                },
            ),
            (b"OUT\r\n", Request::Out),
        ];
        for (bytes, typed) in &cases {
            let opens = matches!(typed, Request::Usr { .. } | Request::Ans { .. });
            assert_eq!(opens_switchboard(&decode(Direction::ClientToServer, bytes)), opens);
        }
        assert_round_trips(cases);
        assert!(!opens_switchboard(&decode(
            Direction::ClientToServer,
            b"USR 3 MD5 I a@b.com\r\n"
        )));
    }

    #[test]
    fn replies_round_trip() {
        let cases: Vec<(&[u8], Reply)> = vec![
            (
                b"USR 1 OK a@b.com Alice%20A\r\n",
                Reply::UsrOk {
                    trid: 1,
                    account: "a@b.com".into(),
                    friendly: "Alice A".into(),
                },
            ),
            (
                b"CAL 2 RINGING 11752013\r\n",
                Reply::CalRinging {
                    trid: 2,
                    session: "11752013".into(),
                },
            ),
            (
                b"IRO 1 1 2 a@b.com Alice\r\n",
                Reply::Iro {
                    trid: 1,
                    index: 1,
                    total: 2,
                    account: "a@b.com".into(),
                    friendly: "Alice".into(),
                    capabilities: None,
                },
            ),
            (
                b"IRO 1 1 1 a@b.com Alice%20A. 1073791020\r\n",
                Reply::Iro {
                    trid: 1,
                    index: 1,
                    total: 1,
                    account: "a@b.com".into(),
                    friendly: "Alice A.".into(),
                    capabilities: Some("1073791020".into()),
                },
            ),
            (b"ANS 1 OK\r\n", Reply::AnsOk { trid: 1 }),
            (
                b"JOI b@c.com Bob\r\n",
                Reply::Joi {
                    account: "b@c.com".into(),
                    friendly: "Bob".into(),
                    capabilities: None,
                },
            ),
            (
                b"JOI b@c.com Bob 1073741824\r\n",
                Reply::Joi {
                    account: "b@c.com".into(),
                    friendly: "Bob".into(),
                    capabilities: Some("1073741824".into()),
                },
            ),
            (
                b"MSG a@b.com Alice%20A 2\r\nhi",
                Reply::Msg {
                    sender: "a@b.com".into(),
                    friendly: "Alice A".into(),
                    payload: b"hi".to_vec(),
                },
            ),
            (b"ACK 4\r\n", Reply::Ack { trid: 4 }),
            (b"NAK 5\r\n", Reply::Nak { trid: 5 }),
            (
                b"BYE b@c.com\r\n",
                Reply::Bye {
                    account: "b@c.com".into(),
                    idled: false,
                },
            ),
            (
                b"BYE b@c.com 1\r\n",
                Reply::Bye {
                    account: "b@c.com".into(),
                    idled: true,
                },
            ),
            (b"217 2\r\n", Reply::Error { code: 217, trid: 2 }),
        ];
        assert_round_trips(cases);
    }
}
