//! What relay and rtt check about every message: it arrived (loss), in the order it was
//! sent and once (order), with the bytes that were sent (bytes). [`Sequence`] follows one
//! numbered stream; [`Checks`] adds the counts up over a run.

use std::collections::BTreeSet;

/// What the checks found: every message and answer, warm-up included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    pub sent: u64,
    /// Arrivals, duplicates and unreadable ones included.
    pub received: u64,
    /// Sent but never arrived.
    pub lost: u64,
    /// Arrived after a message sent later than it.
    pub out_of_order: u64,
    /// Arrived again.
    pub duplicated: u64,
    /// Arrived with other bytes than were sent, from someone else, or unreadable.
    pub corrupt: u64,
}

/// The three checks, by the names reports use.
pub const CHECK_NAMES: [&str; 3] = ["loss", "order", "bytes"];

impl Checks {
    /// Nothing was lost.
    pub fn complete(&self) -> bool {
        self.lost == 0
    }

    /// Everything arrived in the order it was sent, and once.
    pub fn in_order(&self) -> bool {
        self.out_of_order == 0 && self.duplicated == 0
    }

    /// Everything arrived with the bytes that were sent.
    pub fn intact(&self) -> bool {
        self.corrupt == 0
    }

    pub fn passed(&self) -> bool {
        self.complete() && self.in_order() && self.intact()
    }

    /// The names of the checks that failed, in [`CHECK_NAMES`] order.
    pub fn failed(&self) -> Vec<&'static str> {
        [self.complete(), self.in_order(), self.intact()]
            .into_iter()
            .zip(CHECK_NAMES)
            .filter(|(passed, _)| !passed)
            .map(|(_, name)| name)
            .collect()
    }

    pub fn add(&mut self, other: &Checks) {
        self.sent += other.sent;
        self.received += other.received;
        self.lost += other.lost;
        self.out_of_order += other.out_of_order;
        self.duplicated += other.duplicated;
        self.corrupt += other.corrupt;
    }
}

/// How far ahead of the next number due an arrival may be and still be believed: past
/// it, the number itself must have been damaged (and following the gap would cost
/// memory for nothing).
pub const MAX_GAP: u64 = 1 << 20;

/// Where one arrival stands in its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The next one due.
    Next,
    /// Ahead of the next one due: `missing` numbers were skipped (for now).
    Ahead { missing: u64 },
    /// One that was skipped, arriving after later ones.
    Late,
    /// One that had arrived already.
    Duplicate,
    /// A number too far ahead to be true.
    Implausible,
}

/// One stream numbered from 0: which numbers came, late, twice, or not yet.
#[derive(Clone, Debug, Default)]
pub struct Sequence {
    /// Every number below this one arrived or is in `missing`.
    next: u64,
    missing: BTreeSet<u64>,
    /// Arrivals whose number could not be read: each is one of the missing, presumably.
    unreadable: u64,
}

impl Sequence {
    pub fn arrived(&mut self, seq: u64) -> Arrival {
        if seq == self.next {
            self.next += 1;
            Arrival::Next
        } else if seq > self.next {
            let missing = seq - self.next;
            if missing > MAX_GAP {
                return Arrival::Implausible;
            }
            self.missing.extend(self.next..seq);
            self.next = seq + 1;
            Arrival::Ahead { missing }
        } else if self.missing.remove(&seq) {
            Arrival::Late
        } else {
            Arrival::Duplicate
        }
    }

    /// An arrival whose number could not be read.
    pub fn unreadable(&mut self) {
        self.unreadable += 1;
    }

    /// The next number due.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Of `sent` messages (numbered 0 to sent-1), how many have not arrived.
    pub fn outstanding(&self, sent: u64) -> u64 {
        let below = self.missing.range(..sent).count() as u64;
        (below + sent.saturating_sub(self.next)).saturating_sub(self.unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_arrivals_leave_nothing_outstanding() {
        let mut s = Sequence::default();
        for i in 0..5 {
            assert_eq!(s.arrived(i), Arrival::Next);
        }
        assert_eq!((s.next(), s.outstanding(5), s.outstanding(7)), (5, 0, 2));
    }

    #[test]
    fn a_drop_a_swap_and_a_duplicate_are_each_counted_once() {
        let mut s = Sequence::default();
        let got: Vec<Arrival> = [0, 2, 4, 3, 4, 1, 1, 5].into_iter().map(|i| s.arrived(i)).collect();
        use Arrival::*;
        assert_eq!(
            got,
            [
                Next,
                Ahead { missing: 1 },
                Ahead { missing: 1 },
                Late,
                Duplicate,
                Late,
                Duplicate,
                Next
            ]
        );
        assert_eq!(s.outstanding(6), 0);
        // 7 was never seen; 6 is missing too once 8 came.
        assert_eq!(s.arrived(8), Ahead { missing: 2 });
        assert_eq!(s.outstanding(9), 2);
        s.unreadable();
        assert_eq!(s.outstanding(9), 1);
        assert_eq!(s.arrived(MAX_GAP * 2), Implausible);
        assert_eq!(s.next(), 9);
    }

    #[test]
    fn the_failed_checks_are_named() {
        let ok = Checks {
            sent: 3,
            received: 3,
            ..Checks::default()
        };
        assert!(ok.passed() && ok.failed().is_empty());
        let bad = Checks {
            lost: 1,
            corrupt: 2,
            ..ok
        };
        assert_eq!(bad.failed(), ["loss", "bytes"]);
        let twice = Checks { duplicated: 1, ..ok };
        assert_eq!(twice.failed(), ["order"]);
        let mut sum = ok;
        sum.add(&bad);
        assert_eq!((sum.sent, sum.lost, sum.corrupt), (6, 1, 2));
    }
}
