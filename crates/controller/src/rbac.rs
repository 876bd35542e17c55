//! Every Kubernetes resource Ferry's controllers read or write, with the verbs: the
//! source of truth for `deploy/rbac.yaml` (a test checks that the ClusterRole grants
//! exactly this, and the manager's tests check that every request it makes is covered).

/// Access to some resources of one API group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The API group (`""` for core).
    pub group: &'static str,
    /// The resources (`plural` or `plural/subresource`).
    pub resources: &'static [&'static str],
    /// The verbs.
    pub verbs: &'static [&'static str],
    /// Who needs it and why.
    pub why: &'static str,
}

const READ: &[&str] = &["get", "list", "watch"];

/// The Forklift kinds the controllers reconcile.
pub const FORKLIFT_KINDS: &[&str] = &[
    "providers",
    "plans",
    "migrations",
    "networkmaps",
    "storagemaps",
    "hooks",
    "hosts",
];

/// Everything Ferry touches.
pub const RULES: &[Access] = &[
    Access {
        group: "forklift.konveyor.io",
        resources: FORKLIFT_KINDS,
        verbs: &["get", "list", "watch", "patch", "update"],
        why: "watch caches; owner references on Migrations and finalizer removal on Providers (merge patches); the plan controller's annotations",
    },
    Access {
        group: "forklift.konveyor.io",
        resources: &[
            "providers/status",
            "plans/status",
            "migrations/status",
            "networkmaps/status",
            "storagemaps/status",
            "hooks/status",
            "hosts/status",
            "conversions/status",
        ],
        verbs: &["get", "patch", "update"],
        why: "status writes (server-side apply)",
    },
    Access {
        group: "forklift.konveyor.io",
        resources: &["forkliftcontrollers"],
        verbs: &["get", "list"],
        why: "settings from the ForkliftController at start-up",
    },
    Access {
        group: "forklift.konveyor.io",
        resources: &["conversions"],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "the plan controller's guest conversions; the Conversion controller's watch",
    },
    Access {
        group: "",
        resources: &["secrets"],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "provider and host credentials (read; watched as metadata only); the plan controller's migration secrets",
    },
    Access {
        group: "",
        resources: &[
            "persistentvolumeclaims",
            "persistentvolumes",
            "pods",
            "configmaps",
        ],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "the plan controller's destination objects (watched by label); the Conversion controller's pods",
    },
    Access {
        group: "",
        resources: &["namespaces"],
        verbs: &["get", "create"],
        why: "the plan controller ensures the target namespace",
    },
    Access {
        group: "batch",
        resources: &["jobs"],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "the plan controller's hook Jobs",
    },
    Access {
        group: "cdi.kubevirt.io",
        resources: &["datavolumes"],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "the plan controller's DataVolumes",
    },
    Access {
        group: "kubevirt.io",
        resources: &["virtualmachines"],
        verbs: &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        why: "the plan controller's target VMs",
    },
    Access {
        group: "storage.k8s.io",
        resources: &["storageclasses"],
        verbs: READ,
        why: "StorageMap destinations",
    },
    Access {
        group: "k8s.cni.cncf.io",
        resources: &["network-attachment-definitions"],
        verbs: READ,
        why: "NetworkMap destinations",
    },
    Access {
        group: "events.k8s.io",
        resources: &["events"],
        verbs: &["create", "patch"],
        why: "Events for condition changes",
    },
    Access {
        group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["get", "create", "update"],
        why: "leader election",
    },
];

/// Whether `verb` on `group`/`resource` is granted by [`RULES`].
pub fn allows(group: &str, resource: &str, verb: &str) -> bool {
    RULES.iter().any(|access| {
        access.group == group
            && access.resources.contains(&resource)
            && access.verbs.contains(&verb)
    })
}

/// The namespace of Ferry's Deployment in `deploy/` (Forklift's default).
pub const NAMESPACE: &str = "konveyor-forklift";
/// The name of the ServiceAccount, ClusterRole and ClusterRoleBinding.
pub const NAME: &str = "ferry-controller";

fn quoted(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// `deploy/20-rbac.yaml`: the ServiceAccount, the ClusterRole granting exactly
/// [`RULES`], and the binding.
pub fn manifest() -> String {
    let mut out = String::from(
        "# Generated from crates/controller/src/rbac.rs by `FERRY_UPDATE_DEPLOY=1 cargo test -p\n\
         # ferry-controller --test deploy`. Do not edit by hand.\n",
    );
    out.push_str(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {NAME}\n  namespace: {NAMESPACE}\n"
    ));
    out.push_str(&format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {NAME}\nrules:\n"
    ));
    for access in RULES {
        out.push_str(&format!(
            "  # {}\n  - apiGroups: {}\n    resources: {}\n    verbs: {}\n",
            access.why,
            quoted(&[access.group]),
            quoted(access.resources),
            quoted(access.verbs)
        ));
    }
    out.push_str(&format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {NAME}\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {NAME}\n\
         subjects:\n  - kind: ServiceAccount\n    name: {NAME}\n    namespace: {NAMESPACE}\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_answer_lookups() {
        assert!(allows("forklift.konveyor.io", "providers/status", "patch"));
        assert!(allows("", "secrets", "watch"));
        assert!(!allows("", "secrets", "deletecollection"));
        assert!(!allows("apps", "deployments", "get"));
    }
}
