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

/// glibc's `pthread_mutex_t`, the lecture's own lock, for comparing it with Rust's mutexes.
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
    fn policy_and_nice_read_back() {
        assert_eq!(sched_policy().unwrap(), libc::SCHED_OTHER);
        assert!((-20..=19).contains(&nice().unwrap()));
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// Proof that this process had exactly one thread when the proof was made, which `fork` needs:
/// a child forked from a multi-threaded process gets a copy of every lock another thread held
/// (stdout's, the allocator's) and would deadlock on the first one it touches. The proof cannot
/// leave the thread that made it (`!Send`); a demo makes it just before it forks, after joining
/// any threads of its own.
#[derive(Debug)]
pub struct SingleThreaded {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Checks `/proc/self/stat`'s thread count.
    pub fn check() -> Result<SingleThreaded> {
        let threads = procfs::process::Process::myself()
            .and_then(|me| me.stat())
            .map_err(|e| Error::proc("/proc/self/stat", e))?
            .num_threads;
        if threads != 1 {
            return Err(Error::NotSingleThreaded { threads });
        }
        Ok(SingleThreaded {
            _not_send: std::marker::PhantomData,
        })
    }
}

/// Which side of a `fork` we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkResult {
    /// The new process.
    Child,
    /// The original process; the child's PID.
    Parent(nix::unistd::Pid),
}

/// `fork()`: a copy of this process. Use `process::fork`, which wraps the child in a guard that
/// reaps it on every path.
pub fn fork(_single: &SingleThreaded) -> Result<ForkResult> {
    // SAFETY: nix marks fork unsafe because in a multi-threaded process the child may only call
    // async-signal-safe functions. `SingleThreaded` proves this thread is the only one (checked
    // when the proof was made, and the proof cannot leave this thread), so the child is an
    // ordinary single-threaded copy that may do anything.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => Ok(ForkResult::Child),
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(ForkResult::Parent(child)),
        Err(e) => Err(Error::sys("fork", e)),
    }
}

/// `_exit(code)`: ends a forked child at once, without running the parent's exit handlers or
/// flushing buffers a second time (the parent flushes its own).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer, touches no memory of ours and does not return.
    unsafe { libc::_exit(code) }
}

/// `wait4(pid)`: waits for a child and returns its status word and the kernel's accounting of
/// its resource use (faults, context switches, CPU time), which `waitpid` does not give.
pub fn wait4(pid: nix::unistd::Pid) -> Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, so all-zero is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers point to live locals of the right types for the whole call.
        let rc = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut usage) };
        if rc >= 0 {
            return Ok((status, usage));
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(Error::sys("wait4", errno));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Memory

/// An anonymous memory mapping (`mmap(MAP_ANONYMOUS)`), private (copy-on-write across fork) or
/// shared (parent and children see one copy), seen as a slice of atomics so that processes and
/// threads may read and write it at the same time without undefined behaviour. Relaxed atomic
/// bytes compile to plain loads and stores: a touch is one `mov`, as in C.
pub struct Mapping {
    ptr: std::ptr::NonNull<libc::c_void>,
    len: usize,
}

// SAFETY: the mapping is only ever accessed through atomics, which may be shared across
// threads; the pointer itself is valid until drop, whichever thread drops it.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access goes through `&[AtomicU8]`/`&[AtomicI64]` only.
unsafe impl Sync for Mapping {}

/// Whether a fork copies a mapping or shares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// MAP_PRIVATE: after fork, the first write to a page copies it (copy-on-write).
    Private,
    /// MAP_SHARED: parent and child share the pages; no copy is ever made.
    Shared,
}

/// What to tell the kernel about huge pages for a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HugePages {
    /// MADV_NOHUGEPAGE: 4 KiB pages only, one fault per page as the lecture counts.
    Never,
    /// MADV_HUGEPAGE: 2 MiB pages where the kernel can.
    Wanted,
    /// No advice: the system's THP mode decides.
    Default,
}

impl Mapping {
    /// Maps `len` bytes (rounded up to whole pages by the kernel), zero-filled, not yet backed
    /// by memory: each page faults in on first touch.
    pub fn new(len: usize, sharing: Sharing, huge: HugePages) -> Result<Mapping> {
        use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous};
        let size = std::num::NonZeroUsize::new(len).ok_or(Error::sys("mmap", Errno::EINVAL))?;
        let flags = match sharing {
            Sharing::Private => MapFlags::MAP_PRIVATE,
            Sharing::Shared => MapFlags::MAP_SHARED,
        };
        // SAFETY: a new anonymous mapping at an address the kernel chooses overlaps nothing
        // that exists, so creating it cannot invalidate any Rust reference.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .map_err(|e| Error::sys("mmap", e))?;
        let mapping = Mapping { ptr, len };
        let advice = match huge {
            HugePages::Never => Some(MmapAdvise::MADV_NOHUGEPAGE),
            HugePages::Wanted => Some(MmapAdvise::MADV_HUGEPAGE),
            HugePages::Default => None,
        };
        if let Some(advice) = advice {
            // SAFETY: the range is exactly the mapping just created, which we own; huge-page
            // advice changes how it is backed, never its contents.
            unsafe { madvise(mapping.ptr, len, advice) }.map_err(|e| Error::sys("madvise", e))?;
        }
        Ok(mapping)
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty mapping (never: `new` refuses length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapping as bytes.
    pub fn bytes(&self) -> &[std::sync::atomic::AtomicU8] {
        // SAFETY: the pointer is valid for `len` bytes, readable and writable, until drop, which
        // the borrow of `self` prevents; AtomicU8 has the size and alignment of u8 and permits
        // shared mutation, so aliasing slices (other threads, or after fork the other process
        // through MAP_SHARED) are fine.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }

    /// The mapping as 64-bit words (the length rounded down to whole words).
    pub fn words(&self) -> &[std::sync::atomic::AtomicI64] {
        // SAFETY: as for `bytes`; mmap returns page-aligned memory, so 8-byte alignment holds,
        // and the slice covers only whole words inside the mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len / 8) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; no slice of it outlives `self` (they borrow it), so
        // nothing can touch it after this.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr, self.len) };
    }
}

// ---------------------------------------------------------------------------------------------
// Scheduling (policy, priority, nice) and user-level threads (contexts, stacks, time slices):
// src/sys/sched.rs and src/sys/ult.rs.

pub mod sched;
pub mod ult;
