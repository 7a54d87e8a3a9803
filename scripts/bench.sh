#!/usr/bin/env bash
# bench.sh: the race and granularity demos side by side with the lecture's C programs.
#
# Builds the Rust binaries (cargo build --release --bins) and the C twins in scripts/c/ (gcc -O2
# -pthread, into scripts/c/build/), runs each Rust demo and its C twin interleaved (R, C, R, C,
# ...) with the same threads × steps, and prints one Markdown table of the lecture's window
# (thread creation + increments + join) per row: medians, the Rust/C ratio of medians, and the
# min–max of each side. DESIGN.md §4: every ratio within 1.10.
#
# What is compared: Rust's `.results.trials[0].elapsed_ns` (--format json) with the C program's
# `elapsed_ns = N` line. Both are one process and one trial per run, no warmup.
#
# The start gate. The Rust demos start their workers behind a gate opened once all threads exist
# (src/race.rs Gate: spin 2000 × pause, then sched_yield, acquire/release), so the threads really
# overlap. The C twins are built with the same gate (scripts/c/lecture.h; the default build).
# Without it, as in the lecture, each C thread starts work as soon as it is created, and on 2
# CPUs the first may finish much or all of its steps before the second exists: the C run is
# then partly serial, loses fewer updates and skips most of the contention, so its time is not
# comparable (that alone made atomic/asm/spinlock look 1.2–1.5× slower in Rust). Build a C twin
# with -DLECTURE_START to see the lecture's original start. The gate's wait is inside the timed
# window on both sides.
#
# Rows. Each row is labelled with the Rust command's flags. Every Rust binary runs with its
# defaults against its C twin; the mutex programs' default is `--lock std` (std::sync::Mutex),
# a different algorithm from the lecture's glibc pthread_mutex_t (it spins before sleeping, so
# under cross-CPU contention the lock ping-pongs), so they also run with `--lock pthread`, the
# C twin's very lock. The layout differs too: in the C twins (the lecture's `static
# pthread_mutex_t lock; static int var;`) var shares the lock's cache line, as in Rust's --lock
# std (futex word and var in one struct); with -DLOCK_OWN_LINE (scripts/c/lecture.h) each has a
# line of its own, which makes the contended C programs up to 2× faster. Rust's --lock pthread
# lies in between (the pthread_mutex_t is boxed on its own line, but every step reads the
# lock's enum tag and box pointer from var's line), so it runs against both C builds.
# race_condition_pthread_spin is a C-only reference (the lecture's pthread_spin_lock; the Rust
# spinlock is the slide's test-and-set, as race_condition_spinlock.c is). The rows pinned with
# `taskset -c 0` (one CPU: no contention between CPUs) compare the code alone; they are for
# information.
#
# The process rows (--only cost) compare the cost demos with their C twins in the same way, one
# table of their own: cow_overhead's write phase (the child's first write to every page after
# fork, .results.trials[0].write.elapsed_ns against cow_overhead.c's `write_ns`), and the p50 of
# spawn_cost's fork + wait, std::thread spawn + join and raw pthread_create + join
# (.results.trials[0].latency.p50_ns, --count runs after 20 untimed ones, against spawn_cost.c's
# `p50_ns`), each unpinned and pinned (Rust: --placement pinned, which pins itself to the first
# usable CPU; C: taskset -c 0). Every process row counts toward the 1.10 target.
#
# After the process rows, scripts/sum_array_pages.sh prints sum_array's threads against its
# processes on huge and on 4 KiB pages (information: no C twin).
#
# Then scripts/bench_sched.sh prints the time and scheduling rows (pipe ping-pong against perf
# bench, sleep jitter against cyclictest, nice shares against CFS's weights); it also runs alone
# (--only sched runs just those; --only race|cost skips them).
#
# Usage: scripts/bench.sh [--runs N] [--pinned-runs N] [--only race|cost|sched] [--quick] [--no-build] [-h]
#   --runs N          runs per side per row (env RUNS, default 11)
#   --pinned-runs N   runs per side of the extra rows pinned with `taskset -c 0` (env
#                     PINNED_RUNS, default 3; 0 skips them)
#   --only race|cost  only the race and granularity rows, or only the process rows (env ONLY;
#                     default both)
#   --quick           smoke run: 3 runs, 1 pinned run, sizes / 10 (env QUICK=1)
#   --no-build        use the binaries already built (env NO_BUILD=1)
# Env CC (default gcc) picks the C compiler; KEEP=1 keeps the raw outputs (path printed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

runs=${RUNS:-}
pinned_runs=${PINNED_RUNS:-}
quick=${QUICK:-0}
only=${ONLY:-all}
no_build=${NO_BUILD:-0}
cc=${CC:-gcc}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --pinned-runs) pinned_runs=${2:?--pinned-runs needs a number}; shift 2 ;;
        --pinned-runs=*) pinned_runs=${1#*=}; shift ;;
        --only) only=${2:?--only needs race or cost}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --quick) quick=1; shift ;;
        --no-build) no_build=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
# Defaults, unless set by env or flag: 11 runs and 3 pinned runs, or 3 and 1 with --quick.
if [[ $quick == 1 ]]; then
    runs=${runs:-3}
    pinned_runs=${pinned_runs:-1}
else
    runs=${runs:-11}
    pinned_runs=${pinned_runs:-3}
fi
for n in "$runs" "$pinned_runs"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "bench.sh: not a number: $n" >&2; exit 2; }
done
((runs >= 1)) || { echo "bench.sh: --runs must be at least 1" >&2; exit 2; }
case $only in
    all|race|cost|sched) ;;
    *) echo "bench.sh: --only takes race, cost or sched, not $only" >&2; exit 2 ;;
esac
want() { [[ $only == all || $only == "$1" ]]; }

# The lecture's sizes (threads steps); --quick divides the steps by 10.
race_size=(2 1000000)
gran_size=(10 2000000)
cow_pages=131072   # the lecture's NPAGES
spawn_count=1000   # spawn_cost's default
if [[ $quick == 1 ]]; then
    race_size=(2 100000)
    gran_size=(10 200000)
    cow_pages=16384
    spawn_count=200
fi

# The process rows: "Rust binary|Rust flags|C twin and its arguments|CPU to pin C to|what|Rust
# JSON path in results.trials[0]|C output key".
cost_pairs=(
    "cow_overhead|--pages $cow_pages|cow_overhead $cow_pages||write phase|write.elapsed_ns|write_ns"
    "spawn_cost|--op fork --placement unpinned --count $spawn_count|spawn_cost fork $spawn_count||fork + wait, p50|latency.p50_ns|p50_ns"
    "spawn_cost|--op fork --placement pinned --count $spawn_count|spawn_cost fork $spawn_count|0|fork + wait, p50|latency.p50_ns|p50_ns"
    "spawn_cost|--op thread --placement unpinned --count $spawn_count|spawn_cost thread $spawn_count||thread create + join, p50|latency.p50_ns|p50_ns"
    "spawn_cost|--op thread --placement pinned --count $spawn_count|spawn_cost thread $spawn_count|0|thread create + join, p50|latency.p50_ns|p50_ns"
    "spawn_cost|--op pthread --placement unpinned --count $spawn_count|spawn_cost thread $spawn_count||thread create + join, p50|latency.p50_ns|p50_ns"
    "spawn_cost|--op pthread --placement pinned --count $spawn_count|spawn_cost thread $spawn_count|0|thread create + join, p50|latency.p50_ns|p50_ns"
)

# The rows: "Rust binary|Rust flags|C twin" (the C twin has the Rust binary's name; *_own_line
# is the twin built with -DLOCK_OWN_LINE). The mutex programs' default is spelled out (--lock
# std), so every label shows what ran.
pairs=(
    "race_condition||race_condition"
    "race_condition_atomic||race_condition_atomic"
    "race_condition_atomic_assembly||race_condition_atomic_assembly"
    "race_condition_spinlock||race_condition_spinlock"
    "race_condition_mutex|--lock std|race_condition_mutex"
    "race_condition_mutex|--lock pthread|race_condition_mutex"
    "race_condition_mutex|--lock pthread|race_condition_mutex_own_line"
    "coarse_granularity|--lock std|coarse_granularity"
    "coarse_granularity|--lock pthread|coarse_granularity"
    "coarse_granularity|--lock pthread|coarse_granularity_own_line"
    "fine_granularity|--lock std|fine_granularity"
    "fine_granularity|--lock pthread|fine_granularity"
    "fine_granularity|--lock pthread|fine_granularity_own_line"
)
# The C-only reference row, run after the spinlock row: the lecture's pthread_spin_lock.
reference=race_condition_pthread_spin
size_of() {
    case $1 in
        *granularity) echo "${gran_size[@]}" ;;
        *) echo "${race_size[@]}" ;;
    esac
}

rust_bin=$root/target/release
c_src=$root/scripts/c
c_bin=$c_src/build
c_flags=(-O2 -pthread -Wall -Wextra)

# ---- build -------------------------------------------------------------------------------------
if [[ $no_build != 1 ]]; then
    echo "building the Rust side: cargo build --release --bins" >&2
    cargo build --release --bins >&2
    echo "building the C side: $cc ${c_flags[*]} into scripts/c/build/ (with the start gate)" >&2
    mkdir -p "$c_bin"
    for p in race_condition race_condition_atomic race_condition_atomic_assembly \
             race_condition_spinlock race_condition_pthread_spin race_condition_mutex; do
        "$cc" "${c_flags[@]}" -o "$c_bin/$p" "$c_src/$p.c"
    done
    "$cc" "${c_flags[@]}" -DLOCK_OWN_LINE -o "$c_bin/race_condition_mutex_own_line" \
        "$c_src/race_condition_mutex.c"
    for g in coarse fine; do
        G=$(tr a-z A-Z <<<"$g")
        "$cc" "${c_flags[@]}" -D"${G}_GRAINED" -o "$c_bin/${g}_granularity" "$c_src/granularity.c"
        "$cc" "${c_flags[@]}" -D"${G}_GRAINED" -DLOCK_OWN_LINE \
            -o "$c_bin/${g}_granularity_own_line" "$c_src/granularity.c"
    done
    for p in cow_overhead spawn_cost; do
        "$cc" "${c_flags[@]}" -o "$c_bin/$p" "$c_src/$p.c"
    done
fi
if want race; then
    for pair in "${pairs[@]}"; do
        IFS='|' read -r rb _ cb <<<"$pair"
        [[ -x $rust_bin/$rb ]] || { echo "bench.sh: missing $rust_bin/$rb (build first)" >&2; exit 1; }
        [[ -x $c_bin/$cb ]] || { echo "bench.sh: missing $c_bin/$cb (build first)" >&2; exit 1; }
    done
    [[ -x $c_bin/$reference ]] || { echo "bench.sh: missing $c_bin/$reference (build first)" >&2; exit 1; }
fi
if want cost; then
    for pair in "${cost_pairs[@]}"; do
        IFS='|' read -r rb _ cc_cmd _ <<<"$pair"
        cb=${cc_cmd%% *}
        [[ -x $rust_bin/$rb ]] || { echo "bench.sh: missing $rust_bin/$rb (build first)" >&2; exit 1; }
        [[ -x $c_bin/$cb ]] || { echo "bench.sh: missing $c_bin/$cb (build first)" >&2; exit 1; }
    done
fi
if ((pinned_runs > 0)) && ! command -v taskset >/dev/null; then
    echo "bench.sh: taskset not found; skipping the pinned rows" >&2
    pinned_runs=0
fi
if want cost && ! command -v taskset >/dev/null; then
    echo "bench.sh: taskset not found: the process rows need it (util-linux)" >&2
    exit 1
fi

# ---- run ---------------------------------------------------------------------------------------
out=$(mktemp -d "${TMPDIR:-/tmp}/oslab-bench.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
    echo "raw outputs kept in $out" >&2
else
    trap 'rm -rf "$out"' EXIT
fi

# Other work on the machine (a build, another benchmark) skews contended timings by 2× or more.
# The report says how much CPU time others used during the runs: all busy time in /proc/stat
# minus what this script's children used (bash's `times`), and the hypervisor's steal time.
cpu_stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9; exit}' /proc/stat 2>/dev/null || echo "0 0"; }
# Children's user + sys seconds from the saved output of `times`, which must run in this shell
# (a $(...) subshell is a fork, which starts with no children's time).
times_secs() { awk 'NR==2{ split($1,u,/[ms]/); split($2,s,/[ms]/); print u[1]*60+u[2]+s[1]*60+s[2] }' "$1"; }
read -r busy0 steal0 <<<"$(cpu_stat)"
times >"$out/times0"
wall0=$(date +%s.%N)

# One run of one side: stdout to $out/<row>/<side>.<i>, stderr beside it (the Rust demos' warnings,
# e.g. "only one CPU is usable" on the pinned race row, are expected). A failed run stops the bench.
run_rust() { # row i pin threads steps binary [flags...]
    local row=$1 i=$2 pin=$3 t=$4 s=$5 b=$6
    shift 6
    mkdir -p "$out/$row"
    if ! ${pin:+taskset -c "$pin"} "$rust_bin/$b" "$@" --threads "$t" --steps "$s" --format json \
        --quiet >"$out/$row/rust.$i" 2>"$out/$row/rust.$i.err"; then
        echo "bench.sh: $b $* failed:" >&2; cat "$out/$row/rust.$i.err" >&2; exit 1
    fi
}
run_c() { # row i pin threads steps binary
    local row=$1 i=$2 pin=$3 t=$4 s=$5 b=$6
    mkdir -p "$out/$row"
    if ! ${pin:+taskset -c "$pin"} "$c_bin/$b" "$t" "$s" >"$out/$row/c.$i" 2>"$out/$row/c.$i.err"; then
        echo "bench.sh: scripts/c/build/$b failed:" >&2; cat "$out/$row/c.$i.err" >&2; exit 1
    fi
}

# rows: dir|Rust label|C twin|threads|steps|runs|pinned (0/1)|kind (pair or c-only)
rows=()
n_row=0
run_pair() { # pin n "Rust binary|flags|C twin"
    local pin=$1 n=$2 rb flags cb t s dir label
    IFS='|' read -r rb flags cb <<<"$3"
    read -r t s <<<"$(size_of "$rb")"
    local -a fl=()
    [[ -n $flags ]] && read -r -a fl <<<"$flags"
    label="$rb${flags:+ $flags}"
    dir=row$((++n_row))
    echo "running $label ($t×$s)${pin:+ pinned to CPU $pin}: $n × (Rust, C $cb)" >&2
    for ((i = 1; i <= n; i++)); do
        run_rust "$dir" "$i" "$pin" "$t" "$s" "$rb" "${fl[@]}"
        run_c "$dir" "$i" "$pin" "$t" "$s" "$cb"
    done
    rows+=("$dir|$label|$cb|$t|$s|$n|${pin:+1}|pair")
}
want race || pairs=()
for pair in "${pairs[@]}"; do
    run_pair "" "$runs" "$pair"
    if [[ $pair == race_condition_spinlock\|* ]]; then
        read -r t s <<<"$(size_of "$reference")"
        dir=row$((++n_row))
        echo "running $reference ($t×$s): $runs × C (reference, no Rust twin)" >&2
        for ((i = 1; i <= runs; i++)); do
            run_c "$dir" "$i" "" "$t" "$s" "$reference"
        done
        rows+=("$dir|—|$reference|$t|$s|$runs||c-only")
    fi
done
if ((pinned_runs > 0)); then
    for pair in "${pairs[@]}"; do
        run_pair 0 "$pinned_runs" "$pair"
    done
fi

# The process rows: the same interleaving, one process per run on each side.
cost_rows=()
run_cost_pair() { # "Rust binary|flags|C twin args|C pin|what|Rust key|C key"
    local rb flags c_cmd pin what rkey ckey dir i
    IFS='|' read -r rb flags c_cmd pin what rkey ckey <<<"$1"
    local -a fl cc_args
    read -r -a fl <<<"$flags"
    read -r -a cc_args <<<"$c_cmd"
    dir=row$((++n_row))
    mkdir -p "$out/$dir"
    echo "running $rb $flags vs C ${pin:+taskset -c $pin }$c_cmd: $runs × (Rust, C)" >&2
    for ((i = 1; i <= runs; i++)); do
        if ! "$rust_bin/$rb" "${fl[@]}" --format json --quiet >"$out/$dir/rust.$i" \
            2>"$out/$dir/rust.$i.err"; then
            echo "bench.sh: $rb $flags failed:" >&2; cat "$out/$dir/rust.$i.err" >&2; exit 1
        fi
        if ! ${pin:+taskset -c "$pin"} "$c_bin/${cc_args[0]}" "${cc_args[@]:1}" >"$out/$dir/c.$i" \
            2>"$out/$dir/c.$i.err"; then
            echo "bench.sh: scripts/c/build/$c_cmd failed:" >&2; cat "$out/$dir/c.$i.err" >&2; exit 1
        fi
    done
    cost_rows+=("$dir|$rb $flags|${pin:+taskset -c $pin }$c_cmd|$what|$rkey|$ckey|$runs")
}
if want cost; then
    for pair in "${cost_pairs[@]}"; do
        run_cost_pair "$pair"
    done
fi

read -r busy1 steal1 <<<"$(cpu_stat)"
times >"$out/times1"
wall1=$(date +%s.%N)
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
others=$(awk -v b0="$busy0" -v b1="$busy1" -v k0="$(times_secs "$out/times0")" \
    -v k1="$(times_secs "$out/times1")" -v hz="$hz" \
    'BEGIN{o=(b1-b0)/hz-(k1-k0); if (o<0) o=0; printf "%.2f", o}')
steal=$(awk -v s0="$steal0" -v s1="$steal1" -v hz="$hz" 'BEGIN{printf "%.2f", (s1-s0)/hz}')
wall=$(awk -v w0="$wall0" -v w1="$wall1" 'BEGIN{printf "%.1f", w1-w0}')

# ---- report ------------------------------------------------------------------------------------
kernel=$(uname -sr)
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -1)
hv=""
grep -qw hypervisor /proc/cpuinfo 2>/dev/null && hv=" (hypervisor guest)"
cc_version=$("$cc" --version | head -1)
rustc_version=$(rustc --version 2>/dev/null || echo "rustc ?")

printf '%s\n' "${rows[@]+"${rows[@]}"}" | sed '/^$/d' >"$out/rows"
printf '%s\n' "${cost_rows[@]+"${cost_rows[@]}"}" | sed '/^$/d' >"$out/cost_rows"
python3 - "$out" "$runs" \
    "$kernel" "${cpu_model:-unknown CPU}$hv" "$(nproc)" "$(date '+%Y-%m-%d %H:%M:%S %Z')" \
    "$cc_version" "${c_flags[*]}" "$rustc_version" "$quick" "$others" "$steal" "$wall" <<'PY'
import json, re, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
runs_default = int(sys.argv[2])
kernel, cpu, nproc, date, cc, c_flags, rustc, quick, others, steal, wall = sys.argv[3:14]
TARGET = 1.10

placement = []  # (row, runs whose threads started on 2+ different CPUs, runs)

def rust_run(p):
    trial = json.loads(p.read_text())["results"]["trials"][0]
    cpus = {t.get("cpu_start") for t in trial.get("threads", [])}
    return trial["elapsed_ns"], trial["var"], len(cpus - {None}) > 1

def c_run(p):
    text = p.read_text()
    ns = re.search(r"^elapsed_ns = (\d+)$", text, re.M)
    var = re.search(r"^var = (-?\d+); time = \d+ ms$", text, re.M)
    if not ns or not var:
        sys.exit(f"bench.sh: cannot parse {p}:\n{text}")
    return int(ns.group(1)), int(var.group(1)), None

def collect(row, side, n):
    parse = rust_run if side == "rust" else c_run
    return [parse(out / row / f"{side}.{i}") for i in range(1, n + 1)]

def ms(ns):
    return f"{ns / 1e6:.2f}"

def span(xs):
    return f"{ms(min(xs))}–{ms(max(xs))}"

print(f"bench: {kernel}; CPU: {cpu}; nproc {nproc}; {date}")
print(f"compilers: {cc} ({c_flags}; C twins with the start gate, scripts/c/lecture.h); "
      f"{rustc} (cargo --release)"
      + ("; QUICK mode (sizes / 10: a smoke run, its ratios mean little)" if quick == "1" else ""))
print(f"runs per side: {runs_default}, interleaved R, C, R, C, ... "
      "(pinned rows and the reference row say their own count)")
busy = ""
if float(others) > 0.05 * float(wall) * int(nproc):
    busy = " ⚠ other work was running: contended timings are unreliable; rerun on an idle machine"
print(f"runs took {wall} s; other processes used {others} CPU-s meanwhile, steal {steal} CPU-s{busy}")
print()
if (out / "rows").read_text().strip():
    print("| Rust (flags) | C twin | threads×steps | Rust median ms | C median ms | Rust/C "
          "| Rust min–max | C min–max |")
    print("|---|---|---|---|---|---|---|---|")
    notes, over = [], []
    for line in (out / "rows").read_text().splitlines():
        row, label, c_name, t, s, n, pinned, kind = line.split("|")
        t, s, n, pinned = int(t), int(s), int(n), pinned == "1"
        expected = t * s
        extras = []
        if pinned:
            extras.append("taskset -c 0")
        if kind == "c-only":
            extras.append("C only: the lecture's pthread_spin_lock")
        if n != runs_default:
            extras.append(f"{n} run{'s' if n != 1 else ''}")
        c_shown = c_name.replace("_own_line", " -DLOCK_OWN_LINE")
        shown = label if kind == "pair" else "—"
        shown += f" ({', '.join(extras)})" if extras else ""
        size = f"{t}×{s:,}"
        c = collect(row, "c", n)
        c_ns = [x for x, _, _ in c]
        c_med = statistics.median(c_ns)
        if kind == "c-only":
            print(f"| {shown} | {c_shown} | {size} | — | {ms(c_med)} | — | — | {span(c_ns)} |")
            r = []
        else:
            r = collect(row, "rust", n)
            r_ns = [x for x, _, _ in r]
            if not pinned:
                placement.append(f"{label} vs {c_shown} {sum(1 for *_, spread in r if spread)}/{n}")
            r_med = statistics.median(r_ns)
            ratio = r_med / c_med
            flag = ""
            if not pinned and ratio > TARGET:
                flag = " ⚠"
                over.append(f"{label} vs {c_shown} {ratio:.2f}")
            print(f"| {shown} | {c_shown} | {size} | {ms(r_med)} | {ms(c_med)} | {ratio:.2f}{flag} "
                  f"| {span(r_ns)} | {span(c_ns)} |")
        for side, res in (("Rust", r), ("C", c)):
            if not res:
                continue
            vars_ = [v for _, v, _ in res]
            if c_name == "race_condition":
                lost = [expected - v for v in vars_]
                losing = sum(1 for x in lost if x > 0)
                where = " pinned to CPU 0" if pinned else ""
                notes.append(f"race_condition{where}, {side}: lost updates median "
                             f"{statistics.median(lost):,.0f} (min {min(lost):,}, max {max(lost):,}); "
                             f"{losing} of {len(lost)} runs lost some")
            elif any(v != expected for v in vars_):
                notes.append(f"WRONG RESULT: {label} vs {c_shown} {side}{' pinned' if pinned else ''}: "
                             f"var {sorted(set(vars_))}, expected {expected}")
    print()
    for note in notes:
        print(f"- {note}")
    if placement:
        print("- Rust runs whose threads started on different CPUs (the rest shared one CPU; contended "
              "timings depend on it): " + ", ".join(placement))
    print(f"- target (DESIGN.md §4): Rust/C ≤ {TARGET:.2f} per row, ratio of the medians of the "
          "lecture's window (create + increments + join, one process per run). `--lock pthread` "
          "rows: the same lock (glibc's), with var on the lock's line in C (the lecture's build) or "
          "on a line of its own (-DLOCK_OWN_LINE); the Rust layout lies in between. `--lock std` "
          "rows: Rust's default mutex vs glibc's. Pinned rows and the C-only reference row are for "
          "information.")
    print("- over target (unpinned rows): " + (", ".join(over) if over else "none") + ".")

# ---- the process rows ----
def metric(p, side, rkey, ckey):
    text = p.read_text()
    if side == "rust":
        v = json.loads(text)["results"]["trials"][0]
        for k in rkey.split("."):
            v = v[k]
        return int(v)
    m = re.search(rf"^{re.escape(ckey)} = (\d+)$", text, re.M)
    if not m:
        sys.exit(f"bench.sh: cannot parse {p}:\n{text}")
    return int(m.group(1))

def unit(ns):
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.1f} µs"

def uspan(xs):
    return f"{unit(min(xs))}–{unit(max(xs))}"

cost_lines = (out / "cost_rows").read_text().splitlines()
if cost_lines:
    if (out / "rows").read_text().strip():
        print()
    print("| Rust (flags) | C twin | what | Rust median | C median | Rust/C | Rust min–max "
          "| C min–max |")
    print("|---|---|---|---|---|---|---|---|")
    cost_notes, cost_over = [], []
    for line in cost_lines:
        row, label, c_label, what, rkey, ckey, n = line.split("|")
        n = int(n)
        r = [metric(out / row / f"rust.{i}", "rust", rkey, ckey) for i in range(1, n + 1)]
        c = [metric(out / row / f"c.{i}", "c", rkey, ckey) for i in range(1, n + 1)]
        r_med, c_med = statistics.median(r), statistics.median(c)
        ratio = r_med / c_med
        flag = ""
        if ratio > TARGET:
            flag = " ⚠"
            cost_over.append(f"{label} {ratio:.2f}")
        print(f"| {label} | {c_label} | {what} | {unit(r_med)} | {unit(c_med)} | {ratio:.2f}{flag} "
              f"| {uspan(r)} | {uspan(c)} |")
        if label.startswith("cow_overhead"):
            pages = int(label.split("--pages ")[1].split()[0])
            faults = [json.loads((out / row / f"rust.{i}").read_text())["results"]["trials"][0]
                      ["write"]["minflt"] for i in range(1, n + 1)]
            cost_notes.append(f"cow_overhead, Rust: write-phase minor faults median "
                              f"{statistics.median(faults):,.0f} for {pages:,} pages "
                              f"(min {min(faults):,}, max {max(faults):,}); per fault "
                              f"{unit(r_med / statistics.median(faults))} (Rust) and "
                              f"{unit(c_med / pages)} per page (C)")
    print()
    for note in cost_notes:
        print(f"- {note}")
    print(f"- target: Rust/C ≤ {TARGET:.2f} per row, ratio of medians over {runs_default} runs "
          "per side, interleaved. cow_overhead: the child's timed write loop (one byte per page "
          "after fork). spawn_cost: the p50 of --count runs after 20 untimed ones; `--op thread` "
          "is std::thread::spawn + join, `--op pthread` calls pthread_create + pthread_join "
          "directly, as spawn_cost.c does.")
    print("- over target (process rows): " + (", ".join(cost_over) if cost_over else "none") + ".")
PY

# ---- sum_array: processes against threads, by page size (scripts/sum_array_pages.sh) -----------
if want cost; then
    echo
    pages_len=20000000
    [[ $quick == 1 ]] && pages_len=2000000
    OSLAB_BIN="$root/target/release" "$root/scripts/sum_array_pages.sh" --runs "$runs" --len "$pages_len"
fi

# ---- time and scheduling: scripts/bench_sched.sh (pipe ping-pong, sleep jitter, nice shares) --
want sched || exit 0
echo
sched_flags=()
[[ $quick == 1 ]] && sched_flags+=(--quick)
[[ $no_build == 1 ]] && sched_flags+=(--no-build)
"$root/scripts/bench_sched.sh" "${sched_flags[@]}"
