//! `address_space`'s lab bench: each probe placed in its region of `/proc/self/maps` (and the
//! kernel's `mm_struct` boundaries from `/proc/self/stat`), the figure drawn top to bottom, a
//! second run of the program that shows what ASLR moved, the forked child's report of
//! `&value`, its value and its physical frame (`/proc/self/pagemap`), and the analysis.
//!
//! The binary holds the lecture's program: the probes (a function, two statics, a heap and a
//! large allocation, a local, printf, the vdso) and fork with the child's write.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use nix::sys::personality::{self, Persona};
use procfs::process::{MMapPath, Process};
use serde::{Deserialize, Serialize};

use crate::kit::{Context, Findings, Session, Verdict};
use crate::process::Child;
use crate::process::channel::{Next, Receiver, Sender};
use crate::process::limits::{CAP_SYS_ADMIN, fmt_bytes, has_capability};
use crate::{Error, Result};

/// The large allocation: above glibc's mmap threshold (128 KiB when a program starts), so malloc
/// maps it.
pub const LARGE: usize = 1 << 20;
/// `AT_SYSINFO_EHDR` in the auxiliary vector: where the kernel mapped the vdso.
const AT_SYSINFO_EHDR: u64 = 33;
/// The regions, in the slide's order from the bottom of the address space up.
const ORDER: [&str; 6] = ["code", "data", "bss", "heap", "mmap", "stack"];
/// The regions whose base a second run compares.
const BASES: [&str; 5] = ["executable", "heap", "mmap (libc)", "vdso", "stack"];

/// `int value = 1;` alone on a page: the page holds nothing else, so no other write copies it.
#[repr(C, align(4096))]
pub struct OwnPage(AtomicU64);

impl OwnPage {
    pub const fn new(value: u64) -> OwnPage {
        OwnPage(AtomicU64::new(value))
    }

    pub fn load(&self) -> u64 {
        self.0.load(Relaxed)
    }

    pub fn store(&self, value: u64) {
        self.0.store(value, Relaxed)
    }

    /// `&value`.
    pub fn address(&self) -> u64 {
        self.0.as_ptr() as u64
    }
}

/// The address of libc's printf, as the dynamic linker resolved it (through the GOT).
pub fn printf_address() -> usize {
    libc::printf as *const () as usize
}

/// Where the kernel mapped the vdso: `getauxval(AT_SYSINFO_EHDR)`, read from /proc/self/auxv.
pub fn vdso_address() -> Result<usize> {
    let auxv = Process::myself()
        .and_then(|p| p.auxv())
        .map_err(|e| Error::proc("/proc/self/auxv", e))?;
    Ok(auxv.get(&AT_SYSINFO_EHDR).copied().unwrap_or(0) as usize)
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub no_aslr: bool,
    /// `on`, `off` (ADDR_NO_RANDOMIZE, this run) or why it could not be turned off.
    pub aslr: String,
    /// /proc/sys/kernel/randomize_va_space: 0 off, 1 stack/mmap/vdso, 2 the heap too.
    pub randomize_va_space: Option<u32>,
}

impl Params {
    /// With `--no-aslr` and ASLR still on for this process: turns it off
    /// (`personality(ADDR_NO_RANDOMIZE)`) and runs the program again (execv /proc/self/exe,
    /// the same arguments), which returns only if it failed; the parameters say why.
    pub fn new(no_aslr: bool) -> Params {
        let randomize_va_space = std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let off = |p: Persona| p.contains(Persona::ADDR_NO_RANDOMIZE);
        let aslr = match personality::get() {
            Ok(p) if off(p) => "off (ADDR_NO_RANDOMIZE)".to_string(),
            Ok(p) if no_aslr => match personality::set(p | Persona::ADDR_NO_RANDOMIZE) {
                Ok(_) => format!("on: execv failed: {}", reexec()),
                Err(e) => format!("on: personality(ADDR_NO_RANDOMIZE) was refused ({e})"),
            },
            Ok(_) => "on".to_string(),
            Err(e) => format!("unknown: personality failed ({e})"),
        };
        Params {
            no_aslr,
            aslr,
            randomize_va_space,
        }
    }

    fn aslr_off(&self) -> bool {
        self.aslr.starts_with("off")
    }
}

/// Runs this program again with the same arguments; returns only the reason it could not.
fn reexec() -> String {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let argv: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match nix::unistd::execv(c"/proc/self/exe", &argv) {
        Err(e) => e.to_string(),
        Ok(never) => match never {},
    }
}

// ---------------------------------------------------------------------------------------------
// The probes and their regions.

/// One address the lecture's program prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The region the slide puts it in: code, data, bss, heap, mmap, shared library, vdso,
    /// stack.
    pub kind: String,
    /// What it is: `main()`, `malloc(16)`.
    pub what: String,
    pub address: u64,
    /// The region /proc/self/maps (and the kernel's mm boundaries) put it in.
    pub region: String,
    /// The mapping that holds it, as /proc/self/maps lists it.
    pub mapping: Option<Mapping>,
}

impl Probe {
    pub fn new(kind: &str, what: &str, address: usize) -> Probe {
        Probe {
            kind: kind.into(),
            what: what.into(),
            address: address as u64,
            region: String::new(),
            mapping: None,
        }
    }
}

/// One line of /proc/self/maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    /// The file, `[heap]`, `[stack]`, `[vdso]`, or empty for an anonymous mapping.
    pub name: String,
}

impl Mapping {
    pub fn size(&self) -> u64 {
        self.end - self.start
    }
}

/// The kernel's boundaries of the program's regions (`mm_struct`, from /proc/self/stat).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mm {
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub start_stack: u64,
}

/// The probes placed in their regions, and the regions' bases.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub pid: i32,
    pub probes: Vec<Probe>,
    pub mm: Mm,
    /// Where each region starts (the stack: where it ends), for comparing two runs.
    pub bases: Vec<(String, u64)>,
}

impl Layout {
    /// Reads /proc/self/maps and /proc/self/stat while the probes' objects are alive.
    pub fn of(probes: &[Probe]) -> Result<Layout> {
        let me = Process::myself().map_err(|e| Error::proc("/proc/self", e))?;
        let stat = me.stat().map_err(|e| Error::proc("/proc/self/stat", e))?;
        let maps: Vec<Mapping> = me
            .maps()
            .map_err(|e| Error::proc("/proc/self/maps", e))?
            .into_iter()
            .map(|m| Mapping {
                start: m.address.0,
                end: m.address.1,
                perms: m.perms.as_str(),
                name: match m.pathname {
                    MMapPath::Path(p) => p.to_string_lossy().into_owned(),
                    MMapPath::Heap => "[heap]".into(),
                    MMapPath::Stack => "[stack]".into(),
                    MMapPath::Vdso => "[vdso]".into(),
                    MMapPath::Vvar => "[vvar]".into(),
                    MMapPath::Anonymous => String::new(),
                    other => format!("{other:?}"),
                },
            })
            .collect();
        let exe = me.exe().unwrap_or_default();
        let mm = Mm {
            start_code: stat.startcode,
            end_code: stat.endcode,
            start_data: stat.start_data.unwrap_or(0),
            end_data: stat.end_data.unwrap_or(0),
            start_brk: stat.start_brk.unwrap_or(0),
            start_stack: stat.startstack,
        };
        let probes = probes
            .iter()
            .map(|p| place(p.clone(), &maps, &mm, &exe))
            .collect();
        Ok(Layout {
            pid: me.pid,
            probes,
            mm,
            bases: bases(&maps, &mm, &exe),
        })
    }

    fn probe(&self, kind: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.kind == kind)
    }

    fn base(&self, region: &str) -> Option<u64> {
        self.bases
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, a)| *a)
    }
}

/// Puts a probe in the mapping that holds it and names its region.
fn place(mut p: Probe, maps: &[Mapping], mm: &Mm, exe: &std::path::Path) -> Probe {
    let Some(m) = maps
        .iter()
        .find(|m| m.start <= p.address && p.address < m.end)
    else {
        p.region = "unmapped".into();
        return p;
    };
    let a = p.address;
    let below_brk = a >= mm.end_data && a < mm.start_brk;
    p.region = match m.name.as_str() {
        "[heap]" if below_brk => "bss",
        "[heap]" => "heap",
        "[stack]" => "stack",
        "[vdso]" => "vdso",
        "" if below_brk => "bss",
        "" => "mmap",
        name if std::path::Path::new(name) == exe => {
            if m.perms.contains('x') {
                "code"
            } else if a >= mm.start_data && a < mm.end_data {
                "data"
            } else if a >= mm.end_data {
                "bss"
            } else {
                "read-only data"
            }
        }
        _ => "shared library",
    }
    .into();
    p.mapping = Some(m.clone());
    p
}

/// The bases a second run compares: the executable's load address, the heap's start (brk), the
/// mmap area's (libc's first mapping), the vdso's and the top of the stack.
fn bases(maps: &[Mapping], mm: &Mm, exe: &std::path::Path) -> Vec<(String, u64)> {
    let first = |f: &dyn Fn(&Mapping) -> bool| maps.iter().find(|m| f(m)).map(|m| m.start);
    let exe_name = exe.to_string_lossy();
    let found = [
        first(&|m| m.name == exe_name),
        Some(mm.start_brk),
        first(&|m| is_libc(&m.name)),
        first(&|m| m.name == "[vdso]"),
        maps.iter().find(|m| m.name == "[stack]").map(|m| m.end),
    ];
    BASES
        .iter()
        .zip(found)
        .filter_map(|(r, a)| a.map(|a| (r.to_string(), a)))
        .collect()
}

fn is_libc(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("libc.so") || f.starts_with("libc-"))
}

/// `--probe`: the second run prints its layout as JSON for the first.
pub fn print_probes(layout: Result<Layout>) -> std::process::ExitCode {
    match layout.and_then(|l| Ok(serde_json::to_string(&l)?)) {
        Ok(json) => {
            crate::kit::report::print_line(json);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("address_space: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The program run a second time (`--probe`, the same personality): its layout, to see what
/// ASLR moved.
fn second_run() -> std::result::Result<Layout, String> {
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg("--probe").stdin(std::process::Stdio::null());
    crate::sys::process::die_with_this_process(&mut cmd);
    let out = cmd.output().map_err(|e| format!("could not run it: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "it failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("its output was not a layout: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Fork and the frames.

/// The physical frame behind a virtual address, from /proc/self/pagemap: 0 without
/// CAP_SYS_ADMIN (since Linux 4.0), or where a container hides it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub address: u64,
    pub present: bool,
    /// The page frame number (0: unreadable).
    pub pfn: u64,
}

impl Frame {
    /// The frame of the page holding `address`, in this process.
    pub fn of(address: u64) -> Result<Frame> {
        use procfs::process::PageInfo;
        let page = procfs::page_size();
        let info = Process::myself()
            .and_then(|p| p.pagemap())
            .and_then(|mut m| m.get_info((address / page) as usize))
            .map_err(|e| Error::proc("/proc/self/pagemap", e))?;
        let (present, pfn) = match info {
            PageInfo::MemoryPage(flags) => (
                flags.contains(procfs::process::MemoryPageFlags::PRESENT),
                flags.get_page_frame_number().0,
            ),
            PageInfo::SwapPage(_) => (false, 0),
        };
        Ok(Frame {
            address,
            present,
            pfn,
        })
    }

    /// `&value = 0x…, value = 1, frame 0x1a2b3 (physical 0x1a2b3000)`.
    pub fn line(&self, value: u64) -> String {
        let frame = if self.pfn == 0 {
            "frame number reads as 0".to_string()
        } else {
            format!("frame {:#x}", self.pfn)
        };
        format!("&value = {:#x}, value = {value}, {frame}", self.address)
    }
}

/// What the forked child saw: `&value`, its frame and value before and after its write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildSaw {
    pub pid: i32,
    pub before: Frame,
    pub read: u64,
    pub after: Frame,
    pub wrote: u64,
    pub error: Option<String>,
}

/// In the child: prints its two lines and tells the parent what it saw; the child's exit code.
pub fn send(
    to_parent: &Sender<ChildSaw>,
    before: Result<Frame>,
    read: u64,
    after: Result<Frame>,
    wrote: u64,
    out: crate::kit::report::Output,
) -> i32 {
    let saw = match (before, after) {
        (Ok(before), Ok(after)) => {
            out.lecture(format_args!(
                "[child]  {} (before its write)",
                before.line(read)
            ));
            out.lecture(format_args!(
                "[child]  {} (after value = 2)",
                after.line(wrote)
            ));
            ChildSaw {
                pid: nix::unistd::getpid().as_raw(),
                before,
                read,
                after,
                wrote,
                error: None,
            }
        }
        (Err(e), _) | (_, Err(e)) => ChildSaw {
            error: Some(format!("{:#}", anyhow::Error::from(e))),
            ..ChildSaw::default()
        },
    };
    i32::from(to_parent.send(&saw).is_err())
}

/// In the parent: the child's report, and the child reaped.
pub fn child_saw(child: Child, mut reports: Receiver<ChildSaw>) -> Result<ChildSaw> {
    let saw = match reports.next(Some(Duration::from_secs(10)))? {
        Next::Message(m) => m,
        Next::Stopped(signal) => {
            return Err(Error::Failed(format!(
                "stopped by {signal} before the child reported"
            )));
        }
        Next::End | Next::TimedOut => {
            return Err(Error::Failed("the forked child did not report".into()));
        }
    };
    child.wait()?;
    match saw.error {
        Some(e) => Err(Error::Failed(format!("the forked child: {e}"))),
        None => Ok(saw),
    }
}

/// `value`'s page in parent and child, before and after the child's write.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cow {
    pub parent_before: Frame,
    pub child: ChildSaw,
    pub parent_after: Frame,
    /// What the parent read after the child's write.
    pub parent_value: u64,
}

impl Cow {
    pub fn new(parent_before: Frame, child: ChildSaw, parent_after: Frame, value: u64) -> Cow {
        Cow {
            parent_before,
            child,
            parent_after,
            parent_value: value,
        }
    }

    /// Parent and child showed the same `&value`, and different values after the write.
    fn same_address_different_values(&self) -> bool {
        let c = &self.child;
        let same = [c.before.address, c.after.address, self.parent_after.address]
            .iter()
            .all(|a| *a == self.parent_before.address);
        same && c.read == self.parent_value && c.wrote != self.parent_value
    }

    /// The frame numbers were readable (not 0).
    fn frames_readable(&self) -> bool {
        self.parent_before.pfn != 0 && self.child.before.pfn != 0
    }

    /// One frame before the write, two after, the parent keeping its own.
    fn copied(&self) -> bool {
        let c = &self.child;
        c.before.pfn == self.parent_before.pfn
            && c.after.pfn != c.before.pfn
            && self.parent_after.pfn == self.parent_before.pfn
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

/// The run's findings.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Results {
    pub layout: Layout,
    /// The second run's layout, or why there is none.
    pub second: Option<Layout>,
    pub second_error: Option<String>,
    pub cow: Option<Cow>,
    /// Why the frame numbers read as 0, when they do.
    pub frames_unreadable: Option<String>,
}

/// The lab's part of the run: the probes' lines, the second run, then the fork.
pub fn run(
    s: &Session,
    layout: Layout,
    fork: impl FnOnce() -> Result<Cow>,
) -> anyhow::Result<Results> {
    for p in &layout.probes {
        s.out.lecture(format_args!(
            "{:<15} {:<24} {:#x}",
            p.kind, p.what, p.address
        ));
    }
    let mut r = Results {
        layout,
        ..Results::default()
    };
    if s.stopped().is_some() {
        return Ok(r);
    }
    crate::process::limits::check_can_create(2)?; // the second run and the forked child
    match second_run() {
        Ok(l) => r.second = Some(l),
        Err(e) => r.second_error = Some(e),
    }
    if s.stopped().is_some() {
        return Ok(r);
    }
    let cow = match fork() {
        Ok(cow) => cow,
        Err(_) if s.stopped().is_some() => return Ok(r), // Ctrl-C: what was measured so far
        Err(e) => return Err(e.into()),
    };
    if !cow.frames_readable() {
        r.frames_unreadable = Some(why_frames_read_zero());
    }
    r.cow = Some(cow);
    Ok(r)
}

/// Why pagemap's frame numbers read as 0 here.
fn why_frames_read_zero() -> String {
    if has_capability(CAP_SYS_ADMIN) {
        "pagemap gave 0 although this process has CAP_SYS_ADMIN: a container or a security module hides the frames".into()
    } else {
        "pagemap hides frame numbers (reads them as 0) from a process without CAP_SYS_ADMIN, since Linux 4.0 (Rowhammer); run as root to see them".into()
    }
}

impl Results {
    fn misplaced(&self) -> Vec<String> {
        self.layout
            .probes
            .iter()
            .filter(|p| p.region != p.kind)
            .map(|p| format!("{} ({}) in {}", p.what, p.kind, p.region))
            .collect()
    }

    /// The slide's order from the bottom up, by address; the pairs out of order.
    fn out_of_order(&self) -> Vec<String> {
        let l = &self.layout;
        let mut pairs: Vec<(&str, &str)> = ORDER.windows(2).map(|w| (w[0], w[1])).collect();
        pairs.extend([("heap", "shared library"), ("shared library", "stack")]);
        pairs
            .into_iter()
            .filter_map(|(lo, hi)| {
                let (a, b) = (l.probe(lo)?, l.probe(hi)?);
                (a.address >= b.address)
                    .then(|| format!("{lo} {:#x} ≥ {hi} {:#x}", a.address, b.address))
            })
            .collect()
    }

    /// The bases that moved and those that did not between the two runs.
    fn moved(&self) -> Option<(Vec<&'static str>, Vec<&'static str>)> {
        let second = self.second.as_ref()?;
        let (mut moved, mut stayed) = (Vec::new(), Vec::new());
        for region in BASES {
            match (self.layout.base(region), second.base(region)) {
                (Some(a), Some(b)) if a != b => moved.push(region),
                (Some(_), Some(_)) => stayed.push(region),
                _ => {}
            }
        }
        Some((moved, stayed))
    }

    /// The ASLR part of the claim, checked: (held, what was seen).
    fn aslr(&self, p: &Params) -> (bool, String) {
        if p.no_aslr && !p.aslr_off() {
            return (
                false,
                format!("--no-aslr could not turn ASLR off: it is {}", p.aslr),
            );
        }
        let Some((moved, stayed)) = self.moved() else {
            let why = self.second_error.as_deref().unwrap_or("it was not run");
            return (false, format!("no second run to compare with ({why})"));
        };
        let (m, st) = (
            crate::kit::words::list(&moved),
            crate::kit::words::list(&stayed),
        );
        if p.aslr_off() {
            let held = moved.is_empty();
            let seen = if held {
                format!("with ASLR off a second run put {st} at the same addresses")
            } else {
                format!("with ASLR off a second run still moved {m}")
            };
            return (held, seen);
        }
        let held = stayed.is_empty() && !moved.is_empty();
        let mut seen = if held {
            format!("a second run had {m} at other addresses (ASLR)")
        } else if moved.is_empty() {
            format!("a second run had {st} at the same addresses")
        } else {
            format!("a second run moved {m} but not {st}")
        };
        if !held {
            seen.push_str(&format!(": {}", aslr_reason(p)));
        }
        (held, seen)
    }
}

/// Why regions did not move between runs with ASLR meant to be on.
fn aslr_reason(p: &Params) -> String {
    match p.randomize_va_space {
        Some(0) => {
            "ASLR is off for the whole system (/proc/sys/kernel/randomize_va_space is 0)".into()
        }
        Some(1) => {
            "/proc/sys/kernel/randomize_va_space is 1: the heap (brk) is not randomised".into()
        }
        _ if p.aslr != "on" => format!("ASLR is {}", p.aslr),
        _ => "this process's personality or a security policy keeps the addresses fixed".into(),
    }
}

fn hex(a: u64) -> String {
    format!("{a:#x}")
}

/// The figure, top (high addresses) to bottom: the mappings that hold a probe, their sizes,
/// and what each holds.
fn figure(l: &Layout) -> String {
    let mut by_mapping: Vec<(&Mapping, Vec<&Probe>)> = Vec::new();
    for p in &l.probes {
        let Some(m) = &p.mapping else { continue };
        match by_mapping.iter_mut().find(|(k, _)| *k == m) {
            Some((_, ps)) => ps.push(p),
            None => by_mapping.push((m, vec![p])),
        }
    }
    by_mapping.sort_by_key(|(m, _)| std::cmp::Reverse(m.start));
    let mut rows = Vec::new();
    let mut below: Option<u64> = None;
    for (m, ps) in &by_mapping {
        if below.is_some_and(|b| b > m.end) {
            rows.push(vec![
                "⋮".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        below = Some(m.start);
        let name = m.name.rsplit('/').next().unwrap_or("");
        let name = if name.is_empty() { "anonymous" } else { name };
        for (i, p) in ps.iter().enumerate() {
            rows.push(if i == 0 {
                vec![
                    format!("{}-{}", hex(m.start), hex(m.end)),
                    fmt_bytes(m.size()),
                    format!("{} ({name}, {})", p.region, m.perms),
                    format!("{} {}", p.what, hex(p.address)),
                ]
            } else {
                vec![
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("{} {}", p.what, hex(p.address)),
                ]
            });
        }
    }
    crate::kit::report::table(&["mapping", "size", "region", "holds"], &rows, false)
}

impl Findings for Results {
    type Params = Params;
    type Row = Probe;

    fn headline(&self, _p: &Params) -> String {
        let l = &self.layout;
        let span = |k: &str| l.probe(k).map_or("-".into(), |p| hex(p.address));
        let mut text = format!("code {} … stack {}", span("code"), span("stack"));
        if let Some(c) = &self.cow {
            text.push_str(&format!(
                "; after fork &value {} holds {} in the parent, {} in the child",
                hex(c.parent_after.address),
                c.parent_value,
                c.child.wrote
            ));
        }
        text
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let l = &self.layout;
        let mut lines = vec![format!(
            "the address space of PID {}, top to bottom (/proc/{}/maps; mm: code {}-{}, data {}-{}, heap from {}, ASLR {}):",
            l.pid,
            l.pid,
            hex(l.mm.start_code),
            hex(l.mm.end_code),
            hex(l.mm.start_data),
            hex(l.mm.end_data),
            hex(l.mm.start_brk),
            p.aslr
        )];
        lines.extend(figure(l).lines().map(|s| format!("  {s}")));
        if let Some(second) = &self.second {
            let rows: Vec<Vec<String>> = BASES
                .iter()
                .filter_map(|r| {
                    let (a, b) = (l.base(r)?, second.base(r)?);
                    Some(vec![
                        r.to_string(),
                        hex(a),
                        hex(b),
                        if a == b { "same" } else { "moved" }.into(),
                    ])
                })
                .collect();
            lines.push(
                "a second run of the program (the same personality), region by region:".into(),
            );
            let t =
                crate::kit::report::table(&["region", "this run", "second run", ""], &rows, false);
            lines.extend(t.lines().map(|s| format!("  {s}")));
        } else if let Some(e) = &self.second_error {
            lines.push(format!("second run: {e}"));
        }
        if let Some(c) = &self.cow {
            lines.push(format!(
                "fork: &value is {} in parent and child; the child read {} and wrote {}, the parent still reads {}",
                hex(c.parent_before.address),
                c.child.read,
                c.child.wrote,
                c.parent_value
            ));
            match &self.frames_unreadable {
                None => lines.push(format!(
                    "frames (pagemap): parent {} before, child {} before its write and {} after, parent {} after: {}",
                    hex(c.parent_before.pfn),
                    hex(c.child.before.pfn),
                    hex(c.child.after.pfn),
                    hex(c.parent_after.pfn),
                    if c.copied() {
                        "one physical page shared until the write, then the child's own copy"
                    } else {
                        "not the copy-on-write pattern"
                    }
                )),
                Some(why) => lines.push(format!("frames: the frame numbers read as 0: {why}")),
            }
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let copied = if self.frames_unreadable.is_some() {
            ""
        } else {
            ", the child's write copying the page"
        };
        let aslr = if p.aslr_off() || p.no_aslr {
            "with ASLR off the regions stay put from run to run"
        } else {
            "ASLR moves the regions from run to run"
        };
        let claim = format!(
            "the regions lie in the slide's order; after fork the same &value holds different values in parent and child{copied}; {aslr}"
        );
        let Some(cow) = &self.cow else {
            return Verdict::unchecked(claim, "the run stopped before the fork");
        };
        let (misplaced, disorder) = (self.misplaced(), self.out_of_order());
        let mut parts = Vec::new();
        let mut held = true;
        if misplaced.is_empty() && disorder.is_empty() {
            parts.push(
                "every probe lay in its region, code < data < bss < heap < mmap and libc < stack"
                    .to_string(),
            );
        } else {
            held = false;
            if !misplaced.is_empty() {
                parts.push(format!("misplaced: {}", misplaced.join(", ")));
            }
            if !disorder.is_empty() {
                parts.push(format!("out of order: {}", disorder.join(", ")));
            }
        }
        if cow.same_address_different_values() {
            parts.push(format!(
                "&value {} held {} in the parent and {} in the child",
                hex(cow.parent_before.address),
                cow.parent_value,
                cow.child.wrote
            ));
        } else {
            held = false;
            parts
                .push("parent and child did not show the same &value with different values".into());
        }
        if self.frames_unreadable.is_some() {
            parts.push("the frame numbers read as 0 (not checked)".into());
        } else if cow.copied() {
            parts.push(format!(
                "frame {} shared before the write, {} the child's after",
                hex(cow.parent_before.pfn),
                hex(cow.child.after.pfn)
            ));
        } else {
            held = false;
            parts.push(format!(
                "the frames were not copied on write (parent {}, child {} then {})",
                hex(cow.parent_before.pfn),
                hex(cow.child.before.pfn),
                hex(cow.child.after.pfn)
            ));
        }
        let (aslr_held, seen) = self.aslr(p);
        held &= aslr_held;
        parts.push(seen);
        Verdict::check(claim, held, parts.join("; "))
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let l = &self.layout;
        let size = |k: &str| {
            l.probe(k)
                .and_then(|p| p.mapping.as_ref())
                .map_or("-".into(), |m| fmt_bytes(m.size()))
        };
        let mut text = format!(
            "every process sees the same layout in its own virtual address space: code ({}) at the bottom, data and bss, the heap ({}) growing up from brk, the mmap area with libc and the 1 MiB allocation, the stack ({}) at the top",
            size("code"),
            size("heap"),
            size("stack")
        );
        if let Some(c) = &self.cow {
            if self.frames_unreadable.is_none() && c.copied() {
                text.push_str(&format!(
                    "; a virtual address names a page of this process only: after fork &value was the same in both, on one frame ({}) until the child's write gave it its own ({})",
                    hex(c.parent_before.pfn),
                    hex(c.child.after.pfn)
                ));
            } else {
                text.push_str("; a virtual address names a page of this process only: after fork &value was the same in both, yet the values differed after the child's write");
            }
        }
        match self.moved() {
            Some((moved, _)) if !moved.is_empty() && !p.aslr_off() => text.push_str(&format!(
                "; ASLR picks new bases at every exec ({} moved in a second run), so an attacker cannot guess an address; --no-aslr turns it off for one program",
                crate::kit::words::count(moved.len() as u64, "region")
            )),
            Some((moved, stayed)) if moved.is_empty() && !stayed.is_empty() => text.push_str(
                "; with the addresses fixed (ASLR off), every run puts each region at the same address",
            ),
            _ => {}
        }
        text
    }

    fn compare(&self, _p: &Params) -> String {
        "cat /proc/self/maps; pmap -x $$; setarch -R cat /proc/self/maps   (ASLR off for one command)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Probe> {
        self.layout.probes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(aslr: &str) -> Params {
        Params {
            no_aslr: aslr != "on",
            aslr: aslr.into(),
            randomize_va_space: Some(2),
        }
    }

    fn mapping(start: u64, end: u64, perms: &str, name: &str) -> Mapping {
        Mapping {
            start,
            end,
            perms: perms.into(),
            name: name.into(),
        }
    }

    /// A layout as a real run gives it, with the stack at `shift` from the usual top.
    fn layout(shift: u64) -> Layout {
        let maps = vec![
            mapping(0x5000 + shift, 0x9000 + shift, "r-xp", "/bin/address_space"),
            mapping(0xa000 + shift, 0xc000 + shift, "rw-p", "/bin/address_space"),
            mapping(0xc000 + shift, 0x1c000 + shift, "rw-p", ""),
            mapping(0x80000 + shift, 0xa0000 + shift, "rw-p", "[heap]"),
            mapping(0x7000_0000 + shift, 0x7400_0000 + shift, "rw-p", ""),
            mapping(
                0x7500_0000 + shift,
                0x7520_0000 + shift,
                "r-xp",
                "/lib/libc.so.6",
            ),
            mapping(0x7600_0000 + shift, 0x7600_2000 + shift, "r-xp", "[vdso]"),
            mapping(0x7ff0_0000 + shift, 0x7ff2_0000 + shift, "rw-p", "[stack]"),
        ];
        let mm = Mm {
            start_code: 0x5000 + shift,
            end_code: 0x9000 + shift,
            start_data: 0xa000 + shift,
            end_data: 0xb800 + shift,
            start_brk: 0x80000 + shift,
            start_stack: 0x7ff1_0000 + shift,
        };
        let exe = std::path::Path::new("/bin/address_space");
        let probes = [
            ("code", 0x6000),
            ("data", 0xb000),
            ("bss", 0x10000),
            ("heap", 0x80010),
            ("mmap", 0x7000_0010),
            ("shared library", 0x7500_1000),
            ("vdso", 0x7600_0000),
            ("stack", 0x7ff1_f000),
        ]
        .iter()
        .map(|(k, a)| place(Probe::new(k, k, (a + shift) as usize), &maps, &mm, exe))
        .collect();
        Layout {
            pid: 7,
            probes,
            mm,
            bases: bases(&maps, &mm, exe),
        }
    }

    fn frame(pfn: u64) -> Frame {
        Frame {
            address: 0xb000,
            present: true,
            pfn,
        }
    }

    fn cow(parent: u64, child_before: u64, child_after: u64) -> Cow {
        Cow::new(
            frame(parent),
            ChildSaw {
                pid: 8,
                before: frame(child_before),
                read: 1,
                after: frame(child_after),
                wrote: 2,
                error: None,
            },
            frame(parent),
            1,
        )
    }

    fn results(second_shift: u64, cow: Cow) -> Results {
        let unreadable = (cow.parent_before.pfn == 0).then(|| "no CAP_SYS_ADMIN".to_string());
        Results {
            layout: layout(0),
            second: Some(layout(second_shift)),
            second_error: None,
            cow: Some(cow),
            frames_unreadable: unreadable,
        }
    }

    #[test]
    fn every_probe_lands_in_its_region() {
        let l = layout(0);
        for p in &l.probes {
            assert_eq!(p.region, p.kind, "{p:?}");
        }
        assert_eq!(l.base("executable"), Some(0x5000));
        assert_eq!(l.base("stack"), Some(0x7ff2_0000));
        assert_eq!(l.base("mmap (libc)"), Some(0x7500_0000));
    }

    #[test]
    fn the_layout_the_fork_and_aslr_hold_together() {
        let r = results(0x10_0000, cow(0x100, 0x100, 0x200));
        let (v, lesson, lines) = crate::testing::judge(&r, &params("on"));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("frame 0x100 shared before the write, 0x200"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("other addresses (ASLR)"),
            "{}",
            v.because
        );
        assert!(lesson.contains("5 regions moved"), "{lesson}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("[stack]") || l.contains("stack (")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_frame_not_copied_or_regions_that_did_not_move_do_not_hold() {
        let r = results(0x10_0000, cow(0x100, 0x100, 0x100));
        let (v, _, _) = crate::testing::judge(&r, &params("on"));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("not copied on write"), "{}", v.because);
        let r = results(0, cow(0x100, 0x100, 0x200));
        let (v, _, _) = crate::testing::judge(&r, &params("on"));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("at the same addresses"), "{}", v.because);
        // With ASLR off, the same addresses are the claim.
        let (v, lesson, _) = crate::testing::judge(&r, &params("off (ADDR_NO_RANDOMIZE)"));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(lesson.contains("ASLR off"), "{lesson}");
        let r = results(0x10_0000, cow(0x100, 0x100, 0x200));
        let (v, _, _) = crate::testing::judge(&r, &params("off (ADDR_NO_RANDOMIZE)"));
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    #[test]
    fn a_refused_no_aslr_does_not_hold_and_says_why() {
        let r = results(0x10_0000, cow(0x100, 0x100, 0x200));
        let refused =
            "on: personality(ADDR_NO_RANDOMIZE) was refused (EPERM: Operation not permitted)";
        let (v, _, _) = crate::testing::judge(&r, &params(refused));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.claim.contains("with ASLR off"), "{}", v.claim);
        assert!(
            v.because
                .contains("--no-aslr could not turn ASLR off: it is on: personality"),
            "{}",
            v.because
        );
    }

    #[test]
    fn unreadable_frames_are_said_and_not_judged() {
        let r = results(0x10_0000, cow(0, 0, 0));
        let (v, _, lines) = crate::testing::judge(&r, &params("on"));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.contains("read as 0 (not checked)"),
            "{}",
            v.because
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("frames: the frame numbers read as 0"))
        );
    }

    #[test]
    fn a_probe_out_of_place_does_not_hold() {
        let mut r = results(0x10_0000, cow(0x100, 0x100, 0x200));
        r.layout.probes[3].region = "mmap".into();
        r.layout.probes[3].address = 0x7000_0020;
        let (v, _, _) = crate::testing::judge(&r, &params("on"));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("misplaced: heap (heap) in mmap"),
            "{}",
            v.because
        );
        assert!(v.because.contains("out of order: heap"), "{}", v.because);
    }

    #[test]
    fn the_pages_own_value_sits_alone() {
        static V: OwnPage = OwnPage::new(1);
        assert_eq!(V.address() % 4096, 0);
        assert_eq!(std::mem::size_of::<OwnPage>(), 4096);
    }
}
