#!/usr/bin/env bash
# sum_array_pages.sh: what the page size does to sum_array --processes, against threads.
#
# Runs, interleaved round by round, `sum_array N --len L --format json` with threads, with
# processes on the array's 2 MiB huge pages (the default: MADV_HUGEPAGE), and with processes on
# 4 KiB pages (--small-pages: MADV_NOHUGEPAGE), each report written to a file. Prints one
# Markdown table: each mode's median lecture time, its speed-up over the one sequential pass in
# the same run (median, min–max), how much of the array sat on huge pages (AnonHugePages from
# /proc/self/smaps, as the demo reports it). Issue 11,
# item 2: processes should gain like threads do; on 4 KiB pages each forked child pays for its
# first read of every page (fork hands it page-table entries marked old) although it takes no
# more faults, which is why the demo asks for huge pages.
#
# Usage: scripts/sum_array_pages.sh [--runs N] [--workers N] [--len L] [-h]
#   --runs N     rounds (env RUNS, default 11)
#   --workers N  threads or processes (env WORKERS, default 2)
#   --len L      ints in the array (env LEN, default 20000000: 76 MiB)
# KEEP=1 keeps the reports (the directory is printed). The binaries: OSLAB_BIN, or this
# checkout's target/release (built if missing; scripts/lib.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

runs=${RUNS:-11}
workers=${WORKERS:-2}
len=${LEN:-20000000}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --workers) workers=${2:?--workers needs a number}; shift 2 ;;
        --len) len=${2:?--len needs a number}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "sum_array_pages.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in "$runs" "$workers" "$len"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "sum_array_pages.sh: not a positive number: $n" >&2; exit 2; }
done

bin=$(oslab_bin_dir)
out=$(mktemp -d "${TMPDIR:-/tmp}/oslab-sum-pages.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
    echo "reports kept in $out" >&2
else
    trap 'rm -rf "$out"' EXIT
fi

modes=(threads processes small)
flags_threads=()
flags_processes=(--processes)
flags_small=(--processes --small-pages)
for ((i = 1; i <= runs; i++)); do
    for m in "${modes[@]}"; do
        declare -n flags="flags_$m"
        "$bin/sum_array" "$workers" --len "$len" "${flags[@]}" --format json \
            >"$out/$m.$i.json" 2>"$out/$m.$i.err"
    done
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$out" "$runs" "$workers" "$len" "$load" <<'PY'
import json, statistics, sys

out, runs, workers, length, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
label = {
    "threads": f"sum_array {workers} (threads)",
    "processes": f"sum_array {workers} --processes (huge pages)",
    "small": f"sum_array {workers} --processes --small-pages",
}
print(f"sum_array, {length} ints, {runs} interleaved runs per mode (load average at the end: {load})")
print()
print("| mode | median time | speed-up median | speed-up min–max | on huge pages |")
print("|---|---|---|---|---|")
for mode in ("threads", "processes", "small"):
    times, speedups, huge = [], [], []
    for i in range(1, runs + 1):
        doc = json.load(open(f"{out}/{mode}.{i}.json"))
        r = doc["results"]
        t = r["trials"][-1]
        times.append(t["elapsed_ns"] / 1e6)
        speedups.append(t["speedup"])
        pages = r.get("pages") or {}
        if pages:
            huge.append(pages["huge_bytes"] / pages["array_bytes"])
    med = statistics.median
    print(f"| {label[mode]} | {med(times):.1f} ms | {med(speedups):.2f}× | "
          f"{min(speedups):.2f}–{max(speedups):.2f}× | "
          f"{100 * med(huge):.0f}% |")
PY
