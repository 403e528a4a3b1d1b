"""Session invitations on the wire (msnp.md §a.4, §c, §f): the switchboard set-up, the
``MSG`` lines, byte-for-byte relay, and the ``text/x-msmsgsinvite`` fields of INVITE,
ACCEPT, CANCEL and the CONTEXT message, read from ``service.trace``; plus the captured
payloads in ``tests/fixtures/invitations`` parsed with the same helper."""

from __future__ import annotations

import urllib.parse

import pytest

import msgr
from conftest import (
    ALICE,
    ALICE_NAME,
    APP_NAME,
    APP_URL,
    BOB,
    GUID,
    GUID_RE,
    H,
    INVITATIONS,
    S,
    SessionPair,
    ids,
    invitation_messages,
    parse_invitation,
    sent_invitations,
    session_pair,
)

MEDIA_TYPE = "text/x-msmsgsinvite"


def fresh_pair(register_on_bob: bool = True) -> SessionPair:
    p = session_pair(register_on_bob)
    p.service.trace.clear()
    return p


def only(invitations: list, command: str) -> list:
    return [i for i in invitations if i.command == command]


def cookie_ok(value: str) -> bool:
    return value.isdigit() and 0 < int(value) < 2**31


# =========================================================================== switchboard


def test_invite_opens_a_switchboard() -> None:
    p = fresh_pair()
    p.invite()
    trace = p.service.trace
    order = ["XFR", "USR", "CAL", "RNG", "ANS", "IRO", "JOI", "MSG"]
    commands = [e.command for e in trace]
    firsts = [commands.index(c) for c in order]
    assert firsts == sorted(firsts), commands
    xfr = trace.filter(command="XFR", direction="C->S")[0]
    assert xfr.user.lower() == ALICE and xfr.args[1:] == ("SB",)
    cal = trace.filter(command="CAL", direction="C->S")[0]
    assert cal.user.lower() == ALICE and cal.args[1] == BOB
    rng = trace.filter(command="RNG")[0]
    assert rng.user.lower() == BOB and rng.direction == "S->C"
    assert rng.args[-2:] == (ALICE, urllib.parse.quote(ALICE_NAME))
    iro = trace.filter(command="IRO")[0]
    assert iro.user.lower() == BOB and ALICE in iro.args
    joi = trace.filter(command="JOI")[0]
    assert joi.user.lower() == ALICE and joi.args[0] == BOB


def test_invitation_msg_lines_and_relay() -> None:
    """Client: ``MSG <trid> N <len>``; the switchboard relays the same payload bytes as
    ``MSG <sender> <url-encoded friendly name> <len>`` to the other participant."""
    p = fresh_pair()
    sa, sb = p.invite("hello")
    sb.accept("yes")
    sa.send_context_data("ctx")
    sb.send_context_data("ctx back")
    sb.cancel(H.SR_SESSION_CANCELLED_LOCAL, "bye")
    msgs = invitation_messages(p.service)
    sent = [e for e in msgs if e.direction == "C->S"]
    relayed = [e for e in msgs if e.direction == "S->C"]
    # INVITE, ACCEPT, ACCEPT (inviter's), CONTEXT x2, CANCEL
    assert len(sent) == len(relayed) == 6
    names = {ALICE: urllib.parse.quote(ALICE_NAME), BOB: urllib.parse.quote(p.service.users[BOB])}
    for out, into in zip(sent, relayed):
        assert out.args[0].isdigit() and out.args[1] == "N"
        assert int(out.args[2]) == len(out.payload)
        sender = out.user.lower()
        receiver = BOB if sender == ALICE else ALICE
        assert into.user.lower() == receiver
        assert into.args == (sender, names[sender], str(len(out.payload)))
        assert into.payload == out.payload
        assert into.seq > out.seq
    assert [parse_invitation(e.payload).command for e in sent] == ["INVITE", "ACCEPT", "ACCEPT", "CONTEXT", "CONTEXT", "CANCEL"]
    assert [e.user.lower() for e in sent] == [ALICE, BOB, ALICE, ALICE, BOB, BOB]


def test_payloads_are_crlf_messages() -> None:
    p = fresh_pair()
    sa, sb = p.invite("hello")
    sb.accept()
    for e in invitation_messages(p.service):
        assert e.payload.startswith(b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite")
        assert e.payload.endswith(b"\r\n\r\n")
        assert b"\n" not in e.payload.replace(b"\r\n", b"")
        m = parse_invitation(e.payload)
        assert m.media_type == MEDIA_TYPE
        assert m.header("MIME-Version") == "1.0"
        assert len(e.payload) <= 1664


# =========================================================================== INVITE


def test_invite_fields() -> None:
    p = fresh_pair()
    sa, sb = p.invite("hello context")
    [invite] = sent_invitations(p.service)
    assert invite.command == "INVITE"
    assert invite["Invitation-Command"] == "INVITE"
    assert invite["Application-Name"] == APP_NAME
    assert invite["Application-GUID"] == GUID
    assert invite["Application-URL"] == APP_URL
    assert invite["Session-Protocol"] == "SM1"
    assert cookie_ok(invite["Invitation-Cookie"])
    assert invite["Session-ID"] == sa.session_id == sb.session_id
    assert GUID_RE.fullmatch(invite["Session-ID"])
    assert invite["Context-Data"] == "hello context"


def test_invite_without_app_data_has_no_context_data() -> None:
    """msnp.md §f.6: ``Context-Data`` only if the app data is non-empty."""
    p = fresh_pair()
    p.invite(None)
    [invite] = sent_invitations(p.service)
    assert "Context-Data" not in invite
    assert invite.command == "INVITE"


def test_invite_carries_non_ascii_app_data_as_utf8() -> None:
    p = fresh_pair()
    data = "Grüße 😀 中文"
    sa, sb = p.invite(data)
    [e] = invitation_messages(p.service, "C->S")
    assert data.encode("utf-8") in e.payload
    assert parse_invitation(e.payload)["Context-Data"] == data
    assert p.log[-1] == ("B.mgr", "on_invitation", (sb, data))


def test_each_session_has_its_own_cookie_and_id() -> None:
    p = fresh_pair()
    for _ in range(3):
        p.invite()
    invites = only(sent_invitations(p.service), "INVITE")
    assert len(invites) == 3
    assert len({i["Invitation-Cookie"] for i in invites}) == 3
    assert len({i["Session-ID"] for i in invites}) == 3


# =========================================================================== ACCEPT


def test_accept_fields() -> None:
    p = fresh_pair()
    sa = p.session()
    sa.local_address = "10.0.0.1:6891"
    sa.invite(BOB, "hello")
    sb = p.last_invitee()
    sb.local_address = "10.0.0.2:5000"
    sb.accept("accept data")
    invite, accept, answer = sent_invitations(p.service)
    cookie = invite["Invitation-Cookie"]
    assert accept.command == "ACCEPT"
    assert accept["Invitation-Cookie"] == cookie
    assert accept["Session-ID"] == sa.session_id
    assert accept["Launch-Application"] == "TRUE"
    assert accept["Request-Data"] == "IP-Address:"
    assert accept["IP-Address"] == "10.0.0.2:5000"
    assert accept["Context-Data"] == "accept data"
    # The inviter answers with its own address (msnp.md §f.4).
    assert answer.command == "ACCEPT"
    assert answer["Invitation-Cookie"] == cookie
    assert answer["Session-ID"] == sa.session_id
    assert answer["IP-Address"] == "10.0.0.1:6891"
    assert sa.remote_address == accept["IP-Address"]
    assert sb.remote_address == answer["IP-Address"]


def test_accept_default_address_is_the_local_address() -> None:
    p = fresh_pair()
    sa, sb = p.invite()
    sb.accept()
    invite, accept, answer = sent_invitations(p.service)
    assert accept["IP-Address"] == sb.local_address
    assert answer["IP-Address"] == sa.local_address
    assert "Context-Data" not in accept


# =========================================================================== CANCEL


def test_decline_is_cancel_reject() -> None:
    p = fresh_pair()
    sa, sb = p.invite()
    sb.decline("no thanks")
    invite, cancel = sent_invitations(p.service)
    assert cancel.command == "CANCEL"
    assert cancel["Invitation-Cookie"] == invite["Invitation-Cookie"]
    assert cancel["Cancel-Code"] == "REJECT"
    assert cancel["Context-Data"] == "no thanks"


@pytest.mark.parametrize("side", ["inviter", "invitee"])
@pytest.mark.parametrize("hr", [H.SR_SESSION_CANCELLED_LOCAL, H.E_FAIL], ids=ids)
def test_cancel_fields(side: str, hr: int) -> None:
    p = fresh_pair()
    sa, sb = p.invite()
    (sa if side == "inviter" else sb).cancel(hr, "changed my mind")
    invite, cancel = sent_invitations(p.service)
    assert cancel.command == "CANCEL"
    assert cancel["Invitation-Cookie"] == invite["Invitation-Cookie"]
    assert cancel["Session-ID"] == sa.session_id
    assert cancel["Cancel-Code"] == "TIMEOUT"
    assert int(cancel["Cancel-HResult"], 16) == hr
    assert cancel["Context-Data"] == "changed my mind"


def test_cancel_before_connect_hresult_on_the_wire() -> None:
    p = fresh_pair()
    sa, sb = p.invite()
    p.log.react(sb, "before_app_launch", lambda: sb.cancel(H.E_FAIL))
    sb.accept()
    cancel = only(sent_invitations(p.service, BOB), "CANCEL")
    assert len(cancel) == 1
    assert int(cancel[0]["Cancel-HResult"], 16) == H.SR_CANCEL_BEFORE_CONNECT
    assert "Cancel-Code" in cancel[0]


def test_timeout_cancel() -> None:
    p = fresh_pair()
    sa, sb = p.invite()
    p.service.advance(60)
    invite, cancel = sent_invitations(p.service)
    [e] = [m for m in invitation_messages(p.service, "C->S") if parse_invitation(m.payload).command == "CANCEL"]
    assert e.user.lower() == ALICE
    assert cancel["Invitation-Cookie"] == invite["Invitation-Cookie"]
    assert cancel["Cancel-Code"] == "TIMEOUT"
    assert int(cancel["Cancel-HResult"], 16) == H.SR_SESSION_TIMEOUT
    assert "Context-Data" not in cancel


def test_not_installed_cancel() -> None:
    p = fresh_pair(register_on_bob=False)
    sa = p.session()
    sa.invite(BOB)
    invite, cancel = sent_invitations(p.service)
    [e] = invitation_messages(p.service, "C->S", BOB)
    assert parse_invitation(e.payload).command == "CANCEL"
    assert cancel["Invitation-Cookie"] == invite["Invitation-Cookie"]
    assert cancel["Cancel-Code"] == "REJECT_NOT_INSTALLED"
    assert cancel["Session-ID"] == sa.session_id
    assert sa.state is S.DECLINED


# =========================================================================== CONTEXT


def test_context_message() -> None:
    p = fresh_pair()
    sa, sb = p.connect()
    p.service.trace.clear()
    sb.send_context_data("IP:10.0.0.2:5000")
    [context] = sent_invitations(p.service)
    assert context.command == "CONTEXT"
    assert context["Context-Data"] == "IP:10.0.0.2:5000"
    assert context["Session-ID"] == sa.session_id
    assert cookie_ok(context["Invitation-Cookie"])
    assert sa.context_data == "IP:10.0.0.2:5000"


def test_one_cookie_per_negotiation() -> None:
    p = fresh_pair()
    sa, sb = p.connect()
    sa.send_context_data("x")
    sa.cancel(H.SR_SESSION_CANCELLED_LOCAL)
    msgs = sent_invitations(p.service)
    assert [m.command for m in msgs] == ["INVITE", "ACCEPT", "ACCEPT", "CONTEXT", "CANCEL"]
    assert len({m["Invitation-Cookie"] for m in msgs}) == 1
    assert {m["Session-ID"] for m in msgs} == {sa.session_id}


# =========================================================================== fixtures and the parser


def fixture(name: str) -> bytes:
    return (INVITATIONS / name).read_bytes()


def test_probe_invite_fixture() -> None:
    m = parse_invitation(fixture("probe_invite.bin"))
    assert m.media_type == MEDIA_TYPE
    assert m.header("MIME-Version") == "1.0"
    assert m.command == "INVITE"
    assert m["Invitation-Cookie"] == "1234567"
    assert m["Application-GUID"] == "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"
    assert m["Application-Name"] == "Lock and Key Test App"
    assert m["Session-ID"] == "{B3D5E6F7-1111-2222-3333-444455556666}"
    assert m["Session-Protocol"] == "SM1"
    assert m["Context-Data"] == "hello-context"
    assert "Cancel-Code" not in m


def test_probe_accept_fixture() -> None:
    m = parse_invitation(fixture("probe_accept_invitee.bin"))
    assert m.command == "ACCEPT"
    assert m["Invitation-Cookie"] == "1234567"
    assert m["Session-ID"] == "{B3D5E6F7-1111-2222-3333-444455556666}"
    assert m["Launch-Application"] == "FALSE"
    assert m["Request-Data"] == "IP-Address:"


def test_probe_cancel_fixture() -> None:
    m = parse_invitation(fixture("probe_cancel_reject.bin"))
    assert m.command == "CANCEL"
    assert m["Invitation-Cookie"] == "1234567"
    assert m["Cancel-Code"] == "REJECT"
    assert "Session-ID" not in m
    assert "Application-GUID" not in m


def test_our_invite_has_every_field_of_the_captured_one() -> None:
    """The captured INVITE (sent through a third-party server) and ours carry the same
    fields; ours adds the optional Application-URL."""
    p = fresh_pair()
    p.invite("hello-context")
    [ours] = sent_invitations(p.service)
    captured = parse_invitation(fixture("probe_invite.bin"))
    assert set(captured.names()) <= set(ours.names())
    assert set(ours.names()) - set(captured.names()) == {"Application-URL"}
    assert ours.headers == captured.headers


def test_parser_is_lenient() -> None:
    """msnp.md §f.2: bare LF, names in any case, values with colons."""
    payload = b"MIME-Version: 1.0\nContent-Type: Text/X-MSMSGSINVITE\n\ninvitation-command: accept\nRequest-Data: IP-Address:\nIP-Address: 10.0.0.1:6891\n"
    m = parse_invitation(payload)
    assert m.media_type == MEDIA_TYPE
    assert m.command == "ACCEPT"
    assert m["request-data"] == "IP-Address:"
    assert m["IP-Address"] == "10.0.0.1:6891"
    assert m.names() == ["invitation-command", "Request-Data", "IP-Address"]


def test_fixture_files_are_the_exact_bytes() -> None:
    """The fixtures are whole payloads with CR LF ends (their README's lengths)."""
    sizes = {"probe_invite.bin": 332, "probe_accept_invitee.bin": 235, "probe_cancel_reject.bin": 150}
    for name, size in sizes.items():
        data = fixture(name)
        assert len(data) == size, name
        assert data.endswith(b"\r\n\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")


def test_msgr_contact_is_accepted_on_the_wire_path() -> None:
    p = fresh_pair()
    sa = p.session()
    sa.invite(msgr.Contact(BOB), "via contact")
    [invite] = sent_invitations(p.service)
    assert invite["Context-Data"] == "via contact"
    assert p.service.trace.filter(command="CAL")[0].args[1] == BOB
