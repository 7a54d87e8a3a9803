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

use crate::sys::pthread::{InlinePthreadGuard, InlinePthreadMutex};

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

/// A mutex guarding nothing itself: it guards `var` the way the C program's `pthread_mutex_t
/// lock` does. One type per kind, so a program generic over it reads no enum tag and follows no
/// pointer per step: the lock is wherever the program puts it (beside `var`, as the C statics
/// are). Locked through `&'static`, as the C program's static lock is, which lets glibc's mutex
/// sit in place ([`InlinePthreadMutex`]).
pub trait Lock: Default + Send + Sync + 'static {
    /// Holds the lock; dropping it unlocks.
    type Guard;
    /// Which kind it is.
    const KIND: MutexKind;
    /// Locks it, sleeping while another thread holds it.
    fn lock(&'static self) -> Self::Guard;
}

impl Lock for std::sync::Mutex<()> {
    type Guard = std::sync::MutexGuard<'static, ()>;
    const KIND: MutexKind = MutexKind::Std;
    #[inline]
    fn lock(&'static self) -> Self::Guard {
        // A poisoned std mutex only means another thread panicked while holding it; the unit
        // it guards cannot be left half-updated.
        std::sync::Mutex::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Lock for InlinePthreadMutex {
    type Guard = InlinePthreadGuard;
    const KIND: MutexKind = MutexKind::Pthread;
    #[inline]
    fn lock(&'static self) -> Self::Guard {
        InlinePthreadMutex::lock(self)
    }
}

impl Lock for parking_lot::Mutex<()> {
    type Guard = parking_lot::MutexGuard<'static, ()>;
    const KIND: MutexKind = MutexKind::ParkingLot;
    #[inline]
    fn lock(&'static self) -> Self::Guard {
        parking_lot::Mutex::lock(self)
    }
}

/// Something to do with a lock of a kind chosen at run time ([`MutexKind::with`]): `run` is
/// generic over the lock's type, so the choice is made once, not at every step.
pub trait WithLock {
    type Output;
    fn run<L: Lock>(self) -> Self::Output;
}

impl MutexKind {
    /// `job.run` with this kind's lock type.
    pub fn with<J: WithLock>(self, job: J) -> J::Output {
        match self {
            MutexKind::Std => job.run::<std::sync::Mutex<()>>(),
            MutexKind::Pthread => job.run::<InlinePthreadMutex>(),
            MutexKind::ParkingLot => job.run::<parking_lot::Mutex<()>>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_excludes_other_threads() {
        struct Excludes;
        impl WithLock for Excludes {
            type Output = MutexKind;
            fn run<L: Lock>(self) -> MutexKind {
                let lock: &'static L = Box::leak(Box::default());
                crate::testing::assert_excludes(3, 10_000, |critical| {
                    let _g = lock.lock();
                    critical();
                });
                L::KIND
            }
        }
        for kind in [MutexKind::Std, MutexKind::Pthread, MutexKind::ParkingLot] {
            assert_eq!(
                kind.with(Excludes),
                kind,
                "the kind asked for is the kind run"
            );
        }
    }
}
