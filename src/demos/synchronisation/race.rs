//! The race-condition family's shared program: N threads each add 1 to a shared `var` STEPS
//! times, timed around thread creation and join as the lecture times it.
//!
//! The six race binaries and the two granularity binaries differ only in how one step is
//! protected, which is all their files contain (a [`Program`]); the threads, the timing, the
//! counters and the analysis are here, once.
//!
//! ```c
//! static int var;
//! void *increase_var(void *arg) {
//!     for (int i = 0; i < NUM_STEPS; i++)
//!         ++var;                       /* what each program protects differently */
//!     return NULL;
//! }
//! int main(void) {
//!     start = get_current_millis();
//!     for (i = 0; i < NUM_THREADS; i++) pthread_create(&tids[i], NULL, increase_var, NULL);
//!     for (i = 0; i < NUM_THREADS; i++) pthread_join(tids[i], NULL);
//!     printf("var = %d; time = %lu ms\n", var, get_current_millis() - start);
//! }
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{
    AtomicI32, AtomicU32, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::time::Instant;

use clap::{Args, Parser};
use crossbeam::utils::CachePadded;
use serde::Serialize;

use crate::Result;
use crate::kit::cli::{self, CommonArgs, CpuList, TrialArgs, ranged};
use crate::kit::machine::current_cpu;
use crate::kit::report::warn;
use crate::kit::stats::Spread;
use crate::kit::timing::{self, fmt_ns, lecture_ms, nanos, sig3};
use crate::kit::{self, Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::counters::{Delta, Snapshot, ThreadUsage};
use crate::sync::gate::run_together;
use crate::sync::mutex::{Lock, MutexKind, WithLock};

/// The most threads a run may start.
pub const MAX_THREADS: u32 = 1024;
/// The most steps one thread may take.
pub const MAX_STEPS: u64 = 1_000_000_000;

/// The shared `static int var;`.
///
/// In C it is a plain `int`. In Rust two threads may not touch a plain integer at the same time
/// (that is a data race: undefined behaviour, and the compiler would be free to fold the whole
/// loop into one add). So `var` is an `AtomicI32` that the unprotected programs access with a
/// *separate* relaxed load and relaxed store: each access is atomic, the pair is not. That is
/// exactly what `++var` compiles to in the lecture's `-O0` build (`mov eax,[var]; add eax,1;
/// mov [var],eax`), so updates are lost the same way, without undefined behaviour.
///
/// Beside it, the lab's instrument for the granularity pair: `owner`, the worker that last took
/// the lock around `var` (see [`Var::note_owner`]), so the demo can count how often the lock
/// changed hands. The race programs never touch it.
///
/// And `inside`, the lab's occupancy counter for `race_condition_toctou`: how many threads are
/// in the critical section now ([`Var::enter`], [`Var::leave`]), so the demo can count the
/// times a thread got in while another was still there.
#[derive(Debug, Default)]
pub struct Var {
    value: AtomicI32,
    /// The worker that last held the lock, plus one (0: nobody yet).
    owner: AtomicU32,
    /// Threads between [`Var::enter`] and [`Var::leave`] now.
    inside: AtomicU32,
}

thread_local! {
    /// This worker's number plus one, set by the bench before its thread body runs (0 on any
    /// other thread).
    static WORKER: Cell<u32> = const { Cell::new(0) };
    /// This worker's handovers: the times it took the lock after another worker had it.
    static HANDOVERS: Cell<u64> = const { Cell::new(0) };
    /// This worker's overlaps: the times it entered the critical section with another thread
    /// already inside.
    static OVERLAPS: Cell<u64> = const { Cell::new(0) };
    /// The most threads this worker saw inside the critical section, itself included.
    static MOST_INSIDE: Cell<u32> = const { Cell::new(0) };
}

impl Var {
    /// `var = 0`.
    pub const fn new() -> Var {
        Var {
            value: AtomicI32::new(0),
            owner: AtomicU32::new(0),
            inside: AtomicU32::new(0),
        }
    }

    /// C's `++var` (or `--var` with delta -1) at -O0: three steps, not one.
    #[inline(always)]
    pub fn add(&self, delta: i32) {
        let v = self.value.load(Relaxed); // 1. load  var into a register
        let v = v.wrapping_add(delta); // 2. add   in the register
        self.value.store(v, Relaxed); // 3. store it back, overwriting whatever is there now
    }

    /// The lab's handover count, called with the lock held (not the lecture's code): this
    /// worker holds the lock now; if another worker held it last, the lock changed hands. Plain
    /// relaxed loads and stores suffice: the lock orders them, as it orders `var`'s.
    #[inline(always)]
    pub fn note_owner(&self) {
        let me = WORKER.get();
        let last = self.owner.load(Relaxed);
        if last != me {
            self.owner.store(me, Relaxed);
            if last != 0 {
                HANDOVERS.set(HANDOVERS.get() + 1);
            }
        }
    }

    /// The lab's occupancy count (not the lecture's code), called first thing inside the
    /// critical section: one more thread is inside; if another was already there, that is an
    /// overlap. SeqCst read-modify-writes keep the program's order around them (the flag's
    /// store before, `++var` after), as the C's plain statements at -O0 do.
    #[inline(always)]
    pub fn enter(&self) {
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        if now > 1 {
            OVERLAPS.set(OVERLAPS.get() + 1);
        }
        if now > MOST_INSIDE.get() {
            MOST_INSIDE.set(now);
        }
    }

    /// The lab's occupancy count, called last thing inside the critical section: one thread
    /// fewer inside.
    #[inline(always)]
    pub fn leave(&self) {
        self.inside.fetch_sub(1, SeqCst);
    }

    /// The atomic integer underneath, for the programs that use atomic instructions.
    pub fn atomic(&self) -> &AtomicI32 {
        &self.value
    }

    /// The value now.
    pub fn get(&self) -> i32 {
        self.value.load(Relaxed)
    }
}

/// One of the lecture's programs: how it protects a step of `++var`, and how its thread loops.
/// `var` itself belongs to the shared skeleton (the C programs' `static int var`): the runner
/// makes a fresh one per trial and hands it to every step.
///
/// `&'static self`: like the C program's statics (`static int var;`, `static pthread_mutex_t
/// lock;`), the program and `var` live as long as the program does, so a lock that must not
/// move once used (glibc's mutex) can sit in place beside `var` (see [`Statics`]).
pub trait Program: Sync + Send + 'static {
    /// One `++var` (delta 1) or `--var` (delta -1), protected as this program protects it.
    fn step(&'static self, var: &'static Var, delta: i32);

    /// The thread function: `steps` steps, run through `work` ([`Work::run`]: its progress and
    /// the shares read where the first thread's loop ends). By default each step is protected
    /// on its own; `coarse_granularity` overrides this to lock once around the whole loop.
    #[inline]
    fn thread_body(&'static self, var: &'static Var, steps: u64, delta: i32, work: &Work<'_>) {
        work.run(steps, |n| {
            for _ in 0..n {
                self.step(var, delta);
            }
        });
    }
}

/// Where a program's lock lies: its address, its size and its type, read off the lock itself.
#[derive(Clone, Copy, Debug)]
pub struct LockAt {
    address: usize,
    bytes: usize,
    name: &'static str,
}

impl LockAt {
    /// `lock`'s place.
    pub fn of<L: Lock>(lock: &L) -> LockAt {
        LockAt {
            address: std::ptr::from_ref(lock).addr(),
            bytes: std::mem::size_of::<L>(),
            name: L::KIND.name(),
        }
    }
}

/// The mutex programs (race_condition_mutex and the granularity pair): the program built
/// around a lock of each kind. Implemented on the program with `()` for its lock (`Fine<()>`
/// names the family), by [`locked!`](crate::locked).
pub trait Locked {
    /// The program with a lock of type `L`.
    type With<L: Lock>: Program;
    /// The program around `lock`.
    fn around<L: Lock>(lock: L) -> Self::With<L>;
    /// Its lock, for the layout report.
    fn lock<L: Lock>(program: &Self::With<L>) -> &L;
}

/// `locked!(Fine)`: [`Locked`] for the mutex program `Fine<L>`, whose lock is its field `lock`.
#[macro_export]
macro_rules! locked {
    ($program:ident) => {
        impl $crate::demos::synchronisation::race::Locked for $program<()> {
            type With<L: $crate::sync::mutex::Lock> = $program<L>;
            fn around<L: $crate::sync::mutex::Lock>(lock: L) -> $program<L> {
                $program { lock }
            }
            fn lock<L: $crate::sync::mutex::Lock>(program: &$program<L>) -> &L {
                &program.lock
            }
        }
    };
}
pub use crate::locked;

/// [`run`] for a mutex program: with the lock `--lock` chose, the program's type generic over
/// it (no enum to match and no pointer to follow at every step).
pub fn run_locked<F: Locked>(demo: &Demo, args: &RaceArgs, kind: MutexKind) -> ExitCode {
    struct Job<'a, F> {
        demo: &'a Demo,
        args: &'a RaceArgs,
        family: std::marker::PhantomData<F>,
    }
    impl<F: Locked> WithLock for Job<'_, F> {
        type Output = ExitCode;
        fn run<L: Lock>(self) -> ExitCode {
            let make = || F::around(L::default());
            run_with(self.demo, self.args, Some(L::KIND), make, |p| {
                Some(LockAt::of(F::lock::<L>(p)))
            })
        }
    }
    kind.with(Job::<F> {
        demo,
        args,
        family: std::marker::PhantomData,
    })
}

/// A worker's progress, published every [`Work::CHUNK`] steps so the demo can see how far each
/// thread got (for fairness) and stop early on Ctrl-C, without a cost per step.
pub struct Work<'a> {
    done: &'a AtomicU64,
    /// Called once the loop has run its last step, where the program's loop ends: inside the
    /// lock for a program that holds it around the whole loop (coarse_granularity), so the
    /// others' progress it reads is theirs before the lock was let go.
    at_end: &'a (dyn Fn() + Sync),
}

impl Work<'_> {
    /// Steps between progress updates: a few microseconds of work at most.
    pub const CHUNK: u64 = 4096;

    /// Runs `steps` steps as calls `chunk(n)` of at most [`Self::CHUNK`] steps each.
    #[inline]
    pub fn run(&self, steps: u64, mut chunk: impl FnMut(u64)) {
        let mut done = 0;
        while done < steps {
            if interrupt::requested().is_some() {
                break;
            }
            let n = Self::CHUNK.min(steps - done);
            chunk(n);
            done += n;
            self.done.store(done, Relaxed);
        }
        (self.at_end)();
    }
}

/// What a binary tells the shared demo about itself.
#[derive(Clone, Copy, Debug)]
pub struct Demo {
    /// The binary's name.
    pub name: &'static str,
    /// How a step is protected, in a few words (`nothing`, `a mutex around each ++var`).
    pub variant: &'static str,
    /// The lecture's thread count: the slide's run, the default.
    pub threads: u32,
    /// The lecture's steps per thread: the slide's run, the default.
    pub steps: u64,
    /// `NUM_THREADS` × `NUM_STEPS` as the lecture's source defines them, where they differ
    /// from the slide's run (granularity.c's 10 × 2000000): what `--as-coded` runs.
    pub coded: Option<(u32, u64)>,
    /// What the lecture claims for this program: the verdict checks it, the lesson explains it.
    pub claim: Claim,
    /// The field's standard tool for the same measurement.
    pub compare: &'static str,
}

/// What the lecture claims for each program of the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// `race_condition`: unprotected `++var` loses updates.
    Lost,
    /// `race_condition_toctou`: a flag checked, then set, is no lock: threads get in together.
    Toctou,
    /// `race_condition_atomic`, `_assembly`: one atomic read-modify-write loses nothing.
    Atomic,
    /// `race_condition_spinlock`: a test-and-set spinlock loses nothing.
    Spinlock,
    /// `race_condition_mutex`: a mutex loses nothing.
    Mutex,
    /// `coarse_granularity`: one lock around each whole loop: the threads run one after another.
    Coarse,
    /// `fine_granularity`: a lock per increment: the lab quiz's "one switch per step".
    Fine,
}

impl Claim {
    /// The claim, as the verdict states it.
    pub fn text(self) -> &'static str {
        match self {
            Claim::Lost => "threads that ++var with no protection lose updates",
            Claim::Toctou => {
                "checking then setting a flag is not a lock: two threads get in at once, updates are lost"
            }
            Claim::Atomic | Claim::Spinlock | Claim::Mutex => "no update is lost",
            Claim::Coarse => {
                "with one lock around each thread's whole loop the threads run one after another"
            }
            Claim::Fine => {
                "a lock taken for every increment costs a context switch per step (the lab quiz)"
            }
        }
    }

    /// True for the programs that should lose updates: no protection, or a broken one.
    pub fn races(self) -> bool {
        matches!(self, Claim::Lost | Claim::Toctou)
    }

    /// True for the programs whose threads go one per usable CPU by default, as `--spread`:
    /// TOCTOU, whose subject is the flag, not the scheduler; on a busy machine the scheduler
    /// may put both threads on one CPU, where they take turns and the flaw never shows
    /// (`--cpu 0` still gives that case).
    pub fn spreads(self) -> bool {
        self == Claim::Toctou
    }

    /// True for the programs that count the threads inside the critical section: TOCTOU.
    pub fn counts_occupancy(self) -> bool {
        self == Claim::Toctou
    }

    /// True for the programs that count the lock's handovers: the granularity pair.
    pub fn hands_over(self) -> bool {
        matches!(self, Claim::Coarse | Claim::Fine)
    }

    /// The lesson when no trial completed.
    fn general(self) -> &'static str {
        match self {
            Claim::Lost => {
                "++var is a load, an add and a store: an increment another thread makes between them is overwritten"
            }
            Claim::Toctou => {
                "`if (lock == 0)` then `lock = 1` is a load and a separate store: two threads can both read 0 and both get in; race_condition_spinlock's test-and-set reads and sets the flag in one atomic instruction"
            }
            Claim::Atomic => "one atomic read-modify-write per increment loses nothing",
            Claim::Spinlock => {
                "a spinlock waits on the CPU: cheap for a short critical section, wasteful for a long one"
            }
            Claim::Mutex => "a mutex makes a waiting thread sleep in the kernel",
            Claim::Coarse => {
                "a large critical section means few context switches but no parallelism"
            }
            Claim::Fine => {
                "a lock around each increment lets the threads take turns, at the price of the lock"
            }
        }
    }
}

/// The flags of every race and granularity binary.
#[derive(Args, Clone, Debug)]
pub struct RaceArgs {
    /// Threads incrementing var [1-1024]
    #[arg(long, short = 't', value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, MAX_THREADS))]
    pub threads: u32,

    /// Increments per thread [1-1000000000]; threads × steps must fit in var's 32-bit int
    #[arg(long, short = 's', value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, MAX_STEPS))]
    pub steps: u64,

    /// The lab's variant: every second thread decrements instead, so var should end at 0
    #[arg(long)]
    pub decrement: bool,

    /// Run the sizes the lecture's source defines (NUM_THREADS × NUM_STEPS) instead of the
    /// slide's run: granularity.c's 10 × 2000000; the race programs' are the slide's already
    #[arg(long, conflicts_with_all = ["threads", "steps"])]
    pub as_coded: bool,

    /// Put thread i on usable CPU i mod N (sched_setaffinity) instead of wherever the
    /// scheduler places it; by default the scheduler decides, as in the lecture
    #[arg(long)]
    pub spread: bool,

    #[command(flatten)]
    pub trials: TrialArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Parses a binary's `Args` with the lecture's defaults for `--threads` and `--steps` (which
/// differ between the race and granularity programs), and checks threads × steps fits in `var`.
pub fn parse<A: Parser>(demo: &Demo, race: impl Fn(&A) -> &RaceArgs) -> A {
    let (args, mut command) = cli::parse::<A>(demo.name, |c| {
        c.mut_arg("threads", |a| {
            a.default_value(demo.threads.to_string()).required(false)
        })
        .mut_arg("steps", |a| {
            a.default_value(demo.steps.to_string()).required(false)
        })
    });
    let (threads, steps) = race(&args).sizes(demo);
    if u64::from(threads) * steps > i32::MAX as u64 {
        cli::usage_error(
            &mut command,
            format!(
                "--threads × --steps must fit in var, a 32-bit int (at most {}): {} × {} does not",
                i32::MAX,
                threads,
                steps
            ),
        );
    }
    args
}

impl RaceArgs {
    /// The run's threads and steps: the flags', or with `--as-coded` the source's constants.
    pub fn sizes(&self, demo: &Demo) -> (u32, u64) {
        match demo.coded {
            Some(coded) if self.as_coded => coded,
            _ => (self.threads, self.steps),
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    /// The program's descriptor (not reported: its variant is).
    #[serde(skip)]
    pub demo: Demo,
    pub variant: &'static str,
    /// The mutex chosen with `--lock`, for the programs that take one.
    pub lock: Option<MutexKind>,
    pub threads: u32,
    pub steps: u64,
    pub decrement: bool,
    pub spread: bool,
    pub trials: u32,
    pub warmup: u32,
}

/// One thread's part in a trial.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadRun {
    pub thread: usize,
    /// +1 for an incrementing thread, -1 for a decrementing one.
    pub delta: i32,
    /// Steps it completed (all of them unless stopped by Ctrl-C).
    pub steps: u64,
    /// Its share of all steps done at the moment the first thread finished: 1/N each for a fair
    /// lock, lopsided for an unfair one.
    pub share: f64,
    pub cpu_start: Option<usize>,
    pub cpu_end: Option<usize>,
    /// When it finished, counted from the moment the gate opened.
    pub finish_ns: u64,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    /// The granularity pair: the times it took the lock right after another thread had it.
    pub handovers: Option<u64>,
}

/// One trial: one CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    pub trial: u32,
    /// The final value of var.
    pub var: i32,
    /// What var would be if no update were lost.
    pub expected: i64,
    /// |expected − var|: updates lost (at least this many with --decrement, where losses of
    /// increments and decrements can cancel out).
    pub lost: i64,
    /// `lost` over all updates made.
    pub lost_share: f64,
    /// The lecture's figure: whole ms around thread creation and join.
    pub time_ms: u64,
    /// The same window in ns.
    pub elapsed_ns: u64,
    /// From the gate opening to the last thread finishing: the increments alone.
    pub work_ns: u64,
    /// `work_ns` per update.
    pub ns_per_op: f64,
    /// Context switches of the whole process during the trial (getrusage).
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub minflt: u64,
    /// The granularity pair: how often the lock changed owner, all threads together (a thread
    /// took it right after another had it).
    pub handovers: Option<u64>,
    /// TOCTOU: the entries into the critical section that found another thread already inside.
    pub overlaps: Option<u64>,
    /// TOCTOU: the most threads inside the critical section at once (1 for a lock that works).
    pub max_inside: Option<u32>,
    /// False when Ctrl-C stopped the threads before they finished.
    pub complete: bool,
    /// The mutex programs: where the lock lay against var (reported once, in
    /// [`Results::layout`]: it is the same in every trial).
    #[serde(skip)]
    pub layout: Option<Layout>,
    pub threads: Vec<ThreadRun>,
}

/// Min/median/max over the trials.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub time_ms: Option<Spread>,
    pub ns_per_op: Option<Spread>,
    pub lost: Option<Spread>,
    pub voluntary_cs: Option<Spread>,
    pub nonvoluntary_cs: Option<Spread>,
    /// How many trials lost at least one update.
    pub trials_losing_updates: usize,
    /// How many trials ran every thread on one and the same CPU (the scheduler's choice, or
    /// --cpu): then the threads take turns instead of running at once.
    pub trials_on_one_cpu: usize,
}

/// The results: every trial, and their summary.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub trials: Vec<Trial>,
    pub summary: Summary,
    /// The mutex programs: where the lock lay against var, as the C twins print it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
}

/// Runs the demo: the lecture's line per trial, then the analysis (or JSON/CSV), through the
/// kit's run contract. `lock` is the mutex the program was given with `--lock`, if it takes one.
pub fn run<P: Program>(
    demo: &Demo,
    args: &RaceArgs,
    lock: Option<MutexKind>,
    program: impl Fn() -> P,
) -> ExitCode {
    run_with(demo, args, lock, program, |_| None)
}

/// [`run`], with where the program's lock lies (`lock_at`), for the layout report.
fn run_with<P: Program>(
    demo: &Demo,
    args: &RaceArgs,
    lock: Option<MutexKind>,
    program: impl Fn() -> P,
    lock_at: fn(&P) -> Option<LockAt>,
) -> ExitCode {
    let mut args = args.clone();
    (args.threads, args.steps) = args.sizes(demo);
    args.spread |= demo.claim.spreads();
    let args = &args;
    let params = Params {
        demo: *demo,
        variant: demo.variant,
        lock,
        threads: args.threads,
        steps: args.steps,
        decrement: args.decrement,
        spread: args.spread,
        trials: args.trials.trials,
        warmup: args.trials.warmup,
    };
    kit::run(demo.name, &args.common, params, |s| {
        trials(s, demo, args, program, lock_at)
    })
}

/// The trials, each printing the lecture's line as it completes.
fn trials<P: Program>(
    s: &Session,
    demo: &Demo,
    args: &RaceArgs,
    program: impl Fn() -> P,
    lock_at: fn(&P) -> Option<LockAt>,
) -> Result<Results> {
    if demo.claim.races() && s.machine.cpus_usable_count < 2 {
        warn(format!(
            "only one CPU is usable ({}): the threads take turns, so updates are lost only when \
             the scheduler preempts a thread between its load and its store (rarely, but then a \
             whole time slice of the other thread's increments at once); give the demo two CPUs \
             to see the race",
            s.machine.cpus_usable
        ));
    }
    let trials = timing::run_trials(
        args.trials.warmup,
        args.trials.trials,
        |r| trial(program(), lock_at, args, r.number(), demo.claim),
        |t| {
            s.out
                .lecture(format_args!("var = {}; time = {} ms", t.var, t.time_ms))
        },
        |t| t.threads.iter().any(|w| w.steps > 0),
    )?;
    Ok(Results {
        summary: summarise(&trials.done),
        layout: trials.done.last().and_then(|t| t.layout.clone()),
        trials: trials.done,
    })
}

/// What a worker thread reports back.
struct WorkerRun {
    began: Instant,
    ended: Instant,
    cpu_start: Option<usize>,
    cpu_end: Option<usize>,
    usage: ThreadUsage,
    steps: u64,
    handovers: u64,
    overlaps: u64,
    most_inside: u32,
}

/// The C program's statics, `static pthread_mutex_t lock; static int var;`: the program (its
/// lock, if any, in place) and `var` side by side, at the start of a cache line of their own,
/// so every program has the memory layout its C twin has (scripts/c/lecture.h: the lock starts
/// a line, var follows it on the same line) and nothing else shares their line.
///
/// Like the C statics they live as long as the program: each trial's are leaked (a few dozen
/// bytes), so the program is `'static` and its lock never moves once used.
#[repr(C, align(64))]
struct Statics<P> {
    program: P,
    var: Var,
}

/// Where the lock lies against `var`, as the C twins print it (`lock_bytes`, `var_minus_lock`,
/// `same_line`): the lock is in place when its bytes are the lock's own, not a pointer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// The lock's type.
    pub lock: &'static str,
    /// The lock's size where it lies beside var (a pthread_mutex_t in place: 40).
    pub lock_bytes: usize,
    /// var's address minus the lock's.
    pub var_minus_lock: i64,
    /// The lock's first byte (its futex word) and var on one 64-byte cache line.
    pub same_line: bool,
    /// The lock's offset in its cache line.
    pub lock_line_offset: usize,
}

impl Layout {
    /// One line for the analysis.
    fn describe(&self) -> String {
        let at = match self.lock_line_offset {
            0 => "at the start of a cache line".to_string(),
            n => format!("{n} bytes into a cache line"),
        };
        format!(
            "layout: the lock ({}, {} bytes, in place) lies {at}, var {} bytes after it, {} (the C twins: the lock starts a line, var follows it on the same line)",
            self.lock,
            self.lock_bytes,
            self.var_minus_lock,
            if self.same_line {
                "on the same line"
            } else {
                "on another line"
            }
        )
    }

    fn of(lock: LockAt, var: &Var) -> Layout {
        let var = std::ptr::from_ref(var).addr();
        Layout {
            lock: lock.name,
            lock_bytes: lock.bytes,
            var_minus_lock: var as i64 - lock.address as i64,
            same_line: var / 64 == lock.address / 64,
            lock_line_offset: lock.address % 64,
        }
    }
}

/// One trial: create the threads, let them run, join them, read var. The claim says what the
/// program counts, to be reported: the lock's changes of owner ([`Var::note_owner`]) or the
/// threads inside the critical section ([`Var::enter`]).
fn trial<P: Program>(
    program: P,
    lock_at: fn(&P) -> Option<LockAt>,
    args: &RaceArgs,
    number: u32,
    claim: Claim,
) -> Result<Trial> {
    let handovers = claim.hands_over();
    let statics: &'static Statics<P> = Box::leak(Box::new(Statics {
        program,
        var: Var::new(),
    }));
    let (program, var) = (&statics.program, &statics.var);
    let n = args.threads as usize;
    let delta = |i: usize| if args.decrement && i % 2 == 1 { -1 } else { 1 };
    let usable = crate::kit::machine::usable_cpus();
    let home = |i: usize| {
        (args.spread && !usable.is_empty()).then(|| CpuList(vec![usable[i % usable.len()]]))
    };
    let progress: Vec<CachePadded<AtomicU64>> = (0..n)
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    let at_first_finish: OnceLock<Vec<u64>> = OnceLock::new();

    let before = Snapshot::of_self()?;
    let start = Instant::now(); // the lecture's window: create, run, join
    let (opened, runs) = run_together(
        n,
        |i| format!("worker-{i}"),
        |i, gate| -> Result<Option<WorkerRun>> {
            let (progress, first) = (&progress, &at_first_finish);
            if let Some(cpu) = home(i) {
                cpu.pin_current_thread()?;
            }
            if !gate.wait() {
                return Ok(None);
            }
            let usage = ThreadUsage::now()?;
            let cpu_start = current_cpu();
            WORKER.set(i as u32 + 1);
            HANDOVERS.set(0);
            OVERLAPS.set(0);
            MOST_INSIDE.set(0);
            let began = Instant::now();
            // The others' progress when the first thread's loop ended: the shares.
            let at_end = || {
                first.get_or_init(|| progress.iter().map(|p| p.load(Relaxed)).collect());
            };
            let work = Work {
                done: &progress[i],
                at_end: &at_end,
            };
            program.thread_body(var, args.steps, delta(i), &work);
            let ended = Instant::now();
            Ok(Some(WorkerRun {
                began,
                ended,
                cpu_start,
                cpu_end: current_cpu(),
                usage: usage.delta(&ThreadUsage::now()?),
                steps: progress[i].load(Relaxed),
                handovers: HANDOVERS.get(),
                overlaps: OVERLAPS.get(),
                most_inside: MOST_INSIDE.get(),
            }))
        },
    )?;
    let runs: Vec<WorkerRun> = (runs.into_iter())
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let elapsed = start.elapsed();
    let counters = before.delta(&Snapshot::of_self()?);

    let first = at_first_finish.get().cloned().unwrap_or_default();
    let first_total: u64 = first.iter().sum();
    let threads: Vec<ThreadRun> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| ThreadRun {
            thread: i,
            delta: delta(i),
            steps: r.steps,
            share: if first_total == 0 {
                0.0
            } else {
                first.get(i).copied().unwrap_or(0) as f64 / first_total as f64
            },
            cpu_start: r.cpu_start,
            cpu_end: r.cpu_end,
            finish_ns: nanos(r.ended.saturating_duration_since(opened)),
            voluntary_cs: r.usage.voluntary_cs,
            nonvoluntary_cs: r.usage.nonvoluntary_cs,
            handovers: handovers.then_some(r.handovers),
        })
        .collect();
    let work = runs
        .iter()
        .map(|r| r.ended)
        .max()
        .zip(runs.iter().map(|r| r.began).min())
        .map_or(0, |(end, begin)| {
            nanos(end.saturating_duration_since(begin))
        });
    let occupancy = claim.counts_occupancy();
    Ok(Trial {
        layout: lock_at(program).map(|lock| Layout::of(lock, var)),
        overlaps: occupancy.then(|| runs.iter().map(|r| r.overlaps).sum()),
        max_inside: occupancy.then(|| runs.iter().map(|r| r.most_inside).max().unwrap_or(0)),
        ..outcome(
            number,
            var.get(),
            threads,
            args.steps,
            elapsed,
            work,
            &counters,
        )
    })
}

/// Turns the raw measurements of a trial into its figures.
fn outcome(
    number: u32,
    var: i32,
    threads: Vec<ThreadRun>,
    steps: u64,
    elapsed: std::time::Duration,
    work_ns: u64,
    counters: &Delta,
) -> Trial {
    let expected: i64 = threads
        .iter()
        .map(|t| t.delta as i64 * t.steps as i64)
        .sum();
    let updates: u64 = threads.iter().map(|t| t.steps).sum();
    let lost = (expected - var as i64).abs();
    Trial {
        trial: number,
        var,
        expected,
        lost,
        lost_share: if updates == 0 {
            0.0
        } else {
            lost as f64 / updates as f64
        },
        time_ms: lecture_ms(elapsed),
        elapsed_ns: nanos(elapsed),
        work_ns,
        ns_per_op: if updates == 0 {
            0.0
        } else {
            work_ns as f64 / updates as f64
        },
        voluntary_cs: counters.voluntary_cs,
        nonvoluntary_cs: counters.nonvoluntary_cs,
        minflt: counters.minflt,
        handovers: threads.iter().map(|t| t.handovers).sum(),
        overlaps: None,
        max_inside: None,
        complete: threads.iter().all(|t| t.steps == steps),
        layout: None,
        threads,
    }
}

impl Trial {
    /// True when every thread started and ended on the same single CPU.
    pub fn on_one_cpu(&self) -> bool {
        let mut cpus = self.threads.iter().flat_map(|t| [t.cpu_start, t.cpu_end]);
        match cpus.next() {
            Some(Some(first)) => self.threads.len() > 1 && cpus.all(|c| c == Some(first)),
            _ => false,
        }
    }
}

fn summarise(trials: &[Trial]) -> Summary {
    let spread = |f: fn(&Trial) -> f64| Spread::of(trials.iter().map(f));
    Summary {
        time_ms: spread(|t| t.time_ms as f64),
        ns_per_op: spread(|t| t.ns_per_op),
        lost: spread(|t| t.lost as f64),
        voluntary_cs: spread(|t| t.voluntary_cs as f64),
        nonvoluntary_cs: spread(|t| t.nonvoluntary_cs as f64),
        trials_losing_updates: trials.iter().filter(|t| t.lost > 0).count(),
        trials_on_one_cpu: trials.iter().filter(|t| t.on_one_cpu()).count(),
    }
}

/// The share of the updates each thread had made when the first one finished, as one word:
/// even, one-sided (a thread had done nothing: they did not overlap) or uneven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fairness {
    Even,
    OneSided,
    Uneven,
}

impl Trial {
    /// How evenly the threads shared the work while all of them were running.
    fn fairness(&self) -> Fairness {
        let (lo, hi) = self.threads.iter().fold((1.0f64, 0.0f64), |(lo, hi), t| {
            (lo.min(t.share), hi.max(t.share))
        });
        let even = 1.0 / self.threads.len().max(1) as f64;
        if hi - lo <= 0.2 * even {
            Fairness::Even
        } else if lo == 0.0 {
            Fairness::OneSided
        } else {
            Fairness::Uneven
        }
    }

    /// The updates the threads made (all of them unless Ctrl-C stopped the trial).
    fn updates(&self) -> u64 {
        self.threads.iter().map(|t| t.steps).sum()
    }

    /// The worker threads' context switches, voluntary and nonvoluntary together.
    fn switches(&self) -> u64 {
        let (v, n) = self.worker_switches();
        v + n
    }

    /// The worker threads' own context switches, from the gate opening to the end of their
    /// loops: the ones the lock can cause (the process's count adds the start and the join).
    fn worker_switches(&self) -> (u64, u64) {
        self.threads.iter().fold((0, 0), |(v, n), t| {
            (v + t.voluntary_cs, n + t.nonvoluntary_cs)
        })
    }

    /// The lock's handovers per increment, in words: `0.45 per increment` or `one per 459
    /// increments`.
    fn handover_rate(&self) -> String {
        match (self.handovers.unwrap_or(0), self.updates()) {
            (0, _) | (_, 0) => "none".into(),
            (h, n) if h * 10 >= n => format!("{} per increment", sig3(h as f64 / n as f64)),
            (h, n) => format!("one per {} increments", sig3(n as f64 / h as f64)),
        }
    }

    /// How the lock changed hands, as the handovers and the workers' context switches tell it.
    fn how_handed_over(&self, claim: Claim) -> String {
        let handed = self.handovers.unwrap_or(0);
        let (v, n) = self.worker_switches();
        if self.threads.len() < 2 {
            "one thread has nobody to hand the lock to".into()
        } else if claim == Claim::Coarse {
            format!(
                "each thread took the lock once, for its whole loop: {} for {}, whatever the CPUs",
                words::count(handed, "handover"),
                words::count(self.threads.len() as u64, "thread")
            )
        } else if self.on_one_cpu() {
            "every thread ran on one CPU, so the lock changed hands only when the scheduler switched threads (a time slice ended): each handover cost a switch, but not every step".into()
        } else if handed > v + n {
            "on several CPUs the lock mostly changed hands through its cache line, without a switch: the next owner was already running, spinning briefly before it would sleep".into()
        } else {
            "the lock seldom changed hands: the thread that let it go took it straight back while the others waited".into()
        }
    }

    /// TOCTOU: the threads inside together and the updates lost, in words.
    fn together(&self) -> String {
        let overlaps = self.overlaps.unwrap_or(0);
        let lost = if self.lost > 0 {
            format!(
                "{} of {} updates were lost ({:.1}%)",
                self.lost,
                self.updates(),
                100.0 * self.lost_share
            )
        } else {
            format!("none of {} updates was lost", self.updates())
        };
        match overlaps {
            0 => format!(
                "no thread ever found another inside ({lost}): {}",
                self.why_no_race().unwrap_or_else(|| {
                    "no thread read the flag between another's check and its set".into()
                })
            ),
            n => format!(
                "a thread got in while another was inside {} (at most {} inside at once) and {lost}{}",
                words::times(n),
                self.max_inside.unwrap_or(0),
                if self.lost == 0 {
                    ": no overlap fell between a load of var and its store"
                } else {
                    ""
                }
            ),
        }
    }

    /// Why the threads could not race in this trial, if they could not: one CPU, or no overlap.
    fn why_no_race(&self) -> Option<String> {
        if self.threads.len() < 2 {
            return Some("one thread has nobody to race with".into());
        }
        if self.on_one_cpu() {
            let cpu = self.threads[0]
                .cpu_start
                .map_or("?".into(), |c| c.to_string());
            return Some(format!(
                "every thread ran on CPU {cpu}: they took turns, and no turn ended between a load \
                 and its store"
            ));
        }
        if self.fairness() == Fairness::OneSided {
            let idle = self.threads.iter().filter(|t| t.share == 0.0).count();
            return Some(format!(
                "{} had not begun when the first finished its {}: the threads never ran at once \
                 (too few steps, a CPU busy with other work, or an idle vCPU that had to be woken first)",
                words::count(idle as u64, "thread"),
                words::count(self.threads[0].steps, "increment"),
            ));
        }
        None
    }
}

fn shares(t: &Trial) -> String {
    t.threads
        .iter()
        .map(|w| format!("thread {} {:.1}%", w.thread, 100.0 * w.share))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Findings for Results {
    type Params = Params;
    type Row = Trial;

    fn headline(&self, _p: &Params) -> String {
        let Some(t) = self.trials.last() else {
            return "no trial completed".into();
        };
        let lost = if t.lost == 0 {
            "none lost".to_string()
        } else {
            format!("{} lost, {:.1}%", t.lost, 100.0 * t.lost_share)
        };
        let together = match t.overlaps {
            Some(n) => format!("; two threads inside at once: {}", words::times(n)),
            None => String::new(),
        };
        format!(
            "var = {} of {} ({lost}){together}; {}/update; voluntary switches: {}",
            t.var,
            t.expected,
            fmt_ns(t.ns_per_op),
            t.voluntary_cs
        )
    }

    fn analysis(&self, p: &Params, cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(last) = self.trials.last() else {
            return lines;
        };
        let verb = if p.decrement {
            "updates (every second thread decrements)"
        } else {
            "increments"
        };
        let with = p
            .lock
            .map_or(String::new(), |l| format!(" (the mutex: {})", l.name()));
        lines.push(format!(
            "expected: var = {} ({} threads × {} {verb}); protection: {}{with}",
            last.expected, p.threads, p.steps, p.variant
        ));
        if let Some(layout) = &self.layout {
            lines.push(layout.describe());
        }
        let s = &self.summary;
        if self.trials.len() > 1
            && let (Some(time), Some(cost), Some(lost)) = (s.time_ms, s.ns_per_op, s.lost)
        {
            lines.push(format!(
                "over {} trials: time {}/{}/{} ms, {}/{}/{} per update, lost {}/{}/{} (min/median/max); {} of {} trials lost updates",
                self.trials.len(),
                time.min, time.median, time.max,
                fmt_ns(cost.min), fmt_ns(cost.median), fmt_ns(cost.max),
                lost.min, lost.median, lost.max,
                s.trials_losing_updates,
                self.trials.len()
            ));
        }
        let at_least = if p.decrement { "at least " } else { "" };
        if last.lost == 0 {
            lines.push(format!(
                "lost updates: none{}",
                match last.why_no_race() {
                    Some(why) if p.demo.claim.races() => format!(" this time: {why}"),
                    _ => String::new(),
                }
            ));
        } else {
            lines.push(format!(
                "lost updates: {at_least}{} of {} ({:.1}%): each one was overwritten by a thread that loaded var before it was stored",
                last.lost,
                last.updates(),
                100.0 * last.lost_share
            ));
        }
        if let (Some(overlaps), Some(most)) = (last.overlaps, last.max_inside) {
            lines.push(format!(
                "inside the critical section: at most {} at once; {} of {} entries found another thread already inside (it got past the check while the flag read 0)",
                words::count(u64::from(most), "thread"),
                overlaps,
                last.updates()
            ));
        }
        lines.push(format!(
            "cost: {} per update while the threads ran ({} of work); the lecture's window, with thread creation and join: {}",
            fmt_ns(last.ns_per_op),
            fmt_ns(last.work_ns as f64),
            fmt_ns(last.elapsed_ns as f64)
        ));
        if last.threads.len() > 1 {
            let fairness = match last.fairness() {
                Fairness::Even => "even: the threads took turns",
                Fairness::OneSided => {
                    "one-sided: a thread got nothing done until another had finished"
                }
                Fairness::Uneven => {
                    "uneven: some threads won the variable (or the lock) far more often"
                }
            };
            lines.push(format!(
                "fairness: when the first thread finished, {} of the updates done so far ({fairness})",
                shares(last)
            ));
        }
        let places: Vec<String> = last
            .threads
            .iter()
            .map(|t| match (t.cpu_start, t.cpu_end) {
                (Some(a), Some(b)) if a == b => format!("{}: CPU {a}", t.thread),
                (Some(a), Some(b)) => format!("{}: CPU {a}→{b}", t.thread),
                _ => format!("{}: CPU ?", t.thread),
            })
            .collect();
        lines.push(format!(
            "placement: thread {} (usable CPUs: {}{})",
            places.join(", thread "),
            cx.machine.cpus_usable,
            if p.spread {
                "; --spread: one thread per CPU"
            } else {
                "; placed by the scheduler"
            }
        ));
        if s.trials_on_one_cpu > 0 && last.threads.len() > 1 {
            lines.push(format!(
                "  {} of {} ran every thread on one CPU: the threads took turns instead of running at once{}",
                s.trials_on_one_cpu,
                words::count(self.trials.len() as u64, "trial"),
                if p.demo.claim.races() && !p.spread {
                    ", so only a preemption between load and store could lose an update; --spread gives each thread its own CPU"
                } else {
                    ""
                }
            ));
        }
        lines.push(format!(
            "context switches: {} voluntary, {} nonvoluntary (whole process, this trial); minor faults: {}",
            last.voluntary_cs, last.nonvoluntary_cs, last.minflt
        ));
        if matches!(p.demo.claim, Claim::Coarse | Claim::Fine)
            && let Some(t) = last.threads.iter().max_by_key(|t| t.voluntary_cs)
        {
            lines.push(format!(
                "  per thread: {}",
                last.threads
                    .iter()
                    .map(|t| format!("{}: {}/{}", t.thread, t.voluntary_cs, t.nonvoluntary_cs))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let slept = match t.voluntary_cs {
                0 => "no thread had to".to_string(),
                n => format!("thread {} did so {}", t.thread, words::times(n)),
            };
            lines.push(format!(
                "  voluntary = a thread found the lock taken and slept in the kernel (futex) until it was free ({slept}); nonvoluntary = the scheduler took the CPU from a thread that still wanted it"
            ));
        }
        if let Some(handed) = last.handovers {
            lines.push(format!(
                "handovers: the lock changed owner {} ({}; per thread: {}), against {} of the threads: a handover is a thread taking the lock right after another had it",
                words::times(handed),
                last.handover_rate(),
                last.threads
                    .iter()
                    .map(|t| format!("{}: {}", t.thread, t.handovers.unwrap_or(0)))
                    .collect::<Vec<_>>()
                    .join(", "),
                words::count(last.switches(), "context switch")
            ));
            lines.push(format!("  {}", last.how_handed_over(p.demo.claim)));
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = p.demo.claim.text();
        let Some(last) = self.trials.last() else {
            return Verdict::unchecked(claim, "stopped before a trial completed");
        };
        let n = self.trials.len() as u64;
        let losing = self.summary.trials_losing_updates as u64;
        let of_trials = if n > 1 {
            format!("{losing} of {} lost updates; ", words::count(n, "trial"))
        } else {
            String::new()
        };
        match p.demo.claim {
            Claim::Lost if losing > 0 => Verdict::held(
                claim,
                format!(
                    "{of_trials}{} of {} updates were lost ({:.1}%)",
                    last.lost,
                    last.updates(),
                    100.0 * last.lost_share
                ),
            ),
            Claim::Lost => Verdict::did_not_hold(
                claim,
                format!(
                    "none of {} updates was lost: {}",
                    last.updates(),
                    last.why_no_race().unwrap_or_else(|| {
                        "no thread happened to be interrupted between its load and its store".into()
                    })
                ),
            ),
            Claim::Toctou => {
                let both = self
                    .trials
                    .iter()
                    .filter(|t| t.overlaps.unwrap_or(0) > 0 && t.lost > 0)
                    .count() as u64;
                let of_trials = if n > 1 {
                    format!(
                        "{both} of {} had threads inside together and lost updates; the last: ",
                        words::count(n, "trial")
                    )
                } else {
                    String::new()
                };
                Verdict::check(claim, both > 0, format!("{of_trials}{}", last.together()))
            }
            Claim::Atomic | Claim::Spinlock | Claim::Mutex => Verdict::check(
                claim,
                losing == 0,
                if losing == 0 {
                    format!("var = {} = {} in every trial", last.var, last.expected)
                } else {
                    format!(
                        "{of_trials}the last lost {} of {}",
                        last.lost,
                        last.updates()
                    )
                },
            ),
            Claim::Coarse => {
                let others: u64 = last
                    .threads
                    .iter()
                    .filter(|t| t.share < 1.0)
                    .map(|t| (t.share * last.updates() as f64) as u64)
                    .sum();
                Verdict::check(
                    claim,
                    last.fairness() == Fairness::OneSided && others == 0,
                    format!(
                        "when the first thread finished, the others had made {} between them ({}); the lock changed owner {} in {}",
                        words::count(others, "increment"),
                        shares(last),
                        words::times(last.handovers.unwrap_or(0)),
                        words::count(last.updates(), "increment"),
                    ),
                )
            }
            Claim::Fine => {
                let (v, n) = last.worker_switches();
                let held = v + n >= last.updates();
                Verdict::check(
                    claim,
                    held,
                    format!(
                        "the threads made {v} voluntary + {n} nonvoluntary context switches for {} ({}), and the lock changed owner {} ({}): {}",
                        words::count(last.updates(), "increment"),
                        match v + n {
                            0 => "none at all".to_string(),
                            s => format!(
                                "one per {} increments",
                                sig3(last.updates() as f64 / s as f64)
                            ),
                        },
                        words::times(last.handovers.unwrap_or(0)),
                        last.handover_rate(),
                        if held {
                            "a switch per step, as the quiz says".to_string()
                        } else {
                            last.how_handed_over(Claim::Fine)
                        }
                    ),
                )
            }
        }
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let Some(t) = self.trials.last() else {
            return p.demo.claim.general().into();
        };
        let cost = fmt_ns(t.ns_per_op);
        match p.demo.claim {
            Claim::Lost if t.lost > 0 => format!(
                "++var is a load, an add and a store: {} of the {} updates were made between another thread's load and store, and overwritten",
                t.lost,
                t.updates()
            ),
            Claim::Lost => format!(
                "++var is still a load, an add and a store, but nothing was lost here because {}; updates are lost when two threads run the increment at once",
                t.why_no_race().unwrap_or_else(|| {
                    "no thread was interrupted between its load and its store".into()
                })
            ),
            Claim::Toctou if t.overlaps.unwrap_or(0) > 0 => format!(
                "`if (lock == 0)` and `lock = 1` are a load and a separate store: in between, another thread read the same 0 and came in too ({}, at most {} inside at once), and {} of the {} updates were lost; race_condition_spinlock's atomic_flag_test_and_set reads 0 and writes 1 in one atomic instruction (xchg), so only one thread can ever read the 0",
                words::times(t.overlaps.unwrap_or(0)),
                t.max_inside.unwrap_or(0),
                t.lost,
                t.updates()
            ),
            Claim::Toctou => format!(
                "`if (lock == 0)` then `lock = 1` is still a load and a separate store, but no two threads got in together here because {}; race_condition_spinlock's test-and-set reads and sets the flag in one atomic instruction (xchg), so it needs no luck",
                t.why_no_race().unwrap_or_else(|| {
                    "no thread read the flag between another's check and its set".into()
                })
            ),
            Claim::Atomic => format!(
                "one atomic read-modify-write per increment: nothing is lost ({cost} per update here), because the CPU holds the cache line for the whole increment; the line still travels between CPUs"
            ),
            Claim::Spinlock => format!(
                "a spinlock waits on the CPU: {cost} per update here, with {} (a waiting thread spins instead of sleeping); cheap for a critical section this short, wasteful for a long one or a preempted holder",
                words::count(t.voluntary_cs, "voluntary context switch")
            ),
            Claim::Mutex => format!(
                "a mutex makes a waiting thread sleep in the kernel (futex) when spinning briefly does not get it the lock: {cost} per update here, {}",
                words::count(t.voluntary_cs, "voluntary context switch")
            ),
            Claim::Coarse => format!(
                "a large critical section means few context switches ({} of the threads here) and few handovers (the lock changed owner {}) but no parallelism: the threads ran one after another, {} of work for {}",
                t.switches(),
                words::times(t.handovers.unwrap_or(0)),
                fmt_ns(t.work_ns as f64),
                words::count(t.updates(), "update")
            ),
            Claim::Fine if t.on_one_cpu() => format!(
                "a lock around each increment lets the threads take turns ({}), at {cost} per update; on one CPU the lock changed owner only when the scheduler switched threads ({} handovers, {} context switches of the threads): each handover is a switch, as the lab quiz says, but the quiz's one switch per step would need a switch after every unlock",
                shares(t),
                t.handovers.unwrap_or(0),
                t.switches()
            ),
            Claim::Fine => format!(
                "a lock around each increment lets the threads take turns ({}), at {cost} per update; the lock changed owner {} ({}) with {} context switches of the threads: on several CPUs a handover is the lock's cache line moving to a thread already running, not a switch (the lab quiz's switch per handover needs one CPU: try --cpu 0)",
                shares(t),
                words::times(t.handovers.unwrap_or(0)),
                t.handover_rate(),
                t.switches()
            ),
        }
    }

    fn compare(&self, p: &Params) -> String {
        p.demo.compare.to_string()
    }

    fn rows(&self, _p: &Params) -> Vec<Trial> {
        self.trials.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!("{} of {} trials", self.trials.len(), p.trials))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(delta: i32, steps: u64) -> ThreadRun {
        ThreadRun {
            thread: 0,
            delta,
            steps,
            share: 0.5,
            cpu_start: Some(0),
            cpu_end: Some(0),
            finish_ns: 0,
            voluntary_cs: 0,
            nonvoluntary_cs: 0,
            handovers: None,
        }
    }

    #[test]
    fn lost_updates_are_the_shortfall() {
        let t = outcome(
            1,
            1_500,
            vec![run(1, 1000), run(1, 1000)],
            1000,
            Duration::from_millis(3),
            2_000_000,
            &Delta::default(),
        );
        assert_eq!((t.expected, t.lost), (2000, 500));
        assert_eq!(t.lost_share, 0.25);
        assert_eq!(t.ns_per_op, 1000.0);
        assert_eq!(t.time_ms, 3);
        assert!(t.complete);
    }

    #[test]
    fn with_decrement_expected_is_zero() {
        let t = outcome(
            1,
            -7,
            vec![run(1, 100), run(-1, 100)],
            100,
            Duration::ZERO,
            0,
            &Delta::default(),
        );
        assert_eq!((t.expected, t.lost), (0, 7));
    }

    #[test]
    fn an_interrupted_trial_is_incomplete_and_counts_what_was_done() {
        let t = outcome(
            1,
            150,
            vec![run(1, 100), run(1, 50)],
            100,
            Duration::ZERO,
            0,
            &Delta::default(),
        );
        assert!(!t.complete);
        assert_eq!(t.expected, 150);
        assert_eq!(t.lost, 0);
    }

    #[test]
    fn the_racy_add_is_correct_on_one_thread() {
        let v = Var::new();
        for _ in 0..1000 {
            v.add(1);
        }
        v.add(-1);
        assert_eq!(v.get(), 999);
    }

    #[test]
    fn work_runs_exactly_the_steps_in_chunks() {
        let done = AtomicU64::new(0);
        let mut total = 0;
        let mut calls = 0;
        let ended = AtomicU64::new(0);
        let at_end = || {
            ended.fetch_add(1, Relaxed);
        };
        let work = Work {
            done: &done,
            at_end: &at_end,
        };
        work.run(10_000, |n| {
            assert!(n <= Work::CHUNK);
            total += n;
            calls += 1;
        });
        assert_eq!(total, 10_000);
        assert_eq!(calls, 3);
        assert_eq!(done.load(Relaxed), 10_000);
        assert_eq!(
            ended.load(Relaxed),
            1,
            "at_end runs once, after the last chunk"
        );
    }

    /// A finished two-thread trial: `var`, each thread's CPU and share at the first finish, and
    /// the process's context switches.
    fn two_threads(var: i32, cpus: [usize; 2], shares: [f64; 2], switches: (u64, u64)) -> Results {
        let threads = (0..2)
            .map(|i| ThreadRun {
                thread: i,
                share: shares[i],
                cpu_start: Some(cpus[i]),
                cpu_end: Some(cpus[i]),
                ..run(1, 1_000_000)
            })
            .collect();
        let counters = Delta {
            voluntary_cs: switches.0,
            nonvoluntary_cs: switches.1,
            ..Delta::default()
        };
        let t = outcome(
            1,
            var,
            threads,
            1_000_000,
            Duration::from_millis(5),
            4_000_000,
            &counters,
        );
        Results {
            summary: summarise(std::slice::from_ref(&t)),
            trials: vec![t],
            layout: None,
        }
    }

    fn params(name: &'static str, claim: Claim) -> Params {
        Params {
            demo: Demo {
                name,
                variant: "test",
                threads: 2,
                steps: 1_000_000,
                coded: None,
                claim,
                compare: "",
            },
            variant: "test",
            lock: None,
            threads: 2,
            steps: 1_000_000,
            decrement: false,
            spread: false,
            trials: 1,
            warmup: 0,
        }
    }

    #[test]
    fn the_race_holds_when_updates_are_lost_and_says_why_when_none_are() {
        let p = params("race_condition", Claim::Lost);
        let lost = two_threads(1_015_053, [0, 1], [0.5, 0.5], (3, 0));
        let (v, lesson, _) = crate::testing::judge(&lost, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.contains("984947 of 2000000 updates were lost"),
            "{}",
            v.line()
        );
        assert!(lesson.contains("984947 of the 2000000"), "{lesson}");

        let one_cpu = two_threads(2_000_000, [1, 1], [1.0, 0.0], (1, 0));
        let (v, lesson, lines) = crate::testing::judge(&one_cpu, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("every thread ran on CPU 1"),
            "{}",
            v.line()
        );
        assert!(lesson.contains("nothing was lost here because every thread ran on CPU 1"));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("lost updates: none this time"))
        );

        let no_overlap = two_threads(2_000_000, [0, 1], [1.0, 0.0], (1, 0));
        let v = crate::testing::judge(&no_overlap, &p).0;
        assert_eq!(v.held, Some(false));
        assert!(v.because.contains("never ran at once"), "{}", v.line());
    }

    #[test]
    fn a_safe_variant_holds_only_when_nothing_is_lost() {
        let p = params("race_condition_mutex", Claim::Mutex);
        let exact = two_threads(2_000_000, [0, 1], [0.5, 0.5], (9, 1));
        let (v, lesson, _) = crate::testing::judge(&exact, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(lesson.contains("9 voluntary context switches"), "{lesson}");
        let short = two_threads(1_999_990, [0, 1], [0.5, 0.5], (9, 1));
        assert_eq!(crate::testing::judge(&short, &p).0.held, Some(false));
    }

    #[test]
    fn coarse_holds_when_the_threads_ran_one_after_another() {
        let p = params("coarse_granularity", Claim::Coarse);
        let serial = two_threads(2_000_000, [0, 1], [1.0, 0.0], (2, 0));
        assert_eq!(crate::testing::judge(&serial, &p).0.held, Some(true));
        let interleaved = two_threads(2_000_000, [0, 1], [0.6, 0.4], (2, 0));
        let v = crate::testing::judge(&interleaved, &p).0;
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    /// A finished two-thread trial of the granularity pair: as [`two_threads`], with each
    /// thread's own context switches (voluntary, nonvoluntary) and handovers.
    fn granular(
        cpus: [usize; 2],
        shares: [f64; 2],
        switches: [(u64, u64); 2],
        handovers: [u64; 2],
    ) -> Results {
        let mut r = two_threads(2_000_000, cpus, shares, (400, 30));
        let t = &mut r.trials[0];
        for (i, w) in t.threads.iter_mut().enumerate() {
            (w.voluntary_cs, w.nonvoluntary_cs) = switches[i];
            w.handovers = Some(handovers[i]);
        }
        t.handovers = Some(handovers.iter().sum());
        r
    }

    #[test]
    fn fine_holds_only_with_a_switch_per_step_and_says_where_they_went() {
        let p = params("fine_granularity", Claim::Fine);
        // Measured on the 2-vCPU guest: 2 × 1000000, the threads on CPUs 0 and 1.
        let two_cpus = granular([0, 1], [0.5, 0.5], [(200, 20), (48, 4)], [2180, 2180]);
        let (v, lesson, lines) = crate::testing::judge(&two_cpus, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        for want in [
            "the threads made 248 voluntary + 24 nonvoluntary context switches for 2000000 increments (one per 7353 increments)",
            "the lock changed owner 4360 times (one per 459 increments)",
            "mostly changed hands through its cache line, without a switch",
        ] {
            assert!(v.because.contains(want), "no {want:?} in {}", v.line());
        }
        assert!(
            lesson.contains("the lock changed owner 4360 times (one per 459 increments) with 272 context switches of the threads"),
            "{lesson}"
        );
        assert!(lesson.contains("try --cpu 0"), "{lesson}");
        assert!(
            lines.contains(&"handovers: the lock changed owner 4360 times (one per 459 increments; per thread: 0: 2180, 1: 2180), against 272 context switches of the threads: a handover is a thread taking the lock right after another had it".to_string()),
            "{lines:#?}"
        );

        // Pinned with --cpu 0: a handover only when the scheduler switches threads.
        let one_cpu = granular([0, 0], [0.5, 0.5], [(1, 3), (0, 2)], [3, 2]);
        let (v, lesson, _) = crate::testing::judge(&one_cpu, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because
                .contains("changed owner 5 times (one per 400000 increments)")
        );
        assert!(
            v.because
                .contains("every thread ran on one CPU, so the lock changed hands only when the scheduler switched threads"),
            "{}",
            v.line()
        );
        assert!(
            v.because
                .contains("each handover cost a switch, but not every step"),
            "{}",
            v.line()
        );
        assert!(
            lesson.contains("on one CPU the lock changed owner only when the scheduler switched threads (5 handovers, 6 context switches of the threads): each handover is a switch, as the lab quiz says"),
            "{lesson}"
        );

        // The quiz's picture: a switch per step, and (nearly) every step a handover.
        let quiz = granular(
            [0, 0],
            [0.5, 0.5],
            [(700_000, 300_000), (700_000, 300_000)],
            [999_999, 1_000_000],
        );
        let v = crate::testing::judge(&quiz, &p).0;
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("changed owner 1999999 times (1.000 per increment)"),
            "{}",
            v.line()
        );
        assert!(v.because.ends_with("a switch per step, as the quiz says"));

        // The whole process's switches (the start gate, the join) do not count for the lock.
        let gate_only = two_threads(2_000_000, [0, 1], [0.5, 0.5], (1_500_000, 600_000));
        assert_eq!(crate::testing::judge(&gate_only, &p).0.held, Some(false));
    }

    #[test]
    fn coarse_reports_one_handover_per_thread_after_the_first() {
        let p = params("coarse_granularity", Claim::Coarse);
        let serial = granular([0, 1], [1.0, 0.0], [(0, 0), (1, 0)], [0, 1]);
        let (v, lesson, lines) = crate::testing::judge(&serial, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .ends_with("; the lock changed owner once in 2000000 increments"),
            "{}",
            v.line()
        );
        assert!(
            lesson.starts_with("a large critical section means few context switches (1 of the threads here) and few handovers (the lock changed owner once)"),
            "{lesson}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("handovers: the lock changed owner once (one per 2000000 increments; per thread: 0: 0, 1: 1)")),
            "{lines:#?}"
        );
        assert!(lines.contains(&"  each thread took the lock once, for its whole loop: 1 handover for 2 threads, whatever the CPUs".to_string()));
    }

    #[test]
    fn the_race_programs_report_no_handovers() {
        let p = params("race_condition_mutex", Claim::Mutex);
        let r = two_threads(2_000_000, [0, 1], [0.5, 0.5], (9, 1));
        assert_eq!(r.trials[0].handovers, None);
        let lines = crate::testing::judge(&r, &p).2;
        assert!(
            !lines.iter().any(|l| l.starts_with("handovers")),
            "{lines:#?}"
        );
        assert!(
            !Claim::Mutex.hands_over() && Claim::Fine.hands_over() && Claim::Coarse.hands_over()
        );
    }

    #[test]
    fn the_granularity_pair_defaults_to_the_slides_run_and_as_coded_to_the_codes() {
        #[derive(Parser)]
        struct A {
            #[command(flatten)]
            race: RaceArgs,
        }
        let parse = |argv: &[&str]| {
            A::try_parse_from(
                [&["demo", "--threads", "2", "--steps", "1000000"][..], argv].concat(),
            )
        };
        let mut demo = params("fine_granularity", Claim::Fine).demo;
        demo.coded = Some((10, 2_000_000));
        let slide = parse(&[]).unwrap().race;
        assert_eq!(slide.sizes(&demo), (2, 1_000_000));
        let mut as_coded = slide.clone();
        as_coded.as_coded = true;
        assert_eq!(as_coded.sizes(&demo), (10, 2_000_000));
        // The race programs' code is the slide's: --as-coded changes nothing.
        demo.coded = None;
        assert_eq!(as_coded.sizes(&demo), (2, 1_000_000));
        // --as-coded and explicit sizes contradict each other.
        assert!(parse(&["--as-coded"]).is_err());
    }

    /// A finished two-thread trial of the TOCTOU flag: `var`, and the entries that found another
    /// thread inside with the most inside at once.
    fn toctou(var: i32, cpus: [usize; 2], shares: [f64; 2], overlaps: u64, most: u32) -> Results {
        let mut r = two_threads(var, cpus, shares, (4, 2));
        r.trials[0].overlaps = Some(overlaps);
        r.trials[0].max_inside = Some(most);
        r
    }

    #[test]
    fn toctou_holds_when_two_threads_got_in_and_updates_were_lost() {
        let p = params("race_condition_toctou", Claim::Toctou);
        // Measured on the 2-vCPU guest: 2 × 1000000, default placement.
        let raced = toctou(1_833_832, [1, 0], [0.36, 0.64], 486_737, 2);
        let (v, lesson, lines) = crate::testing::judge(&raced, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.contains("a thread got in while another was inside 486737 times (at most 2 inside at once) and 166168 of 2000000 updates were lost (8.3%)"),
            "{}",
            v.line()
        );
        assert!(
            lesson.contains("(486737 times, at most 2 inside at once), and 166168 of the 2000000 updates were lost; race_condition_spinlock's atomic_flag_test_and_set"),
            "{lesson}"
        );
        assert!(lines.contains(&"inside the critical section: at most 2 threads at once; 486737 of 2000000 entries found another thread already inside (it got past the check while the flag read 0)".to_string()), "{lines:#?}");

        // Inside together, but every overlap fell outside a load and its store.
        let lucky = toctou(2_000_000, [1, 0], [0.5, 0.5], 12, 2);
        let v = crate::testing::judge(&lucky, &p).0;
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("none of 2000000 updates was lost: no overlap fell between a load of var and its store"), "{}", v.line());

        // One CPU: the threads took turns at the flag.
        let one_cpu = toctou(2_000_000, [0, 0], [0.5, 0.5], 0, 1);
        let (v, lesson, _) = crate::testing::judge(&one_cpu, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.starts_with("no thread ever found another inside (none of 2000000 updates was lost): every thread ran on CPU 0"), "{}", v.line());
        assert!(
            lesson
                .contains("no two threads got in together here because every thread ran on CPU 0"),
            "{lesson}"
        );
    }

    #[test]
    fn no_trial_cannot_be_checked() {
        let p = params("race_condition", Claim::Lost);
        let none = Results {
            trials: vec![],
            summary: summarise(&[]),
            layout: None,
        };
        let (v, lesson, lines) = crate::testing::judge(&none, &p);
        assert_eq!(v.held, None);
        assert!(lines.is_empty());
        assert!(lesson.starts_with("++var is a load"));
    }
}
