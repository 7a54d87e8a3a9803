//! The scheduling chapter's lab benches: each demo's result types, the orchestration that is not
//! the lecture's program, the analysis and the verdict.

pub mod context_switch;
pub mod coop_sched;
pub mod goroutines;
pub mod nice_share;
pub mod sched_real;
pub mod sched_sim;
pub mod sleep_jitter;
pub mod time_slice;
pub mod turns;
