//! A simulated destination cluster in memory: applies the engine's actions to the
//! `Observed` snapshot (as the API server would: generated names, UIDs, creation times),
//! answers source operations and pod calls from a script, and offers the controllers'
//! moves (CDI finishing a DataVolume, the Conversion controller starting the pod, the
//! pod finishing) as methods the tests call.

use ferry_api::destination::DataVolume;
use ferry_api::k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, Pod,
    PodSpec, PodStatus,
};
use ferry_api::{ObjectMeta, Time};
use ferry_plan::execute::Apply;
use ferry_plan::execute::action::{
    Action, HttpAnswer, HttpRequest, Kind, Object, SourceAnswer, SourceOp,
};
use ferry_plan::observe::Observed;
use futures::future::BoxFuture;
use std::collections::BTreeMap;

/// A failure the simulation was told to produce.
#[derive(Debug, thiserror::Error)]
#[error("simulated failure: {0}")]
pub struct SimError(pub String);

/// The simulated cluster.
#[derive(Default)]
pub struct Sim {
    counter: u64,
    /// Pod calls and their scripted answers (unscripted: connection refused).
    pub http: BTreeMap<String, HttpAnswer>,
    /// Power state answers (default: `""`, always off).
    pub power_state: String,
    /// Whether the source reports the VM off.
    pub powered_off: bool,
    /// Every action applied, in order.
    pub log: Vec<Action>,
    /// The actions of each `apply` call: the real applier runs one call's writes
    /// concurrently, so nothing within a batch may depend on another's order.
    pub batches: Vec<Vec<Action>>,
    /// Fail the next create of this kind.
    pub fail_create: Option<Kind>,
    /// The creation time of new objects.
    pub now: Option<Time>,
}

fn suffix(n: u64) -> String {
    format!("{n:05x}")
}

impl Sim {
    pub fn new() -> Self {
        Self {
            powered_off: true,
            ..Self::default()
        }
    }

    fn named(&mut self, meta: &mut ObjectMeta) {
        self.counter += 1;
        if meta.name.as_deref().unwrap_or_default().is_empty() {
            let prefix = meta.generate_name.clone().unwrap_or_default();
            meta.name = Some(format!("{prefix}{}", suffix(self.counter)));
        }
        meta.uid = Some(format!("uid-{}", self.counter));
        meta.resource_version = Some("1".into());
        meta.creation_timestamp = self.now.clone();
    }

    fn create(&mut self, object: &Object, observed: &mut Observed) -> Result<(), SimError> {
        if self.fail_create == Some(object.kind()) {
            self.fail_create = None;
            return Err(SimError(format!("create {}", object.describe())));
        }
        let objects = &mut observed.objects;
        match object.clone() {
            Object::Namespace(mut o) => {
                self.named(&mut o.metadata);
                observed.target_namespace = Some(o);
            }
            Object::Secret(mut o) => {
                self.named(&mut o.metadata);
                objects.secrets.push(o);
            }
            Object::ConfigMap(mut o) => {
                self.named(&mut o.metadata);
                objects.config_maps.push(o);
            }
            Object::DataVolume(mut o) => {
                self.named(&mut o.metadata);
                objects.data_volumes.push(o);
            }
            Object::PersistentVolume(mut o) => {
                self.named(&mut o.metadata);
                objects.pvs.push(o);
            }
            Object::PersistentVolumeClaim(mut o) => {
                self.named(&mut o.metadata);
                objects.pvcs.push(o);
            }
            Object::Pod(mut o) => {
                self.named(&mut o.metadata);
                objects.pods.push(o);
            }
            Object::Job(mut o) => {
                self.named(&mut o.metadata);
                objects.jobs.push(o);
            }
            Object::Conversion(mut o) => {
                self.named(&mut o.metadata);
                objects.conversions.push(o);
            }
            Object::VirtualMachine(mut o) => {
                self.named(&mut o.metadata);
                observed
                    .destination_vms
                    .push(ferry_plan::observe::DestinationVmInfo::of(&o));
                objects.vms.push(o);
            }
        }
        Ok(())
    }

    fn delete(&mut self, kind: Kind, namespace: &str, name: &str, observed: &mut Observed) {
        let keep = |meta: &ObjectMeta| {
            !(meta.name.as_deref() == Some(name)
                && (namespace.is_empty() || meta.namespace.as_deref() == Some(namespace)))
        };
        let objects = &mut observed.objects;
        match kind {
            Kind::Secret => objects.secrets.retain(|o| keep(&o.metadata)),
            Kind::ConfigMap => objects.config_maps.retain(|o| keep(&o.metadata)),
            Kind::DataVolume => objects.data_volumes.retain(|o| keep(&o.metadata)),
            Kind::PersistentVolume => objects.pvs.retain(|o| keep(&o.metadata)),
            Kind::PersistentVolumeClaim => objects.pvcs.retain(|o| keep(&o.metadata)),
            Kind::Pod => objects.pods.retain(|o| keep(&o.metadata)),
            Kind::Job => objects.jobs.retain(|o| keep(&o.metadata)),
            Kind::Conversion => objects.conversions.retain(|o| keep(&o.metadata)),
            Kind::VirtualMachine => {
                objects.vms.retain(|o| keep(&o.metadata));
                observed
                    .destination_vms
                    .retain(|d| !(d.vm.name == name && d.vm.namespace == namespace));
            }
            Kind::Namespace => observed.target_namespace = None,
        }
    }

    fn patch(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
        observed: &mut Observed,
    ) {
        fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
            match (target, patch) {
                (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
                    for (k, v) in p {
                        if v.is_null() {
                            t.remove(k);
                        } else {
                            merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                        }
                    }
                }
                (t, p) => *t = p.clone(),
            }
        }
        fn apply<T: serde::Serialize + serde::de::DeserializeOwned>(
            items: &mut [T],
            meta: impl Fn(&T) -> &ObjectMeta,
            namespace: &str,
            name: &str,
            patch: &serde_json::Value,
        ) {
            for item in items.iter_mut() {
                let m = meta(item);
                if m.name.as_deref() == Some(name)
                    && m.namespace.as_deref().unwrap_or_default() == namespace
                {
                    let mut value = serde_json::to_value(&*item).unwrap();
                    merge(&mut value, patch);
                    *item = serde_json::from_value(value).unwrap();
                }
            }
        }
        let objects = &mut observed.objects;
        match kind {
            Kind::PersistentVolumeClaim => {
                apply(&mut objects.pvcs, |o| &o.metadata, namespace, name, patch)
            }
            Kind::ConfigMap => apply(
                &mut objects.config_maps,
                |o| &o.metadata,
                namespace,
                name,
                patch,
            ),
            Kind::DataVolume => apply(
                &mut objects.data_volumes,
                |o| &o.metadata,
                namespace,
                name,
                patch,
            ),
            other => panic!("the simulation does not patch {other}"),
        }
    }

    fn apply_one(&mut self, action: &Action, observed: &mut Observed) -> Result<(), SimError> {
        self.log.push(action.clone());
        match action {
            Action::Create(object) => self.create(object, observed)?,
            Action::Update(object) => match object {
                Object::Secret(secret) => {
                    for existing in &mut observed.objects.secrets {
                        if existing.metadata.name == secret.metadata.name {
                            *existing = secret.clone();
                        }
                    }
                }
                other => panic!("the simulation does not update {}", other.describe()),
            },
            Action::Patch {
                kind,
                namespace,
                name,
                patch,
            } => self.patch(*kind, namespace, name, patch, observed),
            Action::Delete {
                kind,
                namespace,
                name,
                ..
            } => self.delete(*kind, namespace, name, observed),
            Action::Source { vm, op } => {
                let answer = match op {
                    SourceOp::PowerState => SourceAnswer::PowerState(self.power_state.clone()),
                    SourceOp::PoweredOff => SourceAnswer::PoweredOff(self.powered_off),
                    SourceOp::PowerOff | SourceOp::PowerOn => SourceAnswer::Done,
                };
                observed.results.source.insert((vm.id.clone(), *op), answer);
            }
            Action::Http(request) => {
                let answer = self
                    .http
                    .get(&request.url)
                    .cloned()
                    .unwrap_or(HttpAnswer::Refused);
                observed.results.http.insert(request.clone(), answer);
            }
        }
        Ok(())
    }

    /// A new reconcile: the answers of the last one are forgotten.
    pub fn forget(&self, observed: &mut Observed) {
        observed.results = Default::default();
    }

    /// CDI: every DataVolume reaches `phase`, and each gets its PVC (Bound).
    pub fn cdi(&mut self, observed: &mut Observed, phase: &str) {
        let dvs: Vec<DataVolume> = observed.objects.data_volumes.to_vec();
        for dv in &mut observed.objects.data_volumes {
            dv.status.phase = Some(phase.into());
            dv.status.claim_name = dv.metadata.name.clone();
        }
        for dv in dvs {
            let name = dv.metadata.name.clone();
            if observed
                .objects
                .pvcs
                .iter()
                .any(|p| p.metadata.name == name)
            {
                continue;
            }
            self.counter += 1;
            observed.objects.pvcs.push(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name,
                    namespace: dv.metadata.namespace.clone(),
                    labels: dv.metadata.labels.clone(),
                    annotations: dv.metadata.annotations.clone(),
                    uid: Some(format!("uid-{}", self.counter)),
                    ..ObjectMeta::default()
                },
                spec: Some(PersistentVolumeClaimSpec::default()),
                status: Some(PersistentVolumeClaimStatus {
                    phase: Some("Bound".into()),
                    ..Default::default()
                }),
            });
        }
    }

    /// The Conversion controller: each Conversion without a pod gets one (its labels,
    /// plus `conversion`), in phase `phase` with an IP.
    pub fn conversion_controller(&mut self, observed: &mut Observed, phase: &str) {
        for conversion in observed.objects.conversions.clone() {
            let name = conversion.metadata.name.clone().unwrap_or_default();
            if observed.objects.pods.iter().any(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get("conversion")) == Some(&name)
            }) {
                continue;
            }
            let mut labels = conversion.metadata.labels.clone().unwrap_or_default();
            labels.insert("conversion".into(), name.clone());
            labels.remove("conversion-type");
            self.counter += 1;
            observed.objects.pods.push(Pod {
                metadata: ObjectMeta {
                    name: Some(format!(
                        "{}{}",
                        conversion.spec.pod_settings.generate_name,
                        suffix(self.counter)
                    )),
                    namespace: Some(conversion.spec.target_namespace.clone()),
                    labels: Some(labels),
                    uid: Some(format!("uid-{}", self.counter)),
                    ..ObjectMeta::default()
                },
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "virt-v2v".into(),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
                status: Some(PodStatus {
                    phase: Some(phase.into()),
                    pod_ip: Some(format!(
                        "10.0.{}.{}",
                        self.counter / 250,
                        self.counter % 250 + 1
                    )),
                    ..PodStatus::default()
                }),
            });
        }
    }

    /// Every conversion pod reaches `phase`.
    pub fn pods(&mut self, observed: &mut Observed, phase: &str) {
        for pod in &mut observed.objects.pods {
            if let Some(status) = pod.status.as_mut() {
                status.phase = Some(phase.into());
            }
        }
    }

    /// The pod of a VM.
    pub fn pod_ip(observed: &Observed, vm_id: &str) -> Option<String> {
        observed
            .objects
            .pods
            .iter()
            .find(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("vmID"))
                    .map(String::as_str)
                    == Some(vm_id)
            })
            .and_then(|p| p.status.as_ref()?.pod_ip.clone())
    }

    /// Scripts a VM's conversion pod as finished: `/vm` describes a BIOS VM, no warnings,
    /// shutdown answers.
    pub fn script_finished(&mut self, ip: &str) {
        self.http.insert(
            format!("http://{ip}:8080/vm"),
            HttpAnswer::Response {
                status: 200,
                body: "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nspec:\n  template:\n    spec:\n      domain:\n        firmware:\n          bootloader:\n            bios: {}\n".into(),
            },
        );
        self.http.insert(
            format!("http://{ip}:8080/warnings"),
            HttpAnswer::Response {
                status: 200,
                body: "[]".into(),
            },
        );
        self.http
            .insert(format!("http://{ip}:8080/shutdown"), HttpAnswer::Eof);
    }

    /// Scripts the metrics of a VM's conversion pod.
    pub fn script_metrics(&mut self, ip: &str, body: &str) {
        self.http.insert(
            format!("http://{ip}:2112/metrics"),
            HttpAnswer::Response {
                status: 200,
                body: body.into(),
            },
        );
    }

    /// The Bound state of every PVC (provider storage included).
    pub fn bind_all(&mut self, observed: &mut Observed) {
        for pvc in &mut observed.objects.pvcs {
            pvc.status = Some(PersistentVolumeClaimStatus {
                phase: Some("Bound".into()),
                ..Default::default()
            });
        }
    }

    /// The requests of a kind in the log.
    pub fn created(&self, kind: Kind) -> Vec<&Object> {
        self.log
            .iter()
            .filter_map(|a| match a {
                Action::Create(o) if o.kind() == kind => Some(o),
                _ => None,
            })
            .collect()
    }

    pub fn http_asked(&self) -> Vec<&HttpRequest> {
        self.log
            .iter()
            .filter_map(|a| match a {
                Action::Http(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}

impl Apply for Sim {
    type Error = SimError;

    fn apply<'a>(
        &'a mut self,
        actions: &'a [Action],
        observed: &'a mut Observed,
    ) -> BoxFuture<'a, Result<(), SimError>> {
        Box::pin(async move {
            self.batches.push(actions.to_vec());
            for action in actions {
                self.apply_one(action, observed)?;
            }
            Ok(())
        })
    }
}
