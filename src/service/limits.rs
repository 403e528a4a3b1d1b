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
    /// A switchboard seat that sends nothing: the others get `BYE <account> 1`, the
    /// form the original service used for a member dropped for idling.
    pub sb_idle: Duration,
    /// Challenges one connection may have outstanding (the service's ping and the
    /// Lock and Key requests of its objects); a `QRY` is checked against these few.
    pub max_challenges: usize,
    /// Wrong passwords, per account from one address and per address (failures only
    /// use tokens; an empty bucket refuses that address's guesses unchecked).
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
    /// Open connections at once (a TCP server's); None: from the process's descriptor
    /// limit, three quarters of what is left after a reserve.
    pub max_connections: Option<usize>,
    /// Open connections from one address, below `max_connections`.
    pub max_per_address: usize,
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
        const MS: Duration = Duration::from_millis(1);
        Limits {
            sign_in: Duration::from_secs(60),
            partial: Duration::from_secs(30),
            idle: Duration::from_secs(180),
            sb_idle: Duration::from_secs(300),
            max_challenges: 8,
            wrong_password_account: Rate::new(5, S * 30),
            wrong_password_address: Rate::new(20, S * 5),
            qry: Rate::new(10, S),
            // Flood guards, far above any person or scripted client (the conformance
            // suite opens about 40 switchboards a second); what bounds the memory a
            // flood holds is `sb::MAX_TICKETS_PER_USER`.
            xfr: Rate::new(100, MS * 10),
            cal: Rate::new(100, MS * 10),
            rings: Rate::new(100, MS * 20),
            max_connections: None,
            max_per_address: 64,
        }
    }
}

/// A value for [`Limits::set`]: a number (seconds or a count), or a rate as
/// (burst, seconds per token).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimitValue {
    Number(f64),
    Rate(u32, f64),
}

impl Limits {
    /// The names [`Limits::set`] takes, each with its kind.
    pub const NAMES: [(&'static str, &'static str); 13] = [
        ("sign_in", "seconds"),
        ("partial", "seconds"),
        ("idle", "seconds"),
        ("sb_idle", "seconds"),
        ("max_challenges", "count"),
        ("max_connections", "count"),
        ("max_per_address", "count"),
        ("wrong_password_account", "rate"),
        ("wrong_password_address", "rate"),
        ("qry", "rate"),
        ("xfr", "rate"),
        ("cal", "rate"),
        ("rings", "rate"),
    ];

    /// Sets one limit by name; the message says what was wrong.
    pub fn set(&mut self, name: &str, value: LimitValue) -> Result<(), String> {
        let kind = Limits::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = Limits::NAMES.iter().map(|(n, _)| *n).collect();
                format!("no limit named {name:?}; the limits are {}", names.join(", "))
            })?;
        let seconds = |s: f64| {
            (s.is_finite() && s > 0.0 && s <= 1e9)
                .then(|| Duration::from_secs_f64(s))
                .ok_or_else(|| format!("{name} is a number of seconds above 0, not {s}"))
        };
        match (kind, value) {
            ("seconds", LimitValue::Number(s)) => {
                let d = seconds(s)?;
                match name {
                    "sign_in" => self.sign_in = d,
                    "partial" => self.partial = d,
                    "sb_idle" => self.sb_idle = d,
                    _ => self.idle = d,
                }
            }
            ("count", LimitValue::Number(n)) => {
                if !(n.fract() == 0.0 && (1.0..=1e9).contains(&n)) {
                    return Err(format!("{name} is a whole number from 1, not {n}"));
                }
                let n = n as usize;
                match name {
                    "max_challenges" => self.max_challenges = n,
                    "max_connections" => self.max_connections = Some(n),
                    _ => self.max_per_address = n,
                }
            }
            ("rate", LimitValue::Rate(burst, every)) => {
                if burst == 0 {
                    return Err(format!("{name}'s burst is at least 1"));
                }
                let rate = Rate::new(burst, seconds(every)?);
                match name {
                    "wrong_password_account" => self.wrong_password_account = rate,
                    "wrong_password_address" => self.wrong_password_address = rate,
                    "qry" => self.qry = rate,
                    "xfr" => self.xfr = rate,
                    "cal" => self.cal = rate,
                    _ => self.rings = rate,
                }
            }
            ("rate", LimitValue::Number(_)) => return Err(format!("{name} is a rate: (burst, seconds per token)")),
            (_, LimitValue::Rate(..)) => return Err(format!("{name} is a number of {kind}")),
            _ => unreachable!("every kind is matched"),
        }
        Ok(())
    }
}

/// Descriptors kept back for the store, the nexus, logs and the runtime.
const RESERVED_DESCRIPTORS: u64 = 64;

impl Limits {
    /// The connection cap in force: the configured one, or one derived from the
    /// descriptor limit (so accepting never fails for want of descriptors), and never
    /// below the per-address cap.
    pub fn connection_cap(&self) -> usize {
        let derived = || {
            let soft = descriptor_limit().unwrap_or(1024);
            usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS) / 4 * 3).unwrap_or(usize::MAX)
        };
        self.max_connections.unwrap_or_else(derived).max(1)
    }
}

/// The process's soft limit on open descriptors.
#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    // rlim_t is 64 bits here but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    let soft = limit.rlim_cur as u64;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(soft)
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
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

    /// How many of `key`'s tokens are spent now (0 for a full or unknown bucket).
    pub(crate) fn used(&self, key: &K, now: Instant) -> f64 {
        self.map
            .get(key)
            .map_or(0.0, |b| f64::from(self.rate.burst) - self.refilled(*b, now))
    }

    /// Whether `key` spent a token lately: within most of one refill interval (a
    /// bucket back to within 5 % of a token of full counts as untouched).
    pub(crate) fn spent_lately(&self, key: &K, now: Instant) -> bool {
        self.used(key, now) > 0.05
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
    fn limits_are_set_by_name_and_checked() {
        let mut l = Limits::default();
        l.set("idle", LimitValue::Number(300.0)).unwrap();
        l.set("max_per_address", LimitValue::Number(8.0)).unwrap();
        l.set("xfr", LimitValue::Rate(5, 0.5)).unwrap();
        assert_eq!(l.idle, Duration::from_secs(300));
        assert_eq!(l.max_per_address, 8);
        assert_eq!(l.xfr, Rate::new(5, Duration::from_millis(500)));
        for (name, value) in [
            ("idle", LimitValue::Number(0.0)),
            ("idle", LimitValue::Number(f64::NAN)),
            ("max_challenges", LimitValue::Number(2.5)),
            ("max_challenges", LimitValue::Number(0.0)),
            ("xfr", LimitValue::Number(3.0)),
            ("xfr", LimitValue::Rate(0, 1.0)),
            ("idle", LimitValue::Rate(1, 1.0)),
            ("nonsense", LimitValue::Number(1.0)),
        ] {
            assert!(l.set(name, value).is_err(), "{name} {value:?}");
        }
        assert_eq!(l.idle, Duration::from_secs(300), "a refused value changes nothing");
    }

    #[test]
    fn the_connection_cap_follows_the_descriptor_limit_unless_given() {
        let derived = Limits::default().connection_cap();
        let soft = descriptor_limit().unwrap_or(1024);
        assert_eq!(derived as u64, (soft - RESERVED_DESCRIPTORS) / 4 * 3);
        let given = Limits {
            max_connections: Some(10),
            ..Limits::default()
        };
        assert_eq!(given.connection_cap(), 10);
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
