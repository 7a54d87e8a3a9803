//! `signals defaults`'s lab bench: the first seed's signal table, a child that does nothing for
//! each signal (once with the default action, once with a handler), waitpid's status decoded
//! (terminated, core dumped, stopped, exited), the core file looked for and removed, the table,
//! the analysis and the verdict. The lecture's `kill -N PID` is in `src/bin/signals.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::kit::report::table;
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::process::channel::{Next, Sender, channel};
use crate::process::limits::fmt_bytes;
use crate::process::{self, Child, Forked, SingleThreaded};
use crate::sys::signal as sig;
use crate::{Error, Result};

/// What signal(7) lists as a signal's default action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Terminate the process.
    Term,
    /// Terminate the process and dump core.
    Core,
}

/// The first seed's table: number, name, the seed's words, and signal(7)'s default action.
pub const SEED: [(i32, &str, &str, Action); 7] = [
    (1, "HUP", "hang up", Action::Term),
    (2, "INT", "interrupt", Action::Term),
    (3, "QUIT", "quit", Action::Core),
    (6, "ABRT", "abort", Action::Core),
    (9, "KILL", "non-catchable, non-ignorable kill", Action::Term),
    (14, "ALRM", "alarm clock", Action::Term),
    (15, "TERM", "software termination signal", Action::Term),
];

/// `signals defaults`'s arguments.
#[derive(clap::Args, Debug)]
pub struct DefaultsArgs {
    /// RLIMIT_CORE each child sets, in KiB (0: no core file) [0-1048576]
    #[arg(long, default_value_t = 1024, value_name = "KIB",
          value_parser = crate::kit::cli::ranged::<u64>(0, 1 << 20))]
    pub core_limit: u64,
}

impl DefaultsArgs {
    /// The parameters reported.
    pub fn params(&self) -> DefaultsParams {
        DefaultsParams::of(self.core_limit)
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultsParams {
    pub mode: &'static str,
    /// RLIMIT_CORE each child asks for, KiB.
    pub core_limit_kib: u64,
}

impl DefaultsParams {
    pub fn of(core_limit_kib: u64) -> DefaultsParams {
        DefaultsParams {
            mode: "defaults",
            core_limit_kib,
        }
    }
}

/// How a child ended, as waitpid (with WUNTRACED) reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Ended {
    /// WIFSIGNALED: the signal's action ended it (WTERMSIG), WCOREDUMP when a core was dumped.
    Terminated { signal: i32, core_dumped: bool },
    /// WIFSTOPPED: the signal stopped it (then the demo killed it with SIGKILL and reaped it).
    Stopped { signal: i32 },
    /// WIFEXITED: it called exit; our children exit with the signal's number once their
    /// handler has run.
    Exited { code: i32 },
}

impl Ended {
    fn words(self, caught_as: Option<i32>) -> String {
        match self {
            Ended::Terminated {
                core_dumped: true, ..
            } => "core dumped".into(),
            Ended::Terminated { .. } => "terminated".into(),
            Ended::Stopped { .. } => "stopped".into(),
            Ended::Exited { code } if Some(code) == caught_as => "caught".into(),
            Ended::Exited { code } => format!("exited with code {code}"),
        }
    }
}

/// Where a dumped core went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "where", rename_all = "snake_case")]
pub enum Core {
    /// A file in the child's directory (core_pattern is a relative name): its name and size; the
    /// demo removed it.
    Written { file: String, bytes: u64 },
    /// core_pattern starts with `|`: the kernel piped the core to this program.
    Piped { to: String },
    /// core_pattern is an absolute path: the core went there (not looked for).
    Elsewhere { pattern: String },
    /// WCOREDUMP, yet no file in the child's directory.
    Missing,
}

/// One signal: its default action and what a handler made of it. A CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct SignalRun {
    pub number: i32,
    pub name: &'static str,
    /// The seed's words: `hang up`.
    pub meaning: &'static str,
    /// signal(7)'s default action.
    pub expected: Action,
    /// The child that received it with the default action.
    pub pid: i32,
    pub default: Ended,
    pub core: Option<Core>,
    /// sigaction's refusal in the second child (`EINVAL` for SIGKILL), if any.
    pub sigaction_error: Option<String>,
    pub with_handler: Option<Ended>,
}

impl SignalRun {
    /// The default action did what signal(7) says: terminated by this very signal, with a core
    /// for Core when a core could be written (`core_possible`).
    pub fn default_as_listed(&self, core_possible: bool) -> bool {
        match self.default {
            Ended::Terminated {
                signal,
                core_dumped,
            } => {
                signal == self.number
                    && (self.expected == Action::Term && !core_dumped
                        || self.expected == Action::Core && (core_dumped || !core_possible))
            }
            _ => false,
        }
    }

    /// The handler ran (the child exited with the signal's number).
    pub fn caught(&self) -> bool {
        self.with_handler == Some(Ended::Exited { code: self.number })
    }

    /// As the slide says: caught, except KILL, which sigaction refuses and which still kills.
    pub fn handler_as_listed(&self) -> bool {
        if self.number == libc::SIGKILL {
            self.sigaction_error.is_some()
                && matches!(self.with_handler, Some(Ended::Terminated { signal: 9, .. }))
        } else {
            self.caught()
        }
    }

    fn default_words(&self) -> String {
        let what = self.default.words(None);
        match (&self.core, self.default) {
            (Some(Core::Written { file, bytes }), _) => {
                format!("{what} ({file}, {}, removed)", fmt_bytes(*bytes))
            }
            (Some(Core::Piped { to }), _) => format!("{what} (piped to {to})"),
            (Some(Core::Elsewhere { pattern }), _) => format!("{what} (to {pattern})"),
            (Some(Core::Missing), _) => format!("{what} (no file found)"),
            (None, Ended::Terminated { .. }) if self.expected == Action::Core => {
                format!("{what} (no core: RLIMIT_CORE 0)")
            }
            _ => what,
        }
    }

    fn handler_words(&self) -> String {
        match (&self.sigaction_error, self.with_handler) {
            (_, None) => "-".into(),
            (Some(e), Some(end)) => format!("no: sigaction {e}; {}", end.words(None)),
            (None, Some(_)) if self.caught() => "yes".into(),
            (None, Some(end)) => format!("no: {}", end.words(Some(self.number))),
        }
    }
}

/// The results of `signals defaults`.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultsResults {
    pub signals: Vec<SignalRun>,
    /// RLIMIT_CORE as the children set it (soft, bytes), and the hard limit that caps it.
    pub core_limit: u64,
    pub core_hard_limit: Option<u64>,
    /// /proc/sys/kernel/core_pattern.
    pub core_pattern: String,
    /// The directory the children ran in (removed at the end).
    pub dir: String,
}

/// The directory the children run in, so a core lands there and not in the user's; removed
/// (with anything left in it) when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What a child tells its parent once it is ready for the signal.
#[derive(Debug, Serialize, Deserialize)]
struct Ready {
    /// sigaction's error, if installing the handler failed.
    sigaction: Option<String>,
}

/// How long a child may take to get ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the seed's table: for each signal a child that does nothing gets `kill(pid, N)` with
/// the default action, then another with a handler installed. `kill` is the lecture's
/// `kill -N PID`.
pub fn defaults(
    s: &Session,
    core_limit_kib: u64,
    kill: impl Fn(Pid, i32) -> Result<()>,
) -> Result<DefaultsResults> {
    let wanted = core_limit_kib.saturating_mul(1024);
    let hard = match getrlimit(Resource::RLIMIT_CORE) {
        Ok((_, hard)) if hard != libc::RLIM_INFINITY => Some(hard),
        _ => None,
    };
    let dir = std::env::temp_dir().join(format!("oslab-signals-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(Error::io("mkdir"))?;
    let scratch = Scratch(dir);
    let mut results = DefaultsResults {
        signals: Vec::new(),
        core_limit: hard.map_or(wanted, |h| wanted.min(h)),
        core_hard_limit: hard,
        core_pattern: fs::read_to_string("/proc/sys/kernel/core_pattern")
            .map(|p| p.trim().to_string())
            .unwrap_or_default(),
        dir: scratch.0.display().to_string(),
    };
    for &(number, name, meaning, expected) in &SEED {
        let Some(first) = one(number, false, &results, &scratch.0, &kill)? else {
            break;
        };
        let mut run = SignalRun {
            number,
            name,
            meaning,
            expected,
            pid: first.pid.as_raw(),
            default: first.ended,
            core: None,
            sigaction_error: None,
            with_handler: None,
        };
        if let Ended::Terminated {
            core_dumped: true, ..
        } = first.ended
        {
            run.core = Some(core_file(&results.core_pattern, &scratch.0));
        }
        if let Some(second) = one(number, true, &results, &scratch.0, &kill)? {
            run.sigaction_error = second.sigaction;
            run.with_handler = Some(second.ended);
        }
        results.signals.push(run);
        if interrupt::requested().is_some() {
            break;
        }
    }
    for line in results.table().lines() {
        s.out.lecture(line);
    }
    Ok(results)
}

struct Child1 {
    pid: Pid,
    ended: Ended,
    sigaction: Option<String>,
}

/// One child: set up (defaults restored or a handler installed, RLIMIT_CORE), ready, signalled,
/// reaped. None if Ctrl-C came first.
fn one(
    number: i32,
    handler: bool,
    r: &DefaultsResults,
    dir: &Path,
    kill: &impl Fn(Pid, i32) -> Result<()>,
) -> Result<Option<Child1>> {
    let (mut rx, tx) = channel::<Ready>()?;
    let child = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => process::run_child(|| do_nothing(number, handler, r.core_limit, dir, &tx)),
        Forked::Parent(child) => child,
    };
    drop(tx);
    let ready = match rx.next(Some(READY_TIMEOUT))? {
        Next::Message(ready) => ready,
        Next::Stopped(_) => return Ok(None), // the guard kills and reaps the child
        Next::End | Next::TimedOut => {
            return Err(Error::Channel(format!(
                "the child for SIG{} never said it was ready",
                SEED.iter().find(|s| s.0 == number).map_or("?", |s| s.1)
            )));
        }
    };
    let pid = child.pid();
    kill(pid, number)?; // kill -N PID
    Ok(Some(Child1 {
        pid,
        ended: reap(child)?,
        sigaction: ready.sigaction,
    }))
}

/// The child: the default action of every seed signal restored (a parent or a shell may have
/// caught, ignored or blocked some), RLIMIT_CORE set, only the core's minimum asked for
/// (coredump_filter 0: no memory mappings, so a core is a few KiB), in `dir`; then the handler
/// if `handler`, the parent told, and nothing but waiting. With the handler it exits with the
/// signal's number once the handler has run.
fn do_nothing(number: i32, handler: bool, core: u64, dir: &Path, tx: &Sender<Ready>) -> i32 {
    let catchable: Vec<i32> = SEED.iter().map(|s| s.0).filter(|&n| n != 9).collect();
    let _ = sig::restore_defaults(&catchable);
    let _ = std::env::set_current_dir(dir);
    let hard = getrlimit(Resource::RLIMIT_CORE).map_or(libc::RLIM_INFINITY, |l| l.1);
    let _ = setrlimit(Resource::RLIMIT_CORE, core.min(hard), hard);
    let _ = fs::write("/proc/self/coredump_filter", "0");
    let mut sigaction = None;
    if handler {
        match sig::record_signals(&[number]) {
            // Blocked except inside sigsuspend: it cannot slip in between check and sleep.
            Ok(()) => {
                let _ = sig::block_signals(&[number], true);
            }
            Err(e) => sigaction = Some(errno_of(&e)),
        }
    }
    let caught = handler && sigaction.is_none();
    if tx.send(&Ready { sigaction }).is_err() {
        return 100;
    }
    loop {
        if caught && sig::recorded_count() > 0 {
            return number;
        }
        sig::suspend_until_signal(); // pause()
    }
}

fn errno_of(e: &Error) -> String {
    match e {
        Error::Sys { source, .. } => format!("{source:?}"),
        other => other.to_string(),
    }
}

/// waitpid(pid, &status, WUNTRACED): how the child ended, or that it stopped (then it is killed
/// and reaped).
fn reap(child: Child) -> Result<Ended> {
    loop {
        match waitpid(child.pid(), Some(WaitPidFlag::WUNTRACED)) {
            Ok(WaitStatus::Exited(_, code)) => {
                child.release(); // reaped
                return Ok(Ended::Exited { code });
            }
            Ok(WaitStatus::Signaled(_, signal, core_dumped)) => {
                child.release();
                return Ok(Ended::Terminated {
                    signal: signal as i32,
                    core_dumped,
                });
            }
            Ok(WaitStatus::Stopped(_, signal)) => {
                drop(child); // SIGKILL, reaped
                return Ok(Ended::Stopped {
                    signal: signal as i32,
                });
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waitpid", e)),
        }
    }
}

/// Where the core went: for a relative core_pattern, the files named like it in `dir` (their
/// size; removed).
fn core_file(pattern: &str, dir: &Path) -> Core {
    if let Some(to) = pattern.strip_prefix('|') {
        return Core::Piped {
            to: to.split_whitespace().next().unwrap_or("").to_string(),
        };
    }
    if pattern.starts_with('/') {
        return Core::Elsewhere {
            pattern: pattern.to_string(),
        };
    }
    let stem: String = pattern.chars().take_while(|&c| c != '%').collect();
    let found: Vec<(String, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = e.metadata().ok()?.len();
            (name.starts_with(stem.as_str()) || name.starts_with("core")).then_some((name, bytes))
        })
        .collect();
    for (name, _) in &found {
        let _ = fs::remove_file(dir.join(name));
    }
    match found.into_iter().next() {
        Some((file, bytes)) => Core::Written { file, bytes },
        None => Core::Missing,
    }
}

impl DefaultsResults {
    /// The seed's table with what each signal did: number, name, default action, caught?, and
    /// the command a student types.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .signals
            .iter()
            .map(|r| {
                vec![
                    r.number.to_string(),
                    format!("{} ({})", r.name, r.meaning),
                    r.default_words(),
                    r.handler_words(),
                    format!("kill -{} {}", r.number, r.pid),
                ]
            })
            .collect();
        table(
            &[
                "",
                "signal",
                "default action (waitpid)",
                "caught by a handler?",
                "try it",
            ],
            &rows,
            false,
        )
    }

    fn core_possible(&self) -> bool {
        self.core_limit > 0 || self.core_pattern.starts_with('|')
    }

    fn wrong(&self) -> Vec<String> {
        let core_possible = self.core_possible();
        let mut out = Vec::new();
        for r in &self.signals {
            if !r.default_as_listed(core_possible) {
                out.push(format!(
                    "SIG{}'s default action was {} where signal(7) says {}",
                    r.name,
                    r.default.words(None),
                    match r.expected {
                        Action::Term => "terminate",
                        Action::Core => "terminate with a core dump",
                    }
                ));
            }
            if r.with_handler.is_some() && !r.handler_as_listed() {
                out.push(format!(
                    "SIG{} with a handler: {}",
                    r.name,
                    r.handler_words()
                ));
            }
        }
        out
    }

    fn names(&self, f: impl Fn(&SignalRun) -> bool) -> Vec<&'static str> {
        self.signals
            .iter()
            .filter(|r| f(r))
            .map(|r| r.name)
            .collect()
    }

    fn cores_written(&self) -> Vec<(&'static str, u64)> {
        self.signals
            .iter()
            .filter_map(|r| match r.core {
                Some(Core::Written { bytes, .. }) => Some((r.name, bytes)),
                _ => None,
            })
            .collect()
    }
}

/// A CSV row: one signal, flat.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub number: i32,
    pub name: &'static str,
    pub expected: Action,
    pub pid: i32,
    /// `terminated`, `core dumped`, `stopped` or `exited with code N`.
    pub default_action: String,
    pub wtermsig: Option<i32>,
    pub core_dumped: bool,
    pub core_file: Option<String>,
    pub core_bytes: Option<u64>,
    pub sigaction_error: Option<String>,
    /// `caught`, or how the child with a handler ended.
    pub with_handler: Option<String>,
    pub caught: bool,
}

impl Findings for DefaultsResults {
    type Params = DefaultsParams;
    type Row = Row;

    fn headline(&self, _p: &DefaultsParams) -> String {
        format!(
            "terminated: {}; core: {}; caught: {} of {}",
            words::list(self.names(|r| matches!(
                r.default,
                Ended::Terminated {
                    core_dumped: false,
                    ..
                }
            ))),
            words::list(self.names(|r| matches!(
                r.default,
                Ended::Terminated {
                    core_dumped: true,
                    ..
                }
            ))),
            self.signals.iter().filter(|r| r.caught()).count(),
            self.signals.len()
        )
    }

    fn analysis(&self, p: &DefaultsParams, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = vec![format!(
            "each child did nothing (sigsuspend, as pause()) until the parent's kill(pid, N), then the parent read waitpid's status: WIFSIGNALED with WTERMSIG, WCOREDUMP, WIFSTOPPED (WUNTRACED), or WIFEXITED with the signal's number once the handler had run"
        )];
        let limit = match self.core_hard_limit {
            Some(h) if h < p.core_limit_kib.saturating_mul(1024) => format!(
                "{} (capped by the hard limit; asked for {})",
                fmt_bytes(self.core_limit),
                fmt_bytes(p.core_limit_kib * 1024)
            ),
            _ => fmt_bytes(self.core_limit),
        };
        let pattern = &self.core_pattern;
        let whereto = if let Some(to) = pattern.strip_prefix('|') {
            format!(
                "core_pattern pipes every core to a program ({}), whatever RLIMIT_CORE says: look with coredumpctl list or in /var/crash",
                to.split_whitespace().next().unwrap_or("")
            )
        } else if pattern.starts_with('/') {
            format!("core_pattern {pattern:?} puts cores there (not looked for)")
        } else {
            let written = self.cores_written();
            if written.is_empty() {
                format!(
                    "core_pattern {pattern:?}: a core file in the child's directory; none was written"
                )
            } else {
                format!(
                    "core_pattern {pattern:?}: the kernel wrote {} in the child's directory {} (removed since): {}",
                    words::count(written.len() as u64, "core file"),
                    self.dir,
                    words::list(
                        written
                            .iter()
                            .map(|(n, b)| format!("SIG{n} {}", fmt_bytes(*b)))
                    )
                )
            }
        };
        lines.push(format!(
            "RLIMIT_CORE in each child: {limit} (a shell's is often 0: ulimit -c; coredump_filter 0 keeps each core to its registers and notes); {whereto}"
        ));
        lines
    }

    fn verdict(&self, _p: &DefaultsParams, _cx: &Context<'_>) -> Verdict {
        let claim = "HUP, INT, KILL, ALRM and TERM terminate a process by default, QUIT and ABRT terminate it with a core dump; a handler catches each of them but KILL";
        if self.signals.len() < SEED.len() || self.signals.iter().any(|r| r.with_handler.is_none())
        {
            return Verdict::unchecked(claim, "stopped before every signal had been sent twice");
        }
        let wrong = self.wrong();
        let because = if wrong.is_empty() {
            let cores = if self.core_possible() {
                "with WCOREDUMP set for QUIT and ABRT"
            } else {
                "QUIT and ABRT without a core, since RLIMIT_CORE was 0"
            };
            format!(
                "waitpid saw each child killed by its signal, {cores}; with a handler {} of {} exited by themselves, and sigaction(SIGKILL) failed with {}",
                self.signals.iter().filter(|r| r.caught()).count(),
                self.signals.len(),
                self.signals
                    .iter()
                    .find(|r| r.number == 9)
                    .and_then(|r| r.sigaction_error.clone())
                    .unwrap_or_default()
            )
        } else {
            words::list(wrong)
        };
        Verdict::check(claim, self.wrong().is_empty(), because)
    }

    fn lesson(&self, _p: &DefaultsParams, _cx: &Context<'_>) -> String {
        let cores = self.cores_written();
        let core = match cores.first() {
            Some((_, bytes)) => format!(" (a {} file here)", fmt_bytes(*bytes)),
            None => String::new(),
        };
        format!(
            "what a signal does to a process that did not ask is the kernel's default action: terminate, or terminate and dump core{core} for QUIT and ABRT; a handler replaces it for every signal but KILL (and STOP), which sigaction refuses, so kill -9 always ends a process, without giving it a chance to clean up: try kill -15 first; and kill -1 PID in another terminal on signals print prints the letter g"
        )
    }

    fn compare(&self, _p: &DefaultsParams) -> String {
        "kill -l; man 7 signal (the Action column); sleep 100 & kill -3 $! ; wait $!; echo $? (131 = 128 + 3: SIGQUIT)".into()
    }

    fn rows(&self, _p: &DefaultsParams) -> Vec<Row> {
        self.signals
            .iter()
            .map(|r| {
                let (file, bytes) = match &r.core {
                    Some(Core::Written { file, bytes }) => (Some(file.clone()), Some(*bytes)),
                    _ => (None, None),
                };
                let (wtermsig, core_dumped) = match r.default {
                    Ended::Terminated {
                        signal,
                        core_dumped,
                    } => (Some(signal), core_dumped),
                    _ => (None, false),
                };
                Row {
                    number: r.number,
                    name: r.name,
                    expected: r.expected,
                    pid: r.pid,
                    default_action: r.default.words(None),
                    wtermsig,
                    core_dumped,
                    core_file: file,
                    core_bytes: bytes,
                    sigaction_error: r.sigaction_error.clone(),
                    with_handler: r.with_handler.map(|e| e.words(Some(r.number))),
                    caught: r.caught(),
                }
            })
            .collect()
    }

    fn progress(&self, _p: &DefaultsParams) -> Option<String> {
        Some(format!("{} of {} signals", self.signals.len(), SEED.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(number: i32, default: Ended, with_handler: Ended, sigaction: Option<&str>) -> SignalRun {
        let seed = SEED.iter().find(|s| s.0 == number).unwrap();
        SignalRun {
            number,
            name: seed.1,
            meaning: seed.2,
            expected: seed.3,
            pid: 1000 + number,
            default,
            core: None,
            sigaction_error: sigaction.map(str::to_string),
            with_handler: Some(with_handler),
        }
    }

    fn term(signal: i32, core_dumped: bool) -> Ended {
        Ended::Terminated {
            signal,
            core_dumped,
        }
    }

    fn as_listed(core_limit: u64) -> DefaultsResults {
        let signals = SEED
            .iter()
            .map(|&(n, _, _, action)| {
                let core = action == Action::Core && core_limit > 0;
                if n == 9 {
                    run(n, term(9, false), term(9, false), Some("EINVAL"))
                } else {
                    run(n, term(n, core), Ended::Exited { code: n }, None)
                }
            })
            .collect();
        DefaultsResults {
            signals,
            core_limit,
            core_hard_limit: None,
            core_pattern: "core".into(),
            dir: "/tmp/x".into(),
        }
    }

    #[test]
    fn the_table_holds_as_signal_7_lists_it_and_turns_on_any_difference() {
        let p = DefaultsParams::of(1024);
        let mut good = as_listed(1 << 20);
        good.signals[2].core = Some(Core::Written {
            file: "core".into(),
            bytes: 53248,
        });
        let (v, lesson, lines) = crate::testing::judge(&good, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.contains("with WCOREDUMP set for QUIT and ABRT"));
        assert!(v.because.contains("6 of 7 exited by themselves"));
        assert!(v.because.ends_with("failed with EINVAL"));
        assert!(lesson.contains("(a 52 KiB file here)"), "{lesson}");
        assert!(
            lines[1].contains("the kernel wrote 1 core file"),
            "{}",
            lines[1]
        );
        let table = good.table();
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[3].starts_with("3   QUIT (quit)"), "{table}");
        assert!(
            rows[3].contains("core dumped (core, 52 KiB, removed)"),
            "{table}"
        );
        assert!(
            rows[5].contains("no: sigaction EINVAL; terminated"),
            "{table}"
        );
        assert!(rows[7].ends_with("kill -15 1015"), "{table}");
        assert_eq!(
            good.headline(&p),
            "terminated: HUP, INT, KILL, ALRM and TERM; core: QUIT and ABRT; caught: 6 of 7"
        );

        // Without a core limit, QUIT and ABRT terminate without a core: still as listed.
        let nocore = as_listed(0);
        let (v, ..) = crate::testing::judge(&nocore, &DefaultsParams::of(0));
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .contains("without a core, since RLIMIT_CORE was 0")
        );
        assert!(
            nocore
                .table()
                .contains("terminated (no core: RLIMIT_CORE 0)")
        );

        // A core expected and not dumped; a handler that did not catch; a stop.
        let mut bad = as_listed(1 << 20);
        bad.signals[3].default = term(6, false);
        bad.signals[0].with_handler = Some(term(1, false));
        bad.signals[6].default = Ended::Stopped { signal: 15 };
        let (v, ..) = crate::testing::judge(&bad, &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("SIGABRT's default action was terminated where signal(7) says terminate with a core dump"), "{}", v.because);
        assert!(v.because.contains("SIGHUP with a handler: no: terminated"));
        assert!(v.because.contains("SIGTERM's default action was stopped"));

        // KILL caught would contradict the slide.
        let mut caught = as_listed(1 << 20);
        caught.signals[4].sigaction_error = None;
        caught.signals[4].with_handler = Some(Ended::Exited { code: 9 });
        let (v, ..) = crate::testing::judge(&caught, &p);
        assert_eq!(v.held, Some(false));

        let mut cut = as_listed(1 << 20);
        cut.signals.truncate(3);
        let (v, ..) = crate::testing::judge(&cut, &p);
        assert_eq!(v.held, None);
        assert_eq!(cut.progress(&p).as_deref(), Some("3 of 7 signals"));
    }

    #[test]
    fn rows_are_flat_and_say_what_was_caught() {
        let r = as_listed(1 << 20);
        let rows = r.rows(&DefaultsParams::of(1024));
        assert_eq!(rows.len(), 7);
        assert_eq!((rows[2].wtermsig, rows[2].core_dumped), (Some(3), true));
        assert_eq!(rows[0].with_handler.as_deref(), Some("caught"));
        assert_eq!(rows[4].with_handler.as_deref(), Some("terminated"));
        assert_eq!(rows[4].sigaction_error.as_deref(), Some("EINVAL"));
        assert!(!rows[4].caught);
    }

    #[test]
    fn core_files_are_found_by_the_pattern_and_removed() {
        let dir = std::env::temp_dir().join(format!("oslab-core-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("core.42"), [0u8; 100]).unwrap();
        assert_eq!(
            core_file("core.%p", &dir),
            Core::Written {
                file: "core.42".into(),
                bytes: 100
            }
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        assert_eq!(core_file("core", &dir), Core::Missing);
        assert_eq!(
            core_file("|/usr/lib/systemd/systemd-coredump %P", &dir),
            Core::Piped {
                to: "/usr/lib/systemd/systemd-coredump".into()
            }
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
