//! A global interpreter lock as CPython's eval loop has it (`Python/ceval_gil.c`, the "new GIL"
//! of 3.2): a flag under a mutex, a condition variable the waiters sleep on, and a drop request.
//!
//! A thread holds the GIL while it runs bytecode and lets it go around a blocking call
//! ([`Held::release_while`], `Py_BEGIN_ALLOW_THREADS`). A waiter sleeps at most the switch
//! interval (5 ms, `sys.getswitchinterval()`); if the GIL has not changed hands by then, it sets
//! the drop request, and the holder, which checks it between two bytecodes ([`Held::check`], the
//! eval breaker), drops the GIL and waits until another thread has taken it
//! (`FORCE_SWITCHING`) before it asks again. So one thread at a time computes, and a CPU-bound
//! holder gives way every 5 ms.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// CPython's default switch interval, `sys.getswitchinterval()`.
pub const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// The lock.
#[derive(Debug)]
pub struct Gil {
    state: Mutex<State>,
    /// `gil->cond`: signalled when the GIL is dropped.
    dropped: Condvar,
    /// `gil->switch_cond`: signalled when a thread takes it.
    taken: Condvar,
    /// `gil_drop_request`: a waiter has waited a whole interval.
    drop_request: AtomicBool,
    interval: Duration,
    /// Times a holder gave it up because it was asked to.
    forced: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    locked: bool,
    /// `gil->switch_number`: how many times it has been taken.
    switches: u64,
}

/// The GIL, held: dropped when this is.
#[derive(Debug)]
pub struct Held<'a> {
    gil: &'a Gil,
    /// The switch number this holder took it at: who holds it (`gil->last_holder`).
    mine: u64,
}

impl Gil {
    /// A GIL nobody holds, with this switch interval.
    pub fn new(interval: Duration) -> Gil {
        Gil {
            state: Mutex::new(State::default()),
            dropped: Condvar::new(),
            taken: Condvar::new(),
            drop_request: AtomicBool::new(false),
            interval: interval.max(Duration::from_micros(1)),
            forced: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Two fields, each changed in one statement: still good after a panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `take_gil`: waits for the GIL, asking its holder to drop it after every interval in
    /// which it did not change hands.
    pub fn take(&self) -> Held<'_> {
        let mut s = self.state();
        while s.locked {
            let saved = s.switches;
            let (next, waited) = self
                .dropped
                .wait_timeout(s, self.interval)
                .unwrap_or_else(|p| p.into_inner());
            s = next;
            if waited.timed_out() && s.locked && s.switches == saved {
                self.drop_request.store(true, Relaxed); // SET_GIL_DROP_REQUEST
            }
        }
        s.locked = true;
        s.switches += 1;
        let mine = s.switches;
        self.drop_request.store(false, Relaxed); // RESET_GIL_DROP_REQUEST
        self.taken.notify_all(); // COND_SIGNAL(gil->switch_cond)
        Held { gil: self, mine }
    }

    /// `drop_gil`: lets it go; when a waiter asked for it, waits until one has taken it.
    fn drop_gil(&self, mine: u64) {
        let requested = self.drop_request.load(Relaxed);
        let mut s = self.state();
        s.locked = false;
        self.dropped.notify_one();
        if requested {
            self.forced.fetch_add(1, Relaxed);
            while s.switches == mine {
                s = self.taken.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// How many times it has been taken.
    pub fn switches(&self) -> u64 {
        self.state().switches
    }

    /// How many times a holder dropped it because a waiter asked (the switch interval at work).
    pub fn forced(&self) -> u64 {
        self.forced.load(Relaxed)
    }
}

impl Held<'_> {
    /// The eval breaker, between two bytecodes: if a waiter asked, drop the GIL and take it
    /// again (after the waiter has had it). True when it did.
    pub fn check(&mut self) -> bool {
        if !self.gil.drop_request.load(Relaxed) {
            return false;
        }
        self.gil.drop_gil(self.mine);
        self.mine = self.gil.take().forget();
        true
    }

    /// `Py_BEGIN_ALLOW_THREADS; f(); Py_END_ALLOW_THREADS`: a blocking call without the GIL.
    pub fn release_while<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.gil.drop_gil(self.mine);
        let result = f();
        self.mine = self.gil.take().forget();
        result
    }

    /// Keeps the GIL held without this guard (its switch number, for the guard that takes over).
    fn forget(self) -> u64 {
        let mine = self.mine;
        std::mem::forget(self);
        mine
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.gil.drop_gil(self.mine);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    #[test]
    fn one_holder_at_a_time_and_a_cpu_bound_holder_gives_way() {
        let gil = Gil::new(Duration::from_millis(1));
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut held = gil.take();
                    let end = Instant::now() + Duration::from_millis(40);
                    while Instant::now() < end {
                        let n = inside.fetch_add(1, Relaxed) + 1;
                        most.fetch_max(n, Relaxed);
                        inside.fetch_sub(1, Relaxed);
                        held.check();
                    }
                });
            }
        });
        assert_eq!(most.load(Relaxed), 1);
        assert!(gil.forced() >= 1, "the waiter asked and was given it");
        assert!(gil.switches() >= 3);
    }

    #[test]
    fn a_blocking_call_lets_another_thread_in() {
        let gil = Gil::new(SWITCH_INTERVAL);
        let mut held = gil.take();
        let other = std::thread::scope(|s| {
            held.release_while(|| s.spawn(|| drop(gil.take())).join().unwrap());
            gil.switches()
        });
        drop(held);
        assert_eq!(other, 3, "taken by us, by the other thread, by us again");
        assert_eq!(gil.forced(), 0);
    }
}
