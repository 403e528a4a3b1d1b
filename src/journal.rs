//! What a driver keeps of its client engines' reports: the events the app has not taken
//! yet, and the wire trace. The embedded hub (many Messengers) and the TCP client (one)
//! collect into the same type after every engine step, so both number the trace and
//! queue events the same way.

use std::collections::VecDeque;

use crate::client::{ClientEngine, ClientEvent};
use crate::proto::Instant;
use crate::session::SessionState;
use crate::trace::Trace;

/// The embedded hub's handle for a Messenger (a TCP client has just one).
pub type MessengerId = u64;

/// An event as the app gets it: its number (shared with the trace), when, whose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub seq: u64,
    pub time: Instant,
    pub messenger: MessengerId,
    pub event: ClientEvent,
    /// The state of the event's session when it fired.
    pub state: Option<SessionState>,
}

#[derive(Debug, Default)]
pub struct Journal {
    events: VecDeque<Logged>,
    trace: Trace,
    /// One numbering for events and trace entries, so a reader can tell which wire
    /// line caused which event.
    next_seq: u64,
}

impl Journal {
    /// A journal that keeps `trace` (empty, made with its limit and whether it logs).
    pub fn new(trace: Trace) -> Self {
        Journal {
            events: VecDeque::new(),
            trace,
            next_seq: 0,
        }
    }

    /// Takes what messenger `m`'s engine reported since the last call, at `now` on
    /// the driver's clock.
    /// Both kinds are numbered in the order the engine made them.
    pub fn collect(&mut self, m: MessengerId, engine: &mut ClientEngine, now: Instant) {
        let mut crossing = engine.poll_trace();
        let mut event = engine.poll_stamped_event();
        loop {
            let seq = self.next_seq;
            match (crossing.take(), event.take()) {
                (None, None) => return,
                (Some(c), Some(e)) if c.stamp < e.stamp => {
                    self.trace.record(seq, c, now);
                    crossing = engine.poll_trace();
                    event = Some(e);
                }
                (Some(c), None) => {
                    self.trace.record(seq, c, now);
                    crossing = engine.poll_trace();
                }
                (c, Some(e)) => {
                    self.events.push_back(Logged {
                        seq,
                        time: now,
                        messenger: m,
                        event: e.event,
                        state: e.state,
                    });
                    crossing = c;
                    event = engine.poll_stamped_event();
                }
            }
            self.next_seq += 1;
        }
    }

    pub fn take_events(&mut self) -> Vec<Logged> {
        self.events.drain(..).collect()
    }

    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }
}
