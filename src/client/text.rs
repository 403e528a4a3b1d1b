//! Plain instant messages: `text/plain` over the switchboard a peer shares with us,
//! what Messenger's conversation window sent (msnp.md §a.4, msnp8-12.md §j.4). Not part
//! of the Msgrpriv APIs, but what any other client (msnp11-sdk, MSN Messenger) talks
//! in, and `DMessengerEvents::OnTextReceived` is how Messenger told apps of one.

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{valid_sign_in_name, Instant};
use crate::wire::{MimeMessage, MAX_SB_PAYLOAD};

use super::sb::{MsgKind, SbFailure};
use super::{ClientEngine, ClientEvent, ClientState, Waiting, LOG};

/// The headers every message of ours carries; the text follows the blank line.
const HEADERS: &str = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
                       X-MMS-IM-Format: FN=Microsoft%20Sans%20Serif; EF=; CO=0; CS=0; PF=0\r\n\r\n";

/// The longest text, in UTF-8 bytes, that fits one `MSG` with its headers.
pub const MAX_TEXT: usize = MAX_SB_PAYLOAD - HEADERS.len();

/// The `text/plain` payload of `text`.
fn payload(text: &str) -> Vec<u8> {
    format!("{HEADERS}{text}").into_bytes()
}

impl ClientEngine {
    /// A number for the next [`ClientEngine::send_text`], which the driver waits on as
    /// [`Waiting::Text`].
    pub fn new_text_id(&mut self) -> u64 {
        self.next_text += 1;
        self.next_text
    }

    /// Sends `text` to `peer` on the switchboard shared with them, opening one (`XFR`,
    /// `CAL`) if need be. The outcome comes as [`Waiting::Text`]`(id)`: sent, or why not.
    pub fn send_text(&mut self, id: u64, peer: &str, text: &str, now: Instant) -> Result<()> {
        if self.state() != ClientState::SignedIn {
            return Err(Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                "this Messenger is not signed in",
            ));
        }
        if !valid_sign_in_name(peer) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{peer:?} is not a sign-in name"),
            ));
        }
        if peer.eq_ignore_ascii_case(&self.config.sign_in_name) {
            return Err(Error::api(HResult::E_INVALIDARG, "a message to yourself goes nowhere"));
        }
        if text.is_empty() || text.len() > MAX_TEXT {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("a message is 1 to {MAX_TEXT} bytes of UTF-8, not {}", text.len()),
            ));
        }
        self.awaiting.insert(Waiting::Text(id), None);
        self.texts.insert(id, peer.to_string());
        self.sb_send(peer, id, MsgKind::Text, payload(text), now);
        Ok(())
    }

    /// A message of ours went out on a switchboard.
    pub(super) fn text_sent(&mut self, id: u64) {
        self.texts.remove(&id);
        self.resolve(Waiting::Text(id), Ok(()));
    }

    /// A message of ours could not go out.
    pub(super) fn text_failed(&mut self, id: u64, failure: &SbFailure) {
        let peer = self.texts.remove(&id).unwrap_or_default();
        let error = failure.error(MsgKind::Text, &peer);
        log::info!(target: LOG, "{}: {error}", self.config.sign_in_name);
        self.resolve(Waiting::Text(id), Err(error));
    }

    /// A `text/plain` message from `sender` on a switchboard: `OnTextReceived`.
    pub(super) fn text_received(&mut self, sender: &str, message: &MimeMessage) {
        let text = String::from_utf8_lossy(&message.body).into_owned();
        self.emit(ClientEvent::TextReceived {
            sender: sender.to_string(),
            text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_text_fits_one_msg() {
        assert_eq!(payload(&"x".repeat(MAX_TEXT)).len(), MAX_SB_PAYLOAD);
        let m = MimeMessage::parse(&payload("hello")).unwrap();
        assert_eq!(m.media_type().as_deref(), Some("text/plain"));
        assert_eq!(m.body, b"hello");
    }
}
