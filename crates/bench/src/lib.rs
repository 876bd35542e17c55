//! `ferry bench`: what a migration costs Ferry's control plane, and how fast the
//! sandbox's disk data path is, measured on this machine and printed as JSON.
//!
//! - [`control_plane`]: a sandbox with zero-delay work migrates N generated OVA VMs
//!   under `MAX_VM_INFLIGHT`; reports the time from the Migration to `Succeeded`, the
//!   controllers' API requests (by verb, per VM), their memory and CPU time (a child
//!   process, read from `/proc`), the Plan's size, the idle cost of a Ready and of a
//!   finished plan, and Forklift's polling floor for the same itinerary ([`forklift`]).
//! - [`data_path`]: a streamOptimized VMDK with real content inside an OVA, converted to
//!   raw through the sandbox's conversion code, against `qemu-img convert` and `cat`.
//!
//! Figures are reported, never asserted: tests check that a small run works and that its
//! report is well-formed. `BENCHMARKS.md` records the figures and the commands.

pub mod audit;
pub mod control_plane;
pub mod controller;
pub mod data_path;
pub mod forklift;
pub mod procfs;
pub mod requests;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options make no sense.
    #[error("{0}")]
    Invalid(String),
    /// The sandbox failed.
    #[error(transparent)]
    Sandbox(#[from] ferry_sandbox::sandbox::SandboxError),
    /// The catalog cannot be read.
    #[error(transparent)]
    Catalog(#[from] ferry_sandbox::sandbox::catalog::CatalogError),
    /// An API call failed.
    #[error("{action}: {error}")]
    Kube {
        /// What was being done.
        action: String,
        /// Why.
        error: kube::Error,
    },
    /// Something did not happen in time.
    #[error("{0}")]
    Timeout(String),
    /// The benchmark's subject failed (the migration, a tool).
    #[error("{0}")]
    Failed(String),
    /// A file could not be read or written.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// JSON from the API could not be read.
    #[error("unexpected JSON from the API: {0}")]
    Json(#[from] serde_json::Error),
}
