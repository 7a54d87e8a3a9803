//! reentrancy's lab bench: the slide's `/* Preempt here */` (a dwell with threads, a wait for
//! the signal with the handler), the SIGALRM handler that re-enters add2, the two runs of each
//! variant (N threads at once; one thread and a timer signal), the counts, the slide's 2×2 table,
//! the analysis and the verdict. The four add2 functions are `src/bin/reentrancy.rs`.
//!
//! Why it is sound. `tmp` is an atomic with relaxed loads and stores (in the binary), so two
//! threads writing it at once is a race on its value, not undefined behaviour. The handler runs
//! on the thread it interrupts and touches only lock-free atomics: the statics below, `tmp` and
//! the thread-local `tmp` (const-initialised without a destructor: a plain TLS access that sets
//! nothing up and allocates nothing). It takes no lock, allocates nothing, prints nothing and
//! makes no system call (so errno is untouched): everything in it is async-signal-safe. The
//! timer and the handler's installation are `sys::signal::tick`.

use std::hint::spin_loop;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use crate::Result;
use crate::kit::machine::usable_cpus;
use crate::kit::report::table;
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::sync::gate::run_together;

/// One of the slide's add2 functions.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// What sets it apart: `tmp read back`, `thread_local tmp`...
    pub name: &'static str,
    pub add2: fn(i32) -> i32,
    /// Reads its `tmp` (the calling thread's, for a thread-local one); None without one.
    pub tmp: Option<fn() -> i32>,
    /// What the slide says: (thread-safe, reentrant).
    pub slide: (bool, bool),
}

impl Variant {
    pub const fn new(
        name: &'static str,
        add2: fn(i32) -> i32,
        tmp: Option<fn() -> i32>,
        slide: (bool, bool),
    ) -> Variant {
        Variant {
            name,
            add2,
            tmp,
            slide,
        }
    }
}

/// What `preempt_here` does: dwell (threads), or wait for the handler (the signal run).
const DWELL: u8 = 0;
const AWAIT_SIGNAL: u8 = 1;
static MODE: AtomicU8 = AtomicU8::new(DWELL);
/// Set while the handler's own add2 runs: its `preempt_here` waits for nothing.
static IN_HANDLER: AtomicBool = AtomicBool::new(false);
/// Handler runs so far, and those whose own add2 returned a wrong result.
static HANDLED: AtomicU64 = AtomicU64::new(0);
static HANDLER_WRONG: AtomicU64 = AtomicU64::new(0);
/// The variants, and the one the main thread is running (the handler re-enters that one).
static VARIANTS: OnceLock<&'static [Variant]> = OnceLock::new();
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// The handler's runs when the current call began, and how long a window waits for the next.
static CALL_START: AtomicU64 = AtomicU64::new(0);
static BUDGET_NS: AtomicU64 = AtomicU64::new(0);

/// Spins in the threads' window: about a microsecond, long enough that another thread's
/// `tmp = x` lands in it when two run at once, short beside a time slice.
const DWELL_SPINS: u32 = 64;

/// The slide's `/* Preempt here */`, between `tmp = x` and `return tmp + 2`.
///
/// With threads, it dwells a microsecond: on two CPUs another thread's `tmp = x` lands inside it
/// often; on one CPU only when the scheduler preempts the thread right here. With the handler,
/// it waits (spinning, at most ten timer periods) until SIGALRM has arrived and the handler has
/// run (unless it already has since the call began), so that every call is re-entered where
/// the slide says; a periodic timer alone would land there only by chance (the window is a few
/// nanoseconds of a call). Inside the handler it does nothing.
pub fn preempt_here() {
    if IN_HANDLER.load(Relaxed) {
        return;
    }
    if MODE.load(Relaxed) == DWELL {
        for _ in 0..DWELL_SPINS {
            spin_loop();
        }
        return;
    }
    let before = CALL_START.load(Relaxed);
    let budget = Duration::from_nanos(BUDGET_NS.load(Relaxed));
    let start = Instant::now();
    while HANDLED.load(Relaxed) == before {
        if start.elapsed() > budget || interrupt::requested().is_some() {
            return;
        }
        spin_loop();
    }
}

/// The SIGALRM handler: calls the add2 the main thread is inside with another value (negative,
/// where the main thread's are positive) and checks its own result. Only atomics: see the
/// module's documentation.
extern "C" fn reenter(_signal: libc::c_int) {
    let Some(variants) = VARIANTS.get() else {
        return;
    };
    let Some(variant) = variants.get(CURRENT.load(Relaxed)) else {
        return;
    };
    IN_HANDLER.store(true, Relaxed);
    let y = -1 - (HANDLED.load(Relaxed) % 1_000_000) as i32;
    if (variant.add2)(y) != y + 2 {
        HANDLER_WRONG.fetch_add(1, Relaxed);
    }
    IN_HANDLER.store(false, Relaxed);
    HANDLED.fetch_add(1, Relaxed); // last: the main thread's window ends on it
}

/// The run's parameters, as reported.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Params {
    pub threads: u32,
    /// Calls by each thread.
    pub calls_per_thread: u64,
    /// Calls on the main thread with the timer running.
    pub reentries: u64,
    /// The timer's period, µs.
    pub tick_us: u64,
}

impl Params {
    pub fn new(threads: u32, calls: u64, reentries: u64, tick_us: u64) -> Params {
        Params {
            threads,
            calls_per_thread: calls,
            reentries,
            tick_us,
        }
    }
}

/// One run of one variant: N threads at once, or one thread re-entered by the handler.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Calls made (all threads).
    pub calls: u64,
    /// Calls that returned something other than x + 2.
    pub wrong: u64,
    /// Calls after which `tmp` no longer held their x: another thread (or the handler) wrote it
    /// during the call. None without a `tmp`.
    pub overwritten: Option<u64>,
    /// The signal run: calls during which the handler ran (inside the window, but for the rare
    /// tick that lands before `tmp = x`), and the handler's own wrong results.
    pub reentered: Option<u64>,
    pub handler_wrong: Option<u64>,
}

/// One variant's two runs.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    /// 1 to 4, the slide's order.
    pub number: usize,
    pub name: &'static str,
    pub threads: Tally,
    pub signal: Option<Tally>,
    /// What the slide says.
    pub slide_thread_safe: bool,
    pub slide_reentrant: bool,
}

impl Measured {
    /// Thread-safe as measured: no wrong result and no other thread's write to `tmp` during a
    /// call (a race on `tmp`: undefined behaviour in C, where `tmp` is a plain int).
    pub fn thread_safe(&self) -> bool {
        self.threads.wrong == 0 && self.threads.overwritten.unwrap_or(0) == 0
    }

    /// Reentrant as measured: re-entered by the handler, every call still returned x + 2.
    pub fn reentrant(&self) -> Option<bool> {
        self.signal.map(|s| s.wrong == 0)
    }
}

/// A CSV row: one run of one variant.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub variant: usize,
    pub name: &'static str,
    /// `threads` or `signal`.
    pub run: &'static str,
    pub calls: u64,
    pub wrong: u64,
    pub overwritten: Option<u64>,
    pub reentered: Option<u64>,
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub variants: Vec<Measured>,
    /// CPUs the threads could use.
    pub cpus: usize,
}

/// Runs each variant from `p.threads` threads at once, then on this thread under SIGALRM,
/// printing a line for each run and then the slide's table.
pub fn run(s: &Session, p: &Params, variants: &'static [Variant]) -> Result<Results> {
    let _ = VARIANTS.set(variants);
    let mut results = Results {
        variants: Vec::new(),
        cpus: usable_cpus().len(),
    };
    for (i, v) in variants.iter().enumerate() {
        if interrupt::requested().is_some() {
            break;
        }
        let label = format!("add2 #{} ({})", i + 1, v.name);
        let threads = threaded(v, p)?;
        s.out.lecture(format_args!(
            "{label}: {} × {} at once: {}{}",
            words::count(p.threads, "thread"),
            words::count(p.calls_per_thread, "call"),
            words::count(threads.wrong, "wrong result"),
            overwritten(&threads, "by another thread")
        ));
        let mut m = Measured {
            number: i + 1,
            name: v.name,
            threads,
            signal: None,
            slide_thread_safe: v.slide.0,
            slide_reentrant: v.slide.1,
        };
        if interrupt::requested().is_none() {
            let signal = reentered(i, v, p)?;
            s.out.lecture(format_args!(
                "{label}: re-entered by SIGALRM in {} of {}: {}{}",
                signal.reentered.unwrap_or(0),
                words::count(signal.calls, "call"),
                words::count(signal.wrong, "wrong result"),
                overwritten(&signal, "by the handler")
            ));
            m.signal = Some(signal);
        }
        results.variants.push(m);
    }
    if results.variants.len() == variants.len() {
        for line in results.table().lines() {
            s.out.lecture(line);
        }
    }
    Ok(results)
}

fn overwritten(t: &Tally, by: &str) -> String {
    match t.overwritten {
        Some(n) => format!(" (tmp overwritten {by} in {})", words::count(n, "call")),
        None => String::new(),
    }
}

/// The values thread `t` passes to add2: positive, distinct from every other thread's.
fn value(t: usize, i: u64) -> i32 {
    (t as i32 + 1) * 10_000_000 + (i % 1_000_000) as i32
}

/// `p.threads` threads, started together, each calling add2 `p.calls_per_thread` times.
fn threaded(v: &Variant, p: &Params) -> Result<Tally> {
    MODE.store(DWELL, Relaxed);
    let n = p.threads as usize;
    let (_, tallies) = run_together(
        n,
        |t| format!("add2-{t}"),
        |t, gate| gate.wait().then(|| calls(v, t, p.calls_per_thread)),
    )?;
    let tallies: Vec<Tally> = tallies.into_iter().flatten().collect();
    let mut sum = Tally {
        overwritten: v.tmp.map(|_| 0),
        ..Tally::default()
    };
    for t in tallies {
        sum.calls += t.calls;
        sum.wrong += t.wrong;
        sum.overwritten = sum.overwritten.zip(t.overwritten).map(|(a, b)| a + b);
    }
    Ok(sum)
}

/// One thread's calls: `add2(x)` should be x + 2, and `tmp` should still hold x afterwards.
fn calls(v: &Variant, t: usize, calls: u64) -> Tally {
    let mut tally = Tally {
        overwritten: v.tmp.map(|_| 0),
        ..Tally::default()
    };
    for i in 0..calls {
        if i % 4096 == 0 && interrupt::requested().is_some() {
            break;
        }
        let x = value(t, i);
        let result = (v.add2)(x);
        tally.calls += 1;
        tally.wrong += u64::from(result != x + 2);
        if let (Some(tmp), Some(n)) = (v.tmp, tally.overwritten.as_mut()) {
            *n += u64::from(tmp() != x);
        }
    }
    tally
}

/// `p.reentries` calls on this thread, SIGALRM arriving every `p.tick_us` µs, each call waiting
/// in its window for the handler (at most ten periods).
fn reentered(index: usize, v: &Variant, p: &Params) -> Result<Tally> {
    let period = Duration::from_micros(p.tick_us);
    BUDGET_NS.store(10 * p.tick_us * 1000, Relaxed);
    CURRENT.store(index, Relaxed);
    let handler_wrong = HANDLER_WRONG.load(Relaxed);
    MODE.store(AWAIT_SIGNAL, Relaxed);
    let ticker = crate::sys::signal::tick(Signal::SIGALRM, period, reenter);
    if ticker.is_err() {
        MODE.store(DWELL, Relaxed);
    }
    let ticker = ticker?;
    let mut tally = Tally {
        overwritten: v.tmp.map(|_| 0),
        reentered: Some(0),
        ..Tally::default()
    };
    for i in 0..p.reentries {
        if interrupt::requested().is_some() {
            break;
        }
        let x = value(0, i);
        let before = HANDLED.load(Relaxed);
        CALL_START.store(before, Relaxed);
        let result = (v.add2)(x);
        let hit = HANDLED.load(Relaxed) != before;
        tally.calls += 1;
        tally.wrong += u64::from(result != x + 2);
        tally.reentered = tally.reentered.map(|n| n + u64::from(hit));
        if let (Some(tmp), Some(n)) = (v.tmp, tally.overwritten.as_mut()) {
            *n += u64::from(tmp() != x);
        }
    }
    drop(ticker); // timer deleted, SIGALRM ignored
    MODE.store(DWELL, Relaxed);
    tally.handler_wrong = Some(HANDLER_WRONG.load(Relaxed) - handler_wrong);
    Ok(tally)
}

impl Results {
    fn find(&self, thread_safe: bool, reentrant: bool) -> Vec<&Measured> {
        self.variants
            .iter()
            .filter(|m| m.thread_safe() == thread_safe && m.reentrant() == Some(reentrant))
            .collect()
    }

    /// The slide's 2×2 table, each variant in the cell its counts put it in.
    pub fn table(&self) -> String {
        let cell = |m: &Measured| {
            let t = &m.threads;
            let raced = match t.overwritten {
                Some(n) if n > 0 && t.wrong == 0 => format!(" (tmp raced {})", words::times(n)),
                _ => String::new(),
            };
            let s = m.signal.unwrap_or_default();
            (
                format!("#{} {}", m.number, m.name),
                format!("threads {}{raced}, SIGALRM {} wrong", t.wrong, s.wrong),
            )
        };
        let mut rows = Vec::new();
        for (safe, heading) in [(true, "thread-safe"), (false, "not thread-safe")] {
            let (re, not): (Vec<_>, Vec<_>) = (
                self.find(safe, true).into_iter().map(cell).collect(),
                self.find(safe, false).into_iter().map(cell).collect(),
            );
            let lines = re.len().max(not.len()).max(1);
            for k in 0..lines {
                let pick = |v: &Vec<(String, String)>, name: bool| {
                    v.get(k)
                        .map_or(if k == 0 && name { "-" } else { "" }.to_string(), |c| {
                            if name { c.0.clone() } else { c.1.clone() }
                        })
                };
                let first = if k == 0 { heading } else { "" };
                rows.push(vec![first.to_string(), pick(&re, true), pick(&not, true)]);
                rows.push(vec![String::new(), pick(&re, false), pick(&not, false)]);
            }
        }
        table(&["", "reentrant", "not reentrant"], &rows, false)
    }

    /// The cells where the measurement differs from the slide, each with what decided it.
    fn differences(&self, p: &Params) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.variants {
            if m.thread_safe() != m.slide_thread_safe {
                out.push(if m.slide_thread_safe {
                    format!(
                        "#{} ({}) gave {} wrong with threads, yet the slide calls it thread-safe",
                        m.number, m.name, m.threads.wrong
                    )
                } else {
                    format!(
                        "#{} ({}) showed no race in {}: {}",
                        m.number,
                        m.name,
                        words::count(m.threads.calls, "call"),
                        self.why_no_race(p)
                    )
                });
            }
            if let (Some(r), Some(s)) = (m.reentrant(), m.signal)
                && r != m.slide_reentrant
            {
                out.push(if m.slide_reentrant {
                    format!(
                        "#{} ({}) gave {} wrong when re-entered, yet the slide calls it reentrant",
                        m.number, m.name, s.wrong
                    )
                } else if s.reentered == Some(0) {
                    format!(
                        "#{} ({}) was never re-entered: SIGALRM never arrived inside its window (try a longer --tick)",
                        m.number, m.name
                    )
                } else {
                    format!(
                        "#{} ({}) was re-entered in {} and still gave no wrong result",
                        m.number,
                        m.name,
                        words::count(s.reentered.unwrap_or(0), "call")
                    )
                });
            }
        }
        out
    }

    fn why_no_race(&self, p: &Params) -> String {
        if p.threads < 2 {
            "there was only one thread (--threads 2)".into()
        } else if self.cpus < 2 {
            "the threads shared one CPU, so they met only when one was preempted inside add2 (more --calls, or no --cpu)".into()
        } else {
            "no other thread's write landed inside a call (more --calls)".into()
        }
    }

    fn complete(&self) -> bool {
        self.variants.len() == 4 && self.variants.iter().all(|m| m.signal.is_some())
    }

    fn of(&self, number: usize) -> Option<&Measured> {
        self.variants.iter().find(|m| m.number == number)
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, _p: &Params) -> String {
        let cells = self
            .variants
            .iter()
            .map(|m| {
                format!(
                    "#{} {}/{}",
                    m.number,
                    m.threads.wrong,
                    m.signal.map_or("-".into(), |s| s.wrong.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("wrong results, threads/handler: {cells}")
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        for m in &self.variants {
            let s = m.signal.unwrap_or_default();
            lines.push(format!(
                "#{} {}: thread-safe {} (slide: {}), reentrant {} (slide: {})",
                m.number,
                m.name,
                yes(m.thread_safe()),
                yes(m.slide_thread_safe),
                m.reentrant().map_or("not run", yes),
                yes(m.slide_reentrant),
            ));
            if let Some(w) = s.handler_wrong.filter(|&w| w > 0) {
                lines.push(format!(
                    "   the handler's own calls gave {} wrong",
                    words::count(w, "result")
                ));
            }
        }
        if let Some(two) = self.of(2)
            && two.threads.wrong == 0
            && two.threads.overwritten.unwrap_or(0) > 0
        {
            lines.push(format!(
                "#2 never returned a wrong result (it returns x + 2 without reading tmp), but another thread wrote tmp during {}: a data race on tmp, undefined behaviour in C where tmp is a plain int; that race is what makes it not thread-safe",
                words::count(two.threads.overwritten.unwrap_or(0), "call")
            ));
        }
        lines.push(format!(
            "threads: {} on {}; handler: SIGALRM every {} µs, each call waiting in its window for it",
            words::count(p.threads, "thread"),
            words::count(self.cpus as u64, "CPU"),
            p.tick_us
        ));
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = "the slide's table: #1 (tmp read back) neither thread-safe nor reentrant, #2 (tmp written only) reentrant not thread-safe, #3 (thread_local tmp) thread-safe not reentrant, #4 (no tmp) both";
        if !self.complete() {
            return Verdict::unchecked(claim, "stopped before every variant had run both ways");
        }
        let diff = self.differences(p);
        let because = if diff.is_empty() {
            let (one, two, three) = (
                self.of(1).unwrap(),
                self.of(2).unwrap(),
                self.of(3).unwrap(),
            );
            format!(
                "every cell as the slide says: #1 gave {} wrong with threads and {} when re-entered; #2 was never wrong but other threads overwrote its tmp during {}; #3 gave {} wrong when re-entered and none with threads; #4 none either way",
                one.threads.wrong,
                one.signal.unwrap_or_default().wrong,
                words::count(two.threads.overwritten.unwrap_or(0), "call"),
                three.signal.unwrap_or_default().wrong
            )
        } else {
            words::list(diff)
        };
        Verdict::check(claim, self.differences(p).is_empty(), because)
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        let recursion = "recursion is not reentrancy: a recursive call happens where the function chose, with its state saved; a re-entry cuts in at any instruction";
        let (Some(one), Some(three)) = (self.of(1), self.of(3)) else {
            return format!(
                "thread-safe means no race when threads call at once, reentrant means the same result when interrupted and called again on the same thread; {recursion}"
            );
        };
        let s1 = one.signal.unwrap_or_default();
        let s3 = three.signal.unwrap_or_default();
        format!(
            "state in a global breaks both: #1 lost {} of {} to other threads and {} of {} to the handler; thread_local cures the threads but not the handler, which runs on the same thread and shares its tmp ({} wrong); {recursion}, here between tmp = x and return tmp + 2, so a signal handler may call only reentrant (async-signal-safe) functions",
            one.threads.wrong,
            words::count(one.threads.calls, "call"),
            s1.wrong,
            s1.calls,
            s3.wrong
        )
    }

    fn compare(&self, _p: &Params) -> String {
        "man 7 signal-safety   (the functions POSIX lets a signal handler call: the reentrant ones; printf and malloc are not)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        let mut rows = Vec::new();
        for m in &self.variants {
            let runs = [("threads", Some(m.threads)), ("signal", m.signal)];
            for (run, t) in runs {
                if let Some(t) = t {
                    rows.push(Row {
                        variant: m.number,
                        name: m.name,
                        run,
                        calls: t.calls,
                        wrong: t.wrong,
                        overwritten: t.overwritten,
                        reentered: t.reentered,
                    });
                }
            }
        }
        rows
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some(format!("{} of 4 variants", self.variants.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(calls: u64, wrong: u64, overwritten: Option<u64>, reentered: Option<u64>) -> Tally {
        Tally {
            calls,
            wrong,
            overwritten,
            reentered,
            handler_wrong: reentered.map(|_| 0),
        }
    }

    /// The four variants with threads' (wrong, overwritten) and the handler's wrong counts.
    fn results(threads: [(u64, Option<u64>); 4], signal: [u64; 4], cpus: usize) -> Results {
        let names = [
            "tmp read back",
            "tmp written only",
            "thread_local tmp",
            "no tmp",
        ];
        let slide = [(false, false), (false, true), (true, false), (true, true)];
        Results {
            variants: (0..4)
                .map(|i| Measured {
                    number: i + 1,
                    name: names[i],
                    threads: tally(200, threads[i].0, threads[i].1, None),
                    signal: Some(tally(100, signal[i], threads[i].1.map(|_| 100), Some(100))),
                    slide_thread_safe: slide[i].0,
                    slide_reentrant: slide[i].1,
                })
                .collect(),
            cpus,
        }
    }

    fn params() -> Params {
        Params::new(2, 100, 100, 100)
    }

    #[test]
    fn the_table_holds_when_every_cell_shows_and_not_when_one_does_not() {
        let good = results(
            [(40, Some(41)), (0, Some(12)), (0, Some(0)), (0, None)],
            [100, 0, 100, 0],
            2,
        );
        let (v, lesson, lines) = crate::testing::judge(&good, &params());
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .contains("#1 gave 40 wrong with threads and 100 when re-entered")
        );
        assert!(
            v.because
                .contains("#2 was never wrong but other threads overwrote its tmp during 12 calls")
        );
        assert!(lesson.contains("recursion is not reentrancy"), "{lesson}");
        assert!(lesson.contains("#1 lost 40 of 200 calls"), "{lesson}");
        assert!(
            lines[1].starts_with("#2 tmp written only: thread-safe no (slide: no), reentrant yes")
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("another thread wrote tmp during 12 calls"))
        );
        let table = good.table();
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[1].starts_with("thread-safe") && rows[1].contains("#4 no tmp"));
        assert!(rows[1].contains("#3 thread_local tmp"));
        assert!(rows[3].starts_with("not thread-safe") && rows[3].contains("#2 tmp written only"));
        assert!(rows[4].contains("tmp raced 12 times"), "{table}");

        // One CPU: #1 and #2 never raced.
        let one = results(
            [(0, Some(0)), (0, Some(0)), (0, Some(0)), (0, None)],
            [100, 0, 100, 0],
            1,
        );
        let (v, ..) = crate::testing::judge(&one, &params());
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains(
            "#1 (tmp read back) showed no race in 200 calls: the threads shared one CPU"
        ));
        assert!(!one.table().contains("not thread-safe  #"));

        // The handler never landed: #3 looks reentrant.
        let mut missed = results(
            [(40, Some(41)), (0, Some(12)), (0, Some(0)), (0, None)],
            [100, 0, 0, 0],
            2,
        );
        missed.variants[2].signal.as_mut().unwrap().reentered = Some(0);
        let (v, ..) = crate::testing::judge(&missed, &params());
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .contains("#3 (thread_local tmp) was never re-entered"),
            "{}",
            v.because
        );

        // A wrong result where the slide says safe.
        let broken = results(
            [(40, Some(41)), (0, Some(12)), (0, Some(0)), (3, None)],
            [100, 0, 100, 0],
            2,
        );
        let (v, ..) = crate::testing::judge(&broken, &params());
        assert_eq!(v.held, Some(false));
        assert!(
            v.because.contains(
                "#4 (no tmp) gave 3 wrong with threads, yet the slide calls it thread-safe"
            )
        );

        let mut cut = good.clone();
        cut.variants.truncate(2);
        let (v, ..) = crate::testing::judge(&cut, &params());
        assert_eq!(v.held, None);
        assert_eq!(cut.progress(&params()).as_deref(), Some("2 of 4 variants"));
    }

    #[test]
    fn rows_are_one_per_run() {
        let r = results(
            [(40, Some(41)), (0, Some(12)), (0, Some(0)), (0, None)],
            [100, 0, 100, 0],
            2,
        );
        let rows = r.rows(&params());
        assert_eq!(rows.len(), 8);
        assert_eq!((rows[0].run, rows[0].wrong), ("threads", 40));
        assert_eq!((rows[1].run, rows[1].wrong), ("signal", 100));
        assert_eq!(rows[7].overwritten, None);
    }
}
