//! signals: a printer that maps signals to letters, and a sender that spells a word with them.
//!
//! What the lecture wants you to see: a signal is a bit, not a message. Standard signals sent
//! faster than the receiver handles them coalesce (a second SIGABRT while one is pending is
//! lost) and come out in the kernel's order, not the sender's. Real-time signals queue, one per
//! send, so none is lost; and SIGKILL and SIGSTOP cannot be caught at all.
//!
//! The lecture's signal_printer.c: one handler (sa_mask full) for eight signals, each a letter:
//!     SIGHUP g, SIGILL e, SIGTRAP r, SIGABRT o, SIGBUS n, SIGFPE i, SIGUSR1 m, SIGUSR2 '\n'
//! and signal_sender.c sends HUP ILL TRAP ABRT BUS FPE USR1 ABRT USR2: "geronimo\n".
//! `signals defaults` is the first seed's table (1 HUP ... 15 TERM) and `kill -<number> <pid>`:
//! what each signal's default action does to a child that does nothing, and whether a handler
//! catches it.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nix::unistd::Pid;
use oslab::demos::observation::signal_defaults as defaults;
use oslab::demos::observation::signals::{self as lab, Letters, PrinterSide, Sending, Setup};
use oslab::kit::cli::{CommonArgs, Unit, duration, whole};
use oslab::kit::{self, Session, interrupt};
use oslab::sys::signal as sig;

/// Spell words with signals: a printer maps eight signals to letters, a sender sends them.
///
/// The lecture's signal_printer.c / signal_sender.c (and rt_signal_*.c): standard signals sent
/// back to back coalesce and letters go missing; with a gap they all arrive; real-time signals
/// queue. `signals demo` runs it all in one go; `signals print` and `signals send PID WORD` are
/// the lecture's two programs for two terminals; `signals defaults` is the seed's signal table
/// (`kill -<number> <pid>`): each signal's default action, and whether a handler catches it.
/// With no subcommand: demo.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: signals demo\n\nThe lecture's two terminals:\n  signals print            # in one terminal: prints its PID\n  signals send PID geronimo --gap 100   # in another"
)]
struct Args {
    /// With none: demo
    #[command(subcommand)]
    mode: Option<Mode>,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Both programs in one run: back to back, with a gap, real-time, and the uncatchable ones
    Demo {
        /// Time between signals in the run with a gap (20, 5ms; a bare number is ms) [1ms-1s]
        #[arg(long, default_value = "20", value_name = "MS",
              value_parser = duration(Duration::from_millis(1), Duration::from_secs(1), Unit::Ms))]
        gap: Duration,
    },
    /// The printer: print a letter for each signal that arrives, until Ctrl-C or SIGTERM
    Print(Letters),
    /// The sender: spell WORD (and a newline) to process PID with signals
    Send(lab::SendArgs),
    /// The seed's table: each signal's default action on a child (waitpid), then with a handler
    Defaults(defaults::DefaultsArgs),
}

/// signal_printer.c: one handler for the eight signals, a letter for each, sigsuspend between.
fn print(s: &Session, letters: Letters) -> oslab::Result<lab::Printed> {
    let signals = letters.signals();
    sig::record_signals(&signals)?; // sigaction(SIGHUP, &sa, NULL) ... with sigfillset(&sa.sa_mask)
    // Blocked except inside sigsuspend, so none can slip in between printing and sleeping.
    sig::block_signals(&signals, true)?; // sigprocmask(SIG_BLOCK, &set, NULL)
    let mut printed = lab::Printed::start(letters);
    loop {
        let (arrived, _) = sig::recorded_signals(); // the handler's putchar(letter)
        printed.add(s.out, &arrived);
        if s.stopped().is_some() {
            return Ok(printed.finish(s.out));
        }
        sig::suspend_until_signal(); // sigsuspend(&empty): sleep until a handler has run
    }
}

/// signal_sender.c: `kill(pid, SIGHUP); kill(pid, SIGILL); ...`, one signal per letter, back to
/// back or `gap` apart; or every letter as the value of one real-time signal, as
/// `sigqueue(pid, SIGRTMIN, (union sigval){ .sival_int = letter })`. Returns how many it sent
/// (fewer if Ctrl-C came during a gap).
fn spell(pid: Pid, text: &str, how: &Setup) -> oslab::Result<usize> {
    for (i, letter) in text.chars().enumerate() {
        if i > 0 && !how.gap.is_zero() && interrupt::sleep(how.gap).is_some() {
            return Ok(i); // usleep(gap), cut short by Ctrl-C
        }
        match how.sending {
            Sending::Kill => sig::send_signal(pid, how.letters.signal_of(letter))?,
            Sending::Queue => sig::sigqueue(pid, how.letters.signals()[0], letter as i32)?,
        }
    }
    Ok(text.chars().count())
}

/// `signals send PID WORD`: WORD and a newline, one kill() per letter.
fn send(a: &lab::SendArgs) -> anyhow::Result<lab::Sent> {
    lab::send(
        a.pid,
        &a.word,
        &Setup::sender(a.letters, whole(a.gap, Unit::Ms)),
        spell,
    )
}

/// `signals defaults`: each signal of the seed's table sent with `kill -N PID` to a child that
/// does nothing (the lab bench forks it and reads waitpid's status), then to one with a handler.
fn defaults(s: &Session, d: &defaults::DefaultsArgs) -> oslab::Result<defaults::DefaultsResults> {
    defaults::defaults(s, d.core_limit, sig::send_signal) // kill(pid, N): kill -N PID
}

/// `signals demo`: the printer, the sender, and sigaction(SIGKILL, ...), which is refused.
fn demo(s: &Session, gap: Duration) -> oslab::Result<lab::DemoResults> {
    let gap = whole(gap, Unit::Ms);
    lab::demo(s, gap, lab::Lecture::new(printer, spell, sig::try_catch))
}

/// The demo's printer (a forked child): signal_printer.c's handler, and while `busy` the
/// signals blocked as they are sent, so they are all pending when it unblocks them.
fn printer(setup: &Setup, side: &mut PrinterSide) -> oslab::Result<()> {
    let signals = setup.letters.signals();
    sig::record_signals(&signals)?; // sigaction(...) for each, sa_mask full
    if setup.busy {
        sig::block_signals(&signals, true)?; // busy elsewhere: they stay pending
    }
    side.ready()?;
    side.wait_for_sender()?;
    if setup.busy {
        sig::block_signals(&signals, false)?; // every pending one is delivered now
    }
    side.settle(); // with a gap, the last one may still be on its way
    side.report(sig::recorded_signals().0)
}

/// `signals demo`'s default gap.
const GAP: Duration = Duration::from_millis(20);

fn main() -> ExitCode {
    let args: Args = kit::parse("signals");
    let c = &args.common;
    match args.mode.as_ref().unwrap_or(&Mode::Demo { gap: GAP }) {
        Mode::Demo { gap } => kit::run("signals", c, lab::DemoParams::of(*gap), |s| demo(s, *gap)),
        Mode::Print(l) => kit::run("signals", c, lab::PrintParams::of(*l), |s| print(s, *l)),
        Mode::Send(a) => kit::run("signals", c, a.params(), |_| send(a)),
        Mode::Defaults(d) => kit::run("signals", c, d.params(), |s| defaults(s, d)),
    }
}
