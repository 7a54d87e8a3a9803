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
