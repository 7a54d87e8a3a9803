//! The mutexes a demo can choose with `--lock`: Rust's standard one, glibc's (the lecture's
//! own `pthread_mutex_t`) and parking_lot's. All three sleep in the kernel (a futex) when the
//! lock is taken; they differ in how long they spin first and whom unlock hands the lock to,
//! and that shows in the time, the context switches and the fairness.
//!
//! - `std`: spins briefly, then sleeps. The brief spin often catches the lock as it is
//!   released, so the lock changes hands (and CPUs) often: fair, many handovers.
//! - `pthread`: sleeps at once. The holder re-takes the free lock many times before the sleeper
//!   is awake: long runs for one thread, fewer handovers.
//! - `parking_lot`: spins adaptively, then parks; hands the lock over fairly now and then.

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::sys::pthread::{PthreadGuard, PthreadMutex};

/// Which mutex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutexKind {
    /// std::sync::Mutex
    #[default]
    Std,
    /// glibc's pthread_mutex_t, the lecture's lock
    Pthread,
    /// parking_lot::Mutex
    #[value(name = "parking_lot", alias = "parking-lot")]
    #[serde(rename = "parking_lot")]
    ParkingLot,
}

impl MutexKind {
    /// The type's name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            MutexKind::Std => "std::sync::Mutex",
            MutexKind::Pthread => "pthread_mutex_t",
            MutexKind::ParkingLot => "parking_lot::Mutex",
        }
    }
}

/// The `--lock` flag.
#[derive(Args, Clone, Copy, Debug)]
pub struct LockArgs {
    /// Which mutex: std (std::sync::Mutex), pthread (glibc's, the lecture's) or parking_lot
    #[arg(long, value_enum, default_value_t = MutexKind::Std)]
    pub lock: MutexKind,
}

/// A mutex of the chosen kind, guarding nothing itself: it guards `var` the way the C
/// program's `pthread_mutex_t lock` does.
pub enum Mutex {
    Std(std::sync::Mutex<()>),
    Pthread(PthreadMutex),
    ParkingLot(parking_lot::Mutex<()>),
}

/// Holds the lock; dropping it unlocks.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub enum Guard<'a> {
    Std(std::sync::MutexGuard<'a, ()>),
    Pthread(PthreadGuard<'a>),
    ParkingLot(parking_lot::MutexGuard<'a, ()>),
}

impl Mutex {
    /// An unlocked mutex of `kind`.
    pub fn new(kind: MutexKind) -> Mutex {
        match kind {
            MutexKind::Std => Mutex::Std(std::sync::Mutex::new(())),
            MutexKind::Pthread => Mutex::Pthread(PthreadMutex::new()),
            MutexKind::ParkingLot => Mutex::ParkingLot(parking_lot::Mutex::new(())),
        }
    }

    /// Locks it, sleeping while another thread holds it.
    #[inline]
    pub fn lock(&self) -> Guard<'_> {
        match self {
            // A poisoned std mutex only means another thread panicked while holding it; the
            // unit it guards cannot be left half-updated.
            Mutex::Std(m) => {
                Guard::Std(m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            }
            Mutex::Pthread(m) => Guard::Pthread(m.lock()),
            Mutex::ParkingLot(m) => Guard::ParkingLot(m.lock()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_excludes_other_threads() {
        for kind in [MutexKind::Std, MutexKind::Pthread, MutexKind::ParkingLot] {
            let lock = Mutex::new(kind);
            crate::testing::assert_excludes(3, 10_000, |critical| {
                let _g = lock.lock();
                critical();
            });
        }
    }
}
