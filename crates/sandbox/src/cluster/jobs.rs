//! The Job controller (`batch/v1`): pods from the template, one at a time, replaced on
//! failure with back-off until `backoffLimit`; `status.active/succeeded/failed/ready`,
//! `startTime`/`completionTime`, and the terminal conditions as Kubernetes 1.33 writes
//! them (`SuccessCriteriaMet` then `Complete`, reason `CompletionsReached`;
//! `FailureTarget` then `Failed`, reason `BackoffLimitExceeded` or `DeadlineExceeded`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::ClusterConfig;
use super::error::{Error, Result};
use super::events::{self, Kind};
use super::kubeapi;

const MANAGER: &str = "ferry-sandbox-job-controller";
/// The label that ties a Job's pods to it.
pub const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

struct Ctx {
    client: kube::Client,
    config: Arc<ClusterConfig>,
}

/// Runs the Job controller until `stop` is cancelled.
pub async fn run(client: kube::Client, config: Arc<ClusterConfig>, stop: CancellationToken) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config,
    });
    Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Pod>::all(client), watcher::Config::default())
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, retry, ctx)
        .for_each(|_| async {})
        .await;
}

fn retry(_job: Arc<Job>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(%error, "jobs: retrying");
    Action::requeue(Duration::from_millis(500))
}

fn finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")
        })
}

/// Pod counts of a Job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Not finished, not being deleted.
    pub active: i32,
    /// Of those, ready.
    pub ready: i32,
    /// Succeeded.
    pub succeeded: i32,
    /// Failed.
    pub failed: i32,
}

/// What the controller does next (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Create a pod.
    Create,
    /// Wait for pods.
    Wait,
    /// All done.
    Complete,
    /// Too many failures, or past the deadline: reason and message.
    Fail(&'static str, &'static str),
}

/// Decides from the counts, the spec and how long the Job has been active (pure).
pub fn decide(
    counts: Counts,
    completions: i32,
    parallelism: i32,
    backoff_limit: i32,
    past_deadline: bool,
) -> Next {
    if counts.succeeded >= completions {
        Next::Complete
    } else if counts.failed > backoff_limit {
        Next::Fail(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )
    } else if past_deadline {
        Next::Fail(
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        )
    } else if counts.active < parallelism && counts.succeeded + counts.active < completions {
        Next::Create
    } else {
        Next::Wait
    }
}

fn condition(kind: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    })
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action> {
    if job.metadata.deletion_timestamp.is_some() || finished(&job) {
        return Ok(Action::await_change());
    }
    if let Some(rest) = kubeapi::held(&ctx.config.faults, "job", &job.metadata) {
        return Ok(Action::requeue(rest));
    }
    if job.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
        return Ok(Action::await_change());
    }
    let namespace = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let uid = job.uid().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let spec = job.spec.clone().unwrap_or_default();
    let listed = pods
        .list(&ListParams::default().labels(&format!("{CONTROLLER_UID}={uid}")))
        .await
        .map_err(|e| Error::kube(format!("listing the pods of job {namespace}/{name}"), e))?;
    let owned: Vec<&Pod> = listed
        .items
        .iter()
        .filter(|p| kubeapi::controlled_by(&p.metadata, &uid))
        .collect();
    let mut counts = Counts::default();
    for pod in &owned {
        match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Succeeded") => counts.succeeded += 1,
            Some("Failed") => counts.failed += 1,
            _ if pod.metadata.deletion_timestamp.is_some() => {}
            phase => {
                counts.active += 1;
                let ready = phase == Some("Running")
                    && pod
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| {
                            c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        });
                if ready {
                    counts.ready += 1;
                }
            }
        }
    }
    let now = kubeapi::now();
    let start = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| kubeapi::timestamp(t.0))
        .unwrap_or_else(|| now.clone());
    let active_for = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .and_then(|t| Duration::try_from(jiff::Timestamp::now().duration_since(t.0)).ok())
        .unwrap_or_default();
    let past_deadline = spec
        .active_deadline_seconds
        .is_some_and(|d| d > 0 && active_for >= Duration::from_secs(d.unsigned_abs()));
    let next = decide(
        counts,
        spec.completions.unwrap_or(1),
        spec.parallelism.unwrap_or(1),
        spec.backoff_limit.unwrap_or(6),
        past_deadline,
    );
    let mut status = json!({
        "startTime": start,
        "active": counts.active,
        "ready": counts.ready,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    });
    let mut action = Action::await_change();
    match &next {
        Next::Complete => {
            status["active"] = json!(0);
            status["ready"] = json!(0);
            status["completionTime"] = json!(now);
            status["conditions"] = json!([
                condition(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
                condition(
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
            ]);
            events::record(
                &ctx.client,
                &*job,
                Kind::Normal,
                "Completed",
                "Job completed",
                "job-controller",
            )
            .await;
        }
        Next::Fail(reason, message) => {
            for pod in owned.iter().filter(|p| {
                !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            }) {
                let _ = pods.delete(&pod.name_any(), &DeleteParams::default()).await;
            }
            status["active"] = json!(0);
            status["ready"] = json!(0);
            status["conditions"] = json!([
                condition("FailureTarget", reason, message, &now),
                condition("Failed", reason, message, &now),
            ]);
            events::record(
                &ctx.client,
                &*job,
                Kind::Warning,
                reason,
                message,
                "job-controller",
            )
            .await;
        }
        Next::Create => {
            // Replacement pods wait out an exponential back-off, as the Job controller's.
            let backoff = ctx.config.pace.restart_backoff
                * 2u32.saturating_pow(counts.failed.clamp(0, 4) as u32);
            let last_failure = owned
                .iter()
                .filter_map(|p| {
                    p.metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|_| kubeapi::age(&p.metadata))
                })
                .min();
            match last_failure {
                Some(age) if counts.failed > 0 && age < backoff => {
                    action = Action::requeue(backoff - age);
                }
                _ => {
                    let pod = pod_for(&job, &uid)?;
                    let created = pods
                        .create(&PostParams::default(), &pod)
                        .await
                        .map_err(|e| {
                            Error::kube(format!("creating a pod for job {namespace}/{name}"), e)
                        })?;
                    status["active"] = json!(counts.active + 1);
                    events::record(
                        &ctx.client,
                        &*job,
                        Kind::Normal,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", created.name_any()),
                        "job-controller",
                    )
                    .await;
                }
            }
            if past_deadline_soon(&spec, active_for).is_some() {
                action = Action::requeue(past_deadline_soon(&spec, active_for).unwrap_or_default());
            }
        }
        Next::Wait => {
            if let Some(rest) = past_deadline_soon(&spec, active_for) {
                action = Action::requeue(rest);
            }
        }
    }
    let current =
        serde_json::to_value(job.status.clone().unwrap_or_default()).unwrap_or(Value::Null);
    let unchanged = ["active", "ready", "succeeded", "failed"]
        .iter()
        .all(|k| current.get(*k).cloned().unwrap_or(json!(0)) == status[*k])
        && current.get("startTime").is_some()
        && status.get("conditions").is_none();
    if !unchanged {
        kubeapi::merge_status(&jobs, &name, MANAGER, &status).await?;
    }
    Ok(action)
}

/// How long until the Job's deadline, if it has one.
fn past_deadline_soon(
    spec: &k8s_openapi::api::batch::v1::JobSpec,
    active_for: Duration,
) -> Option<Duration> {
    let deadline = Duration::from_secs(
        spec.active_deadline_seconds
            .filter(|d| *d > 0)?
            .unsigned_abs(),
    );
    Some(
        deadline
            .saturating_sub(active_for)
            .max(Duration::from_millis(100)),
    )
}

/// A pod from the Job's template, labelled and owned as the Job controller does.
fn pod_for(job: &Job, uid: &str) -> Result<Pod> {
    let name = job.name_any();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let metadata = template.metadata.unwrap_or_default();
    let mut labels: BTreeMap<String, String> = metadata.labels.unwrap_or_default();
    labels.insert(CONTROLLER_UID.into(), uid.into());
    labels.insert("batch.kubernetes.io/job-name".into(), name.clone());
    labels.insert("controller-uid".into(), uid.into());
    labels.insert("job-name".into(), name.clone());
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{name}-"),
            "namespace": job.namespace(),
            "labels": labels,
            "ownerReferences": [kubeapi::owner_reference(job, true)],
        },
        "spec": template.spec,
    });
    if let Some(annotations) = metadata.annotations {
        pod["metadata"]["annotations"] = json!(annotations);
    }
    serde_json::from_value(pod).map_err(|e| Error::json("building a Job's pod", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(active: i32, succeeded: i32, failed: i32) -> Counts {
        Counts {
            active,
            ready: 0,
            succeeded,
            failed,
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(counts(0, 0, 0), 1, 1, 1, false), Next::Create);
        assert_eq!(decide(counts(1, 0, 0), 1, 1, 1, false), Next::Wait);
        assert_eq!(decide(counts(0, 1, 0), 1, 1, 1, false), Next::Complete);
        assert_eq!(
            decide(counts(0, 0, 1), 1, 1, 1, false),
            Next::Create,
            "backoffLimit 1 allows one retry"
        );
        assert!(matches!(
            decide(counts(0, 0, 2), 1, 1, 1, false),
            Next::Fail("BackoffLimitExceeded", _)
        ));
        assert!(matches!(
            decide(counts(1, 0, 0), 1, 1, 1, true),
            Next::Fail("DeadlineExceeded", _)
        ));
    }
}
