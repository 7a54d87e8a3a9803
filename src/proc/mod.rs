//! The kernel's own accounting, read back: a process's counters and their deltas
//! ([`counters`]), a thread's state and wait channel ([`tasks`]), the process tree ([`tree`]).

pub mod counters;
pub mod tasks;
pub mod tree;
