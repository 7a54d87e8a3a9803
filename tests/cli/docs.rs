//! The README a newcomer reads to the end, and the docs/ pages it points to: the README is short
//! and links to every page, and every relative link in the README, CONTRIBUTING.md and docs/
//! resolves (the file exists, and so does the heading an anchor names).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;

/// The README's length limit, in lines.
const README_LINES: usize = 250;

/// The project's Markdown files, as paths from the project's root.
fn markdown_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec!["README.md".to_string(), "CONTRIBUTING.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".md").then(|| format!("docs/{name}"))
        })
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Markdown without its code: fenced blocks and inline code spans (where `](` is not a link).
fn without_code(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if !fenced {
            // Every other backtick opens or closes a span; drop what is inside.
            let kept: String = line
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, s)| s)
                .collect::<Vec<_>>()
                .join(" ");
            out.push_str(&kept);
        }
        out.push('\n');
    }
    out
}

/// The targets of the links and images in `text`: `[text](target)`, `![alt](target)`.
fn link_targets(text: &str) -> Vec<String> {
    let text = without_code(text);
    let mut targets = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').expect("a link's target ends with )");
        targets.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    targets
}

/// The anchors GitHub gives a Markdown file's headings: lower case, punctuation but `-` and `_`
/// dropped, spaces as hyphens, `-1`, `-2` after a repeated one.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

#[test]
fn the_readme_is_short_and_points_to_every_docs_page() {
    let readme = project_file("README.md");
    let lines = readme.lines().count();
    assert!(
        lines < README_LINES,
        "README.md has {lines} lines: at most {README_LINES}; move the details to docs/"
    );
    // The first screen: what oslab is, the two commands, one example run.
    let first: Vec<&str> = readme.lines().take(45).collect();
    let first = first.join("\n");
    for needle in [
        "# oslab",
        "cargo run --release --bin oslab -- tour",
        "cargo test --release",
        "$ ./race_condition",
    ] {
        assert!(first.contains(needle), "the first screen lacks {needle:?}");
    }
    // What it needs, how to install, every page linked.
    for heading in ["## The demos", "## What it needs", "## Install"] {
        assert!(
            readme.lines().any(|l| l == heading),
            "README.md has no {heading}"
        );
    }
    for needle in [
        "cargo install --path .",
        "oslab man ",
        "oslab completions ",
        "x86-64",
        "glibc",
        "CAP_SYS_NICE",
    ] {
        assert!(readme.contains(needle), "README.md does not say {needle}");
    }
    let targets = link_targets(&readme);
    for page in markdown_files().iter().filter(|f| f.starts_with("docs/")) {
        assert!(
            targets.iter().any(|t| t == page),
            "README.md does not link to {page}"
        );
    }
    // The benchmark page says on its first screen where and when its figures were measured:
    // the machine, and the run's date and time as `YYYY-MM-DD HH:MM UTC`.
    let bench = project_file("docs/bench.md");
    let top: String = bench.lines().take(12).collect::<Vec<_>>().join("\n");
    assert!(top.contains("2-vCPU KVM guest"), "{top}");
    let dated = top.match_indices(" UTC").any(|(at, _)| {
        let stamp: Vec<u8> = top.as_bytes()[at.saturating_sub(16)..at].to_vec();
        stamp.len() == 16
            && stamp.iter().enumerate().all(|(i, &b)| match i {
                4 | 7 => b == b'-',
                10 => b == b' ',
                13 => b == b':',
                _ => b.is_ascii_digit(),
            })
    });
    assert!(
        dated,
        "no `YYYY-MM-DD HH:MM UTC` on the first screen:\n{top}"
    );
}

#[test]
fn every_relative_link_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for file in markdown_files() {
        let text = project_file(&file);
        let dir = Path::new(&file).parent().unwrap_or(Path::new(""));
        for target in link_targets(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let linked: PathBuf = if path.is_empty() {
                PathBuf::from(&file)
            } else {
                dir.join(path)
            };
            let on_disk = root.join(&linked);
            assert!(
                on_disk.exists(),
                "{file}: the link {target} points to {}, which does not exist",
                linked.display()
            );
            if let Some(anchor) = anchor {
                let linked_text = std::fs::read_to_string(&on_disk).unwrap();
                assert!(
                    anchors(&linked_text).contains(anchor),
                    "{file}: the link {target}: {} has no heading #{anchor}",
                    linked.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}

#[test]
fn anchors_and_links_are_read_as_github_does() {
    let text = "# The umbrella: `oslab`\n## Pictures\n## Pictures\n```\n# not a heading\n```\n";
    let a = anchors(text);
    assert!(a.contains("the-umbrella-oslab"), "{a:?}");
    assert!(a.contains("pictures") && a.contains("pictures-1"), "{a:?}");
    assert!(!a.contains("not-a-heading"), "{a:?}");
    let links = link_targets(
        "see [a](docs/a.md#x) and ![b\nc](p.svg); `[not](a link)`\n```\n[no](t)\n```\n",
    );
    assert_eq!(links, ["docs/a.md#x", "p.svg"]);
}
