//! context_switch: a CPU-bound and an I/O-bound process, watched through /proc; then two
//! processes passing a byte back and forth through pipes, which is what a context switch costs.
//!
//! What the lecture wants you to see: the kernel counts two kinds of context switch for every
//! task. An I/O-bound task switches *voluntarily*: it blocks (a full pipe, a sleep) and gives
//! the CPU away thousands of times. A CPU-bound task never blocks, so it almost never switches
//! voluntarily; it is switched out *nonvoluntarily*, preempted when its slice is up and another
//! task wants the CPU. The ping-pong then times a switch: each round trip is two of them.

use std::io::{PipeReader, PipeWriter, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::scheduling::context_switch::{self as lab, Programs};
use oslab::kit::cli::{self, CommonArgs, TrialArgs, Unit, duration, ranged};
use oslab::kit::{self, interrupt, timing::nanos};
use oslab::process::exit_child;

/// A CPU-bound and an I/O-bound process and their context switches from /proc/PID/status; then
/// the cost of a switch, from two processes ping-ponging a byte through two pipes.
///
/// The lecture's context-switch demo (cpu_bound.c and io_bound.c, read with
/// `cat /proc/PID/status` from a second terminal): the I/O-bound one switches voluntarily, the
/// CPU-bound one is preempted. A busy competitor shares their CPU so that preemption happens on
/// an idle machine too. The ping-pong is perf bench sched pipe's, pinned to one CPU and to two;
/// --threads adds it between two threads of one process (the slide's "faster context switches
/// between threads of the same process because their TLB is not flushed").
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: context_switch --seconds 2 --pingpong 20000"
)]
struct Args {
    /// How long each worker runs before its counters are read (3, 500ms); 0 skips them [0-1h]
    #[arg(long, default_value = "3", value_name = "SECONDS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(3600), Unit::S))]
    seconds: Duration,

    /// Round trips of the pipe ping-pong, as perf bench sched pipe -l; 0 skips it [0-10000000]
    #[arg(long, default_value_t = 100_000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 10_000_000))]
    pingpong: u64,

    /// io_bound's sleep between rounds of writes: the lecture's sleep(3), shortened [0-10s]
    #[arg(long, default_value = "10ms", value_name = "SECONDS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(10), Unit::S))]
    io_pause: Duration,

    /// Run the workers without the busy competitor on their CPU (then seldom preempted)
    #[arg(long)]
    alone: bool,

    /// Also ping-pong between two threads of this process on one CPU, beside the processes
    #[arg(long)]
    threads: bool,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// cpu_bound.c: computes forever (10^14 iterations); it prints nothing and never blocks.
fn cpu_bound() {
    let mut val: usize = 0x1234_5678;
    for i in 0..10_000_000usize {
        val ^= i;
        for j in 0..10_000_000usize {
            val = std::hint::black_box(val ^ j);
        }
    }
}

/// io_bound.c: rounds of 100 × fwrite(buff, 1, BUFSIZ, stdout), then sleep. Its "stdout" is a
/// pipe that the parent drains like a slow terminal, so a full pipe blocks the writer. The
/// lecture's 100 rounds of sleep(3) last five minutes; these rounds go on until the parent has
/// read the counters and kills it.
fn io_bound(mut stdout: PipeWriter, pause: Duration) {
    let mut buff = [0u8; 8192]; // static char buff[BUFSIZ] = {'a'};
    buff[0] = b'a';
    loop {
        for _ in 0..100 {
            if stdout.write_all(&buff).is_err() {
                exit_child(1);
            }
        }
        std::thread::sleep(pause); // sleep(3)
    }
}

/// perf bench sched pipe, the child (or with --threads the second thread): `read(pipe1);
/// write(pipe2)`, blocking until the byte comes and sending it back, `n` times.
fn echo(n: u64, from_parent: &mut PipeReader, to_parent: &mut PipeWriter) -> std::io::Result<()> {
    let mut byte = [0u8; 1];
    for _ in 0..n {
        from_parent.read_exact(&mut byte)?;
        to_parent.write_all(&byte)?;
    }
    Ok(())
}

/// perf bench sched pipe, the parent: `write(pipe1); read(pipe2)`, sending the byte and
/// blocking until it comes back, `n` times (fewer after Ctrl-C). Returns the round trips made.
fn ping(n: u64, to_child: &mut PipeWriter, from_child: &mut PipeReader) -> std::io::Result<u64> {
    let mut byte = [b'!'];
    let mut done = 0;
    while done < n {
        to_child.write_all(&byte)?;
        from_child.read_exact(&mut byte)?;
        done += 1;
        if done % 4096 == 0 && interrupt::requested().is_some() {
            break;
        }
    }
    Ok(done)
}

const PROGRAMS: Programs = Programs {
    cpu_bound,
    io_bound,
    competitor: cpu_bound, // a second CPU-bound process on the workers' CPU, to preempt for
    echo,
    ping,
};

fn params(a: &Args) -> lab::Params {
    lab::Params {
        seconds: a.seconds.as_secs_f64(),
        pingpong: a.pingpong,
        io_pause_ns: nanos(a.io_pause),
        alone: a.alone,
        threads: a.threads,
        trials: a.trials.trials,
        warmup: a.trials.warmup,
    }
}

fn main() -> ExitCode {
    let (args, mut cmd) = cli::parse::<Args>("context_switch", |c| c);
    if args.seconds.is_zero() && args.pingpong == 0 {
        let nothing = "--seconds 0 and --pingpong 0 leave nothing to run";
        cli::usage_error(&mut cmd, nothing);
    }
    let p = params(&args);
    kit::run("context_switch", &args.common, p.clone(), |s| {
        lab::run(s, &p, &PROGRAMS)
    })
}
