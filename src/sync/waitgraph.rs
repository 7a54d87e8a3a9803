//! Locks that keep a wait-for graph: which thread holds which lock, which lock each thread
//! waits for. A cycle in that graph (thread 1 waits for a lock thread 2 holds, thread 2 waits
//! for one thread 1 holds) is a deadlock: none of them can ever go on. This is how a database's
//! lock manager, the kernel's lockdep or parking_lot's `deadlock_detection` find deadlocks.
//!
//! The locks are glibc's `pthread_mutex_t` (so tools that watch pthread locks, helgrind for one,
//! see them). A waiting thread sleeps in the kernel as on any mutex, but in slices of
//! [`SLICE`], so that once a deadlock has been reported the watchdog can [`LockTable::abort`] it:
//! every waiter then gives up, unlocks what it holds and can be joined. A real deadlocked
//! program has no such way out, which is the lecture's point.
//!
//! The graph is updated under its own mutex, in an order that can never show a cycle that is
//! not there: a thread is recorded as holding a lock only after it has it, and stops being
//! recorded before it unlocks; it is recorded as waiting before it tries and stops when it has
//! the lock. So a recorded cycle means every thread in it holds its lock and waits for the
//! next: a true deadlock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use serde::Serialize;

use crate::sys::pthread::{PthreadGuard, PthreadMutex};

/// How long one sleeping attempt at a lock lasts before the waiter checks whether it was told to
/// give up.
pub const SLICE: Duration = Duration::from_millis(50);

/// Named locks and the threads that use them, with their wait-for graph.
pub struct LockTable {
    locks: Vec<PthreadMutex>,
    lock_names: Vec<String>,
    graph: Mutex<Graph>,
    abort: AtomicBool,
}

#[derive(Clone, Debug, Default)]
struct Graph {
    /// For each lock, the thread that holds it.
    holder: Vec<Option<usize>>,
    threads: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    name: String,
    tid: Option<Pid>,
    waits_for: Option<usize>,
}

/// One thread in a snapshot of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadView {
    /// The thread's index in the table.
    pub thread: usize,
    pub name: String,
    /// Its kernel thread id, once it has [`LockTable::enter`]ed.
    #[serde(skip)]
    pub tid: Option<Pid>,
    /// The locks it holds (indices).
    pub holds: Vec<usize>,
    /// The lock it waits for, if it is waiting.
    pub waits_for: Option<usize>,
}

/// A lock held through the table; dropping it unlocks (and updates the graph first).
#[must_use = "the lock is released as soon as it is dropped"]
pub struct Held<'a> {
    table: &'a LockTable,
    lock: usize,
    guard: Option<PthreadGuard<'a>>,
}

impl LockTable {
    /// Unlocked locks named `locks`, used by threads named `threads`.
    pub fn new(locks: &[&str], threads: &[&str]) -> LockTable {
        LockTable {
            locks: locks.iter().map(|_| PthreadMutex::new()).collect(),
            lock_names: locks.iter().map(|n| n.to_string()).collect(),
            graph: Mutex::new(Graph {
                holder: vec![None; locks.len()],
                threads: threads
                    .iter()
                    .map(|n| Entry {
                        name: n.to_string(),
                        tid: None,
                        waits_for: None,
                    })
                    .collect(),
            }),
            abort: AtomicBool::new(false),
        }
    }

    /// The name of lock `lock`.
    pub fn lock_name(&self, lock: usize) -> &str {
        &self.lock_names[lock]
    }

    fn graph(&self) -> std::sync::MutexGuard<'_, Graph> {
        // The graph is plain data updated in single statements: a panic elsewhere cannot leave
        // it half-changed, so a poisoned lock is still good.
        self.graph.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by thread `thread` when it starts: records its kernel thread id.
    pub fn enter(&self, thread: usize) {
        self.graph().threads[thread].tid = Some(nix::unistd::gettid());
    }

    /// `lock.acquire()` by thread `thread`: sleeps until the lock is free. `None` when the table
    /// was aborted while waiting (a deadlock was reported, or Ctrl-C).
    pub fn lock(&self, thread: usize, lock: usize) -> Option<Held<'_>> {
        self.graph().threads[thread].waits_for = Some(lock);
        loop {
            if self.aborted() {
                self.graph().threads[thread].waits_for = None;
                return None;
            }
            if let Some(guard) = self.locks[lock].lock_for(SLICE) {
                if self.aborted() {
                    // Freed because its holder gave up: the run is over, do not go on with it.
                    drop(guard);
                    self.graph().threads[thread].waits_for = None;
                    return None;
                }
                return Some(self.held(thread, lock, guard));
            }
        }
    }

    /// `lock.acquire(blocking=False)`: the lock if it is free now, `None` if another thread has
    /// it. Never waits, so it never adds a waiting edge to the graph.
    pub fn try_lock(&self, thread: usize, lock: usize) -> Option<Held<'_>> {
        let guard = self.locks[lock].try_lock()?;
        Some(self.held(thread, lock, guard))
    }

    fn held<'a>(&'a self, thread: usize, lock: usize, guard: PthreadGuard<'a>) -> Held<'a> {
        let mut graph = self.graph();
        graph.holder[lock] = Some(thread);
        graph.threads[thread].waits_for = None;
        Held {
            table: self,
            lock,
            guard: Some(guard),
        }
    }

    /// Tells every waiter to give up (see [`LockTable::lock`]) and every [`LockTable::sleep`]
    /// to end.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Relaxed);
    }

    /// True once [`LockTable::abort`] was called.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Sleeps for `length` (the lecture's `sleep(2)` while holding a lock), ending early when
    /// the table is aborted. Returns false if it was.
    pub fn sleep(&self, length: Duration) -> bool {
        let deadline = Instant::now() + length;
        loop {
            if self.aborted() {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(crate::kit::interrupt::POLL));
        }
    }

    /// The graph now: each thread, what it holds and what it waits for.
    pub fn snapshot(&self) -> Vec<ThreadView> {
        let graph = self.graph();
        graph
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| ThreadView {
                thread: i,
                name: t.name.clone(),
                tid: t.tid,
                holds: (0..graph.holder.len())
                    .filter(|&l| graph.holder[l] == Some(i))
                    .collect(),
                waits_for: t.waits_for,
            })
            .collect()
    }
}

impl Held<'_> {
    /// The lock's index.
    pub fn lock(&self) -> usize {
        self.lock
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.table.graph().holder[self.lock] = None;
        drop(self.guard.take()); // pthread_mutex_unlock, after the graph stopped saying we hold it
    }
}

/// One step of a cycle: `thread` waits for `lock`, which the next step's thread holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub thread: usize,
    pub waits_for: usize,
    pub held_by: usize,
}

/// A cycle in the wait-for graph, if there is one: every thread in it waits for a lock the next
/// one holds, the last for one the first holds. Each thread waits for at most one lock and each
/// lock has at most one holder, so following "waits for, held by" from each thread finds it.
pub fn find_cycle(threads: &[ThreadView]) -> Option<Vec<Edge>> {
    let holder_of = |lock: usize| threads.iter().find(|t| t.holds.contains(&lock));
    for start in threads {
        let mut path: Vec<Edge> = Vec::new();
        let mut at = start;
        while let Some(lock) = at.waits_for {
            let Some(next) = holder_of(lock) else {
                break;
            };
            path.push(Edge {
                thread: at.thread,
                waits_for: lock,
                held_by: next.thread,
            });
            if let Some(i) = path.iter().position(|e| e.thread == next.thread) {
                return Some(path.split_off(i));
            }
            if path.len() > threads.len() {
                break;
            }
            at = next;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(thread: usize, holds: &[usize], waits_for: Option<usize>) -> ThreadView {
        ThreadView {
            thread,
            name: format!("t{thread}"),
            tid: None,
            holds: holds.to_vec(),
            waits_for,
        }
    }

    #[test]
    fn two_threads_waiting_for_each_other_are_a_cycle() {
        let g = [view(0, &[0], Some(1)), view(1, &[1], Some(0))];
        let cycle = find_cycle(&g).unwrap();
        assert_eq!(
            cycle,
            [
                Edge {
                    thread: 0,
                    waits_for: 1,
                    held_by: 1
                },
                Edge {
                    thread: 1,
                    waits_for: 0,
                    held_by: 0
                }
            ]
        );
    }

    #[test]
    fn waiting_for_a_thread_that_waits_for_nothing_is_no_cycle() {
        assert_eq!(
            find_cycle(&[view(0, &[0], Some(1)), view(1, &[1], None)]),
            None
        );
        assert_eq!(
            find_cycle(&[view(0, &[], Some(1)), view(1, &[], None)]),
            None
        );
        assert_eq!(
            find_cycle(&[view(0, &[0, 1], None), view(1, &[], Some(0))]),
            None
        );
    }

    #[test]
    fn a_cycle_further_down_a_chain_is_found_without_the_chain() {
        // 2 waits for 0's lock; 0 and 1 wait for each other.
        let g = [
            view(0, &[0], Some(1)),
            view(1, &[1], Some(0)),
            view(2, &[], Some(0)),
        ];
        let cycle = find_cycle(&g).unwrap();
        assert_eq!(cycle.len(), 2);
        assert!(cycle.iter().all(|e| e.thread != 2));
    }

    #[test]
    fn the_table_records_holders_and_waiters_and_abort_frees_them() {
        let table = LockTable::new(&["r1", "r2"], &["a", "b"]);
        std::thread::scope(|s| {
            let a = table.lock(0, 0).unwrap();
            let waiter = s.spawn(|| {
                table.enter(1);
                table.lock(1, 0).is_some()
            });
            while table.snapshot()[1].waits_for != Some(0) {
                std::thread::yield_now();
            }
            let g = table.snapshot();
            assert_eq!(g[0].holds, [0]);
            assert_eq!(g[1].waits_for, Some(0));
            assert!(g[1].tid.is_some());
            assert!(find_cycle(&g).is_none());
            assert!(table.try_lock(0, 0).is_none(), "held: try_lock fails");
            table.abort();
            assert!(!waiter.join().unwrap(), "an aborted waiter gets nothing");
            drop(a);
        });
        let g = table.snapshot();
        assert!(
            g.iter()
                .all(|t| t.holds.is_empty() && t.waits_for.is_none())
        );
        assert!(!table.sleep(Duration::from_secs(60)), "aborted: no sleep");
    }
}
