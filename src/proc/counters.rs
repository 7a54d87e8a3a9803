//! The kernel's own counters for a process: a snapshot and the difference of two snapshots.
//!
//! These are the numbers the lecture asks students to read from a second terminal
//! (`/proc/PID/stat` field 10 for minor faults, `voluntary_ctxt_switches` in `/proc/PID/status`),
//! read by the demo itself.
//!
//! One subtlety shapes this module: `/proc/PID/status` reports the context switches of the
//! process's *main thread only*. For our own process we therefore take context switches and CPU
//! time from `getrusage(RUSAGE_SELF)`, which sums every thread, including threads that have
//! already exited. For another process we sum `/proc/PID/task/*/status` over its live threads.

use std::time::Duration;

use nix::sys::resource::{Usage, UsageWho, getrusage};
use nix::unistd::Pid;
use procfs::process::Process;
use serde::Serialize;

use crate::{Error, Result};

/// One reading of a process's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Minor page faults (`/proc/PID/stat` field 10): resolved without I/O.
    pub minflt: u64,
    /// Major page faults (field 12): the page had to be read from disk.
    pub majflt: u64,
    /// Times a thread gave up the CPU because it blocked (a lock, a sleep, I/O).
    pub voluntary_cs: u64,
    /// Times the scheduler took the CPU away from a thread that still wanted it.
    pub nonvoluntary_cs: u64,
    /// Threads alive now.
    pub threads: u64,
    /// Resident set size now, in KiB.
    pub rss_kib: u64,
    /// CPU time spent in user mode, in microseconds.
    pub utime_us: u64,
    /// CPU time spent in the kernel on the process's behalf, in microseconds.
    pub stime_us: u64,
}

/// What changed between two snapshots. Faults, switches and CPU time only grow; threads and
/// RSS can shrink, so they are signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub minflt: u64,
    pub majflt: u64,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub threads: i64,
    pub rss_kib: i64,
    pub utime_us: u64,
    pub stime_us: u64,
}

impl Snapshot {
    /// Our own process: faults, threads and RSS from `/proc/self/stat`, context switches and CPU
    /// time from `getrusage(RUSAGE_SELF)` (every thread, the exited ones included).
    pub fn of_self() -> Result<Snapshot> {
        let me = Process::myself().map_err(|e| Error::proc("/proc/self", e))?;
        let stat = me.stat().map_err(|e| Error::proc("/proc/self/stat", e))?;
        let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(|e| Error::sys("getrusage", e))?;
        Ok(Snapshot {
            minflt: stat.minflt,
            majflt: stat.majflt,
            voluntary_cs: usage.voluntary_context_switches().max(0) as u64,
            nonvoluntary_cs: usage.involuntary_context_switches().max(0) as u64,
            threads: stat.num_threads.max(0) as u64,
            rss_kib: stat.rss * procfs::page_size() / 1024,
            utime_us: timeval_us(usage.user_time()),
            stime_us: timeval_us(usage.system_time()),
        })
    }

    /// Another process, from `/proc/PID/stat` and the `status` file of each of its live threads.
    pub fn of(pid: Pid) -> Result<Snapshot> {
        let where_ = format!("/proc/{pid}");
        let process = Process::new(pid.as_raw()).map_err(|e| Error::proc(&where_, e))?;
        let stat = process
            .stat()
            .map_err(|e| Error::proc(format!("{where_}/stat"), e))?;
        let (mut voluntary, mut nonvoluntary) = (0, 0);
        let tasks = process
            .tasks()
            .map_err(|e| Error::proc(format!("{where_}/task"), e))?;
        // A thread can exit between listing and reading: skip it, its switches are gone anyway.
        for status in tasks.flatten().filter_map(|t| t.status().ok()) {
            voluntary += status.voluntary_ctxt_switches.unwrap_or(0);
            nonvoluntary += status.nonvoluntary_ctxt_switches.unwrap_or(0);
        }
        let tick_us = 1_000_000 / procfs::ticks_per_second().max(1);
        Ok(Snapshot {
            minflt: stat.minflt,
            majflt: stat.majflt,
            voluntary_cs: voluntary,
            nonvoluntary_cs: nonvoluntary,
            threads: stat.num_threads.max(0) as u64,
            rss_kib: stat.rss * procfs::page_size() / 1024,
            utime_us: stat.utime * tick_us,
            stime_us: stat.stime * tick_us,
        })
    }

    /// What changed from `self` to `later`.
    pub fn delta(&self, later: &Snapshot) -> Delta {
        Delta {
            minflt: later.minflt.saturating_sub(self.minflt),
            majflt: later.majflt.saturating_sub(self.majflt),
            voluntary_cs: later.voluntary_cs.saturating_sub(self.voluntary_cs),
            nonvoluntary_cs: later.nonvoluntary_cs.saturating_sub(self.nonvoluntary_cs),
            threads: later.threads as i64 - self.threads as i64,
            rss_kib: later.rss_kib as i64 - self.rss_kib as i64,
            utime_us: later.utime_us.saturating_sub(self.utime_us),
            stime_us: later.stime_us.saturating_sub(self.stime_us),
        }
    }
}

impl Delta {
    /// Adds another delta (summing trials into a whole run).
    pub fn add(&mut self, other: &Delta) {
        self.minflt += other.minflt;
        self.majflt += other.majflt;
        self.voluntary_cs += other.voluntary_cs;
        self.nonvoluntary_cs += other.nonvoluntary_cs;
        self.threads += other.threads;
        self.rss_kib += other.rss_kib;
        self.utime_us += other.utime_us;
        self.stime_us += other.stime_us;
    }
}

/// The calling thread's own counters (`getrusage(RUSAGE_THREAD)`): what one worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ThreadUsage {
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub minflt: u64,
}

impl ThreadUsage {
    /// Reads the calling thread's counters.
    pub fn now() -> Result<ThreadUsage> {
        let usage = getrusage(UsageWho::RUSAGE_THREAD).map_err(|e| Error::sys("getrusage", e))?;
        Ok(ThreadUsage::from_usage(&usage))
    }

    fn from_usage(u: &Usage) -> ThreadUsage {
        ThreadUsage {
            voluntary_cs: u.voluntary_context_switches().max(0) as u64,
            nonvoluntary_cs: u.involuntary_context_switches().max(0) as u64,
            minflt: u.minor_page_faults().max(0) as u64,
        }
    }

    /// What changed from `self` to `later`.
    pub fn delta(&self, later: &ThreadUsage) -> ThreadUsage {
        ThreadUsage {
            voluntary_cs: later.voluntary_cs.saturating_sub(self.voluntary_cs),
            nonvoluntary_cs: later.nonvoluntary_cs.saturating_sub(self.nonvoluntary_cs),
            minflt: later.minflt.saturating_sub(self.minflt),
        }
    }
}

/// A `getrusage` time in µs.
pub fn timeval_us(tv: nix::sys::time::TimeVal) -> u64 {
    let d = Duration::from_secs(tv.tv_sec().max(0) as u64)
        + Duration::from_micros(tv.tv_usec().max(0) as u64);
    d.as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_fresh_pages_shows_minor_faults() {
        let before = Snapshot::of_self().unwrap();
        // 256 fresh pages, one byte each: at least one fault per page unless huge pages back it.
        let mut v = vec![0u8; 256 * 4096 * 4];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        let after = Snapshot::of_self().unwrap();
        let d = before.delta(&after);
        assert!(d.minflt > 0, "{d:?}");
        assert!(after.threads >= 1);
        assert!(after.rss_kib > 0);
    }

    #[test]
    fn another_process_reads_like_ourselves() {
        let me = nix::unistd::getpid();
        let snap = Snapshot::of(me).unwrap();
        assert!(snap.threads >= 1);
        assert!(snap.minflt > 0);
        assert!(Snapshot::of(Pid::from_raw(i32::MAX)).is_err());
    }

    #[test]
    fn a_sleeping_thread_switches_voluntarily() {
        let d = std::thread::spawn(|| {
            let before = ThreadUsage::now().unwrap();
            std::thread::sleep(Duration::from_millis(2));
            before.delta(&ThreadUsage::now().unwrap())
        })
        .join()
        .unwrap();
        assert!(d.voluntary_cs >= 1, "{d:?}");
    }

    #[test]
    fn deltas_add_up() {
        let a = Delta {
            minflt: 1,
            voluntary_cs: 2,
            threads: -1,
            ..Delta::default()
        };
        let mut sum = a;
        sum.add(&a);
        assert_eq!(sum.minflt, 2);
        assert_eq!(sum.voluntary_cs, 4);
        assert_eq!(sum.threads, -2);
    }
}
