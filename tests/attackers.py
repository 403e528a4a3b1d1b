"""Attackers for ``msgr serve``, in a process of their own so that they take no time
from the legitimate client a test measures: ``tests/test_abuse.py`` starts them, and
``scripts/soak.sh`` runs them all at once for minutes.

    python tests/attackers.py KIND --msnp HOST:PORT --nexus URL --seconds S [options]

Each attacker works from loopback addresses of its own (``127.0.<net>.1``,
``127.0.<net>.2``, …; Linux routes all of 127/8 to lo), reopens what the server closes,
at most ``--rate`` new connections a second in all (0, the default: as fast as the
server lets it), and prints one JSON line of what it saw when the time is up:

- ``guess-burst``: wrong Passport passwords for the given accounts, as fast as answers
  come, from ``--addresses`` addresses (one request in flight per address);
- ``guess-slow``: one wrong Passport password a second for ``--accounts``' first
  account, each from the next of ``--addresses`` addresses;
- ``slow-nexus``: ``--connections`` nexus connections that send half a request head
  (or, with ``--tls``, nothing: a TLS handshake never started) and wait;
- ``idle-msnp``: ``--connections`` MSNP sockets that never sign in;
- ``garbage-msnp``: MSNP connections that send what is not MSNP, as fast as they are
  closed."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable


def source(net: int, i: int) -> str:
    """The ``i``-th attacker address of network ``net`` (``127.<net>.x.y``)."""
    return f"127.{net}.{1 + i // 250}.{1 + i % 250}"


class Target:
    def __init__(self, args: argparse.Namespace) -> None:
        host, _, port = args.msnp.rpartition(":")
        self.msnp = (host, int(port))
        nexus = urllib.parse.urlsplit(args.nexus or "http://127.0.0.1:1/")
        self.nexus = (nexus.hostname or "127.0.0.1", nexus.port or 80)
        self.accounts: list[str] = args.accounts
        self.deadline = time.monotonic() + args.seconds
        self.seen: Counter[str] = Counter()
        self.interval = 1 / args.rate if args.rate > 0 else 0.0
        self.next_at = time.monotonic()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def open(self, address: tuple[str, int], src: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self.interval:
            now = time.monotonic()
            self.next_at = max(self.next_at + self.interval, now)
            await asyncio.sleep(self.next_at - now)
        try:
            return await asyncio.wait_for(asyncio.open_connection(*address, local_addr=(src, 0)), 5)
        except (OSError, asyncio.TimeoutError):
            self.seen["connect failed"] += 1
            await asyncio.sleep(0.05)
            return None

    async def login(self, src: str, account: str, password: str) -> None:
        """One Passport login (one connection), counted by its answer."""
        opened = await self.open(self.nexus, src)
        if opened is None:
            return
        reader, writer = opened
        auth = f"Passport1.4 OrgVerb=GET,sign-in={urllib.parse.quote(account)},pwd={urllib.parse.quote(password)},ct=1"
        try:
            writer.write(f"GET /login2.srf HTTP/1.1\r\nHost: nexus\r\nAuthorization: {auth}\r\n\r\n".encode())
            status = (await asyncio.wait_for(reader.readline(), 10)).split(b" ")
            self.seen[f"HTTP {status[1].decode()}" if len(status) > 1 else "closed"] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            self.seen["no answer"] += 1
        finally:
            writer.close()

    async def hold(self, address: tuple[str, int], src: str, first: bytes, what: str) -> None:
        """Opens a connection, sends ``first`` and waits until the server closes it;
        then again, until the time is up."""
        while self.running():
            opened = await self.open(address, src)
            if opened is None:
                continue
            reader, writer = opened
            self.seen[f"{what} opened"] += 1
            try:
                writer.write(first)
                left = self.deadline - time.monotonic()
                if left > 0 and not await asyncio.wait_for(reader.read(4096), left):
                    self.seen[f"{what} closed by the server"] += 1
            except asyncio.TimeoutError:
                pass
            except OSError:
                self.seen[f"{what} closed by the server"] += 1
            finally:
                writer.close()


async def guess_burst(t: Target, args: argparse.Namespace) -> None:
    async def one_address(i: int) -> None:
        src = source(args.net, i)
        while t.running():
            await t.login(src, random.choice(t.accounts), f"wrong-{random.random()}")

    await asyncio.gather(*(one_address(i) for i in range(args.addresses)))


async def guess_slow(t: Target, args: argparse.Namespace) -> None:
    i = 0
    while t.running():
        started = time.monotonic()
        await t.login(source(args.net, i % args.addresses), t.accounts[0], f"wrong-{i}")
        i += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def slow_nexus(t: Target, args: argparse.Namespace) -> None:
    first = b"" if args.tls else b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nex"
    await asyncio.gather(
        *(t.hold(t.nexus, source(args.net, i % args.addresses), first, "nexus") for i in range(args.connections))
    )


async def idle_msnp(t: Target, args: argparse.Namespace) -> None:
    await asyncio.gather(
        *(t.hold(t.msnp, source(args.net, i % args.addresses), b"", "msnp") for i in range(args.connections))
    )


async def garbage_msnp(t: Target, args: argparse.Namespace) -> None:
    async def one_address(i: int) -> None:
        while t.running():
            opened = await t.open(t.msnp, source(args.net, i))
            if opened is None:
                continue
            reader, writer = opened
            try:
                writer.write(b"\xff\xfe not MSNP\r\n")
                await asyncio.wait_for(reader.read(100), 5)
                t.seen["garbage closed"] += 1
            except (OSError, asyncio.TimeoutError):
                t.seen["garbage not closed"] += 1
            finally:
                writer.close()

    await asyncio.gather(*(one_address(i) for i in range(args.addresses)))


KINDS: dict[str, Callable[[Target, argparse.Namespace], Awaitable[None]]] = {
    "guess-burst": guess_burst,
    "guess-slow": guess_slow,
    "slow-nexus": slow_nexus,
    "idle-msnp": idle_msnp,
    "garbage-msnp": garbage_msnp,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--msnp", default="127.0.0.1:1863", metavar="HOST:PORT")
    parser.add_argument("--nexus", default=None, metavar="URL")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--addresses", type=int, default=50)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--accounts", nargs="*", default=["alice@example.com"])
    parser.add_argument("--rate", type=float, default=0.0, help="new connections a second at most, in all (0: no bound)")
    parser.add_argument("--net", type=int, default=100, help="second octet of the attacker addresses (default 100)")
    parser.add_argument("--tls", action="store_true", help="slow-nexus: never start the TLS handshake")
    args = parser.parse_args(argv)
    target = Target(args)
    try:
        asyncio.run(asyncio.wait_for(KINDS[args.kind](target, args), args.seconds + 15))
    except asyncio.TimeoutError:
        target.seen["ran over"] += 1
    print(json.dumps({"kind": args.kind, "seen": dict(target.seen)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
