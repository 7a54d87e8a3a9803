//! `oslab man DIR`: a page for every binary and every subcommand, each whole (EXAMPLES, EXIT
//! STATUS, SEE ALSO), and every page a page points to written, unless it is another tool's.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;

/// The pages outside oslab that its pages point to: the field's tools each demo's `compare:`
/// line names, and the manual's own pages.
const EXTERNAL: &[&str] = &[
    "cyclictest(8)",
    "gdb(1)",
    "kill(1)",
    "lat_proc(8)",
    "man(1)",
    "nice(1)",
    "objdump(1)",
    "perf-bench(1)",
    "perf-c2c(1)",
    "perf-sched(1)",
    "perf-stat(1)",
    "pidstat(1)",
    "pmap(1)",
    "proc(5)",
    "ps(1)",
    "pstree(1)",
    "python3(1)",
    "setarch(8)",
    "signal(7)",
    "signal-safety(7)",
    "strace(1)",
    "stress-ng(1)",
    "top(1)",
    "watch(1)",
];

/// The subcommands of the binaries that have some, as their pages are named.
const SUBCOMMANDS: &[&str] = &[
    "oslab-list",
    "oslab-tour",
    "oslab-compare",
    "oslab-plot",
    "oslab-man",
    "oslab-completions",
    "signals-demo",
    "signals-print",
    "signals-send",
    "signals-defaults",
];

/// The text of a roff source as a reader sees it, near enough: no font changes, plain hyphens.
fn plain(roff: &str) -> String {
    roff.replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "")
        .replace("\\-", "-")
}

/// Every `name(N)` reference in `text`: a page name, then a section 1-8 in parentheses.
fn references(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let bytes = text.as_bytes();
    for (i, w) in bytes.windows(3).enumerate() {
        if w[0] == b'(' && (b'1'..=b'8').contains(&w[1]) && w[2] == b')' {
            let start = text[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
                .map_or(0, |p| p + 1);
            let name = &text[start..i];
            if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                refs.push(format!("{name}({})", w[1] as char));
            }
        }
    }
    refs
}

/// The page's sections: heading → body.
fn sections(roff: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in roff.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            let heading = heading.trim_matches('"').to_string();
            out.insert(heading.clone(), String::new());
            current = Some(heading);
        } else if let Some(h) = &current {
            let body = out.get_mut(h).unwrap();
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// Every page `oslab man` wrote into `dir`: name (without `.1`) → roff.
fn written(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let stem = name.strip_suffix(".1").unwrap_or_else(|| {
                panic!("{name}: every page is in section 1");
            });
            (stem.to_string(), std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn every_page_is_whole_and_every_page_it_names_is_written() {
    let dir = std::env::temp_dir().join(format!("oslab-man-whole-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = demo("oslab").arg("man").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let pages = written(&dir);
    let expected = std::iter::once("oslab")
        .chain(oslab::catalogue::DEMOS.iter().map(|d| d.name))
        .chain(SUBCOMMANDS.iter().copied());
    for name in expected {
        assert!(pages.contains_key(name), "no page for {name}");
    }
    assert_eq!(
        pages.len(),
        1 + oslab::catalogue::DEMOS.len() + SUBCOMMANDS.len(),
        "{:?}",
        pages.keys()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("wrote {} files", pages.len())),
        "{stderr}"
    );

    let mut external_used = Vec::new();
    for (name, roff) in &pages {
        assert!(roff.contains(&format!(".TH {name} 1 ")), "{name}: {roff}");
        let sections = sections(roff);
        for heading in ["SYNOPSIS", "EXAMPLES", "EXIT STATUS", "SEE ALSO"] {
            assert!(
                sections.contains_key(heading),
                "{name} has no {heading}: {:?}",
                sections.keys()
            );
        }
        assert!(!sections.contains_key("EXTRA"), "{name} has an EXTRA");
        // Examples name the command they are for.
        let command = name.replace('-', " ");
        assert!(
            plain(&sections["EXAMPLES"]).contains(&command),
            "{name}'s examples do not run {command}:\n{}",
            sections["EXAMPLES"]
        );
        // The exit statuses every binary shares.
        for code in [0, 1, 2, 130, 143] {
            assert!(
                sections["EXIT STATUS"].contains(&format!("\\fB{code}\\fR")),
                "{name}'s EXIT STATUS lacks {code}:\n{}",
                sections["EXIT STATUS"]
            );
        }
        let see_also = references(&plain(&sections["SEE ALSO"]));
        if name != "oslab" {
            assert!(see_also.contains(&"oslab(1)".to_string()), "{name}");
        }
        assert!(
            !see_also.contains(&format!("{name}(1)")),
            "{name} sees itself"
        );
        // Every page named in SYNOPSIS, SUBCOMMANDS and SEE ALSO is written, or is another
        // tool's (the text may say `sleep(3)` for the lecture's three-second sleep).
        let naming = ["SYNOPSIS", "SUBCOMMANDS", "SEE ALSO"]
            .iter()
            .filter_map(|h| sections.get(*h))
            .map(|body| plain(body))
            .collect::<String>();
        for r in references(&naming) {
            let (page, section) = r.trim_end_matches(')').split_once('(').unwrap();
            if section == "1" && pages.contains_key(page) {
                continue;
            }
            assert!(
                EXTERNAL.contains(&r.as_str()),
                "{name} names {r}: neither written nor a known tool's page"
            );
            if !external_used.contains(&r) {
                external_used.push(r);
            }
        }
    }
    // The list of other tools' pages holds only pages that are named, none of them oslab's.
    for tool in EXTERNAL {
        assert!(
            external_used.iter().any(|u| u == tool),
            "{tool} is named by no page"
        );
        let page = tool.split('(').next().unwrap();
        assert!(!pages.contains_key(page), "{tool} is oslab's own");
    }

    // Each demo's page points to the tool its compare: line names, and says what it exits with.
    for (page, tool) in [
        ("race_condition", "perf-c2c(1)"),
        ("sleep_jitter", "cyclictest(8)"),
        ("semaphore", "strace(1)"),
        ("time_slice", "perf-sched(1)"),
        ("signals-send", "kill(1)"),
    ] {
        let see_also = references(&plain(&sections(&pages[page])["SEE ALSO"]));
        assert!(see_also.contains(&tool.to_string()), "{page}: {see_also:?}");
    }
    let deadlock = sections(&pages["deadlock"]);
    assert!(
        deadlock["EXIT STATUS"]
            .contains("\\fB3\\fR\nthe deadlock happened and the watchdog detected it"),
        "{}",
        deadlock["EXIT STATUS"]
    );
    assert!(
        plain(&pages["oslab-compare"]).contains("oslab compare race --trials 5"),
        "the examples of oslab --help reach oslab-compare(1)"
    );
    // The lecture's own examples, from --help, are on the page too.
    assert!(
        plain(&pages["race_condition"]).contains("race_condition --trials 5"),
        "{}",
        pages["race_condition"]
    );

    // man renders each page without a warning (where man is installed).
    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        for name in pages.keys() {
            let out = std::process::Command::new("man")
                .args(["--warnings", "-l"])
                .arg(dir.join(format!("{name}.1")))
                .env("MANWIDTH", "80")
                .env("MAN_KEEP_FORMATTING", "")
                .env("LC_ALL", "C.UTF-8")
                .output()
                .unwrap();
            assert!(out.status.success(), "man -l {name}.1: {out:?}");
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(warnings.trim().is_empty(), "man -l {name}.1: {warnings}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("EXIT STATUS"), "{name}: {text}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_binary_prints_its_own_page_or_writes_them_all() {
    // With no directory: its own page on stdout.
    let page = stdout_of("signals", &["--oslab-man"]);
    assert!(page.contains(".TH signals 1 "), "{page}");
    assert!(page.contains(".SH EXAMPLES"), "{page}");
    // With one: every page, their paths on stdout.
    let dir = std::env::temp_dir().join(format!("oslab-man-signals-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let listed = stdout_of("signals", &["--oslab-man", dir.to_str().unwrap()]);
    let mut names: Vec<String> = listed
        .lines()
        .map(|l| {
            assert!(Path::new(l).is_file(), "{l}");
            Path::new(l)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "signals-defaults.1",
            "signals-demo.1",
            "signals-print.1",
            "signals-send.1",
            "signals.1"
        ]
    );
    // A directory that cannot be made is an error, named.
    let blocked = dir.join("signals.1").join("man1");
    let out = demo("signals")
        .arg("--oslab-man")
        .arg(&blocked)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("signals: error: could not write the man pages: cannot create"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
