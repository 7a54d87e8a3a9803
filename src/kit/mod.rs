//! The toolkit every demo uses the same way, once: the shared flags and their ranges ([`cli`]),
//! the run contract ([`run`]: session, body, counters, closing lines, report, exit status), the
//! report as text, JSON or CSV ([`report`]), timing and trials, statistics, terminal histograms,
//! the progress bar, the lecture's pause points, pictures as SVG ([`plot`]), stdin that Ctrl-C
//! interrupts, Ctrl-C itself, the machine's description, and words (plurals and lists).

pub mod cli;
pub mod export;
pub mod histogram;
pub mod html;
pub mod input;
pub mod interrupt;
pub mod machine;
pub mod man;
pub mod pause;
pub mod plot;
pub mod progress;
pub mod report;
pub mod run;
pub mod stats;
pub mod timing;
pub mod words;

pub use run::{Context, Findings, Session, Verdict, parse, run};
