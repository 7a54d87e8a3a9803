//! The limits to check before creating processes or mapping memory: the pids cgroup (v1 and v2,
//! and every ancestor), RLIMIT_NPROC, the kernel's thread and PID maximums; the memory cgroup
//! (v1 and v2, and every ancestor), RLIMIT_AS, RLIMIT_DATA and MemAvailable; RLIMIT_MEMLOCK for
//! `mlockall`. Each check names the tightest limit, so that a refusal says which one it was.

use procfs::Current;
use serde::Serialize;

use crate::{Error, Result};

/// How many more processes this user may create, and which limit says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Headroom {
    /// The smallest of the limits below, minus what is in use.
    pub available: u64,
    /// Which limit that is (`the pids cgroup /x (pids.max 10, 4 in use)`, `RLIMIT_NPROC (…)`,
    /// `kernel.threads-max (…)`), or `no limit`.
    pub limited_by: String,
}

impl Headroom {
    fn none() -> Headroom {
        Headroom {
            available: u64::MAX,
            limited_by: "no limit".into(),
        }
    }

    /// Keeps the tighter of this and `available` under `what`.
    fn consider(&mut self, available: u64, what: impl FnOnce() -> String) {
        if available < self.available {
            *self = Headroom {
                available,
                limited_by: what(),
            };
        }
    }
}

/// Reads the limits on new processes (and threads, which count as tasks): the pids cgroup
/// controller of every hierarchy this process is in and their ancestors, RLIMIT_NPROC (not
/// enforced for root), and the kernel's thread and PID maximums.
pub fn headroom() -> Headroom {
    let mut best = Headroom::none();
    for c in cgroup_limits(&PIDS) {
        best.consider(c.max.saturating_sub(c.current), || {
            format!(
                "the pids cgroup {} (pids.max {}, {} in use)",
                c.path, c.max, c.current
            )
        });
    }
    if !nix::unistd::geteuid().is_root()
        && let Ok((soft, _)) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        && soft != libc::RLIM_INFINITY
    {
        let mine = tasks_of_this_user();
        best.consider(soft.saturating_sub(mine), || {
            format!("RLIMIT_NPROC ({soft}, {mine} tasks in use by this user)")
        });
    }
    for (file, what) in [
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
    ] {
        if let Some(max) = read_u64(file) {
            let used = procfs::LoadAverage::current().map_or(0, |l| u64::from(l.max));
            best.consider(max.saturating_sub(used), || {
                format!("{what} ({max}, {used} in use)")
            });
        }
    }
    best
}

/// Fails with a clear message if `n` more processes cannot be created.
pub fn check_can_create(n: u64) -> Result<()> {
    let room = headroom();
    if n > room.available {
        let what = if n == 1 {
            "a new process does not fit".to_string()
        } else {
            format!("{n} new processes do not fit")
        };
        return Err(Error::Limit(format!(
            "{what}: only {} more are allowed by {}",
            room.available, room.limited_by
        )));
    }
    Ok(())
}

/// What most likely refused a process or thread just now (`fork`, `posix_spawn` or
/// `pthread_create` failing with EAGAIN or ENOMEM), for the error message: a limit on tasks
/// that is used up (or that leaves fewer than `wanted` more), else a memory limit that leaves
/// less than a thread's stack, else the tightest limit found, said to have room.
pub fn refused_by(errno: nix::errno::Errno, wanted: u64) -> String {
    let tasks = headroom();
    let memory = memory_headroom();
    let tasks_first = errno != nix::errno::Errno::ENOMEM;
    let tasks_out = tasks.available == 0 || tasks.available < wanted;
    let memory_out = memory.available < THREAD_STACK;
    match (tasks_out, memory_out) {
        (true, false) => format!("at the limit of {}", tasks.limited_by),
        (true, true) if tasks_first => format!("at the limit of {}", tasks.limited_by),
        (_, true) => format!(
            "out of memory: {} more fit {}",
            fmt_bytes(memory.available),
            within(&memory.limited_by)
        ),
        (false, false) => format!(
            "no limit was found used up (the tightest on tasks: {}, {} more; on memory: {}, {} more)",
            tasks.limited_by,
            tasks.available,
            memory.limited_by,
            fmt_bytes(memory.available)
        ),
    }
}

/// A new thread's stack as Rust's `std::thread` maps it (2 MiB), plus its guard page.
const THREAD_STACK: u64 = (2 << 20) + 4096;

// ---------------------------------------------------------------------------------------------
// Memory

/// How much more memory this process may use, and which limit says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryRoom {
    /// Bytes: the smallest of the limits below, minus what is in use.
    pub available: u64,
    /// Which limit that is (`the memory cgroup /x (memory.limit_in_bytes 128 MiB, 3 MiB in
    /// use)`, `RLIMIT_AS (190.7 MiB, 12 MiB mapped)`, `MemAvailable in /proc/meminfo (…)`).
    pub limited_by: String,
}

/// Reads the limits on memory: the memory cgroup of every hierarchy this process is in and
/// their ancestors (a v1 `memory.limit_in_bytes` or a v2 `memory.max`, less what the cgroup
/// uses, not counting file pages it can drop), RLIMIT_AS less the address space mapped
/// (`VmSize`), RLIMIT_DATA less the data mappings (`VmData`), and MemAvailable.
pub fn memory_headroom() -> MemoryRoom {
    let mut best = Headroom::none();
    for c in cgroup_limits(&MEMORY) {
        best.consider(c.max.saturating_sub(c.current), || {
            format!(
                "the memory cgroup {} ({} {}, {} in use)",
                c.path,
                c.max_file,
                fmt_bytes(c.max),
                fmt_bytes(c.current)
            )
        });
    }
    use nix::sys::resource::Resource;
    for (resource, name, field, what) in [
        (Resource::RLIMIT_AS, "RLIMIT_AS", "VmSize:", "mapped"),
        (
            Resource::RLIMIT_DATA,
            "RLIMIT_DATA",
            "VmData:",
            "in data mappings",
        ),
    ] {
        if let Ok((soft, _)) = nix::sys::resource::getrlimit(resource)
            && soft != libc::RLIM_INFINITY
        {
            let used = status_kib(field).unwrap_or(0) << 10;
            best.consider(soft.saturating_sub(used), || {
                format!("{name} ({}, {} {what})", fmt_bytes(soft), fmt_bytes(used))
            });
        }
    }
    if let Ok(available) = mem_available() {
        best.consider(available, || {
            format!("MemAvailable in /proc/meminfo ({})", fmt_bytes(available))
        });
    }
    MemoryRoom {
        available: best.available,
        limited_by: best.limited_by,
    }
}

/// Memory the kernel estimates it can give without swapping (`MemAvailable`), in bytes.
pub fn mem_available() -> Result<u64> {
    procfs::Meminfo::current()
        .map_err(|e| Error::proc("/proc/meminfo", e))?
        .mem_available
        .ok_or_else(|| Error::Limit("/proc/meminfo has no MemAvailable".into()))
}

/// Fails with a clear message, naming the tightest limit, if `bytes` of memory for `what` do
/// not fit: `an array of 100000000 ints needs 381.5 MiB, but only 124.9 MiB more fit in the
/// memory cgroup /x (memory.limit_in_bytes 128 MiB, 3.1 MiB in use)`.
pub fn check_memory(bytes: u64, what: &str) -> Result<()> {
    let room = memory_headroom();
    if bytes > room.available {
        return Err(Error::Limit(format!(
            "{what} needs {}, but only {} more fit {}",
            fmt_bytes(bytes),
            fmt_bytes(room.available),
            within(&room.limited_by)
        )));
    }
    Ok(())
}

/// `in the memory cgroup /x (…)`, `under RLIMIT_AS (…)`: where memory fits, in words.
fn within(limited_by: &str) -> String {
    let preposition = if limited_by.starts_with("the ") {
        "in"
    } else {
        "under"
    };
    format!("{preposition} {limited_by}")
}

/// An empty vector with room for exactly `n` elements, for `what`, or an error naming the size
/// and the limit: [`check_memory`] first (a memory cgroup lets a reservation through and then
/// kills the process when it touches the pages), then a fallible reservation (`try_reserve_exact`:
/// RLIMIT_AS and overcommit refuse it there, and Rust would otherwise abort).
pub fn allocate<T>(n: usize, what: &str) -> Result<Vec<T>> {
    let bytes = (n as u64)
        .checked_mul(std::mem::size_of::<T>() as u64)
        .ok_or_else(|| Error::Limit(format!("{what}: {n} elements do not fit in memory")))?;
    check_memory(bytes, what)?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| {
        let room = memory_headroom();
        Error::Limit(format!(
            "{what} needs {}, which could not be reserved ({e}); the tightest limit is {}",
            fmt_bytes(bytes),
            room.limited_by
        ))
    })?;
    Ok(v)
}

/// Fails, naming RLIMIT_MEMLOCK, if `mlockall(MCL_CURRENT | MCL_FUTURE)` cannot lock what is
/// mapped now (`VmSize`, as the kernel counts it) plus `growth` bytes mapped later. Root is not
/// exempt; CAP_IPC_LOCK is (root has it unless it was dropped).
pub fn check_memlock(growth: u64) -> Result<()> {
    if has_capability(CAP_IPC_LOCK) {
        return Ok(());
    }
    let Ok((soft, _)) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
    else {
        return Ok(());
    };
    if soft == libc::RLIM_INFINITY {
        return Ok(());
    }
    let mapped = status_kib("VmSize:").unwrap_or(0) << 10;
    if mapped.saturating_add(growth) > soft {
        return Err(Error::Limit(format!(
            "locking all memory needs {} ({} mapped now, {} more as the run goes), more than RLIMIT_MEMLOCK (`ulimit -l`, {}) allows without CAP_IPC_LOCK",
            fmt_bytes(mapped + growth),
            fmt_bytes(mapped),
            fmt_bytes(growth),
            fmt_bytes(soft)
        )));
    }
    Ok(())
}

/// CAP_IPC_LOCK's bit in a capability set (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;
/// CAP_SYS_ADMIN's bit (linux/capability.h): /proc/PID/pagemap's frame numbers need it.
pub const CAP_SYS_ADMIN: u32 = 21;

/// True if the effective capability set (`CapEff` in /proc/self/status) holds `cap`.
pub fn has_capability(cap: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            let hex = t
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|set| set & (1u64 << cap) != 0)
}

/// Bytes as people read them: `512 KiB`, `128 MiB`, `190.7 MiB`, `2 GiB`.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut value = b as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if (value - value.round()).abs() < 0.05 {
        format!("{} {}", value.round(), UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroups

/// A cgroup controller's files: its limit and its usage, under v1 and under v2, and the
/// `memory.stat` key of the file pages it can drop (not counted as in use).
struct Controller {
    name: &'static str,
    v1: (&'static str, &'static str),
    v2: (&'static str, &'static str),
    droppable: Option<(&'static str, &'static str)>,
}

const PIDS: Controller = Controller {
    name: "pids",
    v1: ("pids.max", "pids.current"),
    v2: ("pids.max", "pids.current"),
    droppable: None,
};

const MEMORY: Controller = Controller {
    name: "memory",
    v1: ("memory.limit_in_bytes", "memory.usage_in_bytes"),
    v2: ("memory.max", "memory.current"),
    droppable: Some(("total_inactive_file", "inactive_file")),
};

/// A cgroup, this process's or an ancestor of it, that sets a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CgroupLimit {
    /// As `/proc/self/cgroup` names it: `/oslab-test-42`.
    path: String,
    /// The file that sets it: `pids.max`, `memory.limit_in_bytes`, `memory.max`.
    max_file: &'static str,
    max: u64,
    current: u64,
}

/// Which cgroup version a hierarchy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One cgroup directory to read: the version, the directory, the cgroup's path.
type CgroupDir = (Version, std::path::PathBuf, String);

/// The limits `c` sets on this process: in every hierarchy that has the controller (v1 and v2),
/// this process's cgroup and each ancestor up to the root that sets one.
fn cgroup_limits(c: &Controller) -> Vec<CgroupLimit> {
    let (Ok(cgroups), Ok(mounts)) = (
        std::fs::read_to_string("/proc/self/cgroup"),
        std::fs::read_to_string("/proc/self/mountinfo"),
    ) else {
        return Vec::new();
    };
    let fallback = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
    cgroup_dirs(c.name, &cgroups, &mounts, &fallback)
        .into_iter()
        .filter_map(|(version, dir, path)| read_cgroup_limit(c, version, &dir, path))
        .collect()
}

/// The limit `c` sets in one cgroup directory, if it sets one (`max`, a v1 "unlimited" huge
/// number, or a missing file: none).
fn read_cgroup_limit(
    c: &Controller,
    version: Version,
    dir: &std::path::Path,
    path: String,
) -> Option<CgroupLimit> {
    let (max_file, current_file) = match version {
        Version::V1 => c.v1,
        Version::V2 => c.v2,
    };
    let max = parse_limit(&std::fs::read_to_string(dir.join(max_file)).ok()?)?;
    let mut current: u64 = std::fs::read_to_string(dir.join(current_file))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if let Some((v1_key, v2_key)) = c.droppable {
        let key = if version == Version::V1 {
            v1_key
        } else {
            v2_key
        };
        let droppable = std::fs::read_to_string(dir.join("memory.stat"))
            .ok()
            .and_then(|stat| stat_value(&stat, key))
            .unwrap_or(0);
        current = current.saturating_sub(droppable);
    }
    Some(CgroupLimit {
        path,
        max_file,
        max,
        current,
    })
}

/// A limit file's value: `None` for `max` (v2: no limit) and for the huge numbers v1 writes for
/// no limit (`9223372036854771712`, the largest page count in bytes).
fn parse_limit(text: &str) -> Option<u64> {
    let v: u64 = text.trim().parse().ok()?;
    (v < 1 << 60).then_some(v)
}

/// `key value` lines (`memory.stat`): the value of `key`.
fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// The cgroup directories to read for `controller`, from `/proc/self/cgroup` (`cgroups`) and
/// `/proc/self/mountinfo` (`mounts`): for a v1 line `N:a,b:/path` whose list has the
/// controller, the v1 hierarchy mounted with it; for the v2 line `0::/path`, the cgroup2 mount
/// (or, if none is listed, the first of `v2_fallback` that has a `cgroup.controllers`). Each
/// cgroup comes with its ancestors, from the cgroup up to the hierarchy's root.
fn cgroup_dirs(
    controller: &str,
    cgroups: &str,
    mounts: &str,
    v2_fallback: &[&str],
) -> Vec<CgroupDir> {
    let mut out = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(list), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (version, mount) = if id == "0" && list.is_empty() {
            let mount = find_mount(mounts, None).or_else(|| {
                v2_fallback
                    .iter()
                    .find(|d| std::path::Path::new(d).join("cgroup.controllers").exists())
                    .map(|d| ("/".to_string(), d.to_string()))
            });
            (Version::V2, mount)
        } else if list.split(',').any(|c| c == controller) {
            (Version::V1, find_mount(mounts, Some(controller)))
        } else {
            continue;
        };
        let Some((root, mount_point)) = mount else {
            continue;
        };
        // The path is the cgroup's from the hierarchy's root; a mount of a sub-tree (its root
        // is not `/`) holds it below that sub-tree.
        let root = root.trim_end_matches('/');
        let (prefix, relative) = match path.strip_prefix(root) {
            Some(rest) if !root.is_empty() && (rest.is_empty() || rest.starts_with('/')) => {
                (root, rest)
            }
            _ => ("", path),
        };
        let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
        for depth in (0..=parts.len()).rev() {
            let sub = parts[..depth].join("/");
            let shown = match (sub.is_empty(), prefix.is_empty()) {
                (true, true) => "/".to_string(),
                (true, false) => prefix.to_string(),
                (false, _) => format!("{prefix}/{sub}"),
            };
            out.push((version, std::path::Path::new(&mount_point).join(sub), shown));
        }
    }
    out
}

/// From `/proc/self/mountinfo`: the root and mount point of the v1 hierarchy that has
/// `controller` (`Some`), or of the cgroup2 hierarchy (`None`).
fn find_mount(mounts: &str, controller: Option<&str>) -> Option<(String, String)> {
    mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let left: Vec<&str> = left.split(' ').collect();
        let mut right = right.split(' ');
        let (fstype, _source, options) = (right.next()?, right.next()?, right.next()?);
        let (root, mount_point) = (left.get(3)?, left.get(4)?);
        let wanted = match controller {
            Some(c) => fstype == "cgroup" && options.split(',').any(|o| o == c),
            None => fstype == "cgroup2",
        };
        wanted.then(|| (unescape(root), unescape(mount_point)))
    })
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The tasks (threads) of this user's processes: what RLIMIT_NPROC counts, despite its name.
fn tasks_of_this_user() -> u64 {
    let uid = nix::unistd::getuid().as_raw();
    procfs::process::all_processes()
        .map(|all| {
            all.flatten()
                .filter(|p| p.uid().is_ok_and(|u| u == uid))
                .map(|p| p.stat().map_or(1, |s| s.num_threads.max(1) as u64))
                .sum()
        })
        .unwrap_or(0)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `kB` field of `/proc/self/status` (`VmSize:`), in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn dirs(controller: &str, cgroups: &str, mounts: &str) -> Vec<(Version, String, String)> {
        cgroup_dirs(controller, cgroups, mounts, &[])
            .into_iter()
            .map(|(v, d, p)| (v, d.to_string_lossy().trim_end_matches('/').to_string(), p))
            .collect()
    }

    #[test]
    fn v1_lines_give_the_controllers_hierarchy_and_every_ancestor() {
        let cgroups = "9:name=systemd:/\n8:pids:/oslab/test\n4:memory:/process_api/5ecc\n1:cpu,cpuacct:/\n0::/\n";
        let v1 = |d: &str, p: &str| (Version::V1, d.to_string(), p.to_string());
        let v2 = |d: &str, p: &str| (Version::V2, d.to_string(), p.to_string());
        assert_eq!(
            dirs("pids", cgroups, MOUNTINFO),
            vec![
                v1("/sys/fs/cgroup/pids/oslab/test", "/oslab/test"),
                v1("/sys/fs/cgroup/pids/oslab", "/oslab"),
                v1("/sys/fs/cgroup/pids", "/"),
                v2("/sys/fs/cgroup/unified", "/"),
            ]
        );
        assert_eq!(
            dirs("memory", cgroups, MOUNTINFO)[0],
            v1(
                "/sys/fs/cgroup/memory/process_api/5ecc",
                "/process_api/5ecc"
            )
        );
        // A controller in a list (cpu,cpuacct) counts; one no line has gives only the v2 line.
        assert_eq!(dirs("cpuacct", cgroups, MOUNTINFO).len(), 1);
        assert_eq!(dirs("blkio", cgroups, MOUNTINFO).len(), 1);
    }

    #[test]
    fn a_v2_line_gives_the_cgroup2_mount_and_a_sub_tree_mount_is_followed() {
        let mounts = "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let got = dirs("pids", "0::/user.slice/user-1000.slice\n", mounts);
        let paths: Vec<&str> = got.iter().map(|(_, _, p)| p.as_str()).collect();
        assert_eq!(paths, ["/user.slice/user-1000.slice", "/user.slice", "/"]);
        assert_eq!(got[0].1, "/sys/fs/cgroup/user.slice/user-1000.slice");
        assert_eq!(got[2].1, "/sys/fs/cgroup");
        // A container that sees only its own sub-tree, mounted with root /docker/abc.
        let mounts = "40 31 0:36 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n";
        let got = dirs("pids", "5:pids:/docker/abc/inner\n", mounts);
        assert_eq!(
            got.iter()
                .map(|(_, d, p)| (d.as_str(), p.as_str()))
                .collect::<Vec<_>>(),
            [
                ("/sys/fs/cgroup/pids/inner", "/docker/abc/inner"),
                ("/sys/fs/cgroup/pids", "/docker/abc"),
            ]
        );
        // No hierarchy mounted for the controller: nothing to read.
        assert!(dirs("pids", "8:pids:/x\n", "").is_empty());
    }

    #[test]
    fn max_and_the_huge_v1_number_mean_no_limit() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("134217728\n"), Some(134_217_728));
        assert_eq!(parse_limit("10\n"), Some(10));
        assert_eq!(parse_limit(""), None);
        let stat = "cache 4096\ntotal_inactive_file 8192\ninactive_file 4096\n";
        assert_eq!(stat_value(stat, "total_inactive_file"), Some(8192));
        assert_eq!(stat_value(stat, "inactive_file"), Some(4096));
        assert_eq!(stat_value(stat, "active_file"), None);
    }

    #[test]
    fn the_tightest_cgroup_up_the_tree_wins() {
        // A fake v1 pids hierarchy: the parent allows 3 more tasks, its child 90.
        let root = std::env::temp_dir().join(format!("oslab-limits-{}", std::process::id()));
        let child = root.join("parent/child");
        std::fs::create_dir_all(&child).unwrap();
        std::fs::write(root.join("parent/pids.max"), "10\n").unwrap();
        std::fs::write(root.join("parent/pids.current"), "7\n").unwrap();
        std::fs::write(child.join("pids.max"), "max\n").unwrap();
        std::fs::write(child.join("pids.current"), "5\n").unwrap();
        let mounts = format!(
            "39 31 0:36 / {} rw - cgroup cgroup rw,pids\n",
            root.display()
        );
        let limits: Vec<CgroupLimit> = cgroup_dirs("pids", "8:pids:/parent/child\n", &mounts, &[])
            .into_iter()
            .filter_map(|(v, d, p)| read_cgroup_limit(&PIDS, v, &d, p))
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            limits,
            vec![CgroupLimit {
                path: "/parent".into(),
                max_file: "pids.max",
                max: 10,
                current: 7,
            }]
        );
    }

    #[test]
    fn there_is_room_for_one_more_process() {
        let room = headroom();
        assert!(room.available > 0, "{room:?}");
        assert!(check_can_create(1).is_ok());
        assert!(check_can_create(u64::MAX).is_err());
    }

    #[test]
    fn memory_checks_refuse_the_impossible_and_name_a_limit() {
        assert!(mem_available().unwrap() > 0);
        assert!(check_memory(1 << 20, "a test").is_ok());
        let err = check_memory(u64::MAX, "a test").unwrap_err().to_string();
        assert!(
            err.starts_with("a test needs 16777216 TiB, but only "),
            "{err}"
        );
        assert!(
            err.contains(" more fit under MemAvailable in /proc/meminfo (")
                || err.contains(" more fit in the memory cgroup ")
                || err.contains(" more fit under RLIMIT_"),
            "{err}"
        );
        assert!(allocate::<u64>(1000, "a test").unwrap().capacity() >= 1000);
        let err = allocate::<u64>(1 << 58, "a buffer")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a buffer needs 2097152 TiB, but only "),
            "{err}"
        );
        let err = allocate::<u64>(usize::MAX / 4, "a buffer")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "a buffer: 4611686018427387903 elements do not fit in memory"
        );
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(128 << 20), "128 MiB");
        assert_eq!(fmt_bytes(200_000_000), "190.7 MiB");
        assert_eq!(fmt_bytes(3 << 30), "3 GiB");
    }

    #[test]
    fn a_refusal_with_room_left_says_so() {
        let why = refused_by(nix::errno::Errno::EAGAIN, 1);
        assert!(why.starts_with("no limit was found used up"), "{why}");
    }
}
