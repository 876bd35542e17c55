//! `Provider`: a source or destination of migrations (`provider.go`).

use crate::ObjectReference;
use crate::condition::Conditions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

string_enum! {
    /// The provider types Forklift knows. `spec.type` is not enum-checked by the CRD; an
    /// unknown value gets `ProviderTypeNotSupported`.
    pub enum ProviderType {
        /// An OpenShift/KubeVirt cluster (the only valid destination type).
        OpenShift = "openshift",
        /// VMware vSphere (vCenter or ESXi).
        VSphere = "vsphere",
        /// oVirt / RHV.
        OVirt = "ovirt",
        /// OpenStack.
        OpenStack = "openstack",
        /// OVA files on an NFS share.
        Ova = "ova",
        /// Amazon EC2.
        Ec2 = "ec2",
        /// Microsoft Hyper-V.
        HyperV = "hyperv",
        /// Nutanix AHV.
        Nutanix = "nutanix",
    }
}

/// Provider phases (`status.phase`).
pub mod phase {
    /// Validation is in progress.
    pub const STAGING: &str = "Staging";
    /// The provider is ready.
    pub const READY: &str = "Ready";
    /// Validation failed.
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// The connection test failed.
    pub const CONNECTION_FAILED: &str = "ConnectionFailed";
}

/// Keys of `spec.settings`.
pub mod settings {
    /// The VDDK init image; overrides the global `vddk_image`.
    pub const VDDK_INIT_IMAGE: &str = "vddkInitImage";
    /// vSphere SDK endpoint: [`VCENTER`] (the webhook's default) or [`ESXI`].
    pub const SDK_ENDPOINT: &str = "sdkEndpoint";
    /// `sdkEndpoint` value for vCenter.
    pub const VCENTER: &str = "vcenter";
    /// `sdkEndpoint` value for a standalone ESXi host.
    pub const ESXI: &str = "esxi";
    /// Enable VDDK AIO options (Go `ParseBool`; invalid means false).
    pub const USE_VDDK_AIO_OPTIMIZATION: &str = "useVddkAioOptimization";
    /// Free-text VDDK configuration, used only with AIO.
    pub const VDDK_CONFIG: &str = "vddkConfig";
    /// ESXi clone method for copy offload: [`ESXI_CLONE_METHOD_VIB`] or [`ESXI_CLONE_METHOD_SSH`].
    pub const ESXI_CLONE_METHOD: &str = "esxiCloneMethod";
    /// `esxiCloneMethod` value `vib`.
    pub const ESXI_CLONE_METHOD_VIB: &str = "vib";
    /// `esxiCloneMethod` value `ssh`.
    pub const ESXI_CLONE_METHOD_SSH: &str = "ssh";
    /// EC2 target availability zone.
    pub const TARGET_AZ: &str = "target-az";
    /// EC2 target region.
    pub const TARGET_REGION: &str = "target-region";
    /// Nutanix Prism type: `central` or `element`.
    pub const PRISM_TYPE: &str = "prismType";
    /// Nutanix cluster UUID.
    pub const CLUSTER_UUID: &str = "clusterUuid";
    /// Hyper-V management type: [`HYPERV_STANDALONE`] or [`HYPERV_CLUSTER`].
    pub const MANAGEMENT_TYPE: &str = "managementType";
    /// `managementType` value for a standalone host.
    pub const HYPERV_STANDALONE: &str = "standalone";
    /// `managementType` value for a failover cluster.
    pub const HYPERV_CLUSTER: &str = "cluster";
    /// oVirt client timeout (read ad hoc).
    pub const OVIRT_CLIENT_TIMEOUT: &str = "ovirtClientTimeout";
    /// Nutanix client timeout (read ad hoc).
    pub const NUTANIX_CLIENT_TIMEOUT: &str = "nutanixClientTimeout";
    /// OpenShift live migration through Submariner (Go `ParseBool`).
    pub const SUBMARINER: &str = "submariner";
}

/// Keys of the provider's credentials Secret.
pub mod secret {
    /// `"true"` skips TLS verification (Go `ParseBool`).
    pub const INSECURE_SKIP_VERIFY: &str = "insecureSkipVerify";
    /// OpenShift bearer token.
    pub const TOKEN: &str = "token";
    /// User name (vSphere, oVirt, Nutanix, host secrets).
    pub const USER: &str = "user";
    /// User name (Hyper-V, OpenStack).
    pub const USERNAME: &str = "username";
    /// Password.
    pub const PASSWORD: &str = "password";
    /// CA certificate (PEM).
    pub const CA_CERT: &str = "ca.crt";
    /// Deprecated CA certificate key, still accepted.
    pub const CACERT_DEPRECATED: &str = "cacert";
    /// OVA: the NFS URL.
    pub const URL: &str = "url";
    /// Hyper-V SMB share URL.
    pub const SMB_URL: &str = "smbUrl";
    /// ESXi host thumbprint (host secrets).
    pub const THUMBPRINT: &str = "thumbprint";
}

/// Finalizer the mutating webhook adds to OVA providers.
pub const OVA_PROVIDER_FINALIZER: &str = "forklift/ova-provider";
/// Finalizer the mutating webhook adds to Hyper-V providers.
pub const HYPERV_PROVIDER_FINALIZER: &str = "forklift/hyperv-provider";

/// Desired state of a Provider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderSpec {
    /// Provider type (`openshift`, `vsphere`, `ovirt`, `openstack`, `ova`, `ec2`,
    /// `hyperv`, `nutanix`). Always serialized; `null` when unset, as Go's `*string`
    /// without `omitempty` is.
    #[serde(rename = "type")]
    pub r#type: Option<String>,
    /// The provider URL. Empty for the `host` provider; `server:/path` for OVA.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// References a secret containing credentials and other confidential information.
    #[serde(default)]
    pub secret: ObjectReference,
    /// Provider settings ([`settings`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
}

/// Observed state of a Provider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// Current life cycle phase of the provider ([`phase`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
    /// SHA-1 fingerprint of the vSphere certificate, as colon-separated uppercase hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// The OVA or Hyper-V provider server's Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ObjectReference>,
    /// The ResourceVersion of the secret referenced by this provider, to detect rotated
    /// credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_resource_version: String,
}

forklift_kind! {
    /// A source or destination of migrations.
    pub struct Provider {
        kind: "Provider",
        plural: "providers",
        spec: ProviderSpec,
        status: ProviderStatus
    }
}

impl Provider {
    /// The canonical `host` provider the operator creates: the cluster Ferry runs in
    /// (`type: openshift`, `url: ""`, `secret: {}`).
    pub fn host(namespace: &str) -> Self {
        Self::new(
            namespace,
            "host",
            ProviderSpec {
                r#type: Some(ProviderType::OpenShift.as_str().to_string()),
                ..ProviderSpec::default()
            },
        )
    }

    /// `spec.type` as written, `""` when unset.
    pub fn type_name(&self) -> &str {
        self.spec.r#type.as_deref().unwrap_or_default()
    }

    /// The provider type; `None` when unset or not one Forklift knows.
    pub fn provider_type(&self) -> Option<ProviderType> {
        Some(ProviderType::parse(self.spec.r#type.as_deref()?)).filter(ProviderType::is_known)
    }

    /// Whether the type is `t`.
    pub fn is(&self, t: ProviderType) -> bool {
        self.provider_type() == Some(t)
    }

    /// Upstream `IsHost()`: the cluster Ferry runs in (`type: openshift`, empty URL).
    pub fn is_host(&self) -> bool {
        self.is(ProviderType::OpenShift) && self.spec.url.is_empty()
    }

    /// Upstream `RequiresConversion()`: guests need virt-v2v conversion (vSphere, OVA,
    /// Hyper-V, EC2).
    pub fn requires_conversion(&self) -> bool {
        matches!(
            self.provider_type(),
            Some(
                ProviderType::VSphere
                    | ProviderType::Ova
                    | ProviderType::HyperV
                    | ProviderType::Ec2
            )
        )
    }

    /// Upstream `SupportsPreserveStaticIps()`: vSphere or Hyper-V.
    pub fn supports_preserve_static_ips(&self) -> bool {
        matches!(
            self.provider_type(),
            Some(ProviderType::VSphere | ProviderType::HyperV)
        )
    }

    /// Upstream `UseVddkAioOptimization()`: the setting parses as true (Go `ParseBool`);
    /// absent or invalid means false.
    pub fn use_vddk_aio_optimization(&self) -> bool {
        self.setting(settings::USE_VDDK_AIO_OPTIMIZATION)
            .and_then(crate::strconv::parse_bool)
            .unwrap_or(false)
    }

    /// Upstream `IsHyperVCluster()`: Hyper-V with `managementType: cluster`.
    pub fn is_hyperv_cluster(&self) -> bool {
        self.is(ProviderType::HyperV)
            && self.setting(settings::MANAGEMENT_TYPE) == Some(settings::HYPERV_CLUSTER)
    }

    /// Upstream `HasReconciled()`: `status.observedGeneration == metadata.generation`.
    pub fn has_reconciled(&self) -> bool {
        self.generation() == self.status.observed_generation
    }

    /// A setting's value.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.spec.settings.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of_type(t: &str, url: &str) -> Provider {
        Provider::new(
            "ns",
            "p",
            ProviderSpec {
                r#type: Some(t.into()),
                url: url.into(),
                ..ProviderSpec::default()
            },
        )
    }

    #[test]
    fn host_is_openshift_without_url() {
        assert!(Provider::host("openshift-mtv").is_host());
        assert!(!of_type("openshift", "https://api.example:6443").is_host());
        assert!(!of_type("vsphere", "").is_host());
        assert!(!Provider::default().is_host());
    }

    #[test]
    fn conversion_and_static_ips_by_type() {
        for (t, conversion, static_ips) in [
            ("vsphere", true, true),
            ("ova", true, false),
            ("hyperv", true, true),
            ("ec2", true, false),
            ("ovirt", false, false),
            ("openstack", false, false),
            ("openshift", false, false),
            ("nutanix", false, false),
            ("vmware", false, false),
        ] {
            let p = of_type(t, "");
            assert_eq!(p.requires_conversion(), conversion, "{t}");
            assert_eq!(p.supports_preserve_static_ips(), static_ips, "{t}");
        }
    }

    #[test]
    fn unknown_types_are_not_provider_types() {
        assert_eq!(of_type("vmware", "").provider_type(), None);
        assert_eq!(of_type("vmware", "").type_name(), "vmware");
        assert_eq!(Provider::default().provider_type(), None);
        assert_eq!(of_type("ova", "").provider_type(), Some(ProviderType::Ova));
    }

    #[test]
    fn vddk_aio_uses_go_parse_bool() {
        let mut p = of_type("vsphere", "https://vc/sdk");
        assert!(!p.use_vddk_aio_optimization());
        for (value, expected) in [
            ("true", true),
            ("1", true),
            ("yes", false),
            ("False", false),
        ] {
            p.spec
                .settings
                .insert(settings::USE_VDDK_AIO_OPTIMIZATION.into(), value.into());
            assert_eq!(p.use_vddk_aio_optimization(), expected, "{value}");
        }
    }

    #[test]
    fn hyperv_cluster_mode() {
        let mut p = of_type("hyperv", "10.0.0.1");
        assert!(!p.is_hyperv_cluster());
        p.spec
            .settings
            .insert(settings::MANAGEMENT_TYPE.into(), "cluster".into());
        assert!(p.is_hyperv_cluster());
    }

    #[test]
    fn unset_type_serializes_as_null() {
        let json = serde_json::to_value(Provider::new("ns", "p", ProviderSpec::default())).unwrap();
        assert_eq!(
            json["spec"],
            serde_json::json!({"type": null, "secret": {}})
        );
        assert!(json.get("status").is_none(), "empty status is omitted");
    }
}
