//! Helpers shared by the integration tests: running the real binaries with a timeout, reading
//! their output, JSON and CSV, looking at processes through `/proc`, and the demo lists, taken
//! from the catalogue. The checks of one family live with its tests (the race family's in
//! `race.rs`).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use predicates::prelude::*;
use serde_json::Value;

/// Every process a test starts is killed after this long, so nothing hangs.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Every demo in the catalogue (not the umbrella), in the catalogue's order.
pub fn demos() -> impl Iterator<Item = &'static str> {
    oslab::catalogue::DEMOS.iter().map(|d| d.name)
}

/// The demos of one chapter of the catalogue.
pub fn chapter(chapter: oslab::catalogue::Chapter) -> Vec<&'static str> {
    oslab::catalogue::DEMOS
        .iter()
        .filter(|d| d.chapter == chapter)
        .map(|d| d.name)
        .collect()
}

/// The binaries of an `oslab compare` family, in its order, each once (a member is a binary and
/// its flags).
pub fn family(name: &str) -> Vec<&'static str> {
    let family = oslab::catalogue::family(name).unwrap_or_else(|| panic!("no family {name}"));
    let mut binaries: Vec<&'static str> = Vec::new();
    for member in family.members {
        let binary = member
            .split_whitespace()
            .next()
            .expect("a member names a binary");
        if !binaries.contains(&binary) {
            binaries.push(binary);
        }
    }
    binaries
}

/// The path Cargo built a binary at: beside the umbrella, for `oslab` and every demo in the
/// catalogue (a name the catalogue does not know is a bug in the test).
pub fn exe(name: &str) -> String {
    let oslab = std::path::Path::new(env!("CARGO_BIN_EXE_oslab"));
    assert!(
        name == "oslab" || oslab::catalogue::find(name).is_some(),
        "no binary {name} in the catalogue"
    );
    oslab.with_file_name(name).to_string_lossy().into_owned()
}

/// An assert_cmd command for a binary, with the suite's timeout.
pub fn demo(name: &str) -> Command {
    let mut cmd = Command::new(exe(name));
    cmd.timeout(TIMEOUT);
    cmd
}

/// Runs a binary that must succeed and returns its stdout.
pub fn stdout_of(name: &str, args: &[&str]) -> String {
    let out = demo(name)
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs a binary with `--format json` (added here) and parses its stdout as one JSON document.
pub fn json_of(name: &str, args: &[&str]) -> Value {
    let stdout = stdout_of(name, &[args, &["--format", "json"]].concat());
    parse_json(name, &stdout)
}

/// Parses stdout as exactly one JSON document (trailing text is an error).
pub fn parse_json(name: &str, stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON document ({e}):\n{stdout}"))
}

/// True if `text` matches the regular expression `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    predicate::str::is_match(pattern)
        .expect("valid regex")
        .eval(text)
}

/// A JSON value that must be an unsigned integer.
pub fn uint(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what} should be a non-negative integer, is {v}"))
}

/// A JSON value that must be an integer.
pub fn int(v: &Value, what: &str) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{what} should be an integer, is {v}"))
}

/// Splits one CSV line into its cells, honouring `"..."` quoting (`""` inside quotes is `"`).
pub fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let cell = cells.last_mut().expect("at least one cell");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.is_empty() => quoted = true,
            (',', false) => cells.push(String::new()),
            (c, _) => cell.push(c),
        }
    }
    assert!(!quoted, "unterminated quote in CSV line {line:?}");
    cells
}

/// How many CPUs this (test) process may run on; the demos inherit the mask.
pub fn usable_cpus() -> Vec<usize> {
    let set =
        nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("sched_getaffinity");
    (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// The fields of `/proc/PID/stat` after the command name: index 0 is field 3 (state), 1 is the
/// ppid (field 4), 2 the process group (field 5). None if the process is gone.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain ") ", so split at the last one.
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Every process on the system (not threads: /proc lists thread groups only).
fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The processes whose parent is `pid`, from the ppid field of `/proc/*/stat`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let ppid = pid.to_string();
    all_pids()
        .into_iter()
        .filter(|&p| stat_fields(p).is_some_and(|f| f.get(1) == Some(&ppid)))
        .collect()
}

/// The processes in process group `pgid` (a demo started with `process_group(0)` leads its own
/// group, and its children stay in it even when they are orphaned and re-parented).
pub fn group_members(pgid: i32) -> Vec<i32> {
    let pgid = pgid.to_string();
    all_pids()
        .into_iter()
        .filter(|&p| stat_fields(p).is_some_and(|f| f.get(2) == Some(&pgid)))
        .collect()
}

/// True once the process has a handler installed for `signal` (the SigCgt mask in
/// `/proc/PID/status`), so sending it will not simply kill the process.
pub fn catches(pid: i32, signal: nix::sys::signal::Signal) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal as i32 - 1)) != 0)
}

/// Polls `condition` every few milliseconds until it holds; panics after [`TIMEOUT`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for a child; if it has not exited within `limit`, kills and reaps it and panics.
pub fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {limit:?}", child.id());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A running child's stdout, read line by line on a thread of its own, so a test can wait for a
/// line (with the suite's timeout) while the child keeps running.
pub struct LineCollector {
    lines: Arc<Mutex<Vec<String>>>,
    reader: thread::JoinHandle<()>,
}

impl LineCollector {
    /// Starts reading `stdout` (taken from a child spawned with `Stdio::piped()`).
    pub fn start(stdout: impl Read + Send + 'static) -> LineCollector {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("lines").push(line);
            }
        });
        LineCollector { lines, reader }
    }

    /// The lines read so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits until every one of `wanted` has been printed (panics after [`TIMEOUT`]).
    pub fn wait_for(&self, wanted: &[&str]) {
        wait_until(&format!("the lines {wanted:?} are printed"), || {
            let lines = self.lines();
            wanted.iter().all(|w| lines.iter().any(|l| l == w))
        });
    }

    /// Every line, once the child has exited (its end of the pipe closed).
    pub fn finish(self) -> Vec<String> {
        self.reader.join().expect("the reader thread");
        Arc::try_unwrap(self.lines)
            .expect("the reader is done")
            .into_inner()
            .expect("lines")
    }
}

/// Runs `name args`, expecting a usage error (exit 2) whose stderr contains every `needle`
/// and nothing on stdout.
pub fn usage_error(name: &str, args: &[&str], needles: &[&str]) {
    let out = demo(name).args(args).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{name} {args:?}: stderr should mention {needle:?}:\n{stderr}"
        );
    }
    assert!(out.stdout.is_empty(), "{name} {args:?}: stdout not empty");
}

/// `--help` names the lecture's program and gives an example that starts with the binary.
pub fn check_help(name: &str, program: &str) {
    let help = stdout_of(name, &["--help"]);
    assert!(
        help.contains(program),
        "{name} --help names {program}:\n{help}"
    );
    assert!(
        help.contains(&format!("Example: {name}")),
        "{name} --help has an example:\n{help}"
    );
    let version = stdout_of(name, &["--version"]);
    assert!(version.starts_with(&format!("{name} ")), "{version}");
    // The version names the commit it was built from.
    assert!(
        matches(
            r"^\S+ \d+\.\d+\.\d+ \(([0-9a-f]{12}(-dirty)?|unknown)\)$",
            version.trim()
        ),
        "{version}"
    );
}

/// A demo running in its own process group, its stdout and stderr read on threads of their own.
pub struct Running {
    pub child: Child,
    pub pid: i32,
    pub out: LineCollector,
    err: LineCollector,
}

impl Running {
    /// Starts `name args` with `stdin` (`Stdio::piped()` to write to it, or keep it open).
    pub fn start(name: &str, args: &[&str], stdin: Stdio) -> Running {
        let mut child = StdCommand::new(exe(name))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("spawn");
        let pid = child.id() as i32;
        let out = LineCollector::start(child.stdout.take().expect("stdout"));
        let err = LineCollector::start(child.stderr.take().expect("stderr"));
        Running {
            child,
            pid,
            out,
            err,
        }
    }

    /// Once the demo catches `signal` (its handler is installed) and `settle` has passed,
    /// sends it.
    pub fn interrupt(&self, signal: Signal, settle: Duration) {
        wait_until("the demo catches the signal", || catches(self.pid, signal));
        thread::sleep(settle);
        kill(Pid::from_raw(self.pid), signal).expect("kill");
    }

    /// Waits for the exit (killing it after `limit`), checks that nothing is left in its
    /// process group and that it did not panic; returns (status, stdout, stderr).
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = wait_within(&mut self.child, limit);
        let stdout = self.out.finish().join("\n");
        let stderr = self.err.finish().join("\n");
        assert!(
            group_members(self.pid).is_empty(),
            "processes left in the demo's group"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        (status, stdout, stderr)
    }
}

/// Runs `name args` in its own process group with `stdin` as its input, expecting exit `code`;
/// checks nothing is left of it afterwards and returns (stdout, stderr).
pub fn run_alone(name: &str, args: &[&str], stdin: &str, code: i32) -> (String, String) {
    let mut run = Running::start(name, args, Stdio::piped());
    let mut input = run.child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input); // end of input
    let (status, stdout, stderr) = run.finish(TIMEOUT);
    assert_eq!(
        status.code(),
        Some(code),
        "{name} {args:?}: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// A CSV document checked for shape: a header (the one docs/output.md documents, starting with
/// `documented_prefix`), then `rows` rows as wide as the header, each starting with the demo's
/// name.
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    pub fn parse(name: &str, csv: &str, rows: usize, documented_prefix: &str) -> CsvTable {
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines.len(),
            rows + 1,
            "{name}: a header and {rows} rows:\n{csv}"
        );
        assert_eq!(
            lines[0],
            documented_line(documented_prefix),
            "{name}: docs/output.md documents the header"
        );
        let header = csv_cells(lines[0]);
        let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| csv_cells(l)).collect();
        for row in &rows {
            assert_eq!(row.len(), header.len(), "{name}: {row:?} vs {header:?}");
            assert_eq!(row[0], name);
        }
        CsvTable { header, rows }
    }

    /// The index of column `h`.
    pub fn col(&self, h: &str) -> usize {
        self.header
            .iter()
            .position(|c| c == h)
            .unwrap_or_else(|| panic!("no column {h} in {:?}", self.header))
    }
}

/// The project's file at `path` (`README.md`, `docs/output.md`).
pub fn project_file(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The line of docs/output.md that starts with `prefix` (a documented CSV header).
pub fn documented_line(prefix: &str) -> String {
    project_file("docs/output.md")
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("docs/output.md has no line starting {prefix:?}"))
        .to_string()
}

/// Starts `cmd` in a process group of its own, waits until it catches `signal` (calling
/// `started` with its PID) and has worked for `settle`, sends `signal`, and returns (exit code,
/// stdout, stderr) once it has exited, within 20 s. Nothing may be left in its group.
pub fn signal_midway(
    cmd: &mut std::process::Command,
    signal: nix::sys::signal::Signal,
    settle: Duration,
    started: impl FnOnce(i32),
) -> (Option<i32>, String, String) {
    let send = |pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("kill");
    signal_midway_as(cmd, signal, settle, started, send)
}

/// [`signal_midway`], with the signal sent by `send` (given the PID, which is also the group's).
pub fn signal_midway_as(
    cmd: &mut std::process::Command,
    signal: nix::sys::signal::Signal,
    settle: Duration,
    started: impl FnOnce(i32),
    send: impl FnOnce(i32),
) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    // Read both streams as they come: a demo that prints much must not block on a full pipe.
    let out = LineCollector::start(child.stdout.take().expect("stdout"));
    let err = LineCollector::start(child.stderr.take().expect("stderr"));
    wait_until("the demo catches the signal", || catches(pid, signal));
    started(pid);
    thread::sleep(settle);
    send(pid);
    // The demos look for the signal between units of work: the exit comes promptly; the limit
    // only stops a hang.
    let status = wait_within(&mut child, Duration::from_secs(20));
    let (stdout, stderr) = (out.finish().join("\n"), err.finish().join("\n"));
    assert!(
        group_members(pid).is_empty(),
        "{cmd:?}: processes left in its group"
    );
    (status.code(), stdout, stderr)
}

/// Runs `name args` to success in a process group of its own (any process it creates stays in
/// the group, even re-parented) and checks that neither a child nor a group member is left, and
/// that the test itself no longer has it as a child.
pub fn leaves_nothing_behind(name: &str, args: &[&str]) {
    use std::os::unix::process::CommandExt;
    let me = std::process::id() as i32;
    let mut child = std::process::Command::new(exe(name))
        .args(args)
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let status = wait_within(&mut child, TIMEOUT);
    assert!(status.success(), "{name}: {status}");
    assert_eq!(children_of(pid), Vec::<i32>::new(), "{name}: children left");
    assert_eq!(group_members(pid), Vec::<i32>::new(), "{name}: group left");
    let ours: Vec<i32> = children_of(me).into_iter().filter(|&c| c == pid).collect();
    assert!(
        ours.is_empty(),
        "{name}: the test still has children {ours:?}"
    );
}

#[test]
fn csv_cells_honour_quotes() {
    assert_eq!(
        csv_cells(r#"a,"b, c",,"say ""hi""""#),
        ["a", "b, c", "", r#"say "hi""#]
    );
}

/// `setpriv` to run a demo as `nobody` (65534), for whom RLIMIT_NPROC, RLIMIT_MEMLOCK and file
/// permissions apply, with `wrapper` (say `prlimit --nproc=3`) between setpriv and the demo;
/// None (the test says it skipped, and why) without root or setpriv. The command runs a copy of
/// the binary (see [`Copied`]); it derefs to the `Command`.
pub fn as_nobody(name: &str, wrapper: &[&str]) -> Option<AsNobody> {
    if !setpriv_can(&["--reuid=65534"], &format!("run {name} as nobody")) {
        return None;
    }
    let copy = Copied::new(name);
    let mut cmd = StdCommand::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(wrapper)
        .arg(&copy.exe);
    Some(AsNobody { cmd, _copy: copy })
}

/// True if root may run `setpriv ARGS true` here; if not, the test says it skips `what`.
pub fn setpriv_can(args: &[&str], what: &str) -> bool {
    let works = StdCommand::new("setpriv")
        .args(args)
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    let can = nix::unistd::geteuid().is_root() && works;
    if !can {
        eprintln!("skipped: needs root and setpriv to {what}");
    }
    can
}

/// A command that runs a copied demo as nobody; the copy goes when it does.
pub struct AsNobody {
    cmd: StdCommand,
    _copy: Copied,
}

impl std::ops::Deref for AsNobody {
    type Target = StdCommand;
    fn deref(&self) -> &StdCommand {
        &self.cmd
    }
}

impl std::ops::DerefMut for AsNobody {
    fn deref_mut(&mut self) -> &mut StdCommand {
        &mut self.cmd
    }
}

/// A copy of a demo in a new directory under /tmp that any user may enter (0755): the clone may
/// sit below a directory another user cannot reach (a 0700 home), where running it as nobody
/// fails with `Permission denied`. Removed on drop.
pub struct Copied {
    dir: std::path::PathBuf,
    pub exe: String,
}

impl Copied {
    pub fn new(name: &str) -> Copied {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("oslab-{name}-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        let exe = dir.join(name);
        // Copied by `cp`, not here: a file this process has open for writing is inherited by
        // any child another test forks meanwhile, and exec of it then fails with ETXTBSY
        // ("Text file busy") until that child has exec'd (rust-lang/rust#114554).
        let copied = StdCommand::new("cp")
            .arg(self::exe(name))
            .arg(&exe)
            .status()
            .expect("cp");
        assert!(copied.success(), "cp {name}: {copied}");
        Copied {
            exe: exe.to_string_lossy().into_owned(),
            dir,
        }
    }
}

impl Drop for Copied {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A temporary directory for a test's files, removed when it is dropped.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(tempfile::tempdir().expect("a temporary directory"))
    }

    /// Files in it, as the strings a command line takes: `let [json, md] = dir.paths([...])`.
    pub fn paths<const N: usize>(&self, names: [&str; N]) -> [String; N] {
        names.map(|name| self.0.path().join(name).to_string_lossy().into_owned())
    }
}
