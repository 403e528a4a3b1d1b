"""``msgr.testing.wire``: the Rust codec from Python (``Command``, ``Decoder``, the
payload helpers), checked with Hypothesis round trips and the fixtures' captured
bytes; and ``RawConnection`` against a real ``msgr.serve`` and a server that sends
garbage."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import msgr
from msgr.testing.wire import (
    Command,
    Decoder,
    ExchangeError,
    RawConnection,
    Transcript,
    WireError,
    encode_invitation,
    parse_invitation,
    parse_message,
    payload_follows,
    url_decode,
    url_encode,
)

from conftest import INVITATIONS

# --------------------------------------------------------------------------- strategies

#: Parameters as MSNP carries them: printable, no spaces, not empty.
PARAM = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FFF, exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12)
#: Names that never announce a payload, in either direction.
PLAIN_NAME = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=3, max_size=3).filter(
    lambda n: n not in ("MSG", "QRY", "UUX", "UBX", "GCF", "NOT", "IPG")
)
DIRECTION = st.sampled_from(["S->C", "C->S"])


def plain_command() -> st.SearchStrategy[Command]:
    return st.builds(lambda name, args: Command(name, *args), PLAIN_NAME, st.lists(PARAM, max_size=6))


def msg_command() -> st.SearchStrategy[Command]:
    """`MSG` with two parameters and a payload: a payload command both ways."""
    return st.builds(lambda a, b, payload: Command("MSG", a, b, payload=payload), PARAM, PARAM, st.binary(max_size=300))


ANY_COMMAND = st.one_of(plain_command(), msg_command())


# --------------------------------------------------------------------------- Command


def test_building_and_reading_a_command() -> None:
    ver = Command("VER", 1, "MSNP8", "CVR0")
    assert (ver.name, ver.args, ver.payload, ver.trid) == ("VER", ("1", "MSNP8", "CVR0"), None, 1)
    assert ver.encode() == bytes(ver) == b"VER 1 MSNP8 CVR0\r\n"
    assert ver.line == str(ver) == "VER 1 MSNP8 CVR0"
    assert repr(ver) == 'Command("VER 1 MSNP8 CVR0")'
    msg = Command("MSG", 4, "A", payload=b"hi")
    assert msg.args == ("4", "A", "2") and msg.payload == b"hi"
    assert msg.encode() == b"MSG 4 A 2\r\nhi"
    assert repr(msg) == 'Command("MSG 4 A 2", payload=<2 bytes>)'
    assert Command("VER", 1) == Command.parse("VER 1") and Command("VER", 1) != Command("VER", 2)


def test_trids_errors_and_the_commands_without_a_trid() -> None:
    assert Command.parse("540 7").error_code == 540 and Command.parse("540 7").is_error
    assert Command.parse("QRY 7").error_code is None
    assert Command.parse("CHL 0 123").trid == 0
    assert Command.parse("ACK 4294967295").trid == 2**32 - 1
    for line in ("ACK 4294967296", "RNG 11752013 1.2.3.4:1864 CKI x a@b.c A", "QNG 60", "OUT OTH", "NOT 2\r\nhi"):
        assert Command.parse(line).trid is None, line


def test_the_direction_decides_whether_a_payload_follows() -> None:
    client_qry = b"QRY 7 msmsgs@msnmsgr.com 32\r\n" + b"a" * 32
    assert Command.parse(client_qry, "C->S").payload == b"a" * 32
    assert Command.parse(b"QRY 7\r\n", "S->C").payload is None
    assert payload_follows("C->S", "QRY", ["7", "id", "32"]) and not payload_follows("S->C", "QRY", ["7", "id", "32"])
    assert payload_follows("S->C", "NOT", ["12"]) and not payload_follows("C->S", "NOT", ["12"])


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda: Command("msg"), "bad_command_name"),
        (lambda: Command("VER", "a b"), "bad_parameter"),
        (lambda: Command("VER", ""), "bad_parameter"),
        (lambda: Command("VER", 1.5), "bad_parameter"),
        (lambda: Command("VER", True), "bad_parameter"),
        (lambda: Command.parse(b"MSG 1 N 5\r\nab", "C->S"), "incomplete"),
        (lambda: Command.parse(b"VER 1\r\nVER 2\r\n"), "trailing_data"),
        (lambda: Command.parse(b"MSG 1 N x\r\n", "C->S"), "bad_payload_length"),
        (lambda: Command.parse(b"VER 1 \xff\r\n"), "not_utf8"),
        (lambda: Command.parse(b"VER 1", "sideways"), "bad_direction"),
        (lambda: Decoder("sideways"), "bad_direction"),
        (lambda: parse_invitation(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi"), "not_an_invitation"),
        (lambda: encode_invitation([("Bad:Name", "x")]), "bad_field"),
        (lambda: encode_invitation([("Context-Data", "x" * 2000)]), "payload_too_large"),
    ],
)
def test_bad_input_raises_a_typed_wire_error(call: object, kind: str) -> None:
    with pytest.raises(WireError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.kind == kind
    assert isinstance(caught.value, msgr.InvalidArgError) and isinstance(caught.value, ValueError)
    assert caught.value.hresult == msgr.HResult.E_INVALIDARG


def test_a_trailing_blank_line_is_no_second_command() -> None:
    assert Command.parse(b"VER 1 MSNP8\r\n\r\n") == Command("VER", 1, "MSNP8")


@given(ANY_COMMAND, DIRECTION)
def test_commands_round_trip_through_their_bytes(command: Command, direction: str) -> None:
    assert Command.parse(command.encode(), direction) == command
    assert Command.parse(command.encode(), direction).encode() == command.encode()


# --------------------------------------------------------------------------- Decoder


@given(st.lists(ANY_COMMAND, max_size=8), DIRECTION, st.lists(st.integers(1, 40), min_size=1, max_size=10))
def test_the_decoder_gives_the_same_commands_however_the_bytes_are_chunked(
    commands: list[Command], direction: str, sizes: list[int]
) -> None:
    stream = b"".join(c.encode() for c in commands)
    decoder = Decoder(direction)
    got: list[Command] = []
    rest, i = stream, 0
    while rest:
        n = sizes[i % len(sizes)]
        decoder.push(rest[:n])
        rest, i = rest[n:], i + 1
        while (command := decoder.next()) is not None:
            got.append(command)
    assert got == commands and decoder.buffered == 0
    assert Decoder(direction).feed(stream) == commands


def test_decoder_limits_and_its_sticky_failure() -> None:
    decoder = Decoder("C->S", max_line=16, max_payload=4)
    assert (decoder.direction, decoder.max_line, decoder.max_payload) == ("C->S", 16, 4)
    assert decoder.feed(b"VER 1 MSNP8\r\nMSG 1 N 4\r\nab") == [Command("VER", 1, "MSNP8")]
    assert decoder.buffered == len(b"MSG 1 N 4\r\nab") and "buffered=13" in repr(decoder)
    assert [c.payload for c in decoder.feed(b"cd")] == [b"abcd"]
    with pytest.raises(WireError) as caught:
        decoder.feed(b"MSG 1 N 5\r\n")
    assert caught.value.kind == "payload_too_large"
    with pytest.raises(WireError):
        decoder.next()
    with pytest.raises(WireError) as long_line:
        Decoder("S->C", max_line=8).feed(b"X" * 9)
    assert long_line.value.kind == "line_too_long"


def test_captured_invitations_parse_and_reencode_exactly() -> None:
    raw = (INVITATIONS / "probe_invite.bin").read_bytes()
    command, fields = parse_invitation(raw)
    assert command == "INVITE" and ("Context-Data", "hello-context") in fields
    assert encode_invitation(fields) == raw
    headers, body = parse_message(raw)
    assert headers[1] == ("Content-Type", "text/x-msmsgsinvite; charset=UTF-8")
    assert body.startswith(b"Application-Name:")


FIELD_NAME = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1, max_size=20)
FIELD_VALUE = st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)), max_size=40)


@given(st.lists(st.tuples(FIELD_NAME, FIELD_VALUE), max_size=6))
def test_invitations_round_trip(fields: list[tuple[str, str]]) -> None:
    payload = encode_invitation(fields)
    assert parse_invitation(payload)[1] == [(n, v) for n, v in fields if n.strip()]


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_url_encoding_round_trips_and_keeps_parameters_whole(text: str) -> None:
    encoded = url_encode(text)
    assert url_decode(encoded) == text
    assert not any(c.isspace() or ord(c) < 0x20 for c in encoded)


# --------------------------------------------------------------------------- RawConnection

USERS = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b")]


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve("127.0.0.1", 0, users=USERS, protocols=["MSNP7"]) as handle:
        yield handle


def signed_in(server: msgr.ServerHandle, transcript: Transcript | None = None) -> RawConnection:
    conn = RawConnection.open(*server.address, label="alice NS", transcript=transcript)
    assert conn.call("VER", "MSNP7", "CVR0").line == "VER 1 MSNP7"
    salt = conn.call("USR", "MD5", "I", "alice@example.com").args[3]
    ok = conn.call("USR", "MD5", "S", msgr.lock_response(salt, "pw-a"))
    assert ok.args[:2] == ("3", "OK")
    return conn


def test_a_raw_conversation_with_a_server(server: msgr.ServerHandle) -> None:
    with signed_in(server) as conn:
        profile = conn.next_async("MSG")
        assert profile.args[:2] == ("Hotmail", "Hotmail")
        trid = conn.request("CHG", "NLN")
        assert conn.expect(trid=trid).line == f"CHG {trid} NLN"
        assert conn.next_async("CHL").trid == 0
        conn.send("PNG")
        assert conn.expect(name="QNG").line == "QNG"
        conn.send(b"ZZZ 9")
        conn.skip_trids(9)
        assert conn.expect(trid=9).error_code == 200
        assert conn.next_trid() == 10
        conn.send("OUT")
        assert conn.expect_closed() == []
        assert conn.closed
    lines = [(e.direction, e.text) for e in conn.transcript]
    assert ("C->S", "USR 3 MD5 S ***") in lines, "the proof of the password is masked"
    assert lines[0][0] == "--" and lines[-1] == ("--", "closed by the server")
    assert str(conn.transcript).count("alice NS") == len(conn.transcript)


def test_unmet_expectations_fail_with_the_lines_exchanged(server: msgr.ServerHandle) -> None:
    with signed_in(server) as conn:
        conn.call("SYN", 0)
        with pytest.raises(ExchangeError) as caught:
            conn.expect(name="RNG", timeout=0.2)
        message = str(caught.value)
        assert "expected a reply with RNG, but none came within 0.2 s" in message
        assert "Lines exchanged:" in message and "S->C  SYN 4 0" in message
        assert caught.value.transcript is conn.transcript
        conn.send("OUT")
        with pytest.raises(ExchangeError, match="the connection was closed"):
            conn.expect(name="RNG")
        assert conn.expect_or_closed(trid=99) is None


def test_shared_transcripts_and_qry_masking(server: msgr.ServerHandle) -> None:
    transcript = Transcript()
    a = signed_in(server, transcript)
    b = RawConnection.open(*server.address, label="other", transcript=transcript)
    with a, b:
        a.send_payload("QRY", a.next_trid(), "msmsgs@msnmsgr.com", payload=b"0" * 32)
        b.call("VER", "MSNP7", "CVR0")
    texts = [e.text for e in transcript]
    assert any(t.startswith("QRY ") and t.endswith("32 +***") for t in texts)
    assert {e.label for e in transcript} == {"alice NS", "other"}
    assert [r["conn"] for r in transcript.to_records()][-1] in ("alice NS", "other")
    assert "earlier lines left out" in transcript.format(last=2)


@pytest.fixture
def garbage_server() -> Iterator[tuple[str, int]]:
    """Answers every connection with bytes that are not MSNP."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(100)
                conn.sendall(b"hello there\r\n")
                conn.recv(100)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    thread.join(5)


def test_bytes_that_are_not_msnp_fail_the_expectation(garbage_server: tuple[str, int]) -> None:
    with RawConnection.open(*garbage_server, label="odd") as conn:
        conn.send("VER 1 MSNP7 CVR0")
        with pytest.raises(ExchangeError, match=r"not MSNP \(bad_command_name"):
            conn.expect(trid=1)
    assert any("(raw) hello there" in e.text for e in conn.transcript)


def test_a_refused_connection_is_an_exchange_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host, port = probe.getsockname()[:2]
    with pytest.raises(ExchangeError, match=f"cannot connect to {host}:{port}"):
        RawConnection.open(host, port, timeout=2)
