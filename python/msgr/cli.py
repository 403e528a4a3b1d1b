"""``msgr serve`` (and ``python -m msgr serve``): the MSNP service on a TCP port, with
admin lines on stdin, its log with ``-v`` and every MSNP line with ``--trace``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, TextIO

from . import _core
from ._masking import masked_args
from .errors import InvalidArgError, MsgrError
from .net import ServerHandle, serve
from .passwords import hash_password, hash_users_lines
from .trace import TraceEntry

__all__ = ["add_serve_arguments", "serve_main", "masked", "add_hash_arguments", "hash_main"]


def _pair(what: str) -> Callable[[str], tuple[str, str]]:
    def parse(text: str) -> tuple[str, str]:
        left, sep, right = text.partition(":")
        if not sep or not left or not right:
            raise argparse.ArgumentTypeError(f"expected {what.upper()}, got {text!r}")
        return left, right

    return parse


def _limit(text: str) -> tuple[str, float | tuple[int, float]]:
    """``--limit NAME=VALUE``: seconds or a count, or ``BURST/SECONDS`` for a rate."""
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        if "/" in value:
            burst, seconds = value.split("/", 1)
            return name.strip(), (int(burst), float(seconds))
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER or NAME=BURST/SECONDS, got {text!r}") from None


def _secret_lines(path: str | None, variable: str, shape: str) -> list[tuple[str, ...]]:
    """Secrets kept off the command line (where `ps` shows them): ``EMAIL:PASSWORD`` or
    ``ID:KEY`` lines (everything after the first colon is the secret) from a file, and
    from the environment variable, one per line (a comma may be part of a secret). Blank
    lines and ``#`` comments are skipped."""
    texts = []
    if path:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    texts.append(os.environ.get(variable, ""))
    found: list[tuple[str, ...]] = []
    for text in texts:
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":", 1)
            if len(parts) < 2 or not all(parts[:2]):
                where = variable if text is texts[-1] else path
                raise ValueError(f"{where}: expected {shape} lines, got {line!r}")
            found.append(tuple(parts))
    return found


def _names(text: str) -> list[str]:
    """``--protocols``: comma-separated names (``serve()`` checks each one)."""
    return [name.strip() for name in text.split(",")]


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1863, help="TCP port; 0 picks a free one (default 1863)")
    parser.add_argument(
        "--lock-and-key", default="enabled", choices=("enabled", "disabled", "off"),
        help="enabled: objects start locked and unlock with a licensed id/key (default); "
        "disabled: the Lock and Key API answers ApiDisabledError; off: nothing is locked, as on servers without it",
    )
    parser.add_argument(
        "--user", action="append", default=[], type=_pair("email:password"), metavar="EMAIL:PASSWORD",
        help="create an account, or set its password if it exists (repeatable; shows in ps: prefer --users-file)",
    )
    parser.add_argument("--users-file", default=None, metavar="FILE", help="accounts as EMAIL:PASSWORD lines (also $MSGR_USERS)")
    parser.add_argument("--licenses-file", default=None, metavar="FILE", help="app id/key pairs as ID:KEY lines (also $MSGR_LICENSES)")
    parser.add_argument(
        "--limit", action="append", default=[], type=_limit, metavar="NAME=VALUE",
        help="change a limit (seconds, a count, or BURST/SECONDS for a rate; `msgr docs security` lists them; repeatable)",
    )
    parser.add_argument("--license", action="append", default=[], type=_pair("id:key"), metavar="ID:KEY", help="license an app id/key pair (repeatable)")
    parser.add_argument(
        "--seed", type=int, default=None,
        help="seed challenges, salts and cookies: reproducible runs for tests only (they repeat across restarts)",
    )
    parser.add_argument("--db", default=None, help="SQLite file that keeps accounts, licences and lists")
    parser.add_argument("--advertise", default=None, metavar="HOST", help="host named in switchboard referrals and nexus URLs (default: the bound address)")
    parser.add_argument(
        "--protocols", default=None, type=_names, metavar="MSNP7,MSNP11",
        help="MSNP dialects to agree to, comma-separated, any case (default: every one msgr implements)",
    )
    parser.add_argument("--nexus-port", type=int, default=0, metavar="PORT", help="TCP port of the Passport nexus (MSNP8+ sign-in); 0 picks a free one (default 0)")
    parser.add_argument("--tls-cert", default=None, metavar="PEM", help="serve the nexus over HTTPS with this certificate chain (needs --tls-key)")
    parser.add_argument("--tls-key", default=None, metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument(
        "--no-stdin", action="store_true",
        help="read no admin lines from stdin (it serves until SIGTERM or Ctrl-C either way; the end of stdin is not quit)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections, sign-ins, sign-outs and protocol errors")
    parser.add_argument("--trace", action="store_true", help="print every MSNP line (secrets masked)")


_ADMIN_HELP = "commands: user EMAIL PASSWORD [FRIENDLY NAME] | license ID KEY | users | alert EMAIL SITE_ID TEXT | quit"


def _admin(handle: ServerHandle, line: str) -> bool:
    """Runs one admin line from stdin; False once asked to quit."""
    words = line.split()
    if not words:
        return True
    command, rest = words[0].lower(), words[1:]
    try:
        if command == "quit" or command == "exit":
            return False
        if command == "user" and len(rest) >= 2:
            handle.add_user(rest[0], rest[1], " ".join(rest[2:]) or None, exist_ok=True)
            print(f"ok: user {rest[0]}", flush=True)
        elif command == "license" and len(rest) == 2:
            handle.license(rest[0], rest[1])
            print(f"ok: license {rest[0]}", flush=True)
        elif command == "alert" and len(rest) >= 3 and rest[1].lstrip("-").isdigit():
            sent = handle.send_alert(rest[0], int(rest[1]), line.rstrip("\r\n").split(None, 3)[3])
            print(f"ok: alert sent to {rest[0]}" if sent else f"error: {rest[0]} is not signed in", flush=True)
        elif command == "users" and not rest:
            for email, friendly in sorted(handle.users.items()):
                online = "online" if handle.is_online(email) else "offline"
                print(f"{email}\t{online}\t{friendly}", flush=True)
            print(f"ok: {len(handle.users)} users", flush=True)
        else:
            print(f"error: {_ADMIN_HELP}", flush=True)
    except MsgrError as exc:
        print(f"error: {exc}", flush=True)
    return True


def masked(entry: TraceEntry) -> str:
    """A trace line as ``--trace`` prints it: what proves a password or a key, or lets
    its reader in (a ``USR … S`` proof or ticket, a ``QRY`` answer, a switchboard
    cookie) is shown as ``***``."""
    args = masked_args(entry.command, entry.args, entry.direction)
    line = " ".join((entry.command, *args))
    if entry.payload is None:
        return line
    if entry.command == "QRY":
        return f"{line} +***"
    text = entry.payload.decode("utf-8", "replace").replace("\r\n", "\\r\\n")
    return f"{line} +{text[:200]}{'...' if len(text) > 200 else ''}"


def _print_trace(handle: ServerHandle, out: TextIO, stop: threading.Event) -> None:
    """Prints new trace entries as they come (``--trace``), and what is left once told
    to stop, so the last lines before ``quit`` are not lost."""
    after = 0
    while True:
        stopping = stop.wait(0.05)
        for row in handle._journal.trace_since(after):
            seq, time_, conn, user, direction, command, args, payload, raw = row
            entry = TraceEntry(seq, time_, conn, user, direction, command, tuple(args), payload, raw)
            after = entry.seq + 1
            who = f" {entry.user}" if entry.user else ""
            print(f"msgr: #{entry.conn}{who} {entry.direction} {masked(entry)}", file=out, flush=True)
        if stopping:
            return


def serve_main(args: Any) -> int:
    """``msgr serve``: prints the bound address and the nexus URL, then serves until a
    ``quit`` line on stdin, Ctrl-C or SIGTERM, and closes cleanly (clients told, writes
    flushed, exit 0). The end of stdin does not stop it, so it runs unattended."""
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s msgr: %(name)s: %(message)s", stream=sys.stderr)
    else:
        # Nothing shows INFO records without -v; handing each one to Python's logging
        # would take the GIL per connection and sign-in (docs/bench-tcp.md).
        _core.set_log_level("warning")
    try:
        users = args.user + _secret_lines(args.users_file, "MSGR_USERS", "EMAIL:PASSWORD")
        licenses = args.license + _secret_lines(args.licenses_file, "MSGR_LICENSES", "ID:KEY")
    except (OSError, ValueError) as exc:
        print(f"msgr: {exc}", file=sys.stderr)
        return 2
    try:
        handle = serve(
            args.host, args.port, lock_and_key=args.lock_and_key, seed=args.seed, db=args.db,
            users=users, licenses=licenses, advertise=args.advertise, protocols=args.protocols,
            tls_cert=args.tls_cert, tls_key=args.tls_key, nexus_port=args.nexus_port, limits=dict(args.limit),
            # Only --trace reads the trace: without it, keeping one would copy every
            # message the server relays (docs/bench-tcp.md).
            trace_limit=None if args.trace else 0,
        )
    except InvalidArgError as exc:
        # A bad option (an unknown limit, a bad protocol name…), not the address.
        print(f"msgr: {exc}", file=sys.stderr)
        return 2
    except (MsgrError, OSError) as exc:
        print(f"msgr: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts a background job (`msgr serve &`) with SIGINT ignored,
    # and `kill -INT` should still stop it cleanly.
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    tracing = threading.Event()
    printer = threading.Thread(target=_print_trace, args=(handle, sys.stdout, tracing), daemon=True, name="msgr-trace")
    if args.trace:
        printer.start()
    with handle:
        host, port = handle.address
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        print(f"msgr: serving MSNP on {shown}", flush=True)
        print(f"msgr: Passport nexus at {handle.nexus_url}", flush=True)
        if args.seed is not None:
            print("msgr: seeded: challenges, salts and cookies repeat across restarts; for tests only", file=sys.stderr, flush=True)
        try:
            if not args.no_stdin:
                print(f"msgr: {_ADMIN_HELP}", flush=True)
                for line in sys.stdin:
                    if not _admin(handle, line):
                        raise KeyboardInterrupt
                # The end of stdin (nohup, systemd, `&` in a script, docker without -i)
                # is not `quit`: serve on until a signal.
                print("msgr: stdin closed; serving until SIGTERM or Ctrl-C", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            tracing.set()
            if printer.is_alive():
                printer.join(5)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("msgr: stopped", flush=True)
    return 0


def add_hash_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "users_file", nargs="?", default=None, metavar="USERS_FILE",
        help="print this users file (EMAIL:PASSWORD lines; - for stdin) with every password hashed; "
        "without it, hash one password (asked for twice on a terminal, else the first line of stdin)",
    )


def hash_main(args: Any) -> int:
    """``msgr hash-password``: Argon2id hashes that ``--users-file``, ``$MSGR_USERS``
    and the admin ``user`` line take in place of passwords (where MSNP7 is not served)."""
    try:
        if args.users_file is not None:
            if args.users_file == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(args.users_file, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            for line in hash_users_lines(lines):
                print(line)
            return 0
        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                print("msgr: the two passwords differ", file=sys.stderr)
                return 2
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        print(hash_password(password))
        return 0
    except (OSError, MsgrError) as exc:
        print(f"msgr: {exc}", file=sys.stderr)
        return 2
