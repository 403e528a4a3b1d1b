//! A run's report: what was measured, what the checks found, and what it cost the
//! server; as JSON (`--json`) and as text.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::checks::Checks;
use super::stats::{round1, LatencySummary};
use super::system::ProcSample;
use super::Mode;

/// A process's CPU and memory over the measured stretch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcFigures {
    /// None for the load generator itself.
    pub pid: Option<u32>,
    pub cpu_us: u64,
    pub rss_kb_before: u64,
    pub rss_kb_after: u64,
}

impl ProcFigures {
    pub fn between(pid: Option<u32>, before: Option<ProcSample>, after: Option<ProcSample>) -> Option<ProcFigures> {
        let (before, after) = (before?, after?);
        Some(ProcFigures {
            pid,
            cpu_us: after.cpu_us.saturating_sub(before.cpu_us),
            rss_kb_before: before.rss_kb,
            rss_kb_after: after.rss_kb,
        })
    }
}

/// hold's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HoldFigures {
    pub requested: u64,
    pub signed_in: u64,
    /// Signed in, then dropped by the server while held.
    pub dropped: u64,
    /// Still signed in when the hold ended.
    pub held: u64,
    pub source_addresses: u64,
    /// From the first connection to the last sign-in.
    pub ramp_s: f64,
    /// The server's RSS once everyone had left (and a second had passed).
    pub rss_kb_after_close: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub mode: Mode,
    pub target: String,
    pub protocol: String,
    /// The options that shaped the run, as given or defaulted.
    pub settings: Map<String, Value>,
    /// Seconds measured.
    pub elapsed_s: f64,
    /// Measured operations (messages, round trips, sign-ins, clients held).
    pub operations: u64,
    pub latency: Option<LatencySummary>,
    pub checks: Option<Checks>,
    pub hold: Option<HoldFigures>,
    /// Refusals by reason (hold counts them; other modes stop at the first).
    pub refused: BTreeMap<String, u64>,
    /// Why the held clients the server dropped were dropped.
    pub dropped: BTreeMap<String, u64>,
    pub server: Option<ProcFigures>,
    pub client: Option<ProcFigures>,
    /// What went wrong, one line each (the first few of each kind).
    pub failures: Vec<String>,
    /// Ended early from outside (Ctrl-C): the figures cover what ran.
    pub interrupted: bool,
}

/// Failure lines kept; the counts in `checks` say how many there were in all.
pub const MAX_FAILURES: usize = 20;

impl Report {
    pub fn new(mode: Mode, target: String, protocol: String) -> Report {
        Report {
            mode,
            target,
            protocol,
            settings: Map::new(),
            elapsed_s: 0.0,
            operations: 0,
            latency: None,
            checks: None,
            hold: None,
            refused: BTreeMap::new(),
            dropped: BTreeMap::new(),
            server: None,
            client: None,
            failures: Vec::new(),
            interrupted: false,
        }
    }

    pub fn fail(&mut self, line: String) {
        if self.failures.len() < MAX_FAILURES {
            self.failures.push(line);
        }
    }

    pub fn unit(&self) -> &'static str {
        match self.mode {
            Mode::Relay => "messages",
            Mode::Rtt => "round trips",
            Mode::Signin => "sign-ins",
            Mode::Hold => "clients",
        }
    }

    /// Whether the run did what it was asked, every check passed and nobody was
    /// refused or dropped.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
            && !self.interrupted
            && self.refused.is_empty()
            && self.dropped.is_empty()
            && self.checks.is_none_or(|c| c.passed())
            && self.operations > 0
    }

    pub fn rate(&self) -> Option<f64> {
        (self.elapsed_s > 0.0 && self.mode != Mode::Hold).then(|| round1(self.operations as f64 / self.elapsed_s))
    }

    /// CPU per operation as the text report gives it: /proc counts CPU in 10 ms ticks,
    /// so a run that used less shows no figure rather than a false "0.0".
    fn cpu_text(&self, cpu_us: u64, per: &str) -> Option<String> {
        if self.operations == 0 {
            return None;
        }
        if cpu_us == 0 {
            return Some("CPU under /proc's 10 ms tick: run longer for a figure".to_string());
        }
        Some(format!(
            "{} µs CPU per {per}",
            small(cpu_us as f64 / self.operations as f64)
        ))
    }

    fn per_op(&self, cpu_us: u64) -> Option<f64> {
        (self.operations > 0).then(|| round1(cpu_us as f64 / self.operations as f64))
    }

    pub fn to_json(&self) -> Value {
        let latency = self.latency.map(|l| {
            json!({
                "count": l.count, "min": l.min_us, "mean": l.mean_us, "p50": l.p50_us, "p90": l.p90_us,
                "p99": l.p99_us, "p999": l.p999_us, "max": l.max_us,
            })
        });
        let checks = self.checks.map(|c| {
            json!({
                "sent": c.sent, "received": c.received, "lost": c.lost, "out_of_order": c.out_of_order,
                "duplicated": c.duplicated, "corrupt": c.corrupt, "complete": c.complete(),
                "in_order": c.in_order(), "intact": c.intact(), "failed": c.failed(),
            })
        });
        let proc_json = |p: &ProcFigures| {
            let mut v = json!({
                "cpu_us": p.cpu_us, "cpu_us_per_op": self.per_op(p.cpu_us),
                "rss_kb_before": p.rss_kb_before, "rss_kb_after": p.rss_kb_after,
            });
            if let Some(pid) = p.pid {
                v["pid"] = json!(pid);
            }
            v
        };
        let hold = self.hold.map(|h| {
            let per_client = self
                .server
                .filter(|_| h.held > 0)
                .map(|s| round1((s.rss_kb_after as f64 - s.rss_kb_before as f64) / h.held as f64));
            json!({
                "requested": h.requested, "signed_in": h.signed_in, "dropped": h.dropped, "held": h.held,
                "refused": self.refused.values().sum::<u64>(), "source_addresses": h.source_addresses,
                "ramp_s": round6(h.ramp_s), "rss_kb_per_client": per_client,
                "rss_kb_after_close": h.rss_kb_after_close,
            })
        });
        json!({
            "mode": self.mode.as_str(),
            "ok": self.ok(),
            "interrupted": self.interrupted,
            "failures": self.failures,
            "target": self.target,
            "protocol": self.protocol,
            "settings": self.settings,
            "elapsed_s": round6(self.elapsed_s),
            "operations": self.operations,
            "unit": self.unit(),
            "rate_per_s": self.rate(),
            "latency_us": latency,
            "checks": checks,
            "hold": hold,
            "refused": {"total": self.refused.values().sum::<u64>(), "reasons": self.refused},
            "dropped": {"total": self.dropped.values().sum::<u64>(), "reasons": self.dropped},
            "server": self.server.as_ref().map(proc_json),
            "client": self.client.as_ref().map(proc_json),
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        let settings: Vec<String> = self.settings.iter().map(|(k, v)| setting(k, v)).collect();
        out.push(format!(
            "msgr load {}: {} ({}), {}",
            self.mode,
            self.target,
            self.protocol,
            settings.join(", ")
        ));
        let unit = self.unit();
        match self.rate() {
            Some(rate) => out.push(format!(
                "  {unit:<12} {} in {:.2} s: {}/s",
                thousands(self.operations as f64, 0),
                self.elapsed_s,
                thousands(rate, 1)
            )),
            None => out.push(format!("  {unit:<12} {}", thousands(self.operations as f64, 0))),
        }
        if let Some(l) = self.latency {
            out.push(format!(
                "  latency µs   p50 {}  p90 {}  p99 {}  p99.9 {}  (min {}, mean {}, max {}; {} samples)",
                thousands(l.p50_us, 1),
                thousands(l.p90_us, 1),
                thousands(l.p99_us, 1),
                thousands(l.p999_us, 1),
                thousands(l.min_us, 1),
                thousands(l.mean_us, 1),
                thousands(l.max_us, 1),
                thousands(l.count as f64, 0)
            ));
        }
        if let Some(c) = self.checks {
            let verdict = if c.passed() {
                "every one once, in order and intact".to_string()
            } else {
                format!(
                    "{} lost, {} out of order, {} duplicated, {} corrupt: FAILED {}",
                    thousands(c.lost as f64, 0),
                    thousands(c.out_of_order as f64, 0),
                    thousands(c.duplicated as f64, 0),
                    thousands(c.corrupt as f64, 0),
                    c.failed().join(", ")
                )
            };
            out.push(format!(
                "  checks       {} sent, {} arrived (warm-up included): {verdict}",
                thousands(c.sent as f64, 0),
                thousands(c.received as f64, 0)
            ));
        }
        if let Some(h) = self.hold {
            out.push(format!(
                "  hold         {} of {} signed in over {:.2} s from {} source address{}; {} still held at the end, {} dropped",
                thousands(h.signed_in as f64, 0),
                thousands(h.requested as f64, 0),
                h.ramp_s,
                h.source_addresses,
                if h.source_addresses == 1 { "" } else { "es" },
                thousands(h.held as f64, 0),
                thousands(h.dropped as f64, 0),
            ));
        }
        for (title, reasons) in [("refused", &self.refused), ("dropped", &self.dropped)] {
            for (reason, n) in reasons {
                out.push(format!("  {title:<12} {}: {reason}", thousands(*n as f64, 0)));
            }
        }
        let per = match self.mode {
            Mode::Relay => "message",
            Mode::Rtt => "round trip",
            Mode::Signin => "sign-in",
            Mode::Hold => "client",
        };
        if let Some(s) = self.server {
            let mut line = format!(
                "  server       pid {}: RSS {} kB → {} kB",
                s.pid.unwrap_or(0),
                thousands(s.rss_kb_before as f64, 0),
                thousands(s.rss_kb_after as f64, 0)
            );
            if let Some(h) = self.hold.filter(|h| h.held > 0) {
                let grew = s.rss_kb_after as f64 - s.rss_kb_before as f64;
                if grew > 0.0 {
                    line.push_str(&format!(" ({} kB per client)", small(grew / h.held as f64)));
                } else {
                    line.push_str(" (no growth to share among the clients)");
                }
                if let Some(after) = h.rss_kb_after_close {
                    line.push_str(&format!(", {} kB once they left", thousands(after as f64, 0)));
                }
            }
            if let Some(cpu) = self.cpu_text(s.cpu_us, per) {
                line.push_str(&format!("; {cpu}"));
            }
            out.push(line);
        }
        if let Some(cpu) = self.client.and_then(|c| self.cpu_text(c.cpu_us, per)) {
            out.push(format!("  load gen     {cpu}"));
        }
        for f in &self.failures {
            out.push(format!("  FAILED       {f}"));
        }
        let result = match (self.ok(), self.interrupted) {
            (true, _) => "ok",
            (false, true) => "INTERRUPTED",
            (false, false) => "FAILED",
        };
        out.push(format!("  result       {result}"));
        out.join("\n")
    }
}

/// One setting as the text report's first line shows it: `duration_s` 5.0 as
/// `duration 5 s`, `payload_bytes` as `payload 332 bytes`.
fn setting(key: &str, value: &Value) -> String {
    let shown = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |x| format!("{x}")),
        v => v.to_string(),
    };
    match (key.strip_suffix("_s"), key.strip_suffix("_bytes")) {
        (Some(name), _) => format!("{name} {shown} s"),
        (_, Some(name)) => format!("{name} {shown} bytes"),
        _ => format!("{} {shown}", key.replace('_', " ")),
    }
}

/// Seconds to the microsecond: a rate recomputed from the report agrees with its own.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A positive figure with one decimal or, below 1, with two significant digits:
/// never "0.0" for something that is not nothing.
fn small(x: f64) -> String {
    if x >= 1.0 || x <= 0.0 {
        return thousands(x, 1);
    }
    let decimals = (-x.log10().floor()) as usize + 1;
    if decimals > 6 {
        return "< 0.000001".to_string();
    }
    format!("{x:.decimals$}")
}

/// `1234567.4` as `1,234,567.4` (with `decimals` 1).
fn thousands(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_report() -> Report {
        let mut r = Report::new(Mode::Relay, "127.0.0.1:1863".into(), "MSNP7".into());
        r.settings.insert("pairs".into(), json!(2));
        r.elapsed_s = 2.0;
        r.operations = 1000;
        r.latency = Some(LatencySummary {
            count: 1000,
            min_us: 10.0,
            mean_us: 50.5,
            p50_us: 40.0,
            p90_us: 90.0,
            p99_us: 150.0,
            p999_us: 400.0,
            max_us: 1200.0,
        });
        r.checks = Some(Checks {
            sent: 1100,
            received: 1100,
            ..Checks::default()
        });
        r.server = Some(ProcFigures {
            pid: Some(42),
            cpu_us: 25_000,
            rss_kb_before: 30_000,
            rss_kb_after: 31_000,
        });
        r
    }

    #[test]
    fn json_has_every_field() {
        let v = relay_report().to_json();
        assert_eq!(v["mode"], "relay");
        assert_eq!(v["ok"], true);
        assert_eq!(v["rate_per_s"], 500.0);
        assert_eq!(v["unit"], "messages");
        assert_eq!(v["latency_us"]["p999"], 400.0);
        assert_eq!(v["checks"]["in_order"], true);
        assert_eq!(v["checks"]["intact"], true);
        assert_eq!(v["server"]["pid"], 42);
        assert_eq!(v["server"]["cpu_us_per_op"], 25.0);
        assert_eq!(v["refused"]["total"], 0);
        assert_eq!(v["settings"]["pairs"], 2);
        assert!(v["hold"].is_null() && v["client"].is_null());
        let text = relay_report().to_text();
        assert!(text.contains("1,000 in 2.00 s: 500.0/s"), "{text}");
        assert!(text.contains("every one once, in order and intact"), "{text}");
        assert!(text.contains("25.0 µs CPU per message"), "{text}");
        assert!(text.ends_with("result       ok"), "{text}");
        let mut timed = relay_report();
        timed.settings.insert("duration_s".into(), json!(5.0));
        timed.settings.insert("warmup_s".into(), json!(0.25));
        timed.settings.insert("payload_bytes".into(), json!(332));
        timed.settings.insert("accounts".into(), json!("u{i}@x.org:***"));
        timed.settings.insert("first_account".into(), json!(3));
        let first = timed.to_text().lines().next().unwrap().to_string();
        assert_eq!(
            first,
            "msgr load relay: 127.0.0.1:1863 (MSNP7), accounts u{i}@x.org:***, duration 5 s, \
             first account 3, pairs 2, payload 332 bytes, warmup 0.25 s"
        );
    }

    #[test]
    fn a_lost_message_fails_the_run() {
        let mut r = relay_report();
        r.checks = Some(Checks {
            sent: 1100,
            received: 1099,
            lost: 1,
            ..Checks::default()
        });
        assert!(!r.ok());
        let v = r.to_json();
        assert_eq!(v["ok"], false);
        assert_eq!(v["checks"]["complete"], false);
        assert_eq!(v["checks"]["in_order"], true);
        assert_eq!(v["checks"]["failed"], json!(["loss"]));
        let text = r.to_text();
        assert!(
            text.contains("1 lost, 0 out of order, 0 duplicated, 0 corrupt: FAILED loss"),
            "{text}"
        );
        assert!(text.ends_with("result       FAILED"), "{text}");
        let mut nothing = relay_report();
        nothing.operations = 0;
        assert!(!nothing.ok());
    }

    #[test]
    fn hold_reports_memory_per_client_and_refusals() {
        let mut r = Report::new(Mode::Hold, "127.0.0.1:1863".into(), "MSNP7".into());
        r.operations = 90;
        r.hold = Some(HoldFigures {
            requested: 100,
            signed_in: 90,
            held: 90,
            source_addresses: 1,
            ramp_s: 0.5,
            rss_kb_after_close: Some(31_000),
            ..HoldFigures::default()
        });
        r.refused.insert("closed by the server after VER, no reply".into(), 10);
        r.server = Some(ProcFigures {
            pid: Some(7),
            cpu_us: 9_000,
            rss_kb_before: 30_000,
            rss_kb_after: 30_900,
        });
        let v = r.to_json();
        assert_eq!(v["ok"], false);
        assert_eq!(v["rate_per_s"], Value::Null);
        assert_eq!(v["hold"]["rss_kb_per_client"], 10.0);
        assert_eq!(v["hold"]["refused"], 10);
        assert_eq!(v["refused"]["reasons"]["closed by the server after VER, no reply"], 10);
        let text = r.to_text();
        assert!(text.contains("10: closed by the server after VER, no reply"), "{text}");
        assert!(text.contains("(10.0 kB per client)"), "{text}");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(1234567.25, 1), "1,234,567.2");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(1000.0, 0), "1,000");
        assert_eq!(thousands(-1500.0, 0), "-1,500");
        assert_eq!(thousands(0.0, 1), "0.0");
    }

    #[test]
    fn small_figures_keep_their_digits() {
        assert_eq!(small(25.04), "25.0");
        assert_eq!(small(0.04), "0.040");
        assert_eq!(small(0.0123), "0.012");
        assert_eq!(small(0.5), "0.50");
        assert_eq!(small(1e-9), "< 0.000001");
    }
}
