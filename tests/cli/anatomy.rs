//! The anatomy of a process: address_space (the regions of the virtual address space, fork's
//! copy-on-write seen in the physical frames, ASLR) and process_attrs (what fork and exec pass
//! on, new or reset; a thread ends with its process). Invariants by value from the JSON.

use serde_json::Value;

use crate::common::*;

fn probe<'a>(results: &'a Value, kind: &str) -> &'a Value {
    results["layout"]["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} probe in {results}"))
}

#[test]
fn address_space_places_each_probe_in_its_region_in_the_slides_order() {
    let json = json_of("address_space", &[]);
    let r = &json["results"];
    for p in r["layout"]["probes"].as_array().unwrap() {
        assert_eq!(p["region"], p["kind"], "{p}");
    }
    let at = |k: &str| uint(&probe(r, k)["address"], k);
    let order = ["code", "data", "bss", "heap", "mmap", "stack"];
    for w in order.windows(2) {
        assert!(
            at(w[0]) < at(w[1]),
            "{} {:#x} ≥ {} {:#x}",
            w[0],
            at(w[0]),
            w[1],
            at(w[1])
        );
    }
    assert!(at("heap") < at("shared library") && at("shared library") < at("stack"));
    assert_eq!(json["verdict"]["held"], true, "{}", json["verdict"]);
}

#[test]
fn after_fork_one_virtual_address_holds_two_values_on_two_frames() {
    let json = json_of("address_space", &[]);
    let cow = &json["results"]["cow"];
    let addr = uint(&cow["parent_before"]["address"], "address");
    for f in [
        &cow["child"]["before"],
        &cow["child"]["after"],
        &cow["parent_after"],
    ] {
        assert_eq!(uint(&f["address"], "address"), addr, "{cow}");
    }
    assert_eq!(uint(&cow["child"]["read"], "read"), 1);
    assert_eq!(uint(&cow["child"]["wrote"], "wrote"), 2);
    assert_eq!(uint(&cow["parent_value"], "parent_value"), 1);
    // As root (the tests run as root here and in CI), pagemap gives the frames.
    if nix::unistd::geteuid().is_root() && json["results"]["frames_unreadable"].is_null() {
        let pfn = |f: &Value| uint(&f["pfn"], "pfn");
        assert_ne!(pfn(&cow["parent_before"]), 0);
        assert_eq!(
            pfn(&cow["child"]["before"]),
            pfn(&cow["parent_before"]),
            "{cow}"
        );
        assert_ne!(
            pfn(&cow["child"]["after"]),
            pfn(&cow["child"]["before"]),
            "{cow}"
        );
        assert_eq!(
            pfn(&cow["parent_after"]),
            pfn(&cow["parent_before"]),
            "{cow}"
        );
    }
    let text = stdout_of("address_space", &[]);
    assert!(
        matches(r"(?m)^\[child\]  &value = 0x[0-9a-f]+, value = 2, ", &text),
        "{text}"
    );
    assert!(
        matches(r"(?m)^code +main\(\) +0x[0-9a-f]+$", &text),
        "{text}"
    );
}

#[test]
fn as_nobody_the_frames_read_as_0_and_the_run_says_why() {
    let Some(mut cmd) = as_nobody("address_space", &[]) else {
        return;
    };
    let out = cmd.output().expect("run as nobody");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches(
            r"(?m)^\[parent\] &value = 0x[0-9a-f]+, value = 1, frame number reads as 0$",
            &text
        ),
        "{text}"
    );
    assert!(
        text.contains("frames: the frame numbers read as 0: "),
        "{text}"
    );
    assert!(text.contains("CAP_SYS_ADMIN"), "{text}");
    assert!(text.contains("read as 0 (not checked)"), "{text}");
}

#[test]
fn aslr_moves_the_regions_and_no_aslr_keeps_them() {
    let json = json_of("address_space", &[]);
    let r = &json["results"];
    let bases = |l: &Value| l["bases"].as_array().unwrap().clone();
    if json["params"]["randomize_va_space"] == 2 {
        let (a, b) = (bases(&r["layout"]), bases(&r["second"]));
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(x[1], y[1], "{} did not move: {x} {y}", x[0]);
        }
    }
    let json = json_of("address_space", &["--no-aslr"]);
    let r = &json["results"];
    if json["params"]["aslr"]
        .as_str()
        .is_some_and(|a| a.starts_with("off"))
    {
        assert_eq!(bases(&r["layout"]), bases(&r["second"]));
        assert_eq!(json["verdict"]["held"], true, "{}", json["verdict"]);
    } else {
        eprintln!(
            "skipped: ASLR could not be turned off here: {}",
            json["params"]["aslr"]
        );
    }
}

#[test]
fn process_attrs_new_pid_inherited_cwd_and_what_exec_resets() {
    let json = json_of("process_attrs", &[]);
    let t = &json["results"]["table"];
    let (p, c, e) = (&t["parent"], &t["child"], &t["execd"]);
    assert_ne!(c["pid"], p["pid"]);
    assert_eq!(c["ppid"], p["pid"]);
    assert_eq!(e["pid"], c["pid"]);
    assert_eq!(c["cwd"], p["cwd"]);
    assert_eq!(e["cwd"], p["cwd"]);
    assert_eq!(e["umask"], "0027");
    // A handled signal is reset to default by exec; an ignored one stays ignored.
    assert_eq!(
        (p["sigusr1"].as_str(), c["sigusr1"].as_str()),
        (Some("handled"), Some("handled"))
    );
    assert_eq!(e["sigusr1"], "default");
    for a in [p, c, e] {
        assert_eq!(a["sigusr2"], "ignored", "{a}");
    }
    // The O_CLOEXEC descriptor is closed by exec; the other one is kept.
    let has = |a: &Value, fd: &Value| a["fds"].as_array().unwrap().iter().any(|f| &f["fd"] == fd);
    let (gone, kept) = (&t["cloexec_fd"], &t["kept_fd"]);
    assert!(has(p, gone) && has(c, gone) && !has(e, gone), "{t}");
    assert!(has(e, kept), "{t}");
    assert_eq!(int(&t["zombie_exit_code"], "exit_code"), 7 << 8);
    assert_eq!(json["verdict"]["held"], true, "{}", json["verdict"]);
}

#[test]
fn process_attrs_a_running_thread_ends_with_its_process() {
    let json = json_of("process_attrs", &[]);
    let e = &json["results"]["ending"];
    let tid = &e["thread_tid"];
    assert!(uint(tid, "thread_tid") > 0, "{e}");
    let before = e["tasks_before"].as_array().unwrap();
    assert!(before.iter().any(|t| &t["tid"] == tid), "{e}");
    assert!(!e["tasks_after"].as_array().unwrap().contains(tid), "{e}");
    assert_eq!(e["thread_left"], false);
    assert_eq!(e["process_left"], false);
    let text = stdout_of("process_attrs", &[]);
    assert!(
        matches(r"(?m)^\[parent\] child \d+ exited with code 7$", &text),
        "{text}"
    );
    assert!(
        matches(
            r"(?m)^\[parent\] child \d+ exited with code 0; its thread \d+: gone with it$",
            &text
        ),
        "{text}"
    );
    assert!(
        matches(
            r"(?m)^  fd \d+ \(O_CLOEXEC\) +/dev/null +/dev/null +closed +inherited +closed$",
            &text
        ),
        "{text}"
    );
    leaves_nothing_behind("process_attrs", &[]);
    leaves_nothing_behind("address_space", &[]);
}

#[test]
fn csv_has_a_row_per_probe_and_per_attribute() {
    let csv = stdout_of("address_space", &["--format", "csv"]);
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");
    let csv = stdout_of("process_attrs", &["--format", "csv"]);
    assert!(csv.lines().next().unwrap().contains("attribute"), "{csv}");
    assert!(csv.lines().any(|l| l.contains("SIGUSR1")), "{csv}");
}
