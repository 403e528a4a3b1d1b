"""The figures of docs/load.md: `msgr load` against `msgr serve`, each case run several
times, medians printed as a Markdown table.

    nice target/venv-release/bin/python scripts/load_figures.py [--runs 3] [--cases relay1,hold1k]

Use a release build (`pip install .` or `maturin build --release`); the python that runs
this script runs both the server and the load generator. Each run gets a fresh server, in
a process of its own, with enough accounts for the biggest case and the per-address cap
lifted (a server that had held clients before would reuse their freed memory, and
hold's RSS per client would read near zero). Every run gives `--server-pid`, so the
server's CPU per operation comes from /proc, which is less noisy than wall-clock rates
on a shared machine. Each run's JSON report is kept in --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: name -> the `msgr load` arguments after the mode's (port and pid are added).
CASES: dict[str, list[str]] = {
    "relay1": ["relay", "--pairs", "1", "--window", "64"],
    "relay10": ["relay", "--pairs", "10", "--window", "64"],
    "rtt": ["rtt"],
    "signin8": ["signin", "--concurrency", "8"],
    "hold1k": ["hold", "--clients", "1000", "--duration", "5"],
    "hold10k": ["hold", "--clients", "10000", "--duration", "5", "--concurrency", "32"],
}
ACCOUNTS = 10_000


def start_server(python: str, users: Path) -> tuple[subprocess.Popen[str], int]:
    cmd = [python, "-m", "msgr", "serve", "--port", "0", "--users-file", str(users),
           "--limit", "max_per_address=20000", "--no-stdin"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("msgr: serving MSNP on "):
            return proc, int(line.rsplit(":", 1)[1])
    raise RuntimeError("msgr serve did not start")


def run(python: str, port: int, pid: int, args: list[str]) -> dict[str, Any]:
    cmd = [python, "-m", "msgr", "load", *args, "--port", str(port), "--server-pid", str(pid), "--json", "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    if not report["ok"]:
        print(f"  not ok: {report['failures'][:3]} refused {report['refused']}", file=sys.stderr)
    return report


def median(reports: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for r in reports:
        v: Any = r
        for key in path:
            v = None if v is None else v.get(key)
        if v is not None:
            values.append(float(v))
    return statistics.median(values) if values else None


def fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "msgr-load-figures")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    users = opts.out / "users.txt"
    users.write_text("".join(f"load{i}@example.com:pw\n" for i in range(ACCOUNTS)))
    rows = []
    for name in opts.cases.split(","):
        reports = []
        for k in range(opts.runs):
            server, port = start_server(python, users)
            try:
                # Let the server finish starting (its accounts, its runtime) first.
                time.sleep(1)
                report = run(python, port, server.pid, CASES[name])
            finally:
                server.terminate()
                server.wait(timeout=30)
            (opts.out / f"{name}-{k}.json").write_text(json.dumps(report, indent=1))
            reports.append(report)
            print(f"{name} run {k}: {report['operations']} {report['unit']}, ok {report['ok']}", file=sys.stderr)
        rows.append((name, reports))
    print("| case | ok | rate /s | p50 µs | p99 µs | server CPU µs/op | load gen CPU µs/op | server RSS kB/client | ramp s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, reports in rows:
        ok = sum(r["ok"] for r in reports)
        print(
            f"| {name} | {ok}/{len(reports)} | {fmt(median(reports, 'rate_per_s'), 0)} "
            f"| {fmt(median(reports, 'latency_us', 'p50'))} | {fmt(median(reports, 'latency_us', 'p99'))} "
            f"| {fmt(median(reports, 'server', 'cpu_us_per_op'))} | {fmt(median(reports, 'client', 'cpu_us_per_op'))} "
            f"| {fmt(median(reports, 'hold', 'rss_kb_per_client'))} | {fmt(median(reports, 'hold', 'ramp_s'), 2)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
