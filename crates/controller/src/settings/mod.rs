//! Ferry's settings: one typed [`Settings`] value, loaded once at start-up and passed to
//! every controller through the [`crate::Context`] (no globals).
//!
//! Names are upstream's. Each setting comes from, in order:
//!
//! 1. its environment variable (`MAX_VM_INFLIGHT`, ...), as upstream's operator renders
//!    them into the controller's Deployment;
//! 2. the ForkliftController's `spec` key (`controller_max_vm_inflight`, ...), when a
//!    ForkliftController exists; a key it does not set takes the CRD default, as the API
//!    server would have filled it in;
//! 3. upstream's Go default.
//!
//! Parsing follows upstream: an integer that does not parse or is below its minimum
//! stops the controller with upstream's message (`MAX_VM_INFLIGHT must be an integer`,
//! `MAX_VM_INFLIGHT must be >= 1`); an invalid boolean is ignored (the next source or
//! the default applies). Ferry also refuses malformed quantities at start-up, where
//! upstream would only fail later when a pod is created.
//!
//! The table of every setting is [`catalog::CATALOG`]; `docs/settings.md` is rendered
//! from it by [`doc::render`] (a test keeps the file current).

pub mod catalog;
pub mod doc;
mod quantity;

use std::path::PathBuf;
use std::time::Duration;

use ferry_api::forklift_controller::{ForkliftControllerSpec, SettingError, keys};

use catalog::{Entry, Kind};

/// Why the settings cannot be used; the controller stops with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Upstream's message for an integer that does not parse.
    #[error("{name} must be an integer")]
    NotInteger {
        /// The environment variable.
        name: &'static str,
    },
    /// Upstream's message for an integer below its minimum.
    #[error("{name} must be >= {minimum}")]
    BelowMinimum {
        /// The environment variable.
        name: &'static str,
        /// The minimum.
        minimum: i64,
    },
    /// A value of another type that does not parse.
    #[error("{name} must be {expected}, found '{value}'")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
        /// The value (settings hold no secrets).
        value: String,
    },
    /// A ForkliftController key with an unusable value.
    #[error(transparent)]
    ForkliftController(#[from] SettingError),
    /// A setting read by the code but missing from the catalogue (a Ferry bug, caught by
    /// the tests).
    #[error("setting {0} is not in the settings catalogue")]
    Unknown(&'static str),
}

/// Requests and limits of one kind of pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodResources {
    /// CPU limit.
    pub limits_cpu: String,
    /// Memory limit.
    pub limits_memory: String,
    /// CPU request.
    pub requests_cpu: String,
    /// Memory request.
    pub requests_memory: String,
}

/// How the manager runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerSettings {
    /// Reconciles at once per controller (`MAX_CONCURRENT_RECONCILES`).
    pub max_concurrent_reconciles: u16,
    /// Ferry's own namespace (`POD_NAMESPACE`).
    pub pod_namespace: String,
    /// Watch only this namespace (`FERRY_WATCH_NAMESPACE`); `None` for all.
    pub watch_namespace: Option<String>,
    /// The metrics and health port (`METRICS_PORT`).
    pub metrics_port: u16,
    /// Log verbosity (`LOG_LEVEL`).
    pub log_level: i64,
    /// Development log format (`LOG_DEVELOPMENT`).
    pub log_development: bool,
    /// JSON logs (`FERRY_LOG_FORMAT=json`).
    pub log_json: bool,
    /// Leader election on a Lease (`FERRY_LEADER_ELECTION`).
    pub leader_election: bool,
    /// The Lease's name (`FERRY_LEADER_ELECTION_LEASE`).
    pub lease_name: String,
    /// The plan controller's debounce (`FERRY_PLAN_DEBOUNCE_MILLISECONDS`).
    pub plan_debounce: Duration,
    /// The cluster is OpenShift (`OPENSHIFT`).
    pub openshift: bool,
    /// The OpenShift version (`OPENSHIFT_VERSION`).
    pub openshift_version: String,
}

/// Migration execution settings (the plan controller's).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the setting of the same name in `catalog::CATALOG`.
pub struct MigrationSettings {
    pub max_vm_inflight: i64,
    pub precopy_interval_minutes: i64,
    pub blocker_grace_period_minutes: i64,
    pub hook_retry: i64,
    pub importer_retry: i64,
    pub cleanup_retries: i64,
    pub snapshot_removal_timeout_minutes: i64,
    pub snapshot_status_check_rate_seconds: i64,
    pub snapshot_removal_check_retries: i64,
    pub max_parent_backing_retries: i64,
    pub vddk_job_active_deadline_seconds: i64,
    pub windows_reboot_timeout_seconds: i64,
    pub tls_connection_timeout_seconds: i64,
    pub cdi_export_token_ttl_minutes: i64,
    pub filesystem_overhead_percent: i64,
    pub block_overhead_bytes: i64,
    pub conversion_pod_pending_timeout_minutes: i64,
    pub stale_conversion_timeout_seconds: i64,
    pub service_account: String,
    pub pvc_name_template: String,
    pub ocp_pvc_name_template: String,
    pub ovirt_os_map: String,
    pub vsphere_os_map: String,
    pub virt_customize_map: String,
    pub naa_oui_map: String,
    pub host_lease_namespace: String,
    pub host_lease_duration_seconds: String,
    pub virt_v2v_extra_args: Vec<String>,
    pub virt_v2v_inspector_extra_args: Vec<String>,
    pub virt_v2v_extra_conf_config_map: String,
    pub virt_v2v_memsize: i64,
    pub virt_v2v_smp: i64,
    pub virt_v2v_dont_request_kvm: bool,
    pub wait_for_final_snapshot_consolidation: bool,
}

/// Container images.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the setting of the same name in `catalog::CATALOG`.
pub struct Images {
    pub virt_v2v: String,
    pub virt_v2v_xfs: String,
    pub deep_inspection: String,
    pub deep_inspection_xfs: String,
    pub vddk: String,
}

/// Pod resources by workload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the `<NAME>_CONTAINER_*` group of `catalog::CATALOG`.
pub struct Resources {
    pub virt_v2v: PodResources,
    pub hooks: PodResources,
    pub ova: PodResources,
    pub hyperv: PodResources,
    pub populator: PodResources,
    pub netapp_shift_init: PodResources,
}

/// Feature gates as configured (see [`Features::static_udn_ip_addresses`] and
/// [`Features::vmware_system_serial_number`] for the ones that also need a version).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the `FEATURE_*` setting of the same name.
pub struct Features {
    pub use_conversion_cr: bool,
    pub windows_wait_for_reboot: bool,
    pub copy_offload: bool,
    pub ovirt_warm_migration: bool,
    pub ocp_live_migration: bool,
    pub static_udn_ip_addresses_flag: bool,
    pub vmware_system_serial_number_flag: bool,
    pub retain_precopy_importer_pods: bool,
    pub retain_populator_pods: bool,
    pub vsphere_incremental_backup: bool,
    pub vsphere_vmware_driver_removal: bool,
    pub windows_registry_network_config: bool,
    pub xfs_repair_ignore: bool,
    pub ovf_appliance_management: bool,
}

/// Ansible Automation Platform settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the `AAP_*` setting of the same name.
pub struct Aap {
    pub url: String,
    pub token_secret_name: String,
    pub timeout_seconds: i64,
    pub insecure_skip_verify: bool,
    pub ca_secret_name: String,
}

impl Aap {
    /// A cluster-wide AAP connection is configured (URL and token secret).
    pub fn configured(&self) -> bool {
        !self.url.trim().is_empty() && !self.token_secret_name.trim().is_empty()
    }
}

/// Where conversion pods see an OVA export, hence how inventory paths start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogPath {
    /// A fixed mount point (`/ova`, upstream's), which keeps disk IDs equal to Forklift's.
    Mount(String),
    /// The local directory itself (the sandbox, where "pods" read local files).
    Local,
}

/// The OVA catalog settings (Ferry's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OvaSettings {
    /// `FERRY_OVA_MOUNT_ROOT`.
    pub mount_root: PathBuf,
    /// `FERRY_OVA_SHARES`: `(export, local directory)`.
    pub shares: Vec<(String, PathBuf)>,
    /// `FERRY_OVA_CATALOG_PATH`.
    pub catalog_path: CatalogPath,
    /// `FERRY_OVA_SETTLE_SECONDS`.
    pub settle: Duration,
    /// `FERRY_OVA_RESCAN_SECONDS`.
    pub rescan: Duration,
}

/// Every setting, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How the manager runs.
    pub manager: ManagerSettings,
    /// Migration execution.
    pub migration: MigrationSettings,
    /// Container images.
    pub images: Images,
    /// Pod resources.
    pub resources: Resources,
    /// Feature gates.
    pub features: Features,
    /// AAP hooks.
    pub aap: Aap,
    /// OVA catalogs.
    pub ova: OvaSettings,
}

/// Where settings are read from.
pub struct Sources<'a> {
    /// Looks up an environment variable.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The ForkliftController's spec, when there is one.
    pub forklift_controller: Option<&'a ForkliftControllerSpec>,
}

impl Sources<'_> {
    /// The raw value: the environment, else the ForkliftController (through `read`),
    /// else `None` (the caller applies the Go default).
    fn lookup<T>(
        &self,
        entry: &Entry,
        from_env: impl FnOnce(String) -> Option<Result<T, SettingsError>>,
        from_cr: impl FnOnce(&ForkliftControllerSpec, &'static str) -> Result<Option<T>, SettingsError>,
    ) -> Result<Option<T>, SettingsError> {
        if let Some(raw) = (self.env)(entry.env)
            && let Some(value) = from_env(raw)
        {
            return value.map(Some);
        }
        match (self.forklift_controller, entry.key) {
            (Some(spec), Some(key)) => from_cr(spec, key),
            _ => Ok(None),
        }
    }
}

fn entry(env: &'static str) -> Result<&'static Entry, SettingsError> {
    catalog::find(env).ok_or(SettingsError::Unknown(env))
}

/// Go's `strconv.Atoi` plus upstream's minimum check.
fn parse_int(name: &'static str, raw: &str, minimum: i64) -> Result<i64, SettingsError> {
    let value: i64 = raw
        .parse()
        .map_err(|_| SettingsError::NotInteger { name })?;
    if value < minimum {
        return Err(SettingsError::BelowMinimum { name, minimum });
    }
    Ok(value)
}

/// Upstream's `unescapeGoTemplate`.
fn unescape_template(value: &str) -> String {
    value
        .replace(r"\{", "{")
        .replace(r"\}", "}")
        .replace(r"\\", r"\")
}

struct Loader<'a> {
    sources: &'a Sources<'a>,
    #[cfg(test)]
    read: std::cell::RefCell<Vec<&'static str>>,
}

impl Loader<'_> {
    fn note(&self, _env: &'static str) {
        #[cfg(test)]
        self.read.borrow_mut().push(_env);
    }

    fn int(&self, env: &'static str) -> Result<i64, SettingsError> {
        self.note(env);
        let entry = entry(env)?;
        let Kind::Int { minimum } = entry.kind else {
            return Err(SettingsError::Unknown(env));
        };
        let value = self.sources.lookup(
            entry,
            |raw| Some(parse_int(env, raw.trim(), minimum)),
            |spec, key| {
                let value = spec.int(key)?;
                match value {
                    Some(value) if value < minimum => {
                        Err(SettingsError::BelowMinimum { name: env, minimum })
                    }
                    other => Ok(other),
                }
            },
        )?;
        match value {
            Some(value) => Ok(value),
            None => parse_int(env, entry.default, minimum),
        }
    }

    fn bool(&self, env: &'static str) -> Result<bool, SettingsError> {
        self.note(env);
        let entry = entry(env)?;
        let value = self.sources.lookup(
            entry,
            // An invalid value is ignored, as Go's `getEnvBool` does.
            |raw| ferry_api::strconv::parse_bool(&raw).map(Ok),
            |spec, key| {
                // `k8s_cluster` says the opposite of `OPENSHIFT`.
                if key == keys::K8S_CLUSTER {
                    Ok(Some(!spec.flag(key)))
                } else {
                    Ok(Some(spec.flag(key)))
                }
            },
        )?;
        Ok(value.unwrap_or_else(|| ferry_api::strconv::parse_bool(entry.default).unwrap_or(false)))
    }

    fn text(&self, env: &'static str) -> Result<String, SettingsError> {
        self.note(env);
        let entry = entry(env)?;
        let value =
            self.sources
                .lookup(entry, |raw| Some(Ok(raw)), |spec, key| Ok(spec.text(key)?))?;
        let value = value.unwrap_or_else(|| entry.default.to_string());
        Ok(match entry.kind {
            Kind::Template => unescape_template(&value),
            _ => value,
        })
    }

    fn quantity(&self, env: &'static str) -> Result<String, SettingsError> {
        let value = self.text(env)?;
        if quantity::is_quantity(&value) {
            Ok(value)
        } else {
            Err(SettingsError::Invalid {
                name: env,
                expected: "a quantity such as 500m or 1Gi",
                value,
            })
        }
    }

    fn bytes(&self, env: &'static str) -> Result<i64, SettingsError> {
        let value = self.text(env)?;
        quantity::bytes(value.trim()).ok_or(SettingsError::Invalid {
            name: env,
            expected: "a whole number of bytes (a quantity such as 1024, 512Mi or 1G)",
            value,
        })
    }

    fn args(&self, env: &'static str) -> Result<Vec<String>, SettingsError> {
        Ok(self
            .text(env)?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    fn resources(&self, prefix: &'static [&'static str; 4]) -> Result<PodResources, SettingsError> {
        Ok(PodResources {
            limits_cpu: self.quantity(prefix[0])?,
            limits_memory: self.quantity(prefix[1])?,
            requests_cpu: self.quantity(prefix[2])?,
            requests_memory: self.quantity(prefix[3])?,
        })
    }

    fn load(&self) -> Result<Settings, SettingsError> {
        let watch_namespace = self.text("FERRY_WATCH_NAMESPACE")?;
        let log_format = self.text("FERRY_LOG_FORMAT")?;
        let log_json = match log_format.as_str() {
            "json" => true,
            "text" | "" => false,
            _ => {
                return Err(SettingsError::Invalid {
                    name: "FERRY_LOG_FORMAT",
                    expected: "'text' or 'json'",
                    value: log_format,
                });
            }
        };
        let max_concurrent = self.int("MAX_CONCURRENT_RECONCILES")?;
        let metrics_port = self.int("METRICS_PORT")?;
        let manager = ManagerSettings {
            max_concurrent_reconciles: u16::try_from(max_concurrent).unwrap_or(u16::MAX),
            pod_namespace: self.text("POD_NAMESPACE")?,
            watch_namespace: (!watch_namespace.is_empty()).then_some(watch_namespace),
            metrics_port: u16::try_from(metrics_port).map_err(|_| SettingsError::Invalid {
                name: "METRICS_PORT",
                expected: "a port number (0-65535)",
                value: metrics_port.to_string(),
            })?,
            log_level: self.int("LOG_LEVEL")?,
            log_development: self.bool("LOG_DEVELOPMENT")?,
            log_json,
            leader_election: self.bool("FERRY_LEADER_ELECTION")?,
            lease_name: self.text("FERRY_LEADER_ELECTION_LEASE")?,
            plan_debounce: Duration::from_millis(
                self.int("FERRY_PLAN_DEBOUNCE_MILLISECONDS")?
                    .try_into()
                    .unwrap_or(0),
            ),
            openshift: self.bool("OPENSHIFT")?,
            openshift_version: self.text("OPENSHIFT_VERSION")?,
        };
        let migration = MigrationSettings {
            max_vm_inflight: self.int("MAX_VM_INFLIGHT")?,
            precopy_interval_minutes: self.int("PRECOPY_INTERVAL")?,
            blocker_grace_period_minutes: self.int("BLOCKER_GRACE_PERIOD_MINUTES")?,
            hook_retry: self.int("HOOK_RETRY")?,
            importer_retry: self.int("IMPORTER_RETRY")?,
            cleanup_retries: self.int("CLEANUP_RETRIES")?,
            snapshot_removal_timeout_minutes: self.int("SNAPSHOT_REMOVAL_TIMEOUT")?,
            snapshot_status_check_rate_seconds: self.int("SNAPSHOT_STATUS_CHECK_RATE")?,
            snapshot_removal_check_retries: self.int("SNAPSHOT_REMOVAL_CHECK_RETRIES")?,
            max_parent_backing_retries: self.int("MAX_PARENT_BACKING_RETRIES")?,
            vddk_job_active_deadline_seconds: self.int("VDDK_JOB_ACTIVE_DEADLINE")?,
            windows_reboot_timeout_seconds: self.int("CONTROLLER_WINDOWS_REBOOT_TIMEOUT")?,
            tls_connection_timeout_seconds: self.int("TLS_CONNECTION_TIMEOUT")?,
            cdi_export_token_ttl_minutes: self.int("CDI_EXPORT_TOKEN_TTL")?,
            filesystem_overhead_percent: self.int("FILESYSTEM_OVERHEAD")?,
            block_overhead_bytes: self.bytes("BLOCK_OVERHEAD")?,
            conversion_pod_pending_timeout_minutes: self.int("CONVERSION_POD_PENDING_TIMEOUT")?,
            stale_conversion_timeout_seconds: self.int("STALE_CONVERSION_TIMEOUT")?,
            service_account: self.text("MIGRATION_SERVICE_ACCOUNT")?,
            pvc_name_template: self.text("PVC_NAME_TEMPLATE")?,
            ocp_pvc_name_template: self.text("OCP_PVC_NAME_TEMPLATE")?,
            ovirt_os_map: self.text("OVIRT_OS_MAP")?,
            vsphere_os_map: self.text("VSPHERE_OS_MAP")?,
            virt_customize_map: self.text("VIRT_CUSTOMIZE_MAP")?,
            naa_oui_map: self.text("NAA_OUI_MAP")?,
            host_lease_namespace: self.text("HOST_LEASE_NAMESPACE")?,
            host_lease_duration_seconds: self.text("HOST_LEASE_DURATION_SECONDS")?,
            virt_v2v_extra_args: self.args("VIRT_V2V_EXTRA_ARGS")?,
            virt_v2v_inspector_extra_args: self.args("VIRT_V2V_INSPECTOR_EXTRA_ARGS")?,
            virt_v2v_extra_conf_config_map: self.text("VIRT_V2V_EXTRA_CONF_CONFIG_MAP")?,
            virt_v2v_memsize: self.int("VIRT_V2V_MEMSIZE")?,
            virt_v2v_smp: self.int("VIRT_V2V_SMP")?,
            virt_v2v_dont_request_kvm: self.bool("VIRT_V2V_DONT_REQUEST_KVM")?,
            wait_for_final_snapshot_consolidation: self
                .bool("WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION")?,
        };
        let images = Images {
            virt_v2v: self.text("VIRT_V2V_IMAGE")?.trim().to_string(),
            virt_v2v_xfs: self.text("VIRT_V2V_IMAGE_XFS")?.trim().to_string(),
            deep_inspection: self.text("DEEP_INSPECTION_IMAGE")?.trim().to_string(),
            deep_inspection_xfs: self.text("DEEP_INSPECTION_IMAGE_XFS")?.trim().to_string(),
            vddk: self.text("VDDK_IMAGE")?.trim().to_string(),
        };
        let resources = Resources {
            virt_v2v: self.resources(&[
                "VIRT_V2V_CONTAINER_LIMITS_CPU",
                "VIRT_V2V_CONTAINER_LIMITS_MEMORY",
                "VIRT_V2V_CONTAINER_REQUESTS_CPU",
                "VIRT_V2V_CONTAINER_REQUESTS_MEMORY",
            ])?,
            hooks: self.resources(&[
                "HOOKS_CONTAINER_LIMITS_CPU",
                "HOOKS_CONTAINER_LIMITS_MEMORY",
                "HOOKS_CONTAINER_REQUESTS_CPU",
                "HOOKS_CONTAINER_REQUESTS_MEMORY",
            ])?,
            ova: self.resources(&[
                "OVA_CONTAINER_LIMITS_CPU",
                "OVA_CONTAINER_LIMITS_MEMORY",
                "OVA_CONTAINER_REQUESTS_CPU",
                "OVA_CONTAINER_REQUESTS_MEMORY",
            ])?,
            hyperv: self.resources(&[
                "HYPERV_CONTAINER_LIMITS_CPU",
                "HYPERV_CONTAINER_LIMITS_MEMORY",
                "HYPERV_CONTAINER_REQUESTS_CPU",
                "HYPERV_CONTAINER_REQUESTS_MEMORY",
            ])?,
            populator: self.resources(&[
                "POPULATOR_CONTAINER_LIMITS_CPU",
                "POPULATOR_CONTAINER_LIMITS_MEMORY",
                "POPULATOR_CONTAINER_REQUESTS_CPU",
                "POPULATOR_CONTAINER_REQUESTS_MEMORY",
            ])?,
            netapp_shift_init: self.resources(&[
                "NETAPP_SHIFT_DISK_PERMS_INIT_LIMITS_CPU",
                "NETAPP_SHIFT_DISK_PERMS_INIT_LIMITS_MEMORY",
                "NETAPP_SHIFT_DISK_PERMS_INIT_REQUESTS_CPU",
                "NETAPP_SHIFT_DISK_PERMS_INIT_REQUESTS_MEMORY",
            ])?,
        };
        let features = Features {
            use_conversion_cr: self.bool("FEATURE_USE_CONVERSION_CR")?,
            windows_wait_for_reboot: self.bool("FEATURE_WINDOWS_WAIT_FOR_REBOOT")?,
            copy_offload: self.bool("FEATURE_COPY_OFFLOAD")?,
            ovirt_warm_migration: self.bool("FEATURE_OVIRT_WARM_MIGRATION")?,
            ocp_live_migration: self.bool("FEATURE_OCP_LIVE_MIGRATION")?,
            static_udn_ip_addresses_flag: self.bool("FEATURE_STATIC_UDN_IP_ADDRESSES")?,
            vmware_system_serial_number_flag: self.bool("FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER")?,
            retain_precopy_importer_pods: self.bool("FEATURE_RETAIN_PRECOPY_IMPORTER_PODS")?,
            retain_populator_pods: self.bool("FEATURE_RETAIN_POPULATOR_PODS")?,
            vsphere_incremental_backup: self.bool("FEATURE_VSPHERE_INCREMENTAL_BACKUP")?,
            vsphere_vmware_driver_removal: self.bool("FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL")?,
            windows_registry_network_config: self
                .bool("FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG")?,
            xfs_repair_ignore: self.bool("FEATURE_XFS_REPAIR_IGNORE")?,
            ovf_appliance_management: self.bool("FEATURE_OVF_APPLIANCE_MANAGEMENT")?,
        };
        let aap = Aap {
            url: self.text("AAP_URL")?.trim().to_string(),
            token_secret_name: self.text("AAP_TOKEN_SECRET_NAME")?.trim().to_string(),
            timeout_seconds: self.int("AAP_TIMEOUT")?,
            insecure_skip_verify: self.bool("AAP_INSECURE_SKIP_VERIFY")?,
            ca_secret_name: self.text("AAP_CA_SECRET_NAME")?.trim().to_string(),
        };
        let shares = parse_shares(&self.text("FERRY_OVA_SHARES")?)?;
        let catalog_path = match self.text("FERRY_OVA_CATALOG_PATH")?.as_str() {
            "local" => CatalogPath::Local,
            path if path.starts_with('/') => CatalogPath::Mount(path.to_string()),
            other => {
                return Err(SettingsError::Invalid {
                    name: "FERRY_OVA_CATALOG_PATH",
                    expected: "an absolute path or 'local'",
                    value: other.to_string(),
                });
            }
        };
        let secs = |value: i64| Duration::from_secs(value.try_into().unwrap_or(0));
        let ova = OvaSettings {
            mount_root: PathBuf::from(self.text("FERRY_OVA_MOUNT_ROOT")?),
            shares,
            catalog_path,
            settle: secs(self.int("FERRY_OVA_SETTLE_SECONDS")?),
            rescan: secs(self.int("FERRY_OVA_RESCAN_SECONDS")?),
        };
        Ok(Settings {
            manager,
            migration,
            images,
            resources,
            features,
            aap,
            ova,
        })
    }
}

/// `server:/path=/local/dir;...`.
fn parse_shares(value: &str) -> Result<Vec<(String, PathBuf)>, SettingsError> {
    let invalid = || SettingsError::Invalid {
        name: "FERRY_OVA_SHARES",
        expected: "entries 'server:/export=/local/dir' separated by ';'",
        value: value.to_string(),
    };
    value
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (export, dir) = item.split_once('=').ok_or_else(invalid)?;
            let (export, dir) = (export.trim(), dir.trim());
            if export.is_empty() || !dir.starts_with('/') {
                return Err(invalid());
            }
            Ok((export.to_string(), PathBuf::from(dir)))
        })
        .collect()
}

impl Settings {
    /// Loads the settings from these sources.
    pub fn load(sources: &Sources<'_>) -> Result<Self, SettingsError> {
        Loader {
            sources,
            #[cfg(test)]
            read: Default::default(),
        }
        .load()
    }

    /// Loads the settings from the process environment and, when given, a
    /// ForkliftController's spec.
    pub fn from_env(
        forklift_controller: Option<&ForkliftControllerSpec>,
    ) -> Result<Self, SettingsError> {
        let env = |name: &str| std::env::var(name).ok();
        Self::load(&Sources {
            env: &env,
            forklift_controller,
        })
    }

    /// Upstream's defaults (no environment, no ForkliftController). Cannot fail unless
    /// the catalogue itself is wrong, which a unit test rules out.
    pub fn defaults() -> Result<Self, SettingsError> {
        let env = |_: &str| None;
        Self::load(&Sources {
            env: &env,
            forklift_controller: None,
        })
    }
}

/// Whether an OpenShift version (`4.20.0-0...`) is at least `major.minor`.
fn version_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version.trim().trim_start_matches('v').split(['.', '-']);
    let (Some(Ok(have_major)), Some(Ok(have_minor))) = (
        parts.next().map(str::parse::<u64>),
        parts.next().map(str::parse::<u64>),
    ) else {
        return false;
    };
    (have_major, have_minor) >= (major, minor)
}

impl Features {
    /// `FEATURE_STATIC_UDN_IP_ADDRESSES` and OpenShift ≥ 4.20.
    pub fn static_udn_ip_addresses(&self, manager: &ManagerSettings) -> bool {
        self.static_udn_ip_addresses_flag && version_at_least(&manager.openshift_version, 4, 20)
    }

    /// `FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER` and OpenShift ≥ 4.20.
    pub fn vmware_system_serial_number(&self, manager: &ManagerSettings) -> bool {
        self.vmware_system_serial_number_flag && version_at_least(&manager.openshift_version, 4, 20)
    }
}

#[cfg(test)]
mod tests;
