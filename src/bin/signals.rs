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

use std::fs::File;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Parser, Subcommand};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oslab::kit::cli::{self, CommonArgs, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Report, SCHEMA_VERSION};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::{self, Forked};
use oslab::sys;
use serde::Serialize;

/// Spell words with signals: a printer maps eight signals to letters, a sender sends them.
///
/// The lecture's signal_printer.c / signal_sender.c (and rt_signal_*.c): standard signals sent
/// back to back coalesce and letters go missing; with a gap they all arrive; real-time signals
/// queue. `signals demo` runs it all in one go; `signals print` and `signals send PID WORD` are
/// the lecture's two programs for two terminals.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Examples:\n  signals demo\n  signals print            # in one terminal: prints its PID\n  signals send PID geronimo --gap 100   # in another"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Both programs in one run: back to back, with a gap, real-time, and the uncatchable ones
    Demo {
        /// Time between signals in the run with a gap, in ms [1-1000]
        #[arg(long, default_value_t = 20, value_parser = ranged::<u64>(1, 1000))]
        gap: u64,
    },
    /// The printer: print a letter for each signal that arrives, until Ctrl-C or SIGTERM
    Print(Letters),
    /// The sender: spell WORD (and a newline) to process PID with signals
    Send {
        /// The printer's PID
        #[arg(value_parser = ranged::<i32>(1, i32::MAX))]
        pid: i32,
        /// Letters from g e r o n i m (a newline is sent after them)
        word: String,
        /// Time between signals, in ms (0: back to back, as signal_sender.c) [0-10000]
        #[arg(long, default_value_t = 0, value_parser = ranged::<u64>(0, 10_000))]
        gap: u64,
        #[command(flatten)]
        letters: Letters,
    },
}

#[derive(ClapArgs, Debug, Clone, Copy)]
struct Letters {
    /// Real-time signals: SIGRTMIN+0..7 for g e r o n i m '\n', as rt_signal_printer.c
    #[arg(long)]
    rt: bool,
}

/// The printer's alphabet, in the lecture's order.
const ALPHABET: [char; 8] = ['g', 'e', 'r', 'o', 'n', 'i', 'm', '\n'];

/// The standard signal for each letter of [`ALPHABET`].
const STANDARD: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

impl Letters {
    /// The signal number for each letter of the alphabet.
    fn signals(self) -> [i32; 8] {
        std::array::from_fn(|i| {
            if self.rt {
                sys::signal::sigrtmin() + i as i32
            } else {
                STANDARD[i] as i32
            }
        })
    }

    /// The letter a signal stands for.
    fn letter(self, signal: i32) -> Option<char> {
        self.signals()
            .iter()
            .position(|&s| s == signal)
            .map(|i| ALPHABET[i])
    }
}

fn main() -> ExitCode {
    let (args, mut command) = cli::parse::<Args>("signals", |c| c);
    if let Mode::Send { word, .. } = &args.mode
        && let Some(bad) = word.chars().find(|c| !ALPHABET.contains(c))
    {
        cli::usage_error(
            &mut command,
            format!("cannot spell '{bad}': the printer only knows the letters g e r o n i m"),
        );
    }
    cli::finish(run(args))
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    match args.mode {
        Mode::Print(letters) => print(letters, &args.common),
        Mode::Send {
            pid,
            word,
            gap,
            letters,
        } => send(Pid::from_raw(pid), &word, gap, letters, &args.common),
        Mode::Demo { gap } => demo(gap, &args.common),
    }
}

// ---------------------------------------------------------------------------------------------
// The lecture's two programs

/// signal_printer.c: handle the eight signals, print a letter for each, sleep in sigsuspend.
fn print(letters: Letters, common: &CommonArgs) -> Result<ExitCode> {
    let signals = letters.signals();
    sys::signal::record_signals(&signals)?;
    // Blocked except inside sigsuspend, so none can slip in between printing and sleeping.
    sys::signal::block_signals(&signals, true)?;
    eprintln!(
        "signals print: PID {}; in another terminal: signals send {} geronimo{}",
        std::process::id(),
        std::process::id(),
        if letters.rt { " --rt" } else { "" }
    );
    let mut arrived = String::new();
    let stopped = loop {
        let (got, _) = sys::signal::recorded_signals();
        let text: String = got.iter().filter_map(|&(s, _)| letters.letter(s)).collect();
        if common.output().is_text() {
            // The lecture's unbuffered stdout: each letter as it comes.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
        arrived.push_str(&text);
        if let Some(signal) = interrupt::requested() {
            break signal;
        }
        sys::signal::suspend_until_signal();
    };
    eprintln!(
        "signals print: {} letters arrived; stopped by {stopped}",
        arrived.chars().count()
    );
    let out = common.output();
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "signals",
        schema_version: SCHEMA_VERSION,
        params: serde_json::json!({"mode": "print", "rt": letters.rt}),
        headline: format!(
            "{} letters arrived: {}",
            arrived.chars().count(),
            visible(&arrived)
        ),
        results: serde_json::json!({"arrived": arrived}),
        lesson: LESSON.into(),
        partial: false,
        counters: Default::default(),
        system: Machine::collect(),
    };
    out.finish(&report, &[serde_json::json!({"arrived": arrived})])?;
    Ok(ExitCode::from(interrupt::exit_code(stopped)))
}

/// signal_sender.c: one signal per letter, back to back (or `gap` ms apart).
fn send(pid: Pid, word: &str, gap: u64, letters: Letters, common: &CommonArgs) -> Result<ExitCode> {
    let text = format!("{word}\n");
    for (i, c) in text.chars().enumerate() {
        if i > 0 && gap > 0 {
            std::thread::sleep(Duration::from_millis(gap));
        }
        let signal = letters.signals()[ALPHABET.iter().position(|&a| a == c).unwrap_or(7)];
        sys::signal::send_signal(pid, signal)
            .with_context(|| format!("cannot signal PID {pid}"))?;
    }
    let out = common.output();
    out.analysis(format_args!(
        "sent {} to PID {pid}: {} signals{}",
        visible(&text),
        text.chars().count(),
        if gap > 0 {
            format!(", {gap} ms apart")
        } else {
            ", back to back".into()
        }
    ));
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "signals",
        schema_version: SCHEMA_VERSION,
        params: serde_json::json!({"mode": "send", "pid": pid.as_raw(), "gap_ms": gap, "rt": letters.rt}),
        headline: format!("sent {}", visible(&text)),
        results: serde_json::json!({"sent": text}),
        lesson: LESSON.into(),
        partial: false,
        counters: Default::default(),
        system: Machine::collect(),
    };
    out.finish(&report, &[serde_json::json!({"sent": text})])?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// The demo: both programs, four ways, and the signals nobody can catch

/// How the sender sends in one run.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum Sending {
    /// One signal per letter with kill().
    Kill,
    /// One real-time signal for every letter, the letter carried as sigqueue's value.
    Queue,
}

/// One run of the printer and the sender.
#[derive(Clone, Copy, Debug)]
struct Setup {
    name: &'static str,
    letters: Letters,
    sending: Sending,
    /// The printer has the signals blocked while the sender sends (it is busy elsewhere), so
    /// they are all pending at once when it unblocks them.
    busy: bool,
    gap_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
struct RunResult {
    run: &'static str,
    // `sent` and `arrived` show the newline as the two characters `\n`, so that a CSV cell
    // stays on one line.
    signals: &'static str,
    sending: Sending,
    busy: bool,
    gap_ms: u64,
    sent: String,
    arrived: String,
    sent_count: usize,
    arrived_count: usize,
    lost: usize,
    in_order: bool,
}

#[derive(Clone, Debug, Serialize)]
struct Uncatchable {
    signal: &'static str,
    sigaction: String,
}

#[derive(Serialize)]
struct Results {
    runs: Vec<RunResult>,
    uncatchable: Vec<Uncatchable>,
    /// How waitpid reported a child sent SIGKILL.
    killed_child: String,
}

const WORD: &str = "geronimo\n";
const LESSON: &str = "a pending standard signal is one bit: repeats while it is pending are lost and the kernel picks the order; real-time signals queue, one per send";

fn demo(gap: u64, common: &CommonArgs) -> Result<ExitCode> {
    let out = common.output();
    let before = Snapshot::of_self()?;
    let standard = Letters { rt: false };
    let realtime = Letters { rt: true };
    let setups = [
        Setup {
            name: "standard signals, back to back, to a busy printer",
            letters: standard,
            sending: Sending::Kill,
            busy: true,
            gap_ms: 0,
        },
        Setup {
            name: "standard signals, with a gap",
            letters: standard,
            sending: Sending::Kill,
            busy: false,
            gap_ms: gap,
        },
        Setup {
            name: "real-time signals SIGRTMIN+n, back to back, to a busy printer",
            letters: realtime,
            sending: Sending::Kill,
            busy: true,
            gap_ms: 0,
        },
        Setup {
            name: "one real-time signal, each letter its sigqueue value, back to back, busy printer",
            letters: realtime,
            sending: Sending::Queue,
            busy: true,
            gap_ms: 0,
        },
    ];
    let mut runs = Vec::new();
    for setup in setups {
        let run = one_run(setup)?;
        out.lecture(format_args!("{}:", setup.name));
        out.lecture(format_args!("  sent:    {}", spaced(&run.sent)));
        out.lecture(format_args!("  arrived: {}", spaced(&run.arrived)));
        out.analysis(format_args!("  -> {}", explain(&setup, &run)));
        runs.push(run);
        if interrupt::requested().is_some() {
            break;
        }
    }

    // SIGKILL and SIGSTOP: the kernel refuses a handler, and a killed child just ends.
    let uncatchable: Vec<Uncatchable> = [Signal::SIGKILL, Signal::SIGSTOP]
        .into_iter()
        .map(|signal| Uncatchable {
            signal: signal.as_str(),
            sigaction: match sys::signal::try_catch(signal as i32) {
                Ok(()) => "accepted (unexpected)".into(),
                Err(e) => format!("refused: {}", cli::Chain(e)),
            },
        })
        .collect();
    let killed_child = kill_a_child()?;
    out.lecture("SIGKILL and SIGSTOP:");
    for u in &uncatchable {
        out.lecture(format_args!("  sigaction({}) {}", u.signal, u.sigaction));
    }
    out.lecture(format_args!(
        "  a child sent SIGKILL: waitpid reports it {killed_child}"
    ));
    out.analysis(
        "  -> no handler, no mask, no ignoring: the kernel ends (or stops) the process itself",
    );

    let first = &runs[0];
    out.analysis(format_args!("lesson: {LESSON}"));
    out.analysis(
        "compare: kill -l (the numbers); in a shell: trap 'echo o' ABRT; grep Sig /proc/$$/status (pending, blocked, caught masks)",
    );
    let counters = before.delta(&Snapshot::of_self()?);
    let partial = interrupt::requested().is_some();
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "signals",
        schema_version: SCHEMA_VERSION,
        params: serde_json::json!({"mode": "demo", "gap": gap}),
        headline: format!(
            "back to back {} of {} letters arrived; real-time {} of {}; SIGKILL {}",
            first.arrived_count,
            first.sent_count,
            runs.get(2).map_or(0, |r| r.arrived_count),
            runs.get(2).map_or(0, |r| r.sent_count),
            uncatchable[0].sigaction
        ),
        lesson: LESSON.into(),
        partial,
        counters,
        system: Machine::collect(),
        results: Results {
            runs: runs.clone(),
            uncatchable,
            killed_child,
        },
    };
    out.finish(&report, &runs)?;
    Ok(match interrupt::requested() {
        Some(signal) => ExitCode::from(interrupt::exit_code(signal)),
        None => ExitCode::SUCCESS,
    })
}

/// One printer (a forked child) and one sender (us), talking through three pipes: the printer
/// says it is ready, we send the signals and then say "sent", the printer unblocks them (if
/// busy), collects what arrives and writes it back.
fn one_run(setup: Setup) -> Result<RunResult> {
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (result_r, result_w) = pipe()?;
    let signals = setup.letters.signals();
    let printer = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => {
            drop((ready_r, go_w, result_r));
            let code = match printer(setup, &signals, ready_w, go_r, result_w) {
                Ok(()) => 0,
                Err(_) => 1,
            };
            process::exit_child(code)
        }
        Forked::Parent(child) => child,
    };
    drop((ready_w, go_r, result_w));
    let mut ready_r = ready_r;
    let mut byte = [0u8];
    ready_r
        .read_exact(&mut byte)
        .context("the printer did not start")?;

    let pid = printer.pid();
    for (i, c) in WORD.chars().enumerate() {
        if i > 0 && setup.gap_ms > 0 {
            std::thread::sleep(Duration::from_millis(setup.gap_ms));
        }
        let index = ALPHABET.iter().position(|&a| a == c).unwrap_or(7);
        match setup.sending {
            Sending::Kill => sys::signal::send_signal(pid, signals[index])?,
            Sending::Queue => sys::signal::sigqueue(pid, signals[0], c as i32)?,
        }
    }
    let mut go_w = go_w;
    go_w.write_all(b"s").context("the printer went away")?;
    drop(go_w);
    let mut report = String::new();
    let mut result_r = result_r;
    result_r
        .read_to_string(&mut report)
        .context("no result from the printer")?;
    let exit = printer.wait()?;
    if !exit.success() {
        bail!("the printer {exit}");
    }
    let arrived: String = report
        .lines()
        .filter_map(|line| {
            let (signal, value) = line.split_once(' ')?;
            let (signal, value): (i32, i32) = (signal.parse().ok()?, value.parse().ok()?);
            match setup.sending {
                Sending::Kill => setup.letters.letter(signal),
                Sending::Queue => char::from_u32(value as u32),
            }
        })
        .collect();
    let (sent_count, arrived_count) = (WORD.chars().count(), arrived.chars().count());
    Ok(RunResult {
        run: setup.name,
        signals: if setup.letters.rt {
            "real-time"
        } else {
            "standard"
        },
        sending: setup.sending,
        busy: setup.busy,
        gap_ms: setup.gap_ms,
        sent: visible(WORD),
        in_order: arrived == WORD,
        lost: sent_count.saturating_sub(arrived_count),
        sent_count,
        arrived_count,
        arrived: visible(&arrived),
    })
}

/// The printer's side of a run (in the forked child).
fn printer(
    setup: Setup,
    signals: &[i32],
    mut ready: File,
    mut go: File,
    mut result: File,
) -> Result<()> {
    sys::signal::record_signals(signals)?;
    if setup.busy {
        sys::signal::block_signals(signals, true)?;
    }
    ready.write_all(b"r")?;
    let mut byte = [0u8];
    go.read_exact(&mut byte)?; // the sender has sent everything
    if setup.busy {
        // Every pending signal is delivered now, before this returns, one handler at a time.
        sys::signal::block_signals(signals, false)?;
    }
    // With a gap, the last signal may still be on its way: wait until nothing new arrives.
    let mut last = (sys::signal::recorded_count(), Instant::now());
    while last.1.elapsed() < Duration::from_millis(50) {
        std::thread::sleep(Duration::from_millis(5));
        let now = sys::signal::recorded_count();
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let (got, _) = sys::signal::recorded_signals();
    for (signal, value) in got {
        writeln!(result, "{signal} {value}")?;
    }
    Ok(())
}

/// Forks a child that waits forever, sends it SIGKILL, and says how waitpid saw it end.
fn kill_a_child() -> Result<String> {
    let child = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => loop {
            sys::signal::suspend_until_signal();
        },
        Forked::Parent(child) => child,
    };
    nix::sys::signal::kill(child.pid(), Signal::SIGKILL).context("kill")?;
    Ok(child.wait()?.to_string())
}

fn pipe() -> Result<(File, File)> {
    let (r, w) = nix::unistd::pipe().context("pipe")?;
    Ok((File::from(r), File::from(w)))
}

/// What a run shows, in one line.
fn explain(setup: &Setup, run: &RunResult) -> String {
    let counts = format!("{} of {} arrived", run.arrived_count, run.sent_count);
    match (setup.letters.rt, setup.sending, setup.busy) {
        (false, _, true) => format!(
            "{counts}: the second SIGABRT came while the first was still pending, and a pending standard signal is one bit; the kernel then delivered them in its own order (synchronous-type signals ILL, TRAP, BUS, FPE first, then by number)"
        ),
        (false, _, false) => format!(
            "{counts}{}: each signal was handled before the next was sent",
            if run.in_order {
                ", in order"
            } else {
                ", but not in order"
            }
        ),
        (true, Sending::Kill, _) => format!(
            "{counts}: every real-time signal queues, the repeated one too; pending ones are delivered lowest number first, so the order is the alphabet's, not the word's"
        ),
        (true, Sending::Queue, _) => format!(
            "{counts}{}: instances of one real-time signal queue in the order they were sent, each with its value",
            if run.in_order { ", in order" } else { "" }
        ),
    }
}

/// Letters with the newline shown as `\n`.
fn visible(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// `g e r o \n` from the visible form `gero\n`: one letter per signal, so that lost and
/// reordered ones stand out.
fn spaced(visible: &str) -> String {
    let letters: Vec<String> = visible
        .replace("\\n", "\n")
        .chars()
        .map(|c| {
            if c == '\n' {
                "\\n".into()
            } else {
                c.to_string()
            }
        })
        .collect();
    letters.join(" ")
}
