//! The few thin wrappers that need `unsafe`, each with the argument that makes it sound.
//!
//! Nothing else in the crate contains an `unsafe` block: when a demo needs a raw call, it gets a
//! safe function here. Calls that `nix` already offers safely are used from `nix` directly.

use std::sync::atomic::AtomicI32;

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::{Error, Result};

/// `lock incl [var]`: the CPU's atomic increment, exactly the lecture's
/// `asm volatile("lock incl %0" : "+m" (var))`.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[inline(always)]
pub fn lock_inc(var: &AtomicI32) {
    // SAFETY: `as_ptr` points to the AtomicI32's own, live, 4-byte aligned storage for as long
    // as `var` is borrowed. `lock inc` is a single atomic read-modify-write of those 4 bytes, so
    // it cannot race with the other threads' atomic accesses to the same AtomicI32 (an atomic
    // RMW is what AtomicI32::fetch_add compiles to). It touches no other memory and no stack;
    // the flags it clobbers are declared clobbered by default.
    unsafe {
        core::arch::asm!("lock inc dword ptr [{0}]", in(reg) var.as_ptr(), options(nostack));
    }
}

/// `lock decl [var]`: the atomic decrement, for `--decrement`.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[inline(always)]
pub fn lock_dec(var: &AtomicI32) {
    // SAFETY: as for `lock_inc`: one atomic read-modify-write of the AtomicI32's own storage.
    unsafe {
        core::arch::asm!("lock dec dword ptr [{0}]", in(reg) var.as_ptr(), options(nostack));
    }
}

/// On other architectures the lecture's x86 instruction does not exist; the same atomic
/// read-modify-write comes from the compiler instead.
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
#[inline(always)]
pub fn lock_inc(var: &AtomicI32) {
    var.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// See `lock_inc`.
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
#[inline(always)]
pub fn lock_dec(var: &AtomicI32) {
    var.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
}

/// The calling process's scheduling policy (`sched_getscheduler(0)`), e.g. `libc::SCHED_OTHER`.
pub fn sched_policy() -> Result<i32> {
    // SAFETY: sched_getscheduler takes a pid by value (0: the caller) and touches no memory of
    // ours.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        return Err(Error::sys("sched_getscheduler", Errno::last()));
    }
    Ok(policy)
}

/// The calling process's nice value (`getpriority(PRIO_PROCESS, 0)`).
pub fn nice() -> Result<i32> {
    Errno::clear();
    // SAFETY: getpriority takes two integers and touches no memory of ours. It can legitimately
    // return -1, so errno (cleared just above) tells an error from nice -1.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if nice == -1 && Errno::last_raw() != 0 {
        return Err(Error::sys("getpriority", Errno::last()));
    }
    Ok(nice)
}

/// Installs `handler` for `signal`, once: the first delivery resets the signal to its default
/// action (SA_RESETHAND), so a second Ctrl-C ends the process at once.
pub fn catch_once(signal: Signal, handler: extern "C" fn(libc::c_int)) -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESTART | SaFlags::SA_RESETHAND,
        SigSet::empty(),
    );
    // SAFETY: sigaction is unsafe because the handler runs asynchronously, interrupting any
    // code. The handlers this crate installs (see `interrupt`) only store into a static atomic,
    // which is async-signal-safe, and never touch locks, the allocator or stdio.
    unsafe { sigaction(signal, &action) }.map_err(|e| Error::sys("sigaction", e))?;
    Ok(())
}

/// glibc's `pthread_mutex_t`, the lecture's own lock, for comparing it with Rust's mutexes, and
/// the resources of `deadlock` (where tools such as helgrind can see them as locks).
///
/// The mutex lives in its own heap allocation: a pthread mutex must not move once used, and the
/// box keeps its address fixed however the owner moves.
pub struct PthreadMutex {
    raw: Box<std::cell::UnsafeCell<libc::pthread_mutex_t>>,
}

// SAFETY: a pthread mutex is designed to be shared between threads; every access to the inner
// value goes through pthread_mutex_* calls, which synchronise internally.
unsafe impl Send for PthreadMutex {}
// SAFETY: as above: &PthreadMutex only ever reaches the mutex through pthread calls.
unsafe impl Sync for PthreadMutex {}

/// Holds a [`PthreadMutex`]; dropping it is `pthread_mutex_unlock`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct PthreadGuard<'a> {
    mutex: &'a PthreadMutex,
}

impl PthreadMutex {
    /// `pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;` (a default, normal mutex).
    pub fn new() -> PthreadMutex {
        PthreadMutex {
            raw: Box::new(std::cell::UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER)),
        }
    }

    /// `pthread_mutex_lock(&lock)`.
    #[inline]
    pub fn lock(&self) -> PthreadGuard<'_> {
        // SAFETY: `raw` points to an initialised mutex that stays at this address until drop,
        // which cannot happen while `self` is borrowed.
        let rc = unsafe { libc::pthread_mutex_lock(self.raw.get()) };
        // A normal mutex reports no errors (EDEADLK/EOWNERDEAD are for other mutex types).
        assert_eq!(rc, 0, "pthread_mutex_lock failed with {rc}");
        PthreadGuard { mutex: self }
    }

    /// `pthread_mutex_trylock(&lock)`: the lock if it is free now, `None` if another thread
    /// holds it. Never waits.
    #[inline]
    pub fn try_lock(&self) -> Option<PthreadGuard<'_>> {
        // SAFETY: as for `lock`: `raw` points to an initialised mutex that stays put while
        // `self` is borrowed.
        let rc = unsafe { libc::pthread_mutex_trylock(self.raw.get()) };
        match rc {
            0 => Some(PthreadGuard { mutex: self }),
            libc::EBUSY => None,
            _ => panic!("pthread_mutex_trylock failed with {rc}"),
        }
    }

    /// `pthread_mutex_timedlock(&lock, now + limit)`: waits (asleep in the kernel, as `lock`
    /// does) at most `limit` for the lock; `None` if it is still taken then.
    pub fn lock_for(&self, limit: std::time::Duration) -> Option<PthreadGuard<'_>> {
        // timedlock takes an absolute CLOCK_REALTIME deadline. A clock step while we wait
        // changes only how long this one wait lasts; callers wait in short slices.
        let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME)
            .expect("CLOCK_REALTIME is always readable");
        let deadline = std::time::Duration::new(now.tv_sec() as u64, now.tv_nsec() as u32) + limit;
        let abstime = libc::timespec {
            tv_sec: deadline.as_secs() as libc::time_t,
            tv_nsec: deadline.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `raw` points to an initialised mutex that stays put while `self` is borrowed;
        // `abstime` is a valid timespec on our stack that the call only reads.
        let rc = unsafe { libc::pthread_mutex_timedlock(self.raw.get(), &abstime) };
        match rc {
            0 => Some(PthreadGuard { mutex: self }),
            libc::ETIMEDOUT => None,
            _ => panic!("pthread_mutex_timedlock failed with {rc}"),
        }
    }
}

impl Default for PthreadMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PthreadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this guard exists only because this thread locked the mutex, and it is
        // dropped once, so the unlock is by the owner of a locked mutex.
        let rc = unsafe { libc::pthread_mutex_unlock(self.mutex.raw.get()) };
        debug_assert_eq!(rc, 0, "pthread_mutex_unlock failed with {rc}");
    }
}

impl Drop for PthreadMutex {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no guard borrows the mutex, so it is unlocked and unused;
        // it is destroyed once, before its box is freed.
        unsafe { libc::pthread_mutex_destroy(self.raw.get()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn lock_inc_and_dec_are_atomic() {
        let var = AtomicI32::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let var = &var;
                s.spawn(move || {
                    for _ in 0..10_000 {
                        if t % 2 == 0 {
                            lock_inc(var);
                        } else {
                            lock_inc(var);
                            lock_dec(var);
                        }
                    }
                });
            }
        });
        assert_eq!(var.load(Ordering::Relaxed), 20_000);
    }

    #[test]
    fn the_pthread_mutex_excludes_other_threads() {
        let lock = PthreadMutex::new();
        crate::testing::assert_excludes(4, 10_000, |critical| {
            let _g = lock.lock();
            critical();
        });
    }

    #[test]
    fn try_lock_and_timed_lock_fail_while_another_thread_holds_the_lock() {
        let lock = PthreadMutex::new();
        let held = lock.lock();
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(lock.try_lock().is_none());
                assert!(lock.lock_for(std::time::Duration::from_millis(5)).is_none());
            });
        });
        drop(held);
        assert!(lock.try_lock().is_some());
        assert!(lock.lock_for(std::time::Duration::from_millis(5)).is_some());
    }

    #[test]
    fn policy_and_nice_read_back() {
        assert_eq!(sched_policy().unwrap(), libc::SCHED_OTHER);
        assert!((-20..=19).contains(&nice().unwrap()));
    }
}
