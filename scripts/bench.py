"""Python-level benchmarks of msgr (embedded mode): `.venv/bin/python scripts/bench.py`.

The figures include the pyo3 crossing and the Python callbacks, i.e. what a conformance
suite or a notebook pays. Measure a release build (`pip install .` into a venv of its
own); the editable install's debug core is several times slower.

Each case runs in rounds; a row is the median over its rounds of the cost per call, as
wall-clock time and as this thread's CPU time. On a machine busy with other work the
wall clock mostly measures the others, so compare CPU times there and give the load
(printed at the top, and in `--json`).

  --quick   a few calls per case and the scaling table at 10 and 100 Messengers only:
            CI runs it once so the script never rots (it checks nothing about times)
  --json    one JSON document instead of the table
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import msgr

APP, KEY = "bench@msnmsgr.com", "BENCHKEY"
GUID = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"


@dataclass
class Row:
    name: str
    calls: int
    wall_us: float
    cpu_us: float


@dataclass
class Settings:
    rounds: int
    #: Seconds each round runs for (at least one batch).
    round_secs: float
    scale: tuple[int, ...]


FULL = Settings(rounds=7, round_secs=0.15, scale=(10, 100, 1_000, 10_000))
QUICK = Settings(rounds=1, round_secs=0.0, scale=(10, 100))


def measure(name: str, op: Callable[[], int], s: Settings) -> Row:
    """``op`` runs a batch and returns how many calls it made."""
    walls, cpus, total = [], [], 0
    for _ in range(s.rounds):
        calls, wall, cpu = 0, 0.0, 0.0
        while True:
            w, c = time.perf_counter(), time.thread_time()
            calls += op()
            cpu += time.thread_time() - c
            wall += time.perf_counter() - w
            if wall >= s.round_secs:
                break
        walls.append(wall / calls * 1e6)
        cpus.append(cpu / calls * 1e6)
        total += calls
    return Row(name, total, statistics.median(walls), statistics.median(cpus))


# ---- msgr ---------------------------------------------------------------------------


def unlock(obj: msgr.MsgrLock) -> None:
    obj.on_lock_challenge = lambda c, ch: obj.send_response(APP, msgr.lock_response(ch, KEY), c)
    obj.request_challenge(1)


def ready_manager(messenger: msgr.Messenger) -> msgr.MsgrSessionManager:
    manager = messenger.session_manager()
    unlock(manager)
    manager.register_application(GUID, "Bench", "", "/usr/bin/bench")
    manager.on_invitation = lambda session, data: session.accept()
    return manager


def invite_once(inviter: msgr.MsgrSessionManager, invitee: str) -> None:
    """Create -> invite -> accepted inside on_invitation -> connected, then context data."""
    session = inviter.create_session()
    session.application = GUID
    session.invite(invitee, "x")
    session.send_context_data("ctx")


# ---- the same unlock in plain Python ---------------------------------------------------


class PlainService:
    """What the lock server does for Lock and Key, in dicts: licences and challenges."""

    def __init__(self) -> None:
        self.licenses = {APP: KEY}
        self._numbers = itertools.count(10**19)

    def challenge(self) -> str:
        return str(next(self._numbers))


def plain_response(challenge: str, key: str) -> str:
    return hashlib.md5((challenge + key).encode()).hexdigest()


class PlainLock:
    """An ``IMsgrLock`` in plain Python: the same calls, callbacks and status changes as
    ``msgr.MsgrLock``, with nothing on a wire."""

    def __init__(self, service: PlainService) -> None:
        self._service = service
        self._challenge: str | None = None
        self.status = msgr.LockStatus.INITIALIZED
        self.on_lock_challenge: Callable[[int, str], object] | None = None
        self.on_lock_result: Callable[[int, bool], object] | None = None
        self.on_lock_status_changed: Callable[[msgr.LockStatus], object] | None = None

    def _status(self, status: msgr.LockStatus) -> None:
        self.status = status
        if self.on_lock_status_changed is not None:
            self.on_lock_status_changed(status)

    def request_challenge(self, cookie: int) -> None:
        if self.status != msgr.LockStatus.INITIALIZED:
            raise RuntimeError("MSGR_E_API_ALREADY_UNLOCKED")
        self._challenge = self._service.challenge()
        self._status(msgr.LockStatus.PENDINGRESULT)
        if self.on_lock_challenge is not None:
            self.on_lock_challenge(cookie, self._challenge)

    def send_response(self, app_id: str, response: str, cookie: int) -> None:
        key = self._service.licenses.get(app_id)
        assert self._challenge is not None
        ok = key is not None and plain_response(self._challenge, key) == response
        if self.on_lock_result is not None:
            self.on_lock_result(cookie, ok)
        self._status(msgr.LockStatus.UNLOCKED if ok else msgr.LockStatus.UNLOCKFAILED)


def plain_unlock(obj: PlainLock) -> None:
    obj.on_lock_challenge = lambda c, ch: obj.send_response(APP, plain_response(ch, KEY), c)
    obj.request_challenge(1)


# ---- cases ----------------------------------------------------------------------------


def unlock_rows(s: Settings) -> list[Row]:
    service = msgr.Service(seed=1)
    service.license(APP, KEY)
    alice = service.sign_in("alice@example.com")
    batch = 1 if s is QUICK else 50

    def unlocks() -> int:
        for _ in range(batch):
            unlock(alice.session_manager())
        return batch

    plain = PlainService()

    def plain_unlocks() -> int:
        for _ in range(batch):
            plain_unlock(PlainLock(plain))
        return batch

    # Interleaved, so both see the same machine.
    core, py = [], []
    for _ in range(s.rounds):
        one = Settings(1, s.round_secs, ())
        core.append(measure("", unlocks, one))
        py.append(measure("", plain_unlocks, one))
    rows = []
    for name, runs in (
        ("full Lock and Key unlock with callbacks", core),
        ("the same unlock in plain Python (hashlib, dicts)", py),
    ):
        rows.append(Row(name, sum(r.calls for r in runs), statistics.median(r.wall_us for r in runs),
                        statistics.median(r.cpu_us for r in runs)))
    m, p = rows
    rows.append(Row("  ratio msgr / plain Python", 0, m.wall_us / p.wall_us, m.cpu_us / p.cpu_us))
    return rows


def invite_row(s: Settings) -> Row:
    service = msgr.Service(seed=1)
    service.license(APP, KEY)
    alice, bob = service.sign_in("alice@example.com"), service.sign_in("bob@example.com")
    am, bm = ready_manager(alice), ready_manager(bob)
    batch = 1 if s is QUICK else 20

    def invitations() -> int:
        for _ in range(batch):
            invite_once(am, "bob@example.com")
        service.trace.clear()
        return batch

    row = measure("invite -> accept -> connected + context data", invitations, s)
    assert bm.status == msgr.LockStatus.UNLOCKED
    return row


def scaling_rows(s: Settings) -> list[Row]:
    """Per-call cost with n Messengers signed in to one Service: unlocks go round the
    first 100 of them, invitations round 5 pairs; then an unlock by a Messenger whose
    app holds n unlocked objects."""
    rows = []
    for n in s.scale:
        service = msgr.Service(seed=1, trace_limit=10_000)
        service.license(APP, KEY)
        messengers = [service.sign_in(f"user{i}@example.com") for i in range(n)]
        users = itertools.cycle(messengers[:100])
        managers = [ready_manager(m) for m in messengers[: min(n, 10)]]
        turns = itertools.cycle([(managers[i], messengers[i + 1].sign_in_name) for i in range(0, len(managers), 2)])
        batch = 1 if s is QUICK else 20

        def unlocks() -> int:
            for _ in range(batch):
                unlock(next(users).session_manager())
            return batch

        def invitations() -> int:
            for _ in range(batch):
                invite_once(*next(turns))
            return batch

        rows.append(measure(f"unlock, {n:,} Messengers signed in", unlocks, s))
        rows.append(measure(f"invite -> connected + context, {n:,} Messengers", invitations, s))
        service.close()
        rows.append(held_row(n, s))
    return rows


def held_row(n: int, s: Settings) -> Row:
    """An unlock by a Messenger whose app holds n unlocked objects."""
    service = msgr.Service(seed=1)
    service.license(APP, KEY)
    alice = service.sign_in("alice@example.com")
    held = []
    for _ in range(n):
        obj = alice.session_manager()
        unlock(obj)
        held.append(obj)
    batch = 1 if s is QUICK else 20

    def unlocks() -> int:
        for _ in range(batch):
            unlock(alice.session_manager())
        return batch

    row = measure(f"unlock, {n:,} unlocked objects held", unlocks, s)
    assert all(o.status == msgr.LockStatus.UNLOCKED for o in held[:10])
    service.close()
    return row


def run(s: Settings) -> list[Row]:
    rows = [measure("lock_response", lambda: (msgr.lock_response("22299241447072743325", KEY), 1)[1], s)]

    def sign_ins() -> int:
        service = msgr.Service(seed=1)
        count = 2 if s is QUICK else 20
        for i in range(count):
            service.sign_in(f"user{i}@example.com")
        return count

    rows.append(measure("Service.sign_in (MSNP7 over the in-memory link)", sign_ins, s))
    rows += unlock_rows(s)
    rows.append(invite_row(s))
    rows += scaling_rows(s)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny iterations, for CI")
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    load_before = os.getloadavg()
    rows = run(settings)
    meta: dict[str, Any] = {
        "python": sys.version.split()[0],
        "msgr": msgr._core.__version__,
        "quick": args.quick,
        "rounds": settings.rounds,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1))
        return
    print(f"load average {load_before[0]:.2f} before, {meta['load_after'][0]:.2f} after; "
          f"medians of {settings.rounds} rounds")
    print(f"{'':<52} {'wall µs/call':>13} {'CPU µs/call':>12}")
    for r in rows:
        if r.calls == 0:
            print(f"{r.name:<52} {r.wall_us:>12.2f}x {r.cpu_us:>11.2f}x")
        else:
            print(f"{r.name:<52} {r.wall_us:>13.2f} {r.cpu_us:>12.2f}")


if __name__ == "__main__":
    main()
