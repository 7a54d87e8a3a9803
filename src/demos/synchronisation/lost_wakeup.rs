//! lost_wakeup's lab bench: main notifies first, then the waiters wait one after the other
//! while main watches for Ctrl-C; the report (condition's, `lost_wakeup: true`), the analysis
//! and the verdict. The lecture's side (main's early notify, the waiter without and with the
//! predicate loop) is `src/bin/lost_wakeup.rs`; the shared state is condition's
//! ([`super::condition::Shared`]).

use std::thread;

use serde::Serialize;

use super::condition::{self, Params, Results, Shared, Trigger, WaiterRun, Woken};
use crate::kit::timing::fmt_ns;
use crate::kit::{Context, Findings, Verdict, interrupt, words};

/// The examples after `lost_wakeup --help`.
pub const EXAMPLES: &str = "Example: lost_wakeup --bound 100\n         lost_wakeup --semaphore\n         condition --lost-wakeup   (the same)";

/// How often main looks whether the waiter is done, or Ctrl-C came.
const WATCH_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// What a lost-wake-up run found: condition's results, judged for the lost wake-up.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct LostWakeup(pub Results);

/// Main's side: `notify(shared)` before anyone waits, then `waiters` waiting threads, one after
/// the other (`waiter(i, shared)`), each watched for Ctrl-C (which releases it); at the end,
/// whoever still waits is released.
pub fn notify_then_wait(
    p: &Params,
    notify: impl FnOnce(&Shared),
    waiter: impl Fn(usize, &Shared) -> WaiterRun + Sync,
) -> crate::Result<LostWakeup> {
    let shared = Shared::default();
    notify(&shared);
    let mut runs = Vec::new();
    thread::scope(|scope| -> crate::Result<()> {
        for i in 0..p.waiters as usize {
            if interrupt::requested().is_some() {
                break;
            }
            let (shared, waiter) = (&shared, &waiter);
            let h = thread::Builder::new()
                .name(format!("waiter-{}", i + 1))
                .spawn_scoped(scope, move || waiter(i, shared))
                .map_err(|source| crate::Error::spawn(i + 1, p.waiters as usize, source))?;
            // Watch for Ctrl-C while it waits: release it then.
            while !h.is_finished() {
                if interrupt::requested().is_some() {
                    shared.release();
                }
                thread::sleep(WATCH_TICK);
            }
            runs.extend(condition::join(vec![h])?);
        }
        shared.release();
        Ok(())
    })?;
    Ok(LostWakeup(Results::of(
        p,
        Trigger::BeforeWait,
        &shared,
        0,
        runs,
    )))
}

fn secs(ns: u64) -> String {
    fmt_ns(ns as f64)
}

impl LostWakeup {
    /// The waiter without a predicate and the one with it (condvar runs).
    fn pair(&self) -> (Option<&WaiterRun>, Option<&WaiterRun>) {
        let w = &self.0.waiters;
        (
            w.iter().find(|w| !w.predicate),
            w.iter().find(|w| w.predicate),
        )
    }
}

impl Findings for LostWakeup {
    type Params = Params;
    type Row = WaiterRun;

    fn headline(&self, p: &Params) -> String {
        if p.semaphore {
            match self.0.waiters.first().map(|w| w.woken) {
                Some(Woken::Notified) => {
                    "lost wake-up avoided: the semaphore kept the early post; the waiter did not wait".into()
                }
                _ => "the waiter did not get the early post".into(),
            }
        } else {
            match self.pair() {
                (Some(a), Some(b)) if a.woken == Woken::TimedOut && b.woken == Woken::Notified => {
                    format!(
                        "lost wake-up: the waiter without a predicate was never woken ({} ms bound); the predicate loop returned at once",
                        p.bound_ms.unwrap_or(0)
                    )
                }
                _ => "no lost wake-up shown: see the verdict".into(),
            }
        }
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        self.0
            .waiters
            .iter()
            .map(|w| {
                let waited = secs(w.waited_ns);
                let how = match (w.predicate, w.woken) {
                    (false, Woken::TimedOut) => format!(
                        "waited its whole bound, {waited}: the notify had already come and gone"
                    ),
                    (true, Woken::Notified) => format!(
                        "returned after {waited}: it checked the condition first and never slept"
                    ),
                    (false, Woken::Notified) if p.semaphore => format!(
                        "returned after {waited}: the post was waiting in the semaphore's count"
                    ),
                    (false, Woken::Notified) => format!(
                        "woke after {waited} although nothing notified it after its wait began (a spurious wakeup)"
                    ),
                    (_, Woken::Released) => {
                        format!("released at the end of the run after {waited}")
                    }
                    (true, Woken::TimedOut) => format!("timed out after {waited}"),
                };
                let kind = if p.semaphore {
                    "semaphore"
                } else if w.predicate {
                    "predicate loop"
                } else {
                    "no predicate"
                };
                format!("waiter {} ({kind}): {how}", w.waiter)
            })
            .collect()
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        if p.semaphore {
            let claim = "a semaphore keeps a post made before anyone waits, so the waiter takes it without waiting";
            return match self.0.waiters.first() {
                Some(w) if w.woken == Woken::Notified => Verdict::held(
                    claim,
                    format!(
                        "the waiter took the early post {} after it began to wait",
                        secs(w.waited_ns)
                    ),
                ),
                Some(w) => Verdict::unchecked(
                    claim,
                    format!(
                        "the waiter was released at the end after {}: the run was stopped",
                        secs(w.waited_ns)
                    ),
                ),
                None => Verdict::unchecked(claim, "stopped before the waiter started"),
            };
        }
        let claim = "a notify before anyone waits is lost, so only a waiter that checks a predicate goes on";
        let (Some(bare), Some(looped)) = self.pair() else {
            return Verdict::unchecked(claim, "stopped before both waiters had waited");
        };
        if [bare, looped].iter().any(|w| w.woken == Woken::Released) {
            return Verdict::unchecked(claim, "stopped (and released) while a waiter waited");
        }
        let lost = bare.woken == Woken::TimedOut;
        let checked = looped.woken == Woken::Notified && looped.waits == 0;
        let first = if lost {
            format!(
                "the waiter without a predicate waited its whole {} bound and was never woken",
                secs(bare.waited_ns)
            )
        } else {
            format!(
                "the waiter without a predicate woke after {} with nothing notified after its wait began (a spurious wakeup)",
                secs(bare.waited_ns)
            )
        };
        let second = if checked {
            format!(
                "the predicate loop found the condition true and returned after {} without waiting",
                secs(looped.waited_ns)
            )
        } else {
            format!(
                "the predicate loop waited {} ({})",
                words::times(looped.waits),
                looped.how_it_waited()
            )
        };
        Verdict::check(claim, lost && checked, format!("{first}; {second}"))
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        if p.semaphore {
            return match self.0.waiters.first() {
                Some(w) if w.woken == Woken::Notified => format!(
                    "a semaphore counts its posts, so the post made before anyone waited was kept and the waiter took it in {}; no wake-up is lost, while a condition variable remembers nothing",
                    secs(w.waited_ns)
                ),
                _ => "a semaphore counts its posts, so a post before the wait is kept and no wake-up is lost; a condition variable remembers nothing".into(),
            };
        }
        match self.pair() {
            (Some(bare), Some(looped)) if bare.woken == Woken::TimedOut => format!(
                "a notify with nobody waiting is lost: the waiter without a predicate would have slept forever (it gave up after {}), the one that checked the condition under the lock returned in {}; wait in a loop on a condition kept under the lock (while not ready: cond.wait()), never on the notify alone",
                secs(bare.waited_ns),
                secs(looped.waited_ns)
            ),
            _ => "a notify with nobody waiting is lost: wait in a loop on a condition kept under the lock (while not ready: cond.wait()), never on the notify alone".into(),
        }
    }

    fn compare(&self, p: &Params) -> String {
        condition::compare(p.semaphore)
    }

    fn rows(&self, _p: &Params) -> Vec<WaiterRun> {
        self.0.waiters.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!(
            "{} of {}",
            self.0.waiters.len(),
            words::count(p.waiters, "waiter")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demos::synchronisation::condition::tests::{judge, waiter};
    use std::time::Duration;

    fn run(p: &Params, waiters: Vec<WaiterRun>) -> LostWakeup {
        LostWakeup(Results {
            primitive: if p.semaphore { "semaphore" } else { "condvar" },
            wake: "notify".into(),
            trigger: Trigger::BeforeWait,
            sent: true,
            ignored_lines: 0,
            woke: 0,
            released: 0,
            waiters,
            notified_ns: Some(0),
        })
    }

    fn pair(bare: Woken, looped_waits: u32) -> Vec<WaiterRun> {
        let mut a = waiter(0, bare, 1, 101, 5);
        a.wake_latency_ns = None;
        let mut b = waiter(1, Woken::Notified, 101, 101, 0);
        b.predicate = true;
        b.waited_ns = 2_690;
        b.wake_latency_ns = None;
        b.waits = looped_waits;
        vec![a, b]
    }

    #[test]
    fn the_early_notify_is_lost_without_a_predicate() {
        let p = Params::lost_wakeup(Duration::from_millis(100), false);
        let r = run(&p, pair(Woken::TimedOut, 0));
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "the waiter without a predicate waited its whole 100 ms bound and was never woken; the predicate loop found the condition true and returned after 2.69 µs without waiting"
        );
        assert!(lesson.contains("gave up after 100 ms"), "{lesson}");
        assert!(lines[0].starts_with("waiter 1 (no predicate): waited its whole bound, 100 ms"));
        assert!(lines[1].starts_with("waiter 2 (predicate loop): returned after 2.69 µs"));
        assert!(
            r.headline(&p)
                .starts_with("lost wake-up: the waiter without a predicate")
        );
        assert_eq!(p.waiters, 2);
    }

    #[test]
    fn a_spurious_wakeup_or_a_waiting_loop_is_not_the_lost_wakeup() {
        let p = Params::lost_wakeup(Duration::from_millis(100), false);
        let (v, ..) = judge(&run(&p, pair(Woken::Notified, 0)), &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("(a spurious wakeup)"), "{}", v.because);
        let (v, ..) = judge(&run(&p, pair(Woken::TimedOut, 1)), &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("the predicate loop waited once"),
            "{}",
            v.because
        );
        let (v, ..) = judge(&run(&p, pair(Woken::Released, 0)), &p);
        assert_eq!(v.held, None, "{v:?}");
        let (v, ..) = judge(&run(&p, Vec::new()), &p);
        assert_eq!(v.held, None, "{v:?}");
    }

    #[test]
    fn the_semaphore_keeps_the_early_post() {
        let p = Params::lost_wakeup(Duration::from_millis(1000), true);
        assert_eq!(p.waiters, 1);
        let mut w = waiter(0, Woken::Notified, 1, 1, 0);
        w.waited_ns = 110;
        let r = run(&p, vec![w.clone()]);
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.contains("took the early post 110 ns after"));
        assert!(lesson.contains("took it in 110 ns"), "{lesson}");
        assert!(lines[0].starts_with("waiter 1 (semaphore): returned after 110 ns"));
        w.woken = Woken::Released;
        let (v, ..) = judge(&run(&p, vec![w]), &p);
        assert_eq!(v.held, None, "{v:?}");
    }
}
