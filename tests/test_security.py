"""Secrets and their keeping: passwords hashed wherever MSNP7 does not need them, the
database readable by its owner alone, secrets kept off the command line, and what
``serve(limits=)`` accepts."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import msgr
from conftest import pipe_lines, pipe_until

ALICE, BOB = "alice@example.com", "bob@example.com"


def stored(db: Path) -> dict[str, tuple[str, int]]:
    # closing(): sqlite3's own context manager ends the transaction, not the connection,
    # and a reader left open pins an old snapshot of the WAL.
    with contextlib.closing(sqlite3.connect(db)) as c:
        return {name: (password, hashed) for name, password, hashed in c.execute("SELECT name, password, hashed FROM accounts")}


def test_without_msnp7_passwords_are_kept_as_argon2id_hashes(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    with msgr.serve(db=str(db), protocols=["MSNP11"], users=[(ALICE, "Pa55 word")]) as server:
        password, hashed = stored(db)[ALICE]
        assert hashed == 1 and password.startswith("$argon2id$") and "Pa55" not in password
        with msgr.connect(server.address, ALICE, "Pa55 word", protocols=["MSNP11"], nexus=server.nexus_url) as alice:
            assert alice.signed_in
        # The hash checks the password byte for byte: case and spaces count.
        for wrong in ["pa55 word", "Pa55 word ", "Pa55word"]:
            with pytest.raises(msgr.AuthenticationFailedError):
                msgr.connect(server.address, ALICE, wrong, protocols=["MSNP11"], nexus=server.nexus_url)


def test_with_msnp7_passwords_are_kept_as_given_and_rehashed_once_it_goes(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    with msgr.serve(db=str(db), users=[(ALICE, "pw-a")]):
        assert stored(db)[ALICE] == ("pw-a", 0), "MSNP7's MD5 sign-in needs the password itself"
    with msgr.serve(db=str(db), protocols=["MSNP8", "MSNP11"]) as server:
        password, hashed = stored(db)[ALICE]
        assert hashed == 1 and password.startswith("$argon2id$"), "written back as a hash"
        with msgr.connect(server.address, ALICE, "pw-a", protocols=["MSNP8"], nexus=server.nexus_url) as alice:
            assert alice.signed_in


def test_an_account_kept_only_as_a_hash_cannot_sign_in_with_md5(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    with msgr.serve(db=str(db), protocols=["MSNP11"], users=[(ALICE, "pw-a")]):
        pass
    with msgr.serve(db=str(db)) as server:
        with pytest.raises(msgr.AuthenticationFailedError):
            msgr.connect(server.address, ALICE, "pw-a")
        # Setting the password again, with MSNP7 served, keeps it as MD5 needs it.
        server.add_user(ALICE, "pw-a", exist_ok=True)
        with msgr.connect(server.address, ALICE, "pw-a") as alice:
            assert alice.signed_in


def test_the_database_and_its_wal_and_shm_are_the_owners_alone(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    with msgr.serve(db=str(db), users=[(ALICE, "pw-a")]):
        for suffix in ["", "-wal", "-shm"]:
            mode = stat.S_IMODE(os.stat(f"{db}{suffix}").st_mode)
            assert mode == 0o600, f"{suffix or 'db'}: {oct(mode)}"
    service = msgr.Service(db=tmp_path / "e.sqlite")
    service.add_user(BOB, "pw-b")
    service.close()
    assert stat.S_IMODE(os.stat(tmp_path / "e.sqlite").st_mode) == 0o600


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--no-stdin", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})


def test_secrets_come_from_a_file_or_the_environment_and_stay_out_of_ps(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# accounts\nalice@example.com:s3cret:with colon\n\n", encoding="utf-8")
    licenses = tmp_path / "licenses"
    licenses.write_text("app@msnmsgr.com:KEY1\n", encoding="utf-8")
    proc = _serve("--users-file", str(users), "--licenses-file", str(licenses), env={"MSGR_USERS": "bob@example.com:pw,b"})
    try:
        lines = pipe_lines(proc.stdout)
        address = pipe_until(lines, "msgr: serving MSNP on ").rsplit(" ", 1)[1]
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert b"s3cret" not in cmdline and b"pw,b" not in cmdline
        with msgr.connect(address, ALICE, "s3cret:with colon") as alice:
            manager = alice.session_manager()
            msgr.testing.unlock(manager, "app@msnmsgr.com", "KEY1")
        with msgr.connect(address, BOB, "pw,b") as bob:
            assert bob.signed_in
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("content", "words"),
    [("alice@example.com\n", "EMAIL:PASSWORD"), (":nopassword\n", "EMAIL:PASSWORD")],
)
def test_a_malformed_secrets_file_is_refused_at_start_up(tmp_path: Path, content: str, words: str) -> None:
    users = tmp_path / "users"
    users.write_text(content, encoding="utf-8")
    proc = _serve("--users-file", str(users))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and words in out


def test_a_missing_secrets_file_is_refused_at_start_up(tmp_path: Path) -> None:
    proc = _serve("--licenses-file", str(tmp_path / "nope"))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "nope" in out


def test_seeded_runs_say_they_are_for_tests() -> None:
    proc = _serve("--seed", "3")
    try:
        lines = pipe_lines(proc.stdout)
        assert "for tests only" in pipe_until(lines, "msgr: seeded")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_limits_are_set_by_name_and_checked() -> None:
    with msgr.serve(limits={"idle": 300, "xfr": (5, 0.5), "max_per_address": 8}):
        pass
    for bad in [{"nope": 1}, {"idle": 0}, {"xfr": 3}, {"idle": (1, 1.0)}, {"xfr": (0, 1.0)}]:
        with pytest.raises(msgr.InvalidArgError):
            msgr.serve(limits=bad)  # type: ignore[arg-type]
    with pytest.raises(msgr.InvalidArgTypeError):
        msgr.serve(limits={"idle": "soon"})  # type: ignore[dict-item]
    with pytest.raises(msgr.InvalidArgTypeError):
        msgr.serve(limits=[("idle", 1)])  # type: ignore[arg-type]
    proc = _serve("--limit", "idle=bad")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "NAME=NUMBER" in out
