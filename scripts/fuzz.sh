#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets (docs/fuzzing.md) one after another, each for
# the given seconds (default 900), as one niced libFuzzer process, so that a shared
# machine goes on building. Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [seconds per target] [target…]     targets: decoder invite nexus nexus_http service limits client
#
# The corpus grows in fuzz/corpus/<target>, seeded from the inputs kept in the source
# tree (the fuzz_regressions directories, which `cargo test` replays); crashes land in
# fuzz/artifacts/<target>; each run's output is in fuzz/logs/<target>.log, whose last
# lines give the executions, exec/s, cov: and ft:.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-900}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decoder invite nexus nexus_http service limits client)

seeds() {
    case $1 in
        decoder | invite) echo "src/wire/fuzz_regressions/$1" ;;
        nexus) echo "src/net/fuzz_regressions/nexus" ;;
        nexus_http) echo "src/net/fuzz_regressions/nexus_http" ;;
        limits) echo "src/service/fuzz_regressions/limits" ;;
        service) echo "src/service/fuzz_regressions" ;;
        client) echo "src/client/fuzz_regressions" ;;
        *) echo "unknown target $1" >&2; return 1 ;;
    esac
}

dict() {
    case $1 in
        invite) echo "fuzz/dicts/invite.dict" ;;
        nexus | nexus_http) echo "fuzz/dicts/nexus.dict" ;;
        *) echo "fuzz/dicts/msnp.dict" ;;
    esac
}

# Release with debug assertions (overflow checks too); no sanitizer: msgr has no
# `unsafe`, and ASan would halve the executions.
flags=(-O -a -s none)
CARGO_BUILD_JOBS=1 nice -n 10 cargo +nightly fuzz build "${flags[@]}" || exit 1

status=0
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
    seed_dir=$(seeds "$t") || exit 1
    mkdir -p "fuzz/corpus/$t"
    echo "== $t: $seconds s"
    nice -n 10 cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "$seed_dir" -- \
        -max_total_time="$seconds" -max_len=4096 -dict="$(dict "$t")" -print_final_stats=1 \
        >"fuzz/logs/$t.log" 2>&1
    rc=$?
    grep -E "^#[0-9]+[[:space:]]+(DONE|INITED)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)" "fuzz/logs/$t.log"
    if [ $rc -ne 0 ]; then
        echo "!! $t failed ($rc): see fuzz/logs/$t.log and fuzz/artifacts/$t"
        status=1
    fi
done
exit $status
