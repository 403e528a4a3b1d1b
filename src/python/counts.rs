//! The engines' counts as (name, count) pairs, which `msgr.counts` turns into its
//! dataclasses; the names are the dataclass fields.

use crate::client::ClientCounts;
use crate::service::ServiceCounts;

pub fn service(c: &ServiceCounts, transport: usize) -> Vec<(&'static str, usize)> {
    vec![
        ("connections", c.connections),
        ("ns_connections", c.ns_connections),
        ("sb_connections", c.sb_connections),
        ("signed_in", c.signed_in),
        ("switchboards", c.switchboards),
        ("sb_tickets", c.sb_tickets),
        ("passport_tickets", c.passport_tickets),
        ("challenges", c.challenges),
        ("pending_writes", c.pending_writes),
        ("transport_connections", transport),
    ]
}

pub fn client(c: &ClientCounts) -> Vec<(&'static str, usize)> {
    vec![
        ("lock_objects", c.lock_objects),
        ("sessions", c.sessions),
        ("live_sessions", c.live_sessions),
        ("ns_connections", c.ns_connections),
        ("sb_links", c.sb_links),
        ("sb_queued", c.sb_queued),
        ("texts_in_flight", c.texts_in_flight),
        ("awaiting", c.awaiting),
    ]
}
