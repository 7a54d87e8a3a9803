//! The signals and observation chapter's lab benches: each demo's result types, the orchestration that is not
//! the lecture's program, the analysis and the verdict.

pub mod proc_watch;
pub mod signal_defaults;
pub mod signals;
