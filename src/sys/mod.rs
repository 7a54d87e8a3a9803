//! The few thin wrappers that need `unsafe`, each with the argument that makes it sound.
//!
//! Nothing else in the crate contains an `unsafe` block: when a demo needs a raw call, it gets a
//! safe function here. Calls that `nix` already offers safely are used from `nix` directly.
//!
//! One syscall family per file.

pub mod asm;
pub mod fd;
pub mod mman;
pub mod process;
pub mod pthread;
pub mod sched;
pub mod semaphore;
pub mod signal;
pub mod ult;
