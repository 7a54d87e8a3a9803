//! The processes chapter's lab benches: each demo's result types, the orchestration that is not
//! the lecture's program, the analysis and the verdict.

pub mod address_space;
pub mod cow_overhead;
pub mod create_process;
pub mod fork_celsius;
pub mod multiple_forks;
pub mod process_attrs;
pub mod spawn_cost;
pub mod sum_array;
