//! What execution asks the outside world to do: create, update, patch or delete a
//! destination object, act on the source VM, or read from a conversion pod. Actions are
//! data; `apply` performs them and feeds the outcomes back into the [`Observed`]
//! snapshot, so the next decision sees them.
//!
//! [`Observed`]: crate::observe::Observed

use ferry_api::destination::{DataVolume, VirtualMachine};
use ferry_api::k8s_openapi::api::batch::v1::Job;
use ferry_api::k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
};
use ferry_api::{Conversion, Ref};
use std::collections::BTreeMap;
use std::fmt;

/// A destination object.
// Objects are built once per action and moved, never copied around in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// A Namespace.
    Namespace(Namespace),
    /// A Secret.
    Secret(Secret),
    /// A ConfigMap.
    ConfigMap(ConfigMap),
    /// A CDI DataVolume.
    DataVolume(DataVolume),
    /// A PersistentVolume.
    PersistentVolume(PersistentVolume),
    /// A PersistentVolumeClaim.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// A Pod.
    Pod(Pod),
    /// A Job.
    Job(Job),
    /// A Forklift Conversion.
    Conversion(Conversion),
    /// A KubeVirt VirtualMachine.
    VirtualMachine(VirtualMachine),
}

/// The kind of a destination object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Namespace.
    Namespace,
    /// Secret.
    Secret,
    /// ConfigMap.
    ConfigMap,
    /// DataVolume.
    DataVolume,
    /// PersistentVolume.
    PersistentVolume,
    /// PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// Pod.
    Pod,
    /// Job.
    Job,
    /// Conversion.
    Conversion,
    /// VirtualMachine.
    VirtualMachine,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Namespace(_) => Kind::Namespace,
            Self::Secret(_) => Kind::Secret,
            Self::ConfigMap(_) => Kind::ConfigMap,
            Self::DataVolume(_) => Kind::DataVolume,
            Self::PersistentVolume(_) => Kind::PersistentVolume,
            Self::PersistentVolumeClaim(_) => Kind::PersistentVolumeClaim,
            Self::Pod(_) => Kind::Pod,
            Self::Job(_) => Kind::Job,
            Self::Conversion(_) => Kind::Conversion,
            Self::VirtualMachine(_) => Kind::VirtualMachine,
        }
    }

    /// The object's metadata.
    pub fn meta(&self) -> &ferry_api::ObjectMeta {
        match self {
            Self::Namespace(o) => &o.metadata,
            Self::Secret(o) => &o.metadata,
            Self::ConfigMap(o) => &o.metadata,
            Self::DataVolume(o) => &o.metadata,
            Self::PersistentVolume(o) => &o.metadata,
            Self::PersistentVolumeClaim(o) => &o.metadata,
            Self::Pod(o) => &o.metadata,
            Self::Job(o) => &o.metadata,
            Self::Conversion(o) => &o.metadata,
            Self::VirtualMachine(o) => &o.metadata,
        }
    }

    /// The object's metadata, to change.
    pub fn meta_mut(&mut self) -> &mut ferry_api::ObjectMeta {
        match self {
            Self::Namespace(o) => &mut o.metadata,
            Self::Secret(o) => &mut o.metadata,
            Self::ConfigMap(o) => &mut o.metadata,
            Self::DataVolume(o) => &mut o.metadata,
            Self::PersistentVolume(o) => &mut o.metadata,
            Self::PersistentVolumeClaim(o) => &mut o.metadata,
            Self::Pod(o) => &mut o.metadata,
            Self::Job(o) => &mut o.metadata,
            Self::Conversion(o) => &mut o.metadata,
            Self::VirtualMachine(o) => &mut o.metadata,
        }
    }

    /// `namespace/name` (or `namespace/generateName…` before creation), for logs.
    pub fn describe(&self) -> String {
        let meta = self.meta();
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        match (&meta.name, &meta.generate_name) {
            (Some(name), _) if !name.is_empty() => format!("{} {namespace}/{name}", self.kind()),
            (_, Some(prefix)) => format!("{} {namespace}/{prefix}…", self.kind()),
            _ => format!("{} {namespace}/?", self.kind()),
        }
    }
}

/// How a delete propagates to dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents first (the VM, hook Jobs).
    Foreground,
    /// Dependents after (Jobs of validations).
    Background,
}

/// A source-side operation on a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceOp {
    /// Read the power state.
    PowerState,
    /// Power off.
    PowerOff,
    /// Power on.
    PowerOn,
    /// Whether it is off.
    PoweredOff,
}

/// The answer to a [`SourceOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceAnswer {
    /// The power state (`restorePowerState` value).
    PowerState(String),
    /// Done.
    Done,
    /// Whether the VM is off.
    PoweredOff(bool),
    /// The source failed; the message becomes a step error.
    Failed(String),
}

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// POST (empty body).
    Post,
}

/// A request to a conversion pod.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// `http://<podIP>:<port>/<path>`.
    pub url: String,
}

/// The answer to an [`HttpRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpAnswer {
    /// The server answered.
    Response {
        /// Status code.
        status: u16,
        /// Body (capped).
        body: String,
    },
    /// Connection refused: the server is not up (yet, or any more).
    Refused,
    /// The connection ended without a response (what `POST /shutdown` gives).
    Eof,
    /// Any other failure.
    Failed(String),
}

/// Something for `apply` to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create the object (a named one that already exists counts as created).
    Create(Object),
    /// Replace the object (data updates).
    Update(Object),
    /// Merge-patch the object.
    Patch {
        /// Kind.
        kind: Kind,
        /// Namespace (`""` for cluster-scoped).
        namespace: String,
        /// Name.
        name: String,
        /// The JSON merge patch.
        patch: serde_json::Value,
    },
    /// Delete the object (gone already counts as deleted).
    Delete {
        /// Kind.
        kind: Kind,
        /// Namespace (`""` for cluster-scoped).
        namespace: String,
        /// Name.
        name: String,
        /// Propagation, when not the default.
        propagation: Option<Propagation>,
    },
    /// Act on the source VM.
    Source {
        /// The VM.
        vm: Ref,
        /// The operation.
        op: SourceOp,
    },
    /// Call a conversion pod.
    Http(HttpRequest),
}

impl Action {
    /// A short description, for errors and logs (no object contents).
    pub fn describe(&self) -> String {
        match self {
            Self::Create(object) => format!("create {}", object.describe()),
            Self::Update(object) => format!("update {}", object.describe()),
            Self::Patch {
                kind,
                namespace,
                name,
                ..
            } => format!("patch {kind} {namespace}/{name}"),
            Self::Delete {
                kind,
                namespace,
                name,
                ..
            } => format!("delete {kind} {namespace}/{name}"),
            Self::Source { vm, op } => format!("{op:?} source VM {}", vm.id),
            Self::Http(request) => format!("{:?} {}", request.method, request.url),
        }
    }
}

/// Outcomes of source operations and pod calls during one reconcile, keyed by what was
/// asked. A decision asks again only for what is missing, so every question is asked at
/// most once per reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Results {
    /// Source operations, by VM ID and operation.
    pub source: BTreeMap<(String, SourceOp), SourceAnswer>,
    /// Pod calls.
    pub http: BTreeMap<HttpRequest, HttpAnswer>,
}
