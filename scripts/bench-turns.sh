#!/usr/bin/env bash
# Compares kura binaries in turns: each round runs `kura-bench` once per binary, one after the
# other, so that whatever else the machine does falls on all of them alike. Prints one line per
# run (binary, workload, req/s, the server's cores) and, at the end, each binary's median and its
# ratio to the first binary's. This is how a regression is bisected (docs/PERFORMANCE.md, "How
# the figures got here"): only ratios within one call compare.
#
#   bash scripts/bench-turns.sh [-r ROUNDS] [-d SECONDS] [-w WORKLOADS] BIN [BIN...]
#
# A BIN may be a wrapper script that sets a variable and runs a binary, to compare settings
# (for example KURA_ACCESS_LOG_ENABLED=false). Defaults: 3 rounds of 8 s, creates and gets, Kura
# on SQLite with encryption at rest, 2,000 records, no Argon2id or disk probes. Set KURA_BENCH
# to the kura-bench binary (default: target/release/kura-bench).
set -euo pipefail

rounds=3
duration=8
workloads=create,get
while getopts "r:d:w:" opt; do
    case $opt in
        r) rounds=$OPTARG ;;
        d) duration=$OPTARG ;;
        w) workloads=$OPTARG ;;
        *) sed -n '2,14p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [[ $# -lt 1 ]]; then
    sed -n '2,14p' "$0" >&2
    exit 2
fi
bench=${KURA_BENCH:-$(dirname "${BASH_SOURCE[0]}")/../target/release/kura-bench}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

for round in $(seq 1 "$rounds"); do
    for bin in "$@"; do
        "$bench" --kura-bin "$bin" --kura-encrypted --systems kura-sqlite --workloads "$workloads" \
            --records 2000 --rounds 1 --duration "$duration" --argon2-seconds 0 --fsync-seconds 0 2>&1 |
            sed -nE 's/^\[[0-9]+\/[0-9]+\] round 1 ([a-z ]+[a-z]) +Kura \(SQLite\) +([0-9,]+) req\/s.*server ([0-9.]+) cores.*/\1\t\2\t\3/p' |
            while IFS=$'\t' read -r workload rate cores; do
                printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$bin" "$workload" "${rate//,/}" "$cores" | tee -a "$results"
            done
    done
done

echo
echo "medians (ratio to the first binary's):"
python3 - "$results" "$1" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
first = sys.argv[2]
by = {}
for _, b, w, rate, _ in rows:
    by.setdefault((w, b), []).append(float(rate))
for w in dict.fromkeys(w for _, _, w, _, _ in rows):
    base = statistics.median(by.get((w, first), [float("nan")]))
    for b in dict.fromkeys(b for _, b, _, _, _ in rows):
        rates = by.get((w, b), [])
        if rates:
            m = statistics.median(rates)
            print(f"{w:<12} {m:>9,.0f} req/s  {m / base:5.2f}x  {b}  ({' · '.join(f'{r:,.0f}' for r in rates)})")
EOF
