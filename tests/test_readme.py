"""The README's promises: its two commands and its code run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import msgr

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = first_block.group(1).strip().splitlines()
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m msgr demo",
        "bash scripts/test.sh",
    ]
    assert README.index("```bash") < README.index("## ")


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
TEST_BLOCKS = [block for block in PYTHON_BLOCKS if "\ndef test_" in block]
EXAMPLES = [block for block in PYTHON_BLOCKS if block not in TEST_BLOCKS]

#: What each example prints, in README order.
PRINTED = [
    ["unlocked"],
    ["CONNECTED 127.0.0.4", "['OnStateChanged', 'OnInvitation', 'OnStateChanged']"],
    ["S_OK bob@example.com", "alert for site True"],
    ["S_OK Status.AWAY", "Status.AWAY Alice back at 2", "['Friends']"],
    ["True INITIALIZED"],
    ["VER 1 MSNP11 / VER 1 MSNP12", "alice@example.com says hi over MSNP11"],
    ["CONNECTED 127.0.0.1", "bob got e2e4"],
]


def test_readme_has_the_examples_it_promises() -> None:
    assert len(EXAMPLES) == len(PRINTED) and len(TEST_BLOCKS) == 1
    assert "## asyncio\n" in README
    # Not on PyPI yet: the README builds the wheel from the checkout, under the name it
    # will be published as, and does not send anyone to PyPI for it.
    assert "pip wheel --no-deps -w dist ." in README and "pip install dist/msgrpriv-*.whl" in README
    assert "pip install msgrpriv" not in README


@pytest.mark.parametrize("index", range(len(PRINTED)))
def test_each_readme_example_runs_on_its_own(index: int, tmp_path: Path) -> None:
    # A fresh interpreter per block: nothing leaks in from another block or from pytest.
    script = tmp_path / "example.py"
    script.write_text(EXAMPLES[index], encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == PRINTED[index]


def test_the_readme_plugin_example_passes_under_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_readme_plugin.py").write_text(TEST_BLOCKS[0], encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_plugin.py"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_demo_shows_an_unlock_and_an_invitation_as_events_among_wire_lines() -> None:
    run = subprocess.run([sys.executable, "-m", "msgr", "demo"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    lock, invite = out.split("\n1. Lock and Key")[1].split("\n2. Session Invite")
    rows = [line.split(None, 2) for line in lock.splitlines() if line[:6].strip().isdigit()]
    seqs = [int(seq) for seq, _time, _rest in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    alice = [rest for _seq, _time, rest in rows if "alice@example.com" in rest]
    assert [r.split("(")[0].split(" ", 2)[-1].split()[0] for r in alice] == [
        "MsgrSessionManager[alice@example.com].OnLockStatusChanged",
        "CHL", "CHL", "MsgrSessionManager[alice@example.com].OnLockChallenge", "QRY", "QRY",
        "MsgrSessionManager[alice@example.com].OnLockResult",
        "MsgrSessionManager[alice@example.com].OnLockStatusChanged",
        "MsgrSessionManager[alice@example.com].OnAppRegistered",
    ]
    assert "alice@example.com C->S QRY 9 demo@msnmsgr.com 32" in lock and ".OnLockResult(1234, True)" in lock
    for shown in ("C->S MSG 3 N", "[INVITE]", "OnInvitation(<MsgrSession {", "'fancy a game?'", "[ACCEPT]",
                  "OnAccepted('ready when you are')", "OnStateChanged(ACCEPTED → CONNECTED)"):
        assert shown in invite, shown
    assert invite.index("[INVITE]") < invite.index("OnInvitation") < invite.index("OnAccepted")
    assert out.splitlines()[-2:] == [
        "session managers: alice UNLOCKED, bob UNLOCKED",
        "alice's session: CONNECTED, peer address 127.0.0.4",
    ]
    assert "DEMOKEY42" not in out


def test_package_docstring_example_runs() -> None:
    import doctest

    result = doctest.testmod(msgr)
    assert result.attempted >= 8 and result.failed == 0
