"""What ``help()`` shows: every public class, function, method, property and callback
has a docstring of its own, and none cites a document the user does not have."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import msgr
import msgr.aio
import msgr.testing
import msgr.testing.wire
from msgr._callback import Callback
from msgr._events import ALL_EVENTS

# Section signs, our reference files, and the codes of their open points ("C18").
PRIVATE_REFERENCE = re.compile(r"§|msnp\.md|msgrpriv\.md|design\.md|\bdesign §|\breference §|\bC\d{1,2}\b")


def _members(module: ModuleType) -> Iterator[tuple[str, Any]]:
    yield module.__name__, module
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, (str, int, float, tuple, frozenset, dict)):
            continue
        yield f"{module.__name__}.{name}", obj
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for attr, value in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, property):
                yield f"{module.__name__}.{name}.{attr}", value.fget
            elif isinstance(value, (staticmethod, classmethod)):
                yield f"{module.__name__}.{name}.{attr}", value.__func__
            elif inspect.isfunction(value) or isinstance(value, Callback):
                yield f"{module.__name__}.{name}.{attr}", value


PUBLIC = dict(m for module in (msgr, msgr.aio, msgr.testing, msgr.testing.wire) for m in _members(module))


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_member_has_its_own_docstring(name: str) -> None:
    obj = PUBLIC[name]
    doc = obj.__doc__ if isinstance(obj, Callback) else inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"
    assert not PRIVATE_REFERENCE.search(doc), f"{name} cites {PRIVATE_REFERENCE.findall(doc)}"


def _event_sources() -> list[type]:
    return [msgr.MsgrLock, msgr.MsgrSessionManager, msgr.MessengerPriv, msgr.MsgrSession, msgr.Messenger]


@pytest.mark.parametrize("cls", _event_sources(), ids=lambda c: c.__name__)
def test_every_callback_is_a_documented_attribute_naming_its_com_event(cls: type) -> None:
    fired = cls._callbacks  # type: ignore[attr-defined]
    assert fired
    for name in fired:
        callback = getattr(cls, name)
        assert isinstance(callback, Callback), name
        com = next(spec.com for spec in ALL_EVENTS.values() if spec.callback == name)
        doc = callback.__doc__ or ""
        assert f"``{name}(" in doc and f"({com})" in doc, name


def test_help_of_a_session_documents_its_callbacks_and_members() -> None:
    text = pydoc_text(msgr.MsgrSession)
    for needle in ("on_state_changed", "carries the state *before* it", "before_app_launch", "Return ``False``",
                   "accept(self", "SessionStateInvalidError", "session_id"):
        assert needle in text


def pydoc_text(obj: object) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)  # type: ignore[attr-defined]


def test_a_callback_reads_none_until_set_and_refuses_what_cannot_be_called(msgr_pair: Any) -> None:
    manager = msgr_pair.alice_manager
    assert type(manager).on_invitation.__doc__
    fresh: msgr.MsgrSessionManager = msgr_pair.bob.session_manager()
    assert fresh.on_app_registered is None
    fresh.on_app_registered = print
    assert fresh.on_app_registered is print
    with pytest.raises(TypeError, match="on_app_registered must be callable or None, not int"):
        fresh.on_app_registered = 5  # type: ignore[assignment]
    assert fresh.on_app_registered is print
    del fresh.on_app_registered
    assert fresh.on_app_registered is None
    with pytest.raises(AttributeError, match="no event 'on_app_registerd'"):
        setattr(fresh, "on_app_registerd", print)
