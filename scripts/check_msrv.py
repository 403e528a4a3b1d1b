"""Fails if a dependency in Cargo.lock declares a rust-version newer than ours, so the
README's "Rust >= <rust-version>" stays true (`cargo update` would otherwise move
crates past it silently; `CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo
update -p NAME` brings one back)."""

from __future__ import annotations

import json
import subprocess
import sys


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def main() -> int:
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"], check=True, capture_output=True, text=True).stdout)
    ours = next(p for p in meta["packages"] if p["id"] in meta["workspace_members"])
    limit = version(ours["rust_version"])
    newer = sorted(
        f"{p['name']} {p['version']} needs Rust {p['rust_version']}"
        for p in meta["packages"]
        if p.get("rust_version") and version(p["rust_version"]) > limit
    )
    if newer:
        print(f"dependencies newer than rust-version {ours['rust_version']}:", *newer, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
