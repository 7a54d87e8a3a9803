//! Man pages, whole: a binary's own page and one per subcommand (`signals send` is
//! signals-send(1), `oslab compare` oslab-compare(1)), each with EXAMPLES, EXIT STATUS and SEE
//! ALSO. clap_mangen renders what clap knows (synopsis, description, options, subcommands); the
//! three sections come from the catalogue (a demo's small run, its exit statuses, its chapter and
//! the field's tools its `compare:` line names) and, for subcommands, from [`SUBPAGES`].
//! `oslab man DIR` asks every binary for its pages (the hidden first argument `--oslab-man DIR`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap_mangen::roff::{Inline, Roff, bold, roman};

use crate::catalogue::{self, DEMOS, Demo, EXIT_STATUS, FAMILIES};

/// One man page: its name (`signals-send`) and its roff source.
pub struct Page {
    pub name: String,
    pub roff: String,
}

/// A subcommand's page: its examples, and what it adds to its parent's EXIT STATUS and SEE ALSO.
struct SubPage {
    /// The page's name: the command's words joined by hyphens.
    name: &'static str,
    /// Command lines and what each does.
    examples: &'static [(&'static str, &'static str)],
    /// Exit statuses that mean something else here than in the parent's page.
    exits: &'static [(u8, &'static str)],
    /// Pages to see besides the parent's and the sibling subcommands'.
    see_also: &'static [&'static str],
}

/// Every subcommand's page: `oslab`'s and `signals`'s.
const SUBPAGES: &[SubPage] = &[
    SubPage {
        name: "oslab-list",
        examples: &[
            (
                "oslab list",
                "Every demo by chapter with its concept in one line (marked: how long it takes with no flags, or what it waits for), then the families oslab compare knows.",
            ),
            (
                "oslab list --format json",
                "The catalogue as one JSON document: each demo's chapter, concept, lecture program and the flags oslab tour runs it with.",
            ),
            ("oslab list --format csv", "A row per demo."),
        ],
        exits: &[],
        see_also: &[],
    },
    SubPage {
        name: "oslab-tour",
        examples: &[
            (
                "oslab tour",
                "Every demo in turn with small sizes, non-interactively: one table (demo, verdict, key figure), how many of the lecture's claims held, and the lessons.",
            ),
            (
                "oslab tour --format json > tour.json",
                "The same table as one JSON document.",
            ),
            (
                "oslab tour --html tour.html --export tour.md",
                "The table prints as usual, and the same run is kept twice: one self-contained HTML page (the machine at the top; per demo what it printed, its verdict, its lesson and its picture) and a Markdown report.",
            ),
        ],
        exits: &[(
            1,
            "a demo failed (deadlock's success is its exit 3: the tour runs it into the deadlock it exists to show)",
        )],
        see_also: &[],
    },
    SubPage {
        name: "oslab-compare",
        examples: &[
            (
                "oslab compare race --trials 5",
                "The five fixes for a lost update, interleaved, five runs each: median time (min\u{2013}max), cost per update, lost updates, context switches, and each variant's ratio to the fastest.",
            ),
            (
                "oslab compare granularity --trials 3 -- --threads 4 --steps 200000",
                "Flags after -- go to every variant.",
            ),
            (
                "oslab compare deadlock --trials 50",
                "How often the deadlock happens without the lecture's sleep, with a 1 ms one, and with each cure (k/N runs).",
            ),
            (
                "oslab compare mutex --format csv > mutex.csv",
                "A row per variant, for a spreadsheet.",
            ),
            (
                "oslab compare race --plot race.svg",
                "Also draw each variant's time (every run a dot) and lost updates.",
            ),
            (
                "oslab compare race --html race.html --export race.csv",
                "The table prints, and the same runs are kept as an HTML page with the picture inline and as CSV.",
            ),
        ],
        exits: &[(
            2,
            "a usage error: an unknown family or flag, a flag after -- that a variant refuses (in the variant's own words), or --plot for a family with nothing to draw",
        )],
        see_also: &[
            "race_condition(1)",
            "race_condition_toctou(1)",
            "race_condition_atomic(1)",
            "race_condition_atomic_assembly(1)",
            "race_condition_spinlock(1)",
            "race_condition_mutex(1)",
            "coarse_granularity(1)",
            "fine_granularity(1)",
            "deadlock(1)",
            "spawn_cost(1)",
            "sum_array(1)",
            "sleep_jitter(1)",
        ],
    },
    SubPage {
        name: "oslab-plot",
        examples: &[
            (
                "sleep_jitter --count 200 --interval 1ms --format json > jitter.json; oslab plot jitter.json",
                "Draw a saved report into jitter.svg: what --plot would have drawn.",
            ),
            (
                "oslab compare race --format json | oslab plot - -o race.svg",
                "A comparison, read from standard input.",
            ),
            (
                "scripts/sweep.sh race_condition_mutex 1 2 4 -- --steps 200000 > mutex.csv; oslab plot mutex.csv",
                "A sweep's CSV as a line plot.",
            ),
        ],
        exits: &[],
        see_also: &[],
    },
    SubPage {
        name: "oslab-man",
        examples: &[
            (
                "oslab man ~/.local/share/man/man1",
                "Every page, for man to find: then man race_condition, man signals-send.",
            ),
            (
                "oslab man /tmp/oslab-man && man -l /tmp/oslab-man/oslab-compare.1",
                "Read one page without installing them.",
            ),
        ],
        exits: &[],
        see_also: &["man(1)"],
    },
    SubPage {
        name: "oslab-completions",
        examples: &[
            (
                "oslab completions bash ~/.local/share/bash-completion/completions",
                "Tab completion of every binary's flags in bash (new shells).",
            ),
            (
                "oslab completions zsh ~/.zfunc",
                "For zsh, with fpath+=(~/.zfunc) in ~/.zshrc.",
            ),
            (
                "oslab completions fish ~/.config/fish/completions",
                "For fish.",
            ),
        ],
        exits: &[(
            2,
            "a usage error: a shell it does not know (it knows bash, zsh, fish, elvish and powershell)",
        )],
        see_also: &[],
    },
    SubPage {
        name: "signals-demo",
        examples: &[
            (
                "signals demo",
                "Both programs in one run, four ways: standard signals back to back to a busy printer (the repeated SIGABRT is lost), with a gap (all arrive), real-time signals (all queue), one real-time signal carrying each letter; then SIGKILL and SIGSTOP refused.",
            ),
            (
                "signals demo --gap 5",
                "A shorter gap in the second run: does every letter still arrive?",
            ),
            (
                "signals --format json demo --gap 5",
                "The same as one JSON document (--format csv: a row per run).",
            ),
        ],
        exits: &[],
        see_also: &[],
    },
    SubPage {
        name: "signals-print",
        examples: &[
            (
                "signals print",
                "The lecture's printer: prints its PID and the kill -1 PID to type in another terminal, then a letter per signal, until Ctrl-C or SIGTERM.",
            ),
            (
                "signals print --rt",
                "The real-time printer: SIGRTMIN+0..7 for the eight letters.",
            ),
            (
                "signals print --format json > printed.json",
                "What arrived, as one JSON document once Ctrl-C or SIGTERM ends the printer.",
            ),
        ],
        exits: &[
            (
                130,
                "the printer's own end: Ctrl-C (SIGINT), after it has printed what arrived (the report is marked partial)",
            ),
            (143, "the same, ended by SIGTERM"),
        ],
        see_also: &[],
    },
    SubPage {
        name: "signals-send",
        examples: &[
            (
                "signals send PID geronimo",
                "The lecture's sender, to a printer in another terminal: back to back, so a repeated letter may be lost.",
            ),
            (
                "signals send PID geronimo --gap 100",
                "100 ms between signals: every letter arrives, in order.",
            ),
            (
                "signals send PID geronimo --rt",
                "Real-time signals, to signals print --rt: they queue.",
            ),
            (
                "signals send PID geronimo --format json",
                "What was sent, as one JSON document.",
            ),
        ],
        exits: &[(
            2,
            "a usage error; also a letter outside g e r o n i m, or a PID out of range",
        )],
        see_also: &[],
    },
    SubPage {
        name: "signals-defaults",
        examples: &[
            (
                "signals defaults",
                "The seed's table: what each signal's default action does to a child that does nothing (waitpid's status), then whether a handler catches it.",
            ),
            (
                "signals defaults --core-limit 0",
                "No core files (RLIMIT_CORE 0).",
            ),
            ("signals defaults --format csv", "A row per signal."),
        ],
        exits: &[],
        see_also: &[],
    },
];

/// What `oslab`'s exit status means (its subcommands' pages add their own).
const OSLAB_EXITS: &[(u8, &str)] = &[
    (
        0,
        "the command did its work (tour: every demo ran as expected, whatever its verdict)",
    ),
    (
        1,
        "a runtime error, printed as oslab: error: CAUSE (a binary missing, a variant's run failed, a file that cannot be written); tour: a demo failed",
    ),
    (
        2,
        "a usage error: an unknown subcommand, family, shell or flag",
    ),
    (
        130,
        "tour or compare stopped by Ctrl-C (SIGINT): the signal is passed on to the running demo, which prints its partial report; then oslab prints the partial table",
    ),
    (143, "the same, stopped by SIGTERM"),
];

/// Every page of `command`, a binary's: its own, then one per subcommand (not clap's `help`),
/// depth first.
pub fn pages(command: clap::Command) -> Result<Vec<Page>> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let binary = command.get_name().to_string();
    // The footer of every page: the binary and its version (a subcommand has none of its own).
    let source = format!("{binary} {}", command.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    collect(&binary, &source, &command, None, &mut pages)?;
    Ok(pages)
}

fn collect(
    binary: &str,
    source: &str,
    command: &clap::Command,
    parent: Option<&clap::Command>,
    pages: &mut Vec<Page>,
) -> Result<()> {
    pages.push(page(binary, source, command, parent)?);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(binary, source, sub, Some(command), pages)?;
    }
    Ok(())
}

/// Writes every page of `command` into `dir` as NAME.1; returns the files written.
pub fn write_pages(command: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for page in pages(command)? {
        let path = dir.join(format!("{}.1", page.name));
        std::fs::write(&path, &page.roff)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Answers `--oslab-man [DIR]` for `command`: without DIR its own page on `out`, with DIR every
/// page written there and their paths on `out`, one a line. Returns the exit code (1 on an
/// error, printed on stderr; a closed `out` is not one).
pub fn answer(command: &clap::Command, dir: Option<&std::ffi::OsStr>, out: &mut dyn Write) -> i32 {
    let name = command.get_name().to_string();
    let result = match dir {
        Some(dir) => write_pages(command.clone(), Path::new(dir)).and_then(|paths| {
            paths
                .iter()
                .try_for_each(|p| writeln!(out, "{}", p.display()))
                .map_err(Into::into)
        }),
        None => pages(command.clone())
            .and_then(|pages| out.write_all(pages[0].roff.as_bytes()).map_err(Into::into)),
    };
    match result {
        Ok(()) => 0,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            0
        }
        Err(e) => {
            eprintln!("{name}: error: could not write the man pages: {e:#}");
            1
        }
    }
}

/// The name a page goes by: `signals-send` for `signals send`.
fn page_name(command: &clap::Command) -> String {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_string()
}

/// One page: clap_mangen's sections, with EXAMPLES (the command's own examples from its help
/// among them, not clap_mangen's "EXTRA"), EXIT STATUS and SEE ALSO before VERSION.
fn page(
    binary: &str,
    source: &str,
    command: &clap::Command,
    parent: Option<&clap::Command>,
) -> Result<Page> {
    let name = page_name(command);
    let after_help = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|h| h.to_string());
    let mut ours = Roff::new();
    examples(&mut ours, binary, &name, after_help.as_deref())?;
    exit_status(&mut ours, binary, &name);
    see_also(&mut ours, binary, &name, command, parent);

    let mut rendered = Vec::new();
    let without_extra = command
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    clap_mangen::Man::new(without_extra)
        .source(source)
        .render(&mut rendered)?;
    let rendered =
        String::from_utf8(rendered).context("clap_mangen wrote a page that is not UTF-8")?;
    // Each rendering starts with the same preamble (the apostrophe string); ours goes after
    // clap_mangen's, without its own.
    let preamble = Roff::new().render();
    let ours = ours.render();
    let ours = ours.strip_prefix(&preamble).unwrap_or(&ours);
    let roff = match rendered.find("\n.SH VERSION\n") {
        Some(at) => format!("{}\n{ours}{}", &rendered[..at], &rendered[at + 1..]),
        None => format!("{rendered}{ours}"),
    };
    Ok(Page { name, roff })
}

/// EXAMPLES: for a demo, its run with no flags (the lecture's), a small run (what `oslab tour`
/// runs) and the same as JSON, then the examples of its `--help`; for a subcommand, its
/// [`SUBPAGES`] entry.
fn examples(roff: &mut Roff, binary: &str, name: &str, after_help: Option<&str>) -> Result<()> {
    let mut items: Vec<(String, String)> = Vec::new();
    if name == binary
        && let Some(demo) = catalogue::find(binary)
    {
        items = demo_examples(demo);
    } else if name != binary {
        let sub = subpage(name)?;
        items = sub
            .examples
            .iter()
            .map(|(c, d)| (c.to_string(), d.to_string()))
            .collect();
    }
    let after_help = after_help.filter(|h| !h.trim().is_empty());
    if items.is_empty() && after_help.is_none() {
        bail!("{name}'s man page has no examples");
    }
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in &items {
        roff.control("TP", []);
        roff.text([bold(command.as_str())]);
        roff.text([roman(what.as_str())]);
    }
    if let Some(help) = after_help {
        if !items.is_empty() {
            roff.control("PP", []);
            roff.text([roman("From --help:")]);
        }
        roff.control("PP", []);
        roff.control("nf", []);
        // The heading --help needs is the section's own here.
        let help = help.strip_prefix("Examples:\n").unwrap_or(help);
        for line in help.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    Ok(())
}

/// A demo's three examples: no flags, small, JSON.
fn demo_examples(demo: &Demo) -> Vec<(String, String)> {
    let mut lecture =
        "With no flags: the lecture's version of the program, at its sizes".to_string();
    if let Some(mark) = demo.no_flags() {
        lecture.push_str(&format!(" ({mark})"));
    }
    lecture.push('.');
    let mut items = vec![(demo.name.to_string(), lecture)];
    let small = std::iter::once(demo.name)
        .chain(demo.tour.iter().copied())
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ");
    if !demo.tour.is_empty() {
        items.push((
            small.clone(),
            "A small run, the one oslab tour makes: seconds at most, no input.".into(),
        ));
    }
    // --format first, as oslab tour puts it: flags after a `--` belong to a command the demo runs.
    let json = std::iter::once(demo.name)
        .chain(["--format", "json"])
        .chain(demo.tour.iter().copied())
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ");
    items.push((
        format!("{json} > {}.json", demo.name),
        "The same run as one JSON document for scripts: params, results, counters, system, verdict, lesson (--format csv: a header and a row per trial, sample or thread).".into(),
    ));
    items
}

/// A word as a shell needs it: quoted when it has a character the shell would take apart.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=./,:%@+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{word}'")
    }
}

/// The [`SUBPAGES`] entry of the page `name`; an error for a subcommand nobody wrote one for.
fn subpage(name: &str) -> Result<&'static SubPage> {
    SUBPAGES
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("no examples for the man page {name} (add it to SUBPAGES)"))
}

/// The exit statuses of `binary`'s pages: every demo's, with the demo's own in their place.
fn binary_exits(binary: &str) -> Vec<(u8, String)> {
    let (shared, own) = match catalogue::find(binary) {
        Some(demo) => (EXIT_STATUS, demo.exits),
        None => (OSLAB_EXITS, &[][..]),
    };
    with_own(shared, own, binary)
}

/// `shared`'s rows, each replaced by `own`'s row with its code if there is one, and `own`'s
/// other rows in code order; `NAME` becomes `binary`.
fn with_own(shared: &[(u8, &str)], own: &[(u8, &str)], binary: &str) -> Vec<(u8, String)> {
    let mut rows: Vec<(u8, &str)> = shared
        .iter()
        .map(|&(code, text)| {
            own.iter()
                .find(|(c, _)| *c == code)
                .map_or((code, text), |&(c, t)| (c, t))
        })
        .collect();
    rows.extend(
        own.iter()
            .filter(|(c, _)| !shared.iter().any(|(s, _)| s == c)),
    );
    rows.sort_by_key(|(code, _)| *code);
    rows.into_iter()
        .map(|(code, text)| (code, text.replace("NAME", binary)))
        .collect()
}

/// EXIT STATUS: a tagged paragraph per code.
fn exit_status(roff: &mut Roff, binary: &str, name: &str) {
    let mut rows = binary_exits(binary);
    if let Some(sub) = SUBPAGES.iter().find(|s| s.name == name) {
        let shared: Vec<(u8, &str)> = rows.iter().map(|(c, t)| (*c, t.as_str())).collect();
        rows = with_own(&shared, sub.exits, binary);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text) in rows {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(text)]);
    }
}

/// SEE ALSO: oslab(1), the page's parent and sibling subcommands, its own subcommands; for a
/// demo its chapter's other demos and the field's tools its `compare:` line names.
fn see_also(
    roff: &mut Roff,
    binary: &str,
    name: &str,
    command: &clap::Command,
    parent: Option<&clap::Command>,
) {
    let mut refs: Vec<String> = Vec::new();
    let mut add = |r: String| {
        if r != format!("{name}(1)") && !refs.contains(&r) {
            refs.push(r);
        }
    };
    add("oslab(1)".into());
    if let Some(parent) = parent {
        add(format!("{}(1)", page_name(parent)));
        for sibling in parent.get_subcommands().filter(|s| !s.is_hide_set()) {
            add(format!("{}(1)", page_name(sibling)));
        }
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        add(format!("{}(1)", page_name(sub)));
    }
    if let Some(sub) = SUBPAGES.iter().find(|s| s.name == name) {
        sub.see_also.iter().for_each(|r| add(r.to_string()));
    }
    match catalogue::find(binary) {
        Some(demo) => {
            DEMOS
                .iter()
                .filter(|d| d.chapter == demo.chapter)
                .for_each(|d| add(format!("{}(1)", d.name)));
            demo.tools.iter().for_each(|t| add(t.to_string()));
        }
        None if name == binary => DEMOS.iter().for_each(|d| add(format!("{}(1)", d.name))),
        None => {}
    }
    roff.control("SH", ["SEE ALSO"]);
    // Neither race_condi-tion(1) nor stretched spaces: a list of names, not prose.
    roff.control("nh", []);
    roff.control("ad", ["l"]);
    let mut line: Vec<Inline> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let (page, section) = r.split_once('(').unwrap_or((r, "1)"));
        line.push(bold(page));
        let comma = if i + 1 < refs.len() { ", " } else { "" };
        line.push(roman(format!("({section}{comma}")));
    }
    roff.text(line);
    roff.control("ad", []);
    roff.control("hy", []);
}

/// The demos `oslab compare` runs, for oslab-compare(1)'s SEE ALSO (a test checks the list).
pub fn compared_demos() -> Vec<&'static str> {
    let mut demos: Vec<&'static str> = Vec::new();
    for member in FAMILIES.iter().flat_map(|f| f.members) {
        let demo = member.split_whitespace().next().unwrap_or(member);
        if !demos.contains(&demo) {
            demos.push(demo);
        }
    }
    demos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslab_compare_sees_every_demo_it_compares() {
        let sub = subpage("oslab-compare").unwrap();
        for demo in compared_demos() {
            assert!(
                sub.see_also.contains(&format!("{demo}(1)").as_str()),
                "oslab-compare(1) does not point to {demo}(1)"
            );
        }
    }

    #[test]
    fn a_demos_own_exit_status_replaces_the_shared_one() {
        let rows = binary_exits("deadlock");
        let codes: Vec<u8> = rows.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [0, 1, 2, 3, 130, 143]);
        assert!(rows[0].1.starts_with("both threads finished"), "{rows:?}");
        assert!(rows[1].1.contains("deadlock: error: CAUSE"), "{rows:?}");
        let rows = binary_exits("race_condition");
        assert_eq!(rows.len(), 5);
        assert!(rows[0].1.contains("losing updates"), "{rows:?}");
    }

    #[test]
    fn every_demo_names_a_tool_and_examples() {
        for demo in DEMOS {
            assert!(!demo.tools.is_empty(), "{}: no tools", demo.name);
            for tool in demo.tools {
                let (page, section) = tool.split_once('(').unwrap();
                assert!(!page.is_empty() && section.ends_with(')'), "{tool}");
            }
            let items = demo_examples(demo);
            assert!(items[0].0 == demo.name, "{items:?}");
            assert!(
                items.last().unwrap().0.contains("--format json"),
                "{items:?}"
            );
        }
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("--steps"), "--steps");
        assert_eq!(shell_word("if=/dev/zero"), "if=/dev/zero");
        assert_eq!(shell_word("two words"), "'two words'");
    }
}
