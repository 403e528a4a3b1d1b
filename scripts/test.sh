#!/usr/bin/env bash
# Runs every test: the Rust core's unit tests (no Python needed), then the Python API
# suite against a fresh editable build. Creates .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet -e '.[test]'

# No dependency may need a newer Rust than the rust-version the README promises.
python3 scripts/check_msrv.py
# Every Rust target: unit tests, and each benchmark once (divan runs them as tests);
# tests/msnp11_sdk.rs runs a real third-party MSNP11 client against msgr serve.
cargo test --quiet --all-targets
cargo clippy --quiet --all-targets --features python -- -D warnings
# The hand-kept stubs must match what the extension exports, and the package type-checks.
.venv/bin/python -m mypy.stubtest msgr._core msgr.enums
.venv/bin/python -m mypy --strict python/msgr
.venv/bin/python -m pytest -q
# Every Python benchmark once, in a tiny configuration, so none rots; it asserts no time
# (BENCHMARKS.md has the figures and how to take them).
.venv/bin/python scripts/bench.py --quick
