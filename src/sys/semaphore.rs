//! POSIX unnamed semaphores (`sem_t`): `sem_init`, `sem_wait`, `sem_trywait`, `sem_post`,
//! `sem_getvalue`, `sem_destroy`. The kernel-backed twin of `crate::sync::semaphore`, for
//! `semaphore --posix`.

use std::cell::UnsafeCell;

use nix::errno::Errno;

use crate::{Error, Result};

/// A `sem_t` shared between the threads of one process (`pshared` = 0).
///
/// The `sem_t` lives in its own heap allocation: POSIX leaves using a copy of a semaphore
/// undefined, and the box keeps its address fixed however the owner moves.
pub struct PosixSemaphore {
    raw: Box<UnsafeCell<libc::sem_t>>,
}

// SAFETY: a sem_t is made to be shared between threads; every access to the inner value goes
// through sem_* calls, which synchronise internally.
unsafe impl Send for PosixSemaphore {}
// SAFETY: as above: &PosixSemaphore only ever reaches the semaphore through sem_* calls.
unsafe impl Sync for PosixSemaphore {}

impl PosixSemaphore {
    /// `sem_init(&sem, 0, value)`.
    pub fn new(value: u32) -> Result<PosixSemaphore> {
        // SAFETY: an all-zero sem_t is a valid bit pattern for a plain C struct; sem_init
        // overwrites it before any other call reads it.
        let raw = Box::new(UnsafeCell::new(unsafe {
            std::mem::zeroed::<libc::sem_t>()
        }));
        // SAFETY: `raw` points to writable memory for one sem_t that stays at this address
        // until drop; pshared 0: used by this process's threads only.
        let rc = unsafe { libc::sem_init(raw.get(), 0, value) };
        if rc != 0 {
            return Err(Error::sys("sem_init", Errno::last()));
        }
        Ok(PosixSemaphore { raw })
    }

    /// `sem_wait(&sem)`: takes a permit, sleeping in the kernel (futex) until there is one.
    pub fn wait(&self) {
        loop {
            // SAFETY: `raw` points to a semaphore initialised by sem_init in `new` and not yet
            // destroyed (that happens in drop, which cannot run while `self` is borrowed).
            if unsafe { libc::sem_wait(self.raw.get()) } == 0 {
                return;
            }
            // EINTR: a signal handler ran (Ctrl-C sets a flag); wait again, as the caller
            // still wants its permit. EINVAL cannot happen on an initialised semaphore.
            let errno = Errno::last();
            assert_eq!(errno, Errno::EINTR, "sem_wait failed: {errno}");
        }
    }

    /// `sem_trywait(&sem)`: takes a permit if there is one now (true); false (EAGAIN) if the
    /// count is 0. Never sleeps.
    pub fn try_wait(&self) -> bool {
        loop {
            // SAFETY: as in `wait`: an initialised semaphore that outlives the borrow.
            if unsafe { libc::sem_trywait(self.raw.get()) } == 0 {
                return true;
            }
            match Errno::last() {
                Errno::EAGAIN => return false,
                Errno::EINTR => continue,
                errno => panic!("sem_trywait failed: {errno}"),
            }
        }
    }

    /// `sem_post(&sem)`: adds a permit and wakes one sleeper.
    pub fn post(&self) {
        // SAFETY: as in `wait`: an initialised semaphore that outlives the borrow.
        let rc = unsafe { libc::sem_post(self.raw.get()) };
        // EOVERFLOW would need SEM_VALUE_MAX posts: the demo posts only what it took.
        assert_eq!(rc, 0, "sem_post failed: {}", Errno::last());
    }

    /// `sem_getvalue(&sem, &value)`: the count now (glibc reports 0, never negative, while
    /// threads wait). A snapshot: another thread may change it at once.
    pub fn value(&self) -> u32 {
        let mut value: libc::c_int = 0;
        // SAFETY: as in `wait`; `value` is a valid c_int on our stack that the call writes.
        let rc = unsafe { libc::sem_getvalue(self.raw.get(), &mut value) };
        assert_eq!(rc, 0, "sem_getvalue failed: {}", Errno::last());
        value.max(0) as u32
    }
}

impl Drop for PosixSemaphore {
    fn drop(&mut self) {
        // SAFETY: the semaphore was initialised in `new`; `&mut self` means no thread can be
        // waiting on it any more (every wait borrows `self`), as sem_destroy requires.
        unsafe { libc::sem_destroy(self.raw.get()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_goes_down_with_waits_and_up_with_posts() {
        let s = PosixSemaphore::new(2).unwrap();
        assert_eq!(s.value(), 2);
        s.wait();
        assert!(s.try_wait());
        assert_eq!(s.value(), 0);
        assert!(!s.try_wait(), "no permit left");
        s.post();
        assert_eq!(s.value(), 1);
    }

    #[test]
    fn the_semaphore_excludes_as_a_lock_does() {
        let s = PosixSemaphore::new(1).unwrap();
        crate::testing::assert_excludes(3, 5_000, |critical| {
            s.wait();
            critical();
            s.post();
        });
    }
}
