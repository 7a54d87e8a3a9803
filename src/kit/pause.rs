//! The lecture's pause points: stop, say what just happened, give the PID and a command to paste
//! into a second terminal, and wait for ENTER. Without `--pause` nothing ever waits for input.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::kit::input::StdinLines;
use crate::kit::timing::monotonic_ns;

/// The environment variable that names a file where every pause point of this process and its
/// children is logged (`proc_watch -- COMMAND` sets it, to mark the pauses on its timeline).
pub const LOG_ENV: &str = "OSLAB_PAUSE_LOG";

/// A pause point reached (`pause`) or left (`resume`), as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// CLOCK_MONOTONIC, ns: the same clock in every process.
    pub monotonic_ns: u64,
    /// The process that paused.
    pub pid: i32,
    /// `pause` or `resume`.
    pub event: String,
    /// What the pause point said (`Child process started`).
    pub what: String,
}

/// Appends one event to the log [`LOG_ENV`] names, if it names one: one short line with
/// O_APPEND, so lines from several processes do not mix. A log that cannot be written is
/// ignored: the demo goes on.
fn log(event: &str, what: &str) {
    let Some(path) = std::env::var_os(LOG_ENV) else {
        return;
    };
    let line = format!(
        "{}\t{}\t{event}\t{}\n",
        monotonic_ns(),
        std::process::id(),
        what.replace(['\t', '\n'], " ")
    );
    if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = file.write_all(line.as_bytes());
    }
}

/// The events in a log, from byte `from` on; returns them and the offset to read from next. A
/// line not yet finished is left for the next read.
pub fn read_log(path: &Path, from: u64) -> (Vec<Event>, u64) {
    let Ok(text) = std::fs::read(path) else {
        return (Vec::new(), from);
    };
    let start = (from as usize).min(text.len());
    let done = text[start..]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(start, |i| start + i + 1);
    let events = String::from_utf8_lossy(&text[start..done])
        .lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, '\t');
            Some(Event {
                monotonic_ns: f.next()?.parse().ok()?,
                pid: f.next()?.parse().ok()?,
                event: f.next()?.to_string(),
                what: f.next().unwrap_or("").to_string(),
            })
        })
        .collect();
    (events, done as u64)
}

/// The text of a pause point, as the lecture's `wait_for_input` printed it, plus where to look:
/// the command for the counter that matters at this point, and `proc_watch`, which watches them
/// all.
pub fn message(what: &str, pid: i32, command: &str) -> String {
    format!(
        " * {what}\n   PID {pid}; in another terminal: {command}\n   or watch every counter: proc_watch {pid} --interval 200ms\n -- Press ENTER to continue ..."
    )
}

/// A pause point: prints [`message`] on stderr and waits for a line on stdin. End of input
/// counts as ENTER (a piped stdin never hangs a demo), and so does Ctrl-C or SIGTERM: the wait
/// polls stdin in short slices and looks at the interrupt flag, so the caller sees the signal
/// through `interrupt::requested()` at once instead of after the next ENTER.
pub fn point(enabled: bool, what: &str, command: &str) {
    if !enabled {
        return;
    }
    eprintln!("{}", message(what, std::process::id() as i32, command));
    log("pause", what);
    // One reader for the whole run: lines typed ahead (or piped) are kept for the next point.
    static STDIN: Mutex<Option<StdinLines>> = Mutex::new(None);
    let mut stdin = STDIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A one-second slice: a paused demo should add nothing to the counters being watched.
    let _ = stdin
        .get_or_insert_with(|| StdinLines::with_slice(std::time::Duration::from_secs(1)))
        .next_line();
    log("resume", what);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_reads_back_whole_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(
            &path,
            "100\t7\tpause\tChild process started\n200\t7\tresume\tChild process started\n30",
        )
        .unwrap();
        let (events, next) = read_log(&path, 0);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            Event {
                monotonic_ns: 100,
                pid: 7,
                event: "pause".into(),
                what: "Child process started".into()
            }
        );
        assert_eq!(events[1].event, "resume");
        // The unfinished line waits; once finished it is read from where the last read ended.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"0\t8\tpause\tx\n").unwrap();
        let (more, _) = read_log(&path, next);
        assert_eq!(more.len(), 1);
        assert_eq!((more[0].monotonic_ns, more[0].pid), (300, 8));
        assert!(read_log(&dir.path().join("none"), 0).0.is_empty());
    }

    #[test]
    fn message_has_the_lecture_prompt_the_pid_and_the_command() {
        let m = message("Child process started", 42, "cut -d' ' -f10 /proc/42/stat");
        assert!(m.starts_with(" * Child process started\n"));
        assert!(m.contains("PID 42"));
        assert!(m.contains("cut -d' ' -f10 /proc/42/stat"));
        assert!(m.contains("proc_watch 42 --interval 200ms"));
        assert!(m.ends_with(" -- Press ENTER to continue ..."));
    }
}
