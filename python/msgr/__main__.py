"""msgr: the Windows Messenger 4.x service APIs, with a Messenger service that speaks MSNP.

Commands: demo (two users unlock Lock and Key and start a session), serve (the MSNP
service on a TCP port), load (load an MSNP server), conformance (the conformance suite's
cases and reports), hash-password (hashes for a users file), docs (the documents help
texts cite)."""

from __future__ import annotations

import argparse
import sys

import msgr
from msgr import cli
from msgr import load as load_cli
from msgr.docs_cli import add_docs_arguments, docs_main
from msgr.conformance.cli import add_conformance_arguments, conformance_main

APP_ID, APP_KEY = "demo@msnmsgr.com", "DEMOKEY42"
CHESS = "{5D3E02AB-6190-11D3-BBBB-00C04F795683}"


def _unlocked_manager(user: msgr.Messenger) -> msgr.MsgrSessionManager:
    manager = user.session_manager()
    manager.on_lock_challenge = lambda cookie, challenge: manager.send_response(
        APP_ID, msgr.lock_response(challenge, APP_KEY), cookie
    )
    manager.request_challenge(cookie=1234)
    manager.register_application(CHESS, "Chess", "http://example.com/chess", "/usr/games/chess")
    return manager


def _chapter(title: str, service: msgr.Service, log: msgr.EventLog) -> None:
    print(f"\n{title}\n")
    print(log.timeline(service.trace))
    service.trace.clear()
    log.clear()


def demo() -> int:
    service = msgr.Service(seed=2001)
    service.license(APP_ID, APP_KEY)
    alice, bob = service.sign_in("alice@example.com"), service.sign_in("bob@example.com")
    print(f"signed in to the embedded service: {alice.sign_in_name}, {bob.sign_in_name}")
    print("columns: seq (shared by events and wire lines), virtual time, then an event or a wire line")
    service.trace.clear()
    with msgr.EventLog(service) as log:
        alice_manager, bob_manager = _unlocked_manager(alice), _unlocked_manager(bob)
        _chapter("1. Lock and Key: each session manager requests a challenge and answers it", service, log)

        bob_manager.on_invitation = lambda session, app_data: session.accept("ready when you are")
        session = alice_manager.create_session()
        session.application = CHESS
        session.invite("bob@example.com", "fancy a game?")
        _chapter("2. Session Invite: alice invites bob to Chess through a switchboard; bob accepts", service, log)

    print(f"\nsession managers: alice {alice_manager.status.name}, bob {bob_manager.status.name}")
    print(f"alice's session: {session.state.name}, peer address {session.remote_address}")
    unlocked = all(m.status == msgr.LockStatus.UNLOCKED for m in (alice_manager, bob_manager))
    ok = unlocked and session.state == msgr.SessionState.CONNECTED
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msgr", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"msgr {msgr.__version__} (the msgrpriv distribution)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="unlock a session manager on the embedded service")
    cli.add_serve_arguments(sub.add_parser("serve", help="run the MSNP service on a TCP port"))
    cli.add_hash_arguments(sub.add_parser("hash-password", help="hash passwords for --users-file (Argon2id, as the server keeps them)"))
    load_cli.add_load_arguments(sub.add_parser("load", help="load an MSNP server and report what it sustains"))
    add_conformance_arguments(sub.add_parser("conformance", help="list the conformance suite's cases, or compare its reports"))
    add_docs_arguments(sub.add_parser("docs", help="print a document that help texts cite (without a name: the list)"))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        return demo()
    if args.command == "serve":
        return cli.serve_main(args)
    if args.command == "hash-password":
        return cli.hash_main(args)
    if args.command == "load":
        return load_cli.load_main(args)
    if args.command == "conformance":
        return conformance_main(args)
    if args.command == "docs":
        return docs_main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
