//! The slide's spinlock: test-and-set in a loop until the lock was free.
//!
//! ```c
//! while (atomic_flag_test_and_set(&lock))
//!     ;            /* spin: the CPU stays busy while it waits */
//! /* critical section */
//! lock = 0;
//! ```
//!
//! Test-and-set is one atomic instruction (`xchg` on x86): it sets the flag and returns what it
//! was. If it was already set, someone else holds the lock and we try again. Nothing here
//! sleeps, nothing asks the kernel: a waiting thread burns its CPU, which is cheap when the
//! critical section is a few nanoseconds and wasteful when it is long or the holder is
//! preempted. It is also unfair: whoever happens to run the instruction first wins.

use std::hint;
use std::sync::atomic::{AtomicBool, Ordering};

/// A test-and-set spinlock, as on the slide.
#[derive(Debug, Default)]
pub struct Spinlock {
    locked: AtomicBool,
}

/// Holds the lock; dropping it is the slide's `lock = 0`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinGuard<'a> {
    lock: &'a Spinlock,
}

impl Spinlock {
    /// An unlocked spinlock.
    pub const fn new() -> Spinlock {
        Spinlock {
            locked: AtomicBool::new(false),
        }
    }

    /// `while (atomic_flag_test_and_set(&lock)) ;`
    #[inline]
    pub fn lock(&self) -> SpinGuard<'_> {
        // swap(true) is test-and-set; Acquire makes the previous holder's writes visible to us.
        while self.locked.swap(true, Ordering::Acquire) {
            // `pause`: tells the CPU this is a spin-wait (saves power, frees the sibling
            // hyperthread). It does not yield to the kernel.
            hint::spin_loop();
        }
        SpinGuard { lock: self }
    }
}

impl Drop for SpinGuard<'_> {
    /// `lock = 0;` Release publishes the critical section's writes to the next holder.
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_excludes_other_threads() {
        let lock = Spinlock::new();
        crate::testing::assert_excludes(4, 10_000, |critical| {
            let _g = lock.lock();
            critical();
        });
    }

    #[test]
    fn dropping_the_guard_unlocks() {
        let lock = Spinlock::new();
        drop(lock.lock());
        let _again = lock.lock();
        assert!(lock.locked.load(Ordering::Relaxed));
    }
}
