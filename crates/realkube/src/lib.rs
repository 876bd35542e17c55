//! Starts the real `kube-apiserver` and `etcd` (built by `tools/kube/build.sh`) for
//! tests: free loopback ports, a fresh temp dir, certificates, a token, a kubeconfig,
//! and a clean stop that leaves no process behind, even when a test panics.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_realkube::Error> {
//! let plane = ferry_realkube::ControlPlane::start().await?;
//! let client = plane.client()?;
//! // ... use `client`, or `plane.kubeconfig()` with kubectl ...
//! plane.stop()?;
//! # Ok(()) }
//! ```
//!
//! The binaries come from `FERRY_KUBE_BIN` (exported by `scripts/setup.d/30-kube.sh`)
//! or the build cache of `tools/kube/build.sh`; without them, starting fails with a
//! message that says to run `scripts/test`. kube-apiserver has no controllers: for
//! garbage collection, namespace deletion, default ServiceAccounts and PV/PVC
//! protection, start with [`Builder::garbage_collection`], which also runs
//! kube-controller-manager with [`GC_CONTROLLERS`] and turns the `ServiceAccount`
//! admission plugin on (as on a real cluster: pods get their account's token volume).
//!
//! For a control plane that outlives the process (the sandbox on the real server),
//! [`Builder::data_dir`] keeps etcd's data (with fsync), the keys, the token and the
//! kubeconfig in a directory of yours; [`ControlPlane::stop`] then stops gracefully
//! (SIGTERM, then [`DEFAULT_STOP_GRACE`]) and a later start on the same directory
//! finds everything again. [`ControlPlane::restart_apiserver`] and
//! [`ControlPlane::compact_etcd`] expire old resourceVersions on demand, as time does
//! on a real cluster, for tests of `410 Gone`.

mod binaries;
mod control_plane;
mod error;
mod flags;
mod home;
mod kubeconfig;
mod pki;
mod process;

pub use binaries::{BIN_ENV, Binaries};
pub use control_plane::{
    Builder, ControlPlane, DEFAULT_READY_TIMEOUT, DEFAULT_STOP_GRACE, GC_CONTROLLERS,
};
pub use error::{Error, Result};
pub use flags::TOKEN_USER;
