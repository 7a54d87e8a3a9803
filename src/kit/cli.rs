//! The flags every binary shares, flattened into each binary's own `Args` with
//! `#[command(flatten)]`, and the way a binary ends: exit codes and error messages.
//!
//! Every numeric flag has a range; a value outside it, a non-number or an unknown flag is a
//! usage error (exit 2) that names the flag and the range.

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser};
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

use crate::kit::machine::{Machine, fmt_cpu_list, usable_cpus};
use crate::kit::report::{Format, Output};
use crate::proc::counters::Snapshot;
use crate::{Error, Result};

/// Output and placement flags, shared by every demo.
#[derive(Args, Clone, Debug, Default)]
pub struct CommonArgs {
    /// Output: text (the lecture's lines, then the analysis), json (one document) or csv (a
    /// header and a row per trial)
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT", global = true)]
    pub format: Format,

    /// Print only the lecture's lines (or only the JSON/CSV)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Run only on these CPUs, e.g. 0, 0-1 or 0,2 (sched_setaffinity; threads inherit it)
    #[arg(long, value_name = "LIST", value_parser = parse_cpu_list, global = true)]
    pub cpu: Option<CpuList>,

    /// Also draw the run's figure into FILE, an SVG (`oslab plot` draws one from a saved JSON
    /// report); a demo with nothing to draw refuses it
    #[arg(long, value_name = "FILE.svg", value_parser = plot_path, global = true)]
    pub plot: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub export: crate::kit::export::ExportArgs,
}

impl CommonArgs {
    /// Where the demo's lines go.
    pub fn output(&self) -> Output {
        Output {
            format: self.format,
            quiet: self.quiet,
        }
    }

    /// Pins the calling thread (and every thread it creates afterwards) to `--cpu`, if given.
    pub fn apply_cpu(&self) -> Result<()> {
        match &self.cpu {
            Some(list) => list.pin_current_thread(),
            None => Ok(()),
        }
    }
}

/// What a demo has once it has started: where its lines go, the machine, and the process's
/// counters at the start (for the report's `counters`).
pub struct Session {
    pub out: Output,
    pub system: Machine,
    pub before: Snapshot,
}

impl CommonArgs {
    /// What every demo does first: catch Ctrl-C and SIGTERM (`interrupt`), apply `--cpu`, note
    /// the system and the process's counters.
    pub fn start(&self) -> Result<Session> {
        crate::kit::interrupt::install()?;
        self.apply_cpu()?;
        Ok(Session {
            out: self.output(),
            system: Machine::collect(),
            before: Snapshot::of_self()?,
        })
    }
}

/// A value parser for `--plot`: a file name (not empty, not a directory).
pub fn plot_path(s: &str) -> std::result::Result<std::path::PathBuf, String> {
    crate::kit::export::file_name(s, "run.svg")
}

/// Repetition flags, for demos that time something.
#[derive(Args, Clone, Debug)]
pub struct TrialArgs {
    /// Timed runs; with more than one, text mode prints each run's line, then min/median/max
    /// [1-1000]
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1000))]
    pub trials: u32,

    /// Untimed runs before the timed ones, to warm caches and CPU frequency [0-1000]
    #[arg(long, default_value_t = 0, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(0, 1000))]
    pub warmup: u32,
}

/// A value parser for a whole number in `lo..=hi`; its error names the range.
pub fn ranged<T>(lo: T, hi: T) -> impl Fn(&str) -> std::result::Result<T, String> + Clone
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let range = format!("expected a whole number from {lo} to {hi}");
        match s.trim().replace('_', "").parse::<T>() {
            Ok(v) if v >= lo && v <= hi => Ok(v),
            Ok(_) => Err(format!("{s} is out of range: {range}")),
            // -1 for an unsigned flag: a number, just not one in range.
            Err(_) if s.trim().replace('_', "").parse::<i128>().is_ok() => {
                Err(format!("{s} is out of range: {range}"))
            }
            Err(_) => Err(format!("{s} is not a number: {range}")),
        }
    }
}

/// A list of CPU numbers, as `taskset -c` takes it: `0`, `0-3`, `0,2-3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

impl CpuList {
    /// Restricts the calling thread to these CPUs.
    pub fn pin_current_thread(&self) -> Result<()> {
        let mut set = CpuSet::new();
        for &cpu in &self.0 {
            set.set(cpu)
                .map_err(|e| Error::sys("sched_setaffinity", e))?;
        }
        sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| Error::sys("sched_setaffinity", e))
    }
}

impl Display for CpuList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&fmt_cpu_list(&self.0))
    }
}

/// Parses a CPU list and checks each CPU is one this process may use.
pub fn parse_cpu_list(s: &str) -> std::result::Result<CpuList, String> {
    let usable = usable_cpus();
    let list = parse_cpu_list_syntax(s).map_err(|e| match e {
        CpuListError::Syntax(e) => e,
        CpuListError::TooHigh(cpu) => format!(
            "CPU {cpu} is not usable here (usable: {})",
            fmt_cpu_list(&usable)
        ),
    })?;
    if let Some(bad) = list.0.iter().find(|c| !usable.contains(c)) {
        return Err(format!(
            "CPU {bad} is not usable here (usable: {})",
            fmt_cpu_list(&usable)
        ));
    }
    Ok(list)
}

#[derive(Debug)]
enum CpuListError {
    Syntax(String),
    TooHigh(usize),
}

fn parse_cpu_list_syntax(s: &str) -> std::result::Result<CpuList, CpuListError> {
    let bad = || {
        CpuListError::Syntax(format!(
            "expected CPU numbers like 0, 0-1 or 0,2-3, got '{s}'"
        ))
    };
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a > b {
            return Err(bad());
        }
        if b >= CpuSet::count() {
            return Err(CpuListError::TooHigh(b));
        }
        cpus.extend(a..=b);
    }
    // Each CPU once, in the order given: the first listed is the one a demo places its tasks on
    // (context_switch's shared CPU), so `1,0` is not `0,1`.
    let mut unique = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        if !unique.contains(&cpu) {
            unique.push(cpu);
        }
    }
    Ok(CpuList(unique))
}

/// Ends the program the same way in every binary: `Ok` gives its exit code, an error is printed
/// as `<binary>: error: <cause chain>` and exits 1.
pub fn finish<E: Display>(result: std::result::Result<ExitCode, E>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: error: {e:#}", crate::kit::report::program_name());
            ExitCode::FAILURE
        }
    }
}

/// Displays an error with its whole cause chain, `outer: inner: root`, as anyhow's `{:#}` does.
pub struct Chain<E>(pub E);

impl<E: std::error::Error> Display for Chain<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Parses the command line into `A`, naming the command `name` (the binary, not the package, so
/// `--version`, usage lines and errors say `race_condition`), after `adjust` has had its say
/// (defaults that differ between binaries sharing one `Args`). Returns the command too, for
/// [`usage_error`]. Exits 2 on a usage error, as clap does.
pub fn parse<A: Parser>(
    name: &'static str,
    adjust: impl FnOnce(clap::Command) -> clap::Command,
) -> (A, clap::Command) {
    let mut command = one_rule(adjust(
        A::command()
            .name(name)
            .bin_name(name)
            .version(crate::VERSION),
    ));
    let mut argv = std::env::args_os().skip(1);
    if let Some(request) = argv.next().and_then(|a| a.into_string().ok())
        && let Some(code) = generate(&mut command, &request, argv.next())
    {
        std::process::exit(code);
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = match command.try_get_matches_from_mut(&argv) {
        Ok(matches) => matches,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            let message = not_utf8(&command, &argv[1..]);
            usage_error(&mut command, message)
        }
        Err(e) => e.exit(),
    };
    let args = A::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    (args, command)
}

/// The rules every binary's command line follows, set here once:
/// - a flag given twice is not an error, the last one wins (`--quiet -q`, `--count 5 --count
///   50`; `oslab compare` appends the user's flags to a family's own);
/// - a value that starts with `-` is the flag's value, so `--seconds -1` or `--cpu -1` is
///   refused by the flag's own range check (exit 2, naming the flag and its range) instead of
///   being "an unexpected argument '-1'". Positional arguments take negative numbers only, so a
///   flag after them is still a flag.
fn one_rule(command: clap::Command) -> clap::Command {
    fn values_may_start_with_a_hyphen(mut command: clap::Command) -> clap::Command {
        command = command.mut_args(|arg| {
            if !arg.get_action().takes_values() {
                arg
            } else if arg.is_positional() {
                arg.allow_negative_numbers(true)
            } else {
                arg.allow_hyphen_values(true)
            }
        });
        command.mut_subcommands(values_may_start_with_a_hyphen)
    }
    values_may_start_with_a_hyphen(command.args_override_self(true))
}

/// What clap's "invalid UTF-8 was detected in one or more arguments" leaves out: the flag the
/// value was given to (`--cpu $'\xff'`, `--gap=$'\xff'`) or the positional argument it is.
fn not_utf8(command: &clap::Command, argv: &[std::ffi::OsString]) -> String {
    let Some(i) = argv.iter().position(|a| a.to_str().is_none()) else {
        return "an argument is not valid UTF-8".into();
    };
    // Walk the (UTF-8) arguments before it as clap does: subcommands, flags and their values,
    // positionals.
    let (mut cmd, mut flag, mut positional, mut dashes) = (command, None, 0, false);
    for token in argv[..i].iter().filter_map(|a| a.to_str()) {
        if flag.take().is_some() {
            continue; // the value of the flag before it
        }
        if token == "--" {
            dashes = true;
        } else if token.starts_with('-') && token.len() > 1 && !dashes {
            flag = find_flag(cmd, token).filter(|a| a.get_action().takes_values());
        } else if let Some(sub) = cmd.find_subcommand(token).filter(|_| positional == 0) {
            cmd = sub;
        } else {
            positional += 1;
        }
    }
    let bytes = argv[i].as_encoded_bytes();
    let (value, arg) = match bytes.iter().position(|&b| b == b'=') {
        // `--flag=value`
        Some(eq) if bytes.starts_with(b"-") && !dashes => (
            escaped(&bytes[eq + 1..]),
            find_flag(cmd, &String::from_utf8_lossy(&bytes[..eq])),
        ),
        _ => (
            escaped(bytes),
            flag.or_else(|| {
                let mut positionals: Vec<&clap::Arg> = cmd.get_positionals().collect();
                positionals.sort_by_key(|a| a.get_index());
                positionals.get(positional).or(positionals.last()).copied()
            }),
        ),
    };
    match arg {
        Some(arg) => format!(
            "invalid value '{value}' for '{}': not valid UTF-8 (every value must be text)",
            display_arg(arg)
        ),
        None => format!("argument {} ('{value}') is not valid UTF-8", i + 1),
    }
}

/// Text as it is, a byte that is not UTF-8 as `\xFF`.
fn escaped(bytes: &[u8]) -> String {
    let mut text = String::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02X}"));
        }
    }
    text
}

/// An argument as clap's errors show it: `--cpu <LIST>`, `<PID>`.
fn display_arg(arg: &clap::Arg) -> String {
    let value = arg.get_value_names().and_then(|v| v.first()).map_or_else(
        || arg.get_id().to_string().to_uppercase(),
        |v| v.to_string(),
    );
    match (arg.get_long(), arg.get_short()) {
        (Some(long), _) => format!("--{long} <{value}>"),
        (None, Some(short)) => format!("-{short} <{value}>"),
        (None, None) => format!("<{value}>"),
    }
}

/// The flag `--name`, `-n` (or `--name=`'s name) in `command` or any of its subcommands.
fn find_flag<'c>(command: &'c clap::Command, flag: &str) -> Option<&'c clap::Arg> {
    let found = command.get_arguments().find(|a| {
        flag.strip_prefix("--")
            .is_some_and(|l| a.get_long() == Some(l))
            || (flag.len() == 2 && flag.starts_with('-') && a.get_short() == flag.chars().nth(1))
    });
    found.or_else(|| command.get_subcommands().find_map(|c| find_flag(c, flag)))
}

/// The hidden first argument that makes a binary print its man page (roff) on stdout, or,
/// followed by a directory, write its pages there (its own and one per subcommand, see
/// [`crate::kit::man`]) and print their paths; `oslab man DIR` collects them.
pub const MAN_FLAG: &str = "--oslab-man";
/// The hidden first argument, followed by a shell name, that makes a binary print its
/// completion script; `oslab completions SHELL DIR` collects them.
pub const COMPLETIONS_FLAG: &str = "--oslab-completions";

/// Answers a man-page or completions request for `command`: Some(exit code) if `request` was
/// one, None otherwise. `value` is the argument after it (the directory, the shell).
pub fn generate(
    command: &mut clap::Command,
    request: &str,
    value: Option<std::ffi::OsString>,
) -> Option<i32> {
    let mut out = std::io::stdout().lock();
    match request {
        MAN_FLAG => Some(crate::kit::man::answer(command, value.as_deref(), &mut out)),
        COMPLETIONS_FLAG => {
            let shell = value
                .and_then(|s| s.into_string().ok())
                .and_then(|s| s.parse::<clap_complete::Shell>().ok());
            let Some(shell) = shell else {
                eprintln!(
                    "{}: error: {COMPLETIONS_FLAG} takes a shell: bash, elvish, fish, powershell or zsh",
                    command.get_name()
                );
                return Some(2);
            };
            let name = command.get_name().to_string();
            clap_complete::generate(shell, command, name, &mut out);
            Some(0)
        }
        _ => None,
    }
}

/// For a flag that became a binary of its own (`condition --lost-wakeup` is `lost_wakeup`), so
/// the old command line keeps working:
/// Replaces this process with the sibling binary `binary` (beside this one), given this
/// command line without `flag`. Returns only if that fails: exit 1, with the error.
pub fn run_instead(binary: &str, flag: &str) -> std::process::ExitCode {
    use std::os::unix::process::CommandExt;
    let me = crate::kit::report::program_name();
    let path = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(binary),
        Err(e) => {
            eprintln!("{me}: error: could not find {binary}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a.as_os_str() != std::ffi::OsStr::new(flag))
        .collect();
    let e = std::process::Command::new(&path).args(args).exec();
    eprintln!("{me}: error: could not run {}: {e}", path.display());
    std::process::ExitCode::FAILURE
}

/// Exits with a usage error (exit 2) for a check clap cannot express, such as two flags whose
/// product must fit in an int.
pub fn usage_error(command: &mut clap::Command, message: impl Display) -> ! {
    command
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

/// The unit a duration flag takes a bare number in (`--sleep 100` is 100 ms): the one its value
/// name says (`<MS>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Ns,
    Us,
    Ms,
    S,
}

impl Unit {
    fn nanos(self) -> u64 {
        match self {
            Unit::Ns => 1,
            Unit::Us => 1_000,
            Unit::Ms => 1_000_000,
            Unit::S => 1_000_000_000,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Unit::Ns => "ns",
            Unit::Us => "µs",
            Unit::Ms => "ms",
            Unit::S => "s",
        }
    }
}

/// `d` as a whole number of `unit`, rounded to the nearest: for a demo whose parameter is whole
/// milliseconds (`sleep_ms`), so what it reports and what it does agree.
pub fn whole(d: Duration, unit: Unit) -> u64 {
    let n = unit.nanos() as u128;
    ((d.as_nanos() + n / 2) / n) as u64
}

/// The units a duration may be written in, with their length in ns.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000), // MICRO SIGN
    ("μs", 1_000), // GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// A duration as the duration flags take it and their help shows it: in the largest unit that
/// gives a whole number (`10ms`, `1h`, `100µs`, `0`).
pub fn spell(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0".into();
    }
    let units = [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("µs", 1_000),
        ("ns", 1),
    ];
    let (word, len) = units
        .into_iter()
        .find(|(_, len)| ns.is_multiple_of(*len))
        .expect("every duration is whole ns");
    format!("{}{word}", ns / len)
}

/// The one value parser of every duration flag: a number with its unit (`ns`, `us` or `µs`,
/// `ms`, `s`, `m`, `h`; fractions too: `0.5s`, `1.5ms`), or a bare number in `bare` (`--sleep
/// 100` with `Unit::Ms` is 100 ms, `--interval 0.5` with `Unit::S` half a second), in
/// `lo..=hi`. Its errors name the range in the words the help uses (`from 10ms to 1h`).
pub fn duration(
    lo: Duration,
    hi: Duration,
    bare: Unit,
) -> impl Fn(&str) -> std::result::Result<Duration, String> + Clone {
    move |s: &str| {
        let range = format!(
            "expected a duration from {} to {}: a number with its unit (ns, us, ms, s, m, h; 1.5ms, 0.5s) or a bare number of {}",
            spell(lo),
            spell(hi),
            bare.word()
        );
        let text = s.trim().replace('_', "");
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit_ns = match unit.trim() {
            "" => bare.nanos(),
            word => match UNITS.iter().find(|(w, _)| *w == word) {
                Some((_, ns)) => *ns,
                None => return Err(format!("{s} is not a duration: {range}")),
            },
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{s} is not a duration: {range}"))?;
        let ns = value * unit_ns as f64;
        if !ns.is_finite() || ns < lo.as_nanos() as f64 || ns > hi.as_nanos() as f64 {
            return Err(format!("{s} is out of range: {range}"));
        }
        Ok(Duration::from_nanos(ns.round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_their_bounds() {
        let p = ranged::<u32>(1, 1024);
        assert_eq!(p("2"), Ok(2));
        assert_eq!(p("1_000"), Ok(1000));
        assert!(p("0").unwrap_err().contains("from 1 to 1024"));
        assert!(p("abc").unwrap_err().contains("not a number"));
        assert!(p("-1").unwrap_err().contains("from 1 to 1024"));
        assert!(p("100000").unwrap_err().contains("out of range"));
    }

    #[test]
    fn errors_print_their_cause_chain() {
        let e = Error::sys("sched_setaffinity", nix::errno::Errno::EINVAL);
        assert_eq!(
            Chain(e).to_string(),
            "sched_setaffinity failed: EINVAL: Invalid argument"
        );
    }

    #[test]
    fn cpu_lists_parse_like_taskset() {
        assert!(matches!(
            parse_cpu_list_syntax("5000"),
            Err(CpuListError::TooHigh(5000))
        ));
        assert_eq!(parse_cpu_list_syntax("0").unwrap().0, vec![0]);
        assert_eq!(parse_cpu_list_syntax("0-2,5").unwrap().0, vec![0, 1, 2, 5]);
        assert_eq!(parse_cpu_list_syntax("1,0,1").unwrap().0, vec![1, 0]);
        assert_eq!(parse_cpu_list_syntax("2,0-1").unwrap().0, vec![2, 0, 1]);
        assert!(parse_cpu_list_syntax("2-1").is_err());
        assert!(parse_cpu_list_syntax("x").is_err());
        assert!(parse_cpu_list_syntax("").is_err());
    }

    #[test]
    fn cpus_outside_the_affinity_mask_are_refused() {
        let err = parse_cpu_list("1000").unwrap_err();
        assert!(err.contains("not usable"), "{err}");
        let first = usable_cpus()[0];
        assert_eq!(parse_cpu_list(&first.to_string()).unwrap().0, vec![first]);
    }

    #[test]
    fn durations_take_any_unit_and_a_bare_number_in_theirs() {
        let ms = Duration::from_millis;
        let p = duration(Duration::from_micros(1), Duration::from_secs(10), Unit::Us);
        assert_eq!(p("5ms"), Ok(ms(5)));
        assert_eq!(p("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(p("500µs"), Ok(Duration::from_micros(500)));
        assert_eq!(p("500μs"), Ok(Duration::from_micros(500)));
        assert_eq!(p("1.5s"), Ok(ms(1500)));
        assert_eq!(p("0.5s"), Ok(ms(500)));
        assert_eq!(p(".25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(p("2000ns"), Ok(Duration::from_micros(2)));
        assert_eq!(p("5 ms"), Ok(ms(5)));
        assert_eq!(p("100"), Ok(Duration::from_micros(100)), "bare: µs");
        assert_eq!(p("1_000"), Ok(ms(1)));
        assert_eq!(p("2.5"), Ok(Duration::from_nanos(2500)));
        let hour = duration(
            Duration::from_millis(10),
            Duration::from_secs(3600),
            Unit::S,
        );
        assert_eq!(hour("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(hour("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(hour("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(hour("0.5"), Ok(ms(500)), "bare: seconds, as watch -n 0.5");
        assert_eq!(hour("10ms"), Ok(ms(10)));
        let ns = duration(Duration::from_nanos(1), Duration::from_secs(1), Unit::Ns);
        assert_eq!(ns("50000"), Ok(Duration::from_micros(50)));
        assert_eq!(ns("50us"), Ok(Duration::from_micros(50)));
    }

    #[test]
    fn durations_out_of_range_name_the_range_as_the_help_does() {
        let p = duration(
            Duration::from_millis(10),
            Duration::from_secs(3600),
            Unit::S,
        );
        for bad in ["1.5h", "61m", "9ms", "0", "-1", "-1s", "3601"] {
            let e = p(bad).unwrap_err();
            assert!(e.contains("out of range"), "{bad}: {e}");
            assert!(e.contains("from 10ms to 1h"), "{bad}: {e}");
            assert!(e.contains("a bare number of s"), "{bad}: {e}");
        }
        for bad in ["5 parsecs", "ms", "1..2s", "5sec", "x", "inf", "NaN", ""] {
            let e = p(bad).unwrap_err();
            assert!(e.contains("not a duration"), "{bad}: {e}");
            assert!(e.contains("from 10ms to 1h"), "{bad}: {e}");
        }
        let zero = duration(Duration::ZERO, Duration::from_secs(60), Unit::Ms);
        assert_eq!(zero("0"), Ok(Duration::ZERO));
        assert!(zero("61s").unwrap_err().contains("from 0 to 1m"));
    }

    #[test]
    fn durations_are_spelled_in_their_largest_whole_unit() {
        assert_eq!(spell(Duration::ZERO), "0");
        assert_eq!(spell(Duration::from_secs(3600)), "1h");
        assert_eq!(spell(Duration::from_secs(90)), "90s");
        assert_eq!(spell(Duration::from_secs(60)), "1m");
        assert_eq!(spell(Duration::from_millis(100)), "100ms");
        assert_eq!(spell(Duration::from_micros(1)), "1µs");
        assert_eq!(spell(Duration::from_micros(1500)), "1500µs");
        assert_eq!(spell(Duration::from_nanos(7)), "7ns");
        // What spell prints, the parser takes back.
        let p = duration(Duration::ZERO, Duration::from_secs(7200), Unit::S);
        for d in [3600, 60, 1].map(Duration::from_secs) {
            assert_eq!(p(&spell(d)), Ok(d));
        }
    }
}
