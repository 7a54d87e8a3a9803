//! The limits to check before creating processes or mapping memory: the pids cgroup,
//! RLIMIT_NPROC, the kernel's thread and PID maximums, and MemAvailable.

use procfs::Current;
use serde::Serialize;

use crate::{Error, Result};

/// How many more processes this user may create, and which limit says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Headroom {
    /// The smallest of the limits below, minus what is in use.
    pub available: u64,
    /// Which limit that is (`pids.max of cgroup /x`, `RLIMIT_NPROC`, `kernel.threads-max`).
    pub limited_by: String,
}

/// Reads the limits on new processes: the pids cgroup controller, RLIMIT_NPROC (not enforced
/// for root), and the kernel's thread and PID maximums.
pub fn headroom() -> Headroom {
    let mut best = Headroom {
        available: u64::MAX,
        limited_by: "no limit".into(),
    };
    let mut consider = |available: u64, what: String| {
        if available < best.available {
            best = Headroom {
                available,
                limited_by: what,
            };
        }
    };
    if let Some((max, current, path)) = pids_cgroup() {
        consider(
            max.saturating_sub(current),
            format!("the pids cgroup {path} (pids.max {max}, {current} in use)"),
        );
    }
    if !nix::unistd::geteuid().is_root()
        && let Ok((soft, _)) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        && soft != libc::RLIM_INFINITY
    {
        let mine = processes_of_this_user();
        consider(
            soft.saturating_sub(mine),
            format!("RLIMIT_NPROC ({soft}, {mine} in use by this user)"),
        );
    }
    for (file, what) in [
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
    ] {
        if let Some(max) = read_u64(file) {
            let used = procfs::LoadAverage::current().map_or(0, |l| u64::from(l.max));
            consider(
                max.saturating_sub(used),
                format!("{what} ({max}, {used} in use)"),
            );
        }
    }
    best
}

/// Fails with a clear message if `n` more processes cannot be created.
pub fn check_can_create(n: u64) -> Result<()> {
    let room = headroom();
    if n > room.available {
        return Err(Error::Limit(format!(
            "{n} new processes do not fit: only {} more are allowed by {}",
            room.available, room.limited_by
        )));
    }
    Ok(())
}

/// Memory the kernel estimates it can give without swapping (`MemAvailable`), in bytes.
pub fn mem_available() -> Result<u64> {
    procfs::Meminfo::current()
        .map_err(|e| Error::proc("/proc/meminfo", e))?
        .mem_available
        .ok_or_else(|| Error::Limit("/proc/meminfo has no MemAvailable".into()))
}

/// Fails with a clear message if `bytes` of memory, for `what`, would not fit in MemAvailable.
pub fn check_memory(bytes: u64, what: &str) -> Result<()> {
    let available = mem_available()?;
    if bytes > available {
        return Err(Error::Limit(format!(
            "{what} needs {} MiB but only {} MiB is available (MemAvailable in /proc/meminfo)",
            bytes >> 20,
            available >> 20
        )));
    }
    Ok(())
}

/// The pids controller of our cgroup: (pids.max, pids.current, cgroup path), if limited.
fn pids_cgroup() -> Option<(u64, u64, String)> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    // cgroup v2: a single line `0::/path`.
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .to_string();
    let dir = format!("/sys/fs/cgroup{path}");
    let max = read_u64(&format!("{dir}/pids.max"))?; // "max" (no limit) does not parse
    let current = read_u64(&format!("{dir}/pids.current"))?;
    Some((max, current, path))
}

fn processes_of_this_user() -> u64 {
    let uid = nix::unistd::getuid().as_raw();
    procfs::process::all_processes()
        .map(|all| {
            all.flatten()
                .filter(|p| p.uid().is_ok_and(|u| u == uid))
                .count() as u64
        })
        .unwrap_or(0)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_room_for_one_more_process() {
        let room = headroom();
        assert!(room.available > 0, "{room:?}");
        assert!(check_can_create(1).is_ok());
        assert!(check_can_create(u64::MAX).is_err());
    }

    #[test]
    fn memory_checks_refuse_the_impossible() {
        assert!(mem_available().unwrap() > 0);
        assert!(check_memory(1 << 20, "a test").is_ok());
        let err = check_memory(u64::MAX, "a test").unwrap_err().to_string();
        assert!(err.contains("MemAvailable"), "{err}");
    }
}
