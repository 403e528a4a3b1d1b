//! The MSNP wire format: command framing, URL-encoded parameters, challenge answers and
//! `text/x-msmsgsinvite` payloads (msnp.md §a, §d, §f).
//!
//! Everything here is pure and synchronous: bytes in, values out. Nothing may panic on
//! untrusted input; every malformed input is a [`WireError`].

pub mod challenge;
pub mod codec;
pub mod command;
mod error;
pub mod invite;
pub mod masking;
pub mod urlenc;

#[cfg(test)]
mod testutil;

pub use codec::{Decoder, Direction};
pub use command::Command;
pub use error::WireError;
pub use invite::{InvitationCommand, InviteMessage, MimeMessage};

/// Largest `MSG` payload a switchboard accepts (msnp.md §a.4): Escargot silently drops the
/// connection above it and Twisted uses the same bound, so we never send more.
pub const MAX_SB_PAYLOAD: usize = 1664;
