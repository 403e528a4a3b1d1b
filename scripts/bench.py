"""Python-level benchmarks of msgr (embedded mode): `.venv/bin/python scripts/bench.py`.

Each case runs for about a second; the figures include the pyo3 crossing and the
Python callbacks, i.e. what a conformance suite or a notebook pays.
"""

from __future__ import annotations

import time
from typing import Callable

import msgr

APP, KEY = "bench@msnmsgr.com", "BENCHKEY"
GUID = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"


def bench(name: str, op: Callable[[], int]) -> None:
    start = time.perf_counter()
    ops = 0
    while time.perf_counter() - start < 1.0:
        ops += op()
    secs = time.perf_counter() - start
    print(f"{name:<46} {ops / secs:>10.0f} ops/s {secs * 1e6 / ops:>10.1f} µs/op")


def unlock(obj: msgr.MsgrLock) -> None:
    obj.on_lock_challenge = lambda c, ch: obj.send_response(APP, msgr.lock_response(ch, KEY), c)
    obj.request_challenge(1)


def main() -> None:
    bench("lock_response", lambda: (msgr.lock_response("22299241447072743325", KEY), 1)[1])

    def sign_ins() -> int:
        service = msgr.Service(seed=1)
        for i in range(20):
            service.sign_in(f"user{i}@example.com")
        return 20

    bench("Service.sign_in (MSNP7 over the in-memory link)", sign_ins)

    service = msgr.Service(seed=1)
    service.license(APP, KEY)
    alice = service.sign_in("alice@example.com")

    def unlocks() -> int:
        for _ in range(50):
            unlock(alice.session_manager())
        return 50

    bench("full Lock and Key unlock with callbacks", unlocks)

    bob = service.sign_in("bob@example.com")
    am, bm = alice.session_manager(), bob.session_manager()
    unlock(am)
    unlock(bm)
    am.register_application(GUID, "Bench", "", "/usr/bin/bench")
    bm.register_application(GUID, "Bench", "", "/usr/bin/bench")
    bm.on_invitation = lambda session, data: session.accept()

    def invitations() -> int:
        for _ in range(20):
            s = am.create_session()
            s.application = GUID
            s.invite("bob@example.com", "x")
            s.send_context_data("ctx")
        service.trace.clear()
        return 20

    bench("invite -> accept -> connected + context data", invitations)
    bench("len(service.trace) after clear", lambda: (len(service.trace), 1)[1])


if __name__ == "__main__":
    main()
