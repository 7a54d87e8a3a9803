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
            Chapter::Signals => "signals",
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
    /// The flags `oslab tour` runs it with: small, non-interactive.
    pub tour: &'static [&'static str],
}

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
    /// The per-trial figures compared, read from each member's JSON `results.trials[]`; the
    /// first one orders the table and gives the ratios.
    pub metrics: &'static [Metric],
}

/// A figure `oslab compare` reads from a demo's JSON trials.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Metric {
    /// The field in `results.trials[]`.
    pub key: &'static str,
    /// The column heading.
    pub label: &'static str,
    /// True when the value is in nanoseconds (printed in the unit that fits).
    pub nanos: bool,
}

/// The figures of the race and granularity families.
const LOCK_METRICS: &[Metric] = &[
    Metric {
        key: "elapsed_ns",
        label: "time",
        nanos: true,
    },
    Metric {
        key: "ns_per_op",
        label: "per update",
        nanos: true,
    },
    Metric {
        key: "lost",
        label: "lost",
        nanos: false,
    },
    Metric {
        key: "voluntary_cs",
        label: "vol cs",
        nanos: false,
    },
    Metric {
        key: "nonvoluntary_cs",
        label: "nonvol cs",
        nanos: false,
    },
];

/// The figures of the sleep_jitter family: the overshoot past each deadline.
const JITTER_METRICS: &[Metric] = &[
    Metric {
        key: "p50_ns",
        label: "p50",
        nanos: true,
    },
    Metric {
        key: "p99_ns",
        label: "p99",
        nanos: true,
    },
    Metric {
        key: "max_ns",
        label: "max",
        nanos: true,
    },
    Metric {
        key: "overflows",
        label: "overflows",
        nanos: false,
    },
];

/// Every demo that exists, in lecture order.
pub const DEMOS: &[Demo] = &[
    Demo {
        name: "race_condition",
        chapter: Chapter::Synchronisation,
        concept: "two threads ++var with no protection: updates are lost",
        // --spread: on a busy machine the scheduler may put both threads on one CPU, and then
        // the tour would show no race at all.
        tour: &["--steps", "1000000", "--spread"],
    },
    Demo {
        name: "race_condition_atomic",
        chapter: Chapter::Synchronisation,
        concept: "the same increments as one atomic read-modify-write (fetch_add): none lost",
        tour: &["--steps", "200000"],
    },
    Demo {
        name: "race_condition_atomic_assembly",
        chapter: Chapter::Synchronisation,
        concept: "the atomic increment written by hand: inline asm `lock inc`",
        tour: &["--steps", "200000"],
    },
    Demo {
        name: "race_condition_spinlock",
        chapter: Chapter::Synchronisation,
        concept: "a test-and-set spinlock around ++var: waiting threads burn CPU",
        tour: &["--steps", "200000"],
    },
    Demo {
        name: "race_condition_mutex",
        chapter: Chapter::Synchronisation,
        concept: "a mutex around ++var: waiting threads sleep in the kernel",
        tour: &["--steps", "200000"],
    },
    Demo {
        name: "coarse_granularity",
        chapter: Chapter::Synchronisation,
        concept: "one lock around each thread's whole loop: few switches, no parallelism",
        tour: &["--steps", "200000"],
    },
    Demo {
        name: "fine_granularity",
        chapter: Chapter::Synchronisation,
        concept: "one lock around each increment: parallel in name, switches in practice",
        tour: &["--steps", "20000"],
    },
    Demo {
        name: "sleep_jitter",
        chapter: Chapter::Scheduling,
        concept: "sleep 5 ms 50,000 times: every wakeup is late; the lecture's ms histogram, then µs percentiles",
        tour: &["--count", "200", "--interval", "1ms"],
    },
    Demo {
        name: "context_switch",
        chapter: Chapter::Scheduling,
        concept: "I/O-bound tasks switch voluntarily, CPU-bound ones are preempted; a pipe ping-pong times a switch",
        tour: &["--seconds", "0.5", "--pingpong", "5000"],
    },
    Demo {
        name: "nice_share",
        chapter: Chapter::Scheduling,
        concept: "nice 0 and nice 5 on one CPU: CFS's weights split it 75.3% / 24.7%",
        tour: &["--seconds", "1"],
    },
    Demo {
        name: "coop_sched",
        chapter: Chapter::Scheduling,
        concept: "user-level threads on one OS thread (a run queue, swapcontext): they interleave only when they yield",
        tour: &["--cooperate"],
    },
];

/// The families `oslab compare` knows.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "race",
        about: "the cost of each fix for a lost update: none, atomic, asm, spinlock, mutex",
        members: &[
            "race_condition",
            "race_condition_atomic",
            "race_condition_atomic_assembly",
            "race_condition_spinlock",
            "race_condition_mutex",
        ],
        args: &[],
        metrics: LOCK_METRICS,
    },
    Family {
        name: "granularity",
        about: "one lock held around the whole loop versus taken for each increment",
        members: &["coarse_granularity", "fine_granularity"],
        args: &[],
        metrics: LOCK_METRICS,
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
        metrics: LOCK_METRICS,
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
        metrics: JITTER_METRICS,
    },
];

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
}
