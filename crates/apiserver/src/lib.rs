//! An embedded Kubernetes-compatible API server. It knows nothing of Ferry.
#![forbid(unsafe_code)]

pub mod builtin;
pub mod controllers;
pub mod crd;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod names;
pub mod ops;
pub mod protobuf;
pub mod resource;
pub mod selector;
pub mod server;
pub mod status;
pub mod storage;
pub mod store;
pub mod table;

pub use logs::{LogBody, LogError, LogRequest, MemoryLogs, PodLogSource};
pub use metrics::{CountersSnapshot, RequestKey};
pub use server::{ApiServer, Builder, InProcess, RunningApiServer, StartError};
pub use status::ApiError;
