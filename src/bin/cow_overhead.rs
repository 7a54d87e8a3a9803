//! cow_overhead: the lecture's copy_on_write_overhead.c. A parent touches every page of a
//! 131072-page mapping and forks; the child times reading one byte of every page, then writing
//! one.
//!
//! What the lecture wants you to see: after fork, parent and child share every page until one
//! of them writes. The child's reads cost nothing extra (no fault: fork copied the page-table
//! entries); its first write to each page faults, exactly once per page (`/proc/PID/stat` field
//! 10 grows by the page count), and the kernel copies the page. That write costs tens to hundreds
//! of times a write to memory that is already private, which the child measures too.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::time::Instant;

use clap::Parser;
use oslab::demos::processes::cow_overhead::{self as lab, ChildReport, Faults};
use oslab::kit::cli::{CommonArgs, TrialArgs, ranged};
use oslab::kit::{self, report::Output, timing::nanos_since};
use oslab::process::{self, Forked, SingleThreaded, channel::channel};
use oslab::{Result, sys::mman::Mapping};

/// The lecture's program, once: map, touch, fork; the child reads, then writes.
fn copy_on_write(p: &lab::Params, out: Output, number: u32) -> Result<lab::Trial> {
    let (page, npages) = (p.page_size as usize, p.pages);
    let pause = p.pause && number > 0; // warm-up runs never stop
    // mem = malloc(NPAGES * page_size);   (an anonymous mmap; 4 KiB pages unless --thp)
    let mapping = Mapping::new(npages as usize * page, p.sharing(), p.huge())?;
    let mem = mapping.bytes();
    // for (i = 0; i < NPAGES; i++) mem[i * page_size] = 'a';   /* demand every page now */
    let touch = Faults::open(npages)?.measure(|| fill(mem, page, b'a'))?;
    let (reports, to_parent) = channel::<ChildReport>()?;
    let single = SingleThreaded::check()?;
    let fork_start = Instant::now();
    // pid = fork();
    match process::fork(&single)? {
        Forked::Child => process::run_child(|| lab::send(&to_parent, child(mem, page, pause, out))),
        Forked::Parent(child) => {
            let fork_ns = nanos_since(fork_start);
            drop(to_parent); // the child holds the only sending end now
            // waitpid(pid, NULL, 0);   (Ctrl-C first: the child is killed and reaped)
            lab::reap(child, reports, number, touch, fork_ns, pause)
        }
    }
}

/// The child's part: read every page, then write every page, printing the lecture's lines and
/// pausing where the lecture pauses; then it writes every page once more, now private.
fn child(mem: &[AtomicU8], page: usize, pause: bool, out: Output) -> Result<ChildReport> {
    let npages = mem.len() / page;
    let mut faults = Faults::open(npages as u64)?;
    lab::pause(pause, "Child process started");
    // for (i = 0; i < NPAGES; i++) c = mem[i * page_size];
    let mut c = 0u8;
    let read = faults.measure(|| {
        for i in 0..npages {
            c = c.wrapping_add(mem[i * page].load(Relaxed));
        }
    })?;
    let (c, ms) = (std::hint::black_box(c), read.ms()); // the value read is used below
    out.lecture(format_args!("Time for reading {npages} pages: {ms} ms"));
    lab::pause(pause, "Child process read pages");

    // for (i = 0; i < NPAGES; i++) mem[i * page_size] = c + 1;   /* copy-on-write */
    let write = faults.measure(|| fill(mem, page, c.wrapping_add(1)))?;
    let ms = write.ms();
    out.lecture(format_args!("Time for writing to {npages} pages: {ms} ms"));
    lab::pause(pause, "Child process wrote pages");

    // Not in the lecture: the same writes again, to pages that are now the child's own.
    let rewrite = faults.measure(|| fill(mem, page, c.wrapping_add(2)))?;
    Ok(ChildReport::of(read, write, rewrite))
}

/// One byte into every page: `mem[i * page_size] = value`.
fn fill(mem: &[AtomicU8], page: usize, value: u8) {
    for i in 0..mem.len() / page {
        mem[i * page].store(value, Relaxed);
    }
}

/// Copy-on-write after fork: reading the shared pages is free, the first write to each one
/// faults and copies it.
///
/// The lecture's copy_on_write_overhead.c: the parent touches 131072 pages (512 MiB), forks,
/// and the child times a read of one byte per page (`Time for reading %d pages: %lu ms`), then a
/// write (`Time for writing to %d pages: %lu ms`). The analysis counts each phase's minor faults
/// (/proc/self/stat field 10 and getrusage) and compares a copy-on-write fault with a write to a
/// page that is already private. Huge pages are off for the mapping (MADV_NOHUGEPAGE), so the
/// count is the lecture's: one fault per 4 KiB page.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: cow_overhead --pages 16384   (then: cow_overhead --pages 16384 --shared; cow_overhead --pause)"
)]
struct Args {
    /// Pages in the mapping, one byte read and written per page [1-268435456]; a private
    /// mapping needs twice its size free (the parent's pages and the child's copies)
    #[arg(long, default_value_t = lab::NPAGES, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, lab::MAX_PAGES))]
    pages: u64,

    /// MAP_SHARED instead of MAP_PRIVATE: parent and child share the pages, nothing is copied
    #[arg(long)]
    shared: bool,

    /// MADV_HUGEPAGE instead of MADV_NOHUGEPAGE: 2 MiB pages where the kernel can give them
    #[arg(long)]
    thp: bool,

    /// Stop at the lecture's four points (child started, read, wrote; parent ending), each with
    /// the PID and the command that reads its minor faults (field 10 of /proc/PID/stat)
    #[arg(long)]
    pause: bool,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = kit::parse("cow_overhead");
    let p = lab::Params::of(args.pages, args.shared, args.thp, args.pause, &args.trials);
    kit::run("cow_overhead", &args.common, p.clone(), |s| {
        lab::trials(s, &p, |out, run| copy_on_write(&p, out, run.number()))
    })
}
