//! The controllers a cluster runs next to its API server, in process: the CRD
//! controllers (naming, establishing, finalizing), the garbage collector and the
//! namespace controller and the storage-protection controllers. Each reacts to committed store events and writes through
//! the same operations clients use.

pub mod crd;
pub mod gc;
pub mod namespace;
pub mod protection;

use crate::ops::{Api, WriteOptions};
use crate::resource::ResourceDef;
use crate::status::GroupResource;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Starts every controller; the handles are aborted at shutdown.
pub fn start(api: &Arc<Api>, gc_resync: Duration) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(crd::run(api.clone())),
        tokio::spawn(gc::run(api.clone(), gc_resync)),
        tokio::spawn(namespace::run(api.clone())),
        tokio::spawn(protection::run(api.clone())),
    ]
}

/// The definition that serves a storage group-resource (its preferred version).
pub fn def_for_storage(api: &Api, gr: &GroupResource) -> Option<Arc<ResourceDef>> {
    let all = api.registry.all();
    all.iter()
        .find(|d| &d.storage == gr && d.preferred && d.group == gr.group)
        .or_else(|| all.iter().find(|d| &d.storage == gr && d.group == gr.group))
        .or_else(|| all.iter().find(|d| &d.storage == gr))
        .cloned()
}

/// Write options for a controller's field manager.
pub fn options(manager: &str) -> WriteOptions {
    WriteOptions {
        field_manager: manager.to_string(),
        ..WriteOptions::default()
    }
}
