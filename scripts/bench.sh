#!/usr/bin/env bash
# bench.sh: the race and granularity demos, then the process demos, side by side with the
# lecture's C programs, each ratio with its 95% confidence interval and a verdict.
#
# Builds the Rust binaries and the bench's statistics (cargo build --release --bins --example
# bench_stats) and the C twins in scripts/c/ (gcc -O2 -pthread, into scripts/c/build/), runs
# each Rust demo and its C twin interleaved (R, C, R, C, ...) with the same parameters, and
# prints one Markdown table per family: medians, the Rust/C ratio of the medians with its 95%
# interval, the verdict, and the min–max of each side. DESIGN.md §4: every ratio within 1.10.
#
# The interval and the verdict (examples/bench_stats.rs). Run i of Rust and run i of C are a
# pair (interleaved, they saw the same machine); the interval is the percentile bootstrap of
# the ratio of medians over the pairs (10,000 resamples, fixed seed: the same runs give the same
# interval). A row *meets* the target when the interval's upper end is ≤ 1.10, *misses* it
# when its lower end is > 1.10, and is *not settled* when it straddles 1.10 (or has fewer than 5
# runs a side). Runs are adaptive: every row starts with --runs pairs; while its interval
# straddles 1.10 it gets 4 pairs more, up to --budget, and beyond while the row has run for less
# than --row-seconds (a cheap row can afford the 80 pairs a wide spread needs). A tight row stops
# at 7 pairs, a wide one takes more; information rows take 7. Beside every row that is not
# settled the bench prints the C twin against itself with as many runs (the floor: how narrow
# an interval this program's own spread allows) and about how many pairs would settle it.
#
# Placement. Each run's threads are recorded where they ran (Rust: the JSON's cpu_start and
# cpu_end of each thread; C: the `cpu_start = ` and `cpu_end = ` lines of scripts/c/lecture.h).
# When placement decides the time (two placements, 3+ runs each on a side, medians more than
# 10% apart), the row gets a line per placement with its own interval (the pairs are broken
# there: each side is resampled on its own).
#
# What is compared: the lecture's window (thread creation + increments + join), Rust's
# `.results.trials[0].elapsed_ns` (--format json) against the C program's `elapsed_ns = N`.
# Both are one process and one trial per run, no warmup. Both start their workers behind the
# same start gate (src/sync/gate.rs; scripts/c/lecture.h: the default build), so the threads
# overlap; the gate's wait is inside the window on both sides. -DLECTURE_START builds a C twin
# with the lecture's start, where the first thread may finish before the second exists.
#
# The mutex rows. The mutex programs' default is `--lock std` (std::sync::Mutex, another
# algorithm: it spins before sleeping, where glibc's sleeps at once), so those rows are for
# information, as std::thread's are: what std's lock does differently is counted with perf stat
# (futex calls and CPU time per run, std against glibc on both sides) and printed as the
# lesson. The rows toward the target run `--lock pthread`, the C twin's very lock, and the
# layout of the lecture's statics: the lock in place, starting a cache line, var right after it
# on the same line (Rust: results.layout; C: the `lock_bytes`, `var_minus_lock`, `same_line`
# lines; the bench prints both). The C twin built with -DLOCK_OWN_LINE gives var a line of its
# own: for information, another layout. The C twin built with -DSTART_DELAY_US=3000 starts its
# threads 3 ms after exec, about when the Rust demo's start after its setup: the scheduler moves
# one of two contending threads during the run (a faster run: the two then take turns) more
# often when they started within a millisecond of exec, so the lecture's C, which starts at
# once, wins more runs by placement; that row (information) compares the two started alike.
# The rows pinned with `taskset -c 0` (one CPU, no contention between CPUs) compare the code
# alone, for information. race_condition_pthread_spin is a C-only reference (the lecture's
# pthread_spin_lock; the Rust spinlock is the slide's test-and-set, as race_condition_spinlock.c).
#
# The process rows (--only cost): cow_overhead's write phase (the child's first write to every
# page after fork, .results.trials[0].write.elapsed_ns against `write_ns`), and the p50 of
# spawn_cost's fork + wait and pthread_create + join (.results.trials[0].latency.p50_ns, --count
# runs after 20 untimed ones, against spawn_cost.c's `p50_ns`), unpinned and pinned (Rust:
# --placement pinned, the first usable CPU; C: taskset -c 0). For fork, both sides print what
# the fork copies (mappings, resident and anonymous memory, page tables, just before the timed
# forks). std::thread::spawn + join (`--op thread`) is timed against the same C for
# information: its target row is `--op pthread`, the C program's calls; what std adds is
# counted with strace -f -c (system calls per thread) and printed as the lesson. spawn_cost_now
# is spawn_cost.c linked with -Wl,-z,now as rustc links (gcc binds lazily by default, so every
# forked child of the lecture's build enters the dynamic linker to resolve _exit): information.
#
# Then scripts/sum_array_pages.sh (threads against processes on huge and 4 KiB pages, no C
# twin) and scripts/bench_sched.sh (pipe ping-pong against perf bench, sleep jitter against
# cyclictest, nice shares against CFS's weights; it also runs alone).
#
# Usage: scripts/bench.sh [--runs N] [--budget N] [--row-seconds S] [--pinned-runs N] [--only race|cost|sched]
#                         [--quick] [--no-build] [-h]
#   --runs N          pairs each row starts with (env RUNS, default 7)
#   --budget N        most pairs a row may take while its interval straddles 1.10 (env BUDGET,
#                     default 21; at least --runs)
#   --row-seconds S   a row toward the target still not settled after --budget pairs goes on
#                     while it has run for less than S seconds, up to 4 × --budget pairs (env
#                     ROW_SECONDS, default 30; 0: stop at --budget)
#   --pinned-runs N   pairs of the rows pinned with `taskset -c 0` (env PINNED_RUNS, default 3;
#                     0 skips them)
#   --only race|cost|sched   one part only (env ONLY; default all)
#   --quick           smoke run: 3 runs, budget 3, 1 pinned run, sizes / 10 (env QUICK=1)
#   --no-build        use the binaries already built (env NO_BUILD=1)
# Env CC (default gcc) picks the C compiler; KEEP=1 keeps the raw outputs (path printed). Run it
# on an idle machine: it prints the load average before and after, and how much CPU others used.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
bench_start=$(date +%s.%N)

runs=${RUNS:-}
budget=${BUDGET:-}
row_seconds=${ROW_SECONDS:-}
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
        --budget) budget=${2:?--budget needs a number}; shift 2 ;;
        --budget=*) budget=${1#*=}; shift ;;
        --row-seconds) row_seconds=${2:?--row-seconds needs a number}; shift 2 ;;
        --row-seconds=*) row_seconds=${1#*=}; shift ;;
        --pinned-runs) pinned_runs=${2:?--pinned-runs needs a number}; shift 2 ;;
        --pinned-runs=*) pinned_runs=${1#*=}; shift ;;
        --only) only=${2:?--only needs race, cost or sched}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --quick) quick=1; shift ;;
        --no-build) no_build=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [[ $quick == 1 ]]; then
    runs=${runs:-3}; budget=${budget:-3}; pinned_runs=${pinned_runs:-1}; row_seconds=${row_seconds:-0}
else
    runs=${runs:-7}; budget=${budget:-21}; pinned_runs=${pinned_runs:-3}; row_seconds=${row_seconds:-30}
fi
for n in "$runs" "$budget" "$pinned_runs" "$row_seconds"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "bench.sh: not a number: $n" >&2; exit 2; }
done
((runs >= 1)) || { echo "bench.sh: --runs must be at least 1" >&2; exit 2; }
((budget >= runs)) || budget=$runs
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

# The race rows: "Rust binary|Rust flags|C twin|counts (1: toward the target; 0: information;
# 2: information that takes runs as a row toward the target does)". The C twin has the Rust
# binary's name; *_own_line is the twin built with -DLOCK_OWN_LINE, *_late the twin built with
# -DSTART_DELAY_US=3000 (its threads start 3 ms after exec, as late as the Rust demo's).
pairs=(
    "race_condition||race_condition|1"
    "race_condition_atomic||race_condition_atomic|1"
    "race_condition_atomic_assembly||race_condition_atomic_assembly|1"
    "race_condition_spinlock||race_condition_spinlock|1"
    "race_condition_mutex|--lock std|race_condition_mutex|0"
    "race_condition_mutex|--lock pthread|race_condition_mutex|1"
    "race_condition_mutex|--lock pthread|race_condition_mutex_own_line|0"
    "race_condition_mutex|--lock pthread|race_condition_mutex_late|2"
    "coarse_granularity|--lock std|coarse_granularity|0"
    "coarse_granularity|--lock pthread|coarse_granularity|1"
    "fine_granularity|--lock std|fine_granularity|0"
    "fine_granularity|--lock pthread|fine_granularity|1"
    "fine_granularity|--lock pthread|fine_granularity_own_line|0"
)
# The C-only reference row, run after the spinlock row: the lecture's pthread_spin_lock.
reference=race_condition_pthread_spin
size_of() {
    case $1 in
        *granularity) echo "${gran_size[@]}" ;;
        *) echo "${race_size[@]}" ;;
    esac
}

# The process rows: "Rust binary|Rust flags|C twin and its arguments|CPU to pin C to|what|Rust
# JSON pointer|C output key|counts (1: toward the target; 0: information)".
cost_pairs=(
    "cow_overhead|--pages $cow_pages|cow_overhead $cow_pages||write phase|/results/trials/0/write/elapsed_ns|write_ns|1"
    "spawn_cost|--op fork --placement unpinned --count $spawn_count|spawn_cost fork $spawn_count||fork + wait, p50|/results/trials/0/latency/p50_ns|p50_ns|1"
    "spawn_cost|--op fork --placement pinned --count $spawn_count|spawn_cost fork $spawn_count|0|fork + wait, p50|/results/trials/0/latency/p50_ns|p50_ns|1"
    "spawn_cost|--op fork --placement pinned --count $spawn_count|spawn_cost_now fork $spawn_count|0|fork + wait, p50|/results/trials/0/latency/p50_ns|p50_ns|0"
    "spawn_cost|--op pthread --placement unpinned --count $spawn_count|spawn_cost thread $spawn_count||thread create + join, p50|/results/trials/0/latency/p50_ns|p50_ns|1"
    "spawn_cost|--op pthread --placement pinned --count $spawn_count|spawn_cost thread $spawn_count|0|thread create + join, p50|/results/trials/0/latency/p50_ns|p50_ns|1"
    "spawn_cost|--op thread --placement unpinned --count $spawn_count|spawn_cost thread $spawn_count||thread create + join, p50|/results/trials/0/latency/p50_ns|p50_ns|0"
    "spawn_cost|--op thread --placement pinned --count $spawn_count|spawn_cost thread $spawn_count|0|thread create + join, p50|/results/trials/0/latency/p50_ns|p50_ns|0"
)

rust_bin=$root/target/release
stats=$root/target/release/examples/bench_stats
c_src=$root/scripts/c
c_bin=$c_src/build
c_flags=(-O2 -pthread -Wall -Wextra)

# ---- build -------------------------------------------------------------------------------------
if [[ $no_build != 1 ]]; then
    echo "building the Rust side: cargo build --release --bins --example bench_stats" >&2
    cargo build --release --bins --example bench_stats >&2
    echo "building the C side: $cc ${c_flags[*]} into scripts/c/build/ (with the start gate)" >&2
    mkdir -p "$c_bin"
    for p in race_condition race_condition_atomic race_condition_atomic_assembly \
             race_condition_spinlock race_condition_pthread_spin race_condition_mutex; do
        "$cc" "${c_flags[@]}" -o "$c_bin/$p" "$c_src/$p.c"
    done
    "$cc" "${c_flags[@]}" -DLOCK_OWN_LINE -o "$c_bin/race_condition_mutex_own_line" \
        "$c_src/race_condition_mutex.c"
    # Its threads started 3 ms after exec, as late as the Rust demo's (information).
    "$cc" "${c_flags[@]}" -DSTART_DELAY_US=3000 -o "$c_bin/race_condition_mutex_late" \
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
    # Linked as rustc links (-z now: every symbol bound at start), for information: the default
    # build binds lazily, so each forked child of the lecture's build resolves _exit first.
    "$cc" "${c_flags[@]}" -Wl,-z,now -o "$c_bin/spawn_cost_now" "$c_src/spawn_cost.c"
    # bench_sched.sh's twins, so that it need not build again (cargo rebuilds oslab whenever
    # its build script reruns).
    for p in pipe_pingpong sleep_jitter; do
        "$cc" -O2 -Wall -Wextra -o "$c_bin/$p" "$c_src/$p.c"
    done
fi
[[ -x $stats ]] || { echo "bench.sh: missing $stats (cargo build --release --example bench_stats)" >&2; exit 1; }
if want race; then
    for pair in "${pairs[@]}"; do
        IFS='|' read -r rb _ cb _ <<<"$pair"
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
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# One run of one side: stdout to $out/<row>/<side>.<i>, stderr beside it (the Rust demos' warnings,
# e.g. "only one CPU is usable" on the pinned race row, are expected). A failed run stops the bench.
run_rust() { # row i pin threads steps binary [flags...]
    local row=$1 i=$2 pin=$3 t=$4 s=$5 b=$6
    shift 6
    if ! ${pin:+taskset -c "$pin"} "$rust_bin/$b" "$@" --threads "$t" --steps "$s" --format json \
        --quiet >"$out/$row/rust.$i" 2>"$out/$row/rust.$i.err"; then
        echo "bench.sh: $b $* failed:" >&2; cat "$out/$row/rust.$i.err" >&2; exit 1
    fi
}
run_c() { # row i pin threads steps binary
    local row=$1 i=$2 pin=$3 t=$4 s=$5 b=$6
    if ! ${pin:+taskset -c "$pin"} "$c_bin/$b" "$t" "$s" >"$out/$row/c.$i" 2>"$out/$row/c.$i.err"; then
        echo "bench.sh: scripts/c/build/$b failed:" >&2; cat "$out/$row/c.$i.err" >&2; exit 1
    fi
}

# Runs `pair i` (a function running pair i of the row in $out/$dir) n times, then asks
# bench_stats about the row and adds 4 pairs at a time while it wants more: up to `most` pairs,
# and, for a row toward the target (extend=1), beyond that while the row has run for less than
# $row_seconds s, up to 4 × most (a contended row of 0.2 s a run can afford 80 pairs; a row of
# 3 s a run stops at `most`). Leaves the last answer in $out/$dir/ci.json and the number of
# pairs in $done_runs.
adapt() { # dir n most extend pair-function stats-args...
    local dir=$1 n=$2 most=$3 extend=$4 pair=$5 i=0 more cap t0 spent
    shift 5
    t0=$(date +%s.%N)
    while ((i < n)); do "$pair" $((++i)); done
    while :; do
        cap=$most
        spent=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN{printf "%d", t1 - t0}')
        ((extend && spent < row_seconds)) && cap=$((4 * most))
        "$stats" row --dir "$out/$dir" --runs "$i" --budget "$cap" "$@" >"$out/$dir/ci.json"
        grep -q '"more":true' "$out/$dir/ci.json" || break
        more=$((cap - i < 4 ? cap - i : 4))
        echo "  not settled after $i pairs (${spent} s): $more more" >&2
        for ((k = 0; k < more; k++)); do "$pair" $((++i)); done
    done
    done_runs=$i
}

# rows: dir|Rust label|C twin|threads|steps|runs|pinned (0/1)|kind (pair or c-only)|counts
rows=()
n_row=0
run_pair() { # pin "Rust binary|flags|C twin|counts"
    local pin=$1 rb flags cb counts t s dir label n most
    IFS='|' read -r rb flags cb counts <<<"$2"
    read -r t s <<<"$(size_of "$rb")"
    local -a fl=()
    [[ -n $flags ]] && read -r -a fl <<<"$flags"
    label="$rb${flags:+ $flags}"
    dir=row$((++n_row))
    mkdir -p "$out/$dir"
    # Pinned and information rows take their first pairs only; a row toward the target adapts.
    if [[ -n $pin ]]; then n=$pinned_runs; most=$pinned_runs
    elif [[ $counts != 0 ]]; then n=$runs; most=$budget
    else n=$runs; most=$runs; fi
    echo "running $label ($t×$s)${pin:+ pinned to CPU $pin} vs C $cb: $n pairs$([[ -z $pin ]] && echo ", up to $most")" >&2
    one_pair() {
        run_rust "$dir" "$1" "$pin" "$t" "$s" "$rb" "${fl[@]}"
        run_c "$dir" "$1" "$pin" "$t" "$s" "$cb"
    }
    adapt "$dir" "$n" "$most" "$([[ -z $pin && $counts != 0 ]] && echo 1 || echo 0)" one_pair --rust-key /results/trials/0/elapsed_ns \
        --c-key elapsed_ns --placement
    rows+=("$dir|$label|$cb|$t|$s|$done_runs|${pin:+1}|pair|$counts")
}
want race || pairs=()
for pair in "${pairs[@]}"; do
    run_pair "" "$pair"
    if [[ $pair == race_condition_spinlock\|* ]]; then
        read -r t s <<<"$(size_of "$reference")"
        dir=row$((++n_row))
        mkdir -p "$out/$dir"
        echo "running $reference ($t×$s): $runs × C (reference, no Rust twin)" >&2
        for ((i = 1; i <= runs; i++)); do
            run_c "$dir" "$i" "" "$t" "$s" "$reference"
        done
        rows+=("$dir|—|$reference|$t|$s|$runs||c-only|0")
    fi
done
if ((pinned_runs > 0)); then
    for pair in "${pairs[@]}"; do
        run_pair 0 "$pair"
    done
fi
# What std's Mutex does differently from glibc's under contention: futex calls, CPU time and
# context switches of 3 runs each (Rust --lock std, Rust --lock pthread, C), counted by perf stat
# (the syscalls:sys_enter_futex tracepoint needs root or perf_event_paranoid ≤ 1).
if want race && ((${#pairs[@]} > 0)); then
    futex_events=task-clock,context-switches,syscalls:sys_enter_futex
    if command -v perf >/dev/null && perf stat -x, -e "$futex_events" true >/dev/null 2>&1; then
        echo "counting futex calls: perf stat -e $futex_events (std against glibc's mutex)" >&2
        for prog in race_condition_mutex fine_granularity; do
            read -r t s <<<"$(size_of "$prog")"
            for ((i = 1; i <= 3; i++)); do
                for lock in std pthread; do
                    perf stat -x, -o "$out/futex.$prog.$lock.$i" -e "$futex_events" \
                        "$rust_bin/$prog" --lock "$lock" --threads "$t" --steps "$s" --quiet >/dev/null
                done
                perf stat -x, -o "$out/futex.$prog.c.$i" -e "$futex_events" \
                    "$c_bin/$prog" "$t" "$s" >/dev/null
            done
        done
    else
        echo "bench.sh: perf stat cannot count syscalls:sys_enter_futex here: std's futex calls are not counted" >&2
    fi
fi

# The process rows: the same interleaving, one process per run on each side.
cost_rows=()
run_cost_pair() { # "Rust binary|flags|C twin args|C pin|what|Rust pointer|C key|counts"
    local rb flags c_cmd pin what rkey ckey counts dir
    IFS='|' read -r rb flags c_cmd pin what rkey ckey counts <<<"$1"
    local -a fl cc_args
    read -r -a fl <<<"$flags"
    read -r -a cc_args <<<"$c_cmd"
    dir=row$((++n_row))
    mkdir -p "$out/$dir"
    local most=$runs
    [[ $counts == 1 ]] && most=$budget
    echo "running $rb $flags vs C ${pin:+taskset -c $pin }$c_cmd: $runs pairs, up to $most" >&2
    one_cost_pair() {
        if ! "$rust_bin/$rb" "${fl[@]}" --format json --quiet >"$out/$dir/rust.$1" \
            2>"$out/$dir/rust.$1.err"; then
            echo "bench.sh: $rb $flags failed:" >&2; cat "$out/$dir/rust.$1.err" >&2; exit 1
        fi
        if ! ${pin:+taskset -c "$pin"} "$c_bin/${cc_args[0]}" "${cc_args[@]:1}" >"$out/$dir/c.$1" \
            2>"$out/$dir/c.$1.err"; then
            echo "bench.sh: scripts/c/build/$c_cmd failed:" >&2; cat "$out/$dir/c.$1.err" >&2; exit 1
        fi
    }
    adapt "$dir" "$runs" "$most" "$counts" one_cost_pair --rust-key "$rkey" --c-key "$ckey"
    if [[ $rb == spawn_cost ]]; then
        # The two ends of each run's distribution, which has two modes unpinned (the child on
        # this CPU or on the other one): where the p50 falls is the mix of the two.
        for q in 10 90; do
            "$stats" row --dir "$out/$dir" --runs "$done_runs" --rust-key /results/trials/0/samples_ns \
                --rust-quantile "0.$q" --c-key "p${q}_ns" >"$out/$dir/ci.p$q.json"
        done
    fi
    cost_rows+=("$dir|$rb $flags|${pin:+taskset -c $pin }$c_cmd|$what|$done_runs|$counts")
}
if want cost; then
    for pair in "${cost_pairs[@]}"; do
        run_cost_pair "$pair"
    done
    # What std::thread adds to pthread_create + join: the system calls of 200 runs of each (plus
    # the 20 untimed ones), counted by strace -f -c.
    if command -v strace >/dev/null; then
        echo "counting system calls: strace -f -c spawn_cost --op thread / --op pthread" >&2
        for op in thread pthread; do
            strace -f -c -o "$out/strace.$op" "$rust_bin/spawn_cost" --op "$op" --placement pinned \
                --count 200 --format json --quiet >/dev/null 2>&1 || rm -f "$out/strace.$op"
        done
    else
        echo "bench.sh: strace not found: std::thread's system calls are not counted" >&2
    fi
fi

read -r busy1 steal1 <<<"$(cpu_stat)"
times >"$out/times1"
wall1=$(date +%s.%N)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
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
python3 - "$out" "$stats" "$runs" "$budget" \
    "$kernel" "${cpu_model:-unknown CPU}$hv" "$(nproc)" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$cc_version" "${c_flags[*]}" "$rustc_version" "$quick" "$others" "$steal" "$wall" \
    "$load0" "$load1" <<'PY'
import json, re, statistics, subprocess, sys
from pathlib import Path

out = Path(sys.argv[1])
stats = sys.argv.pop(2)
runs0, budget = int(sys.argv[2]), int(sys.argv[3])
(kernel, cpu, nproc, date, cc, c_flags, rustc, quick, others, steal, wall,
 load0, load1) = sys.argv[4:17]
TARGET = 1.10

def ci(row):
    return json.loads((out / row / "ci.json").read_text())

def c_lines(p):
    return dict(re.findall(r"^(\w+) = (.*)$", p.read_text(), re.M))

def rust_doc(p):
    return json.loads(p.read_text())

def ms(ns):
    return f"{ns / 1e6:.2f}"

def unit(ns):
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.1f} µs"

def interval(c):
    return f"{c['ratio']:.2f} [{c['lo']:.2f}–{c['hi']:.2f}]"

def placed_rows(c, fmt, n_cols_before):
    """The lines of a row split by placement: one per placement with runs on both sides."""
    lines = []
    for p in c["placements"]:
        r, cc = p["rust"], p["c"]
        where = f"↳ threads on {p['placement']}"
        if not r or not cc:
            side = "Rust" if r else "C"
            n = (r or cc)["runs"]
            lines.append(f"| {where}: {side} only ({n} run{'s' if n != 1 else ''}) |"
                         + " |" * (n_cols_before - 1)
                         + (f" {fmt(r['median'])} | — |" if r else f" — | {fmt(cc['median'])} |")
                         + " — | — |"
                         + (f" {fmt(r['min'])}–{fmt(r['max'])} | — |" if r
                            else f" — | {fmt(cc['min'])}–{fmt(cc['max'])} |"))
            continue
        iv = interval(p["interval"]) if p["interval"] else "—"
        verdict = (p["verdict"] or "not_settled").replace("_", " ") if p["interval"] else "too few runs"
        lines.append(f"| {where} ({r['runs']} + {cc['runs']} runs) |" + " |" * (n_cols_before - 1)
                     + f" {fmt(r['median'])} | {fmt(cc['median'])} | {iv} | {verdict} "
                     f"| {fmt(r['min'])}–{fmt(r['max'])} | {fmt(cc['min'])}–{fmt(cc['max'])} |")
    return lines

print(f"bench: {kernel}; CPU: {cpu}; nproc {nproc}; {date}")
print(f"compilers: {cc} ({c_flags}; C twins with the start gate, scripts/c/lecture.h); "
      f"{rustc} (cargo --release)"
      + ("; QUICK mode (sizes / 10: a smoke run, its ratios mean little)" if quick == "1" else ""))
print(f"runs: {runs0} pairs per row to start, interleaved R, C, R, C, ...; 4 more at a time while "
      f"the 95% interval straddles {TARGET:.2f}, up to {budget} (the runs column says how many)")
busy = ""
if float(others) > 0.05 * float(wall) * int(nproc):
    busy = " ⚠ other work was running: contended timings are unreliable; rerun on an idle machine"
print(f"these runs took {wall} s; load average {load0} before, {load1} after; other processes "
      f"used {others} CPU-s meanwhile, steal {steal} CPU-s{busy}")
print()
verdicts = {"meets": [], "misses": [], "not settled": []}
floors = []

def floor_note(what, c):
    """Why a row is not settled: the C twin against itself with as many runs, and about how
    many pairs would settle it."""
    f = c["floor"]
    if c["runs"] < 5:
        return f"{what}: {interval(c)} with {c['runs']} pairs: a verdict needs 5"
    own = ("reaches past 1.10: the C program's own spread cannot be settled with this many runs"
           if f["hi"] > TARGET or f["lo"] < 1 / TARGET else "within ±10%")
    need = c.get("pairs_to_settle")
    placed = ""
    if c.get("split"):
        both = [p for p in c["placements"] if p["interval"]]
        if both:
            p = both[0]
            placed = (f"; placement decides the time, and with its threads on {p['placement']} "
                      f"({p['rust']['runs']} + {p['c']['runs']} runs) the row is "
                      f"{interval(p['interval'])}, {p['verdict'].replace('_', ' ')}")
    return (f"{what}: {interval(c)} with {c['runs']} pairs; C against itself with as many runs "
            f"{interval(f)} ({own}){placed}"
            + (f"; about {need} pairs would settle it at this ratio" if need and need <= 500
               else "; the ratio lies too near 1.10 for any affordable number of pairs to settle it"))

rows = (out / "rows").read_text().splitlines()
if rows:
    print("| Rust (flags) | C twin | threads×steps | runs | Rust median ms | C median ms "
          "| Rust/C [95% CI] | verdict | Rust min–max | C min–max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for line in rows:
        row, label, c_name, t, s, n, pinned, kind, counts = line.split("|")
        t, s, n, pinned, counts = int(t), int(s), int(n), pinned == "1", counts == "1" and pinned != "1"
        expected = t * s
        c_shown = c_name.replace("_own_line", " -DLOCK_OWN_LINE").replace(
            "_late", " -DSTART_DELAY_US=3000")
        size = f"{t}×{s:,}"
        c_runs = [c_lines(out / row / f"c.{i}") for i in range(1, n + 1)]
        if kind == "c-only":
            c_ns = [int(x["elapsed_ns"]) for x in c_runs]
            med = statistics.median(c_ns)
            print(f"| — (C only: the lecture's pthread_spin_lock) | {c_shown} | {size} | {n} | — "
                  f"| {ms(med)} | — | information | — | {ms(min(c_ns))}–{ms(max(c_ns))} |")
            continue
        c = ci(row)
        extras = []
        if pinned:
            extras.append("taskset -c 0")
        shown = label + (f" ({', '.join(extras)})" if extras else "")
        says = c["says"] if counts else (
            f"{c['says']} (information: std's algorithm)" if "--lock std" in label
            else f"{c['says']} (information: C's threads started as late)" if c_name.endswith("_late")
            else f"{c['says']} (information)")
        if counts:
            verdicts[c["says"]].append(f"{label} vs {c_shown} {interval(c)}")
            if c["verdict"] == "not_settled":
                floors.append(floor_note(f"{label} vs {c_shown}", c))
        print(f"| {shown} | {c_shown} | {size} | {n} | {ms(c['rust']['median'])} "
              f"| {ms(c['c']['median'])} | {interval(c)} | {says} "
              f"| {ms(c['rust']['min'])}–{ms(c['rust']['max'])} | {ms(c['c']['min'])}–{ms(c['c']['max'])} |")
        if c["split"]:
            for l in placed_rows(c, ms, 4):
                print(l)
        r_runs = [rust_doc(out / row / f"rust.{i}")["results"] for i in range(1, n + 1)]
        for side, vars_ in (("Rust", [r["trials"][0]["var"] for r in r_runs]),
                            ("C", [int(re.match(r"(-?\d+)", x["var"]).group(1)) for x in c_runs])):
            if c_name == "race_condition":
                lost = sorted(expected - v for v in vars_)
                losing = sum(1 for x in lost if x > 0)
                where = " pinned to CPU 0" if pinned else ""
                notes.append(f"race_condition{where}, {side}: lost updates median "
                             f"{lost[len(lost) // 2]:,} (min {lost[0]:,}, max {lost[-1]:,}); "
                             f"{losing} of {len(lost)} runs lost some")
            elif any(v != expected for v in vars_):
                notes.append(f"WRONG RESULT: {label} vs {c_shown} {side}{' pinned' if pinned else ''}: "
                             f"var {sorted(set(vars_))}, expected {expected}")
        if "--lock pthread" in label and not pinned:
            lay = r_runs[0].get("layout")
            cl = c_runs[0]
            if lay and "lock_bytes" in cl:
                notes.append(
                    f"layout, {label} vs {c_shown}: Rust {lay['lock']} {lay['lock_bytes']} bytes in "
                    f"place at line offset {lay['lock_line_offset']}, var at lock + "
                    f"{lay['var_minus_lock']} ({'same' if lay['same_line'] else 'another'} line); "
                    f"C lock {cl['lock_bytes']} bytes, var at lock + {cl['var_minus_lock']} "
                    f"({'same' if cl['same_line'] == '1' else 'another'} line)")
        places = {}
        for p in c["placements"]:
            places[p["placement"]] = ((p["rust"] or {}).get("runs", 0), (p["c"] or {}).get("runs", 0))
        if places and not pinned:
            notes.append(f"placement, {label} vs {c_shown} (runs Rust/C): "
                         + ", ".join(f"{k} {r}/{cc}" for k, (r, cc) in places.items())
                         + ("; split: placement decides the time" if c["split"] else ""))
    def perf_counts(p):
        counts = {}
        for l in p.read_text().splitlines():
            f = l.split(",")
            if len(f) > 2 and f[0].replace(".", "", 1).isdigit():
                counts[f[2]] = float(f[0])
        return counts
    for prog in ("race_condition_mutex", "fine_granularity"):
        sides = {}
        for side, name in (("std", "Rust --lock std"), ("pthread", "Rust --lock pthread"), ("c", "C")):
            got = [perf_counts(p) for p in sorted(out.glob(f"futex.{prog}.{side}.*"))]
            if got and all("syscalls:sys_enter_futex" in g for g in got):
                sides[name] = got
        if len(sides) == 3:
            def m(name, key):
                return statistics.median(g[key] for g in sides[name])
            fewer = (m("Rust --lock pthread", "syscalls:sys_enter_futex")
                     / max(1, m("Rust --lock std", "syscalls:sys_enter_futex")))
            more_cpu = m("Rust --lock std", "task-clock") / m("Rust --lock pthread", "task-clock")
            notes.append(
                f"what std::sync::Mutex does differently, {prog} (perf stat, 3 runs each, medians): "
                + "; ".join(f"{name} {m(name, 'syscalls:sys_enter_futex'):,.0f} futex calls, "
                            f"{m(name, 'task-clock'):,.0f} ms of CPU, "
                            f"{m(name, 'context-switches'):,.0f} context switches"
                            for name in sides)
                + (f". std's lock spins on the taken lock before it sleeps (glibc's sleeps at once): "
                   f"here it called the kernel {fewer:,.1f} times less often than glibc's and used "
                   f"{more_cpu:.2f} × its CPU time"
                   if fewer > 1.5 else
                   f". std's lock should call the kernel less often than glibc's, spinning first, "
                   f"but here it did not ({fewer:,.2f} × fewer futex calls): the runs say nothing of "
                   "its spinning")
                + ". The --lock std rows are information, the lecture's lock is --lock pthread.")
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- target (DESIGN.md §4): Rust/C ≤ {TARGET:.2f} per row: meets when the 95% interval's upper "
          "end is ≤ 1.10, misses when its lower end is > 1.10, not settled otherwise. The window: "
          "create + increments + join, one process per run. Pinned rows, the -DLOCK_OWN_LINE rows "
          "and the C-only reference row are for information.")

def run_values(rust, c):
    """bench_stats on values paired in order: the ratio of medians, its interval, the verdict."""
    return json.loads(subprocess.run(
        [stats, "values", "--rust", ",".join(map(str, rust)), "--c", ",".join(map(str, c))],
        check=True, capture_output=True, text=True).stdout)

def fork_modes(row, n, label):
    """Unpinned fork + wait has two modes (about 60 and about 130 µs here): each run's forks
    split between the two means of all forks of both sides, each mode's median per run
    compared pair by pair (runs with 50 forks or more in the mode on both sides), and the
    share of forks in the slow mode per run. When both modes meet, what moves the p50 is the
    mix, which the scheduler sets run by run."""
    r = [rust_doc(out / row / f"rust.{i}")["results"]["trials"][0]["samples_ns"] for i in range(1, n + 1)]
    c = [[int(x) for x in c_lines(out / row / f"c.{i}")["samples_ns"].split(",")] for i in range(1, n + 1)]
    pooled = sorted(x for run in r + c for x in run)
    q = lambda p: pooled[max(1, -(-len(pooled) * p // 100)) - 1]
    # Two means on the logarithm of every fork of both sides, from p10 and p90: the modes'
    # centres, and the cut halfway between them (in the logarithm: their geometric mean).
    import math
    lo, hi = math.log(q(10)), math.log(q(90))
    logs = [math.log(x) for x in pooled]
    for _ in range(50):
        cut_log = (lo + hi) / 2
        a = [v for v in logs if v <= cut_log]
        b = [v for v in logs if v > cut_log]
        if not a or not b:
            break
        lo, hi = sum(a) / len(a), sum(b) / len(b)
    cut = math.exp((lo + hi) / 2)
    if math.exp(hi - lo) < 1.5:
        return (f"{label}: one mode (the two means of all forks, {unit(math.exp(lo))} and "
                f"{unit(math.exp(hi))}, lie within 1.5× of each other): no split")
    parts = []
    for name, inside in (("fast", lambda x: x <= cut), ("slow", lambda x: x > cut)):
        pairs = [(statistics.median(a), statistics.median(b))
                 for a, b in ([[x for x in rr if inside(x)], [x for x in cc if inside(x)]]
                              for rr, cc in zip(r, c))
                 if len(a) >= 50 and len(b) >= 50]
        if len(pairs) >= 5:
            d = run_values([a for a, _ in pairs], [b for _, b in pairs])
            parts.append(f"{name} mode Rust {unit(d['rust']['median'])}, C {unit(d['c']['median'])}, "
                         f"Rust/C {interval(d)} {d['says']} ({len(pairs)} pairs)")
        else:
            parts.append(f"{name} mode: fewer than 5 pairs with 50 forks in it")
    slow = lambda runs: sorted(100 * sum(1 for x in run if x > cut) / len(run) for run in runs)
    rs, cs = slow(r), slow(c)
    return (f"{label}, by mode (two means of all forks of both sides: {unit(math.exp(lo))} and "
            f"{unit(math.exp(hi))}, split at {unit(cut)}): "
            + "; ".join(parts)
            + f". Forks in the slow mode per run: Rust median {statistics.median(rs):.0f}% "
            f"({rs[0]:.0f}–{rs[-1]:.0f}%), C {statistics.median(cs):.0f}% ({cs[0]:.0f}–{cs[-1]:.0f}%): "
            "the p50 of a run is wherever its mix puts it")

cost_lines = (out / "cost_rows").read_text().splitlines()
if cost_lines:
    if rows:
        print()
    print("| Rust (flags) | C twin | what | runs | Rust median | C median | Rust/C [95% CI] "
          "| verdict | Rust min–max | C min–max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    cost_notes = []
    for line in cost_lines:
        row, label, c_label, what, n, counts = line.split("|")
        n, counts = int(n), counts == "1"
        c = ci(row)
        says = c["says"] if counts else (f"{c['says']} (information: std's extras)" if "--op thread" in label
                                          else f"{c['says']} (information)")
        if counts:
            verdicts[c["says"]].append(f"{label} {interval(c)}")
            if c["verdict"] == "not_settled":
                floors.append(floor_note(label, c))
        c_label = c_label.replace("spawn_cost_now", "spawn_cost -Wl,-z,now")
        print(f"| {label} | {c_label} | {what} | {n} | {unit(c['rust']['median'])} "
              f"| {unit(c['c']['median'])} | {interval(c)} | {says} "
              f"| {unit(c['rust']['min'])}–{unit(c['rust']['max'])} "
              f"| {unit(c['c']['min'])}–{unit(c['c']['max'])} |")
        r1 = rust_doc(out / row / "rust.1")["results"]
        c1 = c_lines(out / row / "c.1")
        if label.startswith("cow_overhead"):
            pages = int(label.split("--pages ")[1].split()[0])
            faults = sorted(rust_doc(out / row / f"rust.{i}")["results"]["trials"][0]["write"]["minflt"]
                            for i in range(1, n + 1))
            cost_notes.append(f"cow_overhead, Rust: write-phase minor faults median "
                              f"{faults[len(faults) // 2]:,} for {pages:,} pages (min {faults[0]:,}, "
                              f"max {faults[-1]:,}); {unit(c['rust']['median'] / pages)} per page "
                              f"(Rust), {unit(c['c']['median'] / pages)} (C)")
        tails = [json.loads((out / row / f"ci.p{q}.json").read_text())
                 for q in (10, 90) if (out / row / f"ci.p{q}.json").exists()]
        if len(tails) == 2 and "--op fork --placement unpinned" in label:
            lo, hi = tails
            def above_mid(samples):
                s = sorted(samples)
                p10, p90 = s[-(-len(s) * 10 // 100) - 1], s[-(-len(s) * 90 // 100) - 1]
                return sum(1 for x in samples if x > (p10 + p90) / 2) / len(samples)
            r_above = statistics.median(
                above_mid(rust_doc(out / row / f"rust.{i}")["results"]["trials"][0]["samples_ns"])
                for i in range(1, n + 1))
            c_above = statistics.median(float(c_lines(out / row / f"c.{i}").get("above_mid", "nan"))
                                        for i in range(1, n + 1))
            cost_notes.append(
                f"{label}: p10 Rust {unit(lo['rust']['median'])}, C {unit(lo['c']['median'])}, "
                f"Rust/C {interval(lo)}; p90 Rust {unit(hi['rust']['median'])}, C "
                f"{unit(hi['c']['median'])}, Rust/C {interval(hi)}; runs above the midpoint of "
                f"p10 and p90: Rust {100 * r_above:.0f}%, C {100 * c_above:.0f}% (medians over the "
                "runs: the p50 lies wherever the mix of the two ends puts it)")
        if "--op fork --placement unpinned" in label and "samples_ns" in c1:
            cost_notes.append(fork_modes(row, n, label))
        if "--op fork" in label and "-z,now" not in c_label and r1.get("at_fork") and "mappings" in c1:
            f = r1["at_fork"]
            kids = r1["trials"][0]["child_minflt_per_op"]
            cost_notes.append(
                f"what fork copies ({label.split('--placement ')[1].split()[0]}, run 1, just before "
                f"the timed forks): Rust {f['mappings']} mappings, RSS {f['rss_kib']} KiB "
                f"(anonymous {f['anon_kib']} KiB), page tables {f['page_tables_kib']} KiB; C "
                f"{c1['mappings']} mappings, RSS {c1['rss_kib']} KiB (anonymous {c1['anon_kib']} KiB), "
                f"page tables {c1['page_tables_kib']} KiB. Child minor faults per fork: Rust "
                f"{kids:g}, C {float(c1.get('child_minflt_per_op', 'nan')):g}")
    st = {}
    for op in ("thread", "pthread"):
        p = out / f"strace.{op}"
        if p.exists():
            calls = {}
            for l in p.read_text().splitlines():
                m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", l)
                if m and m.group(2) != "total":
                    calls[m.group(2)] = int(m.group(1))
            st[op] = calls
    if len(st) == 2:
        per = {k: (st["thread"].get(k, 0) - st["pthread"].get(k, 0)) / 220
               for k in set(st["thread"]) | set(st["pthread"])}
        extra = sorted(((k, v) for k, v in per.items() if v >= 0.5), key=lambda kv: (-kv[1], kv[0]))
        total = sum(v for _, v in extra)
        cost_notes.append(
            "what std::thread::spawn + join adds to pthread_create + join, per thread (strace -f -c, "
            "220 of each): " + ", ".join(f"{k} {v:.1f}" for k, v in extra)
            + f": {total:.0f} system calls more (a guarded alternate signal stack for stack-overflow "
            "reports: mmap, mprotect, sigaltstack, munmap; the new thread's stack bounds: "
            "pthread_getattr_np's sched_getaffinity and gettid). That is the --op thread rows' "
            "cost, the lesson, not the demo's overhead: the target rows are --op pthread.")
    print()
    for note in cost_notes:
        print(f"- {note}")
    print(f"- target: Rust/C ≤ {TARGET:.2f} per row, the ratio of medians with its 95% interval. "
          "cow_overhead: the child's timed write loop (one byte per page after fork). spawn_cost: "
          "the p50 of --count runs after 20 untimed ones; `--op pthread` calls pthread_create and "
          "pthread_join as spawn_cost.c does; `--op thread` (std::thread) is information.")

print()
for k in ("meets", "misses", "not settled"):
    print(f"- {k} (rows toward the target): " + ("; ".join(verdicts[k]) if verdicts[k] else "none") + ".")
for note in floors:
    print(f"- not settled, why: {note}")
PY

# ---- sum_array: processes against threads, by page size (scripts/sum_array_pages.sh) -----------
if want cost; then
    echo
    pages_len=20000000
    [[ $quick == 1 ]] && pages_len=2000000
    OSLAB_BIN="$root/target/release" "$root/scripts/sum_array_pages.sh" --runs "$runs" --len "$pages_len"
fi

# ---- time and scheduling: scripts/bench_sched.sh (pipe ping-pong, sleep jitter, nice shares) --
if want sched; then
    echo
    sched_flags=(--no-build) # built above
    [[ $quick == 1 ]] && sched_flags+=(--quick)
    "$root/scripts/bench_sched.sh" "${sched_flags[@]}"
fi
echo
awk -v s="$bench_start" -v e="$(date +%s.%N)" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" \
    'BEGIN{printf "bench.sh took %.0f s in all (load average at the end: %s)\n", e-s, l}'
