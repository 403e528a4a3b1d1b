"""One event catalogue: the core exports its event names and arities, ``msgr._events``
is checked against them at import, and an event the package does not describe is an
error, never silently dropped."""

from __future__ import annotations

from typing import Any

import pytest

import msgr
from msgr import _core, _events
from msgr._dispatch import Dispatcher
from msgr.testing import LOCK_CALLBACKS, MANAGER_CALLBACKS, MESSENGER_CALLBACKS, PRIV_CALLBACKS, SESSION_CALLBACKS


def test_the_table_is_the_cores_catalogue() -> None:
    core = dict(_core.event_catalogue())
    assert set(core) == set(_events.ALL_EVENTS)
    assert _events.ARITY == core
    assert core["lock_challenge"] == 2 and core["signed_in"] == 0


def test_the_test_kit_lists_come_from_the_table() -> None:
    table = [LOCK_CALLBACKS, MANAGER_CALLBACKS, SESSION_CALLBACKS, PRIV_CALLBACKS, MESSENGER_CALLBACKS]
    assert sorted(c for group in table for c in group) == sorted(s.callback for s in _events.ALL_EVENTS.values())


Raw = tuple[int, float, int, int | None, str, tuple[Any, ...]]


class _FakeJournal:
    def __init__(self, batch: list[Raw]) -> None:
        self.batch = batch

    def take_events(self) -> list[Raw]:
        batch, self.batch = self.batch, []
        return batch


@pytest.mark.parametrize(
    "event",
    [(0, 0.0, 1, None, "no_such_event", ()), (0, 0.0, 1, None, "signed_out", ()), (0, 0.0, 1, 7, "lock_challenge", (1,))],
    ids=["unknown name", "too few arguments", "wrong arity"],
)
def test_an_event_the_package_does_not_describe_raises(event: Raw) -> None:
    dispatcher = Dispatcher(_FakeJournal([event]), lambda m, o: object())
    with pytest.raises(_events.UnknownEventError, match=event[4]):
        dispatcher.deliver()


def test_a_known_event_for_a_gone_object_is_still_fine() -> None:
    dispatcher = Dispatcher(_FakeJournal([(0, 0.0, 1, 7, "lock_enable", (True,))]), lambda m, o: None)
    dispatcher.deliver()


def test_every_event_a_real_run_fires_is_described(msgr_pair: Any) -> None:
    seen: set[str] = set()
    with msgr.EventLog(msgr_pair.service) as log:
        session = msgr_pair.alice_manager.create_session()
        session.application = msgr_pair.guid
        session.invite("bob@example.com", "hi")
        msgr_pair.service.advance(61)
        seen = {e.callback for e in log}
    assert seen <= {s.callback for s in _events.ALL_EVENTS.values()}
    assert "on_invitation" in seen and "on_termination" in seen
