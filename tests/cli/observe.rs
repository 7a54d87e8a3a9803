//! proc_watch: the lecture's second terminal.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::*;

/// The minor faults of each line of proc_watch's text table (the rows that start with a time).
fn minflt_column(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            let t = cells.next()?;
            t.strip_suffix('s')?.parse::<f64>().ok()?;
            cells.next()?.parse().ok()
        })
        .collect()
}

#[test]
fn a_missing_pid_is_a_clear_error() {
    demo("proc_watch")
        .arg("999999999")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no process 999999999"));
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["1", "--interval", "0ms"][..],
        &["1", "--interval", "2h"],
        &["1", "--interval", "5 parsecs"],
        &["1", "--count", "0"],
        &["0"],
        &["--forest", "1"],
        &["--count", "2"],
        &["--interval", "1s"],
    ] {
        demo("proc_watch").args(args).assert().code(2);
    }
}

#[test]
fn watching_a_started_command_counts_its_faults_until_it_exits() {
    // The sleep lets proc_watch take its first reading before dd faults in a 16 MiB buffer
    // (4096 pages), so those faults fall inside the watch.
    let out = stdout_of(
        "proc_watch",
        &[
            "--interval",
            "50ms",
            "--format",
            "json",
            "--",
            "sh",
            "-c",
            "sleep 0.3; exec dd if=/dev/zero of=/dev/null bs=16M count=2 status=none",
        ],
    );
    let doc = parse_json("proc_watch", &out);
    let results = &doc["results"];
    let samples = results["samples"].as_array().expect("samples");
    assert!(!samples.is_empty(), "{out}");
    for s in samples {
        assert_eq!(s["kind"], "sample", "{s}");
    }
    let summary = &results["total"];
    assert_eq!(summary["kind"], "summary");
    assert_eq!(results["exit"]["how"], "code");
    assert_eq!(results["exit"]["code"], 0);
    let faults: u64 = samples.iter().map(|s| uint(&s["minflt"], "minflt")).sum();
    assert_eq!(uint(&summary["minflt"], "summary minflt"), faults);
    assert!(
        faults >= 1000,
        "dd's 16 MiB buffer should fault in: {faults}\n{out}"
    );
    assert!(doc["headline"].as_str().unwrap().contains("minor faults"));
    assert_eq!(doc["verdict"]["held"], true, "{out}");
}

#[test]
fn count_stops_after_n_lines_and_leaves_the_process_alone() {
    let mut sleeper = StdCommand::new("sleep").arg("5").spawn().expect("sleep");
    let pid = sleeper.id().to_string();
    let out = stdout_of("proc_watch", &[&pid, "--interval", "20ms", "--count", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    // Title, header, three lines, totals; then the analysis and the kit's closing lines.
    let closing = lines.iter().position(|l| l.starts_with("verdict:"));
    assert!(closing.is_some_and(|v| v >= 6), "{out}");
    assert!(
        lines[6..]
            .iter()
            .all(|l| !l.starts_with(char::is_whitespace)),
        "more than three lines: {out}"
    );
    assert!(lines[0].contains(&format!("PID {pid} (sleep)")), "{out}");
    assert!(
        lines[1].contains("minflt") && lines[1].contains("nonvol_cs"),
        "{out}"
    );
    assert!(lines[5].starts_with("3 lines; totals"), "{out}");
    assert_eq!(
        sleeper.try_wait().expect("wait"),
        None,
        "proc_watch must not touch it"
    );
    sleeper.kill().expect("kill");
    sleeper.wait().expect("reap");

    let csv = stdout_of(
        "proc_watch",
        &["1", "--interval", "20ms", "--count", "2", "--format", "csv"],
    );
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(
        rows[0],
        documented_line("demo,pid,command,interval_ns,count,cpu,kind,t_s,minflt"),
        "{csv}"
    );
    assert_eq!(csv_cells(rows[1]).len(), csv_cells(rows[0]).len());
}

#[test]
fn the_forest_shows_this_test_under_its_parent_and_proc_watch_under_it() {
    let doc = parse_json(
        "proc_watch",
        &stdout_of("proc_watch", &["--forest", "--format", "json"]),
    );
    let rows = doc["results"]["rows"]
        .as_array()
        .expect("an array of processes");
    let me = std::process::id() as i64;
    let my_parent = std::os::unix::process::parent_id() as i64;
    let index = |pid: i64| rows.iter().position(|r| r["pid"] == pid);
    let mine = index(me).expect("the test process is listed");
    let parent = index(my_parent).expect("its parent is listed");
    assert!(parent < mine, "a parent comes before its children");
    assert_eq!(rows[mine]["ppid"], my_parent);
    assert_eq!(
        rows[mine]["depth"].as_u64().unwrap(),
        rows[parent]["depth"].as_u64().unwrap() + 1
    );
    let watcher = rows
        .iter()
        .position(|r| r["comm"] == "proc_watch" && r["ppid"] == me)
        .expect("proc_watch itself, a child of the test");
    assert!(watcher > mine);

    let text = stdout_of("proc_watch", &["--forest"]);
    assert!(text.lines().next().unwrap().contains("PID"), "{text}");
    assert!(text.contains("\\_ proc_watch"), "{text}");
}

/// `ps -o stat=` for each PID, as real ps prints it.
fn ps_stat(pids: &[i32]) -> Vec<(i32, String)> {
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let out = StdCommand::new("ps")
        .args(["-o", "pid=,stat=", "-p", &list.join(",")])
        .output()
        .expect("ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            Some((cells.next()?.parse().ok()?, cells.next()?.to_string()))
        })
        .collect()
}

#[test]
fn the_forest_prints_ps_stat_column_as_the_slide_shows_it() {
    // The slide's `ps -e --forest -o pid,ppid,rss,vsz,etime,stat,comm`, rows like
    // `19814 19813 6420 11256 09:03:34 Ss \_ bash` and `20661 20658 74072 931768 05:43:41 Sl+ \_ node`.
    // Sleepers whose STAT is known: a niced session leader (SNs) and, as root, a high-priority
    // one (S<).
    let spawn = |args: &[&str]| {
        StdCommand::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let mut sleepers = vec![spawn(&["setsid", "nice", "-n", "5", "sleep", "30"])];
    if nix::unistd::geteuid().is_root() {
        sleepers.push(spawn(&["nice", "-n", "-3", "sleep", "30"]));
    }
    let pids: Vec<i32> = sleepers.iter().map(|c| c.id() as i32).collect();
    for &pid in &pids {
        wait_until("the sleeper has exec'd sleep", || {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        });
    }
    // A second thread of this process for as long as the forest is read: `l`.
    let (hold, held) = std::sync::mpsc::channel::<()>();
    let second = thread::spawn(move || held.recv());
    let text = stdout_of("proc_watch", &["--forest"]);
    let me = std::process::id() as i32;
    let real = ps_stat(&[&pids[..], &[1, me]].concat());
    drop(hold);
    second.join().expect("join").ok();
    for mut c in sleepers {
        c.kill().expect("kill");
        c.wait().expect("wait");
    }

    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["PID", "PPID", "RSS", "VSZ", "ELAPSED", "STAT", "COMMAND"],
        "{text}"
    );
    let row =
        r"^ *\d+ +\d+ +\d+ +\d+ +(\d+-)?(\d\d:)?\d\d:\d\d [A-Za-z][<N]?L?s?l?\+?( +| +\\_ )\S";
    let mut ours = std::collections::HashMap::new();
    for line in lines.take_while(|l| !l.is_empty() && !l.contains(": ")) {
        assert!(
            matches(row, line),
            "not a ps --forest row: {line:?}\n{text}"
        );
        let cells: Vec<&str> = line.split_whitespace().collect();
        ours.insert(cells[0].parse::<i32>().unwrap(), cells[5].to_string());
    }
    assert!(ours.len() > 3, "{text}");
    assert_eq!(real.len(), pids.len() + 2, "ps saw {real:?}");
    for (pid, stat) in &real {
        assert_eq!(
            ours.get(pid),
            Some(stat),
            "PID {pid}: ps says {stat}\n{text}"
        );
    }
    assert_eq!(ours[&pids[0]], "SNs", "{text}");
    if let Some(high) = pids.get(1) {
        // nice -n -3 is relative to this test's own nice (0, unless the suite runs under nice).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        let nice = fields[16].parse::<i32>().unwrap() - 3;
        let flag = match nice {
            n if n < 0 => "<",
            n if n > 0 => "N",
            _ => "",
        };
        assert_eq!(ours[high], format!("S{flag}"), "{text}");
    }
    assert!(ours[&me].contains('l'), "{}", ours[&me]);
}

#[test]
fn ctrl_c_kills_and_reaps_the_started_command() {
    let mut watcher = StdCommand::new(exe("proc_watch"))
        .args(["--interval", "20ms", "--", "sleep", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let pid = watcher.id() as i32;
    wait_until("proc_watch starts its command", || {
        !children_of(pid).is_empty()
    });
    wait_until("proc_watch catches SIGINT", || catches(pid, Signal::SIGINT));
    thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(pid), Signal::SIGINT).expect("kill");
    let status = wait_within(&mut watcher, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
    let mut out = String::new();
    watcher
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("stopped by SIGINT"), "{out}");
    assert!(group_members(pid).is_empty(), "the sleep was left behind");
}

/// The lecture's two terminals: `cow_overhead --pause` in one, `proc_watch CHILD` in the other.
/// ENTER is pressed right after a proc_watch line, so the child's whole write phase (~16384
/// copy-on-write faults, well under the 500 ms interval) falls into the next line's delta.
#[test]
fn proc_watch_sees_the_copy_on_write_faults_of_a_paused_cow_overhead_child() {
    use std::io::Write;
    let mut cow = StdCommand::new(exe("cow_overhead"))
        .args(["--pages", "16384", "--pause"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn cow_overhead");
    let group = cow.id() as i32;
    let prompts = LineCollector::start(cow.stderr.take().unwrap());
    let mut enter = cow.stdin.take().unwrap();
    let child_pid = || {
        let lines = prompts.lines();
        let started = lines
            .iter()
            .position(|l| l.contains("Child process started"))?;
        let pid_line = lines.get(started + 1)?;
        pid_line
            .trim()
            .strip_prefix("PID ")?
            .split(';')
            .next()?
            .parse::<i32>()
            .ok()
    };
    wait_until("the child's first pause point", || child_pid().is_some());
    let child = child_pid().unwrap();

    let mut watch = StdCommand::new(exe("proc_watch"))
        .args([&child.to_string(), "--interval", "500ms"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn proc_watch");
    let watched_owned = LineCollector::start(watch.stdout.take().unwrap());
    let watched = &watched_owned;
    let samples = |n: usize| move || minflt_column(&watched.lines()).len() >= n;
    let press = |enter: &mut std::process::ChildStdin| {
        enter.write_all(b"\n").expect("ENTER");
        enter.flush().expect("flush");
    };
    wait_until("proc_watch's first line", samples(1));
    press(&mut enter); // read every page
    wait_until("the read phase is over", || {
        prompts
            .lines()
            .iter()
            .any(|l| l.contains("Child process read pages"))
    });
    let before_write = minflt_column(&watched.lines()).len();
    wait_until("a fresh proc_watch line", samples(before_write + 1));
    press(&mut enter); // write every page: the copy-on-write faults
    wait_until("the write phase is over", || {
        prompts
            .lines()
            .iter()
            .any(|l| l.contains("Child process wrote pages"))
    });
    let after_write = minflt_column(&watched.lines()).len();
    wait_until("the line that covers the write", samples(after_write + 1));
    press(&mut enter); // the child ends
    press(&mut enter); // the parent's last pause
    drop(enter);
    let status = wait_within(&mut cow, Duration::from_secs(30));
    assert!(status.success(), "cow_overhead: {status:?}");
    let watch_status = wait_within(&mut watch, Duration::from_secs(10));
    assert!(watch_status.success(), "proc_watch: {watch_status:?}");

    let faults = minflt_column(&watched_owned.finish());
    let write_line = faults.iter().position(|&f| f >= 16384);
    let write_line =
        write_line.unwrap_or_else(|| panic!("no line with the write's faults: {faults:?}"));
    assert!(faults[write_line] < 17000, "{faults:?}");
    assert!(
        faults
            .iter()
            .enumerate()
            .all(|(i, &f)| i == write_line || f < 1000),
        "the faults should all fall into one line: {faults:?}"
    );
    assert!(
        group_members(group).is_empty(),
        "cow_overhead left processes behind"
    );
}

#[test]
fn a_thread_id_is_named_as_a_thread_of_its_process() {
    // A thread of this test process: /proc/TID exists, but it is not a process.
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let sleeper = thread::spawn(move || {
        tx.send(nix::unistd::gettid().as_raw()).expect("send");
        let _ = stopped.recv_timeout(TIMEOUT);
    });
    let tid = rx.recv().expect("tid");
    let me = std::process::id() as i64;
    let out = demo("proc_watch")
        .args([&tid.to_string(), "--interval", "20ms", "--count", "2"])
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let _ = stop.send(());
    sleeper.join().expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{tid} is not a process but a thread of process {me}"
        )),
        "{stderr}"
    );
    let doc = parse_json("proc_watch", &String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["results"]["pid"], me, "{doc:#}");
    assert_eq!(doc["results"]["thread"], tid, "{doc:#}");
}

#[test]
fn watching_an_oslab_demo_counts_its_childrens_faults_and_finds_it_beside_itself() {
    // PATH without target/release: proc_watch finds cow_overhead beside itself. Its child's
    // copy-on-write faults (one per page written) are the child's, counted in the tree.
    let pages = 4096u64;
    let out = demo("proc_watch")
        .env("PATH", "/usr/bin:/bin")
        .args([
            "--interval",
            "20ms",
            "--",
            "cow_overhead",
            "--quiet",
            "--pages",
        ])
        .arg(pages.to_string())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Time for writing to 4096 pages"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("with its children: "))
        .unwrap_or_else(|| panic!("no children's line:\n{text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let (all, children) = (numbers[0], numbers[1]);
    assert!(children >= pages, "{line}");
    assert!(all > children, "{line}");
}
