//! The kernel's own record of who ran when on a CPU: the `sched:sched_switch` tracepoint, read
//! through a private tracefs instance (`/sys/kernel/tracing/instances/oslab-PID`, as
//! `trace-cmd record -B` makes one), so the system's own trace buffer is left alone.
//!
//! ```text
//! mkdir instances/oslab-PID; cd instances/oslab-PID
//! echo mono > trace_clock                  # CLOCK_MONOTONIC, the clock the demos read
//! echo <mask of CPU> > tracing_cpumask     # only the CPU the jobs share
//! echo 1 > events/sched/sched_switch/enable; echo 1 > tracing_on
//! ... run ...
//! echo 0 > tracing_on; cat trace; rmdir instances/oslab-PID
//! ```
//!
//! Each event is printed as `TASK-PID [CPU] FLAGS SECONDS.MICROS: sched_switch: prev_comm=A
//! prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=B next_pid=2 next_prio=120`; the
//! timestamp has microseconds, which is what the text format gives (the binary
//! `trace_pipe_raw` has ns, but its page format would need a parser of its own for no
//! difference at the scale of a time slice). Where tracefs is not mounted and we are root, it
//! is mounted on /sys/kernel/tracing, as perf and trace-cmd do.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where tracefs is looked for, in order.
const ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The instance's buffer per CPU, in KiB: about 60,000 switch events.
const BUFFER_KB: u32 = 4096;

/// One `sched_switch` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Switch {
    /// CLOCK_MONOTONIC, ns (microsecond resolution).
    pub ts_ns: u64,
    pub cpu: usize,
    pub prev_pid: i32,
    pub prev_comm: String,
    /// R (preempted, still runnable), S (went to sleep), D, X/Z (exited), ...
    pub prev_state: String,
    pub next_pid: i32,
    pub next_comm: String,
}

/// A stretch of time one task held the CPU, from the switch to it to the switch away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnCpu {
    pub pid: i32,
    /// `<idle>` for the idle task.
    pub comm: String,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// A recording in progress. Dropping it turns tracing off and removes the instance.
#[derive(Debug)]
pub struct SwitchTrace {
    dir: PathBuf,
    cpu: usize,
    /// tracefs was mounted by us for this run.
    pub mounted: bool,
}

/// What was recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    pub cpu: usize,
    pub switches: Vec<Switch>,
    /// Events the buffer had no room for (written − kept); 0 when the record is whole.
    pub lost: u64,
}

fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    fs::write(dir.join(file), value).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
}

/// The tracefs root, mounting it when it is not mounted and we may.
fn root() -> Result<(PathBuf, bool), String> {
    if let Some(r) = ROOTS
        .iter()
        .map(Path::new)
        .find(|r| r.join("instances").is_dir())
    {
        return Ok((r.to_path_buf(), false));
    }
    let target = Path::new(ROOTS[0]);
    if !target.is_dir() {
        return Err(format!("{} does not exist (no tracefs)", target.display()));
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(format!(
            "tracefs is not mounted on {} and mounting it needs root",
            target.display()
        ));
    }
    nix::mount::mount(
        Some("tracefs"),
        target,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| format!("mounting tracefs on {}: {e}", target.display()))?;
    if target.join("instances").is_dir() {
        Ok((target.to_path_buf(), true))
    } else {
        Err(format!("{} has no instances directory", target.display()))
    }
}

/// Removes instances left by oslab processes that no longer exist (killed by SIGKILL).
fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root.join("instances")) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("oslab-")) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = write(&e.path(), "tracing_on", "0");
            let _ = fs::remove_dir(e.path());
        }
    }
}

impl SwitchTrace {
    /// Starts recording every switch on `cpu`; Err says why the kernel's record is not
    /// available (no tracefs, not root, no sched_switch event).
    pub fn start(cpu: usize) -> Result<SwitchTrace, String> {
        let (root, mounted) = root()?;
        remove_stale(&root);
        if !root.join("events/sched/sched_switch").is_dir() {
            return Err("this kernel has no sched:sched_switch tracepoint".into());
        }
        let dir = root
            .join("instances")
            .join(format!("oslab-{}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(format!(
                    "making a tracefs instance needs root (CAP_SYS_ADMIN): {e}"
                ));
            }
            Err(e) => return Err(format!("making {}: {e}", dir.display())),
        }
        let trace = SwitchTrace { dir, cpu, mounted };
        trace.configure().map_err(|e| {
            format!(
                "setting up the tracefs instance {}: {e}",
                trace.dir.display()
            )
        })?;
        Ok(trace)
    }

    fn configure(&self) -> io::Result<()> {
        let d = &self.dir;
        write(d, "tracing_on", "0")?;
        write(d, "trace_clock", "mono")?;
        write(d, "tracing_cpumask", &cpu_mask(self.cpu))?;
        write(d, "buffer_size_kb", &BUFFER_KB.to_string())?;
        write(d, "trace", "")?; // empty the buffer
        write(d, "events/sched/sched_switch/enable", "1")?;
        write(d, "tracing_on", "1")
    }

    /// Stops recording and reads the record.
    pub fn stop(self) -> Result<Recorded, String> {
        write(&self.dir, "tracing_on", "0").map_err(|e| format!("stopping the trace: {e}"))?;
        let text = fs::read_to_string(self.dir.join("trace"))
            .map_err(|e| format!("reading {}: {e}", self.dir.join("trace").display()))?;
        let (switches, lost) = parse(&text);
        Ok(Recorded {
            cpu: self.cpu,
            switches: switches.into_iter().filter(|s| s.cpu == self.cpu).collect(),
            lost,
        })
    }
}

impl Drop for SwitchTrace {
    fn drop(&mut self) {
        let _ = write(&self.dir, "tracing_on", "0");
        let _ = write(&self.dir, "events/sched/sched_switch/enable", "0");
        let _ = fs::remove_dir(&self.dir);
    }
}

/// `tracing_cpumask` for one CPU: hex words of 32 bits, comma-separated, most significant first.
fn cpu_mask(cpu: usize) -> String {
    let words = cpu / 32 + 1;
    (0..words)
        .rev()
        .map(|w| {
            if w == cpu / 32 {
                format!("{:x}", 1u32 << (cpu % 32))
            } else {
                "0".into()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The events of a `trace` file, and how many were lost (from its `entries-in-buffer/
/// entries-written: K/W` header line).
pub fn parse(text: &str) -> (Vec<Switch>, u64) {
    let mut lost = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# entries-in-buffer/entries-written: ") {
            let counts: Vec<u64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|w| !w.is_empty())
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [kept, written, ..] = counts[..] {
                lost = written.saturating_sub(kept);
            }
            continue;
        }
        if let Some(s) = parse_line(line) {
            out.push(s);
        }
    }
    (out, lost)
}

/// One event line, or None for anything else.
fn parse_line(line: &str) -> Option<Switch> {
    let (head, fields) = line.split_once(": sched_switch: ")?;
    // head: "  TASK-PID  [001] d..2.  85.485914"
    let open = head.rfind('[')?;
    let close = open + head[open..].find(']')?;
    let cpu = head[open + 1..close].trim().parse().ok()?;
    let ts = head[close + 1..].split_whitespace().last()?;
    let (secs, micros) = ts.split_once('.')?;
    let ts_ns = secs.parse::<u64>().ok()? * 1_000_000_000 + scaled_fraction(micros)?;
    let (prev, next) = fields.rsplit_once(" ==> ")?;
    let (prev_comm, prev) = prev.strip_prefix("prev_comm=")?.rsplit_once(" prev_pid=")?;
    let mut words = prev.split_whitespace();
    let prev_pid = words.next()?.parse().ok()?;
    let prev_state = words
        .find_map(|w| w.strip_prefix("prev_state="))?
        .to_string();
    let (next_comm, next) = next.strip_prefix("next_comm=")?.rsplit_once(" next_pid=")?;
    let next_pid = next.split_whitespace().next()?.parse().ok()?;
    Some(Switch {
        ts_ns,
        cpu,
        prev_pid,
        prev_comm: prev_comm.to_string(),
        prev_state,
        next_pid,
        next_comm: next_comm.to_string(),
    })
}

/// `485914` (µs) or `485914123` (ns) after the point, in ns.
fn scaled_fraction(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32))
}

impl Recorded {
    /// Who held the CPU from `from_ns` to `to_ns`, stretch by stretch: the task switched to at
    /// each event holds it until the next event. The task on the CPU before the first event in
    /// the window is the one the first event switched away from.
    pub fn on_cpu(&self, from_ns: u64, to_ns: u64) -> Vec<OnCpu> {
        let mut out: Vec<OnCpu> = Vec::new();
        let before = self.switches.iter().rev().find(|s| s.ts_ns <= from_ns);
        let mut current: Option<(i32, String, u64)> = match before {
            Some(s) => Some((s.next_pid, comm(s.next_pid, &s.next_comm), from_ns)),
            None => self
                .switches
                .iter()
                .find(|s| s.ts_ns > from_ns)
                .map(|s| (s.prev_pid, comm(s.prev_pid, &s.prev_comm), from_ns)),
        };
        for s in self
            .switches
            .iter()
            .filter(|s| s.ts_ns > from_ns && s.ts_ns < to_ns)
        {
            if let Some((pid, name, start)) = current.take()
                && s.ts_ns > start
            {
                out.push(OnCpu {
                    pid,
                    comm: name,
                    start_ns: start,
                    end_ns: s.ts_ns,
                });
            }
            current = Some((s.next_pid, comm(s.next_pid, &s.next_comm), s.ts_ns));
        }
        if let Some((pid, name, start)) = current
            && to_ns > start
        {
            out.push(OnCpu {
                pid,
                comm: name,
                start_ns: start,
                end_ns: to_ns,
            });
        }
        out
    }
}

/// One turn of one of `ours` in a record: its stretches on the CPU until another of `ours`
/// took it (other tasks in between, an interrupt's kernel thread, do not end it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Turn {
    pub pid: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Its time on the CPU: the stretches added up, other tasks' time left out.
    pub ran_ns: u64,
    /// False for each task's last turn, which no switch to another of ours ended.
    pub ended_by_switch: bool,
}

/// The turns of `ours` in `on_cpu`, in time order.
pub fn turns(on_cpu: &[OnCpu], ours: &[i32]) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::new();
    for o in on_cpu.iter().filter(|o| ours.contains(&o.pid)) {
        match out.last_mut() {
            Some(t) if t.pid == o.pid => {
                t.end_ns = o.end_ns;
                t.ran_ns += o.end_ns - o.start_ns;
            }
            last => {
                if let Some(t) = last {
                    t.ended_by_switch = true;
                }
                out.push(Turn {
                    pid: o.pid,
                    start_ns: o.start_ns,
                    end_ns: o.end_ns,
                    ran_ns: o.end_ns - o.start_ns,
                    ended_by_switch: false,
                });
            }
        }
    }
    out
}

fn comm(pid: i32, name: &str) -> String {
    if pid == 0 {
        "<idle>".into()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# tracer: nop
#
# entries-in-buffer/entries-written: 3/5   #P:2
#
          <idle>-0       [001] d..2.    85.485914: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=job P1 next_pid=1702 next_prio=89
          job P1-1702    [001] d..2.    85.487369: sched_switch: prev_comm=job P1 prev_pid=1702 prev_prio=89 prev_state=R ==> next_comm=kworker/1:0 next_pid=15 next_prio=120
     kworker/1:0-15      [001] d..2.    85.487386: sched_switch: prev_comm=kworker/1:0 prev_pid=15 prev_prio=120 prev_state=I ==> next_comm=sched_sim next_pid=1703 next_prio=89
          garbage line
";

    #[test]
    fn parses_events_with_spaces_in_names_and_counts_lost_ones() {
        let (s, lost) = parse(SAMPLE);
        assert_eq!(lost, 2);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].ts_ns, 85_485_914_000);
        assert_eq!(s[0].cpu, 1);
        assert_eq!((s[0].prev_pid, s[0].next_pid), (0, 1702));
        assert_eq!(s[0].next_comm, "job P1");
        assert_eq!(s[1].prev_comm, "job P1");
        assert_eq!(s[1].prev_state, "R");
        assert_eq!(s[2].prev_state, "I");
        assert_eq!(s[2].next_comm, "sched_sim");
    }

    #[test]
    fn on_cpu_gives_each_task_its_stretch_clipped_to_the_window() {
        let (switches, _) = parse(SAMPLE);
        let r = Recorded {
            cpu: 1,
            switches,
            lost: 0,
        };
        let runs = r.on_cpu(85_485_000_000, 85_488_000_000);
        let got: Vec<(i32, &str, u64, u64)> = runs
            .iter()
            .map(|o| (o.pid, o.comm.as_str(), o.start_ns, o.end_ns))
            .collect();
        assert_eq!(
            got,
            [
                (0, "<idle>", 85_485_000_000, 85_485_914_000),
                (1702, "job P1", 85_485_914_000, 85_487_369_000),
                (15, "kworker/1:0", 85_487_369_000, 85_487_386_000),
                (1703, "sched_sim", 85_487_386_000, 85_488_000_000),
            ]
        );
        // A window that starts after an event: the task switched to holds the CPU.
        let late = r.on_cpu(85_486_000_000, 85_487_000_000);
        assert_eq!(late.len(), 1);
        assert_eq!((late[0].pid, late[0].start_ns), (1702, 85_486_000_000));
    }

    #[test]
    fn turns_merge_a_task_s_stretches_around_other_tasks() {
        let at = |pid, start_ns, end_ns| OnCpu {
            pid,
            comm: String::new(),
            start_ns,
            end_ns,
        };
        let on_cpu = [
            at(1, 0, 10),
            at(99, 10, 12), // a kworker: the turn goes on
            at(1, 12, 20),
            at(2, 20, 30),
            at(1, 30, 35),
        ];
        let t = turns(&on_cpu, &[1, 2]);
        let got: Vec<(i32, u64, u64, u64, bool)> = t
            .iter()
            .map(|t| (t.pid, t.start_ns, t.end_ns, t.ran_ns, t.ended_by_switch))
            .collect();
        assert_eq!(
            got,
            [
                (1, 0, 20, 18, true),
                (2, 20, 30, 10, true),
                (1, 30, 35, 5, false)
            ]
        );
    }

    #[test]
    fn the_cpu_mask_is_hex_words_most_significant_first() {
        assert_eq!(cpu_mask(0), "1");
        assert_eq!(cpu_mask(1), "2");
        assert_eq!(cpu_mask(31), "80000000");
        assert_eq!(cpu_mask(33), "2,0");
    }

    #[test]
    fn fractions_of_a_second_scale_to_ns() {
        assert_eq!(scaled_fraction("485914"), Some(485_914_000));
        assert_eq!(scaled_fraction("000001"), Some(1_000));
        assert_eq!(scaled_fraction("123456789"), Some(123_456_789));
        assert_eq!(scaled_fraction(""), None);
        assert_eq!(scaled_fraction("12a"), None);
    }
}
