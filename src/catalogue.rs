//! Every demo binary, its chapter and its concept in one line: what `oslab list` prints, what
//! `oslab tour` runs (with small parameters) and what `oslab compare` groups into families.
//! A test checks that this list and `src/bin/` agree.

use serde::Serialize;

/// The course's chapters, in lecture order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Chapter {
    Processes,
    Threads,
    Synchronisation,
    Scheduling,
    Signals,
}

impl Chapter {
    /// The chapter's heading.
    pub fn title(self) -> &'static str {
        match self {
            Chapter::Processes => "processes",
            Chapter::Threads => "threads",
            Chapter::Synchronisation => "synchronisation",
            Chapter::Scheduling => "scheduling",
            Chapter::Signals => "signals and observation",
        }
    }
}

/// One demo binary.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Demo {
    /// The binary's name, as in `src/bin/<name>.rs`.
    pub name: &'static str,
    pub chapter: Chapter,
    /// The concept, in one line.
    pub concept: &'static str,
    /// The lecture program it reproduces, as its `--help` names it (`deadlock.py`).
    pub lecture: &'static str,
    /// The flags `oslab tour` runs it with: small, non-interactive.
    pub tour: &'static [&'static str],
    /// The exit code the tour expects with those flags: 0, or 3 where the demo's "bad thing"
    /// is the point (deadlock).
    pub tour_exit: i32,
    /// The field's tools its `compare:` line names, as man-page references for its page's SEE
    /// ALSO (`perf-c2c(1)`, `cyclictest(8)`); another demo may be one (`race_condition_spinlock(1)`).
    #[serde(skip)]
    pub tools: &'static [&'static str],
    /// The exit statuses whose meaning differs from every demo's ([`EXIT_STATUS`]), or that
    /// only this demo has (deadlock's 3), for its man page's EXIT STATUS.
    #[serde(skip)]
    pub exits: &'static [(u8, &'static str)],
}

/// What a demo's exit status means, unless its [`Demo::exits`] says otherwise.
pub const EXIT_STATUS: &[(u8, &str)] = &[
    (
        0,
        "the demo ran, whatever its verdict (a claim that did not hold is the demo working)",
    ),
    (
        1,
        "a runtime error, printed as NAME: error: CAUSE (a refused thread or fork, an unreadable /proc file, a write error)",
    ),
    (
        2,
        "a usage error: a flag out of range, not a number, unknown, or a --plot the demo has nothing to draw for",
    ),
    (
        130,
        "stopped by Ctrl-C (SIGINT): what was measured so far is printed, marked partial",
    ),
    (
        143,
        "stopped by SIGTERM: what was measured so far is printed, marked partial",
    ),
];

/// A family: demos that are variants of one program, compared side by side.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Family {
    pub name: &'static str,
    /// What the comparison shows.
    pub about: &'static str,
    /// The variants: a demo's name, optionally followed by its flags
    /// (`race_condition_mutex --lock pthread`).
    pub members: &'static [&'static str],
    /// Flags every member gets in `oslab compare` (before the user's own).
    pub args: &'static [&'static str],
    /// The exit codes of a member's run that still give a result (0, and 3 for a detected
    /// deadlock); any other is a failure.
    pub exit_codes: &'static [i32],
    /// The per-trial figures compared, read from each member's JSON `results.trials[0]`; when
    /// the first one is a median, it gives the ratios.
    pub metrics: &'static [Metric],
}

/// A figure `oslab compare` reads from a demo's JSON trials.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Metric {
    /// The field in `results.trials[]`; a dotted key (`latency.p50_ns`) reaches into a nested
    /// object.
    pub key: &'static str,
    /// The column heading.
    pub label: &'static str,
    /// True when the value is in nanoseconds (printed in the unit that fits).
    pub nanos: bool,
    /// How the runs' values are summed up.
    pub stat: Stat,
}

/// How `oslab compare` sums up a metric over the runs of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// The median value.
    Median,
    /// How many runs had it: the value is 0/1 or false/true (`deadlocked`), shown as k/N.
    Count,
}

/// The figures of the race and granularity families.
const LOCK_METRICS: &[Metric] = &[
    Metric {
        key: "elapsed_ns",
        label: "time",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "ns_per_op",
        label: "per update",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "lost",
        label: "lost",
        nanos: false,
        stat: Stat::Median,
    },
    Metric {
        key: "voluntary_cs",
        label: "vol cs",
        nanos: false,
        stat: Stat::Median,
    },
    Metric {
        key: "nonvoluntary_cs",
        label: "nonvol cs",
        nanos: false,
        stat: Stat::Median,
    },
];

/// The granularity pair's figures: the race family's, and how often the lock changed owner.
const GRANULARITY_METRICS: &[Metric] = &[
    LOCK_METRICS[0],
    LOCK_METRICS[1],
    LOCK_METRICS[2],
    LOCK_METRICS[3],
    LOCK_METRICS[4],
    Metric {
        key: "handovers",
        label: "handovers",
        nanos: false,
        stat: Stat::Median,
    },
];

/// The figures of `oslab compare spawn`: one operation's latency percentiles.
const SPAWN_METRICS: &[Metric] = &[
    Metric {
        key: "latency.p50_ns",
        label: "p50",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "latency.p99_ns",
        label: "p99",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "latency.mean_ns",
        label: "mean",
        nanos: true,
        stat: Stat::Median,
    },
];

/// The figures of `oslab compare sum_array`.
const SUM_METRICS: &[Metric] = &[
    Metric {
        key: "elapsed_ns",
        label: "time",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "speedup",
        label: "speed-up",
        nanos: false,
        stat: Stat::Median,
    },
    Metric {
        key: "voluntary_cs",
        label: "vol cs",
        nanos: false,
        stat: Stat::Median,
    },
];

/// The figures of the sleep_jitter family: the overshoot past each deadline.
const JITTER_METRICS: &[Metric] = &[
    Metric {
        key: "p50_ns",
        label: "p50",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "p99_ns",
        label: "p99",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "max_ns",
        label: "max",
        nanos: true,
        stat: Stat::Median,
    },
    Metric {
        key: "overflows",
        label: "overflows",
        nanos: false,
        stat: Stat::Median,
    },
];

/// Every demo that exists, in lecture order.
pub const DEMOS: &[Demo] = &[
    Demo {
        name: "create_process",
        chapter: Chapter::Processes,
        concept: "a child process: its own PID, the parent's PID as its PPID; the parent waits for it (create_process.py, fork.c, exec, posix_spawn)",
        lecture: "create_process.py",
        tour: &["--sleep", "50"],
        tour_exit: 0,
        tools: &["strace(1)"],
        exits: &[
            (
                0,
                "the demo ran, whatever the child's exit code (0 in python, 42 in fork is the demo working)",
            ),
            (
                1,
                "a runtime error, printed as create_process: error: CAUSE; also a COMMAND that cannot run (exec, spawn)",
            ),
        ],
    },
    Demo {
        name: "fork_celsius",
        chapter: Chapter::Processes,
        concept: "N forked children print in the scheduler's order; a parent that does not wait leaves orphans",
        lecture: "thread_celsius.c",
        tour: &["4", "--no-wait"],
        tour_exit: 0,
        tools: &["strace(1)"],
        exits: &[],
    },
    Demo {
        name: "multiple_forks",
        chapter: Chapter::Processes,
        concept: "three forks in a row make eight processes: a tree, drawn like pstree -p",
        lecture: "multiple_forks.c",
        tour: &["--sleep", "50"],
        tour_exit: 0,
        tools: &["pstree(1)", "strace(1)"],
        exits: &[],
    },
    Demo {
        name: "create_thread",
        chapter: Chapter::Threads,
        concept: "a thread has the process's PID, its own TID, and shares the memory a forked child copies",
        lecture: "create_thread.c",
        tour: &["--sleep", "50"],
        tour_exit: 0,
        tools: &["strace(1)", "ps(1)"],
        exits: &[],
    },
    Demo {
        name: "thread_states",
        chapter: Chapter::Threads,
        concept: "four threads on one CPU sampled RUNNING, READY or BLOCKED: at most one RUNNING; the blocked wake to READY",
        lecture: "Thread States slide",
        tour: &["--samples", "10", "--interval", "5"],
        tour_exit: 0,
        tools: &["ps(1)", "perf-sched(1)"],
        exits: &[],
    },
    Demo {
        name: "gil",
        chapter: Chapter::Threads,
        concept: "under one GIL threads overlap waits (nearly N×) but not computing (1×); processes, a GIL each, do both",
        lecture: "CPython table",
        // 30 ms of work per task: long enough for the scheduler to spread the two processes
        // (20 runs of 20 held; with 10 ms, 16 of 20: the processes shared a CPU for part of it).
        tour: &["--tasks", "2", "--work", "30", "--waits", "4", "--io", "2"],
        tour_exit: 0,
        tools: &["python3(1)", "sum_array(1)"],
        exits: &[],
    },
    Demo {
        name: "spawn_cost",
        chapter: Chapter::Processes,
        concept: "fork, posix_spawn, fork + exec and a thread, each timed with its wait: processes cost far more",
        lecture: "process-versus-thread table",
        tour: &["--count", "50", "--warmup", "5"],
        tour_exit: 0,
        tools: &["lat_proc(8)", "stress-ng(1)"],
        exits: &[],
    },
    Demo {
        name: "sum_array",
        chapter: Chapter::Processes,
        concept: "one sum split over N threads or N processes: the speed-up, and the GIL that takes it away",
        lecture: "sum_array_threads.c",
        // The lab's 100 M ints: a window of 20-40 ms, several timer ticks, so that two threads
        // the scheduler first put on one CPU are spread before the end (10 runs of 10 held;
        // at 40 M, 9 of 10 and at times 5 of 10; at 10 M, 28 of 30).
        tour: &["2"],
        tour_exit: 0,
        tools: &["perf-stat(1)"],
        exits: &[],
    },
    Demo {
        name: "cow_overhead",
        chapter: Chapter::Processes,
        concept: "after fork, reads are free and the first write to each page faults and copies it",
        lecture: "copy_on_write_overhead.c",
        tour: &["--pages", "4096"],
        tour_exit: 0,
        tools: &["perf-stat(1)", "stress-ng(1)"],
        exits: &[(
            1,
            "a runtime error, printed as cow_overhead: error: CAUSE; also a mapping beyond MemAvailable",
        )],
    },
    Demo {
        name: "address_space",
        chapter: Chapter::Processes,
        concept: "code, data, bss, heap, mmap, libc, vdso and stack in their regions; after fork one virtual address, two values, two frames",
        lecture: "Process Virtual Address Space",
        tour: &[],
        tour_exit: 0,
        tools: &["pmap(1)", "setarch(8)", "proc(5)"],
        exits: &[],
    },
    Demo {
        name: "process_attrs",
        chapter: Chapter::Processes,
        concept: "what a process owns, in a parent, its forked child and an exec'd program: inherited, new or reset; its threads end with it",
        lecture: "Process Attributes",
        tour: &[],
        tour_exit: 0,
        tools: &["ps(1)", "proc(5)"],
        exits: &[],
    },
    Demo {
        name: "race_condition",
        chapter: Chapter::Synchronisation,
        concept: "two threads ++var with no protection: updates are lost",
        lecture: "race_condition.c",
        // --spread: on a busy machine the scheduler may put both threads on one CPU, and then
        // the tour would show no race at all.
        tour: &["--steps", "1000000", "--spread"],
        tour_exit: 0,
        tools: &["perf-c2c(1)"],
        exits: &[(0, "the demo ran: losing updates is the demo working")],
    },
    Demo {
        name: "race_condition_toctou",
        chapter: Chapter::Synchronisation,
        concept: "a flag checked, then set, as a lock (TOCTOU): two threads get in at once, updates are lost",
        lecture: "slide \"Synchronization Mistake – TOCTOU\"",
        // Its threads go one per CPU by default (as race_condition's tour does with --spread).
        tour: &["--steps", "200000"],
        tour_exit: 0,
        tools: &["race_condition_spinlock(1)"],
        exits: &[(
            0,
            "the demo ran: two threads inside at once and lost updates are the demo working",
        )],
    },
    Demo {
        name: "race_condition_atomic",
        chapter: Chapter::Synchronisation,
        concept: "the same increments as one atomic read-modify-write (fetch_add): none lost",
        lecture: "race_condition_atomic_gcc.c",
        tour: &["--steps", "200000"],
        tour_exit: 0,
        tools: &["stress-ng(1)"],
        exits: &[],
    },
    Demo {
        name: "race_condition_atomic_assembly",
        chapter: Chapter::Synchronisation,
        concept: "the atomic increment written by hand: inline asm `lock inc`",
        lecture: "race_condition_atomic_assembly.c",
        tour: &["--steps", "200000"],
        tour_exit: 0,
        tools: &["objdump(1)", "stress-ng(1)"],
        exits: &[],
    },
    Demo {
        name: "race_condition_spinlock",
        chapter: Chapter::Synchronisation,
        concept: "a test-and-set spinlock around ++var: waiting threads burn CPU",
        lecture: "race_condition_spinlock.c",
        tour: &["--steps", "200000"],
        tour_exit: 0,
        tools: &["perf-stat(1)"],
        exits: &[],
    },
    Demo {
        name: "race_condition_mutex",
        chapter: Chapter::Synchronisation,
        concept: "a mutex around ++var: waiting threads sleep in the kernel",
        lecture: "race_condition_mutex.c",
        tour: &["--steps", "200000"],
        tour_exit: 0,
        tools: &["stress-ng(1)"],
        exits: &[],
    },
    Demo {
        name: "coarse_granularity",
        chapter: Chapter::Synchronisation,
        concept: "one lock around each thread's whole loop: few switches, no parallelism",
        lecture: "granularity.c",
        // The slide's run, as fine_granularity's: the two times compare.
        tour: &[],
        tour_exit: 0,
        tools: &["perf-stat(1)"],
        exits: &[],
    },
    Demo {
        name: "fine_granularity",
        chapter: Chapter::Synchronisation,
        concept: "one lock around each increment: the threads take turns at the lock, on several CPUs mostly without a switch",
        lecture: "granularity.c",
        // The slide's run, as coarse_granularity's: the two times compare.
        tour: &[],
        tour_exit: 0,
        tools: &["perf-stat(1)"],
        exits: &[],
    },
    Demo {
        name: "deadlock",
        chapter: Chapter::Synchronisation,
        concept: "two threads lock two resources in opposite orders and wait for each other forever",
        lecture: "deadlock.py",
        tour: &["--timeout", "0.5", "--sleep", "50"],
        tour_exit: 3,
        tools: &["gdb(1)", "ps(1)"],
        exits: &[
            (
                0,
                "both threads finished (a cure, or the threads did not interleave into the deadlock)",
            ),
            (3, "the deadlock happened and the watchdog detected it"),
        ],
    },
    Demo {
        name: "condition",
        chapter: Chapter::Synchronisation,
        concept: "a thread sleeps on a condition variable until main notifies it",
        lecture: "condition.py",
        tour: &["--notify-after", "50"],
        tour_exit: 0,
        tools: &["perf-bench(1)"],
        exits: &[(
            1,
            "a runtime error, printed as condition: error: CAUSE; also standard input ending without a notify line",
        )],
    },
    Demo {
        name: "lost_wakeup",
        chapter: Chapter::Synchronisation,
        concept: "a notify before anyone waits is lost: a waiter needs a predicate loop (or a semaphore)",
        lecture: "condition.py",
        tour: &["--bound", "100"],
        tour_exit: 0,
        tools: &["perf-bench(1)"],
        exits: &[],
    },
    Demo {
        name: "semaphore",
        chapter: Chapter::Synchronisation,
        concept: "N workers share K permits: acquire (counter--) blocks at 0, release (counter++) wakes a waiter; never more than K inside",
        lecture: "slide \"Semaphores\"",
        tour: &["--hold", "5ms"],
        tour_exit: 0,
        tools: &["strace(1)"],
        exits: &[],
    },
    Demo {
        name: "barrier",
        chapter: Chapter::Synchronisation,
        concept: "no thread passes a barrier until all have reached it",
        lecture: "barrier.py",
        tour: &["--use-barrier", "--rounds", "20"],
        tour_exit: 0,
        tools: &["perf-bench(1)"],
        exits: &[],
    },
    Demo {
        name: "reentrancy",
        chapter: Chapter::Synchronisation,
        concept: "the slide's four add2s from threads at once and re-entered by a signal handler: thread-safe and reentrant are two things",
        lecture: "add2",
        tour: &["--calls", "5000", "--reentries", "100", "--tick", "50"],
        tour_exit: 0,
        tools: &["signal-safety(7)"],
        exits: &[],
    },
    Demo {
        name: "sleep_jitter",
        chapter: Chapter::Scheduling,
        concept: "sleep 5 ms 50,000 times: every wakeup is late; the lecture's ms histogram, then µs percentiles",
        lecture: "time.sleep(.005)",
        tour: &["--count", "200", "--interval", "1ms"],
        tour_exit: 0,
        tools: &["cyclictest(8)"],
        exits: &[],
    },
    Demo {
        name: "context_switch",
        chapter: Chapter::Scheduling,
        concept: "I/O-bound tasks switch voluntarily, CPU-bound ones are preempted; a pipe ping-pong times a switch",
        lecture: "cpu_bound.c",
        tour: &["--seconds", "0.5", "--pingpong", "5000"],
        tour_exit: 0,
        tools: &["perf-bench(1)"],
        exits: &[],
    },
    Demo {
        name: "nice_share",
        chapter: Chapter::Scheduling,
        concept: "nice 0 and nice 5 on one CPU: CFS's weights split it 75.3% / 24.7%",
        lecture: "renice",
        tour: &["--seconds", "1"],
        tour_exit: 0,
        tools: &["nice(1)", "top(1)"],
        exits: &[(
            1,
            "a runtime error, printed as nice_share: error: CAUSE; also a negative --nice without CAP_SYS_NICE",
        )],
    },
    Demo {
        name: "coop_sched",
        chapter: Chapter::Scheduling,
        concept: "user-level threads on one OS thread (a run queue, swapcontext): they interleave only when they yield",
        lecture: "app-schedule-threads/main.c",
        tour: &["--cooperate"],
        tour_exit: 0,
        tools: &["perf-stat(1)"],
        exits: &[],
    },
    Demo {
        name: "goroutines",
        chapter: Chapter::Scheduling,
        concept: "K user-level tasks on M OS threads with work stealing (Go's M:N): the kernel sees M, a task is cheaper than a thread, a blocking call stalls its thread until hand-off",
        lecture: "go work(i)",
        tour: &["--tasks", "2000", "--block-ms", "50"],
        tour_exit: 0,
        tools: &["perf-bench(1)"],
        exits: &[],
    },
    Demo {
        name: "sched_sim",
        chapter: Chapter::Scheduling,
        concept: "the slides' scheduling algorithms simulated tick by tick: Round-Robin's P1 4, P2 3, P3 5 with slice 2, FIFO, SJF, priorities, MLFQ, CFS",
        lecture: "Round-Robin example",
        tour: &["--compare"],
        tour_exit: 0,
        tools: &["perf-sched(1)"],
        exits: &[],
    },
    Demo {
        name: "time_slice",
        chapter: Chapter::Scheduling,
        concept: "two CPU-bound threads on one CPU log their turns: how long the kernel lets each run before switching, against the notes' 20 ms",
        lecture: "Processes are switched quickly 20ms",
        tour: &["--seconds", "0.3"],
        tour_exit: 0,
        tools: &["perf-sched(1)"],
        exits: &[],
    },
    Demo {
        name: "signals",
        chapter: Chapter::Signals,
        concept: "spell a word with signals: standard ones coalesce, real-time ones queue, SIGKILL cannot be caught",
        lecture: "signal_printer.c",
        tour: &["demo", "--gap", "5"],
        tour_exit: 0,
        tools: &["kill(1)", "signal(7)"],
        exits: &[],
    },
    Demo {
        name: "proc_watch",
        chapter: Chapter::Signals,
        concept: "the lecture's second terminal: a process's faults, switches, RSS and CPU, per interval",
        lecture: "/proc/PID/stat",
        tour: &[
            "--interval",
            "20ms",
            "--",
            "cow_overhead",
            "--pages",
            "16384",
            "--quiet",
        ],
        tour_exit: 0,
        tools: &["pidstat(1)", "watch(1)", "ps(1)", "pstree(1)"],
        exits: &[],
    },
];

/// The figures of the deadlock family.
const DEADLOCK_METRICS: &[Metric] = &[
    Metric {
        key: "deadlocked",
        label: "deadlocked",
        nanos: false,
        stat: Stat::Count,
    },
    Metric {
        key: "retries",
        label: "retries",
        nanos: false,
        stat: Stat::Median,
    },
    Metric {
        key: "elapsed_ns",
        label: "time",
        nanos: true,
        stat: Stat::Median,
    },
];

/// The families `oslab compare` knows.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "race",
        about: "the cost of each fix for a lost update: none, a flag checked then set (TOCTOU), atomic, asm, spinlock, mutex",
        members: &[
            "race_condition",
            "race_condition_toctou",
            "race_condition_atomic",
            "race_condition_atomic_assembly",
            "race_condition_spinlock",
            "race_condition_mutex",
        ],
        args: &[],
        exit_codes: &[0],
        metrics: LOCK_METRICS,
    },
    Family {
        name: "granularity",
        about: "one lock held around the whole loop versus taken for each increment, at the slide's 2 × 1,000,000 (`-- --as-coded`: granularity.c's 10 × 2,000,000)",
        members: &["coarse_granularity", "fine_granularity"],
        args: &[],
        exit_codes: &[0],
        metrics: GRANULARITY_METRICS,
    },
    Family {
        name: "mutex",
        about: "one contended lock, four ways: the slide's spinlock, Rust's, glibc's and parking_lot's mutex",
        members: &[
            "race_condition_spinlock",
            "race_condition_mutex --lock std",
            "race_condition_mutex --lock pthread",
            "race_condition_mutex --lock parking_lot",
        ],
        args: &[],
        exit_codes: &[0],
        metrics: LOCK_METRICS,
    },
    Family {
        name: "deadlock",
        about: "how often the deadlock happens without the lecture's sleep, with a 1 ms one, and with each cure",
        members: &[
            "deadlock --sleep 0",
            "deadlock --sleep 1",
            "deadlock --sleep 1 --fix ordered",
            "deadlock --sleep 1 --fix trylock",
        ],
        args: &["--timeout", "0.2"],
        exit_codes: &[0, 3],
        metrics: DEADLOCK_METRICS,
    },
    Family {
        name: "spawn",
        about: "creating a process (fork, posix_spawn, fork + exec) against a thread, pinned and unpinned",
        members: &[
            "spawn_cost --op fork --placement pinned",
            "spawn_cost --op posix-spawn --placement pinned",
            "spawn_cost --op fork-exec --placement pinned",
            "spawn_cost --op thread --placement pinned",
            "spawn_cost --op fork --placement unpinned",
            "spawn_cost --op posix-spawn --placement unpinned",
            "spawn_cost --op fork-exec --placement unpinned",
            "spawn_cost --op thread --placement unpinned",
        ],
        args: &["--count", "300"],
        exit_codes: &[0],
        metrics: SPAWN_METRICS,
    },
    Family {
        name: "sum_array",
        about: "one sum over 1, 2 and 4 workers: threads, processes, and threads behind a global lock",
        members: &[
            "sum_array 1",
            "sum_array 2",
            "sum_array 4",
            "sum_array 1 --processes",
            "sum_array 2 --processes",
            "sum_array 4 --processes",
            "sum_array 1 --global-lock",
            "sum_array 2 --global-lock",
            "sum_array 4 --global-lock",
        ],
        args: &[],
        exit_codes: &[0],
        metrics: SUM_METRICS,
    },
    Family {
        name: "sleep_jitter",
        about: "a sleep's overshoot three ways: relative sleep (the lecture), absolute deadlines (cyclictest), busy-waiting",
        members: &[
            "sleep_jitter --mode relative",
            "sleep_jitter --mode absolute",
            "sleep_jitter --mode busy",
        ],
        args: &["--count", "200", "--interval", "1ms"],
        exit_codes: &[0],
        metrics: JITTER_METRICS,
    },
];

/// The demos that, run with no flags, take more than a few seconds or wait for the student:
/// what `oslab list` marks beside them, measured on a 2-vCPU guest (a test runs every other
/// demo with no flags and stdin closed, and checks that it ends by itself).
pub const NO_FLAGS: &[(&str, &str)] = &[
    ("create_process", "5 s: the child's sleep(5)"),
    ("create_thread", "5 s: the thread's sleep(5)"),
    ("spawn_cost", "about 4 s: 1000 of each, pinned and not"),
    (
        "deadlock",
        "5 s until the watchdog; --timeout 0 hangs as the lecture",
    ),
    ("condition", "waits for you to type notify"),
    ("sleep_jitter", "about 4 min: 50,000 sleeps of 5 ms"),
    (
        "context_switch",
        "about 9 s: 3 s per worker, then the ping-pong",
    ),
    ("nice_share", "5 s"),
    ("time_slice", "2 s"),
];

impl Demo {
    /// What `oslab list` says beside a demo that takes long or waits for input, run with no
    /// flags.
    pub fn no_flags(&self) -> Option<&'static str> {
        NO_FLAGS
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, t)| *t)
    }
}

/// The demo called `name`.
pub fn find(name: &str) -> Option<&'static Demo> {
    DEMOS.iter().find(|d| d.name == name)
}

/// The family called `name`.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_no_flags_mark_names_a_demo() {
        for (name, _) in NO_FLAGS {
            assert!(find(name).is_some(), "{name} is marked but not in DEMOS");
        }
        assert_eq!(
            find("condition").unwrap().no_flags(),
            Some("waits for you to type notify")
        );
        assert_eq!(find("race_condition").unwrap().no_flags(), None);
    }

    #[test]
    fn the_catalogue_matches_src_bin() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".rs").map(str::to_string)
            })
            .filter(|n| n != "oslab")
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = DEMOS.iter().map(|d| d.name.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn family_members_are_demos() {
        for f in FAMILIES {
            for m in f.members {
                let demo = m.split_whitespace().next().unwrap();
                assert!(find(demo).is_some(), "{} lists unknown demo {m}", f.name);
            }
        }
        assert!(family("race").is_some());
        assert!(family("nope").is_none());
    }

    #[test]
    fn the_granularity_rows_tour_and_compare_the_slides_run() {
        // Both at the same sizes, their defaults (the slide's 2 × 1000000), so the times compare.
        let (coarse, fine) = (
            find("coarse_granularity").unwrap(),
            find("fine_granularity").unwrap(),
        );
        assert_eq!(coarse.tour, fine.tour);
        assert!(
            coarse
                .tour
                .iter()
                .all(|f| !f.starts_with("--threads") && !f.starts_with("--steps"))
        );
        let family = family("granularity").unwrap();
        assert!(family.args.is_empty());
        assert!(family.metrics.iter().any(|m| m.key == "handovers"));
    }

    #[test]
    fn tours_expect_success_or_the_demos_own_outcome() {
        for d in DEMOS {
            let want = if d.name == "deadlock" { 3 } else { 0 };
            assert_eq!(d.tour_exit, want, "{}", d.name);
        }
        for f in FAMILIES {
            assert!(f.exit_codes.contains(&0), "{}", f.name);
            assert!(!f.metrics.is_empty(), "{}", f.name);
        }
        let deadlock = family("deadlock").unwrap();
        assert_eq!(deadlock.metrics[0].key, "deadlocked");
        assert_eq!(deadlock.metrics[0].stat, Stat::Count);
        assert!(deadlock.exit_codes.contains(&3));
    }
}
