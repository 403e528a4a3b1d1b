//! Refusals (a connection past a cap, a nexus connection evicted, a guess refused…)
//! as summaries, so that no attack can flood the log: each refusal is an `info` line
//! (shown with `msgr serve -v`), and every [`INTERVAL`] one `warn` line per kind says
//! how many there were and from which addresses most came (the TCP server writes them;
//! this module only counts, so the sans-IO engine may count too).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

const LOG: &str = crate::service::LOG;

/// How often the summaries are written.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Addresses counted per kind in one interval; past it the rest count as "others".
const MAX_ADDRESSES: usize = 1024;
/// Addresses a summary names.
const SHOWN: usize = 3;

#[derive(Default)]
struct Tally {
    count: u64,
    by_address: HashMap<IpAddr, u64>,
    others: u64,
}

/// Tallies of refusals by kind, taken as summaries. The server counts into one
/// process-wide instance ([`note`], [`take_summaries`]); tests count into their own.
#[derive(Default)]
pub struct Refusals {
    tallies: Mutex<Vec<(&'static str, Tally)>>,
}

static GLOBAL: Refusals = Refusals {
    tallies: Mutex::new(Vec::new()),
};

/// Counts one refusal of `kind` (a fixed text, as "nexus: refused a connection: its
/// address holds its share") of `peer`.
pub fn note(kind: &'static str, peer: IpAddr) {
    GLOBAL.note(kind, peer);
}

/// The summary lines of what was counted since the last call, which it clears.
pub fn take_summaries() -> Vec<String> {
    GLOBAL.take_summaries()
}

impl Refusals {
    /// Counts one refusal of `kind` of `peer`, with an `info` line.
    pub fn note(&self, kind: &'static str, peer: IpAddr) {
        log::info!(target: LOG, "{kind} ({peer})");
        let mut tallies = self.tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = match tallies.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                tallies.push((kind, Tally::default()));
                tallies.len() - 1
            }
        };
        let tally = &mut tallies[at].1;
        tally.count += 1;
        if let Some(n) = tally.by_address.get_mut(&peer) {
            *n += 1;
        } else if tally.by_address.len() < MAX_ADDRESSES {
            tally.by_address.insert(peer, 1);
        } else {
            tally.others += 1;
        }
    }

    /// The summary lines of what was counted since the last call, which it clears.
    pub fn take_summaries(&self) -> Vec<String> {
        let tallies = std::mem::take(&mut *self.tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        tallies
            .into_iter()
            .filter(|(_, t)| t.count > 0)
            .map(|(kind, t)| {
                let mut top: Vec<(IpAddr, u64)> = t.by_address.into_iter().collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let addresses = top.len() + usize::from(t.others > 0);
                let named: Vec<String> = top.iter().take(SHOWN).map(|(ip, n)| format!("{ip} ({n})")).collect();
                format!(
                    "{kind}: {} time{} from {addresses} address{} in the last {} s; most from {}",
                    t.count,
                    if t.count == 1 { "" } else { "s" },
                    if addresses == 1 { "" } else { "es" },
                    INTERVAL.as_secs(),
                    named.join(", ")
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_is_one_line_per_kind_naming_the_busiest_addresses() {
        // Its own tallies: servers of other tests count into (and empty) the global ones.
        let refusals = Refusals::default();
        for i in 0..5000u32 {
            let peer = IpAddr::from([10, 0, (i % 7) as u8, (i % 2000 / 7) as u8]);
            refusals.note("test: refused a flood", peer);
        }
        refusals.note("test: refused another kind", IpAddr::from([192, 0, 2, 1]));
        let lines = refusals.take_summaries();
        let flood = lines.iter().find(|l| l.starts_with("test: refused a flood")).unwrap();
        assert!(
            flood.contains(": 5000 times from ") && flood.matches(" (").count() == SHOWN,
            "{flood}"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("test: refused another kind: 1 time from 1 address in")));
        assert!(refusals.take_summaries().is_empty(), "cleared");
    }
}
