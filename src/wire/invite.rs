//! MIME-style `MSG` payloads and `text/x-msmsgsinvite` session invitations (msnp.md §a.4, §f).
//!
//! Parsing is lenient because real senders differ (§f.2); encoding is strict and always
//! produces the canonical layout the official client sent.

use std::fmt;

use super::{WireError, MAX_SB_PAYLOAD};

const INVITE_TYPE: &str = "text/x-msmsgsinvite";
const INVITE_HEADER: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n";

/// `Name: value` lines of a header block or invitation body. CR LF and bare LF both end a
/// line; lines without ':' or with an empty name carry nothing usable and are skipped.
/// Only the one separator space after ':' is dropped (msnp.md §f.2 allows it): values
/// are application data, and their own leading or trailing blanks must arrive intact.
fn fields(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            let value = value.strip_prefix(' ').unwrap_or(value);
            (!name.is_empty()).then(|| (name.to_string(), value.to_string()))
        })
        .collect()
}

/// A `MSG` payload: header lines, an empty line, then an opaque body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MimeMessage {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl MimeMessage {
    /// Headers end at the first empty line; without one, the whole payload is headers.
    pub fn parse(payload: &[u8]) -> Result<MimeMessage, WireError> {
        let (head, body) = split_head(payload);
        let head = std::str::from_utf8(head).map_err(|_| WireError::NotUtf8)?;
        Ok(MimeMessage {
            headers: fields(head),
            body: body.to_vec(),
        })
    }

    /// Case-insensitive lookup; the first occurrence wins.
    pub fn header(&self, name: &str) -> Option<&str> {
        lookup(&self.headers, name)
    }

    /// `Content-Type` without parameters, lower-cased (`text/x-msmsgsinvite`).
    pub fn media_type(&self) -> Option<String> {
        let ct = self.header("Content-Type")?;
        let media = ct.split(';').next().unwrap_or_default().trim();
        Some(media.to_ascii_lowercase())
    }
}

/// Splits `payload` into the header block and the body after the first empty line.
fn split_head(payload: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < payload.len() {
        let end = payload[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(payload.len(), |i| pos + i);
        let line = &payload[pos..end];
        if line.is_empty() || line == b"\r" {
            let body_start = (end + 1).min(payload.len());
            return (&payload[..pos], &payload[body_start..]);
        }
        pos = end + 1;
    }
    (payload, &[])
}

fn lookup<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The `Invitation-Command` value. Compared case-insensitively because senders vary
/// (`Invite` in Twisted's tests); `Context` is this project's context-data message (§f.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvitationCommand {
    Invite,
    Accept,
    Cancel,
    Context,
    /// Any other value, upper-cased.
    Other(String),
}

impl InvitationCommand {
    pub fn parse(s: &str) -> InvitationCommand {
        let upper = s.trim().to_ascii_uppercase();
        match upper.as_str() {
            "INVITE" => InvitationCommand::Invite,
            "ACCEPT" => InvitationCommand::Accept,
            "CANCEL" => InvitationCommand::Cancel,
            "CONTEXT" => InvitationCommand::Context,
            _ => InvitationCommand::Other(upper),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            InvitationCommand::Invite => "INVITE",
            InvitationCommand::Accept => "ACCEPT",
            InvitationCommand::Cancel => "CANCEL",
            InvitationCommand::Context => "CONTEXT",
            InvitationCommand::Other(s) => s,
        }
    }
}

impl fmt::Display for InvitationCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Key: Value` fields of an invitation body, in wire order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InviteMessage {
    pub fields: Vec<(String, String)>,
}

impl InviteMessage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`push`](Self::push).
    pub fn field(mut self, name: &str, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Appends a field; order is preserved on the wire.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.fields.push((name.to_string(), value.into()));
    }

    /// Case-insensitive lookup; with duplicates the first wins (§f.2).
    pub fn get(&self, name: &str) -> Option<&str> {
        lookup(&self.fields, name)
    }

    /// Like [`get`](Self::get), but a missing field is an error.
    pub fn require(&self, name: &'static str) -> Result<&str, WireError> {
        self.get(name).ok_or(WireError::MissingField(name))
    }

    pub fn command(&self) -> Option<InvitationCommand> {
        self.get("Invitation-Command").map(InvitationCommand::parse)
    }

    /// The cookie as a token: surrounding blanks are not part of it.
    pub fn cookie(&self) -> Option<&str> {
        self.get("Invitation-Cookie").map(str::trim)
    }

    /// A whole `MSG` payload, which must be `text/x-msmsgsinvite` (parameters ignored).
    pub fn parse_payload(payload: &[u8]) -> Result<InviteMessage, WireError> {
        let mime = MimeMessage::parse(payload)?;
        if mime.media_type().as_deref() != Some(INVITE_TYPE) {
            return Err(WireError::NotAnInvitation);
        }
        Self::parse_body(&mime.body)
    }

    /// Just the `Key: Value` lines. Blank lines and lines without ':' are skipped, so a
    /// missing final empty line is fine.
    pub fn parse_body(body: &[u8]) -> Result<InviteMessage, WireError> {
        let body = std::str::from_utf8(body).map_err(|_| WireError::NotUtf8)?;
        Ok(InviteMessage { fields: fields(body) })
    }

    /// The canonical payload: MIME header, one `Name: value` CR LF per field, an empty line.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut out = INVITE_HEADER.to_vec();
        for (name, value) in &self.fields {
            let has_break = |s: &str| s.contains(['\r', '\n']);
            if name.is_empty() || name.contains(':') || has_break(name) || has_break(value) {
                return Err(WireError::BadField(name.clone()));
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if out.len() > MAX_SB_PAYLOAD {
            return Err(WireError::PayloadTooLarge {
                len: out.len(),
                limit: MAX_SB_PAYLOAD,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::read_fixture;
    use proptest::prelude::*;

    const SESSION: &str = "{B3D5E6F7-1111-2222-3333-444455556666}";
    const APP_GUID: &str = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";

    fn probe(name: &str) -> Vec<u8> {
        read_fixture(&format!("invitations/{name}"))
    }

    #[test]
    fn probe_invite_parses_and_reencodes_exactly() {
        let bytes = probe("probe_invite.bin");
        let msg = InviteMessage::parse_payload(&bytes).unwrap();
        assert_eq!(msg.command(), Some(InvitationCommand::Invite));
        assert_eq!(msg.cookie(), Some("1234567"));
        assert_eq!(msg.get("application-guid"), Some(APP_GUID));
        assert_eq!(msg.get("Session-ID"), Some(SESSION));
        assert_eq!(msg.get("Context-Data"), Some("hello-context"));

        let built = InviteMessage::new()
            .field("Application-Name", "Lock and Key Test App")
            .field("Application-GUID", APP_GUID)
            .field("Invitation-Command", "INVITE")
            .field("Invitation-Cookie", "1234567")
            .field("Session-ID", SESSION)
            .field("Session-Protocol", "SM1")
            .field("Context-Data", "hello-context");
        assert_eq!(built, msg);
        assert_eq!(built.encode().unwrap(), bytes);
    }

    #[test]
    fn probe_accept_keeps_colon_in_value() {
        let bytes = probe("probe_accept_invitee.bin");
        let msg = InviteMessage::parse_payload(&bytes).unwrap();
        assert_eq!(msg.command(), Some(InvitationCommand::Accept));
        assert_eq!(msg.cookie(), Some("1234567"));
        assert_eq!(msg.get("Session-ID"), Some(SESSION));
        assert_eq!(msg.get("Request-Data"), Some("IP-Address:"));

        let mut built = InviteMessage::new();
        built.push("Invitation-Command", "ACCEPT");
        built.push("Invitation-Cookie", "1234567");
        built.push("Session-ID", SESSION);
        built.push("Launch-Application", "FALSE");
        built.push("Request-Data", "IP-Address:");
        assert_eq!(built.encode().unwrap(), bytes);
    }

    #[test]
    fn probe_cancel() {
        let bytes = probe("probe_cancel_reject.bin");
        let msg = InviteMessage::parse_payload(&bytes).unwrap();
        assert_eq!(msg.command(), Some(InvitationCommand::Cancel));
        assert_eq!(msg.cookie(), Some("1234567"));
        assert_eq!(msg.get("Cancel-Code"), Some("REJECT"));
        assert_eq!(msg.get("Session-ID"), None);
        assert_eq!(msg.require("Session-ID"), Err(WireError::MissingField("Session-ID")));
        let built = InviteMessage::new()
            .field("Invitation-Command", "CANCEL")
            .field("Invitation-Cookie", "1234567")
            .field("Cancel-Code", "REJECT");
        assert_eq!(built.encode().unwrap(), bytes);
    }

    #[test]
    fn body_only_voice_style_accept() {
        let body = b"Invitation-Command: ACCEPT\r\n\
            Context-Data: Requested:SIP_A,;Capabilities:SIP_A,;\r\n\
            Invitation-Cookie: 918273\r\n\
            Session-ID: {6F1C2B3A-0D4E-4F50-8A61-7B8C9DAEBF00}\r\n\
            Session-Protocol: SM1\r\n\
            Conn-Type: IP-Restrict-NAT\r\n\
            Sip-Capability: 1\r\n\
            Private-IP: 192.168.7.20\r\n\
            UPnP: FALSE\r\n\
            Launch-Application: TRUE\r\n\
            Request-Data: IP-Address:\r\n\
            IP-Address: 192.168.7.20:9134\r\n\
            IP-Address-Enc64: MTkyLjE2OC43LjIwOjkxMzQ=";
        let msg = InviteMessage::parse_body(body).unwrap();
        assert_eq!(msg.fields.len(), 13);
        assert_eq!(msg.command(), Some(InvitationCommand::Accept));
        assert_eq!(msg.cookie(), Some("918273"));
        assert_eq!(msg.get("context-data"), Some("Requested:SIP_A,;Capabilities:SIP_A,;"));
        assert_eq!(msg.get("IP-Address"), Some("192.168.7.20:9134"));
        assert_eq!(msg.get("IP-Address-Enc64"), Some("MTkyLjE2OC43LjIwOjkxMzQ="));
        // Without a MIME header it is not a payload.
        assert_eq!(InviteMessage::parse_payload(body), Err(WireError::NotAnInvitation));
    }

    #[test]
    fn lenient_payloads() {
        // Lower-case names and command, lower-case GUID, no MIME-Version, content type in
        // another case, bare LF, no final empty line, odd spacing, a line without ':'.
        let payload = b"content-type: Text/X-MSMSGSINVITE;charset=utf-8\n\n\
            invitation-command: invite\n\
            application-guid: {02d3c01f-bf30-4825-a83a-de7af41648aa}\n\
            garbage line\n\
            : orphan value\n\
            Invitation-Cookie:42\n\
            Invitation-Cookie: 43\n\
            Application-Name:   Spaced   \n\
            Application-File: \xe6\x96\x87\xe4\xbb\xb6.txt";
        let msg = InviteMessage::parse_payload(payload).unwrap();
        assert_eq!(msg.command(), Some(InvitationCommand::Invite));
        let guid = msg.get("Application-GUID").unwrap();
        assert!(guid.eq_ignore_ascii_case("{02D3C01F-BF30-4825-A83A-DE7AF41648AA}"));
        assert_eq!(msg.cookie(), Some("42"));
        // Values keep their own blanks; only the separator space goes.
        assert_eq!(msg.get("APPLICATION-NAME"), Some("  Spaced   "));
        assert_eq!(msg.get("Application-File"), Some("文件.txt"));
        assert_eq!(msg.fields.len(), 6);
    }

    #[test]
    fn invitation_commands() {
        use InvitationCommand::*;
        for (s, c) in [
            ("INVITE", Invite),
            ("Invite", Invite),
            ("accept", Accept),
            ("Cancel", Cancel),
            ("context", Context),
            ("Frob", Other("FROB".into())),
        ] {
            assert_eq!(InvitationCommand::parse(s), c);
            assert_eq!(c.as_str(), s.to_ascii_uppercase());
            assert_eq!(c.to_string(), s.to_ascii_uppercase());
        }
    }

    #[test]
    fn other_content_types_are_refused() {
        let chat = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi";
        assert_eq!(InviteMessage::parse_payload(chat), Err(WireError::NotAnInvitation));
        assert_eq!(InviteMessage::parse_payload(b""), Err(WireError::NotAnInvitation));
        let bad_body = b"Content-Type: text/x-msmsgsinvite\r\n\r\nA: \xff\r\n";
        assert_eq!(InviteMessage::parse_payload(bad_body), Err(WireError::NotUtf8));
    }

    #[test]
    fn mime_message_parsing() {
        let m = MimeMessage::parse(
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial\r\n\r\nhello\r\n\r\nworld",
        )
        .unwrap();
        assert_eq!(m.headers.len(), 3);
        assert_eq!(m.header("content-TYPE"), Some("text/plain; charset=UTF-8"));
        assert_eq!(m.media_type().as_deref(), Some("text/plain"));
        assert_eq!(m.body, b"hello\r\n\r\nworld");

        let no_blank = MimeMessage::parse(b"Content-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.c").unwrap();
        assert_eq!(no_blank.header("TypingUser"), Some("a@b.c"));
        assert!(no_blank.body.is_empty());

        let bare_lf = MimeMessage::parse(b"A: 1\n\nbody\n").unwrap();
        assert_eq!(bare_lf.header("a"), Some("1"));
        assert_eq!(bare_lf.body, b"body\n");

        let binary_body = MimeMessage::parse(b"A: 1\r\n\r\n\xff\x00").unwrap();
        assert_eq!(binary_body.body, b"\xff\x00");
        assert_eq!(binary_body.media_type(), None);
        assert_eq!(MimeMessage::parse(b"A: \xff\r\n\r\n"), Err(WireError::NotUtf8));
    }

    #[test]
    fn encode_refuses_unencodable_fields() {
        let one = |n: &str, v: &str| InviteMessage::new().field(n, v).encode();
        assert_eq!(
            one("Context-Data", "a\r\nb"),
            Err(WireError::BadField("Context-Data".into()))
        );
        assert_eq!(
            one("Context-Data", "a\nb"),
            Err(WireError::BadField("Context-Data".into()))
        );
        assert_eq!(one("Bad:Name", "x"), Err(WireError::BadField("Bad:Name".into())));
        assert_eq!(one("Bad\rName", "x"), Err(WireError::BadField("Bad\rName".into())));
        assert_eq!(one("", "x"), Err(WireError::BadField(String::new())));
        assert!(one("Context-Data", "colons: fine; IP:1234").is_ok());
    }

    #[test]
    fn encode_enforces_the_switchboard_limit() {
        // MIME header + "Context-Data: " + value + CR LF + closing CR LF.
        let overhead = INVITE_HEADER.len() + "Context-Data: ".len() + 4;
        let fits = "x".repeat(MAX_SB_PAYLOAD - overhead);
        let exact = InviteMessage::new()
            .field("Context-Data", fits.clone())
            .encode()
            .unwrap();
        assert_eq!(exact.len(), MAX_SB_PAYLOAD);
        let over = InviteMessage::new().field("Context-Data", fits + "x").encode();
        assert_eq!(
            over,
            Err(WireError::PayloadTooLarge {
                len: MAX_SB_PAYLOAD + 1,
                limit: MAX_SB_PAYLOAD
            })
        );
    }

    #[test]
    fn encode_parse_round_trip() {
        let msg = InviteMessage::new()
            .field("Invitation-Command", "CONTEXT")
            .field("Invitation-Cookie", "77")
            .field("Context-Data", "héllo: wörld");
        let parsed = InviteMessage::parse_payload(&msg.encode().unwrap()).unwrap();
        assert_eq!(parsed, msg);
        assert_eq!(parsed.command(), Some(InvitationCommand::Context));
    }

    /// Invitation-like payloads: header and field pieces, line breaks, colons, a truncated
    /// UTF-8 sequence, mixed with short runs of random bytes; half of them after a valid
    /// header block, so that they parse and their fields get exercised too.
    fn invite_like_payload() -> impl Strategy<Value = Vec<u8>> {
        const PIECES: &[&[u8]] = &[
            b"Content-Type: text/x-msmsgsinvite\r\n",
            b"\r\n",
            b"\n",
            b"\r",
            b":",
            b"Invitation-Command: ",
            b"INVITE",
            b" ",
            b"\xc3",
        ];
        let piece = prop_oneof![
            prop::sample::select(PIECES).prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..6),
        ];
        let header = prop_oneof![Just(&b""[..]), Just(&b"Content-Type: text/x-msmsgsinvite\r\n\r\n"[..])];
        (header, prop::collection::vec(piece, 0..10)).prop_map(|(header, pieces)| [header, &pieces.concat()].concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Parsing never panics, and whatever parses and re-encodes parses back the same.
        #[test]
        fn random_payloads_never_panic(payload in invite_like_payload()) {
            if let Ok(msg) = InviteMessage::parse_payload(&payload) {
                let _ = msg.command();
                if let Ok(encoded) = msg.encode() {
                    prop_assert_eq!(InviteMessage::parse_payload(&encoded), Ok(msg));
                }
            }
            let _ = InviteMessage::parse_body(&payload);
            let _ = MimeMessage::parse(&payload).map(|m| m.media_type());
        }
    }
}
