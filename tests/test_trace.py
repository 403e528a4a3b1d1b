"""The MSNP wire trace of the embedded service (design §3; msnp.md §b, §d, §e)."""

from __future__ import annotations

import hashlib
import re

import pytest

import msgr
from conftest import ALICE, ALICE_AND_BOB, ALICE_PASSWORD, BOB, BOB_PASSWORD, CLIENT_ID, CLIENT_KEY
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, fail_unlock, new_service, pend, unlock

HEX32 = re.compile(r"[0-9a-f]{32}")
DIGITS20 = re.compile(r"\d{20}")


@pytest.fixture(autouse=True)
def revealed(service: msgr.Service) -> None:
    """These tests check what went on the wire, secrets included."""
    service.trace.reveal = True


def lines(service: msgr.Service, start: int = 0) -> list[str]:
    return [str(e) for e in service.trace[start:]]


def find(entries: list[msgr.TraceEntry], predicate, start: int = 0) -> int:  # noqa: ANN001
    for i in range(start, len(entries)):
        if predicate(entries[i]):
            return i
    raise AssertionError("not found")


# =========================================================================== sign-in


def test_msnp7_sign_in_sequence(service: msgr.Service) -> None:
    service.sign_in(ALICE, ALICE_PASSWORD)
    entries = list(service.trace)
    head = [(e.direction, str(e)) for e in entries[:8]]
    salt_line = head[5][1]
    m = re.fullmatch(r"USR 3 MD5 S (\S+)", salt_line)
    assert m, salt_line
    salt = m.group(1)
    proof = hashlib.md5((salt + ALICE_PASSWORD).encode()).hexdigest()
    assert head == [
        ("C->S", "VER 1 MSNP7 CVR0"),
        ("S->C", "VER 1 MSNP7"),
        ("C->S", "INF 2"),
        ("S->C", "INF 2 MD5"),
        ("C->S", f"USR 3 MD5 I {ALICE}"),
        ("S->C", f"USR 3 MD5 S {salt}"),
        ("C->S", f"USR 4 MD5 S {proof}"),
        ("S->C", f"USR 4 OK {ALICE} Alice%20Liddell 1"),
    ]
    assert msgr.lock_response(salt, ALICE_PASSWORD) == proof

    # Then, in this order (list replies may be interleaved): the profile MSG, SYN, CHG,
    # the CHG echo, the service's ping, the client's own answer and its acceptance.
    i_msg = find(entries, lambda e: e.command == "MSG", 8)
    assert entries[i_msg].direction == "S->C"
    assert entries[i_msg].args[:2] == ("Hotmail", "Hotmail")
    assert b"Content-Type: text/x-msmsgsprofile" in entries[i_msg].payload
    i_syn = find(entries, lambda e: str(e) == "SYN 5 0", i_msg)
    assert entries[i_syn].direction == "C->S"
    i_chg = find(entries, lambda e: str(e) == "CHG 6 NLN" and e.direction == "C->S", i_syn)
    i_echo = find(entries, lambda e: str(e) == "CHG 6 NLN" and e.direction == "S->C", i_chg)
    chl, qry, ok = entries[i_echo + 1 : i_echo + 4]
    assert chl.direction == "S->C" and chl.command == "CHL" and chl.args[0] == "0"
    challenge = chl.args[1]
    assert DIGITS20.fullmatch(challenge)
    assert (qry.direction, qry.line) == ("C->S", f"QRY 7 {CLIENT_ID} 32")
    assert qry.payload == msgr.lock_response(challenge, CLIENT_KEY).encode()
    assert (ok.direction, str(ok)) == ("S->C", "QRY 7")
    assert len(entries) == i_echo + 4  # nothing after the ping exchange


def test_usr_proof_is_md5_of_salt_and_password(service: msgr.Service) -> None:
    service.sign_in(BOB, BOB_PASSWORD)
    usr = [e for e in service.trace if e.command == "USR"]
    salt = usr[1].args[3]
    proof = usr[2].args[3]
    assert HEX32.fullmatch(proof)
    assert proof == hashlib.md5((salt + BOB_PASSWORD).encode()).hexdigest()
    assert str(usr[3]) == f"USR 4 OK {BOB} bob 1"


def test_password_never_on_the_wire(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    alice.sign_out()
    alice.sign_in()
    for e in service.trace:
        assert ALICE_PASSWORD not in str(e)
        assert ALICE_PASSWORD.encode() not in (e.payload or b"")


def test_sign_out_sends_out(alice: msgr.Messenger, service: msgr.Service) -> None:
    before = len(service.trace)
    alice.sign_out()
    new = service.trace[before:]
    assert [(e.direction, str(e), e.user) for e in new] == [("C->S", "OUT", ALICE)]
    assert new[0].trid is None


def test_second_sign_in_uses_a_new_connection(alice: msgr.Messenger, service: msgr.Service) -> None:
    first_conn = service.trace[0].conn
    alice.sign_out()
    before = len(service.trace)
    alice.sign_in()
    new = service.trace[before:]
    assert str(new[0]) == "VER 1 MSNP7 CVR0"
    assert {e.conn for e in new} == {new[0].conn}
    assert new[0].conn != first_conn


# =========================================================================== Lock and Key on the wire


def test_unlock_on_the_wire(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    service.trace.clear()
    challenge = unlock(manager, cookie=555)
    entries = list(service.trace)
    assert len(entries) == 4
    chl, chl_reply, qry, qry_reply = entries
    t = chl.trid
    # After the sign-in's seven TrIDs, the next is 8.
    assert t == 8
    assert (chl.direction, str(chl), chl.payload) == ("C->S", f"CHL {t}", None)
    assert (chl_reply.direction, str(chl_reply), chl_reply.trid) == ("S->C", f"CHL {t} {challenge}", t)
    response = msgr.lock_response(challenge, TEST_APP_KEY)
    assert qry.direction == "C->S"
    assert qry.trid == t + 1
    assert qry.command == "QRY"
    assert qry.args == (str(t + 1), TEST_APP_ID, "32")
    assert qry.line == f"QRY {t + 1} {TEST_APP_ID} 32"
    assert qry.payload == response.encode()
    assert str(qry) == f"QRY {t + 1} {TEST_APP_ID} 32\r\n{response}"
    assert (qry_reply.direction, str(qry_reply), qry_reply.trid) == ("S->C", f"QRY {t + 1}", t + 1)
    # The cookie never goes on the wire.
    assert all("555" not in e.args for e in entries)


def test_failed_unlock_on_the_wire(manager: msgr.MsgrSessionManager, alice: msgr.Messenger, service: msgr.Service) -> None:
    service.trace.clear()
    challenge = fail_unlock(manager, cookie=1, key="NOTTHEKEY")
    chl, chl_reply, qry, fail = service.trace
    t = chl.trid
    assert str(chl_reply) == f"CHL {t} {challenge}"
    assert qry.line == f"QRY {t + 1} {TEST_APP_ID} 32"
    assert qry.payload == msgr.lock_response(challenge, "NOTTHEKEY").encode()
    assert (fail.direction, str(fail), fail.trid, fail.command) == ("S->C", f"540 {t + 1}", t + 1, "540")
    assert len(service.trace) == 4  # no OUT, no close: the connection stays
    assert alice.signed_in


def test_unknown_app_id_on_the_wire(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    service.trace.clear()
    fail_unlock(manager, cookie=1, app_id="stranger@msnmsgr.com", key=TEST_APP_KEY)
    qry, fail = service.trace[2:]
    assert qry.args[1] == "stranger@msnmsgr.com"
    assert str(fail) == f"540 {qry.trid}"


def test_response_goes_on_the_wire_lowercased_and_trimmed(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    challenge = pend(manager, 1)
    response = msgr.lock_response(challenge, TEST_APP_KEY)
    manager.send_response(TEST_APP_ID, "  " + response.upper() + " \n", 1)
    qry = service.trace[-2]
    assert qry.payload == response.encode()
    assert qry.args[-1] == "32"
    assert str(service.trace[-1]) == f"QRY {qry.trid}"


def test_two_objects_use_separate_trids(alice: msgr.Messenger, service: msgr.Service) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    service.trace.clear()
    pend(manager, 7)
    pend(priv, 7)
    assert [str(e).split()[:2] for e in service.trace] == [["CHL", "8"], ["CHL", "8"], ["CHL", "9"], ["CHL", "9"]]


def test_refused_calls_send_nothing(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    unlock(manager, cookie=1)
    service.trace.clear()
    with pytest.raises(msgr.ApiAlreadyUnlockedError):
        manager.request_challenge(2)
    assert len(service.trace) == 0


# =========================================================================== the key never leaks


def test_key_never_appears(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    unlock(alice.session_manager(), cookie=1)
    fail_unlock(alice.messenger_priv(), cookie=2, key="NOTTHEKEY")
    fail_unlock(bob.session_manager(), cookie=3, app_id="stranger@msnmsgr.com", key=TEST_APP_KEY)
    pend(bob.messenger_priv(), 4)
    service.advance(60)
    alice.sign_out()
    alice.sign_in()
    unlock(alice.session_manager(), cookie=5)
    assert len(service.trace) > 40
    secrets = (TEST_APP_KEY, CLIENT_KEY, "NOTTHEKEY")
    for e in service.trace:
        for secret in secrets:
            assert secret not in str(e)
            assert secret not in e.line
            assert secret.encode() not in (e.payload or b"")
            assert secret not in repr(e)
    for secret in secrets:
        assert secret not in repr(service.trace)


# =========================================================================== entries


def test_entry_fields(alice: msgr.Messenger, bob: msgr.Messenger, service: msgr.Service) -> None:
    users = {e.user for e in service.trace}
    assert users == {ALICE, BOB}
    for e in service.trace:
        assert e.direction in ("C->S", "S->C")
        assert isinstance(e.command, str) and e.command
        assert isinstance(e.args, tuple)
        assert e.payload is None or isinstance(e.payload, bytes)
        assert isinstance(e.time, float)
    by_line = {(e.user, e.direction, str(e)): e for e in service.trace}
    assert by_line[(ALICE, "C->S", f"USR 3 MD5 I {ALICE}")].trid == 3
    assert by_line[(BOB, "C->S", f"USR 3 MD5 I {BOB}")].trid == 3
    assert by_line[(ALICE, "C->S", "VER 1 MSNP7 CVR0")].trid == 1
    msg = next(e for e in service.trace if e.command == "MSG")
    assert msg.trid is None


def test_str_is_the_raw_message(alice: msgr.Messenger, service: msgr.Service) -> None:
    unlock(alice.session_manager(), cookie=1)
    for e in service.trace:
        if e.payload is None:
            assert str(e) == e.line
            assert "\r" not in str(e) and "\n" not in str(e)
        else:
            assert str(e) == e.line + "\r\n" + e.payload.decode()
            # The byte count on the line is the payload's length.
            assert int(e.args[-1]) == len(e.payload)
        assert e.line == " ".join((e.command, *e.args))


def test_entries_are_in_wire_order_and_timed(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    service.advance(12)
    pend(manager, 1)
    last_two = service.trace[-2:]
    assert [e.time for e in last_two] == [12.0, 12.0]
    assert all(a.seq < b.seq for a, b in zip(service.trace[:-1], service.trace[1:]))


def test_trace_is_a_sequence(alice: msgr.Messenger, service: msgr.Service) -> None:
    trace = service.trace
    n = len(trace)
    assert n > 10
    assert [str(e) for e in list(trace)] == [str(trace[i]) for i in range(n)]
    assert str(trace[-1]) == str(list(trace)[n - 1])
    assert [str(e) for e in trace[2:4]] == ["INF 2", "INF 2 MD5"]
    with pytest.raises(IndexError):
        trace[n]


def test_trace_clear(alice: msgr.Messenger, service: msgr.Service) -> None:
    assert len(service.trace) > 0
    service.trace.clear()
    assert len(service.trace) == 0
    assert list(service.trace) == []
    manager = alice.session_manager()
    unlock(manager, cookie=1)
    assert len(service.trace) == 4
    assert str(service.trace[0]) == "CHL 8"
    service.trace.clear()
    assert list(service.trace) == []


def test_trace_of_a_fresh_service_is_empty() -> None:
    service = new_service(users=ALICE_AND_BOB)
    assert len(service.trace) == 0
    assert list(service.trace) == []


# =========================================================================== the bound


def test_the_trace_keeps_the_latest_entries_up_to_its_limit() -> None:
    service = msgr.Service(seed=3, trace_limit=10)
    assert service.trace.limit == 10
    service.sign_in(ALICE)
    kept = list(service.trace)
    assert len(kept) == 10
    # The oldest went; numbering goes on (events take numbers too), never reused.
    seqs = [e.seq for e in kept]
    assert seqs[0] > 10 and seqs == sorted(set(seqs))
    assert str(kept[-1]).startswith("QRY ")
    service.sign_in(BOB)
    assert len(service.trace) == 10 and service.trace[-1].seq > kept[-1].seq
    service.trace.clear()
    assert list(service.trace) == []


def test_a_zero_limit_keeps_nothing_and_the_default_is_documented() -> None:
    assert msgr.Service().trace.limit == 100_000
    quiet = msgr.Service(seed=3, trace_limit=0)
    quiet.sign_in(ALICE)
    assert list(quiet.trace) == []
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(msgr.InvalidArgError):
            msgr.Service(trace_limit=bad)  # type: ignore[arg-type]


def test_events_and_wire_lines_share_one_numbering(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    with msgr.EventLog(service) as log:
        unlock(manager)
    challenge_line = next(e for e in service.trace if e.command == "CHL" and e.direction == "S->C" and e.args[0] != "0")
    answer = next(e for e in service.trace if e.command == "QRY" and e.direction == "C->S" and e.seq > challenge_line.seq)
    challenge_event = next(e for e in log if e.event == "OnLockChallenge")
    result_event = next(e for e in log if e.event == "OnLockResult")
    verdict = next(e for e in service.trace if str(e) == f"QRY {answer.trid}")
    # The challenge arrived, then the app heard of it, then it answered; the verdict
    # arrived, then the app heard of that.
    assert challenge_line.seq < challenge_event.seq < answer.seq < verdict.seq < result_event.seq


def test_entries_arriving_while_the_view_reads_are_not_mistaken_for_dropped_ones() -> None:
    from msgr.trace import Trace

    kept: list[tuple[object, ...]] = []
    added = [0]

    def window(after: int) -> tuple[int | None, list[tuple[object, ...]]]:
        # Another thread adds an entry between any two reads (seq counting by 2, as
        # events take numbers too).
        kept.append((added[0] * 2, 0.0, 1, "a@b.c", "C->S", "PNG", [], None, "PNG\r\n"))
        added[0] += 1
        first = kept[0][0] if kept else None
        return first, [r for r in kept if r[0] >= after]  # type: ignore[operator]

    trace = Trace(lambda: 1, window, kept.clear, 100)
    assert [e.seq for e in trace] == [0]
    assert [e.seq for e in trace] == [0, 2]
    assert [e.seq for e in trace] == [0, 2, 4], "a stale length drops nothing"
    del kept[:2]
    assert [e.seq for e in trace] == [4, 6], "what the core dropped goes"
    trace.clear()
    assert [e.seq for e in trace] == [8]


# =========================================================================== secrets


def test_secrets_are_masked_by_default_everywhere_a_trace_shows() -> None:
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        alice = service.sign_in(ALICE)
        unlock(alice.session_manager(), cookie=1)
        assert not service.trace.reveal
        proof = next(e for e in service.trace if e.line.startswith("USR 4 MD5 S"))
        assert proof.args[-1] == "***" and str(proof) == proof.line == "USR 4 MD5 S ***"
        qry = next(e for e in service.trace if e.command == "QRY" and e.direction == "C->S")
        assert qry.payload == b"***" and str(qry).endswith("\r\n***")
        shown = repr(service.trace) + service.trace._repr_html_() + "\n".join(service.trace.lines())
        service.trace.reveal = True
        secret = next(e for e in service.trace if e.line.startswith("USR 4 MD5 S")).args[-1]
        answer = next(e for e in service.trace if e.command == "QRY" and e.direction == "C->S").payload
        assert HEX32.fullmatch(secret) and answer is not None and HEX32.fullmatch(answer.decode())
        assert secret not in shown and answer.decode() not in shown
        with pytest.raises(TypeError, match="reveal must be a bool"):
            service.trace.reveal = 1  # type: ignore[assignment]


def test_switchboard_cookies_are_masked_in_a_trace() -> None:
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        alice, bob = service.sign_in(ALICE), service.sign_in(BOB)
        bob.on_text_received = lambda sender, text: None
        alice.send_text(BOB, "hi")
        masked = {e.command: e for e in service.trace if e.command in ("XFR", "RNG", "ANS") and len(e.args) > 2}
        assert {"XFR", "RNG", "ANS"} <= set(masked), [e.line for e in service.trace]
        assert all("***" in e.args for e in masked.values()), [e.line for e in masked.values()]
