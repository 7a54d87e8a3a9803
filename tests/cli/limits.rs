//! Limits, checked before use and named when they refuse: a pids cgroup (fork_celsius refuses
//! before forking; a thread or fork refused mid-run names the cgroup), a memory cgroup
//! (sum_array, cow_overhead, spawn_cost refuse before touching memory instead of being
//! OOM-killed), RLIMIT_AS (sum_array refuses instead of aborting), RLIMIT_MEMLOCK (sleep_jitter
//! --mlock as an unprivileged user never aborts).
//!
//! The cgroup tests make a cgroup of their own below this process's cgroup of the controller
//! (v1, or v2 where the controller is enabled for children), start the demo in it through
//! `sh -c 'echo $$ > cgroup.procs; exec demo …'`, and remove it once the demo has exited. That
//! needs root and a mounted controller: without them, a test prints why it is skipped and
//! returns.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

/// A cgroup made for one test; removed (once empty) on drop.
struct Cgroup {
    dir: PathBuf,
}

impl Cgroup {
    /// A new cgroup of `controller` below this process's own, with `settings` written into its
    /// files (`pids.max`, `memory.limit_in_bytes` or `memory.max`: the first of each `(v1, v2)`
    /// pair that exists). None, said on stderr, when it cannot be made here.
    fn new(controller: &str, settings: &[((&str, &str), &str)]) -> Option<Cgroup> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: making a {controller} cgroup needs root");
            return None;
        }
        let Some(parent) = own_cgroup_dir(controller) else {
            eprintln!("skipped: no {controller} cgroup controller is mounted (v1 or v2)");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "oslab-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            eprintln!("skipped: cannot make the cgroup {}: {e}", dir.display());
            return None;
        }
        let cgroup = Cgroup { dir };
        for ((v1, v2), value) in settings {
            let file = [v1, v2]
                .iter()
                .map(|f| cgroup.dir.join(f))
                .find(|f| f.exists());
            let written = file.map(|f| std::fs::write(&f, value));
            if !matches!(written, Some(Ok(()))) {
                eprintln!(
                    "skipped: cannot set {v1} in {}: {written:?}",
                    cgroup.dir.display()
                );
                return None; // dropped: removed
            }
        }
        Some(cgroup)
    }

    /// Runs `program args` inside the cgroup: (exit code, stdout, stderr).
    fn run(&self, program: &str, args: &[&str]) -> (Option<i32>, String, String) {
        let procs = self.dir.join("cgroup.procs");
        let procs = procs.to_string_lossy();
        let mut all = vec![
            "-c",
            r#"echo $$ > "$0" && exec "$@""#,
            procs.as_ref(),
            program,
        ];
        all.extend_from_slice(args);
        output_of("sh", &all)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The demo has exited; its cgroup may take a moment to be empty of it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// This process's cgroup directory for `controller`: the v1 hierarchy that has it, else the v2
/// one if the controller is enabled for children there.
fn own_cgroup_dir(controller: &str) -> Option<PathBuf> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = |v1: bool| {
        mounts.lines().find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mut right = right.split(' ');
            let (fstype, _, options) = (right.next()?, right.next()?, right.next()?);
            let wanted = if v1 {
                fstype == "cgroup" && options.split(',').any(|o| o == controller)
            } else {
                fstype == "cgroup2"
            };
            wanted.then(|| left.split(' ').nth(4).map(PathBuf::from))?
        })
    };
    for line in cgroups.lines() {
        let mut f = line.splitn(3, ':');
        let (id, list, path) = (f.next()?, f.next()?, f.next()?);
        let path = path.trim_start_matches('/');
        if list.split(',').any(|c| c == controller) {
            return mount(true).map(|m| m.join(path));
        }
        if id == "0" && list.is_empty() {
            let dir = mount(false)?.join(path);
            let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control"))
                .is_ok_and(|s| s.split_whitespace().any(|c| c == controller));
            if enabled {
                return Some(dir);
            }
        }
    }
    None
}

/// Runs `program args` with the suite's timeout: (exit code, stdout, stderr).
fn output_of(program: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::new(program)
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A demo in a memory cgroup of 128 MiB that asks for more: refused before it touches the
/// memory (exit 1, naming the cgroup and the sizes), not OOM-killed (exit 137, no word).
fn refused_in_a_small_memory_cgroup(name: &str, args: &[&str], needs: &str) {
    let Some(cgroup) = Cgroup::new(
        "memory",
        &[(("memory.limit_in_bytes", "memory.max"), "134217728")],
    ) else {
        return;
    };
    let (code, stdout, stderr) = cgroup.run(&exe(name), args);
    assert_eq!(code, Some(1), "{name} {args:?}: {stderr}");
    let start = format!("{name}: error: ");
    assert!(stderr.starts_with(&start), "{stderr}");
    assert!(stderr.contains(needs), "{stderr}");
    assert!(
        stderr.contains("more fit in the memory cgroup /"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(memory.limit_in_bytes 128 MiB, ")
            || stderr.contains("(memory.max 128 MiB, "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Refused before the run: no lecture line, no analysis.
    assert!(!stdout.contains("verdict:"), "{stdout}");
}

#[test]
fn sum_array_refuses_an_array_larger_than_its_memory_cgroup() {
    refused_in_a_small_memory_cgroup(
        "sum_array",
        &["2", "--len", "100000000"],
        "an array of 100000000 ints needs 381.5 MiB",
    );
}

#[test]
fn cow_overhead_refuses_pages_larger_than_its_memory_cgroup() {
    refused_in_a_small_memory_cgroup(
        "cow_overhead",
        &["--pages", "65536"],
        "65536 pages of 4096 B, and the child's copies of them, needs 512 MiB",
    );
}

#[test]
fn spawn_cost_refuses_an_rss_larger_than_its_memory_cgroup() {
    refused_in_a_small_memory_cgroup(
        "spawn_cost",
        &["--rss", "300", "--count", "10"],
        "--rss 300 needs 300 MiB",
    );
}

/// `fork_celsius 50` in a pids cgroup of 10: exit 1 before the first fork, naming the cgroup
/// (it used to fork 9 children and then fail with a bare EAGAIN).
#[test]
fn fork_celsius_checks_its_pids_cgroup_before_forking() {
    let Some(cgroup) = Cgroup::new("pids", &[(("pids.max", "pids.max"), "10")]) else {
        return;
    };
    let (code, stdout, stderr) = cgroup.run(&exe("fork_celsius"), &["50"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        matches(
            r"^fork_celsius: error: 50 new processes do not fit: only 9 more are allowed by the pids cgroup /\S*oslab-test-\S+ \(pids\.max 10, 1 in use\)\n$",
            &stderr
        ),
        "{stderr}"
    );
    assert!(!stdout.contains(" F is "), "a child was forked: {stdout}");
}

/// A thread that a pids cgroup refuses: the error names the cgroup, its pids.max and what is in
/// use, besides the errno.
#[test]
fn a_thread_refused_by_the_pids_cgroup_names_it() {
    let Some(cgroup) = Cgroup::new("pids", &[(("pids.max", "pids.max"), "4")]) else {
        return;
    };
    let (code, _, stderr) = cgroup.run(&exe("race_condition"), &["--threads", "8"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        matches(
            r"^race_condition: error: could not start thread \d of 8 \(the kernel refused pthread_create, at the limit of the pids cgroup /\S*oslab-test-\S+ \(pids\.max 4, 4 in use\)\): Resource temporarily unavailable",
            &stderr
        ),
        "{stderr}"
    );
}

/// A fork that a pids cgroup refuses mid-run (cow_overhead has no process check of its own):
/// `fork failed: EAGAIN — at the limit of the pids cgroup …`, not a bare EAGAIN.
#[test]
fn a_fork_refused_by_the_pids_cgroup_names_it() {
    let Some(cgroup) = Cgroup::new("pids", &[(("pids.max", "pids.max"), "1")]) else {
        return;
    };
    let (code, _, stderr) = cgroup.run(&exe("cow_overhead"), &["--pages", "16"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        matches(
            r"^cow_overhead: error: .*fork failed: EAGAIN — at the limit of the pids cgroup /\S*oslab-test-\S+ \(pids\.max 1, 1 in use\)\n$",
            &stderr
        ),
        "{stderr}"
    );
}

/// Under RLIMIT_AS an array that does not fit is refused, naming the limit and what is mapped
/// (it used to abort: `memory allocation of 400000000 bytes failed`, exit 134).
#[test]
fn sum_array_refuses_an_array_beyond_rlimit_as() {
    let (code, _, stderr) = output_of(
        "prlimit",
        &[
            "--as=200000000",
            &exe("sum_array"),
            "2",
            "--len",
            "100000000",
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        matches(
            r"^sum_array: error: an array of 100000000 ints needs 381\.5 MiB, but only [\d.]+ MiB more fit under RLIMIT_AS \(190\.7 MiB, [\d.]+ [KM]iB mapped\)\n$",
            &stderr
        ),
        "{stderr}"
    );
}

/// sleep_jitter --mlock as an unprivileged user with RLIMIT_MEMLOCK 8 MiB and samples that do
/// not fit beside the program: the samples are reserved before mlockall and the lock is
/// refused, naming RLIMIT_MEMLOCK; the run goes on unlocked (it used to abort, exit 134, when
/// the buffers grew past the limit after mlockall). Needs root to run as nobody.
#[test]
fn sleep_jitter_mlock_beyond_rlimit_memlock_is_refused_by_name_never_aborted() {
    let Some((code, stdout, stderr)) = sleep_jitter_as_nobody_with_8_mib_locked(&[
        "--count",
        "100000",
        "--interval",
        "1us",
        "--mode",
        "busy",
        "--mlock",
        "--format",
        "json",
    ]) else {
        return;
    };
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?} (never an abort): {stderr}"
    );
    assert!(stderr.contains("RLIMIT_MEMLOCK"), "{stderr}");
    assert!(stderr.contains("8 MiB"), "{stderr}");
    if code == Some(0) {
        let doc = parse_json("sleep_jitter", &stdout);
        assert_eq!(
            uint(&doc["results"]["trials"][0]["sleeps"], "sleeps"),
            100000
        );
        assert_eq!(doc["results"]["refused"][0]["capability"], "CAP_IPC_LOCK");
    }
}

/// The issue's run: `sleep_jitter --count 50000 --mlock` as nobody under the default
/// RLIMIT_MEMLOCK of 8 MiB (set here: it cannot be raised without CAP_SYS_RESOURCE). Memory is
/// locked for the sleeps (or, if the program and its samples do not fit, the lock is refused
/// naming RLIMIT_MEMLOCK), and the report, made after them, is not held to the limit: it used
/// to abort (exit 134) allocating the CSV rows under MCL_FUTURE.
#[test]
fn sleep_jitter_mlock_as_nobody_reports_its_run() {
    let Some((code, stdout, stderr)) = sleep_jitter_as_nobody_with_8_mib_locked(&[
        "--count",
        "50000",
        "--interval",
        "1us",
        "--mode",
        "busy",
        "--mlock",
    ]) else {
        return;
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("× 50000, each timed"), "{stdout}");
    assert!(stdout.contains("\nverdict: "), "{stdout}");
    let locked = matches(r"(?m)^in force: .*, [\d.]+ [KM]iB locked,", &stdout);
    assert!(
        locked || stderr.contains("RLIMIT_MEMLOCK (`ulimit -l`, 8 MiB)"),
        "neither locked nor refused by name: {stdout}{stderr}"
    );
}

/// `sleep_jitter ARGS` as nobody (for whom RLIMIT_MEMLOCK applies) with RLIMIT_MEMLOCK 8 MiB,
/// the default `ulimit -l`: (exit code, stdout, stderr); None without root or setpriv.
fn sleep_jitter_as_nobody_with_8_mib_locked(
    args: &[&str],
) -> Option<(Option<i32>, String, String)> {
    let mut cmd = as_nobody("sleep_jitter", &["prlimit", "--memlock=8388608:8388608"])?;
    let out = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    Some((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}
