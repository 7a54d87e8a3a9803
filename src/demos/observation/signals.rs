//! `signals`'s lab bench: the printer's alphabet, the four runs of `signals demo` (a printer
//! forked for each, reporting what arrived through the typed channel), the analysis and the
//! verdict of each mode (`demo`, `print`, `send`).
//!
//! The lecture's programs themselves, the printer (sigaction, sigprocmask, sigsuspend) and the
//! sender (kill, sigqueue), are in `src/bin/signals.rs`.

use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::kit::report::{Output, print_raw_table};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::process::channel::{Next, Sender, channel};
use crate::process::gate::ForkGate;
use crate::process::{self, Forked, SingleThreaded};
use crate::sys;
use crate::{Error, Result};

/// The printer's alphabet, in the lecture's order.
pub const ALPHABET: [char; 8] = ['g', 'e', 'r', 'o', 'n', 'i', 'm', '\n'];

/// The standard signal for each letter of [`ALPHABET`] (signal_printer.c).
pub const STANDARD: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// The word signal_sender.c spells.
pub const WORD: &str = "geronimo\n";

/// What the lecture claims of signals, as every mode's verdict states it.
const CLAIM: &str = "standard signals sent back to back coalesce, real-time signals queue, and SIGKILL cannot be caught";

/// The standard tools for the same thing.
const COMPARE: &str = "kill -l (the numbers); in a shell: trap 'echo o' ABRT; grep Sig /proc/$$/status (pending, blocked, caught masks)";

/// Which signals stand for the letters: `--rt`.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Letters {
    /// Real-time signals: SIGRTMIN+0..7 for g e r o n i m '\n', as rt_signal_printer.c
    #[arg(long)]
    pub rt: bool,
}

impl Letters {
    /// The signal number for each letter of the alphabet.
    pub fn signals(self) -> [i32; 8] {
        std::array::from_fn(|i| {
            if self.rt {
                sys::signal::sigrtmin() + i as i32
            } else {
                STANDARD[i] as i32
            }
        })
    }

    /// The signal that stands for `letter` (the newline's for a letter outside the alphabet).
    pub fn signal_of(self, letter: char) -> i32 {
        self.signals()[ALPHABET.iter().position(|&a| a == letter).unwrap_or(7)]
    }

    /// The letter a signal stands for.
    pub fn letter(self, signal: i32) -> Option<char> {
        self.signals()
            .iter()
            .position(|&s| s == signal)
            .map(|i| ALPHABET[i])
    }

    fn kind(self) -> &'static str {
        if self.rt { "real-time" } else { "standard" }
    }
}

/// `WORD`'s value parser: a word the printer can spell, or why not (a usage error).
pub fn spellable(word: &str) -> std::result::Result<String, String> {
    match word.chars().find(|c| !ALPHABET.contains(c)) {
        None => Ok(word.to_string()),
        Some(bad) => Err(format!(
            "cannot spell '{bad}': the printer only knows the letters g e r o n i m"
        )),
    }
}

/// How the sender sends in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sending {
    /// One signal per letter with kill().
    Kill,
    /// One real-time signal for every letter, the letter carried as sigqueue's value.
    Queue,
}

/// Letters with the newline shown as `\n`, so a CSV cell stays on one line.
pub fn visible(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// `g e r o \n`: one letter per signal, so that lost and reordered ones stand out.
fn spaced(text: &str) -> String {
    let letters: Vec<String> = text.chars().map(|c| visible(&c.to_string())).collect();
    letters.join(" ")
}

// ---------------------------------------------------------------------------------------------
// signals print

/// `signals print`'s parameters.
#[derive(Clone, Debug, Serialize)]
pub struct PrintParams {
    pub mode: &'static str,
    pub rt: bool,
}

impl PrintParams {
    pub fn of(letters: Letters) -> PrintParams {
        PrintParams {
            mode: "print",
            rt: letters.rt,
        }
    }
}

/// What the printer printed: every letter that arrived, in arrival order.
#[derive(Clone, Debug, Serialize)]
pub struct Printed {
    #[serde(skip)]
    letters: Letters,
    pub arrived: String,
}

impl Printed {
    /// The printer's PID and what to type in another terminal, on stderr; nothing arrived yet.
    pub fn start(letters: Letters) -> Printed {
        let pid = std::process::id();
        if letters.rt {
            eprintln!(
                "signals print: PID {pid}; in another terminal: signals send {pid} geronimo --rt"
            );
        } else {
            eprintln!(
                "signals print: PID {pid}; in another terminal: kill -1 {pid} (SIGHUP: prints g), or signals send {pid} geronimo"
            );
        }
        Printed {
            letters,
            arrived: String::new(),
        }
    }

    /// Prints the letter of each signal that arrived (the lecture's unbuffered stdout: each as
    /// it comes), and keeps it.
    pub fn add(&mut self, out: Output, signals: &[(i32, i32)]) {
        let text: String = signals
            .iter()
            .filter_map(|&(s, _)| self.letters.letter(s))
            .collect();
        if out.is_text() {
            print_raw_table(&text);
        }
        self.arrived.push_str(&text);
    }

    /// Ends the printer's output with a newline if the last word was cut short, so what the kit
    /// prints next starts on a line of its own.
    pub fn finish(self, out: Output) -> Printed {
        if out.is_text() && !self.arrived.is_empty() && !self.arrived.ends_with('\n') {
            print_raw_table("\n");
        }
        self
    }

    fn count(&self) -> u64 {
        self.arrived.chars().count() as u64
    }
}

impl Findings for Printed {
    type Params = PrintParams;
    type Row = Printed;

    fn headline(&self, _p: &PrintParams) -> String {
        format!(
            "{} arrived: {}",
            words::count(self.count(), "letter"),
            visible(&self.arrived)
        )
    }

    fn analysis(&self, _p: &PrintParams, _cx: &Context<'_>) -> Vec<String> {
        vec![format!(
            "arrived: {} ({}, {} signals)",
            spaced(&self.arrived),
            words::count(self.count(), "letter"),
            self.letters.kind()
        )]
    }

    fn verdict(&self, _p: &PrintParams, _cx: &Context<'_>) -> Verdict {
        Verdict::unchecked(
            CLAIM,
            format!(
                "the printer sees only what arrived ({}), not what was sent: compare with the sender's `sent` line, or run `signals demo`, which checks both sides",
                words::count(self.count(), "letter")
            ),
        )
    }

    fn lesson(&self, _p: &PrintParams, _cx: &Context<'_>) -> String {
        let queue = if self.letters.rt {
            "real-time signals queue, so every letter sent arrives, but pending ones are delivered lowest number first"
        } else {
            "a pending standard signal is one bit, so a letter sent again before its handler ran is lost"
        };
        format!(
            "{} arrived, each the handler of one signal: a signal carries only its number; {queue}",
            words::count(self.count(), "letter")
        )
    }

    fn compare(&self, _p: &PrintParams) -> String {
        COMPARE.into()
    }

    fn rows(&self, _p: &PrintParams) -> Vec<Printed> {
        vec![self.clone()]
    }

    fn progress(&self, _p: &PrintParams) -> Option<String> {
        Some(words::count(self.count(), "letter"))
    }
}

// ---------------------------------------------------------------------------------------------
// signals send

/// `signals send PID WORD`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The printer's PID
    #[arg(value_parser = crate::kit::cli::ranged::<i32>(1, i32::MAX))]
    pub pid: i32,
    /// Letters from g e r o n i m (a newline is sent after them)
    #[arg(value_parser = spellable)]
    pub word: String,
    /// Time between signals (0: back to back, as signal_sender.c; 100, 0.1s; a bare number is
    /// ms) [0-10s]
    #[arg(long, default_value = "0", value_name = "MS",
          value_parser = crate::kit::cli::duration(Duration::ZERO, Duration::from_secs(10), crate::kit::cli::Unit::Ms))]
    pub gap: Duration,
    #[command(flatten)]
    pub letters: Letters,
}

impl SendArgs {
    /// The parameters reported.
    pub fn params(&self) -> SendParams {
        SendParams::of(
            self.pid,
            crate::kit::cli::whole(self.gap, crate::kit::cli::Unit::Ms),
            self.letters,
        )
    }
}

/// `signals send`'s parameters.
#[derive(Clone, Debug, Serialize)]
pub struct SendParams {
    pub mode: &'static str,
    pub pid: i32,
    pub gap_ms: u64,
    pub rt: bool,
}

impl SendParams {
    pub fn of(pid: i32, gap_ms: u64, letters: Letters) -> SendParams {
        SendParams {
            mode: "send",
            pid,
            gap_ms,
            rt: letters.rt,
        }
    }
}

/// What the sender sent: `word` and its newline, or the part before Ctrl-C.
#[derive(Clone, Debug, Serialize)]
pub struct Sent {
    pub sent: String,
    /// Why the signals do not arrive as they would at a printer, when the PID is a zombie, a
    /// kernel thread or an init (see [`target`]).
    pub target: Option<String>,
}

impl Sent {
    /// The first `n` letters of `text` were sent to a PID that [`target`] described.
    pub fn of(text: &str, n: usize, target: Option<String>) -> Sent {
        Sent {
            sent: text.chars().take(n).collect(),
            target,
        }
    }

    fn count(&self) -> u64 {
        self.sent.chars().count() as u64
    }
}

/// What the signals for `text` will find at `pid` when it cannot take them as a printer would,
/// said on stderr before the first one is sent: a zombie has already exited; a kernel thread
/// and an init (PID 1, of this or any PID namespace) get only the signals they have a handler
/// for, and the kernel drops the rest. None for any other process (or one /proc cannot show:
/// kill says why then).
pub fn target(pid: i32, text: &str, letters: Letters) -> Option<String> {
    use procfs::process::{Process, StatFlags};
    let process = Process::new(pid).ok()?;
    let stat = process.stat().ok()?;
    let name = format!("PID {pid} ({})", stat.comm);
    let note = if stat.state == 'Z' || stat.state == 'X' {
        format!(
            "{name} is a zombie: it has already exited and waits only for its parent to reap it, so nothing arrives"
        )
    } else {
        let status = process.status().ok()?;
        let init = pid == 1 || status.nspid.as_ref().and_then(|ns| ns.last()) == Some(&1);
        let kernel = StatFlags::from_bits_truncate(stat.flags).contains(StatFlags::PF_KTHREAD);
        let what = if kernel {
            format!(
                "{name} is a kernel thread: kernel threads ignore every signal they have not asked for"
            )
        } else if init {
            format!(
                "{name} is init (PID 1 of its PID namespace): init gets only the signals it has a handler for, the kernel drops the rest"
            )
        } else {
            return None;
        };
        let mut caught: Vec<String> = Vec::new();
        for n in text.chars().map(|c| letters.signal_of(c)) {
            if (1..=64).contains(&n) && status.sigcgt & (1 << (n - 1)) != 0 {
                let name = name_of(n);
                if !caught.contains(&name) {
                    caught.push(name);
                }
            }
        }
        if caught.is_empty() {
            format!("{what}, so nothing arrives")
        } else {
            format!(
                "{what}: of these it catches only {}, and does with them what it does",
                caught.join(", ")
            )
        }
    };
    crate::kit::report::warn(&note);
    Some(note)
}

/// `signals send PID WORD`: WORD and a newline to `pid`, spelt by the lecture's `spell` (one
/// kill() per letter), after warning about a target that will not take them (see [`target`]).
pub fn send(
    pid: i32,
    word: &str,
    how: &Setup,
    spell: impl Fn(Pid, &str, &Setup) -> Result<usize>,
) -> anyhow::Result<Sent> {
    use anyhow::Context as _;
    let text = format!("{word}\n");
    let target = target(pid, &text, how.letters); // a zombie, a kernel thread, init: warned
    let sent = spell(Pid::from_raw(pid), &text, how)
        .with_context(|| format!("cannot signal PID {pid}"))?;
    Ok(Sent::of(&text, sent, target))
}

/// `SIGHUP`, `SIGRTMIN+3`.
fn name_of(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(
        |_| format!("SIGRTMIN+{}", signal - sys::signal::sigrtmin()),
        |s| s.as_str().to_string(),
    )
}

impl Findings for Sent {
    type Params = SendParams;
    type Row = Sent;

    fn headline(&self, _p: &SendParams) -> String {
        format!("sent {}", visible(&self.sent))
    }

    fn analysis(&self, p: &SendParams, _cx: &Context<'_>) -> Vec<String> {
        vec![format!(
            "sent {} to PID {}: {}{}",
            visible(&self.sent),
            p.pid,
            words::count(self.count(), "signal"),
            if p.gap_ms > 0 {
                format!(", {} ms apart", p.gap_ms)
            } else {
                ", back to back".into()
            }
        )]
    }

    fn verdict(&self, p: &SendParams, _cx: &Context<'_>) -> Verdict {
        if let Some(target) = &self.target {
            return Verdict::unchecked(CLAIM, format!("no printer there: {target}"));
        }
        Verdict::unchecked(
            CLAIM,
            format!(
                "the sender sees only what it sent ({}), not what arrived: PID {} prints that; `signals demo` checks both sides",
                words::count(self.count(), "signal"),
                p.pid
            ),
        )
    }

    fn lesson(&self, p: &SendParams, _cx: &Context<'_>) -> String {
        if let Some(target) = &self.target {
            return format!(
                "{} returned 0, which means only that the kernel accepted each signal for PID {}; yet {target}",
                words::count(self.count(), "kill() call"),
                p.pid
            );
        }
        let queue = if p.rt {
            "a real-time one queues, so each arrives"
        } else {
            "a standard one is a single pending bit, so a letter sent again before the printer handled it is lost"
        };
        format!(
            "{} returned 0: sending only marks the signal pending at PID {}, and {queue}; only the printer sees what arrived",
            words::count(self.count(), "kill() call"),
            p.pid
        )
    }

    fn compare(&self, _p: &SendParams) -> String {
        COMPARE.into()
    }

    fn rows(&self, _p: &SendParams) -> Vec<Sent> {
        vec![self.clone()]
    }

    fn progress(&self, _p: &SendParams) -> Option<String> {
        Some(words::count(self.count(), "signal"))
    }
}

// ---------------------------------------------------------------------------------------------
// signals demo: both programs in one run, four ways, and the signals nobody can catch

/// `signals demo`'s parameters.
#[derive(Clone, Debug, Serialize)]
pub struct DemoParams {
    pub mode: &'static str,
    pub gap: u64,
}

impl DemoParams {
    /// `gap` in whole ms, as reported.
    pub fn of(gap: Duration) -> DemoParams {
        let gap = crate::kit::cli::whole(gap, crate::kit::cli::Unit::Ms);
        DemoParams { mode: "demo", gap }
    }
}

/// One run of the printer and the sender.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The run's name, the lecture line above its `sent:` and `arrived:`.
    pub name: &'static str,
    pub letters: Letters,
    pub sending: Sending,
    /// The printer has the signals blocked while the sender sends (it is busy elsewhere), so
    /// they are all pending at once when it unblocks them.
    pub busy: bool,
    /// Time between two signals.
    pub gap: Duration,
}

impl Setup {
    /// How `signals send` sends: one kill() per letter, `gap_ms` apart.
    pub fn sender(letters: Letters, gap_ms: u64) -> Setup {
        Setup {
            name: "signals send",
            letters,
            sending: Sending::Kill,
            busy: false,
            gap: Duration::from_millis(gap_ms),
        }
    }
}

/// The demo's four runs, in order.
pub fn setups(gap_ms: u64) -> [Setup; 4] {
    let (standard, realtime) = (Letters { rt: false }, Letters { rt: true });
    let setup = |name, letters, sending, busy, gap_ms| Setup {
        name,
        letters,
        sending,
        busy,
        gap: Duration::from_millis(gap_ms),
    };
    [
        setup(
            "standard signals, back to back, to a busy printer",
            standard,
            Sending::Kill,
            true,
            0,
        ),
        setup(
            "standard signals, with a gap",
            standard,
            Sending::Kill,
            false,
            gap_ms,
        ),
        setup(
            "real-time signals SIGRTMIN+n, back to back, to a busy printer",
            realtime,
            Sending::Kill,
            true,
            0,
        ),
        setup(
            "one real-time signal, each letter its sigqueue value, back to back, busy printer",
            realtime,
            Sending::Queue,
            true,
            0,
        ),
    ]
}

/// What the printer child tells its parent.
#[derive(Debug, Serialize, Deserialize)]
enum PrinterReport {
    /// Its handlers are installed (and the signals blocked if it is busy): send.
    Ready,
    /// Every signal that arrived, in arrival order: (signal number, sigqueue value).
    Arrived(Vec<(i32, i32)>),
}

/// The printer child's end of a run: it says when it is ready, waits until the sender has sent
/// everything, waits for stragglers, and reports what arrived. A stop request (Ctrl-C) ends the
/// child at once.
pub struct PrinterSide {
    reports: Sender<PrinterReport>,
    sent: ForkGate,
}

/// How long the printer waits with nothing new arriving before it reports: the last signal of
/// a run with a gap may still be on its way.
const QUIET: Duration = Duration::from_millis(50);

/// How long the parent waits for its printer to start, or to report.
const PRINTER_TIMEOUT: Duration = Duration::from_secs(10);

impl PrinterSide {
    /// Tells the sender to start.
    pub fn ready(&self) -> Result<()> {
        self.reports.send(&PrinterReport::Ready)
    }

    /// Waits until the sender has sent every signal.
    pub fn wait_for_sender(&mut self) -> Result<()> {
        if self.sent.wait()?.is_some() {
            process::exit_child(130);
        }
        Ok(())
    }

    /// Waits until no signal has arrived for [`QUIET`].
    pub fn settle(&self) {
        let mut last = (sys::signal::recorded_count(), std::time::Instant::now());
        while last.1.elapsed() < QUIET {
            if interrupt::sleep(Duration::from_millis(5)).is_some() {
                process::exit_child(130);
            }
            let now = sys::signal::recorded_count();
            if now != last.0 {
                last = (now, std::time::Instant::now());
            }
        }
    }

    /// Reports what arrived.
    pub fn report(&self, arrived: Vec<(i32, i32)>) -> Result<()> {
        self.reports.send(&PrinterReport::Arrived(arrived))
    }
}

/// One run's outcome: one CSV row. `sent` and `arrived` show the newline as the two characters
/// `\n`, so that a CSV cell stays on one line.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub run: &'static str,
    pub signals: &'static str,
    pub sending: Sending,
    pub busy: bool,
    pub gap_ms: u64,
    pub sent: String,
    pub arrived: String,
    pub sent_count: usize,
    pub arrived_count: usize,
    pub lost: usize,
    pub in_order: bool,
}

impl RunResult {
    /// The outcome of a run whose printer reported `arrived`.
    pub fn of(setup: &Setup, arrived: &[(i32, i32)]) -> RunResult {
        let text: String = arrived
            .iter()
            .filter_map(|&(signal, value)| match setup.sending {
                Sending::Kill => setup.letters.letter(signal),
                Sending::Queue => char::from_u32(value as u32),
            })
            .collect();
        let (sent_count, arrived_count) = (WORD.chars().count(), text.chars().count());
        RunResult {
            run: setup.name,
            signals: setup.letters.kind(),
            sending: setup.sending,
            busy: setup.busy,
            gap_ms: setup.gap.as_millis() as u64,
            sent: visible(WORD),
            arrived: visible(&text),
            sent_count,
            arrived_count,
            lost: sent_count.saturating_sub(arrived_count),
            in_order: text == WORD,
        }
    }

    fn real_time(&self) -> bool {
        self.signals == "real-time"
    }

    /// The run in a few words, for the analysis.
    fn label(&self) -> String {
        match (self.real_time(), self.sending, self.busy) {
            (false, _, true) => "standard, back to back".into(),
            (false, _, false) => format!("standard, {} ms apart", self.gap_ms),
            (true, Sending::Kill, _) => "real-time, back to back".into(),
            (true, Sending::Queue, _) => "one real-time signal, sigqueue".into(),
        }
    }

    /// The letters the word repeats, each with its standard signal: `o (SIGABRT)`.
    fn repeats(&self) -> String {
        let word = self.sent.replace("\\n", "\n");
        let mut seen = Vec::new();
        for (i, c) in word.chars().enumerate() {
            if word.chars().skip(i + 1).any(|d| d == c) && !seen.contains(&c) {
                seen.push(c);
            }
        }
        let standard = Letters { rt: false };
        words::list(seen.iter().map(|&c| {
            let name = Signal::try_from(standard.signal_of(c)).map_or("?", |s| s.as_str());
            format!("{} ({name})", visible(&c.to_string()))
        }))
    }

    /// What the run shows, in one line, from its figures.
    fn explain(&self) -> String {
        let counts = format!("{} of {} arrived", self.arrived_count, self.sent_count);
        let order = if self.in_order {
            ", in order"
        } else {
            ", but not in order"
        };
        let full_queue = "the real-time queue was full (RLIMIT_SIGPENDING, ulimit -i)";
        match (self.real_time(), self.sending, self.busy) {
            (false, _, true) if self.lost == 0 => {
                format!("{counts}: none coalesced, so each was handled before its repeat was sent")
            }
            (false, _, true) => format!(
                "{counts}: the word repeats {}, and a standard signal sent while the same one is still pending merges with it (a pending standard signal is one bit){}",
                self.repeats(),
                if self.in_order {
                    ""
                } else {
                    "; the kernel then delivered them in its own order (synchronous-type signals ILL, TRAP, BUS, FPE first, then by number)"
                }
            ),
            (false, _, false) if self.lost == 0 => {
                format!("{counts}{order}: each signal was handled before the next was sent")
            }
            (false, _, false) => format!(
                "{counts}: {} lost even {} ms apart: the printer had not handled a letter when its repeat came (a loaded machine?)",
                self.lost, self.gap_ms
            ),
            (true, Sending::Kill, _) if self.lost == 0 => format!(
                "{counts}: every real-time signal queues, the repeated one too{}",
                if self.in_order {
                    ""
                } else {
                    "; pending ones are delivered lowest number first, so the order is the alphabet's, not the word's"
                }
            ),
            (true, Sending::Queue, _) if self.lost == 0 => format!(
                "{counts}{order}: instances of one real-time signal queue in the order they were sent, each with its value"
            ),
            (true, _, _) => format!("{counts}: {} lost: {full_queue}", self.lost),
        }
    }
}

/// What `sigaction` said when asked to catch SIGKILL or SIGSTOP.
#[derive(Clone, Debug, Serialize)]
pub struct Uncatchable {
    pub signal: &'static str,
    /// `refused with EINVAL`, or `accepted`.
    pub sigaction: String,
    /// The errno it was refused with.
    pub refused_with: Option<String>,
}

impl Uncatchable {
    /// What asking to catch `signal` gave.
    pub fn of(signal: Signal, outcome: Result<()>) -> Uncatchable {
        let refused_with = match &outcome {
            Ok(()) => None,
            Err(Error::Sys { source, .. }) => Some(format!("{source:?}")),
            Err(e) => Some(e.to_string()),
        };
        Uncatchable {
            signal: signal.as_str(),
            sigaction: match &refused_with {
                None => "accepted".into(),
                Some(errno) => format!("refused with {errno}"),
            },
            refused_with,
        }
    }

    /// The lecture line: `sigaction(SIGKILL) is refused with EINVAL: it cannot be caught`.
    fn line(&self) -> String {
        match &self.refused_with {
            Some(_) => format!(
                "  sigaction({}) is {}: it cannot be caught",
                self.signal, self.sigaction
            ),
            None => format!(
                "  sigaction({}) is accepted: this kernel lets it be caught",
                self.signal
            ),
        }
    }
}

/// The demo's results: the four runs, what sigaction said to SIGKILL and SIGSTOP, and how a
/// child sent SIGKILL ended.
#[derive(Clone, Debug, Serialize)]
pub struct DemoResults {
    pub runs: Vec<RunResult>,
    pub uncatchable: Vec<Uncatchable>,
    /// How waitpid reported a child sent SIGKILL (none if the demo was stopped first).
    pub killed_child: Option<String>,
}

/// The lecture's programs, as the binary writes them: the printer's side of a run (in a
/// forked child), the sender (spelling a text to a PID, as the run sets it up, and returning
/// how many letters it sent), and the attempt to catch a signal by number.
pub struct Lecture<P, S, C> {
    printer: P,
    spell: S,
    try_to_catch: C,
}

impl<P, S, C> Lecture<P, S, C>
where
    P: Fn(&Setup, &mut PrinterSide) -> Result<()>,
    S: Fn(Pid, &str, &Setup) -> Result<usize>,
    C: Fn(i32) -> Result<()>,
{
    pub fn new(printer: P, spell: S, try_to_catch: C) -> Self {
        Lecture {
            printer,
            spell,
            try_to_catch,
        }
    }
}

/// Runs the demo: the four runs, each a forked printer and us sending, then SIGKILL and SIGSTOP.
/// Prints the lecture's lines as it goes.
pub fn demo<P, S, C>(s: &Session, gap_ms: u64, lecture: Lecture<P, S, C>) -> Result<DemoResults>
where
    P: Fn(&Setup, &mut PrinterSide) -> Result<()>,
    S: Fn(Pid, &str, &Setup) -> Result<usize>,
    C: Fn(i32) -> Result<()>,
{
    let mut results = DemoResults {
        runs: Vec::new(),
        uncatchable: Vec::new(),
        killed_child: None,
    };
    for setup in setups(gap_ms) {
        let Some((run, arrived)) = one_run(&setup, &lecture)? else {
            return Ok(results);
        };
        s.out.lecture(format_args!("{}:", setup.name));
        s.out.lecture(format_args!("  sent:    {}", spaced(WORD)));
        s.out
            .lecture(format_args!("  arrived: {}", spaced(&arrived)));
        results.runs.push(run);
        if s.stopped().is_some() {
            return Ok(results);
        }
    }
    results.uncatchable = [Signal::SIGKILL, Signal::SIGSTOP]
        .into_iter()
        .map(|signal| Uncatchable::of(signal, (lecture.try_to_catch)(signal as i32)))
        .collect();
    let killed = kill_a_child()?;
    s.out.lecture("SIGKILL and SIGSTOP:");
    for u in &results.uncatchable {
        s.out.lecture(u.line());
    }
    s.out.lecture(format_args!(
        "  a child sent SIGKILL: waitpid reports it {killed}"
    ));
    results.killed_child = Some(killed);
    Ok(results)
}

/// One printer (a forked child) and one sender (us): the printer reports that it is ready, we
/// send the signals and open the gate, the printer unblocks them (if busy), collects what
/// arrives and reports it. `None` if Ctrl-C came first (the printer is killed and reaped).
fn one_run<P, S, C>(
    setup: &Setup,
    lecture: &Lecture<P, S, C>,
) -> Result<Option<(RunResult, String)>>
where
    P: Fn(&Setup, &mut PrinterSide) -> Result<()>,
    S: Fn(Pid, &str, &Setup) -> Result<usize>,
{
    let (mut reports, sender) = channel::<PrinterReport>()?;
    let mut sent = ForkGate::new()?;
    let printer = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => {
            sent.leave_to_parent();
            let mut side = PrinterSide {
                reports: sender,
                sent,
            };
            process::run_child(|| match (lecture.printer)(setup, &mut side) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("signals: error: the printer: {}", crate::kit::cli::Chain(e));
                    1
                }
            })
        }
        Forked::Parent(child) => child,
    };
    drop(sender);
    let no_report = |what: &str, next: Next<PrinterReport>| {
        Error::Channel(format!("the printer {what}: {next:?}"))
    };
    match reports.next(Some(PRINTER_TIMEOUT))? {
        Next::Message(PrinterReport::Ready) => {}
        Next::Stopped(_) => return Ok(None),
        other => return Err(no_report("did not start", other)),
    }
    (lecture.spell)(printer.pid(), WORD, setup)?;
    sent.open();
    let arrived = match reports.next(Some(PRINTER_TIMEOUT))? {
        Next::Message(PrinterReport::Arrived(arrived)) => arrived,
        Next::Stopped(_) => return Ok(None),
        other => return Err(no_report("sent no report", other)),
    };
    let exit = printer.wait()?;
    if !exit.success() {
        return Err(Error::Channel(format!("the printer {exit}")));
    }
    let run = RunResult::of(setup, &arrived);
    let text = run.arrived.replace("\\n", "\n");
    Ok(Some((run, text)))
}

/// Forks a child that waits forever, sends it SIGKILL, and says how waitpid saw it end.
fn kill_a_child() -> Result<String> {
    let child = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => loop {
            sys::signal::suspend_until_signal();
        },
        Forked::Parent(child) => child,
    };
    nix::sys::signal::kill(child.pid(), Signal::SIGKILL).map_err(|e| Error::sys("kill", e))?;
    Ok(child.wait()?.to_string())
}

impl DemoResults {
    fn sigkill(&self) -> Option<&Uncatchable> {
        self.uncatchable.iter().find(|u| u.signal == "SIGKILL")
    }

    /// The three runs the verdict reads (back to back standard, real-time, one sigqueue'd
    /// real-time signal) and what sigaction said to SIGKILL, if the demo got that far.
    fn decisive(&self) -> Option<(&RunResult, &RunResult, &RunResult, &Uncatchable)> {
        let std = self.runs.iter().find(|r| !r.real_time() && r.busy)?;
        let rt = self
            .runs
            .iter()
            .find(|r| r.real_time() && r.sending == Sending::Kill)?;
        let queued = self.runs.iter().find(|r| r.sending == Sending::Queue)?;
        Some((std, rt, queued, self.sigkill()?))
    }
}

impl Findings for DemoResults {
    type Params = DemoParams;
    type Row = RunResult;

    fn headline(&self, _p: &DemoParams) -> String {
        let Some((std, rt, _, kill)) = self.decisive() else {
            return format!("stopped after {} of 4 runs", self.runs.len());
        };
        format!(
            "back to back {} of {} arrived; real-time {} of {}; sigaction(SIGKILL) {}",
            std.arrived_count,
            words::count(std.sent_count as u64, "letter"),
            rt.arrived_count,
            rt.sent_count,
            kill.sigaction
        )
    }

    fn analysis(&self, _p: &DemoParams, _cx: &Context<'_>) -> Vec<String> {
        let mut lines: Vec<String> = self
            .runs
            .iter()
            .map(|r| format!("{}: {}", r.label(), r.explain()))
            .collect();
        if !self.uncatchable.is_empty() {
            lines.push(if self.uncatchable.iter().all(|u| u.refused_with.is_some()) {
                "SIGKILL and SIGSTOP: no handler, no mask, no ignoring: the kernel ends (or stops) the process itself".into()
            } else {
                "SIGKILL and SIGSTOP: sigaction accepted a handler, which the kernel should never do".into()
            });
        }
        lines
    }

    fn verdict(&self, _p: &DemoParams, _cx: &Context<'_>) -> Verdict {
        let Some((std, rt, queued, kill)) = self.decisive() else {
            return Verdict::unchecked(
                CLAIM,
                format!("stopped after {} of 4 runs", self.runs.len()),
            );
        };
        let coalesced = std.arrived_count < std.sent_count;
        let queue = rt.lost == 0 && queued.lost == 0 && queued.in_order;
        let refused = kill.refused_with.as_deref() == Some("EINVAL");
        let standard = if coalesced {
            format!(
                "back to back {} of {} standard signals arrived ({} coalesced)",
                std.arrived_count, std.sent_count, std.lost
            )
        } else {
            format!(
                "all {} standard signals arrived back to back: none was sent while the same one was pending",
                std.sent_count
            )
        };
        let real_time = if queue {
            format!(
                "{} of {} real-time ones, and one real-time signal sent {} arrived {}, in order",
                rt.arrived_count,
                rt.sent_count,
                words::times(queued.sent_count as u64),
                words::times(queued.arrived_count as u64)
            )
        } else if rt.lost > 0 || queued.lost > 0 {
            format!(
                "only {} of {} real-time signals arrived ({} of {} sigqueue'd): the queue is limited by RLIMIT_SIGPENDING (ulimit -i)",
                rt.arrived_count, rt.sent_count, queued.arrived_count, queued.sent_count
            )
        } else {
            format!(
                "one real-time signal sigqueue'd {} arrived out of order ({})",
                words::times(queued.sent_count as u64),
                queued.arrived
            )
        };
        let sigkill = if refused {
            "sigaction(SIGKILL) is refused with EINVAL".to_string()
        } else {
            format!("sigaction(SIGKILL) was {}", kill.sigaction)
        };
        Verdict::check(
            CLAIM,
            coalesced && queue && refused,
            format!("{standard}; {real_time}; {sigkill}"),
        )
    }

    fn lesson(&self, _p: &DemoParams, _cx: &Context<'_>) -> String {
        let Some((std, rt, _, kill)) = self.decisive() else {
            let done: Vec<String> = self
                .runs
                .iter()
                .map(|r| {
                    format!(
                        "{}: {} of {} arrived",
                        r.label(),
                        r.arrived_count,
                        r.sent_count
                    )
                })
                .collect();
            return format!(
                "stopped after {} of 4 runs ({}): the rest, and SIGKILL, did not run",
                self.runs.len(),
                words::list(done)
            );
        };
        let standard = if std.lost > 0 {
            format!(
                "a pending standard signal is one bit: of {} sent back to back to a busy printer, {} arrived{}",
                std.sent_count,
                std.arrived_count,
                if std.in_order {
                    ""
                } else {
                    ", in the kernel's order"
                }
            )
        } else {
            format!(
                "no standard signal was lost this time ({} of {}): each was handled before its repeat was sent, so none was pending twice",
                std.arrived_count, std.sent_count
            )
        };
        let real_time = if rt.lost == 0 {
            format!(
                "real-time signals queue, one per send ({} of {})",
                rt.arrived_count, rt.sent_count
            )
        } else {
            format!(
                "real-time signals queue only up to RLIMIT_SIGPENDING ({} of {} here)",
                rt.arrived_count, rt.sent_count
            )
        };
        let sigkill = match (&kill.refused_with, &self.killed_child) {
            (Some(_), Some(killed)) => format!(
                "SIGKILL never reaches a handler: sigaction refuses one, and the child sent it was {killed}"
            ),
            (Some(_), None) => "SIGKILL never reaches a handler: sigaction refuses one".into(),
            (None, _) => format!("sigaction(SIGKILL) was {} here", kill.sigaction),
        };
        format!("{standard}; {real_time}; {sigkill}")
    }

    fn compare(&self, _p: &DemoParams) -> String {
        COMPARE.into()
    }

    fn rows(&self, _p: &DemoParams) -> Vec<RunResult> {
        self.runs.clone()
    }

    fn progress(&self, _p: &DemoParams) -> Option<String> {
        Some(format!("{} of 4 runs", self.runs.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signals of `text` as the printer of `setup` would record them.
    fn recorded(setup: &Setup, text: &str) -> Vec<(i32, i32)> {
        text.chars()
            .map(|c| match setup.sending {
                Sending::Kill => (setup.letters.signal_of(c), 0),
                Sending::Queue => (setup.letters.signals()[0], c as i32),
            })
            .collect()
    }

    /// A whole demo whose four printers saw these letters.
    fn demo(arrived: [&str; 4], sigkill: Result<()>) -> DemoResults {
        let runs = setups(20)
            .iter()
            .zip(arrived)
            .map(|(setup, text)| RunResult::of(setup, &recorded(setup, text)))
            .collect();
        DemoResults {
            runs,
            uncatchable: vec![
                Uncatchable::of(Signal::SIGKILL, sigkill),
                Uncatchable::of(
                    Signal::SIGSTOP,
                    Err(Error::sys("sigaction", nix::errno::Errno::EINVAL)),
                ),
            ],
            killed_child: Some("killed by signal 9 (SIGKILL)".into()),
        }
    }

    const LECTURE: [&str; 4] = ["ernigom\n", WORD, "geroonim\n", WORD];

    fn refused() -> Result<()> {
        Err(Error::sys("sigaction", nix::errno::Errno::EINVAL))
    }

    fn judge(results: &DemoResults) -> Verdict {
        results.verdict(
            &DemoParams::of(Duration::from_millis(20)),
            &crate::testing::context(),
        )
    }

    #[test]
    fn the_lecture_s_run_holds_all_three_claims() {
        let results = demo(LECTURE, refused());
        let v = judge(&results);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .contains("8 of 9 standard signals arrived (1 coalesced)"),
            "{v:?}"
        );
        assert!(
            v.because
                .contains("sigaction(SIGKILL) is refused with EINVAL"),
            "{v:?}"
        );
        let first = &results.runs[0];
        assert_eq!((first.lost, first.in_order), (1, false));
        assert!(
            first.explain().contains("repeats o (SIGABRT)"),
            "{}",
            first.explain()
        );
        assert!(results.runs[2].explain().contains("lowest number first"));
        assert_eq!(
            results.headline(&DemoParams::of(Duration::from_millis(20))),
            "back to back 8 of 9 letters arrived; real-time 9 of 9; sigaction(SIGKILL) refused with EINVAL"
        );
    }

    #[test]
    fn standard_signals_that_all_arrive_do_not_hold() {
        let v = judge(&demo([WORD, WORD, "geroonim\n", WORD], refused()));
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("all 9 standard signals arrived"),
            "{v:?}"
        );
    }

    #[test]
    fn real_time_signals_lost_or_reordered_do_not_hold() {
        let v = judge(&demo(["ernigom\n", WORD, "geronim\n", WORD], refused()));
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("RLIMIT_SIGPENDING"), "{v:?}");
        let v = judge(&demo(
            ["ernigom\n", WORD, "geroonim\n", "egronimo\n"],
            refused(),
        ));
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("out of order"), "{v:?}");
    }

    #[test]
    fn a_sigkill_handler_accepted_does_not_hold() {
        let results = demo(LECTURE, Ok(()));
        let v = judge(&results);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("sigaction(SIGKILL) was accepted"),
            "{v:?}"
        );
        assert!(results.uncatchable[0].line().contains("is accepted"));
    }

    #[test]
    fn a_demo_stopped_early_cannot_be_checked() {
        let mut results = demo(LECTURE, refused());
        results.runs.truncate(1);
        results.uncatchable.clear();
        results.killed_child = None;
        let v = judge(&results);
        assert_eq!(v.held, None);
        assert!(v.because.contains("1 of 4 runs"), "{v:?}");
    }

    #[test]
    fn sigaction_s_refusal_reads_as_the_lesson() {
        let u = Uncatchable::of(Signal::SIGKILL, refused());
        assert_eq!(u.sigaction, "refused with EINVAL");
        assert_eq!(
            u.line(),
            "  sigaction(SIGKILL) is refused with EINVAL: it cannot be caught"
        );
    }

    #[test]
    fn counts_agree_with_their_number() {
        let one = Printed {
            letters: Letters { rt: false },
            arrived: "g".into(),
        };
        assert_eq!(
            one.headline(&PrintParams::of(one.letters)),
            "1 letter arrived: g"
        );
        let sent = Sent::of("g\n", 1, None);
        let params = SendParams::of(7, 0, Letters { rt: false });
        let cx = &crate::testing::context();
        {
            assert_eq!(
                sent.analysis(&params, cx),
                vec!["sent g to PID 7: 1 signal, back to back".to_string()]
            );
            assert!(
                sent.lesson(&params, cx)
                    .starts_with("1 kill() call returned 0")
            );
            assert_eq!(sent.verdict(&params, cx).held, None);
        }
    }

    #[test]
    fn only_the_printer_s_letters_can_be_spelled() {
        assert_eq!(spellable("geronimo").unwrap(), "geronimo");
        assert!(spellable("hello").unwrap_err().contains("cannot spell 'h'"));
        assert_eq!(spaced("go\n"), "g o \\n");
    }
}
