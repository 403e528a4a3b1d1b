"""``msgr load`` (and ``python -m msgr load``): a load generator that speaks raw MSNP
to any server, msgr's or another's. The work is done in Rust (``src/load``); this
module parses the command line and prints the report. ``msgr docs load`` describes each
mode, option and check.

``run(mode, host, port, **options)`` does the same from Python and returns the report
as a dict (the ``--json`` document)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import _core

__all__ = ["run", "add_load_arguments", "load_main", "MODES"]

MODES = ("relay", "rtt", "signin", "hold")


def run(
    mode: str,
    host: str = "127.0.0.1",
    port: int = 1863,
    *,
    duration: float | None = None,
    count: int | None = None,
    warmup: float | None = None,
    accounts: str | None = None,
    first_account: int = 0,
    pairs: int = 1,
    window: int = 64,
    concurrency: int = 8,
    clients: int = 100,
    source_addresses: int | None = None,
    server_pid: int | None = None,
    allow_remote: bool = False,
    protocol: str = "MSNP7",
    nexus: str | None = None,
    timeout: float = 10.0,
    threads: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Runs one load test against the MSNP server at ``host``:``port`` and returns its
    report, the ``--json`` document, as a dict. Each keyword is the command line's option
    of the same name (``first_account`` is ``--first-account``).

    ``report["ok"]`` is False when a check failed (``report["checks"]["failed"]`` names
    it) or a client was refused or dropped. A bad option raises ``ValueError`` naming the
    option; a server that refuses a sign-in, hangs up or is not there, ``RuntimeError``
    with the server's line or the system's error. Ctrl-C ends the run early: the report
    covers what ran, with ``report["interrupted"]`` True; a second Ctrl-C raises
    ``KeyboardInterrupt`` at once."""
    report_json, _ = _core.load_run(
        mode, host, port, duration=duration, count=count, warmup=warmup, accounts=accounts,
        first_account=first_account, pairs=pairs, window=window, concurrency=concurrency, clients=clients,
        source_addresses=source_addresses, server_pid=server_pid, allow_remote=allow_remote, protocol=protocol, nexus=nexus, timeout=timeout,
        threads=threads, progress=progress,
    )
    report: dict[str, Any] = json.loads(report_json)
    return report


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected seconds, not below 0, got {text!r}")
    return value


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """Gives ``parser`` (the ``load`` subcommand's) its description and options."""
    parser.description = (
        "Load an MSNP server: relay (pairs streaming invitations through switchboards, every message checked), "
        "rtt (INVITE -> ACCEPT round trips), signin (concurrent full sign-ins, MD5 or Passport) or hold "
        "(idle signed-in clients and the server's memory). Accounts come from --accounts; create them on the "
        "server first (msgr serve --users-file). `msgr docs load` has the details."
    )
    parser.add_argument("mode", choices=MODES, help="what to measure")
    parser.add_argument("--host", default="127.0.0.1", help="the server's host (default 127.0.0.1; loopback only unless --allow-remote)")
    parser.add_argument("--port", type=int, default=1863, help="the server's MSNP port (default 1863)")
    bounds = parser.add_argument_group("bounds (default: 5 s measured after a 1 s warm-up)")
    bounds.add_argument("--duration", type=_positive(float), default=None, metavar="SECONDS", help="measure this long (hold: stay signed in this long)")
    bounds.add_argument("--count", type=_positive(int), default=None, metavar="N", help="measure this many operations, all workers together (not for hold)")
    bounds.add_argument("--warmup", type=_seconds, default=None, metavar="SECONDS", help="run unmeasured this long first (default 1; not for hold)")
    modes = parser.add_argument_group("modes")
    modes.add_argument("--pairs", type=_positive(int), default=1, metavar="P", help="relay: pairs of users, one switchboard each (default 1)")
    modes.add_argument("--window", type=_positive(int), default=64, metavar="W", help="relay: messages in flight per pair (default 64)")
    modes.add_argument("--concurrency", type=_positive(int), default=8, metavar="C", help="signin: connections signing in at once; hold: sign-ins at once while ramping up (default 8)")
    modes.add_argument("--clients", type=_positive(int), default=100, metavar="N", help="hold: clients to sign in and keep (default 100)")
    modes.add_argument(
        "--source-addresses", type=_positive(int), default=None, metavar="K",
        help="spread sockets over K loopback addresses, 127.0.0.2 ... 127.0.0.(K+1), about 20,000 connections each; 1 lets the system choose (default: as many as needed)",
    )
    who = parser.add_argument_group("server and accounts")
    who.add_argument(
        "--accounts", default="load{i}@example.com:pw", metavar="PATTERN",
        help="EMAIL:PASSWORD with {i} for the account's index (default load{i}@example.com:pw); "
        "relay pair p uses F+2p and F+2p+1, signin worker w and hold client c F+w and F+c, F being --first-account",
    )
    who.add_argument(
        "--first-account", type=int, default=0, metavar="F",
        help="index of the run's first account (default 0): runs at once, or one run split over several processes, each take their own",
    )
    who.add_argument("--protocol", default="MSNP7", metavar="MSNPn", help="dialect to sign in with (default MSNP7; MSNP8-12 need --nexus)")
    who.add_argument("--nexus", default=None, metavar="URL", help="MSNP8+: the server's Passport nexus (msgr serve prints it)")
    who.add_argument("--server-pid", type=int, default=None, metavar="PID", help="report the server's CPU per operation and its memory, from /proc/PID")
    who.add_argument("--allow-remote", action="store_true", help="allow a server that is not on a loopback address")
    who.add_argument("--timeout", type=_positive(float), default=10.0, metavar="SECONDS", help="longest wait for any one answer (default 10)")
    who.add_argument("--threads", type=_positive(int), default=1, metavar="N", help="worker threads of the load generator (default 1)")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def load_main(args: Any) -> int:
    """Runs ``msgr load``: 0 when every check passed, 1 when one failed or the server
    refused, 2 for a bad option, 130 when Ctrl-C ended it early (the report covers what
    ran; a second Ctrl-C leaves without one)."""
    try:
        report_json, text = _core.load_run(
            args.mode, args.host, args.port, duration=args.duration, count=args.count, warmup=args.warmup,
            accounts=args.accounts, first_account=args.first_account, pairs=args.pairs, window=args.window,
            concurrency=args.concurrency, clients=args.clients, source_addresses=args.source_addresses, server_pid=args.server_pid,
            allow_remote=args.allow_remote, protocol=args.protocol, nexus=args.nexus, timeout=args.timeout,
            threads=args.threads, progress=not args.quiet,
        )
    except ValueError as exc:
        print(f"msgr load: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"msgr load: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("msgr load: interrupted", file=sys.stderr)
        return 130
    print(report_json if args.json else text, flush=True)
    report = json.loads(report_json)
    if report["interrupted"]:
        return 130
    return 0 if report["ok"] else 1
