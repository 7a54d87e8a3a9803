//! The synchronisation primitives the lecture teaches: the slide's test-and-set [`spinlock`],
//! the [`mutex`] choices (`--lock std|pthread|parking_lot`), a counting [`semaphore`], the start
//! [`gate`] that lets threads begin together, and the wait-for graph of [`waitgraph`].
//! [`gil`] is CPython's global interpreter lock, for the `gil` demo.

pub mod gate;
pub mod gil;
pub mod mutex;
pub mod semaphore;
pub mod spinlock;
pub mod waitgraph;
