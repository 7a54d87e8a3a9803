//! The scheduler calls `nix` does not wrap: a thread's policy and real-time priority, its nice
//! value. Each returns the kernel's errno on failure, so a refusal (EPERM: no CAP_SYS_NICE) can
//! be explained rather than just reported (`oslab::process::scheduler`).
//!
//! On Linux each of these acts on the calling *thread* (pid 0 means "me"); in a
//! single-threaded process that is the process.

use nix::errno::Errno;

/// `sched_setscheduler(0, policy, {priority})`: e.g. `libc::SCHED_FIFO` with 1-99, or
/// `libc::SCHED_OTHER` with 0.
pub fn set_scheduler(policy: i32, priority: i32) -> Result<(), Errno> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a live local that the call only reads; pid 0 is the caller.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// `sched_getparam(0)`: the calling thread's real-time priority (0 under SCHED_OTHER).
pub fn priority() -> Result<i32, Errno> {
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a live local of the right type that the call fills in.
    let rc = unsafe { libc::sched_getparam(0, &mut param) };
    if rc == 0 {
        Ok(param.sched_priority)
    } else {
        Err(Errno::last())
    }
}

/// `setpriority(PRIO_PROCESS, 0, nice)`: the calling thread's nice value, -20 to 19. Lowering
/// it below the current value needs CAP_SYS_NICE (or RLIMIT_NICE).
pub fn set_nice(nice: i32) -> Result<(), Errno> {
    // SAFETY: setpriority takes three integers and touches no memory of ours.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// `sched_getscheduler(0)`: the calling thread's scheduling policy, e.g. `libc::SCHED_OTHER`.
pub fn policy() -> Result<i32, Errno> {
    // SAFETY: sched_getscheduler takes a pid by value (0: the caller) and touches no memory of
    // ours.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        Err(Errno::last())
    } else {
        Ok(policy)
    }
}

/// `getpriority(PRIO_PROCESS, 0)`: the calling thread's nice value.
pub fn nice() -> Result<i32, Errno> {
    Errno::clear();
    // SAFETY: getpriority takes two integers and touches no memory of ours. It can legitimately
    // return -1, so errno (cleared just above) tells an error from nice -1.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if nice == -1 && Errno::last_raw() != 0 {
        Err(Errno::last())
    } else {
        Ok(nice)
    }
}

/// `sched_rr_get_interval(0)`: the calling thread's time slice as the kernel reports it, in ns:
/// SCHED_RR's quantum (`kernel.sched_rr_timeslice_ms`), 0 under SCHED_FIFO, and for a fair task
/// its current slice rounded to whole timer ticks (0 when it runs alone).
pub fn rr_interval() -> Result<u64, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live local of the right type that the call fills in; pid 0 is the caller.
    let rc = unsafe { libc::sched_rr_get_interval(0, &mut ts) };
    if rc == 0 {
        Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    } else {
        Err(Errno::last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_reads_zero_under_sched_other_and_nice_can_rise() {
        // On a thread of its own: nice and policy are per thread on Linux.
        std::thread::spawn(|| {
            assert_eq!(priority().unwrap(), 0);
            let up = (nice().unwrap() + 1).min(19);
            set_nice(up).unwrap();
            assert_eq!(nice().unwrap(), up);
            assert_eq!(set_scheduler(libc::SCHED_OTHER, 5), Err(Errno::EINVAL));
            set_scheduler(libc::SCHED_BATCH, 0).unwrap();
            assert_eq!(policy().unwrap(), libc::SCHED_BATCH);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn policy_and_nice_read_back() {
        assert_eq!(policy().unwrap(), libc::SCHED_OTHER);
        assert!((-20..=19).contains(&nice().unwrap()));
    }
}
