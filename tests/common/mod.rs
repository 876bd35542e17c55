//! Running the `ferry` binary in system tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod results;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bound on one test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `body` with [`TEST_TIMEOUT`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test did not finish within its bound")
}

/// A `ferry` process, killed if the test ends without stopping it.
pub struct Ferry {
    child: Option<Child>,
    /// Where its standard output goes.
    pub stdout: PathBuf,
    /// Where its standard error goes.
    pub stderr: PathBuf,
}

impl Ferry {
    /// Starts `ferry <args>`, output to files in `logs`.
    pub fn spawn(args: &[&str], logs: &Path) -> Self {
        Self::spawn_with_env(args, logs, &[])
    }

    /// [`Ferry::spawn`] with extra environment variables.
    pub fn spawn_with_env(args: &[&str], logs: &Path, env: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(logs).unwrap();
        let n = std::fs::read_dir(logs).map(|d| d.count()).unwrap_or(0);
        let stdout = logs.join(format!("ferry-{n}.out"));
        let stderr = logs.join(format!("ferry-{n}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("the ferry binary runs");
        Self {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// What it printed so far (stdout, then stderr).
    pub fn output(&self) -> String {
        format!(
            "{}\n--- stderr ---\n{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// Whether it still runs; panics with its output if it exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!("ferry exited early ({status}):\n{}", self.output());
        }
    }

    /// Sends Ctrl-C (SIGINT) and waits for the exit; returns whether it exited 0.
    pub async fn interrupt(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait(Duration::from_secs(120)).await
    }

    /// Kills it (SIGKILL: a crash, nothing is cleaned up).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Waits for the exit; returns whether it exited 0.
    pub async fn wait(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.success();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "ferry did not exit within {limit:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Ferry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `path` exists, while `ferry` runs.
pub async fn wait_for_file(ferry: &mut Ferry, path: &Path, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while !path.exists() {
        ferry.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} did not appear within {limit:?}:\n{}",
            path.display(),
            ferry.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The real kube-apiserver's binaries for `ferry sandbox --kube-bin` (FERRY_KUBE_BIN,
/// which scripts/test exports); fails the test with what to do when it is not set.
pub fn kube_bin() -> PathBuf {
    match std::env::var_os("FERRY_KUBE_BIN") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => panic!(
            "FERRY_KUBE_BIN is not set: run scripts/test (its set-up builds kube-apiserver, \
             etcd and kube-controller-manager with tools/kube/build.sh and exports it)"
        ),
    }
}

/// A client from a kubeconfig file.
pub async fn client(kubeconfig: &Path) -> kube::Client {
    ferry_sandbox::cluster::install_crypto_provider();
    let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// The bearer token of a kubeconfig (the inventory service takes it too).
pub fn token(kubeconfig: &Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let config: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    config["users"][0]["user"]["token"]
        .as_str()
        .expect("a token in the kubeconfig")
        .to_owned()
}
