//! What a driver keeps of its client engines' reports: the events the app has not taken
//! yet, and the wire trace. The embedded hub (many Messengers) and the TCP client (one)
//! collect into the same type after every engine step, so both number the trace and
//! queue events the same way.

use std::collections::VecDeque;

use crate::client::{ClientEngine, ClientEvent};
use crate::proto::Instant;
use crate::trace::Trace;

/// The embedded hub's handle for a Messenger (a TCP client has just one).
pub type MessengerId = u64;

#[derive(Debug, Default)]
pub struct Journal {
    events: VecDeque<(MessengerId, ClientEvent)>,
    trace: Trace,
}

impl Journal {
    /// A journal whose trace keeps at most `trace_limit` entries.
    pub fn new(trace_limit: usize) -> Self {
        Journal {
            events: VecDeque::new(),
            trace: Trace::new(trace_limit),
        }
    }

    /// Takes what messenger `m`'s engine reported since the last call, at `now` on
    /// the driver's clock.
    pub fn collect(&mut self, m: MessengerId, engine: &mut ClientEngine, now: Instant) {
        while let Some(c) = engine.poll_trace() {
            self.trace.record(c, now);
        }
        while let Some(e) = engine.poll_event() {
            self.events.push_back((m, e));
        }
    }

    pub fn take_events(&mut self) -> Vec<(MessengerId, ClientEvent)> {
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
