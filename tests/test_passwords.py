"""Passwords kept as Argon2id hashes where MSNP7 is not served: ``msgr.hash_password``
and ``msgr hash-password`` make hashes the server takes in place of passwords; accounts
given in a batch are checked before any is written and hashed side by side; a restart
with the same accounts writes nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import msgr

MODERN = ["MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"]
PHC_PREFIX = "$argon2id$v=19$m=7168,t=5,p=1$"


def test_a_hash_signs_in_with_its_password_and_nothing_else() -> None:
    hashed = msgr.hash_password("correct horse")
    assert hashed.startswith(PHC_PREFIX) and "correct horse" not in hashed
    assert msgr.hash_password("correct horse") != hashed, "freshly salted each time"
    with msgr.serve(users=[("alice@example.com", hashed)], protocols=MODERN) as server:
        with msgr.connect(server.address, "alice@example.com", "correct horse", protocols=["MSNP11"], nexus=server.nexus_url) as alice:
            assert alice.sign_in_name == "alice@example.com"
        with pytest.raises(msgr.AuthenticationFailedError):
            msgr.connect(server.address, "alice@example.com", hashed, protocols=["MSNP11"], nexus=server.nexus_url)


@pytest.mark.parametrize(
    ("password", "error", "says"),
    [
        ("", msgr.InvalidArgError, "1 to 256"),
        ("x" * 257, msgr.InvalidArgError, "1 to 256"),
        ("a\nb", msgr.InvalidArgError, "control characters"),
        (PHC_PREFIX + "c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43, msgr.InvalidArgError, "already an Argon2id hash"),
        (b"bytes", msgr.InvalidArgTypeError, "must be a str"),
    ],
)
def test_what_is_not_a_password_is_not_hashed(password: object, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        msgr.hash_password(password)  # type: ignore[arg-type]


def test_a_batch_with_one_bad_account_writes_none() -> None:
    with msgr.serve(protocols=MODERN) as server:
        with pytest.raises(msgr.InvalidArgError, match="b@example.com: a password is 1 to 256"):
            server.add_users([("a@example.com", "pw-a"), ("b@example.com", ""), ("c@example.com", "pw-c")])
        assert server.users == {}
        with pytest.raises(msgr.FailError, match="given twice"):
            server.add_users([("a@example.com", "pw-a"), ("A@example.com", "pw-b")])
        with pytest.raises(msgr.InvalidArgTypeError, match=r"users\[1\] must be"):
            server.add_users([("a@example.com", "pw-a"), ("b@example.com",)])
        with pytest.raises(msgr.InvalidArgTypeError, match="users must be an iterable"):
            server.add_users("a@example.com:pw")  # type: ignore[arg-type]
        assert server.users == {}
        server.add_users([("a@example.com", "pw-a"), ("b@example.com", "pw-b", "Bee")])
        assert server.users == {"a@example.com": "a", "b@example.com": "Bee"}


def test_a_hash_cannot_serve_msnp7() -> None:
    hashed = msgr.hash_password("pw")
    with pytest.raises(msgr.InvalidArgError, match="cannot serve MSNP7"):
        msgr.serve(users=[("alice@example.com", hashed)], protocols=["MSNP7", "MSNP11"])


def _stored(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT name, password FROM accounts"))


def test_a_restart_with_the_same_accounts_keeps_their_hashes(tmp_path: Path) -> None:
    db = tmp_path / "msgr.db"
    users = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b")]
    with msgr.serve(users=users, db=str(db), protocols=MODERN):
        pass
    first = _stored(db)
    assert all(v.startswith(PHC_PREFIX) for v in first.values()), first
    with msgr.serve(users=users, db=str(db), protocols=MODERN):
        pass
    assert _stored(db) == first, "the same passwords: nothing hashed again or written"
    with msgr.serve(users=[("alice@example.com", "pw-new")], db=str(db), protocols=MODERN) as server:
        with msgr.connect(server.address, "alice@example.com", "pw-new", protocols=["MSNP11"], nexus=server.nexus_url):
            pass
    again = _stored(db)
    assert again["bob@example.com"] == first["bob@example.com"] and again["alice@example.com"] != first["alice@example.com"]


def _hash_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "msgr", "hash-password", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_msgr_hash_password_rewrites_a_users_file_that_serve_then_takes(tmp_path: Path) -> None:
    plain = tmp_path / "users.txt"
    plain.write_text("# staff\nalice@example.com:pw:with:colons\n\nbob@example.com:pw-b\n")
    done = _hash_cli(str(plain), stdin="")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "# staff" and lines[2] == ""
    assert lines[1].startswith("alice@example.com:" + PHC_PREFIX) and lines[3].startswith("bob@example.com:" + PHC_PREFIX)
    assert "pw-b" not in done.stdout and "colons" not in done.stdout
    # Hashing a hashed file changes nothing.
    assert _hash_cli("-", stdin=done.stdout).stdout == done.stdout
    hashed = tmp_path / "hashed.txt"
    hashed.write_text(done.stdout)
    from msgr.cli import _secret_lines

    with msgr.serve(users=_secret_lines(str(hashed), "MSGR_NO_SUCH_VARIABLE", "EMAIL:PASSWORD"), protocols=MODERN) as server:
        with msgr.connect(server.address, "alice@example.com", "pw:with:colons", protocols=["MSNP11"], nexus=server.nexus_url):
            pass


def test_msgr_hash_password_hashes_one_password_from_stdin_and_names_bad_lines_only_by_number() -> None:
    one = _hash_cli(stdin="hunter2\n")
    assert one.returncode == 0 and one.stdout.startswith(PHC_PREFIX) and one.stdout.count("\n") == 1
    empty = _hash_cli(stdin="\n")
    assert empty.returncode == 2 and "1 to 256" in empty.stderr
    bad = _hash_cli("-", stdin="alice@example.com:pw\nsecret-without-colon\n")
    assert bad.returncode == 2 and "line 2: expected EMAIL:PASSWORD" in bad.stderr
    assert "secret-without-colon" not in bad.stderr and bad.stdout == ""
