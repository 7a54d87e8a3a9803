//! The synchronisation primitives the lecture teaches: the slide's test-and-set [`spinlock`],
//! the [`mutex`] choices (`--lock std|pthread|parking_lot`), a counting [`semaphore`], the start
//! [`gate`] that lets threads begin together, and the wait-for graph of [`waitgraph`].

pub mod gate;
pub mod mutex;
pub mod semaphore;
pub mod spinlock;
pub mod waitgraph;
