//! Signals for the CLI tests, sent with the `kill(2)` system call, never with the `kill`
//! command: procps-ng 4.0's `/usr/bin/kill` (Debian bookworm) reads a negative process-group
//! argument such as `-12345` after a signal option as `-1`, so `kill -TERM -<pgid>` ran
//! `kill(-1, SIGTERM)` and, as root, signalled every process of the machine (proven under
//! `unshare --pid --fork --mount-proc` with strace: `kill -TERM -12` → `kill(-1, SIGTERM)`).
//! These helpers also refuse the ids that mean "many processes" (0, 1 and negatives).

#![allow(dead_code)]

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// The pid as the kernel's type, refusing 0 and 1 (`kill(0)` is our own group, pid 1 init)
/// and anything that does not fit (a wrapped value would be a group or "everyone").
fn one_pid(id: impl TryInto<i32>) -> Option<Pid> {
    let id: i32 = id.try_into().ok()?;
    (id > 1).then(|| Pid::from_raw(id))
}

/// Sends `sig` to the process group `pgid` (a child spawned with `process_group(0)` leads the
/// group numbered by its pid). Returns whether the signal was delivered.
pub(crate) fn signal_group(pgid: impl TryInto<i32>, sig: Signal) -> bool {
    match one_pid(pgid) {
        // Never our own group: that would signal the test harness itself.
        Some(p) if p != nix::unistd::getpgrp() => killpg(p, sig).is_ok(),
        _ => false,
    }
}

/// Sends `sig` to the one process `pid`. Returns whether the signal was delivered.
pub(crate) fn signal_process(pid: impl TryInto<i32>, sig: Signal) -> bool {
    match one_pid(pid) {
        Some(p) if p != nix::unistd::getpid() => kill(p, sig).is_ok(),
        _ => false,
    }
}
