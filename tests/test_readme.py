"""The README's promises: its two commands and its code run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def test_readme_python_examples_run_in_order(capsys) -> None:
    namespace: dict[str, object] = {}
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "unlocked",
        "CONNECTED 127.0.0.4",
        "S_OK bob@example.com",
        "alert for site True",
        "True INITIALIZED",
    ]
    manager = namespace["manager"]
    assert isinstance(manager, msgr.MsgrSessionManager)
    assert manager.status == msgr.LockStatus.UNLOCKED


def test_demo_unlocks_and_prints_events_and_wire() -> None:
    run = subprocess.run([sys.executable, "-m", "msgr", "demo"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    events = [line.strip() for line in lines if "MsgrSessionManager.on_" in line]
    assert [e.split("  ")[-1].split("(")[0] for e in events] == [
        "MsgrSessionManager.on_lock_status_changed",
        "MsgrSessionManager.on_lock_challenge",
        "MsgrSessionManager.on_lock_result",
        "MsgrSessionManager.on_lock_status_changed",
    ]
    wire = [line.strip() for line in lines if line.strip().startswith(("C->S", "S->C"))]
    assert wire[0] == "C->S  CHL 8"
    assert wire[1].startswith("S->C  CHL 8 ")
    assert wire[2].startswith("C->S  QRY 9 demo@msnmsgr.com 32")
    assert wire[3] == "S->C  QRY 9"
    assert lines[-1] == "final status: UNLOCKED"
    assert "DEMOKEY42" not in run.stdout


def test_package_docstring_example_runs() -> None:
    import doctest

    result = doctest.testmod(msgr)
    assert result.attempted >= 8 and result.failed == 0
