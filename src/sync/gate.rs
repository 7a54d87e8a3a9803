//! The start gate: threads wait at it until all of them have *arrived*, each running on a CPU of
//! its own as far as the CPUs allow; then they leave it together, at the same moment.
//!
//! The lecture's threads start one by one as they are created. On a virtual machine whose second
//! CPU is idle (halted), the first thread can do its million increments (half a millisecond)
//! before the second is even running, and new threads are often all placed on the one CPU that
//! was idle, where they take turns: either way nothing races. The lecture's picture is two
//! threads running at once, so the gate waits until it is true.
//!
//! How, without pinning anything (the scheduler still places every thread): a waiter spins at
//! the gate and says which CPU it is on. A spinning thread is "cache-hot" and the scheduler will
//! not move it to an idle CPU; so a waiter that finds another waiter on its CPU sleeps for a
//! moment instead, and a thread that wakes is placed on an idle CPU if there is one. The opening
//! thread sleeps too, leaving its CPU free. The gate opens when every thread has arrived, every
//! waiter is spinning (its heartbeat moves: none is asleep or waiting for a CPU), and the
//! waiters sit on as many CPUs as there are threads (or usable CPUs), or after
//! [`StartGate::SPREAD_LIMIT`] if the scheduler will not spread them: the demos then report
//! that every thread ran on one CPU.
//!
//! If creating a thread fails, the gate is aborted instead and the threads already waiting
//! return at once, so they can be joined: nothing is left blocked.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::kit::interrupt;
use crate::kit::machine::{current_cpu, usable_cpus};
use crate::{Error, Result};

/// A gate that opens once, for every waiter at once (or is abandoned).
#[derive(Debug)]
pub struct StartGate {
    state: AtomicU8,
    arrived: AtomicUsize,
    /// The CPU each arrived waiter is on, plus one (0: not known yet).
    cpus: Vec<AtomicUsize>,
    /// Each waiter's heartbeat: it counts its turns round the waiting loop while it spins.
    beats: Vec<AtomicUsize>,
    /// How many different CPUs the waiters should sit on: the threads, or the usable CPUs.
    spread: usize,
}

impl StartGate {
    const WAIT: u8 = 0;
    const OPEN: u8 = 1;
    const ABORT: u8 = 2;

    /// The longest [`open`](Self::open) waits for the threads to arrive: one that failed before
    /// it reached the gate must not hold the others for ever (its join reports it).
    pub const ARRIVAL_LIMIT: Duration = Duration::from_secs(2);

    /// The longest it then waits for the scheduler to put the waiters on CPUs of their own.
    pub const SPREAD_LIMIT: Duration = Duration::from_millis(20);

    /// How long a waiter that shares its CPU with another sleeps, to be placed again on waking.
    const MOVE_OVER: Duration = Duration::from_micros(100);

    /// A closed gate for `threads` threads.
    pub fn new(threads: usize) -> StartGate {
        StartGate {
            state: AtomicU8::new(Self::WAIT),
            arrived: AtomicUsize::new(0),
            cpus: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            beats: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            spread: threads.min(usable_cpus().len()).max(1),
        }
    }

    /// Arrives at the gate and waits for it; true when it opened, false if the run was
    /// abandoned.
    pub fn wait(&self) -> bool {
        let slot = self.arrived.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.state.load(Ordering::Acquire) {
                Self::OPEN => return true,
                Self::ABORT => return false,
                _ => {}
            }
            let cpu = current_cpu().map_or(0, |c| c + 1);
            if let Some(mine) = self.cpus.get(slot) {
                mine.store(cpu, Ordering::Relaxed);
            }
            if cpu != 0 && self.cpus_in_use() < self.spread && self.shares(slot, cpu) {
                thread::sleep(Self::MOVE_OVER); // wake up somewhere idle
                continue;
            }
            if let Some(beat) = self.beats.get(slot) {
                beat.fetch_add(1, Ordering::Relaxed);
            }
            // When there are more waiters than CPUs, give the others (and the thread still
            // creating them) their turn.
            if self.arrived() > self.spread {
                thread::yield_now();
            }
        }
    }

    /// True when a waiter other than `slot` is on `cpu` (plus one) too.
    fn shares(&self, slot: usize, cpu: usize) -> bool {
        self.cpus
            .iter()
            .enumerate()
            .any(|(i, c)| i != slot && c.load(Ordering::Relaxed) == cpu)
    }

    /// How many threads have arrived so far.
    pub fn arrived(&self) -> usize {
        self.arrived.load(Ordering::Acquire)
    }

    /// How many different CPUs the waiters are on now.
    pub fn cpus_in_use(&self) -> usize {
        let mut seen: Vec<usize> = self
            .cpus
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .filter(|&c| c != 0)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// The waiters' heartbeats now.
    fn heartbeats(&self) -> Vec<usize> {
        self.beats
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// Lets every waiter through once all have arrived and are spinning (their heartbeats move)
    /// on CPUs of their own, or after the limits, or at Ctrl-C.
    pub fn open(&self) {
        let started = Instant::now();
        let mut all_arrived: Option<Instant> = None;
        let mut before = self.heartbeats();
        while interrupt::requested().is_none() {
            // Sleep, not spin: a free CPU is where the scheduler can put a waiter.
            thread::sleep(Duration::from_micros(50));
            let now = self.heartbeats();
            let all_running = now.iter().zip(&before).all(|(n, b)| n > b);
            before = now;
            if self.arrived() >= self.cpus.len() {
                let since = *all_arrived.get_or_insert_with(Instant::now);
                let spread = all_running && self.cpus_in_use() >= self.spread;
                if spread || since.elapsed() >= Self::SPREAD_LIMIT {
                    break;
                }
            } else if started.elapsed() >= Self::ARRIVAL_LIMIT {
                break;
            }
        }
        self.state.store(Self::OPEN, Ordering::Release);
    }

    /// Abandons the run: every waiter returns false.
    pub fn abort(&self) {
        self.state.store(Self::ABORT, Ordering::Release);
    }
}

/// Starts `n` threads, named `name(i)`, that each run `body(i, gate)` and are joined in order:
/// their results, and when the gate opened. `body` calls [`StartGate::wait`] where the lecture's
/// thread starts its work (after its own setup) and returns at once when it gives false. A
/// thread the kernel refuses aborts the gate, so those already waiting return and are joined,
/// and is an error naming the limit; a thread that panicked is [`Error::WorkerPanicked`].
pub fn run_together<T: Send>(
    n: usize,
    name: impl Fn(usize) -> String,
    body: impl Fn(usize, &StartGate) -> T + Sync,
) -> Result<(Instant, Vec<T>)> {
    let gate = StartGate::new(n);
    thread::scope(|s| {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (gate, body) = (&gate, &body);
            let spawned = thread::Builder::new()
                .name(name(i))
                .spawn_scoped(s, move || body(i, gate));
            match spawned {
                Ok(h) => handles.push(h),
                Err(source) => {
                    let error = Error::spawn(i + 1, n, source); // while the others still count
                    gate.abort(); // the threads already started return at once
                    return Err(error);
                }
            }
        }
        gate.open();
        let opened = Instant::now(); // the threads leave the gate now
        let results = (handles.into_iter().enumerate())
            .map(|(index, h)| h.join().map_err(|_| Error::WorkerPanicked { index }))
            .collect::<Result<Vec<T>>>()?;
        Ok((opened, results))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_together_joins_every_thread_in_order_after_the_gate() {
        let arrived = AtomicUsize::new(0);
        let (_, got) = run_together(
            3,
            |i| format!("t{i}"),
            |i, gate| {
                arrived.fetch_add(1, Ordering::Relaxed);
                gate.wait()
                    .then(|| (i, thread::current().name().map(String::from)))
            },
        )
        .unwrap();
        assert_eq!(arrived.load(Ordering::Relaxed), 3);
        let want: Vec<_> = (0..3).map(|i| Some((i, Some(format!("t{i}"))))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn waiters_pass_when_open_and_return_false_when_aborted() {
        for (open, want) in [(true, true), (false, false)] {
            let gate = StartGate::new(1);
            let passed = thread::scope(|s| {
                let h = s.spawn(|| gate.wait());
                if open {
                    gate.open();
                } else {
                    gate.abort();
                }
                h.join().unwrap()
            });
            assert_eq!(passed, want);
        }
    }

    #[test]
    fn the_gate_opens_only_once_every_thread_has_arrived() {
        let gate = StartGate::new(3);
        thread::scope(|s| {
            let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| gate.wait())).collect();
            gate.open();
            assert_eq!(gate.arrived(), 3, "opened before all had arrived");
            assert!(gate.cpus_in_use() >= 1);
            assert!(waiters.into_iter().all(|w| w.join().unwrap()));
        });
    }

    #[test]
    fn a_thread_that_never_arrives_does_not_hold_the_gate_for_ever() {
        let gate = StartGate::new(1);
        let began = Instant::now();
        gate.open();
        assert!(began.elapsed() >= StartGate::ARRIVAL_LIMIT);
        assert!(gate.wait(), "a latecomer finds it open");
    }
}
