//! Server processes that never outlive the harness.
//!
//! Three layers make sure of that, none needing `unsafe`:
//! - [`Server`]'s `Drop` kills the process (SIGKILL) and reaps it, so a test that
//!   returns, fails or panics (unwinding) leaves nothing behind;
//! - the servers stay in the test's process group, so Ctrl-C or a test runner that
//!   kills the group (nextest on timeout) takes them along;
//! - a [`Watchdog`] (a tiny `sh` that ignores SIGINT/SIGTERM/SIGHUP) is told each
//!   server's pid on its stdin; when the test process dies without unwinding (SIGKILL,
//!   abort, OOM), the kernel closes that pipe, and the watchdog kills the servers and
//!   removes the control plane's temp dir.
//!
//! A control plane in a temp dir is stopped with SIGKILL: its data is thrown away, so
//! there is nothing to flush, and SIGKILL takes no grace period. One on a persistent
//! data dir is stopped with SIGTERM first ([`Server::terminate`]), so etcd closes its
//! database and kube-apiserver drains its requests, and SIGKILL only after a grace
//! period.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::last_lines;
use crate::error::{Error, Result};

/// The watchdog's script: collect pids until stdin closes, then kill them and remove
/// the directory in `$1` (retrying briefly while the dying servers still write). It
/// ignores the signals a terminal or test runner sends to the group, so it outlives the
/// test process; on a normal stop the harness kills it with SIGKILL before the servers,
/// so it never kills a pid that has been reused nor removes anything.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT TERM HUP
pids=
while IFS= read -r pid; do pids="$pids $pid"; done
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
if [ -n "$1" ]; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        rm -rf -- "$1" 2>/dev/null
        [ -e "$1" ] || break
        sleep 0.2
    done
fi
exit 0"#;

/// Kills registered servers when the harness's process dies without cleaning up.
pub struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts the watchdog; if the harness dies, it also removes `cleanup` (the
    /// control plane's temp dir).
    pub fn start(cleanup: Option<&Path>) -> Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("ferry-realkube-watchdog")
            .arg(cleanup.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("start", "sh (the harness's watchdog)", e))?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }

    /// Tells the watchdog to kill `pid` if the harness dies.
    pub fn guard(&mut self, pid: u32) -> Result<()> {
        let written = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{pid}").and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("the watchdog's stdin is closed")),
        };
        written.map_err(|e| Error::io("write to", "the harness's watchdog", e))
    }

    /// The watchdog's own pid (for leak checks).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the watchdog without letting it kill anything (SIGKILL cannot be trapped).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One running server process, with its output in a log file.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    /// Starts `program` with `args`, its stdout and stderr appended to `log` (kept
    /// across restarts on a persistent data dir), and puts it under the watchdog's guard.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
        watchdog: &mut Watchdog,
    ) -> Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::io("create", &log, e))?;
        let err = out.try_clone().map_err(|e| Error::io("open", &log, e))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io("start", program, e))?;
        let server = Server {
            name,
            child: Some(child),
            log,
        };
        watchdog.guard(server.pid())?;
        Ok(server)
    }

    /// The process id (0 once stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The server's name, for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `Some(status)` if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        last_lines(&String::from_utf8_lossy(&text), 40)
    }

    /// The error to report when the server exited with `status`.
    pub fn exited_error(&self, status: ExitStatus) -> Error {
        Error::Exited {
            name: self.name,
            status: status.to_string(),
            log_tail: self.log_tail(),
        }
    }

    /// Kills the process and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process gracefully: SIGTERM, then up to `grace` for it to exit, then
    /// SIGKILL. Blocks the calling thread for at most `grace` (plus the reaping).
    /// Returns how it ended: `true` if it exited on SIGTERM within the grace period.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        let deadline = Instant::now() + grace;
        let mut graceful = send_sigterm(child.id());
        if graceful {
            graceful = loop {
                match child.try_wait() {
                    Ok(Some(_)) => break true,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    _ => break false,
                }
            };
        }
        if !graceful {
            tracing::warn!(
                server = self.name,
                ?grace,
                "did not stop on SIGTERM in time; killed"
            );
            let _ = child.kill();
        }
        let _ = child.wait();
        graceful
    }
}

/// Sends SIGTERM to `pid` through the shell's `kill` builtin (this crate forbids the
/// `unsafe` a direct system call would need). True if the signal was sent.
fn send_sigterm(pid: u32) -> bool {
    Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "ferry-realkube-stop"])
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        // A reaped process has no /proc entry; a zombie would show state Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    }

    fn sleeper(dir: &Path, watchdog: &mut Watchdog) -> Server {
        Server::spawn(
            "sleep",
            Path::new("/bin/sleep"),
            &["300".to_string()],
            dir.join("sleep.log"),
            watchdog,
        )
        .unwrap()
    }

    #[test]
    fn dropping_a_server_kills_and_reaps_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let server = sleeper(dir.path(), &mut watchdog);
        let pid = server.pid();
        assert!(alive(pid));
        drop(server);
        assert!(!alive(pid));
    }

    #[test]
    fn the_watchdog_kills_its_servers_when_its_stdin_closes() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let server = sleeper(dir.path(), &mut watchdog);
        let pid = server.pid();
        // What the kernel does when the harness's process dies: the pipe closes.
        watchdog.stdin = None;
        watchdog.child.wait().unwrap();
        // The watchdog has killed it; only the reaping (by us, its parent) is left.
        let mut server = server;
        let status = server.child.as_mut().unwrap().wait().unwrap();
        assert!(
            !status.success(),
            "sleep was killed, not finished: {status}"
        );
        assert!(!alive(pid));
    }

    #[test]
    fn the_watchdog_removes_the_dir_it_was_given_when_its_stdin_closes() {
        let dir = tempfile::tempdir().unwrap();
        let doomed = dir.path().join("plane");
        std::fs::create_dir_all(doomed.join("etcd")).unwrap();
        std::fs::write(doomed.join("etcd/db"), "x").unwrap();
        let mut watchdog = Watchdog::start(Some(&doomed)).unwrap();
        watchdog.stdin = None;
        watchdog.child.wait().unwrap();
        assert!(!doomed.exists());
        assert!(dir.path().exists(), "only the given dir goes");
    }

    #[test]
    fn stopping_the_watchdog_kills_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let mut server = sleeper(dir.path(), &mut watchdog);
        watchdog.stop();
        assert!(server.exited().is_none(), "the server must still run");
        server.stop();
    }

    #[test]
    fn terminate_sends_sigterm_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let mut server = sleeper(dir.path(), &mut watchdog);
        let pid = server.pid();
        // sleep dies of SIGTERM at once: no SIGKILL needed.
        assert!(server.terminate(Duration::from_secs(20)));
        assert!(!alive(pid));
        assert!(
            server.terminate(Duration::from_secs(1)),
            "a second stop is a no-op"
        );
    }

    #[test]
    fn terminate_kills_what_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let mut server = Server::spawn(
            "stubborn",
            Path::new("/bin/sh"),
            &[
                "-c".to_string(),
                "trap '' TERM; while :; do sleep 0.1; done".to_string(),
            ],
            dir.path().join("stubborn.log"),
            &mut watchdog,
        )
        .unwrap();
        let pid = server.pid();
        // Let the shell install its trap before the signal arrives.
        std::thread::sleep(Duration::from_millis(300));
        assert!(!server.terminate(Duration::from_millis(300)));
        assert!(!alive(pid));
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut watchdog = Watchdog::start(None).unwrap();
        let err = Server::spawn(
            "nothing",
            Path::new("/nonexistent/program"),
            &[],
            dir.path().join("x.log"),
            &mut watchdog,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("/nonexistent/program"), "{err}");
    }
}
