//! The lecture's pause points: stop, say what just happened, give the PID and a command to paste
//! into a second terminal, and wait for ENTER. Without `--pause` nothing ever waits for input.

use std::sync::Mutex;

use crate::kit::input::StdinLines;

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
    // One reader for the whole run: lines typed ahead (or piped) are kept for the next point.
    static STDIN: Mutex<Option<StdinLines>> = Mutex::new(None);
    let mut stdin = STDIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A one-second slice: a paused demo should add nothing to the counters being watched.
    let _ = stdin
        .get_or_insert_with(|| StdinLines::with_slice(std::time::Duration::from_secs(1)))
        .next_line();
}

#[cfg(test)]
mod tests {
    use super::*;

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
