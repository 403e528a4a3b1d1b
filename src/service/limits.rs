//! What one client may cost the service: time-outs for each stage of a connection, the
//! challenges it may leave outstanding, and token-bucket rates for what is expensive or
//! abusable (password guesses, `QRY`, `XFR`, `CAL`, rings). Every limit is in
//! [`Limits`], with a default; `docs/security.md` lists each with the threat it answers.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use crate::proto::Instant;

/// A rate: `burst` at once, then one more every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

impl Rate {
    pub const fn new(burst: u32, every: Duration) -> Rate {
        Rate { burst, every }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From connecting to signed in (notification) or seated (switchboard).
    pub sign_in: Duration,
    /// Half a command line or payload left waiting.
    pub partial: Duration,
    /// A signed-in notification connection that sends nothing; clients ping every
    /// minute ([`super::ns::PING_INTERVAL`]), so this is three missed pings.
    pub idle: Duration,
    /// Challenges one connection may have outstanding (the service's ping and the
    /// Lock and Key requests of its objects); a `QRY` is checked against these few.
    pub max_challenges: usize,
    /// Wrong passwords, per account and per address (failures only use tokens).
    pub wrong_password_account: Rate,
    pub wrong_password_address: Rate,
    /// App `QRY` answers checked per connection; past it they fail (`540`) unchecked,
    /// and the connection stays.
    pub qry: Rate,
    /// `XFR SB` per user.
    pub xfr: Rate,
    /// `CAL` per switchboard connection.
    pub cal: Rate,
    /// `RNG`s delivered to one user.
    pub rings: Rate,
}

impl Limits {
    /// The embedded service's: its time-outs, but no rates. Nothing there is shared
    /// with strangers, and its clock only moves when told, so a script making a
    /// thousand calls at one instant is a test, not an attack.
    pub fn embedded() -> Limits {
        let none = Rate::new(u32::MAX, Duration::ZERO);
        Limits {
            wrong_password_account: none,
            wrong_password_address: none,
            qry: none,
            xfr: none,
            cal: none,
            rings: none,
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        const S: Duration = Duration::from_secs(1);
        Limits {
            sign_in: Duration::from_secs(60),
            partial: Duration::from_secs(30),
            idle: Duration::from_secs(180),
            max_challenges: 8,
            wrong_password_account: Rate::new(5, S * 30),
            wrong_password_address: Rate::new(20, S * 5),
            qry: Rate::new(10, S),
            xfr: Rate::new(20, S),
            cal: Rate::new(20, S),
            rings: Rate::new(20, S),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key. A bucket that has refilled is the same as none, so those are
/// dropped now and then: the map holds only keys that were recently busy.
#[derive(Debug)]
pub(crate) struct Buckets<K> {
    rate: Rate,
    map: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub(crate) fn new(rate: Rate) -> Self {
        Buckets {
            rate,
            map: HashMap::new(),
        }
    }

    fn refilled(&self, b: Bucket, now: Instant) -> f64 {
        let every = self.rate.every.as_secs_f64();
        let gained = if every > 0.0 {
            now.saturating_sub(b.at).as_secs_f64() / every
        } else {
            f64::INFINITY
        };
        (b.tokens + gained).min(f64::from(self.rate.burst))
    }

    /// Whether `key` has a token left, without taking it.
    pub(crate) fn allows(&self, key: &K, now: Instant) -> bool {
        self.map.get(key).is_none_or(|b| self.refilled(*b, now) >= 1.0)
    }

    /// Takes a token for `key`; false when there is none.
    pub(crate) fn take(&mut self, key: &K, now: Instant) -> bool {
        if self.map.len() >= 4096 {
            self.prune(now);
        }
        let full = Bucket {
            tokens: f64::from(self.rate.burst),
            at: now,
        };
        let b = self.map.get(key).copied().unwrap_or(full);
        let tokens = self.refilled(b, now);
        if tokens < 1.0 {
            return false;
        }
        self.map.insert(
            key.clone(),
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        true
    }

    /// Forgets `key` (its connection or account is gone).
    pub(crate) fn forget(&mut self, key: &K) {
        self.map.remove(key);
    }

    fn prune(&mut self, now: Instant) {
        let burst = f64::from(self.rate.burst);
        let every = self.rate.every.as_secs_f64();
        self.map.retain(|_, b| {
            let gained = if every > 0.0 {
                now.saturating_sub(b.at).as_secs_f64() / every
            } else {
                burst
            };
            b.tokens + gained < burst
        });
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: fn(u64) -> Instant = Duration::from_secs;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let mut b = Buckets::new(Rate::new(3, Duration::from_secs(10)));
        for _ in 0..3 {
            assert!(b.take(&"a", T(0)));
        }
        assert!(!b.take(&"a", T(0)) && !b.allows(&"a", T(9)));
        assert!(b.take(&"b", T(0)), "keys are independent");
        assert!(b.take(&"a", T(10)));
        assert!(!b.take(&"a", T(10)));
        assert!(b.take(&"a", T(30)) && b.take(&"a", T(30)));
        b.forget(&"a");
        assert!(b.take(&"a", T(30)));
    }

    #[test]
    fn refilled_buckets_are_dropped_so_the_map_stays_small() {
        let mut b = Buckets::new(Rate::new(1, Duration::from_secs(1)));
        for i in 0..4096u32 {
            b.take(&i, T(0));
        }
        assert_eq!(b.len(), 4096);
        b.take(&9999, T(10));
        assert_eq!(b.len(), 1, "every old bucket had refilled");
    }
}
