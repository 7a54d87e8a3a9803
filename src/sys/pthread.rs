//! glibc's pthread calls: the lecture's `pthread_mutex_t` (boxed, and inline as the C static
//! is), and a bare `pthread_create` + join.

use nix::errno::Errno;

use crate::{Error, Result};

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

/// The lecture's `static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;`, in place: the
/// mutex itself, not a box pointing to it, so it lies wherever its owner puts it (the race
/// programs: at the start of a cache line, `var` right after it, as the C statics are).
///
/// POSIX leaves a mutex that has moved undefined, and Rust moves values freely; so this one is
/// locked only through a `&'static` reference. A value with a shared `'static` borrow can never
/// move or be dropped again: it is a `static`, or leaked, like the C program's statics, which
/// live as long as the program. Before its first lock it may move: until then it is only
/// PTHREAD_MUTEX_INITIALIZER's bytes, which is what a static mutex starts as.
pub struct InlinePthreadMutex {
    raw: std::cell::UnsafeCell<libc::pthread_mutex_t>,
}

// SAFETY: a pthread mutex is designed to be shared between threads; every access to the inner
// value goes through pthread_mutex_* calls, which synchronise internally.
unsafe impl Send for InlinePthreadMutex {}
// SAFETY: as above: &InlinePthreadMutex only ever reaches the mutex through pthread calls.
unsafe impl Sync for InlinePthreadMutex {}

/// Holds an [`InlinePthreadMutex`]; dropping it is `pthread_mutex_unlock`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct InlinePthreadGuard {
    mutex: &'static InlinePthreadMutex,
}

impl InlinePthreadMutex {
    /// `pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;` (a default, normal mutex).
    pub const fn new() -> InlinePthreadMutex {
        InlinePthreadMutex {
            raw: std::cell::UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
        }
    }

    /// `pthread_mutex_lock(&lock)`.
    #[inline]
    pub fn lock(&'static self) -> InlinePthreadGuard {
        // SAFETY: `raw` is an initialised mutex (PTHREAD_MUTEX_INITIALIZER) that stays at this
        // address for the rest of the program: `self` is borrowed for 'static, so it can
        // neither move nor be dropped.
        let rc = unsafe { libc::pthread_mutex_lock(self.raw.get()) };
        // A normal mutex reports no errors (EDEADLK/EOWNERDEAD are for other mutex types).
        assert_eq!(rc, 0, "pthread_mutex_lock failed with {rc}");
        InlinePthreadGuard { mutex: self }
    }
}

impl Default for InlinePthreadMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InlinePthreadGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this guard exists only because this thread locked the mutex, and it is
        // dropped once, so the unlock is by the owner of a locked mutex, still at the address
        // it was locked at ('static).
        let rc = unsafe { libc::pthread_mutex_unlock(self.mutex.raw.get()) };
        debug_assert_eq!(rc, 0, "pthread_mutex_unlock failed with {rc}");
    }
}

/// `pthread_create` of a thread that returns at once, then `pthread_join`: the lecture's own
/// thread creation, with nothing of Rust's `std::thread` around it (std gives each new thread
/// a guarded signal stack for overflow reports, a name slot and a result packet, which costs a
/// few system calls more: spawn_cost times both).
pub fn pthread_create_join() -> Result<()> {
    extern "C" fn returns_at_once(arg: *mut libc::c_void) -> *mut libc::c_void {
        arg
    }
    let mut tid: libc::pthread_t = 0;
    // SAFETY: `tid` is a live local the call fills in; a null attr means the defaults; the
    // start routine is a plain extern "C" function that only returns its (null) argument, so
    // the new thread touches no Rust state at all.
    let rc = unsafe {
        libc::pthread_create(
            &mut tid,
            std::ptr::null(),
            returns_at_once,
            std::ptr::null_mut(),
        )
    };
    if rc != 0 {
        return Err(Error::sys("pthread_create", Errno::from_raw(rc)));
    }
    // SAFETY: `tid` is a joinable thread created just above, joined once; its result (the
    // null pointer) is discarded, so no pointer is read.
    let rc = unsafe { libc::pthread_join(tid, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(Error::sys("pthread_join", Errno::from_raw(rc)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pthread_mutex_excludes_other_threads() {
        let lock = PthreadMutex::new();
        crate::testing::assert_excludes(4, 10_000, |critical| {
            let _g = lock.lock();
            critical();
        });
    }

    #[test]
    fn the_inline_mutex_excludes_other_threads() {
        static LOCK: InlinePthreadMutex = InlinePthreadMutex::new();
        crate::testing::assert_excludes(4, 10_000, |critical| {
            let _g = LOCK.lock();
            critical();
        });
        // In place: the mutex is the pthread_mutex_t itself, no pointer to one.
        assert_eq!(
            std::mem::size_of::<InlinePthreadMutex>(),
            std::mem::size_of::<libc::pthread_mutex_t>()
        );
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
}
