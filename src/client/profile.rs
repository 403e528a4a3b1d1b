//! The user's own presence on the service: status (`CHG`), friendly name (`REA` on
//! oneself up to MSNP9, `PRP MFN` from MSNP10) and personal message (`UUX`, MSNP11+).
//! Each counts once the service answered; the answer, or the refusal, is an event
//! (`DMessengerEvents::OnMyStatusChange`, `OnMyFriendlyNameChange`, and ours for the
//! personal message). msnp.md §b.9, msnp8-12.md §d.8, §f.1, §h.1.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::ns::{at_least, Chg, Reply, Request, STATUSES};
use crate::proto::Dialect;
use crate::wire::urlenc;

use super::{ClientEngine, ClientEvent, ClientState};

/// The longest personal message sent, in characters (Windows Live Messenger's limit).
pub const MAX_PERSONAL_MESSAGE: usize = 129;

/// A change asked for and not yet answered, by its TrID.
#[derive(Debug)]
enum Asked {
    // What was asked for: the new value, kept until the answer.
    Status(String),
    Name(String),
    PersonalMessage(String),
}

#[derive(Debug, Default)]
pub(super) struct Profile {
    /// The status the service last confirmed (None until signed in).
    status: Option<String>,
    personal_message: String,
    asked: BTreeMap<u32, Asked>,
}

impl Profile {
    /// Signed in with the first `CHG`: online.
    pub(super) fn signed_in(&mut self) {
        self.status = Some("NLN".into());
    }

    pub(super) fn signed_out(&mut self) {
        *self = Profile::default();
    }
}

/// The `<Data>` document of a personal message (msnp8-12.md §h.1), text XML-escaped.
pub fn personal_message_payload(text: &str) -> Vec<u8> {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    format!("<Data><PSM>{escaped}</PSM><CurrentMedia></CurrentMedia></Data>").into_bytes()
}

/// The text of a `<Data>` document's `<PSM>` (empty when there is none), unescaped.
pub fn personal_message_text(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let Some(start) = text.find("<PSM>").map(|i| i + "<PSM>".len()) else {
        return String::new();
    };
    let end = text[start..].find("</PSM>").map_or(text.len(), |i| start + i);
    text[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn not_signed_in() -> Error {
    Error::api(HResult::MSGR_E_NOT_LOGGED_ON, "this Messenger is not signed in")
}

impl ClientEngine {
    /// The dialect of the sign-in, or `MSGR_E_NOT_LOGGED_ON` when not signed in.
    pub(super) fn signed_in_dialect(&self) -> Result<Option<Dialect>> {
        if self.state() != ClientState::SignedIn {
            return Err(not_signed_in());
        }
        Ok(self.ns.as_ref().and_then(|ns| ns.dialect()))
    }

    /// The user's status as the service last confirmed it (`NLN`, `AWY`, … `HDN`), None
    /// when not signed in.
    pub fn status(&self) -> Option<&str> {
        self.profile.status.as_deref()
    }

    /// The user's personal message as the service last took it (MSNP11+).
    pub fn personal_message(&self) -> &str {
        &self.profile.personal_message
    }

    /// Sets the user's status (`CHG`): one of [`STATUSES`], else `E_INVALIDARG`. The
    /// answer is `OnMyStatusChange`.
    pub fn set_status(&mut self, status: &str) -> Result<()> {
        if !STATUSES.contains(&status) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("a status is one of {}, not {status:?}", STATUSES.join(", ")),
            ));
        }
        let dialect = self.signed_in_dialect()?;
        let capabilities = at_least(dialect, Dialect::Msnp8).then(|| "0".to_string());
        let trid = self
            .ns_send(|trid| {
                Request::Chg(Chg {
                    trid,
                    status: status.to_string(),
                    capabilities,
                    msnobj: None,
                })
            })
            .ok_or_else(not_signed_in)?;
        self.profile.asked.insert(trid, Asked::Status(status.to_string()));
        Ok(())
    }

    /// Sets the user's friendly name (`REA` on oneself up to MSNP9, `PRP MFN` from
    /// MSNP10): 1 to 129 characters, not only spaces, no control characters, else
    /// `E_INVALIDARG`. The answer is `OnMyFriendlyNameChange`.
    pub fn set_friendly_name(&mut self, name: &str) -> Result<()> {
        if name.trim().is_empty() || name.chars().count() > 129 || name.chars().any(char::is_control) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "a friendly name is 1 to 129 characters, not only spaces, without control characters",
            ));
        }
        let dialect = self.signed_in_dialect()?;
        let account = self.config.sign_in_name.clone();
        let encoded = urlenc::encode(name);
        let trid = self
            .ns_send(|trid| {
                if at_least(dialect, Dialect::Msnp10) {
                    Request::Prp {
                        trid,
                        property: "MFN".into(),
                        value: encoded,
                    }
                } else {
                    Request::Rea {
                        trid,
                        account,
                        name: encoded,
                    }
                }
            })
            .ok_or_else(not_signed_in)?;
        self.profile.asked.insert(trid, Asked::Name(name.to_string()));
        Ok(())
    }

    /// Sets the user's personal message (`UUX`, MSNP11+; `E_NOTIMPL` before): at most
    /// [`MAX_PERSONAL_MESSAGE`] characters without control characters, else
    /// `E_INVALIDARG`; empty clears it. The answer is `OnMyPersonalMessageChange`.
    pub fn set_personal_message(&mut self, text: &str) -> Result<()> {
        if text.chars().count() > MAX_PERSONAL_MESSAGE || text.chars().any(char::is_control) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("a personal message is at most {MAX_PERSONAL_MESSAGE} characters without control characters"),
            ));
        }
        let dialect = self.signed_in_dialect()?;
        if !at_least(dialect, Dialect::Msnp11) {
            return Err(Error::api(
                HResult::E_NOTIMPL,
                "personal messages came with MSNP11; this connection speaks an older dialect",
            ));
        }
        let payload = personal_message_payload(text);
        let trid = self
            .ns_send(|trid| Request::Uux { trid, payload })
            .ok_or_else(not_signed_in)?;
        self.profile
            .asked
            .insert(trid, Asked::PersonalMessage(text.to_string()));
        Ok(())
    }

    /// A reply to a change of ours (`CHG`, `REA`, `PRP MFN`, `UUX` with its TrID): the
    /// change counts, and its event fires. False for any other line.
    pub(super) fn profile_reply(&mut self, reply: &Reply) -> bool {
        let trid = match reply {
            Reply::Chg(chg) => chg.trid,
            Reply::Rea { trid, .. } | Reply::Uux { trid } => *trid,
            Reply::Prp {
                trid: Some(trid),
                property,
                ..
            } if property == "MFN" => *trid,
            _ => return false,
        };
        let Some(asked) = self.profile.asked.remove(&trid) else {
            return false;
        };
        match asked {
            Asked::Status(status) => {
                self.profile.status = Some(status.clone());
                self.emit(ClientEvent::MyStatusChange {
                    hr: HResult::S_OK,
                    status,
                });
            }
            Asked::Name(name) => {
                let previous = self.friendly_name.replace(name).unwrap_or_default();
                self.emit(ClientEvent::MyFriendlyNameChange {
                    hr: HResult::S_OK,
                    previous,
                });
            }
            Asked::PersonalMessage(text) => {
                let previous = std::mem::replace(&mut self.profile.personal_message, text);
                self.emit(ClientEvent::MyPersonalMessageChange {
                    hr: HResult::S_OK,
                    previous,
                });
            }
        }
        true
    }

    /// The service refused a change of ours: its event with the reason, nothing
    /// changed. False when `trid` is not one of ours.
    pub(super) fn profile_refused(&mut self, trid: u32, code: u16) -> bool {
        let Some(asked) = self.profile.asked.remove(&trid) else {
            return false;
        };
        // 201/209: a value the service does not take; anything else: it failed.
        let hr = if matches!(code, 201 | 209) {
            HResult::E_INVALIDARG
        } else {
            HResult::E_FAIL
        };
        log::warn!(
            target: super::LOG,
            "{}: the service refused a change of status, name or personal message: error {}",
            self.config.sign_in_name,
            super::error_codes::quoted(code)
        );
        match asked {
            Asked::Status(_) => {
                let status = self.profile.status.clone().unwrap_or_default();
                self.emit(ClientEvent::MyStatusChange { hr, status });
            }
            Asked::Name(_) => {
                let previous = self.friendly_name.clone().unwrap_or_default();
                self.emit(ClientEvent::MyFriendlyNameChange { hr, previous });
            }
            Asked::PersonalMessage(_) => {
                let previous = self.profile.personal_message.clone();
                self.emit(ClientEvent::MyPersonalMessageChange { hr, previous });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personal_message_is_escaped_and_read_back() {
        let text = "at <lunch> & \"back\" 'soon'";
        let payload = personal_message_payload(text);
        assert_eq!(
            String::from_utf8(payload.clone()).unwrap(),
            "<Data><PSM>at &lt;lunch&gt; &amp; &quot;back&quot; &apos;soon&apos;</PSM><CurrentMedia></CurrentMedia></Data>"
        );
        assert_eq!(personal_message_text(&payload), text);
        assert_eq!(personal_message_text(b"<Data><PSM></PSM><CurrentMedia/></Data>"), "");
        assert_eq!(personal_message_text(b"<Data><CurrentMedia/></Data>"), "");
        assert_eq!(personal_message_text(b"<Data><PSM>cut"), "cut");
    }
}
