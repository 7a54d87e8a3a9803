//! The synchronisation primitives the lecture teaches: the slide's test-and-set [`spinlock`],
//! the [`mutex`] choices (`--lock std|pthread|parking_lot`), a counting [`semaphore`], the start
//! [`gate`] that lets threads begin together, the wait-for graph of [`waitgraph`], and a
//! CPython-style global interpreter lock, [`gil`].

pub mod gate;
pub mod gil;
pub mod mutex;
pub mod semaphore;
pub mod spinlock;
pub mod waitgraph;
