//! A thread's own account of its turns on a shared CPU, for the demos whose threads read the
//! clock in a tight loop (time_slice, sched_sim --real): a gap in the readings is time off the
//! CPU.
//!
//! How a turn is told from an interrupt: every thread, when it sees a gap in its clock readings,
//! writes its number into one shared word and reads what was there. Its own number means no
//! other thread of ours ran in the gap (an interrupt, a kernel thread): the turn goes on. Another
//! thread's number means the kernel switched to it: the turn ended at the last reading before
//! the gap.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use serde::Serialize;

/// One turn on the CPU: from its first clock reading to its last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Turn {
    pub start_ns: u64,
    pub end_ns: u64,
    /// Its time on the CPU: end − start less the interruptions within it.
    pub ran_ns: u64,
}

/// One thread's turn log, handed to the lecture's loop.
pub struct Turns<'a> {
    who: &'a AtomicUsize,
    me: usize,
    gap_ns: u64,
    deadline_ns: u64,
    first_ns: u64,
    start_ns: u64,
    /// Interruptions within the current turn: not time on the CPU.
    paused_ns: u64,
    /// Completed turns' time on the CPU, added up, without and with their interruptions.
    done_ns: u64,
    held_ns: u64,
    log: Vec<Turn>,
    cut: Option<Turn>,
    end_ns: u64,
    interruptions: u64,
    interrupted_ns: u64,
    full: bool,
}

impl<'a> Turns<'a> {
    /// A log for thread `me` of those sharing `who`, with room for `log`'s capacity of turns
    /// (allocated beforehand: no allocation while the thread runs).
    pub fn new(
        who: &'a AtomicUsize,
        me: usize,
        gap_ns: u64,
        deadline_ns: u64,
        log: Vec<Turn>,
    ) -> Self {
        Turns {
            who,
            me,
            gap_ns,
            deadline_ns,
            first_ns: 0,
            start_ns: 0,
            paused_ns: 0,
            done_ns: 0,
            held_ns: 0,
            log,
            cut: None,
            end_ns: 0,
            interruptions: 0,
            interrupted_ns: 0,
            full: false,
        }
    }

    /// A gap longer than this is time off the CPU.
    pub fn gap_ns(&self) -> u64 {
        self.gap_ns
    }

    /// When to stop (a [`crate::kit::timing::monotonic_ns`] reading).
    pub fn deadline_ns(&self) -> u64 {
        self.deadline_ns
    }

    /// The first reading: this thread's first turn starts.
    pub fn begin(&mut self, now: u64) {
        self.who.swap(self.me, Relaxed);
        self.first_ns = now;
        self.start_ns = now;
    }

    /// A gap from `last` to `now`: if another of our threads ran in it, the turn that ended at
    /// `last` is logged and a new one starts at `now`; otherwise it was an interruption. False
    /// when the log is full.
    pub fn off_cpu(&mut self, last: u64, now: u64) -> bool {
        if self.who.swap(self.me, Relaxed) == self.me {
            self.interruptions += 1;
            self.interrupted_ns += now - last;
            self.paused_ns += now - last;
            return true;
        }
        if self.log.len() == self.log.capacity() {
            self.full = true;
            return false;
        }
        let turn = self.turn(last);
        self.done_ns += turn.ran_ns;
        self.held_ns += turn.end_ns - turn.start_ns;
        self.log.push(turn); // within capacity: no allocation
        self.start_ns = now;
        self.paused_ns = 0;
        true
    }

    /// The current turn, if it ended at `last`.
    fn turn(&self, last: u64) -> Turn {
        Turn {
            start_ns: self.start_ns,
            end_ns: last,
            ran_ns: (last - self.start_ns).saturating_sub(self.paused_ns),
        }
    }

    /// Time on the CPU so far, the current turn up to `now` included.
    pub fn ran_ns(&self, now: u64) -> u64 {
        self.done_ns + self.turn(now.max(self.start_ns)).ran_ns
    }

    /// Time holding the CPU so far, interruptions included (what the kernel's time slice
    /// counts), the current turn up to `now` included.
    pub fn held_ns(&self, now: u64) -> u64 {
        self.held_ns + now.saturating_sub(self.start_ns)
    }

    /// The last reading: the turn the deadline (or the end of the work) cut short.
    pub fn end(&mut self, last: u64) {
        self.cut = Some(self.turn(last.max(self.start_ns)));
        self.end_ns = last;
    }

    /// The turns that ended in a switch to another of our threads.
    pub fn completed(&self) -> &[Turn] {
        &self.log
    }

    /// The last turn, which no switch ended.
    pub fn cut(&self) -> Option<Turn> {
        self.cut
    }

    /// Every turn, the last one included.
    pub fn all(&self) -> impl Iterator<Item = Turn> + '_ {
        self.log.iter().copied().chain(self.cut)
    }

    /// From the first reading to the last.
    pub fn wall_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.first_ns)
    }

    /// The first and the last reading.
    pub fn first_ns(&self) -> u64 {
        self.first_ns
    }
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }

    /// Gaps with no other thread of ours in them, and their time.
    pub fn interruptions(&self) -> (u64, u64) {
        (self.interruptions, self.interrupted_ns)
    }

    /// The log filled and the thread stopped early.
    pub fn full(&self) -> bool {
        self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_continues_the_turn_and_a_sibling_ends_it() {
        let who = AtomicUsize::new(usize::MAX);
        let mut t = Turns::new(&who, 0, 5_000, u64::MAX, Vec::with_capacity(1));
        t.begin(1_000);
        assert!(t.off_cpu(2_000, 12_000)); // nobody else ran: an interruption
        assert_eq!(t.interruptions(), (1, 10_000));
        assert_eq!(t.ran_ns(20_000), 9_000); // 19 µs less the 10 µs interruption
        assert_eq!(t.held_ns(20_000), 19_000);
        who.store(1, Relaxed); // thread 1 ran
        assert!(t.off_cpu(50_000, 90_000));
        let first = Turn {
            start_ns: 1_000,
            end_ns: 50_000,
            ran_ns: 39_000, // 49 µs less the 10 µs interruption
        };
        assert_eq!(t.completed(), [first]);
        assert_eq!(t.ran_ns(91_000), 40_000);
        assert_eq!(t.held_ns(91_000), 50_000);
        who.store(1, Relaxed);
        assert!(!t.off_cpu(95_000, 99_000)); // the log is full
        assert!(t.full());
        t.end(95_000);
        let cut = t.cut().unwrap();
        assert_eq!(
            (cut.start_ns, cut.end_ns, cut.ran_ns),
            (90_000, 95_000, 5_000)
        );
        assert_eq!(t.all().count(), 2);
        assert_eq!(t.wall_ns(), 94_000);
    }
}
