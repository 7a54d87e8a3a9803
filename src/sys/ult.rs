//! User-level threads: an execution context (saved registers) and a stack of its own, which one
//! OS thread switches into and out of with `swapcontext`, the way the lab's libult and
//! Unikraft's cooperative scheduler do. The kernel sees one thread; the switches are ours.
//!
//! The safe API is small: [`UserThread::new`] makes a thread from a closure (it does not run
//! yet), [`UserThread::run`] switches into it until it yields or finishes, and [`yield_now`],
//! called from inside a user thread, switches back to whoever ran it. What stays outside (the
//! run queue, which thread runs next) is the scheduler, and that is the demo's to write
//! (`src/bin/coop_sched.rs`).
//!
//! Why this is sound:
//! - A context is only ever resumed from its latest save: `run` refuses a thread that is running
//!   or finished, and a thread's context is saved by the `swapcontext` in `yield_now` each time
//!   it is switched out. A finished thread's context is never switched to again.
//! - Every stack is an mmap of its own with a PROT_NONE guard page below it: an overflow faults
//!   (the process dies with SIGSEGV) instead of writing over other memory.
//! - A user thread's stack is unmapped only once nothing lives on it: after its closure has
//!   returned (its locals dropped) or before it ever started. A thread dropped while suspended
//!   midway still has live frames (values that may be pinned); its stack is then leaked, never
//!   freed under them, and counted in [`stacks`].
//! - Everything shared between the scheduler's side and the thread's side (the saved contexts,
//!   the state, the closure) sits in a heap box that does not move, behind `Cell`/`UnsafeCell`,
//!   and no reference into it is held mutably across a switch.
//! - A panic inside a user thread is caught on its own stack (it must not unwind through
//!   glibc's `__start_context`) and raised again by `run`, on the scheduler's stack.
//! - `UserThread` is neither `Send` nor `Sync`: a thread is resumed only on the OS thread that
//!   made it, whose thread-locals its frames may have cached.
//! - Nothing here is async-signal-unsafe in a way that matters: a switch is never made from a
//!   signal handler. Preemption ([`TimeSlices`]) only raises a flag in the handler; the running
//!   user thread looks at the flag at its safepoints and yields there, which is how language
//!   runtimes preempt their green threads.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, mprotect, munmap};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::{Error, Result};

/// Each user thread's stack: 256 KiB of address space (touched pages only are backed), plus a
/// guard page. Enough for formatting and printing a line; not for deep recursion.
pub const STACK_SIZE: usize = 256 * 1024;

static STACKS_MAPPED: AtomicUsize = AtomicUsize::new(0);
static STACKS_UNMAPPED: AtomicUsize = AtomicUsize::new(0);
static STACKS_LEAKED: AtomicUsize = AtomicUsize::new(0);

/// How many user-thread stacks this process has mapped, unmapped and leaked so far (a thread
/// dropped while suspended midway leaks its stack: see the module's notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StackCounts {
    pub mapped: usize,
    pub unmapped: usize,
    pub leaked: usize,
}

/// The stack counters now.
pub fn stacks() -> StackCounts {
    StackCounts {
        mapped: STACKS_MAPPED.load(Relaxed),
        unmapped: STACKS_UNMAPPED.load(Relaxed),
        leaked: STACKS_LEAKED.load(Relaxed),
    }
}

/// A user thread's stack: `mmap` of the guard page plus `size` bytes, the lowest page made
/// inaccessible (stacks grow down, so an overflow runs into it).
struct Stack {
    base: NonNull<libc::c_void>,
    len: usize,
    guard: usize,
}

impl Stack {
    fn new(size: usize) -> Result<Stack> {
        let guard = procfs::page_size() as usize;
        let len = size.div_ceil(guard) * guard + guard;
        let length = NonZeroUsize::new(len).ok_or(Error::sys("mmap", Errno::EINVAL))?;
        // SAFETY: a new private anonymous mapping at an address the kernel chooses overlaps
        // nothing that exists, so it cannot invalidate any Rust reference.
        let base = unsafe {
            mmap_anonymous(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_STACK,
            )
        }
        .map_err(|e| Error::sys("mmap", e))?;
        let stack = Stack { base, len, guard };
        // SAFETY: the first page of the mapping we just made and own; nothing refers to it.
        unsafe { mprotect(base, guard, ProtFlags::PROT_NONE) }
            .map_err(|e| Error::sys("mprotect", e))?;
        STACKS_MAPPED.fetch_add(1, Relaxed);
        Ok(stack)
    }

    /// The usable part, above the guard page: (lowest address, size).
    fn usable(&self) -> (*mut libc::c_void, usize) {
        // The guard page is inside the mapping, so the sum stays inside it too.
        (
            self.base
                .as_ptr()
                .cast::<u8>()
                .wrapping_add(self.guard)
                .cast(),
            self.len - self.guard,
        )
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: we own the mapping, and `UserThread` drops a Stack only when no frame lives on
        // it (see `Drop for UserThread`); nothing else points into it.
        let _ = unsafe { munmap(self.base, self.len) };
        STACKS_UNMAPPED.fetch_add(1, Relaxed);
    }
}

/// Where a user thread is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Made, never run: its context starts at the closure's first line.
    New,
    /// Running on the OS thread right now.
    Running,
    /// Switched out by `yield_now`: its context holds where it stopped.
    Suspended,
    /// Its closure returned (or panicked); its stack is free to go.
    Finished,
}

/// What a `run` came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// The thread called `yield_now`: it wants to run again later.
    Yielded,
    /// The thread's closure returned.
    Finished,
}

/// The part of a user thread both sides of a switch reach: boxed, so its address never changes
/// (the contexts point at each other), and only interior-mutable.
struct Shared {
    /// The thread's registers, saved when it is switched out.
    context: UnsafeCell<libc::ucontext_t>,
    /// The registers of whoever ran it (the scheduler), saved while it runs.
    back: UnsafeCell<libc::ucontext_t>,
    state: Cell<State>,
    body: Cell<Option<Box<dyn FnOnce()>>>,
    panic: Cell<Option<Box<dyn Any + Send>>>,
}

/// A user-level thread: a closure with a stack and a context of its own.
pub struct UserThread {
    shared: Box<Shared>,
    /// `None` once unmapped, or leaked.
    stack: Option<Stack>,
}

thread_local! {
    /// The user thread running on this OS thread right now (null: none, we are the scheduler).
    static CURRENT: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

impl UserThread {
    /// A new user thread that will run `body` the first time it is [`run`](Self::run).
    pub fn new(body: impl FnOnce() + 'static) -> Result<UserThread> {
        let stack = Stack::new(STACK_SIZE)?;
        let shared = Box::new(Shared {
            // SAFETY: ucontext_t is plain old data (integers, pointers, arrays); all-zero is a
            // valid value, and getcontext below fills it in.
            context: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            // SAFETY: as above; `run`'s swapcontext fills it in before it is ever read.
            back: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            state: Cell::new(State::New),
            body: Cell::new(Some(Box::new(body))),
            panic: Cell::new(None),
        });
        let context = shared.context.get();
        // SAFETY: `context` points to a live, boxed ucontext_t that nothing else references yet.
        // getcontext returns once here (this context is never resumed as it is: makecontext
        // below replaces its instruction and stack pointers).
        if unsafe { libc::getcontext(context) } != 0 {
            return Err(Error::sys("getcontext", Errno::last()));
        }
        let (sp, size) = stack.usable();
        // SAFETY: still the only pointer to the context. The stack lies inside our own mapping
        // and lives as long as the context can run (the `UserThread` owns both). `uc_link` is
        // the box's `back` context, where `run` saves the scheduler's registers before every
        // switch in, so when `trampoline` returns, glibc resumes the scheduler inside `run`.
        // `trampoline` takes no arguments (argc 0) and never unwinds.
        unsafe {
            (*context).uc_stack.ss_sp = sp;
            (*context).uc_stack.ss_size = size;
            (*context).uc_stack.ss_flags = 0;
            (*context).uc_link = shared.back.get();
            libc::makecontext(context, trampoline, 0);
        }
        Ok(UserThread {
            shared,
            stack: Some(stack),
        })
    }

    /// Where the thread is in its life.
    pub fn state(&self) -> State {
        self.shared.state.get()
    }

    /// True once its closure has returned.
    pub fn is_finished(&self) -> bool {
        self.state() == State::Finished
    }

    /// Switches into the thread (`swapcontext(&back, &context)`) and returns when it yields or
    /// finishes. A panic in the thread comes out here.
    ///
    /// # Panics
    /// If the thread has finished (a finished context must never be resumed) or is running
    /// (a thread cannot run itself).
    pub fn run(&mut self) -> Switch {
        let shared: &Shared = &self.shared;
        match shared.state.get() {
            State::New | State::Suspended => {}
            other => panic!("a user thread cannot be run when it is {other:?}"),
        }
        let outer = CURRENT.with(|c| c.replace(shared));
        shared.state.set(State::Running);
        // SAFETY: both pointers are to live ucontext_t in the box, which `&mut self` keeps alive
        // and in place until we return. `context` holds either makecontext's fresh start or the
        // registers saved by this thread's latest `yield_now`, on its own stack, which is
        // mapped; it is resumed exactly once from that save. `back` receives our registers;
        // the thread's side switches back to it (yield_now or uc_link), and only then does
        // this call return. The thread's side touches the box only through `&Shared` (Cells).
        let rc = unsafe { libc::swapcontext(shared.back.get(), shared.context.get()) };
        CURRENT.with(|c| c.set(outer));
        assert_eq!(rc, 0, "swapcontext failed: {}", Errno::last());
        let finished = shared.state.get() == State::Finished;
        let panic = shared.panic.take();
        if finished {
            // Nothing lives on the stack any more: give it back now.
            self.stack = None;
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        if finished {
            Switch::Finished
        } else {
            Switch::Yielded
        }
    }
}

/// Called from inside a user thread: saves its registers and switches back to whoever ran it
/// (`swapcontext(&context, &back)`); returns when it is run again.
///
/// # Panics
/// Outside a user thread (there is nothing to switch back to).
pub fn yield_now() {
    let current = CURRENT.with(Cell::get);
    assert!(!current.is_null(), "yield_now called outside a user thread");
    // SAFETY: CURRENT is set by `run` to its box, which stays alive and in place while the
    // thread runs (`run` holds `&mut UserThread` until the thread switches back).
    let shared = unsafe { &*current };
    shared.state.set(State::Suspended);
    // SAFETY: `context` is this running thread's own slot, `back` holds the registers `run`
    // saved before switching in; both live in the box. The scheduler resumes `back` once (its
    // `run` returns); this thread resumes from `context` only when `run` is called again.
    let rc = unsafe { libc::swapcontext(shared.context.get(), shared.back.get()) };
    assert_eq!(rc, 0, "swapcontext failed: {}", Errno::last());
}

/// True when called from inside a user thread.
pub fn in_user_thread() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Every user thread starts here, on its own stack.
extern "C" fn trampoline() {
    // SAFETY: `run` set CURRENT to this thread's box just before switching here.
    let shared = unsafe { &*CURRENT.with(Cell::get) };
    if let Some(body) = shared.body.take()
        && let Err(payload) = catch_unwind(AssertUnwindSafe(body))
    {
        shared.panic.set(Some(payload));
    }
    shared.state.set(State::Finished);
    // Returning ends the context: glibc switches to uc_link, the `back` slot, inside `run`.
}

impl Drop for UserThread {
    fn drop(&mut self) {
        if self.state() == State::Suspended
            && let Some(stack) = self.stack.take()
        {
            // Frames still live on this stack (the thread stopped midway): freeing it would pull
            // memory out from under them, so it is leaked instead.
            std::mem::forget(stack);
            STACKS_LEAKED.fetch_add(1, Relaxed);
        }
        // New or finished: nothing lives on the stack; the field drops it (munmap).
    }
}

// ---------------------------------------------------------------------------------------------
// Time slices: a profiling timer whose signal asks the running user thread to yield.

static TICKS: AtomicU64 = AtomicU64::new(0);
static SLICE_OVER: AtomicBool = AtomicBool::new(false);
static SLICING: AtomicBool = AtomicBool::new(false);

/// `ITIMER_PROF` (2 on Linux): counts down while the process runs, user or kernel time, and
/// sends SIGPROF when it expires. The libc crate does not define it for Linux.
const ITIMER_PROF: libc::c_int = 2;

/// The SIGPROF handler: all it does is count and raise a flag (two atomic stores, which is
/// async-signal-safe). It does not switch: the running user thread does, at its next safepoint.
extern "C" fn on_sigprof(_: libc::c_int) {
    TICKS.fetch_add(1, Relaxed);
    SLICE_OVER.store(true, Relaxed);
}

/// libult's `init_profiling_timer`: `setitimer(ITIMER_PROF)` every `slice` of CPU time, with a
/// SIGPROF handler that marks the slice as used up. Dropping it stops the timer and puts the
/// previous SIGPROF action back. One at a time per process.
pub struct TimeSlices {
    previous: SigAction,
}

impl TimeSlices {
    /// Starts the timer.
    pub fn start(slice: Duration) -> Result<TimeSlices> {
        if SLICING.swap(true, Relaxed) {
            return Err(Error::sys("setitimer", Errno::EBUSY));
        }
        TICKS.store(0, Relaxed);
        SLICE_OVER.store(false, Relaxed);
        let action = SigAction::new(
            SigHandler::Handler(on_sigprof),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler, `on_sigprof`, only updates two static atomics: it is
        // async-signal-safe whatever code it interrupts.
        let previous = match unsafe { sigaction(Signal::SIGPROF, &action) } {
            Ok(previous) => previous,
            Err(e) => {
                SLICING.store(false, Relaxed);
                return Err(Error::sys("sigaction", e));
            }
        };
        let slices = TimeSlices { previous };
        set_prof_timer(slice)?;
        Ok(slices)
    }

    /// SIGPROF signals received so far.
    pub fn ticks(&self) -> u64 {
        TICKS.load(Relaxed)
    }
}

impl Drop for TimeSlices {
    fn drop(&mut self) {
        let _ = set_prof_timer(Duration::ZERO);
        // A SIGPROF generated before the timer stopped was delivered when setitimer returned,
        // to our handler; the previous action can come back.
        // SAFETY: `previous` is the action that was installed before ours.
        let _ = unsafe { sigaction(Signal::SIGPROF, &self.previous) };
        SLICING.store(false, Relaxed);
    }
}

/// The safepoint's question: has the timer fired since the last time? (Clears the flag.)
pub fn slice_over() -> bool {
    SLICE_OVER.swap(false, Relaxed)
}

fn set_prof_timer(every: Duration) -> Result<()> {
    let tv = libc::timeval {
        tv_sec: every.as_secs() as libc::time_t,
        tv_usec: every.subsec_micros() as libc::suseconds_t,
    };
    let value = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: `value` is a live local read by the call; no old value is asked for (null).
    let rc = unsafe { libc::setitimer(ITIMER_PROF, &value, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(Error::sys("setitimer", Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use std::time::Instant;

    // The stack counters are process-wide and tests run in parallel threads, so each test
    // checks its own threads' states and stacks rather than global totals.

    #[test]
    fn threads_interleave_when_they_yield_and_free_their_stacks() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut threads: Vec<UserThread> = (1..=2)
            .map(|id| {
                let log = Rc::clone(&log);
                UserThread::new(move || {
                    for step in 0..3 {
                        log.borrow_mut().push((id, step));
                        yield_now();
                    }
                })
                .unwrap()
            })
            .collect();
        assert!(threads.iter().all(|t| t.state() == State::New));
        let mut queue: std::collections::VecDeque<usize> = (0..threads.len()).collect();
        while let Some(i) = queue.pop_front() {
            if threads[i].run() == Switch::Yielded {
                assert_eq!(threads[i].state(), State::Suspended);
                queue.push_back(i);
            }
        }
        assert_eq!(
            *log.borrow(),
            [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]
        );
        for t in &threads {
            assert!(t.is_finished());
            assert!(t.stack.is_none(), "a finished thread's stack is unmapped");
        }
    }

    #[test]
    fn a_finished_thread_cannot_run_again() {
        let mut t = UserThread::new(|| {}).unwrap();
        assert_eq!(t.run(), Switch::Finished);
        let again = catch_unwind(AssertUnwindSafe(|| t.run()));
        assert!(again.is_err());
    }

    #[test]
    fn a_panic_in_a_user_thread_comes_out_of_run() {
        let mut t = UserThread::new(|| panic!("boom")).unwrap();
        let err = catch_unwind(AssertUnwindSafe(|| t.run())).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
        assert!(t.is_finished());
        assert!(t.stack.is_none());
    }

    #[test]
    fn a_thread_dropped_midway_leaks_its_stack_and_one_never_run_frees_it() {
        let before = stacks();
        let mut midway = UserThread::new(|| {
            yield_now();
            unreachable!("never run again");
        })
        .unwrap();
        assert_eq!(midway.run(), Switch::Yielded);
        drop(midway);
        let never = UserThread::new(|| {}).unwrap();
        drop(never);
        let after = stacks();
        assert!(after.leaked > before.leaked);
        assert!(after.unmapped > before.unmapped);
    }

    #[test]
    fn yield_outside_a_user_thread_panics() {
        assert!(!in_user_thread());
        assert!(catch_unwind(yield_now).is_err());
    }

    #[test]
    fn user_threads_can_run_user_threads() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let l = Rc::clone(&log);
        let mut outer = UserThread::new(move || {
            let l2 = Rc::clone(&l);
            let mut inner = UserThread::new(move || {
                l2.borrow_mut().push("inner 1");
                yield_now();
                l2.borrow_mut().push("inner 2");
            })
            .unwrap();
            assert_eq!(inner.run(), Switch::Yielded);
            l.borrow_mut().push("outer");
            yield_now();
            assert_eq!(inner.run(), Switch::Finished);
        })
        .unwrap();
        assert_eq!(outer.run(), Switch::Yielded);
        assert_eq!(outer.run(), Switch::Finished);
        assert_eq!(*log.borrow(), ["inner 1", "outer", "inner 2"]);
    }

    #[test]
    fn the_profiling_timer_ticks_while_the_process_computes() {
        let slices = TimeSlices::start(Duration::from_millis(2)).unwrap();
        assert!(TimeSlices::start(Duration::from_millis(2)).is_err());
        let start = Instant::now();
        let mut seen = false;
        let mut x = 0u64;
        while start.elapsed() < Duration::from_secs(5) && !seen {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            seen = slice_over();
        }
        assert!(seen, "no SIGPROF in 5 s of computing");
        assert!(slices.ticks() >= 1);
        drop(slices);
    }
}
