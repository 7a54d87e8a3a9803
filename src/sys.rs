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
// Signals

/// How many signals the recorder keeps; later ones are counted but not kept.
pub const SIGNAL_LOG_LEN: usize = 256;

static SIGNAL_LOG: [std::sync::atomic::AtomicI32; SIGNAL_LOG_LEN] =
    [const { std::sync::atomic::AtomicI32::new(0) }; SIGNAL_LOG_LEN];
static SIGNAL_VALUES: [std::sync::atomic::AtomicI32; SIGNAL_LOG_LEN] =
    [const { std::sync::atomic::AtomicI32::new(0) }; SIGNAL_LOG_LEN];
static SIGNAL_COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn record_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering::Relaxed;
    let value = if info.is_null() {
        0
    } else {
        // SAFETY: for an SA_SIGINFO handler the kernel passes a valid siginfo_t; si_value is
        // what sigqueue sent (and an arbitrary, harmless int for a plain kill).
        unsafe { (*info).si_value().sival_ptr as usize as i32 }
    };
    // Only lock-free atomics here: async-signal-safe, whatever the handler interrupted.
    let i = SIGNAL_COUNT.fetch_add(1, Relaxed);
    if i < SIGNAL_LOG_LEN {
        SIGNAL_VALUES[i].store(value, Relaxed);
        SIGNAL_LOG[i].store(signal, Relaxed);
    }
}

/// A set of signals by number, real-time ones included (nix's `SigSet` cannot name those).
fn sigset(signals: &[i32]) -> Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live local for both calls.
    unsafe { libc::sigemptyset(&mut set) };
    for &signal in signals {
        // SAFETY: as above; an invalid number is reported through the return value.
        if unsafe { libc::sigaddset(&mut set, signal) } != 0 {
            return Err(Error::sys("sigaddset", Errno::last()));
        }
    }
    Ok(set)
}

/// Installs, for each signal number in `signals`, a handler that records in arrival order the
/// signal and the value it carried (sigqueue). While it runs the handler blocks every signal
/// (`sa_mask` full, as the lecture's printer). Read the record with [`recorded_signals`].
pub fn record_signals(signals: &[i32]) -> Result<()> {
    for &signal in signals {
        catch_raw(signal, true)?;
    }
    Ok(())
}

fn catch_raw(signal: i32, restart: bool) -> Result<()> {
    // SAFETY: sigaction is plain data; every field the kernel reads is set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = record_signal as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | if restart { libc::SA_RESTART } else { 0 };
    // SAFETY: `sa_mask` is a field of the live local `action`.
    unsafe { libc::sigfillset(&mut action.sa_mask) };
    // SAFETY: the handler only performs lock-free atomic operations on statics and reads the
    // siginfo the kernel hands it, which is async-signal-safe; both pointers are to live locals
    // (or null for the old action).
    if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
        return Err(Error::sys("sigaction", Errno::last()));
    }
    Ok(())
}

/// Blocks (`true`) or unblocks the signals for the calling thread (`pthread_sigmask`). Signals
/// that arrive while blocked stay pending; unblocking delivers them before this returns.
pub fn block_signals(signals: &[i32], block: bool) -> Result<()> {
    let set = sigset(signals)?;
    let how = if block {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: `set` is a live, initialised sigset; the old mask is not wanted (null).
    let rc = unsafe { libc::pthread_sigmask(how, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(Error::sys("pthread_sigmask", Errno::from_raw(rc)));
    }
    Ok(())
}

/// `sigsuspend` with an empty mask: sleeps, every signal unblocked, until a handler has run;
/// then the mask is restored. The classic race-free wait: block the signals you handle, check
/// your state, then suspend.
pub fn suspend_until_signal() {
    // SAFETY: sigset_t is plain data, and sigemptyset initialises it before sigsuspend reads it;
    // both calls get a pointer to this live local. sigsuspend always returns -1/EINTR.
    unsafe {
        let mut open: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut open);
        libc::sigsuspend(&open);
    }
}

/// The signals recorded so far, as (signal number, value), and how many arrived in all (more
/// than the list holds if the log overflowed). Clears the record.
pub fn recorded_signals() -> (Vec<(i32, i32)>, usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let total = SIGNAL_COUNT.swap(0, Relaxed);
    let kept = (0..total.min(SIGNAL_LOG_LEN))
        .map(|i| (SIGNAL_LOG[i].load(Relaxed), SIGNAL_VALUES[i].load(Relaxed)))
        .collect();
    (kept, total)
}

/// How many signals the recorder has seen since it was last read.
pub fn recorded_count() -> usize {
    SIGNAL_COUNT.load(std::sync::atomic::Ordering::Relaxed)
}

/// What `sigaction` says when asked to catch `signal` (EINVAL for SIGKILL and SIGSTOP).
pub fn try_catch(signal: i32) -> Result<()> {
    catch_raw(signal, false)
}

/// `kill(pid, signal)` for any signal number, real-time ones included.
pub fn send_signal(pid: nix::unistd::Pid, signal: i32) -> Result<()> {
    // SAFETY: kill takes integers and touches no memory of ours.
    if unsafe { libc::kill(pid.as_raw(), signal) } != 0 {
        return Err(Error::sys("kill", Errno::last()));
    }
    Ok(())
}

/// `sigqueue(pid, signal, value)`: sends a signal that carries an integer. Real-time signals
/// sent this way queue, one instance per send, in order.
pub fn sigqueue(pid: nix::unistd::Pid, signal: i32, value: i32) -> Result<()> {
    let sival = libc::sigval {
        sival_ptr: value as usize as *mut libc::c_void,
    };
    // SAFETY: sigqueue takes its arguments by value and touches no memory of ours.
    let rc = unsafe { libc::sigqueue(pid.as_raw(), signal, sival) };
    if rc != 0 {
        return Err(Error::sys("sigqueue", Errno::last()));
    }
    Ok(())
}

/// `SIGRTMIN + n`: the kernel's real-time signals, numbered at run time (glibc keeps the first
/// few for itself).
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// `SIGRTMAX`.
pub fn sigrtmax() -> i32 {
    libc::SIGRTMAX()
}

// ---------------------------------------------------------------------------------------------
// Waiting for a process without blocking in wait4

/// `pidfd_open(pid, 0)`: a descriptor for the process that becomes readable when it ends, so a
/// demo can `poll` for its child's end and still notice Ctrl-C (a blocking `wait4` is restarted
/// after the signal). Always close-on-exec. Linux 5.3 and later; ENOSYS before.
pub fn pidfd_open(pid: nix::unistd::Pid) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and a flags word by value and touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Error::sys("pidfd_open", Errno::last()));
    }
    // SAFETY: the kernel has just returned this descriptor to us; nothing else owns it, so the
    // OwnedFd is its only owner and closes it once.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as std::os::fd::RawFd) })
}

/// `poll` on one descriptor for readability, at most `timeout_ms`: true if readable, false on
/// timeout, `Err(EINTR)` when a signal handler ran (poll is never restarted).
pub fn poll_readable(
    fd: std::os::fd::BorrowedFd<'_>,
    timeout_ms: i32,
) -> std::result::Result<bool, Errno> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is a live local pollfd and we pass a count of 1; the borrowed descriptor
    // stays open for the whole call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(rc > 0)
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
// Scheduling (policy, priority, nice) and user-level threads (contexts, stacks, time slices):
// src/sys/sched.rs and src/sys/ult.rs.

pub mod sched;
pub mod ult;
