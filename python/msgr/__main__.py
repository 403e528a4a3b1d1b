"""``python -m msgr demo``: sign in to the embedded service, unlock the session manager
with Lock and Key, and print the events in order and the MSNP lines that crossed.

``python -m msgr serve``: run the MSNP service on a TCP port (``--help`` lists options)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgr
from msgr import cli

APP_ID, APP_KEY = "demo@msnmsgr.com", "DEMOKEY42"


def demo() -> int:
    service = msgr.Service(seed=2001)
    service.license(APP_ID, APP_KEY)
    alice = service.sign_in("alice@example.com")
    manager = alice.session_manager()
    events: list[str] = []

    def log(name: str) -> Any:
        def record(*args: Any) -> None:
            shown = ", ".join(repr(a) for a in args)
            events.append(f"t={service.now:6.2f}s  {type(manager).__name__}.{name}({shown})")
        return record

    manager.on_lock_status_changed = log("on_lock_status_changed")
    manager.on_lock_result = log("on_lock_result")

    def on_lock_challenge(cookie: int, challenge: str) -> None:
        log("on_lock_challenge")(cookie, challenge)
        manager.send_response(APP_ID, msgr.lock_response(challenge, APP_KEY), cookie)

    manager.on_lock_challenge = on_lock_challenge
    print(f"signed in: {alice!r}; the session manager starts {manager.status.name}")
    service.trace.clear()
    manager.request_challenge(cookie=1234)
    print("\nevents, in order:")
    print("\n".join(f"  {e}" for e in events))
    print("\nMSNP on the wire:")
    for entry in service.trace:
        print(f"  {entry.direction}  {entry.line}" + (f"  + {entry.payload.decode()!r}" if entry.payload else ""))
    print(f"\nfinal status: {manager.status.name}")
    return 0 if manager.status == msgr.LockStatus.UNLOCKED else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msgr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="unlock a session manager on the embedded service")
    cli.add_serve_arguments(sub.add_parser("serve", help="run the MSNP service on a TCP port"))
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    if args.command == "serve":
        return cli.serve_main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
