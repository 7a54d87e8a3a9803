//! A counting semaphore built from a mutex and a condition variable, the textbook way: a count
//! of permits under the mutex, `wait` (P, down) sleeps on the condition variable while the count
//! is zero, `post` (V, up) adds a permit and wakes one sleeper.
//!
//! Unlike a bare condition variable it remembers: a `post` made while nobody waits is kept in
//! the count, and the next `wait` takes it at once. That is why it cannot lose a wake-up.
//! [`Semaphore::close`] ends every wait that has no permit, so a program can always release its
//! waiters and join them.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A counting semaphore.
#[derive(Debug, Default)]
pub struct Semaphore {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    permits: u64,
    closed: bool,
}

impl Semaphore {
    /// `sem_init(&sem, 0, permits)`.
    pub fn new(permits: u64) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is two fields changed in single statements: still good after a panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `sem_wait`: takes a permit, sleeping until there is one. False (no permit taken) when
    /// the semaphore was closed first.
    pub fn wait(&self) -> bool {
        self.wait_telling(|| (), |_| ())
    }

    /// [`Semaphore::wait`], telling what happens as it happens: `blocked()` if there was no
    /// permit at first (the caller is about to sleep), then `took(left)` with the permits left
    /// once it has taken one. Both run under the semaphore's lock, so what they record comes in
    /// the order of the operations themselves.
    pub fn wait_telling(&self, blocked: impl FnOnce(), took: impl FnOnce(u64)) -> bool {
        let mut state = self.state();
        if state.permits == 0 && !state.closed {
            blocked();
        }
        // The predicate loop: a wake-up is only a hint to look at the count again.
        while state.permits == 0 && !state.closed {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let taken = self.take(&mut state);
        if taken {
            took(state.permits);
        }
        taken
    }

    /// `sem_timedwait`: as [`Semaphore::wait`], giving up (false) after `limit`.
    pub fn wait_for(&self, limit: Duration) -> bool {
        let state = self.state();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, limit, |s| s.permits == 0 && !s.closed)
            .unwrap_or_else(|p| p.into_inner());
        self.take(&mut state)
    }

    fn take(&self, state: &mut State) -> bool {
        if state.permits > 0 {
            state.permits -= 1;
            true
        } else {
            false
        }
    }

    /// `sem_post`: adds `n` permits and wakes as many sleepers.
    pub fn post(&self, n: u64) {
        self.post_telling(n, |_| ());
    }

    /// [`Semaphore::post`], telling `posted(permits)` the count after it, under the
    /// semaphore's lock (before any sleeper can take the new permits).
    pub fn post_telling(&self, n: u64, posted: impl FnOnce(u64)) {
        let mut state = self.state();
        state.permits += n;
        posted(state.permits);
        drop(state);
        if n == 1 {
            self.changed.notify_one();
        } else if n > 1 {
            // Each sleeper re-checks the count: waking all is correct, waking n would need
            // n separate notify_one calls, which is what notify_all costs anyway.
            self.changed.notify_all();
        }
    }

    /// Permits available now.
    pub fn permits(&self) -> u64 {
        self.state().permits
    }

    /// Ends every wait that has no permit (they return false), now and from now on.
    pub fn close(&self) {
        self.state().closed = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_before_the_wait_is_kept() {
        let s = Semaphore::new(0);
        s.post(1);
        assert_eq!(s.permits(), 1);
        assert!(s.wait());
        assert_eq!(s.permits(), 0);
        assert!(!s.wait_for(Duration::from_millis(5)), "no permit left");
    }

    #[test]
    fn posts_release_exactly_that_many_waiters_and_close_releases_the_rest() {
        let s = Semaphore::new(0);
        let got = std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..3).map(|_| scope.spawn(|| s.wait())).collect();
            s.post(2);
            // Two waiters take the permits; the third sleeps until the close.
            while s.permits() > 0 {
                std::thread::yield_now();
            }
            s.close();
            waiters
                .into_iter()
                .map(|w| w.join().unwrap())
                .filter(|&g| g)
                .count()
        });
        assert_eq!(got, 2);
    }

    #[test]
    fn the_telling_calls_see_the_count_in_order() {
        let s = Semaphore::new(1);
        let mut left = None;
        assert!(s.wait_telling(|| panic!("a free permit: no block"), |l| left = Some(l)));
        assert_eq!(left, Some(0));
        let mut now = None;
        s.post_telling(1, |n| now = Some(n));
        assert_eq!(now, Some(1));

        // No permit: `blocked` first, then `took` once a post came.
        let empty = Semaphore::new(0);
        let asleep = std::sync::atomic::AtomicBool::new(false);
        let left = std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let mut left = None;
                let blocked = || asleep.store(true, std::sync::atomic::Ordering::Relaxed);
                assert!(empty.wait_telling(blocked, |l| left = Some(l)));
                left
            });
            while !asleep.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::yield_now();
            }
            empty.post(1);
            waiter.join().unwrap()
        });
        assert_eq!(left, Some(0));
    }

    #[test]
    fn the_semaphore_excludes_as_a_lock_does() {
        let s = Semaphore::new(1);
        crate::testing::assert_excludes(3, 5_000, |critical| {
            assert!(s.wait());
            critical();
            s.post(1);
        });
    }
}
