//! CDI `DataVolume` (`cdi.kubevirt.io/v1beta1`).

use super::Object;
use crate::ObjectReference;
use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
use serde::{Deserialize, Serialize};

/// CDI's API group.
pub const GROUP: &str = "cdi.kubevirt.io";
/// CDI's API version.
pub const VERSION: &str = "v1beta1";

/// DataVolume phases (`status.phase`).
pub mod phase {
    /// Pending.
    pub const PENDING: &str = "Pending";
    /// The PVC is waiting for its first consumer.
    pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";
    /// Waiting for population (a populator or conversion consumes it first).
    pub const PENDING_POPULATION: &str = "PendingPopulation";
    /// The import is scheduled.
    pub const IMPORT_SCHEDULED: &str = "ImportScheduled";
    /// The import runs.
    pub const IMPORT_IN_PROGRESS: &str = "ImportInProgress";
    /// Warm: paused between checkpoints.
    pub const PAUSED: &str = "Paused";
    /// Done.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Failed.
    pub const FAILED: &str = "Failed";
    /// Unknown.
    pub const UNKNOWN: &str = "Unknown";
}

/// DataVolume condition types.
pub mod condition {
    /// The PVC is bound.
    pub const BOUND: &str = "Bound";
    /// The import runs.
    pub const RUNNING: &str = "Running";
    /// The DataVolume is ready.
    pub const READY: &str = "Ready";
}

/// Desired state of a DataVolume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeSpec {
    /// Where the data comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DataVolumeSource>,
    /// Storage (CDI fills in defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// A PVC spec, used as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<PersistentVolumeClaimSpec>,
    /// Warm: checkpoints to copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<Checkpoint>,
    /// Warm: the last checkpoint is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_checkpoint: Option<bool>,
    /// Everything else (`preallocation`, `priorityClassName`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// A warm checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The checkpoint to copy (a snapshot ID).
    #[serde(default)]
    pub current: String,
    /// The previous checkpoint (a change ID).
    #[serde(default)]
    pub previous: String,
}

/// Where a DataVolume's data comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataVolumeSource {
    /// A blank disk (`blank: {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank: Option<Object>,
    /// An HTTP(S) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSource>,
    /// vSphere through VDDK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vddk: Option<VddkSource>,
    /// oVirt through ImageIO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imageio: Option<ImageIoSource>,
    /// Everything else (`pvc`, `registry`, `s3`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// An HTTP source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpSource {
    /// URL.
    #[serde(default)]
    pub url: String,
    /// Secret with `accessKeyId`/`secretKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// ConfigMap with a CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_config_map: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A VDDK source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VddkSource {
    /// vCenter or ESXi SDK URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The VM UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The disk file, `[datastore] vm/vm.vmdk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing_file: Option<String>,
    /// Host certificate thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// Secret with the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// The VDDK init image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_image_url: Option<String>,
    /// Everything else (`extraArgs`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// An ImageIO source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIoSource {
    /// The engine API URL.
    #[serde(default)]
    pub url: String,
    /// The disk ID.
    #[serde(default)]
    pub disk_id: String,
    /// Secret with the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// ConfigMap with the engine CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_config_map: Option<String>,
    /// Everything else (`insecureSkipVerify`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// Storage of a DataVolume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Requested size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<VolumeResourceRequirements>,
    /// Storage class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Access modes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// `Filesystem` or `Block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Everything else (`dataSource`, `selector`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// Observed state of a DataVolume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeStatus {
    /// Phase ([`phase`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Progress, `"NN.N%"` or `"N/A"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// The PVC's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Importer restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<i32>,
    /// Conditions ([`condition`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<DataVolumeCondition>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A DataVolume condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeCondition {
    /// Type ([`condition`]).
    #[serde(rename = "type", default)]
    pub r#type: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Everything else (`lastTransitionTime`, `lastHeartbeatTime`).
    #[serde(flatten)]
    pub extra: Object,
}

kind! {
    /// A CDI DataVolume: a PVC plus how to fill it.
    pub struct DataVolume {
        group: GROUP,
        version: VERSION,
        api_version: "cdi.kubevirt.io/v1beta1",
        kind: "DataVolume",
        plural: "datavolumes",
        spec: DataVolumeSpec,
        status: DataVolumeStatus
    }
}

impl DataVolume {
    /// A condition by type.
    pub fn condition(&self, r#type: &str) -> Option<&DataVolumeCondition> {
        self.status.conditions.iter().find(|c| c.r#type == r#type)
    }

    /// `status.progress` as a fraction in `[0, 1]`: `"45.5%"` → 0.455. `None` for
    /// `"N/A"`, absent or malformed values.
    pub fn progress_fraction(&self) -> Option<f64> {
        let text = self.status.progress.as_deref()?.trim();
        let percent: f64 = text.strip_suffix('%')?.trim().parse().ok()?;
        percent
            .is_finite()
            .then(|| (percent / 100.0).clamp(0.0, 1.0))
    }

    /// The secret of the source, if any (for cleanup bookkeeping).
    pub fn source_secret(&self) -> Option<&str> {
        let source = self.spec.source.as_ref()?;
        source
            .vddk
            .as_ref()
            .and_then(|v| v.secret_ref.as_deref())
            .or_else(|| source.http.as_ref().and_then(|h| h.secret_ref.as_deref()))
            .or_else(|| {
                source
                    .imageio
                    .as_ref()
                    .and_then(|i| i.secret_ref.as_deref())
            })
    }

    /// An `ObjectReference` to the PVC the DataVolume owns (same name and namespace,
    /// unless CDI reports another `claimName`).
    pub fn claim_ref(&self) -> ObjectReference {
        ObjectReference {
            kind: Some("PersistentVolumeClaim".into()),
            api_version: Some("v1".into()),
            namespace: self.metadata.namespace.clone(),
            name: self
                .status
                .claim_name
                .clone()
                .or_else(|| self.metadata.name.clone()),
            ..ObjectReference::default()
        }
    }
}
