//! The seam between the sandbox and Ferry's controllers: the sandbox hands the manager a
//! client (plain, or failing at a configured rate), the inventory registry it serves,
//! and the OVA exports it fakes; tests stop and start the controllers mid-run through
//! it, as a crash and restart of `ferry controller` would.
//!
//! [`FerryManager`] runs `ferry_controller::manager::start` in process, with settings
//! tuned for one machine: no leader election, OVA exports mapped to local directories
//! (`FERRY_OVA_SHARES`) and no settle time for appliances. `FEATURE_USE_CONVERSION_CR` keeps
//! upstream's default (on): the plan creates `Conversion` resources and the manager's
//! Conversion controller runs their virt-v2v pods.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_controller::manager::{ClientSource, Manager, ManagerConfig, start};
use ferry_controller::plan::PlanReconciler;
use ferry_controller::settings::Settings;
use ferry_inventory::Registry;
use futures::future::BoxFuture;

/// What the controllers are started with.
#[derive(Clone)]
pub struct ControllerSetup {
    /// The API client the controllers use.
    pub client: kube::Client,
    /// The inventory registry (the sandbox serves its REST routes).
    pub registry: Arc<Registry>,
    /// OVA exports (`server:/path`) and the local directories standing in for them.
    pub ova_exports: Vec<(String, PathBuf)>,
    /// Ferry's namespace (`POD_NAMESPACE`).
    pub namespace: String,
}

/// Starts Ferry's controllers.
pub trait Controllers: Send + Sync + 'static {
    /// Starts them; returns once they serve (caches synced).
    fn start(
        &self,
        setup: ControllerSetup,
    ) -> BoxFuture<'_, Result<Box<dyn RunningControllers>, String>>;
}

/// Running controllers.
pub trait RunningControllers: Send {
    /// Stops them (as a crash would: nothing is cleaned up in the API).
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Ferry's manager, in process.
#[derive(Clone, Default)]
pub struct FerryManager {
    /// The plan controller's reconcile; `None` keeps the manager's own (`ferry-plan`'s,
    /// [`ferry_controller::plan::ferry::FerryPlan`]).
    pub plan: Option<Arc<dyn PlanReconciler>>,
}

impl FerryManager {
    /// The settings the sandbox runs the manager with.
    pub fn settings(setup: &ControllerSetup) -> Result<Settings, String> {
        let mut settings = Settings::defaults().map_err(|e| e.to_string())?;
        settings.manager.pod_namespace = setup.namespace.clone();
        settings.manager.leader_election = false;
        settings.ova.shares = setup.ova_exports.clone();
        settings.ova.settle = Duration::ZERO;
        settings.ova.rescan = Duration::from_secs(5);
        Ok(settings)
    }
}

struct Running(Manager);

impl RunningControllers for Running {
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.shutdown().await })
    }
}

impl Controllers for FerryManager {
    fn start(
        &self,
        setup: ControllerSetup,
    ) -> BoxFuture<'_, Result<Box<dyn RunningControllers>, String>> {
        Box::pin(async move {
            let settings = Self::settings(&setup)?;
            let mut config = ManagerConfig::new(ClientSource::Client(setup.client.clone()));
            config.settings = Some(settings);
            config.registry = Arc::clone(&setup.registry);
            if let Some(plan) = &self.plan {
                config.plan = Some(Arc::clone(plan));
            }
            config.instance = Some("ferry-sandbox".into());
            let manager = start(config).await.map_err(|e| e.to_string())?;
            if !manager.wait_ready(Duration::from_secs(120)).await {
                manager.shutdown().await;
                return Err("the controllers did not become ready within 120 s".into());
            }
            Ok(Box::new(Running(manager)) as Box<dyn RunningControllers>)
        })
    }
}
