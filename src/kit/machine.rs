//! The machine a report was measured on: kernel, CPUs, page size, THP mode, hypervisor,
//! scheduling policy. Every JSON report carries it, and the text mode prints the parts that
//! change how a figure should be read.

use std::fs;

use nix::sched::{CpuSet, sched_getaffinity};
use nix::unistd::{Pid, SysconfVar, sysconf};
use serde::Serialize;

use crate::sys;

/// A description of the system and of this process's place on it.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `uname -r`.
    pub kernel: String,
    /// `uname -v`: the build, which names the preemption model (`PREEMPT_DYNAMIC`, ...).
    pub kernel_version: String,
    /// The CPU's model name, from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs online.
    pub cpus_online: usize,
    /// CPUs this process may run on (its affinity mask), as a list like `0-1`.
    pub cpus_usable: String,
    /// How many CPUs that is.
    pub cpus_usable_count: usize,
    /// Bytes per page.
    pub page_size: u64,
    /// Transparent huge pages: `always`, `madvise` or `never`.
    pub thp: String,
    /// True when the CPU reports the `hypervisor` flag: we are a virtual machine.
    pub hypervisor: bool,
    /// The kernel's fair scheduler, by name: `EEVDF` (Linux 6.6 and later) or `CFS`.
    pub scheduler: String,
    /// The process's scheduling policy (`SCHED_OTHER`, `SCHED_FIFO`, ...).
    pub sched_policy: String,
    /// The process's nice value.
    pub nice: i32,
    /// The timer slack the kernel adds to our sleeps, in ns (`/proc/self/timerslack_ns`).
    pub timer_slack_ns: Option<u64>,
}

impl Machine {
    /// Reads it all. Parts that cannot be read come out as `unknown` rather than failing.
    pub fn collect() -> Machine {
        let usable = usable_cpus();
        let kernel = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            scheduler: scheduler_name(&kernel).to_string(),
            kernel,
            kernel_version: nix::sys::utsname::uname()
                .map(|u| u.version().to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            cpu_model: cpuinfo_field("model name").unwrap_or_else(|| "unknown".into()),
            cpus_online: sysconf(SysconfVar::_NPROCESSORS_ONLN)
                .ok()
                .flatten()
                .map_or(0, |n| n as usize),
            cpus_usable: fmt_cpu_list(&usable),
            cpus_usable_count: usable.len(),
            page_size: procfs::page_size(),
            thp: thp_mode().unwrap_or_else(|| "unknown".into()),
            hypervisor: cpuinfo_field("flags")
                .is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor")),
            sched_policy: sys::sched::policy()
                .map(policy_name)
                .unwrap_or("unknown")
                .to_string(),
            nice: sys::sched::nice().unwrap_or(0),
            timer_slack_ns: fs::read_to_string("/proc/self/timerslack_ns")
                .ok()
                .and_then(|s| s.trim().parse().ok()),
        }
    }

    /// The one-line caveat for figures measured in a virtual machine, if we are in one.
    pub fn hypervisor_note(&self) -> Option<&'static str> {
        self.hypervisor.then_some(
            "note: this is a virtual machine (the CPU reports a hypervisor): wakeups, page faults \
             and fork run well above bare-metal figures; compare ratios, not absolutes",
        )
    }
}

/// The fair scheduler a kernel release runs: EEVDF since Linux 6.6, CFS before (EEVDF kept CFS's
/// weight table).
pub fn scheduler_name(release: &str) -> &'static str {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= (6, 6) => "EEVDF",
        (Some(_), Some(_)) => "CFS",
        _ => "the fair scheduler",
    }
}

/// The CPUs this process may run on, in order.
pub fn usable_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The CPU the calling thread runs on right now (it may move the next instant).
pub fn current_cpu() -> Option<usize> {
    nix::sched::sched_getcpu().ok()
}

/// `0-3,6,8-9`: the kernel's own notation for a CPU list.
pub fn fmt_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// The name of a scheduling policy number.
pub fn policy_name(policy: i32) -> &'static str {
    match policy {
        libc::SCHED_OTHER => "SCHED_OTHER",
        libc::SCHED_FIFO => "SCHED_FIFO",
        libc::SCHED_RR => "SCHED_RR",
        libc::SCHED_BATCH => "SCHED_BATCH",
        libc::SCHED_IDLE => "SCHED_IDLE",
        6 => "SCHED_DEADLINE",
        _ => "unknown",
    }
}

/// The bracketed choice in `/sys/kernel/mm/transparent_hugepage/enabled`.
fn thp_mode() -> Option<String> {
    let text = fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    parse_bracketed(&text)
}

fn parse_bracketed(text: &str) -> Option<String> {
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

fn cpuinfo_field(name: &str) -> Option<String> {
    let text = fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_is_named_by_the_kernel_release() {
        assert_eq!(scheduler_name("6.18.44-fc-v1045"), "EEVDF");
        assert_eq!(scheduler_name("6.6.0"), "EEVDF");
        assert_eq!(scheduler_name("6.5.13-generic"), "CFS");
        assert_eq!(scheduler_name("5.15.0-91-generic"), "CFS");
        assert_eq!(scheduler_name("unknown"), "the fair scheduler");
    }

    #[test]
    fn cpu_lists_compress_runs() {
        assert_eq!(fmt_cpu_list(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(fmt_cpu_list(&[1]), "1");
        assert_eq!(fmt_cpu_list(&[]), "");
    }

    #[test]
    fn thp_mode_is_the_bracketed_word() {
        assert_eq!(
            parse_bracketed("always [madvise] never\n").as_deref(),
            Some("madvise")
        );
        assert_eq!(parse_bracketed("no brackets"), None);
    }

    #[test]
    fn this_machine_describes_itself() {
        let s = Machine::collect();
        assert!(s.cpus_usable_count >= 1);
        assert!(s.cpus_online >= s.cpus_usable_count);
        assert!(s.page_size >= 4096);
        assert_ne!(s.kernel, "unknown");
        assert_eq!(s.sched_policy, "SCHED_OTHER");
    }
}
