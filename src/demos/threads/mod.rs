//! The threads chapter's lab benches: each demo's result types, the orchestration that is not
//! the lecture's program, the analysis and the verdict.

pub mod create_thread;
pub mod gil;
pub mod thread_states;
