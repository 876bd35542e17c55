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
//! garbage collection and namespace deletion, start with
//! [`Builder::garbage_collection`], which also runs kube-controller-manager.

mod binaries;
mod control_plane;
mod error;
mod flags;
mod kubeconfig;
mod pki;
mod process;

pub use binaries::{BIN_ENV, Binaries};
pub use control_plane::{Builder, ControlPlane, DEFAULT_READY_TIMEOUT, GC_CONTROLLERS};
pub use error::{Error, Result};
pub use flags::TOKEN_USER;
