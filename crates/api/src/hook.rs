//! `Hook`: a workload run before or after a VM's migration (`hook.go`, `hook_exec.go`).

use crate::ObjectReference;
use crate::condition::Conditions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Informational annotation naming the AAP job template (does not affect execution).
pub const ANNOTATION_AAP_JOB_TEMPLATE_NAME: &str = "forklift.konveyor.io/aap-job-template-name";

/// Running the hook as an Ansible Automation Platform job template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AapConfig {
    /// ID of the AAP job template to launch.
    #[serde(default, rename = "jobTemplateId")]
    #[schemars(schema_with = "crate::schema::go_int")]
    pub job_template_id: i64,
    /// Per-hook AAP base URL; with `tokenSecret`, overrides the cluster-wide `aap_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Secret with the AAP token (key `token`), read from the plan namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<ObjectReference>,
    /// Seconds to wait for the job after launch.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub timeout: i64,
}

/// Desired state of a Hook. A local hook needs `image` (`playbook` optional); an AAP
/// hook sets `aap` and neither `image` nor `playbook`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookSpec {
    /// ServiceAccount the hook pod runs as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    /// Image of the hook workload (local hooks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// A base64-encoded Ansible playbook (local hooks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub playbook: String,
    /// Deadline in seconds.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub deadline: i64,
    /// AAP execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aap: Option<AapConfig>,
}

impl HookSpec {
    /// Runs locally (an image, no AAP).
    pub fn is_local(&self) -> bool {
        self.aap.is_none() && !self.image.trim().is_empty()
    }
}

/// Observed state of a Hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
}

forklift_kind! {
    /// A hook workload.
    pub struct Hook {
        kind: "Hook",
        plural: "hooks",
        spec: HookSpec,
        status: HookStatus
    }
}
