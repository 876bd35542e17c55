//! The plan reconcile: the entry point the manager calls for one Plan.
//!
//! ```text
//! read the Plan ─ gone? → delete its orphans (spec §6.9 "Plan deleted")
//!      │ archived and Archived, or Succeeded? → nothing (no reads, no writes)
//!      ▼
//! lock its source (one reconcile per source at a time: the in-flight limit counts
//!      │           the VMs of every plan of the source)
//! observe (reads) → validate → decide ⇄ apply (fixed point) → write status → Events
//! ```
//!
//! The result says when to look again: `None` when only a watch can make progress (the
//! manager wakes the plan on changes to the objects of [`crate::watch`]), a delay while
//! a conversion pod or the source must be polled, or the blocker grace deadline.
//!
//! Errors carry an [`ErrorClass`] for the manager's error policy: retry a
//! [`ErrorClass::Conflict`] at once, wait for the provider on
//! [`ErrorClass::ProviderNotReady`] (the inventory registering wakes the plan), and back
//! off on [`ErrorClass::Transient`].

use crate::adapter::Adapters;
use crate::apply::{ApplyError, KubeApply};
use crate::events::{self, NoEvents, Recorder};
use crate::execute::ExecuteError;
use crate::http::{HttpClientError, PodHttp, ReqwestPods};
use crate::observe::{self, Inventories, LoadError, Reader};
use crate::pass::{self, Outcome, PassError, Skip};
use crate::settings::Settings;
use crate::status::{self, StatusError};
use crate::validate::ValidateError;
use ferry_api::{ObjectReference, Plan, Time};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tracing::Instrument;

/// While a plan has a blocker, it is validated again this often: some blockers depend
/// on objects no watch covers (namespaces, ServiceAccounts, NADs, StorageClasses,
/// other VirtualMachines). A Ready or finished plan is never polled.
pub const BLOCKED_RECHECK: Duration = Duration::from_secs(60);

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, at whole seconds (as conditions record time).
    fn now(&self) -> Time;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        ferry_api::time::now()
    }
}

type SourceLock = Arc<futures::lock::Mutex<()>>;

/// One async lock per source provider (`namespace/name`).
#[derive(Default)]
struct SourceLocks {
    locks: Mutex<HashMap<(String, String), SourceLock>>,
}

impl SourceLocks {
    fn get(&self, key: (String, String)) -> SourceLock {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(key).or_default())
    }
}

/// Everything a plan reconcile needs, built once by the manager and shared.
pub struct Context {
    /// The API client (destination = the cluster Ferry runs in).
    pub client: kube::Client,
    /// The settings.
    pub settings: Arc<Settings>,
    /// The provider adapters.
    pub adapters: Adapters,
    /// The source inventories, by Provider UID.
    pub inventories: Arc<dyn Inventories>,
    /// Where Events go.
    pub recorder: Arc<dyn Recorder>,
    /// How conversion pods are called.
    pub pods: Arc<dyn PodHttp>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    sources: SourceLocks,
}

impl Context {
    /// A context with the system clock, plain-HTTP pod calls and no Events.
    pub fn new(
        client: kube::Client,
        settings: Arc<Settings>,
        adapters: Adapters,
        inventories: Arc<dyn Inventories>,
    ) -> Result<Self, HttpClientError> {
        Ok(Self {
            client,
            settings,
            adapters,
            inventories,
            recorder: Arc::new(NoEvents),
            pods: Arc::new(ReqwestPods::new()?),
            clock: Arc::new(SystemClock),
            sources: SourceLocks::default(),
        })
    }

    /// Publishes Events through `recorder`.
    #[must_use]
    pub fn with_recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = recorder;
        self
    }

    /// Calls conversion pods through `pods`.
    #[must_use]
    pub fn with_pods(mut self, pods: Arc<dyn PodHttp>) -> Self {
        self.pods = pods;
        self
    }

    /// Reads time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// How the manager should treat a failed reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A write lost an optimistic-concurrency race: reconcile again at once.
    Conflict,
    /// The source inventory is not ready: wait for it (its registration wakes the plan;
    /// a slow retry is a safe fallback).
    ProviderNotReady,
    /// Anything else: retry with backoff.
    Transient,
}

/// A reconcile that failed. Messages never carry secret values.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A read failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Validation could not run.
    #[error("validation: {0}")]
    Validate(#[source] ValidateError),
    /// Execution could not decide.
    #[error("execution: {0}")]
    Execute(#[source] ExecuteError),
    /// An action was refused; the status as far as it got was written.
    #[error("applying: {0}")]
    Apply(#[from] ApplyError),
    /// The status write failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

impl From<PassError> for ReconcileError {
    fn from(error: PassError) -> Self {
        match error {
            PassError::Validate(error) => Self::Validate(error),
            PassError::Execute(error) => Self::Execute(error),
        }
    }
}

impl ReconcileError {
    /// How to retry.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Validate(ValidateError::InventoryNotReady)
            | Self::Execute(ExecuteError::InventoryNotReady) => ErrorClass::ProviderNotReady,
            Self::Status(error) if error.is_conflict() => ErrorClass::Conflict,
            Self::Apply(error) if error.is_conflict() => ErrorClass::Conflict,
            _ => ErrorClass::Transient,
        }
    }

    /// A short, stable reason (a metrics label).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Load(_) => "ReadFailed",
            Self::Validate(ValidateError::InventoryNotReady)
            | Self::Execute(ExecuteError::InventoryNotReady) => "InventoryNotReady",
            Self::Validate(_) => "ValidationFailed",
            Self::Execute(_) => "ExecutionFailed",
            Self::Apply(_) => "ApplyFailed",
            Self::Status(error) if error.is_conflict() => "Conflict",
            Self::Status(_) => "StatusWriteFailed",
        }
    }
}

/// What a reconcile did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcomes {
    /// The Plan does not exist; its orphans were deleted.
    Gone {
        /// How many orphans were deleted.
        deleted: usize,
    },
    /// Nothing to do (archived, or succeeded).
    Skipped(Skip),
    /// Reconciled.
    Settled {
        /// Whether the status was written.
        wrote: bool,
        /// Decisions made.
        passes: usize,
        /// Actions applied.
        actions: usize,
    },
}

/// The result of a reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    /// When to reconcile again if no watched object changes; `None`: only on a change.
    pub requeue: Option<Duration>,
    /// What was done.
    pub outcome: Outcomes,
}

/// Reconciles the Plan `namespace/name`.
pub async fn reconcile(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Reconciled, ReconcileError> {
    let span = tracing::info_span!("plan", plan.namespace = namespace, plan.name = name);
    // Boxed: the reconcile's state (reads, decisions, writes) is large, and a caller
    // polling it on a small stack must not carry it inline.
    Box::pin(run(ctx, namespace, name).instrument(span)).await
}

async fn run(ctx: &Context, namespace: &str, name: &str) -> Result<Reconciled, ReconcileError> {
    let reader = Reader::new(ctx.client.clone());
    let Some(plan) = observe::read_plan(&reader, namespace, name).await? else {
        let deleted = crate::orphans::delete(&ctx.client, namespace, name).await?;
        return Ok(Reconciled {
            requeue: None,
            outcome: Outcomes::Gone { deleted },
        });
    };
    if let Some(skip) = pass::skip(&plan) {
        tracing::debug!(?skip, "nothing to do");
        return Ok(Reconciled {
            requeue: None,
            outcome: Outcomes::Skipped(skip),
        });
    }
    let source = observe::ref_key(&plan.spec.provider.source).unwrap_or_default();
    let lock = ctx.sources.get(source);
    let _guard = lock.lock().await;

    let read = plan.clone();
    let mut observed = Box::pin(observe::load(
        &reader,
        plan,
        &ctx.settings,
        ctx.inventories.as_ref(),
    ))
    .await?;
    let now = ctx.clock.now();
    let mut applier = KubeApply::new(ctx.client.clone(), &ctx.adapters, ctx.pods.as_ref());
    let outcome = Box::pin(pass::run(
        &mut observed,
        &ctx.adapters,
        &ctx.settings,
        &now,
        &mut applier,
    ))
    .await?;
    let settled = match outcome {
        Outcome::Skipped(skip) => {
            return Ok(Reconciled {
                requeue: None,
                outcome: Outcomes::Skipped(skip),
            });
        }
        Outcome::Done { settled, .. } => settled,
    };
    let mut new_status = settled.status;
    let compaction =
        status::compact(&mut new_status, status::STATUS_BUDGET).map_err(StatusError::from)?;
    if compaction != status::Compaction::None {
        tracing::info!(?compaction, "the status is large; detail was left out");
    }
    let wrote = status::write(&ctx.client, &read, &new_status).await?;
    if wrote.is_some() {
        let events = events::events(&read.status, &new_status);
        if !events.is_empty() {
            ctx.recorder.publish(&regarding(&read), events).await;
        }
    }
    tracing::info!(
        passes = settled.passes,
        actions = settled.applied.len(),
        wrote = wrote.is_some(),
        wake = ?settled.wake,
        "reconciled"
    );
    if let Some(error) = settled.error {
        return Err(error.into());
    }
    let blocked = new_status.conditions.has_blocker() && !read.spec.archived;
    let requeue = match (settled.wake, blocked) {
        (Some(wake), true) => Some(wake.min(BLOCKED_RECHECK)),
        (None, true) => Some(BLOCKED_RECHECK),
        (wake, false) => wake,
    };
    Ok(Reconciled {
        requeue,
        outcome: Outcomes::Settled {
            wrote: wrote.is_some(),
            passes: settled.passes,
            actions: settled.applied.len(),
        },
    })
}

/// The reference Events about `plan` carry.
pub fn regarding(plan: &Plan) -> ObjectReference {
    ObjectReference {
        api_version: Some(ferry_api::API_VERSION.to_string()),
        kind: Some("Plan".into()),
        namespace: plan.metadata.namespace.clone(),
        name: plan.metadata.name.clone(),
        uid: plan.metadata.uid.clone(),
        resource_version: plan.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}
