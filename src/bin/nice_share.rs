//! nice_share: two CPU-bound processes on one CPU, one at nice 0 and one at nice 5; how the
//! CPU is split, against what the kernel's weight table predicts. With --policy, real-time ones
//! too.
//!
//! What the lecture wants you to see: nice is not a priority in the sense of "runs first". The
//! fair scheduler (CFS, and EEVDF since Linux 6.6, which kept CFS's weights) gives every
//! runnable task a share of the CPU in proportion to its weight, and nice picks the weight from
//! a table (each step about 1.25×): nice 0 is 1024, nice 5 is 335, so the pair splits
//! 1024 : 335 = 75.3% : 24.7%, and the nice 5 process still runs a quarter of the time.
//! Real-time policies are different in kind: SCHED_FIFO runs until it blocks, so a FIFO task
//! starves a normal one (but for RT throttling's 5%) and even an equal-priority FIFO task;
//! SCHED_RR takes turns among equals in time slices.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nix::errno::Errno;
use oslab::demos::scheduling::nice_share::{self as lab, RtPolicy, Setting, Spinner};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::{self, timing::monotonic_ns};
use oslab::sys::sched::{set_nice, set_scheduler};

/// Two CPU-bound processes pinned to one CPU, at nice 0 and nice N: the CPU time each gets,
/// against the share CFS's weight table predicts (nice 0 vs 5: 75.3% / 24.7%).
///
/// The lecture's scheduling slides (nice, `renice`, `ps -o pid,ni,comm`, CFS's weights), made
/// measurable. --policy fifo or rr adds real-time pairs: FIFO against a normal task (RT
/// throttling), FIFO against FIFO at equal priority (starvation), RR against RR (time slices).
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: nice_share --nice 5 --seconds 2")]
struct Args {
    /// The second process's nice value; the first stays at 0 (below 0 needs CAP_SYS_NICE)
    /// [-20-19]
    #[arg(long, default_value_t = 5, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<i32>(-20, 19))]
    nice: i32,

    /// How long each pair shares the CPU, e.g. 5 or 2.5 or 500ms (a bare number is seconds)
    /// [100ms-1h]
    #[arg(long, default_value = "5", value_name = "SECONDS",
          value_parser = duration(Duration::from_millis(100), Duration::from_secs(3600), Unit::S))]
    seconds: Duration,

    /// Also run real-time pairs under this policy (needs CAP_SYS_NICE): fifo (against a normal
    /// task, and against an equal FIFO task) or rr (against a normal task, and round robin)
    #[arg(long, value_enum, value_name = "POLICY")]
    policy: Option<RtPolicy>,

    /// The real-time priority of those pairs [1-99]
    #[arg(long, default_value_t = 10, value_name = "PRIO", allow_negative_numbers = true,
          value_parser = ranged::<i32>(1, 99))]
    rt_priority: i32,

    #[command(flatten)]
    common: CommonArgs,
}

/// What each spinner does first, in its own process: `nice(N)` (setpriority, what `nice -n N`
/// and `renice` do), or for a real-time pair `sched_setscheduler(0, SCHED_FIFO, {prio})`.
fn take_setting(s: Setting) -> Result<(), Errno> {
    if s.policy.is_realtime() {
        set_scheduler(s.policy.raw(), s.priority)
    } else {
        set_nice(s.nice)
    }
}

/// Then it computes, as cpu_bound.c does, never blocking, until the deadline both share.
fn compute_until(deadline_ns: u64) {
    let mut x = 0u64;
    while monotonic_ns() < deadline_ns {
        for i in 0..1000u64 {
            x = std::hint::black_box(x ^ i); // val ^= j, as cpu_bound.c
        }
    }
}

const SPINNER: Spinner = Spinner {
    take_setting,
    compute_until,
};

fn params(a: &Args) -> lab::Params {
    lab::Params {
        nice: a.nice,
        seconds: a.seconds.as_secs_f64(),
        policy: a.policy,
        rt_priority: a.rt_priority,
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("nice_share");
    let p = params(&args);
    kit::run("nice_share", &args.common, p.clone(), |s| {
        lab::run(s, &p, &SPINNER)
    })
}
