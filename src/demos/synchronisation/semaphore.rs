//! semaphore's lab bench: the permits (the library's semaphore, or a POSIX `sem_t` with
//! `--posix`) with the lab's bookkeeping around them (who is inside, who waits, the counter
//! after every call, each worker's waits), the workers' threads (started together, joined),
//! the analysis and the verdict. The lecture's worker is `src/bin/semaphore.rs`.
//!
//! Every line is printed and logged under one lock, in the order of the operations. With the
//! library's semaphore that lock is taken inside the semaphore's own (through
//! `wait_telling`/`post_telling`), so the counter printed is the counter at that moment. A
//! `sem_t` has no such hook: `--posix` takes a permit with `sem_trywait` under the lab's lock
//! (or, at 0, says so and sleeps in `sem_wait` outside it) and prints what `sem_getvalue` reads
//! just after, which another worker may already have changed.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Result;
use crate::kit::report::Output;
use crate::kit::timing::{fmt_ns, nanos};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::process::limits;
use crate::sync::gate::run_together;
use crate::sync::semaphore::Semaphore;
use crate::sys::semaphore::PosixSemaphore;

/// The examples after `semaphore --help`.
pub const EXAMPLES: &str =
    "Example: semaphore --workers 5 --permits 3 --rounds 2\n         semaphore --posix --hold 20ms";

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub workers: u32,
    pub permits: u32,
    pub rounds: u32,
    /// How long a worker keeps its permit, ms.
    pub hold_ms: f64,
    /// A POSIX `sem_t` instead of the library's semaphore.
    pub posix: bool,
}

impl Params {
    /// `workers` share `permits`, each `rounds` times, holding a permit `hold` (× 1, 2 or 3).
    pub fn new(workers: u32, permits: u32, rounds: u32, hold: Duration, posix: bool) -> Params {
        Params {
            workers,
            permits,
            rounds,
            hold_ms: hold.as_secs_f64() * 1e3,
            posix,
        }
    }
}

/// What a line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `acquire()` found the counter at 0: the worker sleeps.
    Block,
    /// `acquire()` returned: the worker took a permit.
    Acquire,
    /// `release()`: the worker gave its permit back.
    Release,
}

/// One printed line: a CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// From the start of the run, ns.
    pub t_ns: u64,
    pub worker: usize,
    pub op: Op,
    /// The counter (free permits) after the call: exact with the library's semaphore,
    /// `sem_getvalue`'s read just after it with `--posix`.
    pub counter: u64,
    /// The workers holding a permit after the call.
    pub inside: Vec<usize>,
    /// The workers asleep in `acquire()` after the call.
    pub waiting: Vec<usize>,
    /// For an acquire: how long the call took (the wait, when it blocked), ns.
    pub waited_ns: Option<u64>,
}

/// One worker's waits.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorkerWaits {
    pub worker: usize,
    pub acquires: u64,
    /// Acquires that found the counter at 0 and slept.
    pub blocked: u64,
    /// Time spent in acquire, all rounds, ns.
    pub waited_ns: u64,
    pub longest_wait_ns: u64,
}

/// The semaphore underneath.
enum Kind {
    Library(Semaphore),
    Posix(PosixSemaphore),
}

/// The lab's record, changed only under its lock.
#[derive(Default)]
struct Trace {
    inside: BTreeSet<usize>,
    waiting: BTreeSet<usize>,
    events: Vec<Event>,
    waits: Vec<WorkerWaits>,
}

/// K permits shared by the workers: `acquire` (counter--, sleeping at 0) and `release`
/// (counter++, waking a sleeper), each printing the slide's line.
pub struct Permits {
    kind: Kind,
    trace: Mutex<Trace>,
    out: Output,
    start: Instant,
}

/// A worker list as `3, 4`, or `none`.
fn list(workers: &BTreeSet<usize>) -> String {
    if workers.is_empty() {
        return "none".into();
    }
    let names: Vec<String> = workers.iter().map(|w| w.to_string()).collect();
    names.join(", ")
}

impl Permits {
    fn new(p: &Params, out: Output) -> Result<Permits> {
        let kind = if p.posix {
            Kind::Posix(PosixSemaphore::new(p.permits)?) // sem_init(&sem, 0, K)
        } else {
            Kind::Library(Semaphore::new(u64::from(p.permits))) // Semaphore(K)
        };
        let waits = (0..p.workers as usize)
            .map(|worker| WorkerWaits {
                worker,
                ..WorkerWaits::default()
            })
            .collect();
        Ok(Permits {
            kind,
            trace: Mutex::new(Trace {
                waits,
                ..Trace::default()
            }),
            out,
            start: Instant::now(),
        })
    }

    fn trace(&self) -> MutexGuard<'_, Trace> {
        self.trace.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call's name on the slide, or in `sem_t`'s API.
    fn names(&self) -> (&'static str, &'static str, &'static str) {
        match self.kind {
            Kind::Library(_) => ("acquire()", "release()", "counter = "),
            Kind::Posix(_) => ("sem_wait()", "sem_post()", "sem_getvalue = "),
        }
    }

    /// Records and prints one line (under the trace's lock). `waited`: an acquire's time in
    /// the call, and whether it slept.
    fn log(
        &self,
        t: &mut Trace,
        worker: usize,
        op: Op,
        counter: u64,
        waited: Option<(Duration, bool)>,
    ) {
        let (acquire, release, value) = self.names();
        let line = match op {
            Op::Block => format!(
                "Worker {worker}: {acquire}: counter == 0, blocks; waiting: {}",
                list(&t.waiting)
            ),
            Op::Acquire => format!(
                "Worker {worker}: {acquire} ~ counter--: {value}{counter}{}; inside: {}",
                match waited {
                    Some((w, true)) => format!(" after waiting {}", fmt_ns(nanos(w) as f64)),
                    _ => String::new(),
                },
                list(&t.inside)
            ),
            Op::Release => format!(
                "Worker {worker}: {release} ~ counter++: {value}{counter}{}; waiting: {}",
                if t.waiting.is_empty() {
                    ""
                } else {
                    ", signals waiting threads"
                },
                list(&t.waiting)
            ),
        };
        self.out.lecture(line);
        t.events.push(Event {
            t_ns: nanos(self.start.elapsed()),
            worker,
            op,
            counter,
            inside: t.inside.iter().copied().collect(),
            waiting: t.waiting.iter().copied().collect(),
            waited_ns: waited.map(|(w, _)| nanos(w)),
        });
    }

    fn blocked(&self, t: &mut Trace, worker: usize) {
        t.waiting.insert(worker);
        t.waits[worker].blocked += 1;
        self.log(t, worker, Op::Block, 0, None);
    }

    fn took(&self, t: &mut Trace, worker: usize, counter: u64, since: Instant) {
        let waited = since.elapsed();
        let blocked = t.waiting.remove(&worker);
        t.inside.insert(worker);
        let w = &mut t.waits[worker];
        w.acquires += 1;
        w.waited_ns += nanos(waited);
        w.longest_wait_ns = w.longest_wait_ns.max(nanos(waited));
        self.log(t, worker, Op::Acquire, counter, Some((waited, blocked)));
    }

    /// `sem.acquire()`: counter--; returns at once if counter > 0, sleeps while it is 0.
    pub fn acquire(&self, worker: usize) {
        let since = Instant::now();
        match &self.kind {
            Kind::Library(sem) => {
                sem.wait_telling(
                    || self.blocked(&mut self.trace(), worker),
                    |left| self.took(&mut self.trace(), worker, left, since),
                );
            }
            Kind::Posix(sem) => {
                {
                    let mut t = self.trace();
                    if sem.try_wait() {
                        return self.took(&mut t, worker, u64::from(sem.value()), since);
                    }
                    self.blocked(&mut t, worker);
                }
                sem.wait(); // sem_wait(&sem): asleep in the kernel until a post
                let mut t = self.trace();
                self.took(&mut t, worker, u64::from(sem.value()), since);
            }
        }
    }

    /// `sem.release()`: counter++, and one sleeper wakes.
    pub fn release(&self, worker: usize) {
        let gone = |t: &mut Trace| t.inside.remove(&worker);
        match &self.kind {
            Kind::Library(sem) => sem.post_telling(1, |now| {
                let mut t = self.trace();
                gone(&mut t);
                self.log(&mut t, worker, Op::Release, now, None);
            }),
            Kind::Posix(sem) => {
                let mut t = self.trace();
                gone(&mut t); // out before the permit is back: `inside` never overcounts
                sem.post(); // sem_post(&sem)
                self.log(&mut t, worker, Op::Release, u64::from(sem.value()), None);
            }
        }
    }
}

/// Runs the lecture's program: K permits, N workers named worker-0.. on `worker(i, permits)`,
/// started together and joined.
pub fn run(s: &Session, p: &Params, worker: impl Fn(usize, &Permits) + Sync) -> Result<Results> {
    limits::check_can_create(u64::from(p.workers))?;
    let permits = Permits::new(p, s.out)?;
    let n = p.workers as usize;
    run_together(
        n,
        |i| format!("worker-{i}"),
        |i, gate| {
            if gate.wait() {
                worker(i, &permits);
            }
        },
    )?;
    let trace = permits
        .trace
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    Ok(Results::of(p, trace.events, trace.waits))
}

/// The work done while holding a permit: `hold`, cut short by Ctrl-C (then false).
pub fn work(hold: Duration) -> bool {
    interrupt::sleep(hold).is_none()
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub events: Vec<Event>,
    pub workers: Vec<WorkerWaits>,
    /// The most workers holding a permit at once.
    pub max_inside: u32,
    pub acquires: u64,
    /// Acquires that found the counter at 0 and slept.
    pub blocked: u64,
    /// Lines where counter + inside = permits (all of them with the library's semaphore).
    pub counter_matches: u64,
}

impl Results {
    /// The results of these lines and waits.
    pub fn of(p: &Params, events: Vec<Event>, workers: Vec<WorkerWaits>) -> Results {
        let k = u64::from(p.permits);
        let counted: Vec<&Event> = events.iter().filter(|e| e.op != Op::Block).collect();
        Results {
            max_inside: events
                .iter()
                .map(|e| e.inside.len() as u32)
                .max()
                .unwrap_or(0),
            acquires: workers.iter().map(|w| w.acquires).sum(),
            blocked: workers.iter().map(|w| w.blocked).sum(),
            counter_matches: counted
                .iter()
                .filter(|e| e.counter + e.inside.len() as u64 == k)
                .count() as u64,
            events,
            workers,
        }
    }

    /// Lines that report a counter (acquires and releases).
    fn counted(&self) -> u64 {
        self.events.iter().filter(|e| e.op != Op::Block).count() as u64
    }

    /// The worker that waited longest in one acquire, and how long.
    fn longest(&self) -> Option<&WorkerWaits> {
        self.workers
            .iter()
            .filter(|w| w.blocked > 0)
            .max_by_key(|w| w.longest_wait_ns)
    }

    fn waited(&self) -> String {
        match self.longest() {
            None => "no acquire found the counter at 0".into(),
            Some(w) => format!(
                "{} of {} found the counter at 0 and slept (the longest wait: worker {}, {})",
                self.blocked,
                words::count(self.acquires, "acquire"),
                w.worker,
                fmt_ns(w.longest_wait_ns as f64)
            ),
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Event;

    fn headline(&self, p: &Params) -> String {
        format!(
            "at most {} inside with {}; {} of {} blocked",
            self.max_inside,
            words::count(u64::from(p.permits), "permit"),
            self.blocked,
            words::count(self.acquires, "acquire")
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = vec![format!(
            "setup: {} × {} sharing {}, worker i holding it (i mod 3 + 1) × {} ms; the semaphore: {}",
            words::count(u64::from(p.workers), "worker"),
            words::count(u64::from(p.rounds), "round"),
            words::count(u64::from(p.permits), "permit"),
            p.hold_ms,
            if p.posix {
                "a POSIX sem_t (glibc: a counter and a futex)"
            } else {
                "oslab::sync::semaphore (a Mutex-guarded counter and a Condvar)"
            }
        )];
        if self.acquires == 0 {
            return lines;
        }
        lines.push(format!(
            "inside at once: at most {} (permits: {}), over {}",
            self.max_inside,
            p.permits,
            words::count(self.counted(), "line")
        ));
        lines.push(format!(
            "counter + inside = {} (the permits) on {} of {} lines{}",
            p.permits,
            self.counter_matches,
            self.counted(),
            if p.posix && self.counter_matches < self.counted() {
                ": sem_getvalue reads the count after the call, when another worker may already have taken or returned a permit"
            } else {
                ""
            }
        ));
        lines.push(format!("waiting: {}", self.waited()));
        lines.push(format!(
            "  per worker (time in acquire): {}",
            self.workers
                .iter()
                .map(|w| format!(
                    "{}: {}{}",
                    w.worker,
                    fmt_ns(w.waited_ns as f64),
                    match w.blocked {
                        0 => String::new(),
                        b => format!(" ({})", words::count(b, "block")),
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = format!(
            "a semaphore of {} lets at most {} workers in at once; acquire blocks at 0",
            words::count(u64::from(p.permits), "permit"),
            p.permits
        );
        if self.acquires == 0 {
            return Verdict::unchecked(claim, "stopped before a worker took a permit");
        }
        let held = self.max_inside <= p.permits;
        let because = if !held {
            format!(
                "{} workers held a permit at once, more than the {} there are",
                self.max_inside, p.permits
            )
        } else if self.blocked == 0 {
            format!(
                "at most {} inside at once; {}: {} for {} never had to wait",
                self.max_inside,
                self.waited(),
                words::count(u64::from(p.workers), "worker"),
                words::count(u64::from(p.permits), "permit")
            )
        } else {
            format!(
                "at most {} inside at once; {}",
                self.max_inside,
                self.waited()
            )
        };
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let of = if p.posix {
            "sem_t keeps it in user space and sleeps in the kernel (futex) only at 0"
        } else {
            "here it is a counter under a mutex, and a condition variable to sleep on at 0"
        };
        let waits = match self.longest() {
            Some(w) => format!(
                "{} of {} acquires slept (worker {} for {})",
                self.blocked,
                self.acquires,
                w.worker,
                fmt_ns(w.longest_wait_ns as f64)
            ),
            None => "no acquire slept".into(),
        };
        format!(
            "a semaphore is a counter of free permits: acquire takes one (counter--) and sleeps at 0, release gives it back (counter++) and wakes a sleeper ({of}); with {} permits at most {} of the {} workers were inside at once and {waits}. Unlike a mutex it remembers a release nobody waited for, and any thread may release: with 1 permit it is a lock, with K it caps the workers inside at K",
            p.permits, self.max_inside, p.workers
        )
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "strace -f -e trace=futex semaphore{}   (the sleeps at 0 are futex waits)",
            if p.posix { " --posix" } else { "" }
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Event> {
        self.events.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!(
            "{} of {} acquires",
            self.acquires,
            u64::from(p.workers) * u64::from(p.rounds)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(posix: bool) -> Params {
        Params {
            workers: 5,
            permits: 3,
            rounds: 1,
            hold_ms: 100.0,
            posix,
        }
    }

    fn event(worker: usize, op: Op, counter: u64, inside: &[usize], waiting: &[usize]) -> Event {
        Event {
            t_ns: 0,
            worker,
            op,
            counter,
            inside: inside.to_vec(),
            waiting: waiting.to_vec(),
            waited_ns: None,
        }
    }

    fn waits(blocked: &[(usize, u64)]) -> Vec<WorkerWaits> {
        (0..5)
            .map(|worker| {
                let wait = blocked.iter().find(|b| b.0 == worker).map(|b| b.1);
                WorkerWaits {
                    worker,
                    acquires: 1,
                    blocked: u64::from(wait.is_some()),
                    waited_ns: wait.unwrap_or(1_000),
                    longest_wait_ns: wait.unwrap_or(1_000),
                }
            })
            .collect()
    }

    /// The default run as the library's semaphore gives it: 0-2 in, 3 and 4 wait.
    fn five_for_three() -> Vec<Event> {
        use Op::*;
        vec![
            event(0, Acquire, 2, &[0], &[]),
            event(1, Acquire, 1, &[0, 1], &[]),
            event(2, Acquire, 0, &[0, 1, 2], &[]),
            event(3, Block, 0, &[0, 1, 2], &[3]),
            event(4, Block, 0, &[0, 1, 2], &[3, 4]),
            event(0, Release, 1, &[1, 2], &[3, 4]),
            event(3, Acquire, 0, &[1, 2, 3], &[4]),
            event(1, Release, 1, &[2, 3], &[4]),
            event(4, Acquire, 0, &[2, 3, 4], &[]),
            event(2, Release, 1, &[3, 4], &[]),
            event(3, Release, 2, &[4], &[]),
            event(4, Release, 3, &[], &[]),
        ]
    }

    #[test]
    fn at_most_k_inside_holds_and_counts_the_waits() {
        let p = params(false);
        let r = Results::of(
            &p,
            five_for_three(),
            waits(&[(3, 101_000_000), (4, 202_000_000)]),
        );
        assert_eq!((r.max_inside, r.acquires, r.blocked), (3, 5, 2));
        assert_eq!(r.counter_matches, 10);
        let (v, lesson, lines) = crate::testing::judge(&r, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert_eq!(
            v.because,
            "at most 3 inside at once; 2 of 5 acquires found the counter at 0 and slept (the longest wait: worker 4, 202 ms)"
        );
        assert!(lesson.contains("with 3 permits at most 3 of the 5 workers were inside at once and 2 of 5 acquires slept (worker 4 for 202 ms)"), "{lesson}");
        assert!(
            lines.contains(&"counter + inside = 3 (the permits) on 10 of 10 lines".to_string()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"inside at once: at most 3 (permits: 3), over 10 lines".to_string()),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_fourth_worker_inside_breaks_the_claim() {
        let p = params(false);
        let mut events = five_for_three();
        events[3] = event(3, Op::Acquire, 0, &[0, 1, 2, 3], &[]);
        let r = Results::of(&p, events, waits(&[(4, 1_000_000)]));
        assert_eq!(r.max_inside, 4);
        let v = crate::testing::judge(&r, &p).0;
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert_eq!(
            v.because,
            "4 workers held a permit at once, more than the 3 there are"
        );
    }

    #[test]
    fn nobody_waits_when_there_are_permits_enough() {
        let p = Params {
            workers: 2,
            ..params(true)
        };
        let events = vec![
            event(0, Op::Acquire, 2, &[0], &[]),
            event(1, Op::Acquire, 2, &[0, 1], &[]), // sem_getvalue read late: not 1
            event(0, Op::Release, 2, &[1], &[]),
            event(1, Op::Release, 3, &[], &[]),
        ];
        let r = Results::of(&p, events, waits(&[])[..2].to_vec());
        let (v, _, lines) = crate::testing::judge(&r, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.ends_with(
                "no acquire found the counter at 0: 2 workers for 3 permits never had to wait"
            ),
            "{}",
            v.line()
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "counter + inside = 3 (the permits) on 3 of 4 lines: sem_getvalue reads"
            )),
            "{lines:#?}"
        );
    }

    #[test]
    fn no_acquire_cannot_be_checked() {
        let p = params(false);
        let r = Results::of(
            &p,
            vec![],
            waits(&[])
                .into_iter()
                .map(|w| WorkerWaits { acquires: 0, ..w })
                .collect(),
        );
        assert_eq!(crate::testing::judge(&r, &p).0.held, None);
    }
}
