#!/usr/bin/env bash
# bench_sched.sh: the time and scheduling demos against their C twins and the field's tools.
#
# Rows (one Markdown table; medians of interleaved runs, each ratio with its 95% bootstrap
# interval over the runs, paired in order, and a verdict against its target: meets when the
# interval's upper end is within it, misses when its lower end is beyond it, not settled
# otherwise; examples/bench_stats.rs computes them):
#   pipe ping-pong, one CPU:   context_switch --pingpong N --cpu A   vs  scripts/c/pipe_pingpong N A A
#                              vs  taskset -c A perf bench sched pipe -l N            (µs per round trip)
#   pipe ping-pong, two CPUs:  context_switch (its two-CPU trial)   vs  pipe_pingpong N A B
#                              (perf bench has no per-task pinning: its unpinned figure is shown for
#                              information)
#   sleep, absolute + FIFO + mlockall, 1 ms and 5 ms:
#                              sleep_jitter --mode absolute --fifo 80 --mlock   vs  scripts/c/sleep_jitter
#                              vs  cyclictest -m -p 80 -i US -l N -h 1000 -q --laptop   (p50 of the
#                              overshoot; cyclictest prints no percentiles, so its p50 is read off its µs
#                              histogram, the middle of its bucket as it truncates to whole µs, and its
#                              average is shown beside it; the verdict compares the two p50s, percentile
#                              with percentile). --laptop: cyclictest otherwise
#                              holds /dev/cpu_dma_latency at 0, which the three flags do not ask for;
#   the same + --dma-latency 0 (cyclictest's default, idle CPUs kept from halting)
#                              vs  the C twin with `dma`  vs  cyclictest without --laptop
#   sleep, relative (the lecture's time.sleep), 1 ms: sleep_jitter alone, for the contrast
#   nice 0 vs nice 5 on one CPU, --seconds 2: nice_share, measured shares against CFS's 75.3 / 24.7
#
# Targets (DESIGN.md §4): context-switch latency within 10% of perf bench sched pipe with the same
# placement; sleep-jitter percentiles no worse than cyclictest's in the same mode. cyclictest comes
# from the rt-tests package, installed here with apt-get when it is missing (root only); without it
# its column is skipped with a message. perf may be missing or lack hardware counters (`perf stat
# -e instructions true` tells); `perf bench` needs none, and its column is skipped when it fails.
#
# Usage: scripts/bench_sched.sh [--runs N] [--quick] [--no-build] [-h]
#   --runs N     runs per side per row, interleaved (env RUNS, default 7; 5 for the sleep rows,
#                of 2000 sleeps at 1 ms and 400 at 5 ms: 2 s each; a sleep row whose interval
#                straddles 1.10 gets 2 more at a time, up to 11)
#   --quick      smoke run: 2 runs, smaller sizes (env QUICK=1)
#   --no-build   use the binaries already built (env NO_BUILD=1)
# Run it on an idle machine: it prints the load before and after, and warns when others were busy.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
runs=${RUNS:-}
quick=${QUICK:-0}
no_build=${NO_BUILD:-0}
cc=${CC:-gcc}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --quick) quick=1; shift ;;
        --no-build) no_build=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench_sched.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [[ $quick == 1 ]]; then
    runs=${runs:-2}; sleep_runs=$runs; sleep_budget=$runs; pp_n=10000; sleeps_1ms=500; sleeps_5ms=200; nice_s=1
else
    runs=${runs:-7}; sleep_runs=5; sleep_budget=11; pp_n=50000; sleeps_1ms=2000; sleeps_5ms=400; nice_s=2
fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench_sched.sh: --runs must be a positive number" >&2; exit 2; }

rust=$root/target/release
stats=$root/target/release/examples/bench_stats
c_src=$root/scripts/c
c_bin=$c_src/build
if [[ $no_build != 1 ]]; then
    echo "building: cargo build --release --bins --example bench_stats; $cc -O2 the C twins into scripts/c/build/" >&2
    cargo build --release --bins --example bench_stats >&2
    mkdir -p "$c_bin"
    for p in pipe_pingpong sleep_jitter; do
        "$cc" -O2 -Wall -Wextra -o "$c_bin/$p" "$c_src/$p.c"
    done
fi
for b in "$rust/context_switch" "$rust/sleep_jitter" "$rust/nice_share" "$c_bin/pipe_pingpong" "$c_bin/sleep_jitter" "$stats"; do
    [[ -x $b ]] || { echo "bench_sched.sh: missing $b (build first)" >&2; exit 1; }
done

# The tools of the field, when they can be had.
if ! command -v cyclictest >/dev/null && [[ $EUID == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing rt-tests (cyclictest) with apt-get ..." >&2
    apt-get install -y rt-tests >/dev/null 2>&1 \
        || { apt-get update >/dev/null 2>&1 && apt-get install -y rt-tests >/dev/null 2>&1; } || true
fi
have_cyclictest=0
if command -v cyclictest >/dev/null; then have_cyclictest=1; else
    echo "bench_sched.sh: cyclictest not available (apt-get install rt-tests failed or not root): its column is skipped" >&2
fi
have_perf=0
if command -v perf >/dev/null && perf bench sched pipe -l 10 >/dev/null 2>&1; then have_perf=1; else
    echo "bench_sched.sh: perf bench sched pipe does not run here: its column is skipped" >&2
fi
perf_counters=no
# (The output is read whole: with pipefail, `perf ... | grep -q` fails when grep stops early.)
if command -v perf >/dev/null && counted=$(perf stat -e instructions true 2>&1) \
    && [[ $counted != *"not supported"* ]]; then
    perf_counters=yes
fi

cpus=$(nproc)
a=0; b=1
((cpus > 1)) || b=""
out=$(mktemp -d "${TMPDIR:-/tmp}/oslab-bench-sched.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then echo "raw outputs kept in $out" >&2; else trap 'rm -rf "$out"' EXIT; fi

# How the outputs are read: one module for the sleep rows' adaptive runs and for the report.
cat >"$out/sched_read.py" <<'PY'
import json, re, sys
from pathlib import Path

def kv(p, key):
    m = re.search(rf"^{key} = ([0-9.]+)$", p.read_text(), re.M)
    if not m:
        sys.exit(f"bench_sched.sh: no {key} in {p}:\n{p.read_text()}")
    return float(m.group(1))

def cyclictest(p):
    """cyclictest's average and p50 (µs). It truncates each latency to whole µs, so bucket k
    holds [k, k+1) µs: its p50 is read off the histogram as the bucket's middle, k + 0.5, and
    its average (of truncated values) is 0.5 µs low likewise; both are given back corrected."""
    text = p.read_text()
    avg = float(re.search(r"# Avg Latencies: (\d+)", text).group(1))
    hist = [tuple(map(int, l.split()[:2])) for l in text.splitlines() if re.match(r"^\d+\s+\d+", l)]
    over = int(re.search(r"# Histogram Overflows: (\d+)", text).group(1))
    total = sum(c for _, c in hist) + over
    seen, p50 = 0, None
    for us, c in hist:
        seen += c
        if seen * 2 >= total:
            p50 = us
            break
    return avg + 0.5, (p50 if p50 is not None else 1000) + 0.5

def sleep_runs(out, tag, n, have_cyc):
    """Rust's p50 and p99 overshoot, the C twin's p50 and cyclictest's (avg, p50), µs, per run."""
    r = [json.loads((out / f"sl.{tag}.rust.{i}").read_text())["results"]["trials"][0]
         for i in range(1, n + 1)]
    c = [kv(out / f"sl.{tag}.c.{i}", "p50_ns") / 1e3 for i in range(1, n + 1)]
    cyc = [cyclictest(out / f"sl.{tag}.cyc.{i}") for i in range(1, n + 1)] if have_cyc else []
    return [t["p50_ns"] / 1e3 for t in r], [t["p99_ns"] / 1e3 for t in r], c, cyc

if __name__ == "__main__":
    # sched_read.py OUT TAG N: Rust's p50s and the reference's (cyclictest's p50, else the C
    # twin's), comma-separated, for bench_stats values.
    out, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    have_cyc = (out / f"sl.{tag}.cyc.1").exists()
    rp50, _, cp50, cyc = sleep_runs(out, tag, n, have_cyc)
    ref = [q for _, q in cyc] if cyc else cp50
    print(",".join(map(str, rp50)), ",".join(map(str, ref)))
PY

load0=$(cut -d' ' -f1-3 /proc/loadavg)
top0=$(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}')
wall0=$(date +%s.%N)

# ---- ping-pong: Rust (both placements in one run), C one CPU, C two CPUs, perf pinned, perf unpinned
echo "ping-pong: $runs × (Rust, C, perf) with $pp_n round trips" >&2
for ((i = 1; i <= runs; i++)); do
    "$rust/context_switch" --seconds 0 --pingpong "$pp_n" --cpu "$a${b:+,$b}" --format json -q >"$out/pp.rust.$i"
    "$c_bin/pipe_pingpong" "$pp_n" "$a" "$a" >"$out/pp.c1.$i"
    [[ -n $b ]] && "$c_bin/pipe_pingpong" "$pp_n" "$a" "$b" >"$out/pp.c2.$i"
    if ((have_perf)); then
        taskset -c "$a" perf bench sched pipe -l "$pp_n" >"$out/pp.perf1.$i" 2>&1
        perf bench sched pipe -l "$pp_n" >"$out/pp.perf2.$i" 2>&1
    fi
done

# ---- sleeps: Rust, C, cyclictest at 1 ms and 5 ms, absolute + FIFO 80 + mlockall. Adaptive: a
# row whose interval (Rust's p50 against cyclictest's) straddles 1.10 gets 2 runs more, up to
# $sleep_budget.
sleep_row() { # tag interval_us count dma(0/1)
    local tag=$1 us=$2 n=$3 dma=$4 i=0 r ref doc
    local -a rust_dma=() c_dma=() cyc_dma=(--laptop)
    if ((dma)); then rust_dma=(--dma-latency 0); c_dma=(dma); cyc_dma=(); fi
    echo "sleep $tag: $sleep_runs × (Rust, C, cyclictest) × $n sleeps of $us µs, up to $sleep_budget" >&2
    one_sleep() {
        "$rust/sleep_jitter" --count "$n" --interval "${us}us" --mode absolute --fifo 80 --mlock \
            "${rust_dma[@]}" --format json -q >"$out/sl.$tag.rust.$1"
        "$c_bin/sleep_jitter" "$n" "$us" 80 mlock "${c_dma[@]}" >"$out/sl.$tag.c.$1"
        if ((have_cyclictest)); then
            cyclictest -m -p 80 -i "$us" -l "$n" -h 1000 -q "${cyc_dma[@]}" >"$out/sl.$tag.cyc.$1" 2>&1
        fi
    }
    while ((i < sleep_runs)); do one_sleep $((++i)); done
    while ((i < sleep_budget)); do
        read -r r ref <<<"$(python3 "$out/sched_read.py" "$out" "$tag" "$i")"
        doc=$("$stats" values --rust "$r" --c "$ref" --budget "$sleep_budget")
        [[ $doc == *'"more":true'* ]] || break
        echo "  not settled after $i runs: 2 more" >&2
        one_sleep $((++i))
        ((i < sleep_budget)) && one_sleep $((++i))
    done
    echo "$i" >"$out/sl.$tag.runs"
}
sleep_row 1ms 1000 "$sleeps_1ms" 0
sleep_row 1ms-dma 1000 "$sleeps_1ms" 1
sleep_row 5ms 5000 "$sleeps_5ms" 0
sleep_row 5ms-dma 5000 "$sleeps_5ms" 1
echo "sleep, relative (the lecture's): $sleep_runs × Rust" >&2
for ((i = 1; i <= sleep_runs; i++)); do
    "$rust/sleep_jitter" --count "$sleeps_1ms" --interval 1ms --format json -q >"$out/sl.rel.rust.$i"
done

# ---- nice 0 vs 5
echo "nice_share: $sleep_runs × nice_share --nice 5 --seconds $nice_s" >&2
for ((i = 1; i <= sleep_runs; i++)); do
    "$rust/nice_share" --nice 5 --seconds "$nice_s" --cpu "$a" --format json -q >"$out/nice.$i"
done

wall=$(awk -v w0="$wall0" -v w1="$(date +%s.%N)" 'BEGIN{printf "%.0f", w1-w0}')
load1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$out" "$runs" "$sleep_runs" "$sleep_budget" "$have_perf" "$have_cyclictest" "$b" "$pp_n" \
    "$sleeps_1ms" "$sleeps_5ms" "$nice_s" "$load0" "$load1" "$top0" "$wall" "$perf_counters" \
    "$(uname -sr)" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$stats" <<'PY'
import json, re, statistics, subprocess, sys
from pathlib import Path

out = Path(sys.argv[1])
sleep_budget = int(sys.argv.pop(4))
runs, sleep_runs, have_perf, have_cyc = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1"
two, pp_n, n1, n5, nice_s = sys.argv[6] != "", int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), sys.argv[10]
load0, load1, top0, wall, counters, kernel, date, stats = sys.argv[11:19]

def ci(rust, ref):
    """Rust/ref, the ratio of medians: `1.02 [0.98–1.06]` and the verdict against 1.10."""
    doc = json.loads(subprocess.run(
        [stats, "values", "--rust", ",".join(map(str, rust)), "--c", ",".join(map(str, ref))],
        check=True, capture_output=True, text=True).stdout)
    return f"{doc['ratio']:.2f} [{doc['lo']:.2f}–{doc['hi']:.2f}]", doc["says"]

def files(prefix, n):
    return [out / f"{prefix}.{i}" for i in range(1, n + 1)]

sys.path.insert(0, str(out))
from sched_read import kv, sleep_runs as sleep_values

def perf_us(p):
    m = re.search(r"([0-9.]+) usecs/op", p.read_text())
    if not m:
        sys.exit(f"bench_sched.sh: cannot parse perf output {p}:\n{p.read_text()}")
    return float(m.group(1))

med = statistics.median
def us(x):
    return f"{x:.1f} µs" if x < 100 else f"{x:.0f} µs"
def spread(xs):
    return f"{min(xs):.1f}–{max(xs):.1f}"

print(f"bench_sched: {kernel}; {date}; {wall} s; load average {load0} before, {load1} after; "
      f"busiest at the start: {top0}")
print(f"perf hardware counters: {counters}; runs: {runs} per ping-pong side, {sleep_runs} per sleep and nice side, interleaved")
print()
print("| row | Rust median | C twin median | Rust/C [95% CI] | reference | Rust/reference [95% CI] | target | verdict | Rust min–max |")
print("|---|---|---|---|---|---|---|---|---|")

rust_pp = [json.loads(p.read_text())["results"]["trials"] for p in files("pp.rust", runs)]
one = [next(t for t in ts if t["placement"] == "one CPU")["ns_per_round_trip"] / 1e3 for ts in rust_pp]
c1 = [kv(p, "ns_per_round_trip") / 1e3 for p in files("pp.c1", runs)]
ref, ratio, says = "—", "—", "no perf: not settled"
if have_perf:
    perf1 = [perf_us(p) for p in files("pp.perf1", runs)]
    ref = f"{us(med(perf1))} (taskset -c 0 perf bench sched pipe -l {pp_n})"
    ratio, says = ci(one, perf1)
print(f"| ping-pong, one CPU (µs per round trip) | {us(med(one))} | {us(med(c1))} | {ci(one, c1)[0]} "
      f"| {ref} | {ratio} | ≤ 1.10 × perf | {says} | {spread(one)} |")
if two:
    tw = [next(t for t in ts if t["placement"] == "two CPUs")["ns_per_round_trip"] / 1e3 for ts in rust_pp]
    c2 = [kv(p, "ns_per_round_trip") / 1e3 for p in files("pp.c2", runs)]
    ref = "—"
    if have_perf:
        ref = f"{us(med([perf_us(p) for p in files('pp.perf2', runs)]))} (perf bench unpinned: info)"
    ratio, says = ci(tw, c2)
    print(f"| ping-pong, two CPUs (µs per round trip) | {us(med(tw))} | {us(med(c2))} | {ratio} "
          f"| {ref} | — | ≤ 1.10 × C | {says} | {spread(tw)} |")
switches = [next(t for t in ts if t["placement"] == "one CPU")["switches_per_round_trip"] for ts in rust_pp]

for tag, n in (("1ms", n1), ("1ms-dma", n1), ("5ms", n5), ("5ms-dma", n5)):
    dma = tag.endswith("-dma")
    interval = 1000 if tag.startswith("1ms") else 5000
    k = int((out / f"sl.{tag}.runs").read_text())
    rp50, rp99, cp50, cyc = sleep_values(out, tag, k, have_cyc)
    ref, ratio, says = "—", "—", "no cyclictest: not settled"
    if have_cyc:
        avg, p50 = med([a for a, _ in cyc]), med([q for _, q in cyc])
        ref = f"p50 {us(p50)}, avg {us(avg)} (cyclictest -m -p 80 -i {interval} -l {n}{'' if dma else ' --laptop'})"
        of_p50, says = ci(rp50, [q for _, q in cyc])
        ratio = f"{of_p50} of p50, {med(rp50) / avg:.2f} of avg"
    how = "absolute + FIFO 80 + mlockall" + (" + --dma-latency 0" if dma else "")
    print(f"| sleep {interval // 1000}ms × {n}, {how}: p50 overshoot (p99 {us(med(rp99))}), {k} runs "
          f"| {us(med(rp50))} | {us(med(cp50))} | {ci(rp50, cp50)[0]} | {ref} | {ratio} "
          f"| p50 ≤ 1.10 × cyclictest's p50 | {says} | {spread(rp50)} |")
rel = [json.loads(p.read_text())["results"]["trials"][0] for p in files("sl.rel.rust", sleep_runs)]
print(f"| sleep 1ms × {n1}, relative, SCHED_OTHER (the lecture's): p50 overshoot (p99 "
      f"{us(med([t['p99_ns'] / 1e3 for t in rel]))}) | {us(med([t['p50_ns'] / 1e3 for t in rel]))} | — | — "
      f"| — | — | information | — | {spread([t['p50_ns'] / 1e3 for t in rel])} |")

pairs = [json.loads(p.read_text())["results"]["trials"][0] for p in files("nice", sleep_runs)]
first = [100 * p["first_share"] for p in pairs]
sched = [100 * p["tasks"][0]["schedstat_ns"] / max(1, p["tasks"][0]["schedstat_ns"] + p["tasks"][1]["schedstat_ns"]) for p in pairs]
print(f"| nice 0 vs nice 5, one CPU, {nice_s} s: nice 0's share (/proc/PID/stat) | {med(first):.1f}% / {100 - med(first):.1f}% "
      f"| — | — | CFS weights 1024 : 335 = 75.3% / 24.7% | {med(first) - 75.35:+.1f} points "
      f"| within 3 points | {'meets' if abs(med(first) - 75.35) <= 3 else 'misses'} | {min(first):.1f}–{max(first):.1f}% |")
print()
print(f"- ping-pong counters: {med(switches):.2f} context switches per round trip on one CPU (median; 2 expected).")
print(f"- nice 0's share from /proc/PID/schedstat (ns): median {med(sched):.1f}%.")
print("- Rust/C and Rust/reference are ratios of medians with their 95% bootstrap interval over the runs (paired in")
print("  order, fixed seed); sleep rows compare the overshoot past each deadline. A verdict needs 5 runs a side;")
print(f"  a sleep row not settled after {sleep_runs} runs gets 2 more at a time, up to {sleep_budget}.")
print("- cyclictest truncates each latency to whole µs: its p50 is its histogram bucket's middle (k + 0.5 µs) and")
print("  its average is shown + 0.5 µs likewise; the target compares percentiles, Rust's p50 with cyclictest's.")
print("- --dma-latency 0 (cyclictest's default) keeps idle CPUs polling: in a VM without guest halt-polling a")
print("  wakeup on a halted vCPU otherwise pays a VM exit and entry first, about 20 µs here.")
PY
