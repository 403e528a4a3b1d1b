#!/usr/bin/env bash
# Soak (not part of CI): `msgr serve` from a release build, PAIRS pairs of clients churning
# for SECONDS, the server's memory sampled every 10 s (CSV on stdout).
#   bash scripts/soak.sh [PAIRS=500] [SECONDS=600]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-500}
seconds=${2:-600}
work=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet .
for i in $(seq 0 $((2 * pairs - 1))); do echo "soak$i@example.com:pw"; done > "$work/users"
echo "testapp@msnmsgr.com:TESTKEY123" > "$work/licenses"
cargo build --quiet --release --example soak
# Every soak client comes from 127.0.0.1: lift the per-address cap above their number.
"$work/venv/bin/python" -m msgr serve --port 0 --no-stdin --users-file "$work/users" \
    --licenses-file "$work/licenses" --limit max_per_address=$((8 * pairs)) --limit xfr=1000/0.001 \
    --limit cal=1000/0.001 --limit rings=1000/0.001 > "$work/out" 2>&1 &
server=$!
until grep -q "serving MSNP on" "$work/out"; do sleep 0.2; done
address=$(grep "serving MSNP on" "$work/out" | awk '{print $NF}')
ulimit -n 65536 || true
target/release/examples/soak "$address" "$pairs" "$seconds" "$server"
