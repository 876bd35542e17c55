//! Hook workloads (plan spec §6.6): a ConfigMap with the workload, the playbook and the
//! plan, and a Job running the hook image, both in the plan namespace.

use super::{Run, labels, meta};
use base64::Engine;
use ferry_api::Hook;
use ferry_api::k8s_openapi::api::batch::v1::{Job, JobSpec};
use ferry_api::k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PodSpec, PodTemplateSpec, ResourceRequirements,
    Volume, VolumeMount,
};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::Value;
use std::collections::BTreeMap;

/// The directory the hook's ConfigMap is mounted at, in the hook container.
pub const HOOK_MOUNT_PATH: &str = "/tmp/hook";

/// Why a hook's ConfigMap cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The playbook is not base64.
    #[error("the hook playbook is not valid base64: {0}")]
    Playbook(String),
    /// The workload or plan could not be rendered as YAML.
    #[error("rendering the hook data: {0}")]
    Render(String),
}

/// Lower-cases every map key, as Go's `yaml.v2` names struct fields, so playbooks written
/// for Forklift's `workload.yml` and `plan.yml` read the same keys.
fn go_yaml_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), go_yaml_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(go_yaml_keys).collect()),
        other => other,
    }
}

fn yaml(value: Value) -> Result<String, HookError> {
    serde_saphyr::to_string(&go_yaml_keys(value)).map_err(|e| HookError::Render(e.to_string()))
}

/// The `generateName` of a VM's hook objects: `lower(<plan>-<vmID>-<phase>)-`.
pub fn generate_name(run: &Run<'_>, vm_id: &str, step: &str) -> String {
    format!("{}-{vm_id}-{step}", run.plan_name()).to_lowercase() + "-"
}

/// The hook's ConfigMap: `workload.yml` (the inventory workload), `playbook.yml` (the
/// decoded playbook), `plan.yml` (the plan spec).
pub fn config_map(
    run: &Run<'_>,
    vm_id: &str,
    step: &str,
    hook: &Hook,
    workload: Value,
) -> Result<ConfigMap, HookError> {
    let playbook = if hook.spec.playbook.is_empty() {
        String::new()
    } else {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(hook.spec.playbook.trim())
            .map_err(|e| HookError::Playbook(e.to_string()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let plan =
        serde_json::to_value(&run.plan.spec).map_err(|e| HookError::Render(e.to_string()))?;
    let data = BTreeMap::from([
        ("workload.yml".to_string(), yaml(workload)?),
        ("playbook.yml".to_string(), playbook),
        ("plan.yml".to_string(), yaml(plan)?),
    ]);
    Ok(ConfigMap {
        metadata: meta(
            run.plan_namespace(),
            Some(generate_name(run, vm_id, step)),
            None,
            labels::hook(
                run,
                vm_id,
                step,
                hook.metadata.uid.as_deref().unwrap_or_default(),
            ),
        ),
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// The hook's Job: backoff limit 1, the hook image with the ConfigMap at `/tmp/hook`,
/// `ansible-runner` when there is a playbook; owned by the plan.
pub fn job(run: &Run<'_>, vm_id: &str, step: &str, hook: &Hook, config_map: &str) -> Job {
    let settings = run.settings;
    let resources = &settings.hooks_container;
    let mut container = Container {
        name: "hook".into(),
        image: Some(hook.spec.image.clone()),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".into(), Quantity(resources.requests_cpu.clone())),
                ("memory".into(), Quantity(resources.requests_memory.clone())),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".into(), Quantity(resources.limits_cpu.clone())),
                ("memory".into(), Quantity(resources.limits_memory.clone())),
            ])),
            ..ResourceRequirements::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "hook".into(),
            mount_path: HOOK_MOUNT_PATH.into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    if !hook.spec.playbook.is_empty() {
        container.command = Some(
            [
                "/bin/entrypoint",
                "ansible-runner",
                "run",
                "/tmp/runner",
                "-p",
                "/tmp/hook/playbook.yml",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        );
    }
    let service_account = [
        hook.spec.service_account.as_str(),
        run.plan.spec.service_account.as_str(),
        settings.migration_service_account.as_str(),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .map(String::from);
    let mut job_meta = meta(
        run.plan_namespace(),
        Some(generate_name(run, vm_id, step)),
        None,
        labels::hook(
            run,
            vm_id,
            step,
            hook.metadata.uid.as_deref().unwrap_or_default(),
        ),
    );
    job_meta.owner_references = Some(vec![OwnerReference {
        api_version: ferry_api::API_VERSION.into(),
        kind: "Plan".into(),
        name: run.plan_name().into(),
        uid: run.plan_uid().into(),
        ..OwnerReference::default()
    }]);
    Job {
        metadata: job_meta,
        spec: Some(JobSpec {
            backoff_limit: Some(1),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "hook".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: config_map.into(),
                            ..ConfigMapVolumeSource::default()
                        }),
                        ..Volume::default()
                    }]),
                    active_deadline_seconds: (hook.spec.deadline > 0).then_some(hook.spec.deadline),
                    service_account_name: service_account,
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}
