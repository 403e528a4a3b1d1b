//! The `msgr.wire` log: each MSNP message as it crosses, secrets masked, at debug level,
//! for whoever turned that logger on in Python's `logging` (as websockets and slixmpp
//! log their frames). A driver's [`crate::trace::Trace`] logs only when made to
//! ([`crate::trace::Trace::with_log`]): each record is a trip into Python.

use crate::trace::Crossing;
use crate::wire::masking::masked_line;
use crate::wire::Direction;

/// The logger the records go to.
pub const TARGET: &str = "msgr.wire";

/// Logs one message: `#3 alice@example.com C->S USR 4 MD5 S ***` (no account before
/// the connection has one).
pub fn crossed(c: &Crossing) {
    if !log::log_enabled!(target: TARGET, log::Level::Debug) {
        return;
    }
    let direction = match c.direction {
        Direction::ClientToServer => "C->S",
        Direction::ServerToClient => "S->C",
    };
    let line = masked_line(&c.cmd, c.direction);
    if c.user.is_empty() {
        log::debug!(target: TARGET, "#{} {direction} {line}", c.conn);
    } else {
        log::debug!(target: TARGET, "#{} {} {direction} {line}", c.conn, c.user);
    }
}
