"""MSNP8 sign-in over TCP through the server's Passport nexus: ``serve(protocols=...)``
with ``ServerHandle.nexus_url``, ``connect(..., protocols=..., nexus=...)``, the
``protocols`` argument's checks, HTTPS with ``tls_cert``/``tls_key`` and ``nexus_ca``, and
``msgr serve`` printing the nexus URL. Every socket is on 127.0.0.1 with a free port."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import msgr
from conftest import ALICE, ALICE_AND_BOB, ALICE_NAME, ALICE_PASSWORD, BOB, BOB_PASSWORD, pipe_lines, pipe_until, reap, quit_serve

WAIT = 10.0
NEXUS_URL = re.compile(r"(https?)://127\.0\.0\.1:(\d+)/rdr/pprdr\.asp")

# A self-signed certificate for 127.0.0.1 and localhost (P-256, not a CA, valid until
# 2126) and its key, made once with openssl for these tests and trusted by nothing else.
CERT = """-----BEGIN CERTIFICATE-----
MIIBqDCCAU6gAwIBAgIUfkhpNCR4z4vchkSkxIIj7XMERbUwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPbXNnciB0ZXN0IG5leHVzMCAXDTI2MTEyOTE0NDkxM1oYDzIx
MjYxMTA1MTQ0OTEzWjAaMRgwFgYDVQQDDA9tc2dyIHRlc3QgbmV4dXMwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAARJEA6SSarjIUD6COwddPPC+LteOpYxRijpnr4b
6dwVGWXG9NY9yxxqBQvcZve/jlCgpBx1+N3jsr0T6i49dEQEo3AwbjAMBgNVHRMB
Af8EAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAaBgNV
HREEEzARhwR/AAABgglsb2NhbGhvc3QwHQYDVR0OBBYEFN5wDDwMcWnS6QPExWPj
sPDT3ddVMAoGCCqGSM49BAMCA0gAMEUCIEN6pJ+ePAdqXckcIS6L/wUqJ73B2oIs
ZhVYgDNasHChAiEAvDCzW4sKUjwXAXeFCBds5Jc0FMoLShY+sm/5xBfHwE0=
-----END CERTIFICATE-----
"""
KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdJQ1uB1iI3gdX88+
xu7ozSAliPoQg57twfXvX80r8g2hRANCAARJEA6SSarjIUD6COwddPPC+LteOpYx
Rijpnr4b6dwVGWXG9NY9yxxqBQvcZve/jlCgpBx1+N3jsr0T6i49dEQE
-----END PRIVATE KEY-----
"""


@pytest.fixture
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve(users=ALICE_AND_BOB, seed=7, protocols=["MSNP8"]) as handle:
        yield handle


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _connect(server: msgr.ServerHandle, email: str, password: str, **kwargs: Any) -> msgr.Messenger:
    return msgr.connect(server.address, email, password, timeout=WAIT, protocols=["MSNP8"], **kwargs)


def test_msnp8_signs_in_through_the_nexus(server: msgr.ServerHandle) -> None:
    alice = _connect(server, ALICE, ALICE_PASSWORD, nexus=server.nexus_url)
    try:
        assert alice.signed_in and alice.friendly_name == ALICE_NAME
        assert server.is_online(ALICE)
        assert any(line == "USR 4 TWN S ***" for line in alice.service.trace.lines()), "the ticket is masked"
        alice.service.trace.reveal = True
        lines = alice.service.trace.lines()
        assert lines[0] == "VER 1 MSNP8 CVR0"
        assert f"USR 3 TWN I {ALICE}" in lines
        assert any(line.startswith("USR 4 TWN S t=") for line in lines), lines
    finally:
        alice.service.close()


def test_a_wrong_password_raises_authentication_failed(server: msgr.ServerHandle) -> None:
    with pytest.raises(msgr.AuthenticationFailedError) as info:
        _connect(server, ALICE, "not-the-password", nexus=server.nexus_url)
    assert "401" in str(info.value)
    assert not server.is_online(ALICE)


def test_msnp8_without_a_nexus_says_which_argument_is_missing(server: msgr.ServerHandle) -> None:
    with pytest.raises(msgr.AuthenticationFailedError, match="nexus="):
        _connect(server, ALICE, ALICE_PASSWORD)


def test_an_unreachable_nexus_is_a_connection_failure_naming_it(server: msgr.ServerHandle) -> None:
    nexus = f"http://127.0.0.1:{_free_port()}/rdr/pprdr.asp"
    with pytest.raises(msgr.ConnectionFailureError) as info:
        _connect(server, ALICE, ALICE_PASSWORD, nexus=nexus)
    assert nexus in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_nexus_url_has_the_documented_shape(server: msgr.ServerHandle) -> None:
    match = NEXUS_URL.fullmatch(server.nexus_url)
    assert match, server.nexus_url
    assert match[1] == "http" and int(match[2]) != server.address[1]
    # The nexus answers there, with the login URL on the same port.
    with urllib.request.urlopen(server.nexus_url, timeout=WAIT) as answer:
        assert answer.status == 200
        assert answer.headers["PassportURLs"] == f"DALogin=http://127.0.0.1:{match[2]}/login2.srf"
    port = _free_port()
    with msgr.serve(nexus_port=port, advertise="localhost") as other:
        assert other.nexus_url == f"http://localhost:{port}/rdr/pprdr.asp"


def test_a_wrong_password_at_the_login_url_is_401(server: msgr.ServerHandle) -> None:
    login = server.nexus_url.replace("/rdr/pprdr.asp", "/login2.srf")
    request = urllib.request.Request(login, headers={"Authorization": f"Passport1.4 OrgVerb=GET,sign-in={ALICE},pwd=nope,ct=1"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=WAIT)
    assert info.value.code == 401
    assert info.value.headers["WWW-Authenticate"].startswith("Passport1.4 da-status=failed")


@pytest.mark.parametrize("protocols", [["MSNP13"], [], ["MSNP8", "CVR0"]])
def test_unknown_or_no_protocols_are_invalid_arguments(protocols: list[str]) -> None:
    with pytest.raises(msgr.InvalidArgError, match="protocols"):
        msgr.serve(protocols=protocols)
    with pytest.raises(msgr.InvalidArgError, match="protocols"):
        msgr.connect(("127.0.0.1", 1), ALICE, ALICE_PASSWORD, protocols=protocols)


def test_protocols_must_be_a_list_of_names() -> None:
    for bad in ("MSNP8", 8, [8], {"MSNP8"}):
        with pytest.raises(msgr.InvalidArgTypeError):
            msgr.serve(protocols=bad)  # type: ignore[arg-type]
        with pytest.raises(msgr.InvalidArgTypeError):
            msgr.connect(("127.0.0.1", 1), ALICE, ALICE_PASSWORD, protocols=bad)  # type: ignore[arg-type]


def test_protocol_names_are_read_in_any_case() -> None:
    with msgr.serve(users=ALICE_AND_BOB, protocols=("msnp8", "Msnp7")) as server:
        bob = msgr.connect(server.address, BOB, BOB_PASSWORD, timeout=WAIT, protocols=["msnp8"], nexus=server.nexus_url)
        try:
            assert bob.service.trace.lines()[0] == "VER 1 MSNP8 CVR0"
        finally:
            bob.service.close()
        # By default, without a nexus, only dialects that need none are offered.
        alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        try:
            assert alice.service.trace.lines()[:2] == ["VER 1 MSNP7 CVR0", "VER 1 MSNP7"]
        finally:
            alice.service.close()


def test_bad_nexus_and_tls_arguments_are_invalid(tmp_path: Path) -> None:
    cert = tmp_path / "nexus.crt"
    cert.write_text(CERT)
    with pytest.raises(msgr.InvalidArgError, match="tls_cert and tls_key"):
        msgr.serve(tls_cert=cert)
    with pytest.raises(msgr.InvalidArgError, match="tls_key"):
        msgr.serve(tls_cert=cert, tls_key=tmp_path / "missing.key")
    with pytest.raises(msgr.InvalidArgError, match="nexus_port"):
        msgr.serve(nexus_port=65536)
    with pytest.raises(msgr.InvalidArgTypeError):
        msgr.serve(tls_cert=1, tls_key=1)  # type: ignore[arg-type]
    with pytest.raises(msgr.InvalidArgError, match="nexus"):
        msgr.connect(("127.0.0.1", 1), ALICE, ALICE_PASSWORD, nexus="127.0.0.1:1")
    with pytest.raises(msgr.InvalidArgError, match="nexus_ca"):
        msgr.connect(("127.0.0.1", 1), ALICE, ALICE_PASSWORD, nexus="https://127.0.0.1:1/", nexus_ca=tmp_path / "missing.pem")


def test_https_nexus_with_a_self_signed_certificate_trusted_through_nexus_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "nexus.crt", tmp_path / "nexus.key"
    cert.write_text(CERT)
    key.write_text(KEY)
    with msgr.serve(users=ALICE_AND_BOB, protocols=["MSNP8"], tls_cert=cert, tls_key=str(key)) as server:
        match = NEXUS_URL.fullmatch(server.nexus_url)
        assert match and match[1] == "https", server.nexus_url
        alice = _connect(server, ALICE, ALICE_PASSWORD, nexus=server.nexus_url, nexus_ca=cert)
        try:
            assert alice.signed_in
        finally:
            alice.service.close()
        # Without it the certificate is nobody's: the login cannot start.
        with pytest.raises(msgr.ConnectionFailureError, match="certificate"):
            _connect(server, BOB, BOB_PASSWORD, nexus=server.nexus_url)



def test_msgr_serve_prints_the_nexus_url() -> None:
    nexus_port = _free_port()
    cmd = [
        sys.executable, "-m", "msgr", "serve", "--port", "0", "--protocols", "msnp8,MSNP7",
        "--nexus-port", str(nexus_port), "--user", f"{ALICE}:{ALICE_PASSWORD}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        lines = pipe_lines(proc.stdout)
        address = pipe_until(lines, "msgr: serving MSNP on 127.0.0.1:").rsplit(" ", 1)[1]
        nexus = pipe_until(lines, "msgr: Passport nexus at ").rsplit(" ", 1)[1]
        assert nexus == f"http://127.0.0.1:{nexus_port}/rdr/pprdr.asp"
        host, _, port = address.rpartition(":")
        alice = msgr.connect((host, int(port)), ALICE, ALICE_PASSWORD, timeout=WAIT, protocols=["MSNP8"], nexus=nexus)
        alice.service.close()
        quit_serve(proc, WAIT)
    finally:
        reap(proc, WAIT)


def test_msgr_serve_refuses_an_unknown_protocol() -> None:
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--protocols", "MSNP13", "--no-stdin"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
    # A bad argument, as argparse's own: status 2.
    assert done.returncode == 2
    assert "MSNP13" in done.stderr and "protocols" in done.stderr


def test_msgr_serve_with_tls_prints_an_https_nexus(tmp_path: Path) -> None:
    cert, key = tmp_path / "nexus.crt", tmp_path / "nexus.key"
    cert.write_text(CERT)
    key.write_text(KEY)
    cmd = [
        sys.executable, "-m", "msgr", "serve", "--port", "0", "--protocols", "MSNP8",
        "--tls-cert", str(cert), "--tls-key", str(key), "--user", f"{ALICE}:{ALICE_PASSWORD}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        lines = pipe_lines(proc.stdout)
        host, _, port = pipe_until(lines, "msgr: serving MSNP on ").rsplit(" ", 1)[1].rpartition(":")
        nexus = pipe_until(lines, "msgr: Passport nexus at ").rsplit(" ", 1)[1]
        match = NEXUS_URL.fullmatch(nexus)
        assert match and match[1] == "https", nexus
        alice = msgr.connect((host, int(port)), ALICE, ALICE_PASSWORD, timeout=WAIT, protocols=["MSNP8"], nexus=nexus, nexus_ca=cert)
        alice.service.close()
        proc.stdin.write("quit\n")
        proc.stdin.close()
        assert proc.wait(timeout=WAIT) == 0
    finally:
        reap(proc, WAIT)


def test_msgr_serve_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "nexus.crt"
    cert.write_text(CERT)
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--tls-cert", str(cert), "--no-stdin"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    assert "tls_cert and tls_key" in done.stderr
