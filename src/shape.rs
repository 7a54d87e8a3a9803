//! The shape every demo keeps (DESIGN.md §1), checked on the source text: a demo binary is the
//! lecture's program and nothing else, and `unsafe` lives in `src/sys/` only.

use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a demo binary may have; the race family's, which share one program in
/// `demos::synchronisation::race`, may have fewer.
const MAX_LINES: usize = 150;
const MAX_RACE_LINES: usize = 70;
/// The most lines `fn main` may span, braces included.
const MAX_MAIN_LINES: usize = 12;

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// True when `needle` stands in `line` as a word of its own (`Report {`, not `ChildReport {`).
fn contains_word(line: &str, needle: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(needle).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + needle.len()..].chars().next();
        let glued_before = before.is_some_and(ident);
        let glued_after = needle.ends_with(ident) && after.is_some_and(ident);
        !(glued_before || glued_after)
    })
}

/// What is wrong with one demo binary's source, if anything.
fn problems(name: &str, text: &str, race_family: bool) -> Vec<String> {
    let mut found = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let limit = if race_family {
        MAX_RACE_LINES
    } else {
        MAX_LINES
    };
    if lines.len() > limit {
        found.push(format!("{} lines, more than {limit}", lines.len()));
    }
    if !text.starts_with(&format!("//! {name}: ")) {
        found.push(format!("does not open with its header, `//! {name}: ...`"));
    }
    if !text.contains("What the lecture wants you to see") {
        found.push("its header does not say what the lecture wants you to see".into());
    }
    let code: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.starts_with("//"))
        .collect();
    let forbidden = [
        (
            "Serialize",
            "a Serialize type (result types belong in the lab bench)",
        ),
        ("Report {", "a Report (only the kit builds the report)"),
        ("fn analyse", "an analysis function"),
        ("fn analysis", "an analysis function"),
        ("fn lesson", "a lesson function"),
        ("fn headline", "a headline function"),
        ("fn verdict", "a verdict function"),
        ("unsafe", "unsafe code (it belongs in src/sys/)"),
        ("oslab::forks", "the old fork helpers"),
    ];
    for (needle, what) in forbidden {
        if code.iter().any(|l| contains_word(l, needle)) {
            found.push(format!("holds {what}"));
        }
    }
    match lines.iter().position(|l| l.starts_with("fn main()")) {
        None => found.push("has no `fn main()`".into()),
        Some(start) => {
            let end = lines[start..]
                .iter()
                .position(|l| *l == "}")
                .map(|e| start + e);
            match end {
                Some(end) if end - start < MAX_MAIN_LINES => {}
                _ => found.push(format!("its main is longer than {MAX_MAIN_LINES} lines")),
            }
        }
    }
    found
}

#[test]
fn every_demo_binary_is_the_lectures_program_and_nothing_else() {
    let race: Vec<&str> = ["race", "granularity"]
        .iter()
        .flat_map(|f| crate::catalogue::family(f).unwrap().members.iter())
        .map(|m| m.split_whitespace().next().unwrap())
        .collect();
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"));
    let mut bad = Vec::new();
    for path in sources(dir) {
        let name = path.file_stem().unwrap().to_str().unwrap();
        if name == "oslab" {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for p in problems(name, &text, race.contains(&name)) {
            bad.push(format!("src/bin/{name}.rs {p}"));
        }
    }
    assert!(
        bad.is_empty(),
        "demo binaries out of shape:\n{}",
        bad.join("\n")
    );
}

#[test]
fn unsafe_code_lives_in_src_sys_only() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let (sys, this) = (src.join("sys"), src.join("shape.rs"));
    let mut bad = Vec::new();
    for path in sources(src)
        .into_iter()
        .filter(|p| !p.starts_with(&sys) && *p != this)
    {
        let text = fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("unsafe ") || code.contains("unsafe{") {
                bad.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unsafe outside src/sys:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_shape_check_catches_a_binary_in_the_old_shape() {
    let old = "//! deadlock: two threads.\n//! What the lecture wants you to see: a hang.\n\
               #[derive(Serialize)]\nstruct Results;\nfn analyse() {}\nfn main() {\n}\n";
    let found = problems("deadlock", old, false);
    assert_eq!(found.len(), 2, "{found:?}");
    let long = format!(
        "//! x: y\n//! What the lecture wants you to see\nfn main() {{\n}}\n{}",
        "\n".repeat(200)
    );
    assert_eq!(problems("x", &long, false).len(), 1);
    assert_eq!(problems("x", &long, true).len(), 1);
    assert!(contains_word("let r = Report {", "Report {"));
    assert!(!contains_word("lab.exit(ChildReport {", "Report {"));
    assert!(!contains_word("fn analysed()", "fn analyse"));
    let fine = "//! x: y\n//! What the lecture wants you to see: z\nfn main() {\n    run();\n}\n";
    assert!(problems("x", fine, true).is_empty());
}
