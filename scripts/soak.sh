#!/usr/bin/env bash
# Soak (not part of CI): `msgr serve` from a release build, serving MSNP8-MSNP12 (so it
# keeps Argon2 hashes and every sign-in is a Passport login), CLIENTS legitimate clients
# in pairs churning for SECONDS (sign in, unlock, invite to CONNECTED, send text, sign
# out; each pair rests PACE_MS between cycles, so about 50 sign-ins a second, each an
# Argon2 check) while every attack of tests/attackers.py runs at once from addresses of
# its own: wrong passwords for 40 of the clients' accounts from 50 addresses (200 a
# second), one guess a second at one account from 20, 256 slow nexus connections from
# 40 and 1,100 sockets that never sign in from 20 (each reopened as the server closes
# them, 50 and 100 a second), and garbage from 20 (100 a second). The attackers are
# paced so that on a small machine they do not take the cores the server needs;
# tests/test_abuse.py runs each one unpaced. Every 10 s: the server's memory and the
# clients' sign-in times (CSV on stdout); then what each attacker saw and the server's
# log (only the refusal summaries, as nothing else is logged without -v).
#   bash scripts/soak.sh [CLIENTS=500] [SECONDS=600] [PACE_MS=10000]
# MSGR_SOAK_PYTHON names a Python with a release msgr installed, to skip building one.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-500}
seconds=${2:-600}
pace=${3:-10000}
pairs=$((clients / 2))
work=$(mktemp -d)
server=
attackers=()
trap 'kill "$server" "${attackers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
python=${MSGR_SOAK_PYTHON:-}
if [ -z "$python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet .
    python="$work/venv/bin/python"
fi
for i in $(seq 0 $((2 * pairs - 1))); do echo "soak$i@example.com:pw"; done > "$work/users"
echo "testapp@msnmsgr.com:TESTKEY123" > "$work/licenses"
cargo build --quiet --release --example soak
ulimit -n 65536 || true
# Each pair of clients comes from an address of its own (127.1.x.y) and every limit is
# the default but the total cap, 1,000: the attackers' 1,100 idle sockets fill it, so
# every client connection takes the place of one of theirs (the default, derived from
# the descriptor limit, they would not fill).
"$python" -m msgr serve --port 0 --no-stdin --protocols MSNP8,MSNP9,MSNP10,MSNP11,MSNP12 \
    --users-file "$work/users" --licenses-file "$work/licenses" \
    --limit max_connections=1000 \
    > "$work/out" 2> "$work/err" &
server=$!
until grep -q "Passport nexus at" "$work/out"; do sleep 0.2; done
address=$(grep "serving MSNP on" "$work/out" | awk '{print $NF}')
nexus=$(grep "Passport nexus at" "$work/out" | awk '{print $NF}')

attack() {
    "$python" tests/attackers.py "$@" --msnp "$address" --nexus "$nexus" --seconds "$seconds" \
        >> "$work/attacks" &
    attackers+=($!)
}
attack guess-burst --net 101 --addresses 50 --rate 200 --accounts $(for i in $(seq 0 39); do echo "soak$i@example.com"; done)
attack guess-slow --net 102 --addresses 20 --accounts soak0@example.com
attack slow-nexus --net 103 --addresses 40 --connections 256 --rate 50
attack idle-msnp --net 104 --addresses 20 --connections 1100 --rate 100
attack garbage-msnp --net 105 --addresses 20 --rate 100

target/release/examples/soak "$address" "$pairs" "$seconds" "$server" "$nexus" "$pace"
wait "${attackers[@]}"
cat "$work/attacks"
echo "server log lines: $(wc -l < "$work/err")"
cat "$work/err"
