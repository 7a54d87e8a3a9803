//! address_space: where a program's code, data, bss, heap, mmap, stack, libc and vdso live in
//! its virtual address space, and what fork does to one variable's page.
//!
//! What the lecture wants you to see: the slide "Process Virtual Address Space". Every process
//! has the same layout, code at the bottom, then data, bss and the heap growing up, the mmap
//! area and shared libraries, and the stack at the top growing down; `/proc/self/maps` lists
//! the regions. After fork the child has the same virtual addresses: `&value` prints the same
//! in both, yet once the child writes `value` the two hold different values, because the
//! child's write copied the page to a new physical frame (`/proc/self/pagemap`, as root).
//!
//! The program, in C:
//!
//! ```c
//! int value = 1;                 /* data (on a page of its own here) */
//! int initialised = 42;          /* data */
//! char zeroed[65536];            /* bss */
//! int main(void) {
//!     int local;                 /* stack */
//!     char *small = malloc(16);  /* heap (brk) */
//!     char *large = malloc(1 << 20);    /* mmap: above the mmap threshold */
//!     printf("code %p data %p bss %p heap %p mmap %p stack %p libc %p\n",
//!            main, &initialised, zeroed, small, large, &local, printf);
//!     if (fork() == 0) { value = 2; printf("[child] &value = %p, value = %d\n", &value, value); }
//!     else { wait(NULL); printf("[parent] &value = %p, value = %d\n", &value, value); }
//! }
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, AtomicU64};

use clap::Parser;
use oslab::demos::processes::address_space::{self as lab, Frame, Probe};
use oslab::kit::cli::CommonArgs;
use oslab::kit::{self, report::Output};
use oslab::process::{self, Forked, SingleThreaded, channel::channel};

/// Where code, data, bss, heap, mmap, stack, libc and the vdso live; fork and copy-on-write.
///
/// The slide "Process Virtual Address Space": the address of a function, an initialised and a
/// zeroed static, a heap and a large (mmap) allocation, a local, printf and the vdso, each in
/// its region of /proc/self/maps, drawn top to bottom; a second run shows ASLR move them. Then
/// fork: the same &value in parent and child, different values once the child writes, and the
/// physical frames from /proc/self/pagemap (root) shared before the write and separate after.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: address_space   (then: address_space --no-aslr; cat /proc/self/maps)"
)]
struct Args {
    /// Run again with ASLR off for this program (personality ADDR_NO_RANDOMIZE, then exec):
    /// the regions stay at the same addresses from one run to the next
    #[arg(long)]
    no_aslr: bool,

    /// Print the probes' addresses as JSON and exit (the second run that checks ASLR)
    #[arg(long, hide = true)]
    probe: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// `int value = 1;`, alone on its page, so the child's write copies that page and no other.
static VALUE: lab::OwnPage = lab::OwnPage::new(1);
/// `int initialised = 42;`: an initialised static, in the data segment.
static INITIALISED: AtomicU64 = AtomicU64::new(42);
/// `char zeroed[65536];`: a zeroed static, in bss (past the end of the file's data).
static ZEROED: [AtomicU8; 65536] = [const { AtomicU8::new(0) }; 65536];

/// The lecture's printf of addresses: one of each kind, with what holds it still alive when
/// /proc/self/maps is read.
fn probes() -> oslab::Result<lab::Layout> {
    let local = 0u64; // int local;
    let small = Box::new(0u64); // char *small = malloc(16);
    let large: Vec<u8> = process::limits::allocate(lab::LARGE, "malloc(1 MiB)")?; // malloc(1 << 20)
    let main_fn: fn() -> ExitCode = main;
    lab::Layout::of(&[
        Probe::new("code", "main()", main_fn as usize),
        Probe::new(
            "data",
            "initialised static",
            &INITIALISED as *const _ as usize,
        ),
        Probe::new("bss", "zeroed static", ZEROED[32768].as_ptr() as usize),
        Probe::new("heap", "malloc(16)", &*small as *const u64 as usize),
        Probe::new("mmap", "malloc(1 MiB)", large.as_ptr() as usize),
        Probe::new("shared library", "printf (libc)", lab::printf_address()),
        Probe::new("vdso", "vdso (AT_SYSINFO_EHDR)", lab::vdso_address()?),
        Probe::new("stack", "local variable", &local as *const u64 as usize),
    ])
}

/// fork(): the child prints `&value`, writes `value = 2` and prints it again; the parent, once
/// the child is done, prints its own `&value` and `value`. Each line gives the page's frame.
fn fork_and_write(out: Output) -> oslab::Result<lab::Cow> {
    VALUE.store(1); // value = 1;   (the page is the parent's, present, before fork)
    let parent_before = Frame::of(VALUE.address())?;
    out.lecture(format_args!(
        "[parent] {}",
        parent_before.line(VALUE.load())
    ));
    let (reports, to_parent) = channel::<lab::ChildSaw>()?;
    match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => process::run_child(|| {
            let before = Frame::of(VALUE.address()); // printf("&value = %p", &value);
            let read = VALUE.load();
            VALUE.store(2); // value = 2;   (copy-on-write: the page is copied here)
            let after = Frame::of(VALUE.address());
            lab::send(&to_parent, before, read, after, VALUE.load(), out)
        }),
        Forked::Parent(child) => {
            drop(to_parent);
            let saw = lab::child_saw(child, reports)?; // wait(NULL);
            let parent_after = Frame::of(VALUE.address())?;
            out.lecture(format_args!("[parent] {}", parent_after.line(VALUE.load())));
            Ok(lab::Cow::new(
                parent_before,
                saw,
                parent_after,
                VALUE.load(),
            ))
        }
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("address_space");
    if args.probe {
        return lab::print_probes(probes());
    }
    let params = lab::Params::new(args.no_aslr); // --no-aslr: exec'd again, ASLR off
    kit::run("address_space", &args.common, params, |s| {
        lab::run(s, probes()?, || fork_and_write(s.out))
    })
}
