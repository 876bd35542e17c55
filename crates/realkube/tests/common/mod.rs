//! Helpers shared by the harness's integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use ferry_realkube::ControlPlane;

/// The bound on any one test: a cold start is seconds; this is for a loaded machine.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `body` with [`TEST_TIMEOUT`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test did not finish within its bound")
}

/// Starts a control plane, failing with the harness's own message (which says to run
/// scripts/test when the binaries are missing).
pub async fn start() -> ControlPlane {
    ControlPlane::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// True while `pid` is a live process (a zombie, or no /proc entry, counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "pid (comm) S ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// True when no socket on this machine listens on TCP `port`.
///
/// A leaked server is a *listener* that outlived its test. Binding the port ourselves
/// would also fail when another process's outgoing connection happens to use it as
/// its local (ephemeral) port, which the servers' ports share a range with; so this
/// reads the kernel's socket tables instead.
pub fn port_free(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .all(|table| !listens_on(&table, port))
}

/// True when a `/proc/net/tcp{,6}` table has a LISTEN (state `0A`) row on `port`.
fn listens_on(table: &str, port: u16) -> bool {
    table.lines().skip(1).any(|row| {
        let mut fields = row.split_whitespace();
        let local = fields.nth(1).unwrap_or_default();
        let state = fields.nth(1).unwrap_or_default();
        let local_port = local
            .rsplit_once(':')
            .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
        state == "0A" && local_port == Some(port)
    })
}

#[test]
fn a_listener_is_seen_and_other_sockets_are_not() {
    // A live listener shows in the kernel's tables (a freed port could be taken by any
    // other process at once, so its absence is checked on a table below instead).
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(!port_free(port));
    // Rows as /proc/net/tcp prints them: local address, remote address, state.
    let table = "  sl  local_address rem_address   st tx_queue rx_queue\n\
         0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n\
         1: 0100007F:1F91 0100007F:1F90 01 00000000:00000000\n";
    assert!(listens_on(table, 0x1F90), "LISTEN (0A) on 8080");
    assert!(
        !listens_on(table, 0x1F91),
        "8081 is a client's (ESTABLISHED) port"
    );
    assert!(!listens_on(table, 0x1F92), "no row");
    assert!(!listens_on("garbage\nmore garbage", 0x1F90));
}

/// Polls `check` every 100 ms until it holds, for at most `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not true after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `left` every 100 ms until it returns nothing, failing with `what` and what
/// was left once `deadline` passes.
async fn until_none_left<T: std::fmt::Debug>(
    deadline: tokio::time::Instant,
    what: &str,
    mut left: impl FnMut() -> Vec<T>,
) {
    loop {
        let remaining = left();
        if remaining.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} after 30s: {remaining:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that every process is gone, every port is free and the dir is removed.
pub async fn assert_no_leaks(pids: &[u32], ports: &[u16], dir: &std::path::Path) {
    // Processes reaped by the harness are gone at once; ones killed by the watchdog
    // (after the harness's process died) are reaped by init, so allow a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    until_none_left(deadline, "processes still alive", || {
        pids.iter()
            .filter(|&&pid| alive(pid))
            .map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                format!("{pid}: {}", stat.trim())
            })
            .collect()
    })
    .await;
    // A killed Go server's main thread can be a zombie (gone, for `alive`) while its
    // other threads are still exiting with the process's sockets open: its listeners
    // close a moment later. A leak is a listener that stays.
    until_none_left(deadline, "ports still listened on", || {
        ports.iter().copied().filter(|&p| !port_free(p)).collect()
    })
    .await;
    assert!(!dir.exists(), "{} still exists", dir.display());
}
