//! The sandbox's data directory: everything one sandbox keeps, so a second run on the
//! same directory resumes.
//!
//! ```text
//! DIR/
//!   kubeconfig        for kubectl (and tests)
//!   endpoints.json    the API server and inventory URLs, the catalog, the namespace
//!   sandbox.json      what must stay the same across runs (API server port, pod network)
//!   apiserver/        the embedded API server's database
//!   kube/             or the real control plane's: etcd's data, keys, token, logs
//!   catalog/          the sample appliances (unless --catalog names another directory)
//!   volumes/          provisioned volumes: volumes/pvc-<uid>/disk.img
//!   logs/             container output: logs/<namespace>/<pod>/<container>.log
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The paths of one sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The data directory.
    pub root: PathBuf,
}

impl Layout {
    /// The layout under `root` (made absolute).
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()?.join(root)
        };
        Ok(Self { root })
    }

    /// Creates the directory (private to the user: it holds a token).
    pub fn create(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    /// `DIR/kubeconfig`.
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    /// `DIR/endpoints.json`.
    pub fn endpoints(&self) -> PathBuf {
        self.root.join("endpoints.json")
    }

    /// `DIR/sandbox.json`.
    pub fn state(&self) -> PathBuf {
        self.root.join("sandbox.json")
    }

    /// `DIR/apiserver`.
    pub fn apiserver(&self) -> PathBuf {
        self.root.join("apiserver")
    }

    /// The real control plane's directory (`--kube-bin`): etcd's data, keys, token,
    /// kubeconfig and the servers' logs.
    pub fn kube(&self) -> PathBuf {
        self.root.join("kube")
    }

    /// `DIR/catalog`.
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog")
    }
}

/// The default data directory: `$XDG_DATA_HOME/ferry/sandbox`, else
/// `~/.local/share/ferry/sandbox` (`~/Library/Application Support/ferry/sandbox` on
/// macOS), else `./ferry-sandbox`.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("ferry").join("sandbox");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) if cfg!(target_os = "macos") => PathBuf::from(home)
            .join("Library")
            .join("Application Support")
            .join("ferry")
            .join("sandbox"),
        Some(home) => PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("ferry")
            .join("sandbox"),
        None => PathBuf::from("ferry-sandbox"),
    }
}

/// `endpoints.json`: where to reach the sandbox. Both services take the kubeconfig's
/// bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// The API server's URL.
    pub apiserver: String,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The inventory service's URL (Forklift's `/providers/...` routes).
    pub inventory: String,
    /// The namespace of the Providers.
    pub namespace: String,
    /// The OVA catalog directory.
    pub catalog: PathBuf,
    /// The OVA Provider's URL.
    pub ova_url: String,
}

/// What stays the same across runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The API server's port (kept so kubeconfigs stay valid).
    #[serde(default)]
    pub apiserver_port: u16,
    /// The pod network's second octet (pods keep their addresses).
    #[serde(default)]
    pub pod_network: u8,
}

/// Reads a JSON file, `None` when it does not exist or cannot be parsed.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes a JSON file atomically (a temporary file, then a rename).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    let temporary = path.with_extension("json.tmp");
    fs::write(&temporary, format!("{text}\n"))?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_tolerates_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("sb")).unwrap();
        layout.create().unwrap();
        let state = State {
            apiserver_port: 4321,
            pod_network: 99,
        };
        write_json(&layout.state(), &state).unwrap();
        assert_eq!(read_json::<State>(&layout.state()), Some(state));
        fs::write(layout.state(), "{not json").unwrap();
        assert_eq!(read_json::<State>(&layout.state()), None);
        assert!(layout.kubeconfig().starts_with(&layout.root));
    }

    #[test]
    fn relative_dirs_become_absolute() {
        let layout = Layout::new("relative/dir").unwrap();
        assert!(layout.root.is_absolute());
    }
}
