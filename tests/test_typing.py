"""The package's types help its users: a type checker rejects a misspelt callback and
knows that callbacks receive ``HResult`` members."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api


def check(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy"), str(path)])
    return out + err, status


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("manager.on_lock_chalenge = lambda cookie, challenge: None", 'has no attribute "on_lock_chalenge"'),
        ("session.on_acepted = print", 'has no attribute "on_acepted"'),
        ("manager.on_lock_result = lambda cookie: None", "Incompatible types in assignment"),
    ],
)
def test_a_type_checker_rejects_wrong_callbacks(tmp_path: Path, line: str, error: str) -> None:
    source = f"""import msgr
service = msgr.Service()
manager = service.sign_in("a@example.com").session_manager()
session = manager.create_session()
{line}
"""
    out, status = check(tmp_path, source)
    assert status == 1 and error in out, out


def test_callbacks_receive_hresult_members(tmp_path: Path) -> None:
    source = """import msgr
service = msgr.Service()
alice = service.sign_in("a@example.com")
priv = alice.messenger_priv()
priv.on_contact_list_add = lambda hr, contact: print(hr.name, contact)
session = alice.session_manager().create_session()
session.on_send_error = lambda hr: print(hr.name)
alice.on_sign_in_failed = lambda hr, message: print(hr.name, message)
"""
    out, status = check(tmp_path, source)
    assert status == 0, out
