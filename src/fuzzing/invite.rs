//! The `text/x-msmsgsinvite` parser ([`crate::wire::invite`]) on arbitrary bytes, read
//! three ways: a whole payload, a bare body, a MIME message.
//!
//! Checks: nothing panics; an invitation that parses encodes (with
//! [`InviteMessage::encode`], the module's builder) to a payload that parses to the same
//! fields, and when it will not encode the refusal is true; a payload parses as an
//! invitation exactly when it is a MIME message of that type whose body parses.
//! [`MimeMessage`] has no builder, so the check there is that its parts are the input's
//! (the body is the input's tail) and that the canonical `Name: value` CR LF form of its
//! headers reads back the same.

use crate::wire::{InviteMessage, MimeMessage, WireError, MAX_SB_PAYLOAD};

pub fn check(data: &[u8]) {
    let invite = InviteMessage::parse_payload(data);
    if let Ok(msg) = &invite {
        let _ = (msg.command(), msg.cookie());
        round_trips(msg);
    }
    if let Ok(msg) = InviteMessage::parse_body(data) {
        round_trips(&msg);
    }
    match MimeMessage::parse(data) {
        Ok(mime) => {
            mime_reads_back(data, &mime);
            let is_invite = mime.media_type().as_deref() == Some("text/x-msmsgsinvite");
            let expected = if is_invite {
                InviteMessage::parse_body(&mime.body)
            } else {
                Err(WireError::NotAnInvitation)
            };
            assert_eq!(invite, expected);
        }
        Err(e) => assert_eq!(invite, Err(e)),
    }
}

fn round_trips(msg: &InviteMessage) {
    match msg.encode() {
        Ok(bytes) => {
            assert!(bytes.len() <= MAX_SB_PAYLOAD);
            assert_eq!(InviteMessage::parse_payload(&bytes).as_ref(), Ok(msg), "{bytes:?}");
        }
        Err(WireError::BadField(name)) => {
            let bad = |s: &str| s.contains(['\r', '\n']);
            let refused = msg
                .fields
                .iter()
                .any(|(n, v)| *n == name && (n.is_empty() || n.contains(':') || bad(n) || bad(v)));
            assert!(refused, "{name:?} refused, but it can be encoded: {msg:?}");
        }
        Err(WireError::PayloadTooLarge { len, limit }) => {
            assert_eq!(limit, MAX_SB_PAYLOAD);
            assert!(len > limit);
        }
        Err(e) => panic!("encode failed with {e:?}"),
    }
}

fn mime_reads_back(data: &[u8], mime: &MimeMessage) {
    assert!(data.ends_with(&mime.body), "the body is not the input's tail");
    let _ = mime.media_type();
    for (name, _) in &mime.headers {
        assert!(mime.header(name).is_some(), "{name:?} cannot be looked up");
    }
    let mut canonical = Vec::new();
    for (name, value) in &mime.headers {
        canonical.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    canonical.extend_from_slice(b"\r\n");
    canonical.extend_from_slice(&mime.body);
    assert_eq!(MimeMessage::parse(&canonical).as_ref(), Ok(mime), "{canonical:?}");
}
