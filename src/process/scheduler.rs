//! Scheduling attributes: asking the kernel for a policy, a nice value, locked memory or a timer
//! slack; explaining a refusal (which capability was missing and what the demo does instead);
//! reading back what is actually in force; and CFS's weight table, which predicts how two
//! CPU-bound tasks of different nice values share a CPU.
//!
//! A refused privilege is never a silent fallback: [`Refusal`] carries the message the demo
//! prints and reports.

use std::fs;

use nix::errno::Errno;
use serde::Serialize;

use crate::kit::machine::{current_cpu, policy_name};
use crate::sys;
use crate::{Error, Result};

/// A scheduling policy a demo can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// SCHED_OTHER: CFS/EEVDF, shares by nice weight.
    Other,
    /// SCHED_FIFO: real time; runs until it blocks or a higher priority wants the CPU.
    Fifo,
    /// SCHED_RR: real time with time slices among equal priorities.
    Rr,
}

impl Policy {
    /// The kernel's number for it.
    pub fn raw(self) -> i32 {
        match self {
            Policy::Other => libc::SCHED_OTHER,
            Policy::Fifo => libc::SCHED_FIFO,
            Policy::Rr => libc::SCHED_RR,
        }
    }

    /// `SCHED_FIFO`, ...
    pub fn name(self) -> &'static str {
        policy_name(self.raw())
    }

    /// True for the real-time policies.
    pub fn is_realtime(self) -> bool {
        self != Policy::Other
    }
}

/// A request the kernel turned down, and what the demo does about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// What was asked, e.g. `SCHED_FIFO priority 80`.
    pub request: String,
    /// The errno, e.g. `EPERM`.
    pub errno: String,
    /// The capability that would have allowed it, if one would.
    pub capability: Option<&'static str>,
    /// The whole explanation, as printed.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The privileged requests the demos make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privileged {
    /// A real-time policy at this priority (CAP_SYS_NICE or RLIMIT_RTPRIO).
    Realtime(Policy, i32),
    /// A nice value below 0 (CAP_SYS_NICE or RLIMIT_NICE).
    Nice(i32),
    /// mlockall(MCL_CURRENT | MCL_FUTURE) (CAP_IPC_LOCK beyond RLIMIT_MEMLOCK).
    LockMemory,
    /// A CPU idle-latency limit through /dev/cpu_dma_latency (root: the file is 0600 root).
    IdleLatency(i32),
}

impl Privileged {
    /// The request in words.
    pub fn request(self) -> String {
        match self {
            Privileged::Realtime(p, prio) => format!("{} priority {prio}", p.name()),
            Privileged::Nice(n) => format!("nice {n}"),
            Privileged::LockMemory => "mlockall(MCL_CURRENT | MCL_FUTURE)".into(),
            Privileged::IdleLatency(us) => {
                format!("a CPU idle latency of {us} µs (/dev/cpu_dma_latency)")
            }
        }
    }
}

/// Explains a refusal of `what`: the errno, the capability (and resource limit) that would have
/// allowed it, how to get it, and `instead`: what the demo does now.
pub fn refusal(what: Privileged, errno: Errno, instead: &str) -> Refusal {
    let request = what.request();
    let denied = matches!(errno, Errno::EPERM | Errno::EACCES)
        || (what == Privileged::LockMemory && errno == Errno::ENOMEM);
    // Lowering the nice value is what needs the privilege: below 0 from the usual 0, but below
    // anything from a nice value inherited from the parent (`nice -n 10 demo`).
    let now = sys::sched::nice().unwrap_or(0);
    let inherited = matches!(what, Privileged::Nice(n) if now > 0 && n < now);
    let (capability, why) = match what {
        Privileged::Realtime(_, prio) => (
            "CAP_SYS_NICE",
            format!(
                "real-time policies need CAP_SYS_NICE, or an RLIMIT_RTPRIO of at least {prio} \
                 (`ulimit -r`, now {})",
                limit_text(nix::sys::resource::Resource::RLIMIT_RTPRIO, 1)
            ),
        ),
        Privileged::Nice(n) => {
            let rlimit = limit_text(nix::sys::resource::Resource::RLIMIT_NICE, 1);
            let why = if inherited {
                format!(
                    "this process runs at nice {now}, inherited from whatever started it (`nice -n {now}`, a niced shell), and nice {n} is lower: lowering a nice value needs CAP_SYS_NICE, or an RLIMIT_NICE that allows it (`ulimit -e`, now {rlimit}); run it at nice 0 (without the outer `nice`)"
                )
            } else {
                format!(
                    "a nice value below 0 needs CAP_SYS_NICE, or an RLIMIT_NICE that allows it \
                     (`ulimit -e`, now {rlimit})"
                )
            };
            ("CAP_SYS_NICE", why)
        }
        Privileged::LockMemory => (
            "CAP_IPC_LOCK",
            format!(
                "locking more memory than RLIMIT_MEMLOCK (`ulimit -l`, now {}) needs CAP_IPC_LOCK",
                limit_text(nix::sys::resource::Resource::RLIMIT_MEMLOCK, 1024)
            ),
        ),
        Privileged::IdleLatency(_) => (
            "CAP_DAC_OVERRIDE",
            "/dev/cpu_dma_latency belongs to root with mode 0600: only root (or CAP_DAC_OVERRIDE) \
             may open it"
                .to_string(),
        ),
    };
    let how = match what {
        // Granting a binary DAC override is far more than this request needs: say root.
        Privileged::IdleLatency(_) => "run as root".to_string(),
        _ => format!(
            "{}run as root or grant it with `sudo setcap {}+ep <binary>`",
            if inherited { "or " } else { "" },
            capability.to_lowercase()
        ),
    };
    let message = if denied {
        format!(
            "{request} was refused ({errno:?}: {}): {why}; {how}. Instead, {instead}",
            errno.desc(),
        )
    } else {
        format!(
            "{request} failed ({errno:?}: {}). Instead, {instead}",
            errno.desc()
        )
    };
    Refusal {
        request,
        errno: format!("{errno:?}"),
        capability: denied.then_some(capability),
        message,
    }
}

/// A resource limit as `ulimit` shows it (`unlimited`, or the soft limit divided by `unit`).
fn limit_text(resource: nix::sys::resource::Resource, unit: u64) -> String {
    match nix::sys::resource::getrlimit(resource) {
        Ok((soft, _)) if soft == libc::RLIM_INFINITY => "unlimited".into(),
        Ok((soft, _)) => (soft / unit).to_string(),
        Err(_) => "unknown".into(),
    }
}

/// The first refusal among threads that each ask for a policy or nice value: kept for the run's
/// end, when it becomes the run's error (nothing measured under settings not in force).
#[derive(Debug, Default)]
pub struct FirstRefusal(std::sync::Mutex<Option<Refusal>>);

impl FirstRefusal {
    /// Keeps `r` unless one was kept already.
    pub fn keep(&self, r: Refusal) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(r);
        }
    }

    /// Err with the kept refusal's message, if there is one.
    pub fn check(&self) -> Result<()> {
        let kept = self
            .0
            .lock()
            .map_err(|_| Error::WorkerPanicked { index: 0 })?
            .take();
        match kept {
            Some(r) => Err(Error::Limit(r.to_string())),
            None => Ok(()),
        }
    }
}

/// Puts the calling thread under `policy` at `priority` (0 for SCHED_OTHER). A refusal is
/// explained with `instead`; any other failure too, since the demo goes on either way.
pub fn request_policy(
    policy: Policy,
    priority: i32,
    instead: &str,
) -> std::result::Result<(), Refusal> {
    let prio = if policy.is_realtime() { priority } else { 0 };
    sys::sched::set_scheduler(policy.raw(), prio)
        .map_err(|e| refusal(Privileged::Realtime(policy, prio), e, instead))
}

/// Sets the calling thread's nice value; going below 0 is privileged.
pub fn request_nice(nice: i32, instead: &str) -> std::result::Result<(), Refusal> {
    sys::sched::set_nice(nice).map_err(|e| refusal(Privileged::Nice(nice), e, instead))
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE)`: no page of the process is paged out, and new ones are
/// faulted in and locked when mapped.
/// RLIMIT_MEMLOCK is checked first: what is mapped now plus `growth` bytes mapped later must
/// fit (a later allocation beyond it would fail, and Rust aborts on a failed allocation), or
/// the request is refused, naming the limit.
pub fn request_mlockall(growth: u64, instead: &str) -> std::result::Result<(), Refusal> {
    use nix::sys::mman::{MlockAllFlags, mlockall};
    if let Err(e) = crate::process::limits::check_memlock(growth) {
        let request = Privileged::LockMemory.request();
        return Err(Refusal {
            message: format!(
                "{request} was not asked for: {e}; run as root or grant it with `sudo setcap cap_ipc_lock+ep <binary>`. Instead, {instead}"
            ),
            request,
            errno: "ENOMEM".into(),
            capability: Some("CAP_IPC_LOCK"),
        });
    }
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
        .map_err(|e| refusal(Privileged::LockMemory, e, instead))
}

/// `munlockall()`: what [`request_mlockall`] locked may be paged again, and later allocations
/// are no longer locked (nor counted against RLIMIT_MEMLOCK). It cannot fail in a way that
/// matters: memory that was not locked stays unlocked.
pub fn unlock_memory() {
    let _ = nix::sys::mman::munlockall();
}

/// A CPU idle-latency limit held through `/dev/cpu_dma_latency` (the kernel's PM QoS
/// interface): while the file stays open, idle CPUs stay in states they can leave within the
/// limit (0: they poll instead of halting), so a wakeup does not first wait for its CPU to wake.
/// cyclictest holds 0 by default. Dropping this lets the limit go.
pub struct IdleLatency {
    _file: fs::File,
}

/// Opens `/dev/cpu_dma_latency` and writes `us` (a 32-bit value), holding it until dropped.
pub fn request_idle_latency(us: i32, instead: &str) -> std::result::Result<IdleLatency, Refusal> {
    use std::io::Write;
    let refused = |e: std::io::Error| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        refusal(Privileged::IdleLatency(us), errno, instead)
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open("/dev/cpu_dma_latency")
        .map_err(refused)?;
    file.write_all(&us.to_ne_bytes()).map_err(refused)?;
    Ok(IdleLatency { _file: file })
}

/// The CPU idle-latency limit in force (µs), if it can be read and any is set: the smallest
/// of all holders' requests (2000000000 means none).
fn idle_latency_limit() -> Option<i32> {
    let bytes = fs::read("/dev/cpu_dma_latency").ok()?;
    let us = i32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?);
    (us < 2_000_000_000).then_some(us)
}

/// `prctl(PR_SET_TIMERSLACK, ns)`: how late the kernel may fire our timers to batch wakeups
/// (default 50 µs for normal tasks; ignored for real-time ones). Unprivileged.
pub fn set_timer_slack(ns: u64) -> Result<()> {
    nix::sys::prctl::set_timerslack(ns as libc::c_ulong).map_err(|e| Error::sys("prctl", e))
}

/// In a freshly forked worker child: die with the parent (PR_SET_PDEATHSIG SIGKILL, so a demo
/// killed with SIGKILL leaves no busy loop behind) and run only on `cpu`.
pub fn child_on_cpu(cpu: usize) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| Error::sys("prctl", e))?;
    if nix::unistd::getppid().as_raw() == 1 {
        return Err(Error::Limit(
            "the parent died before the child started".into(),
        ));
    }
    crate::kit::cli::CpuList(vec![cpu]).pin_current_thread()
}

/// Where a demo's tasks go: the first CPU of `--cpu` (or of the usable ones), and another one
/// from the same list for a second placement or for the demo itself to watch from, if there is
/// one (`--cpu 0` means one CPU only).
pub fn placement(cpu: Option<&crate::kit::cli::CpuList>) -> Result<(usize, Option<usize>)> {
    let cpus = cpu.map_or_else(crate::kit::machine::usable_cpus, |list| list.0.clone());
    let first = *cpus
        .first()
        .ok_or_else(|| Error::Limit("no usable CPU".into()))?;
    Ok((first, cpus.iter().copied().find(|&c| c != first)))
}

/// Pins the calling thread to `cpu` and returns the mask it had, for [`restore_affinity`].
pub fn pin_self(cpu: usize) -> Result<nix::sched::CpuSet> {
    let pid = nix::unistd::Pid::from_raw(0);
    let previous =
        nix::sched::sched_getaffinity(pid).map_err(|e| Error::sys("sched_getaffinity", e))?;
    crate::kit::cli::CpuList(vec![cpu]).pin_current_thread()?;
    Ok(previous)
}

/// Puts back the mask [`pin_self`] returned.
pub fn restore_affinity(previous: &nix::sched::CpuSet) -> Result<()> {
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), previous)
        .map_err(|e| Error::sys("sched_setaffinity", e))
}

/// What is actually in force for the calling thread, read back from the kernel after asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InForce {
    /// `sched_getscheduler`.
    pub policy: String,
    /// `sched_getparam`: 1-99 under a real-time policy, 0 otherwise.
    pub priority: i32,
    /// `getpriority`.
    pub nice: i32,
    /// `prctl(PR_GET_TIMERSLACK)`, the calling thread's (what `/proc/self/timerslack_ns` shows
    /// for the main thread); the kernel ignores it for real-time tasks.
    pub timer_slack_ns: Option<u64>,
    /// `sched_getcpu` at the moment of reading.
    pub cpu: Option<usize>,
    /// `VmLck` of `/proc/self/status`: memory locked by mlock/mlockall, KiB.
    pub locked_kib: Option<u64>,
    /// The CPU idle-latency limit in force through /dev/cpu_dma_latency, µs (None: no limit,
    /// or not readable).
    pub idle_latency_us: Option<i32>,
}

impl InForce {
    /// Reads it all.
    pub fn read() -> InForce {
        let policy = sys::sched::policy().unwrap_or(-1);
        InForce {
            policy: policy_name(policy).to_string(),
            priority: sys::sched::priority().unwrap_or(0),
            nice: sys::sched::nice().unwrap_or(0),
            timer_slack_ns: nix::sys::prctl::get_timerslack()
                .ok()
                .and_then(|ns| u64::try_from(ns).ok()),
            cpu: current_cpu(),
            locked_kib: status_kib("VmLck:"),
            idle_latency_us: idle_latency_limit(),
        }
    }

    /// True under SCHED_FIFO or SCHED_RR.
    pub fn is_realtime(&self) -> bool {
        self.policy == "SCHED_FIFO" || self.policy == "SCHED_RR"
    }

    /// One line: `SCHED_FIFO priority 80, nice 0, timer slack 50000 ns (ignored for real-time
    /// tasks), 2.1 MiB locked, on CPU 1`.
    pub fn describe(&self) -> String {
        let mut s = self.policy.clone();
        if self.is_realtime() {
            s.push_str(&format!(" priority {}", self.priority));
        }
        s.push_str(&format!(", nice {}", self.nice));
        if let Some(slack) = self.timer_slack_ns {
            s.push_str(&format!(", timer slack {slack} ns"));
            if self.is_realtime() {
                s.push_str(" (real-time tasks get no slack)");
            }
        }
        match self.locked_kib {
            Some(0) | None => s.push_str(", memory not locked"),
            Some(kib) => s.push_str(&format!(
                ", {} locked",
                crate::kit::timing::sig3(kib as f64 / 1024.0) + " MiB"
            )),
        }
        if let Some(us) = self.idle_latency_us {
            s.push_str(&format!(", CPU idle latency held at {us} µs"));
        }
        if let Some(cpu) = self.cpu {
            s.push_str(&format!(", on CPU {cpu}"));
        }
        s
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// CFS weights

/// The kernel's `sched_prio_to_weight[40]` (kernel/sched/core.c), nice -20 to 19: each step of
/// nice is about 1.25× less CPU (10% of the share between two tasks one nice apart). Nice 0 is
/// 1024. Two CPU-bound tasks on one CPU get shares in proportion to their weights.
pub const SCHED_PRIO_TO_WEIGHT: [u32; 40] = [
    /* -20 */ 88761, 71755, 56483, 46273, 36291, //
    /* -15 */ 29154, 23254, 18705, 14949, 11916, //
    /* -10 */ 9548, 7620, 6100, 4904, 3906, //
    /*  -5 */ 3121, 2501, 1991, 1586, 1277, //
    /*   0 */ 1024, 820, 655, 526, 423, //
    /*   5 */ 335, 272, 215, 172, 137, //
    /*  10 */ 110, 87, 70, 56, 45, //
    /*  15 */ 36, 29, 23, 18, 15, //
];

/// The weight of a nice value (clamped to -20..=19).
pub fn weight(nice: i32) -> u32 {
    SCHED_PRIO_TO_WEIGHT[(nice.clamp(-20, 19) + 20) as usize]
}

/// The shares CFS predicts for two always-runnable tasks on one CPU: w(a)/(w(a)+w(b)) and the
/// rest. Nice 0 against nice 5: 1024/1359 = 75.3% and 24.7%.
pub fn cfs_shares(nice_a: i32, nice_b: i32) -> (f64, f64) {
    let (a, b) = (f64::from(weight(nice_a)), f64::from(weight(nice_b)));
    (a / (a + b), b / (a + b))
}

/// The real-time throttle: `kernel.sched_rt_runtime_us` of every `sched_rt_period_us`
/// (950000 of 1000000 by default: real-time tasks get at most 95% of each CPU; -1: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RtLimits {
    pub runtime_us: i64,
    pub period_us: i64,
    /// `kernel.sched_rr_timeslice_ms`: SCHED_RR's time slice.
    pub rr_timeslice_ms: Option<i64>,
}

impl RtLimits {
    /// Reads them from /proc/sys/kernel.
    pub fn read() -> Option<RtLimits> {
        let read = |name: &str| -> Option<i64> {
            fs::read_to_string(format!("/proc/sys/kernel/{name}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(RtLimits {
            runtime_us: read("sched_rt_runtime_us")?,
            period_us: read("sched_rt_period_us")?,
            rr_timeslice_ms: read("sched_rr_timeslice_ms"),
        })
    }

    /// The most a real-time task may have of a CPU (1.0 when unthrottled).
    pub fn rt_share(&self) -> f64 {
        if self.runtime_us < 0 || self.period_us <= 0 {
            1.0
        } else {
            self.runtime_us as f64 / self.period_us as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_table_predicts_the_lecture_split() {
        assert_eq!(weight(0), 1024);
        assert_eq!(weight(5), 335);
        assert_eq!(weight(-20), 88761);
        assert_eq!(weight(19), 15);
        let (a, b) = cfs_shares(0, 5);
        assert!(
            (a - 0.753).abs() < 0.0005 && (b - 0.247).abs() < 0.0005,
            "{a} {b}"
        );
        let (a, _) = cfs_shares(0, 10);
        assert!((a - 0.903).abs() < 0.0005, "{a}");
        // Each step is about 1.25×: the ratio depends only on the difference.
        for n in -20..19 {
            let r = f64::from(weight(n)) / f64::from(weight(n + 1));
            assert!((1.15..1.35).contains(&r), "nice {n}: {r}");
        }
    }

    #[test]
    fn a_refused_realtime_policy_names_the_capability_and_what_happens_instead() {
        let r = refusal(
            Privileged::Realtime(Policy::Fifo, 80),
            Errno::EPERM,
            "the demo goes on under SCHED_OTHER",
        );
        assert_eq!(r.request, "SCHED_FIFO priority 80");
        assert_eq!(r.errno, "EPERM");
        assert_eq!(r.capability, Some("CAP_SYS_NICE"));
        assert!(
            r.message
                .starts_with("SCHED_FIFO priority 80 was refused (EPERM"),
            "{r}"
        );
        assert!(r.message.contains("CAP_SYS_NICE"), "{r}");
        assert!(r.message.contains("RLIMIT_RTPRIO of at least 80"), "{r}");
        assert!(r.message.contains("setcap cap_sys_nice+ep"), "{r}");
        assert!(
            r.message
                .ends_with("Instead, the demo goes on under SCHED_OTHER"),
            "{r}"
        );
    }

    #[test]
    fn refused_nice_and_mlock_name_their_capabilities() {
        let r = refusal(Privileged::Nice(-5), Errno::EACCES, "it stops");
        assert_eq!(r.capability, Some("CAP_SYS_NICE"));
        assert!(r.message.contains("nice -5 was refused (EACCES"), "{r}");
        let r = refusal(
            Privileged::LockMemory,
            Errno::ENOMEM,
            "memory stays unlocked",
        );
        assert_eq!(r.capability, Some("CAP_IPC_LOCK"));
        assert!(r.message.contains("RLIMIT_MEMLOCK"), "{r}");
        let r = refusal(
            Privileged::IdleLatency(0),
            Errno::EACCES,
            "CPUs may sleep deeply",
        );
        assert_eq!(r.capability, Some("CAP_DAC_OVERRIDE"));
        assert!(r.message.contains("/dev/cpu_dma_latency"), "{r}");
        assert!(
            r.message
                .contains("run as root. Instead, CPUs may sleep deeply"),
            "{r}"
        );
        // An error that is not about privilege blames no capability.
        let r = refusal(Privileged::Realtime(Policy::Rr, 10), Errno::EINVAL, "x");
        assert_eq!(r.capability, None);
        assert!(!r.message.contains("CAP_"), "{r}");
    }

    #[test]
    fn what_is_in_force_reads_back() {
        std::thread::spawn(|| {
            set_timer_slack(1000).unwrap();
            let now = InForce::read();
            assert_eq!(now.policy, "SCHED_OTHER");
            assert_eq!(now.priority, 0);
            assert_eq!(now.timer_slack_ns, Some(1000));
            assert!(now.cpu.is_some());
            assert!(
                now.describe().starts_with("SCHED_OTHER, nice"),
                "{}",
                now.describe()
            );
        })
        .join()
        .unwrap();
        let rt = RtLimits::read().unwrap();
        assert!(rt.rt_share() > 0.0 && rt.rt_share() <= 1.0);
    }
}
