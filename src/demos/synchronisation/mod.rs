//! The synchronisation chapter's lab benches: each demo's result types, the orchestration that is not
//! the lecture's program, the analysis and the verdict.

pub mod barrier;
pub mod condition;
pub mod deadlock;
pub mod lost_wakeup;
pub mod race;
pub mod reentrancy;
pub mod semaphore;
