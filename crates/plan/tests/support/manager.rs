//! A minimal manager for tests: kube-runtime's `Controller` over Plans, waking a plan on
//! the changes [`ferry_plan::watch`] lists (Migrations, and the label-selected
//! destination kinds), calling [`ferry_plan::reconcile`] and honouring its requeue.
//! The real manager lives in `ferry-controller`; this one proves the watch contract is
//! enough to drive a plan.

use ferry_api::destination::DataVolume;
use ferry_api::k8s_openapi::api::core::v1::Pod;
use ferry_api::{Conversion, Migration, Plan};
use ferry_plan::reconcile::Context;
use ferry_plan::watch::{LABEL_SELECTOR, labelled_plan, migration_plan};
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A running manager; dropping it stops it.
pub struct Manager {
    task: tokio::task::JoinHandle<()>,
    /// Reconciles run so far.
    pub reconciles: Arc<AtomicUsize>,
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    ctx: Context,
    reconciles: Arc<AtomicUsize>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

fn to_plan(key: Option<ferry_plan::watch::PlanKey>) -> Option<ObjectRef<Plan>> {
    key.map(|k| ObjectRef::new(&k.name).within(&k.namespace))
}

/// Starts a manager reconciling every Plan with `ctx`.
pub fn start(client: kube::Client, ctx: Context) -> Manager {
    let reconciles = Arc::new(AtomicUsize::new(0));
    let state = Arc::new(State {
        ctx,
        reconciles: reconciles.clone(),
    });
    let labelled = watcher::Config::default().labels(LABEL_SELECTOR);
    let controller = Controller::new(Api::<Plan>::all(client.clone()), watcher::Config::default())
        .watches(
            Api::<Migration>::all(client.clone()),
            watcher::Config::default(),
            |m: Migration| to_plan(migration_plan(&m)),
        )
        .watches(
            Api::<Pod>::all(client.clone()),
            labelled.clone(),
            |o: Pod| to_plan(labelled_plan(o.metadata.labels.as_ref())),
        )
        .watches(
            Api::<DataVolume>::all(client.clone()),
            labelled.clone(),
            |o: DataVolume| to_plan(labelled_plan(o.metadata.labels.as_ref())),
        )
        .watches(
            Api::<Conversion>::all(client.clone()),
            labelled,
            |o: Conversion| to_plan(labelled_plan(o.metadata.labels.as_ref())),
        );
    let task = tokio::spawn(async move {
        controller
            .run(
                |plan: Arc<Plan>, state: Arc<State>| async move {
                    state.reconciles.fetch_add(1, Ordering::Relaxed);
                    let namespace = plan.metadata.namespace.clone().unwrap_or_default();
                    let name = plan.metadata.name.clone().unwrap_or_default();
                    match ferry_plan::reconcile(&state.ctx, &namespace, &name).await {
                        Ok(done) => Ok(match done.requeue {
                            Some(after) => Action::requeue(after),
                            None => Action::await_change(),
                        }),
                        Err(error) => Err(Failed(error.to_string())),
                    }
                },
                |_plan, _error, _state| Action::requeue(Duration::from_millis(500)),
                state,
            )
            .for_each(|_| futures::future::ready(()))
            .await;
    });
    Manager { task, reconciles }
}
