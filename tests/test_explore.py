"""The exploration kit: EventLog, trace tables, state machines as data and pictures,
reprs, and the same tools over the network."""

from __future__ import annotations

import re
import sys
import types
from typing import Any

import pytest

import msgr
from msgr.diagram import lock_transitions, session_transitions
from msgr.eventlog import HTML_ROWS as LOG_ROWS
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, TEST_GUID, make_pair, unlock
from msgr.trace import HTML_ROWS as TRACE_ROWS


# ---- EventLog ------------------------------------------------------------------------------


def test_event_log_of_a_service_sees_every_object_in_delivery_order() -> None:
    pair = make_pair()
    log = msgr.EventLog(pair.service)
    session = pair.invite_and_accept()
    assert log.names() == [
        "OnStateChanged",
        "OnInvitation",
        "OnStateChanged",
        "BeforeAppLaunch",
        "OnStateChanged",
        "OnAccepted",
        "OnStateChanged",
        "OnReadyToLaunch",
        "OnStateChanged",
    ]
    assert [e.source for e in log.filter("OnAccepted")] == [session]
    assert log[1].source is pair.bob_manager and log[1].args[1] == "hello"
    assert all(e.time == 0.0 for e in log)
    pair.service.advance(2.5)
    session.send_context_data("x")
    assert log[-1].event == "OnContextData" and log[-1].time == 2.5


def test_event_log_of_one_object_and_of_a_messenger() -> None:
    pair = make_pair()
    manager_log = msgr.EventLog(pair.bob_manager)
    bob_log = msgr.EventLog(pair.bob)
    pair.invite_and_accept()
    assert manager_log.names() == ["OnInvitation"]
    assert {type(e.source).__name__ for e in bob_log} == {"MsgrSessionManager", "MsgrSession"}
    pair.bob.sign_out()
    assert bob_log.names()[-3:] == ["OnAppShutdown", "OnLockStatusChanged", "OnSignout"]


def test_event_log_detaches_and_clears() -> None:
    pair = make_pair()
    with msgr.EventLog(pair.service) as log:
        pair.invite_and_accept()
    n = len(log)
    pair.invite_and_accept()
    assert len(log) == n
    log.clear()
    assert len(log) == 0 and list(log) == []


def test_event_log_needs_a_source() -> None:
    with pytest.raises(TypeError):
        msgr.EventLog()
    with pytest.raises(TypeError):
        msgr.EventLog(object())


def test_event_log_records_and_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    log = msgr.EventLog(pair.alice_manager)
    pair.invite_and_accept()
    assert log.to_records() == []
    log = msgr.EventLog(pair.bob_manager)
    pair.invite_and_accept("again")
    (record,) = log.to_records()
    assert record["event"] == "OnInvitation" and record["source"] == "MsgrSessionManager[bob@example.com]"
    assert record["args"][1] == "again" and record["state"] == "SessionState.INVITATION"
    made: list[tuple[Any, Any]] = []
    fake = types.SimpleNamespace(DataFrame=types.SimpleNamespace(from_records=lambda rows, columns: made.append((rows, columns)) or "frame"))
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert log.to_pandas() == "frame"
    assert made == [(log.to_records(), ["seq", "time", "source", "event", "state", "args"])]


def test_event_log_renders_escaped_and_truncated() -> None:
    pair = make_pair()
    log = msgr.EventLog(pair.service)
    for _ in range(LOG_ROWS // 8 + 2):
        pair.invite_and_accept("<b>&</b>")
    html = log._repr_html_()
    assert "<b>&amp;" not in html and "&lt;b&gt;&amp;&lt;/b&gt;" in html
    assert html.count("<tr>") == LOG_ROWS + 2  # header, rows, the "more" line
    assert f"… {len(log) - LOG_ROWS} more events" in html
    text = repr(log)
    assert text.startswith(f"<EventLog of {len(log)} events>") and "earlier events" in text


# ---- the wire trace ------------------------------------------------------------------------

#: A row of the trace table itself (sequence number, then time), not of a folded payload.
MESSAGE_ROW = re.compile(r"<tr><td>\d+</td><td>\d+\.\d{3}</td>")


def test_trace_table_shows_invitation_fields_folded() -> None:
    pair = make_pair()
    pair.service.trace.clear()
    pair.invite_and_accept("a<b")
    entries = [e for e in pair.service.trace if e.invitation]
    command, fields = entries[0].invitation
    assert command == "INVITE" and fields["Context-Data"] == "a<b" and fields["Application-GUID"] == TEST_GUID
    html = pair.service.trace._repr_html_()
    assert "<details><summary>" in html and "INVITE" in html and "a&lt;b" in html and "a<b" not in html
    assert len(MESSAGE_ROW.findall(entries[0]._repr_html_())) == 1
    assert all(e.invitation is not None for e in pair.service.trace if e.command == "MSG")


def test_trace_table_truncates() -> None:
    pair = make_pair()
    while len(pair.service.trace) <= TRACE_ROWS:
        pair.invite_and_accept()
    html = pair.service.trace._repr_html_()
    assert len(MESSAGE_ROW.findall(html)) == TRACE_ROWS
    assert f"… {len(pair.service.trace) - TRACE_ROWS} more messages" in html


def test_trace_entries_know_their_trid_and_line() -> None:
    service = msgr.Service(seed=4)
    service.sign_in("x@example.com")
    ver = service.trace[0]
    assert (ver.line, ver.trid, ver.direction, str(ver)) == ("VER 1 MSNP7 CVR0", 1, "C->S", "VER 1 MSNP7 CVR0")
    profile = next(e for e in service.trace if e.command == "MSG")
    assert profile.trid is None and profile.invitation is None and profile.payload.startswith(b"MIME-Version")


# ---- state machines ---------------------------------------------------------------------------


def test_transitions_are_the_tables() -> None:
    assert msgr.LockStatus.transitions() == lock_transitions()
    cell = next(t for t in lock_transitions() if t.state == msgr.LockStatus.UNLOCKED and t.input == "request_challenge")
    assert (cell.next, cell.error, cell.ok) == (None, msgr.HResult.MSGR_E_API_ALREADY_UNLOCKED, False)
    cells = msgr.SessionState.transitions()
    assert len({(t.state, t.role, t.input) for t in cells if t.source == "call"}) == 10 * 2 * 7
    cell = next(t for t in cells if t.state == msgr.SessionState.INVITATION and t.role == "inviter" and t.input == "accept")
    assert cell.error == msgr.HResult.SR_NOT_INVITEE


def test_diagrams_render_without_graphviz() -> None:
    lock = msgr.LockStatus.diagram()
    assert "PENDINGRESULT --> UNLOCKED: accepted" in lock.mermaid()
    # SVG is the one rich display: markdown (mermaid) would need a CDN to show anything.
    assert lock.mermaid().startswith("stateDiagram-v2") and not hasattr(lock, "_repr_markdown_")
    svg = msgr.SessionState.diagram()._repr_svg_()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for state in ("READY", "INVITATION", "ACCEPTED", "CONNECTED", "CANCELLED", "DECLINED", "TERMINATED"):
        assert f">{state}</text>" in svg
    assert "send_context_data" not in svg  # self-loops are not drawn
    # An input that has the same effect in both roles is named once; one role's is marked.
    assert ">cancel</tspan>" in svg and not re.search(r"cancel \((inviter|invitee)\)", svg)
    assert ">timeout (inviter)</tspan>" in svg and ">accept (invitee)</tspan>" in svg


def test_reprs_are_short_and_deterministic() -> None:
    pair = make_pair()
    session = pair.alice_manager.create_session()
    session_id = session.session_id
    assert repr(session) == f"<MsgrSession {session_id} READY inviter app=None>"
    session.application = TEST_GUID
    assert repr(session) == f"<MsgrSession {session_id} READY inviter app={TEST_GUID}>"
    assert repr(pair.alice_manager) == "<MsgrSessionManager alice@example.com UNLOCKED>"
    assert repr(pair.alice) == "<msgr.Messenger alice@example.com signed_in>"
    assert repr(pair.service) == "<msgr.Service lock_and_key=enabled users=2 online=2 t=0s>"


# ---- over the network --------------------------------------------------------------------------


def test_event_log_and_trace_over_the_network() -> None:
    with msgr.serve("127.0.0.1", 0, users=[("ann@example.com", "pw")], licenses=[(TEST_APP_ID, TEST_APP_KEY)]) as server:
        ann = msgr.connect(server.address, "ann@example.com", "pw")
        try:
            manager = ann.session_manager()
            log = msgr.EventLog(ann)
            unlock(manager)
            # Sign-in events may still be on their way from the delivery thread.
            lock_events = lambda: [e for e in log if e.source is manager]  # noqa: E731
            ann.wait_for(lambda: len(lock_events()) >= 4, 10.0)
            assert [e.event for e in lock_events()] == [
                "OnLockStatusChanged",
                "OnLockChallenge",
                "OnLockResult",
                "OnLockStatusChanged",
            ]
            lines = ann.service.trace.lines()
            assert any(line.startswith("CHL ") for line in lines) and any(line.startswith("QRY ") for line in lines)
            assert "<table class='msgr-trace'>" in ann.service.trace._repr_html_()
        finally:
            ann.service.close()


def test_the_trace_and_the_event_log_become_data_frames() -> None:
    import pandas

    pair = make_pair()
    log = msgr.EventLog(pair.service)
    pair.invite_and_accept("hello")
    frame = pair.service.trace.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == msgr.trace.RECORD_COLUMNS
    assert len(frame) == len(pair.service.trace)
    assert list(frame["seq"]) == [e.seq for e in pair.service.trace]
    # Masked as everywhere: the sign-in proofs show as ***.
    usr = frame[(frame.command == "USR") & (frame.direction == "C->S")]
    assert any(args[-1] == "***" for args in usr["args"])
    # A filtered view too, and the event log.
    msgs = pair.service.trace.filter(command="MSG").to_pandas()
    assert set(msgs["command"]) == {"MSG"} and msgs["payload"].map(lambda p: isinstance(p, bytes)).all()
    events = log.to_pandas()
    assert "OnInvitation" in set(events["event"])


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda pair: pair.service.trace.to_pandas(), "Trace.to_pandas()"),
        (lambda pair: pair.service.trace.filter(command="MSG").to_pandas(), "TraceEntries.to_pandas()"),
        (lambda pair: msgr.EventLog(pair.service).to_pandas(), "EventLog.to_pandas()"),
    ],
    ids=["trace", "entries", "eventlog"],
)
def test_without_pandas_the_error_names_it_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch, make: Any, what: str) -> None:
    pair = make_pair()
    # As if pandas were not installed: importing it raises ImportError.
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ModuleNotFoundError) as info:
        make(pair)
    assert str(info.value) == f"{what} needs pandas, an optional package msgr does not install: pip install pandas"
    assert info.value.name == "pandas"
