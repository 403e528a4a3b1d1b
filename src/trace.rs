//! The wire trace: every MSNP message a client engine sent or parsed, numbered, stamped
//! with the driver's clock, and bounded. The embedded hub and the TCP client keep one
//! each, fed from [`crate::client::ClientEngine::poll_trace`], so both number and cap it
//! the same way.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::proto::{ConnId, Instant};
use crate::wire::{Command, Direction};

/// How many entries a trace keeps by default; past it the oldest go, one per new entry.
pub const DEFAULT_TRACE_LIMIT: usize = 100_000;

/// One message on one connection, as it crossed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// Position in the whole run, from 0, counting events too; never reused, even after
    /// entries are dropped.
    pub seq: u64,
    pub time: Instant,
    /// The client's connection number (each sign-in and switchboard gets a new one).
    pub conn: ConnId,
    /// Who is on the client end, e.g. `alice@example.com` (shared by every entry of
    /// one connection's user, not copied into each).
    pub user: Arc<str>,
    pub direction: Direction,
    pub cmd: Command,
}

/// A message as an engine reports it, before the driver numbers and times it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
    /// The engine's running number, shared with its events.
    pub stamp: u64,
    pub conn: ConnId,
    pub user: Arc<str>,
    pub direction: Direction,
    pub cmd: Command,
}

#[derive(Debug)]
pub struct Trace {
    entries: VecDeque<TraceEntry>,
    limit: usize,
    /// Also hand each message to the `msgr.wire` log.
    log: bool,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new(DEFAULT_TRACE_LIMIT)
    }
}

impl Trace {
    /// A trace that keeps at most `limit` entries (0 keeps none).
    pub fn new(limit: usize) -> Self {
        Trace {
            entries: VecDeque::new(),
            limit,
            log: false,
        }
    }

    /// This trace, also handing each message to the `msgr.wire` log when `log` is set.
    pub fn with_log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// Whether engines must report their messages to it: to keep, or to log.
    pub fn wanted(&self) -> bool {
        self.limit > 0 || self.log
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Keeps an engine's report under number `seq` (the driver's, shared with events),
    /// stamped with the driver's clock, and hands it to the `msgr.wire` log.
    pub fn record(&mut self, seq: u64, c: Crossing, time: Instant) {
        // Logged even where nothing is kept (a server run without --trace).
        if self.log {
            crate::wire_log::crossed(&c);
        }
        if self.limit == 0 {
            return;
        }
        if self.entries.len() == self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(TraceEntry {
            seq,
            time,
            conn: c.conn,
            user: c.user,
            direction: c.direction,
            cmd: c.cmd,
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TraceEntry> {
        self.entries.iter()
    }

    /// The entries kept whose number is `seq` or later.
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &TraceEntry> {
        // Numbers only grow (events take some of them, so they are not consecutive).
        let skip = self.entries.partition_point(|e| e.seq < seq);
        self.entries.range(skip..)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The number of the oldest entry kept (None when empty).
    pub fn first_seq(&self) -> Option<u64> {
        self.entries.front().map(|e| e.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossing() -> Crossing {
        Crossing {
            stamp: 0,
            conn: 1,
            user: "a@b.com".into(),
            direction: Direction::ClientToServer,
            cmd: Command::new("PNG", Vec::<String>::new()).unwrap(),
        }
    }

    #[test]
    fn numbers_never_repeat_and_the_oldest_go_first() {
        let mut t = Trace::new(3);
        // Events take the numbers in between.
        for n in [0, 2, 3, 7, 8] {
            t.record(n, crossing(), Instant::from_secs(n));
        }
        let seqs: Vec<u64> = t.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 7, 8]);
        assert_eq!(t.since(4).map(|e| e.seq).collect::<Vec<_>>(), [7, 8]);
        assert_eq!(t.since(0).count(), 3);
        assert_eq!(t.since(9).count(), 0);
        t.clear();
        t.record(9, crossing(), Instant::from_secs(9));
        assert_eq!(t.iter().map(|e| e.seq).collect::<Vec<_>>(), [9]);
        let mut off = Trace::new(0);
        off.record(0, crossing(), Instant::from_secs(1));
        assert!(off.is_empty());
    }
}
