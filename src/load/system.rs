//! What the run asks of the operating system: a process's CPU time and resident memory
//! from `/proc`, the descriptor limit, and loopback source addresses.

use std::net::{IpAddr, Ipv4Addr};

/// CPU time and resident memory of one process at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcSample {
    /// utime + stime, in microseconds.
    pub cpu_us: u64,
    pub rss_kb: u64,
}

/// utime + stime in clock ticks, from the text of `/proc/PID/stat`. The command name
/// (field 2) may hold blanks and parentheses, so fields are counted from its last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` in kB, from the text of `/proc/PID/status`.
pub fn parse_status_rss_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].split_whitespace().next()?.parse().ok()
}

fn ticks_per_second() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads a configuration value.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 {
            return t as u64;
        }
    }
    100
}

/// A sample of process `pid` ("self" for this one), or why not.
pub fn sample(pid: &str) -> Result<ProcSample, String> {
    let read = |file: &str| {
        let path = format!("/proc/{pid}/{file}");
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))
    };
    let stat = read("stat")?;
    let status = read("status")?;
    let ticks = parse_stat_ticks(&stat).ok_or_else(|| format!("/proc/{pid}/stat has no CPU times"))?;
    let rss_kb = parse_status_rss_kb(&status).ok_or_else(|| format!("/proc/{pid}/status has no VmRSS"))?;
    Ok(ProcSample {
        cpu_us: ticks.saturating_mul(1_000_000) / ticks_per_second(),
        rss_kb,
    })
}

/// The inodes of the sockets listening on `port`, from the text of `/proc/net/tcp` or
/// `tcp6` (state `0A` is LISTEN).
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            (local_port == port && *f.get(3)? == "0A").then(|| f.get(9)?.parse().ok())?
        })
        .collect()
}

/// Whether process `pid` holds a socket listening on `port`; None when it cannot be
/// told (no /proc, or another user's process).
pub fn listens_on(pid: u32, port: u16) -> Option<bool> {
    let mut inodes = Vec::new();
    for table in ["tcp", "tcp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let found = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()));
    Some(found)
}

/// Raises this process's soft descriptor limit to the hard one; returns the soft limit
/// now in force (None where there is no such limit to read).
pub fn raise_descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write only the struct we own.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            // An infinite hard limit cannot be the soft one (Linux caps it at nr_open).
            if limit.rlim_cur < limit.rlim_max && limit.rlim_max != libc::RLIM_INFINITY {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
        }
        // rlim_t is 64 bits here but not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        let soft = limit.rlim_cur as u64;
        Some(soft)
    }
    #[cfg(not(unix))]
    None
}

/// Client sockets one source address can have to one server port: Linux's default
/// ephemeral range (32768–60999) holds 28,232 ports; some are left for everything else.
pub const CONNECTIONS_PER_SOURCE: usize = 20_000;

/// How many loopback source addresses `connections` sockets need.
pub fn sources_needed(connections: usize) -> usize {
    connections.div_ceil(CONNECTIONS_PER_SOURCE).max(1)
}

/// The `k`-th of `count` source addresses: none (the system's choice) for a single one,
/// else 127.0.0.2, 127.0.0.3, … (all of 127/8 is loopback on Linux).
pub fn source_address(k: usize, count: usize) -> Option<IpAddr> {
    if count <= 1 {
        return None;
    }
    let base = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    let k = u32::try_from(k % count).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(base.checked_add(k)?)))
}

/// Largest `--source-addresses`: 127.0.0.2 up to 127.255.255.254.
pub const MAX_SOURCES: usize = (1 << 24) - 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_from_stat_with_a_strange_command_name() {
        let stat = "4242 (msgr (serve) x) S 1 4242 4242 0 -1 4194304 9650 0 0 0 123 45 0 0 20 0 5 0 \
                    1000 300000000 7000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat_ticks(stat), Some(168));
        assert_eq!(parse_stat_ticks("12 (x) S 1 2"), None);
        assert_eq!(parse_stat_ticks("no parenthesis"), None);
    }

    #[test]
    fn rss_from_status() {
        let status = "Name:\tmsgr\nVmPeak:\t  99999 kB\nVmRSS:\t   51234 kB\nThreads:\t5\n";
        assert_eq!(parse_status_rss_kb(status), Some(51234));
        assert_eq!(parse_status_rss_kb("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample("self").unwrap();
        assert!(s.rss_kb > 0);
        assert!(sample("999999999").is_err());
    }

    #[test]
    fn listening_sockets_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
                     0: 0100007F:074F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0 100 0 0 10 0\n   \
                     1: 0100007F:074F 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4712 1 0 20 4 30 10 -1\n   \
                     2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 1871), [4711]);
        assert_eq!(listening_inodes(table, 80), [99]);
        assert!(listening_inodes(table, 1863).is_empty());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listens_on(std::process::id(), port), Some(true));
        drop(listener);
        assert_eq!(listens_on(std::process::id(), port), Some(false));
    }

    #[test]
    fn source_addresses() {
        assert_eq!(sources_needed(0), 1);
        assert_eq!(sources_needed(20_000), 1);
        assert_eq!(sources_needed(20_001), 2);
        assert_eq!(sources_needed(50_000), 3);
        assert_eq!(source_address(5, 1), None);
        assert_eq!(source_address(0, 3), Some("127.0.0.2".parse().unwrap()));
        assert_eq!(source_address(2, 3), Some("127.0.0.4".parse().unwrap()));
        assert_eq!(source_address(3, 3), Some("127.0.0.2".parse().unwrap()));
        assert_eq!(source_address(300, 1000), Some("127.0.1.46".parse().unwrap()));
        let last = source_address(MAX_SOURCES - 1, MAX_SOURCES).unwrap();
        assert_eq!(last, "127.255.255.254".parse::<IpAddr>().unwrap());
        assert!(last.is_loopback());
    }
}
