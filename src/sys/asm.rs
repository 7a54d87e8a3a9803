//! `lock inc` / `lock dec`: the lecture's inline-assembly atomic increment.

use std::sync::atomic::AtomicI32;

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
}
