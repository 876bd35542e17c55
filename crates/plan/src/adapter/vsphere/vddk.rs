//! VDDK image validation (upstream `validateVddkImage`, `createVddkCheckJob`,
//! `validateVddkImageJob`, `cancelOtherActiveVddkCheckJobs` in `validation.go`; plan spec
//! §2.7), as pure decisions for the engine to act on:
//!
//! - [`image`]: the image in effect (the provider's `vddkInitImage`, else `VDDK_IMAGE`);
//! - [`without_image`]: with no image, `VDDKInitImageUnavailable` for warm plans and for
//!   raw copies (`skipGuestConversion` without copy offload);
//! - with an image: [`job_labels`] find the plan's validation Job for this image
//!   (`plan=<uid>, vddk=<md5(image)>`), [`job`] builds it when there is none,
//!   [`stale_jobs`] are the active Jobs of the plan for another image (deleted in the
//!   foreground), and [`evaluate`] reads the Job and its pod into conditions.
//!
//! The Job runs the VDDK image as an init container that fills an `emptyDir` at `/opt`,
//! then `file -E` on the VDDK library from the virt-v2v image: it completes when the
//! image holds a readable `libvixDiskLib.so`.

use crate::adapter::PlanView;
use ferry_api::Plan;
use ferry_api::condition::{Condition, category, reason, types};
use ferry_api::k8s_openapi::api::batch::v1::{Job, JobSpec};
use ferry_api::k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, Pod, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::labels;
use ferry_api::provider::settings;
use md5::{Digest as _, Md5};
use std::collections::BTreeMap;
use std::time::Duration;

/// The `emptyDir` the init container fills.
pub const VOLUME_NAME: &str = "vddk-vol-mount";
/// The init container.
pub const SIDE_CAR: &str = "vddk-side-car";
/// The checking container.
pub const VALIDATOR: &str = "validator";
/// What the checking container runs.
pub const COMMAND: [&str; 3] = [
    "file",
    "-E",
    "/opt/vmware-vix-disklib-distrib/lib64/libvixDiskLib.so",
];
/// The Job pods' label with their Job's name.
pub const JOB_NAME_LABEL: &str = "job-name";
/// The qemu user the checking pod runs as off OpenShift.
pub const QEMU_USER: i64 = 107;

/// The VDDK image in effect for a plan (upstream `GetVDDKImage`).
pub fn image(view: &PlanView<'_>) -> String {
    super::builder::vddk_image(view)
}

/// `md5hex(image)`, the Job's `vddk` label.
pub fn image_hash(image: &str) -> String {
    hex::encode(Md5::digest(image.as_bytes()))
}

/// The labels the plan's validation Job for `image` has and is found by.
pub fn job_labels(plan: &Plan, image: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            labels::PLAN.to_string(),
            plan.metadata.uid.clone().unwrap_or_default(),
        ),
        (labels::VDDK.to_string(), image_hash(image)),
    ])
}

/// The conditions of a plan without a VDDK image (upstream sets both when both apply;
/// the second replaces the first, as conditions are unique by type).
pub fn without_image(plan: &Plan, uses_offload_plugin: bool) -> Vec<Condition> {
    let unavailable = |message: &str| {
        Condition::new(types::VDDK_INIT_IMAGE_UNAVAILABLE, category::CRITICAL)
            .with_reason(reason::NOT_SET)
            .with_message(message)
    };
    let mut out = Vec::new();
    if plan.is_warm() {
        out.push(unavailable(
            "VDDK image is required for warm migration. Set it on the source provider or configure a global VDDK image.",
        ));
    }
    if plan.spec.skip_guest_conversion && !uses_offload_plugin {
        out.push(unavailable(
            "VDDK image is required for raw copy mode migration. Set it on the source provider or configure a global VDDK image.",
        ));
    }
    out
}

fn resources() -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_string());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), q("100m")),
            ("memory".to_string(), q("150Mi")),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), q("1000m")),
            ("memory".to_string(), q("500Mi")),
        ])),
        ..ResourceRequirements::default()
    }
}

fn restricted() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// What shapes the validation Job besides the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobSettings {
    /// The source Provider's name (the `provider` annotation).
    pub provider: String,
    /// The VDDK image.
    pub image: String,
    /// The plan's virt-v2v image.
    pub virt_v2v_image: String,
    /// Running on OpenShift (no fixed user then).
    pub openshift: bool,
    /// The effective service account, if any.
    pub service_account: String,
}

/// Upstream `createVddkCheckJob`: in the target namespace, `generateName`
/// `vddk-validator-<plan>` (no trailing dash, as upstream).
pub fn job(plan: &Plan, job_settings: &JobSettings) -> Job {
    let mount = VolumeMount {
        name: VOLUME_NAME.to_string(),
        mount_path: "/opt".to_string(),
        ..VolumeMount::default()
    };
    let mut security = PodSecurityContext {
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            localhost_profile: None,
        }),
        ..PodSecurityContext::default()
    };
    if !job_settings.openshift {
        security.run_as_non_root = Some(true);
        security.run_as_user = Some(QEMU_USER);
    }
    let plan_name = plan.metadata.name.clone().unwrap_or_default();
    let mut spec = PodSpec {
        security_context: Some(security),
        restart_policy: Some("Never".to_string()),
        init_containers: Some(vec![Container {
            name: SIDE_CAR.to_string(),
            image: Some(job_settings.image.clone()),
            image_pull_policy: Some("IfNotPresent".to_string()),
            volume_mounts: Some(vec![mount.clone()]),
            security_context: Some(restricted()),
            resources: Some(resources()),
            ..Container::default()
        }]),
        containers: vec![Container {
            name: VALIDATOR.to_string(),
            resources: Some(resources()),
            image: Some(job_settings.virt_v2v_image.clone()),
            security_context: Some(restricted()),
            volume_mounts: Some(vec![mount]),
            command: Some(COMMAND.iter().map(|s| s.to_string()).collect()),
            ..Container::default()
        }],
        volumes: Some(vec![Volume {
            name: VOLUME_NAME.to_string(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    if !job_settings.service_account.is_empty() {
        spec.service_account_name = Some(job_settings.service_account.clone());
    }
    Job {
        metadata: ferry_api::ObjectMeta {
            generate_name: Some(format!("vddk-validator-{plan_name}")),
            namespace: Some(plan.spec.target_namespace.clone()),
            labels: Some(job_labels(plan, &job_settings.image)),
            annotations: Some(BTreeMap::from([
                ("provider".to_string(), job_settings.provider.clone()),
                ("vddk".to_string(), job_settings.image.clone()),
                ("plan".to_string(), plan_name),
            ])),
            ..ferry_api::ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            completions: Some(1),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(spec),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// Upstream `cancelOtherActiveVddkCheckJobs`: the plan's active validation Jobs for
/// another image (to delete, with foreground propagation).
pub fn stale_jobs<'a>(jobs: &'a [Job], plan: &Plan, image: &str) -> Vec<&'a Job> {
    let uid = plan.metadata.uid.clone().unwrap_or_default();
    let current = image_hash(image);
    jobs.iter()
        .filter(|job| {
            let labels = job.metadata.labels.as_ref();
            let of_plan = labels.and_then(|l| l.get(ferry_api::labels::PLAN)) == Some(&uid);
            let hash = labels.and_then(|l| l.get(ferry_api::labels::VDDK));
            let active = job.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0;
            of_plan && hash.is_some_and(|h| *h != current) && active
        })
        .collect()
}

/// What the validation Job says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Conditions to set.
    pub set: Vec<Condition>,
    /// `VDDKInitImageNotReady` is to be deleted (the init container is not waiting).
    pub clear_not_ready: bool,
    /// A Job condition upstream does not expect (its reconcile error), if no `Complete` or
    /// `Failed` condition came first.
    pub unexpected: Option<String>,
}

/// Upstream `validateVddkImageJob`: the Job's conditions and its pod's init container.
/// `now` and the Job's start time decide between `VDDKInitImageNotReady` (within
/// `deadline`, `VDDK_JOB_ACTIVE_DEADLINE`) and `VDDKInitImageUnavailable`.
pub fn evaluate(
    job: &Job,
    pod: Option<&Pod>,
    now: jiff::Timestamp,
    deadline: Duration,
) -> Evaluation {
    let mut out = Evaluation::default();
    let validating = || {
        Condition::new(types::VALIDATING_VDDK, category::ADVISORY)
            .with_reason(reason::STARTED)
            .with_message("Validating VDDK init image")
    };
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions.is_empty() {
        out.set.push(validating());
    }
    if let Some(pod) = pod {
        let init = pod
            .status
            .as_ref()
            .and_then(|s| s.init_container_statuses.as_ref())
            .and_then(|statuses| statuses.first());
        match init {
            None => {
                out.set.push(validating());
                return out;
            }
            Some(init) => match init.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                Some(waiting) => {
                    let started = status.start_time.as_ref().map(|t| t.0);
                    let exceeded = started.is_some_and(|start| {
                        now.duration_since(start).as_secs_f64() > deadline.as_secs_f64()
                    });
                    let why = waiting.reason.clone().unwrap_or_default();
                    if exceeded {
                        out.set.push(
                            Condition::new(types::VDDK_INIT_IMAGE_UNAVAILABLE, category::CRITICAL)
                                .with_reason(&why)
                                .with_message(
                                    "Unable to Pull VDDK init image. Check that the image URL is correct.",
                                ),
                        );
                    } else {
                        out.set.push(
                            Condition::new(types::VDDK_INIT_IMAGE_NOT_READY, category::ADVISORY)
                                .with_reason(&why)
                                .with_message(waiting.message.clone().unwrap_or_default()),
                        );
                    }
                }
                None => out.clear_not_ready = true,
            },
        }
    }
    for condition in &conditions {
        match condition.type_.as_str() {
            "Complete" => {
                out.unexpected = None;
                return out;
            }
            "Failed" => {
                out.unexpected = None;
                out.set.push(
                    Condition::new(types::VDDK_INVALID, category::CRITICAL)
                        .with_reason(reason::NOT_SET)
                        .with_message("VDDK init image is invalid"),
                );
                return out;
            }
            other => {
                out.unexpected = Some(format!(
                    "validation of VDDK job has an unexpected condition: type {other}"
                ));
            }
        }
    }
    out
}

/// Whether the provider names its own VDDK image.
pub fn provider_has_image(provider: &ferry_api::Provider) -> bool {
    provider
        .setting(settings::VDDK_INIT_IMAGE)
        .is_some_and(|image| !image.is_empty())
}
