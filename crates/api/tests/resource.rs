//! The kinds work with kube's typed API, and times serialize as Go's `metav1.Time` does.

use ferry_api::destination::{
    DataVolume, NetworkAttachmentDefinition, VirtualMachine, VirtualMachineInstance,
};
use ferry_api::{
    Conversion, ForkliftController, Hook, Host, HyperVProviderServer, Migration, NetworkMap,
    OVAProviderServer, OpenstackVolumePopulator, OvirtVolumePopulator, Plan, Provider, StorageMap,
    Time, VSphereXcopyVolumePopulator,
};
use kube::Resource;

/// Compile-time check: `kube::Api<K>` accepts every kind.
#[allow(dead_code)]
fn apis(client: kube::Client) {
    let _: kube::Api<Plan> = kube::Api::namespaced(client.clone(), "ns");
    let _: kube::Api<Provider> = kube::Api::namespaced(client.clone(), "ns");
    let _: kube::Api<Migration> = kube::Api::all(client.clone());
    let _: kube::Api<VirtualMachine> = kube::Api::namespaced(client.clone(), "ns");
    let _: kube::Api<DataVolume> = kube::Api::namespaced(client, "ns");
}

fn gvkp<K: Resource<DynamicType = ()>>() -> (String, String, String, String) {
    (
        K::group(&()).into_owned(),
        K::version(&()).into_owned(),
        K::kind(&()).into_owned(),
        K::plural(&()).into_owned(),
    )
}

#[test]
fn group_version_kind_plural() {
    let f = |k: &str, p: &str| {
        (
            "forklift.konveyor.io".to_string(),
            "v1beta1".to_string(),
            k.to_string(),
            p.to_string(),
        )
    };
    assert_eq!(gvkp::<Provider>(), f("Provider", "providers"));
    assert_eq!(gvkp::<Plan>(), f("Plan", "plans"));
    assert_eq!(gvkp::<Migration>(), f("Migration", "migrations"));
    assert_eq!(gvkp::<NetworkMap>(), f("NetworkMap", "networkmaps"));
    assert_eq!(gvkp::<StorageMap>(), f("StorageMap", "storagemaps"));
    assert_eq!(gvkp::<Hook>(), f("Hook", "hooks"));
    assert_eq!(gvkp::<Host>(), f("Host", "hosts"));
    assert_eq!(
        gvkp::<ForkliftController>(),
        f("ForkliftController", "forkliftcontrollers")
    );
    assert_eq!(
        gvkp::<OVAProviderServer>(),
        f("OVAProviderServer", "ovaproviderservers")
    );
    assert_eq!(
        gvkp::<HyperVProviderServer>(),
        f("HyperVProviderServer", "hypervproviderservers")
    );
    assert_eq!(gvkp::<Conversion>(), f("Conversion", "conversions"));
    assert_eq!(
        gvkp::<OpenstackVolumePopulator>(),
        f("OpenstackVolumePopulator", "openstackvolumepopulators")
    );
    assert_eq!(
        gvkp::<OvirtVolumePopulator>(),
        f("OvirtVolumePopulator", "ovirtvolumepopulators")
    );
    assert_eq!(
        gvkp::<VSphereXcopyVolumePopulator>(),
        f(
            "VSphereXcopyVolumePopulator",
            "vspherexcopyvolumepopulators"
        )
    );
    let s = |g: &str, v: &str, k: &str, p: &str| {
        (g.to_string(), v.to_string(), k.to_string(), p.to_string())
    };
    assert_eq!(
        gvkp::<VirtualMachine>(),
        s("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
    );
    assert_eq!(
        gvkp::<VirtualMachineInstance>(),
        s(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances"
        )
    );
    assert_eq!(
        gvkp::<DataVolume>(),
        s("cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes")
    );
    assert_eq!(
        gvkp::<NetworkAttachmentDefinition>(),
        s(
            "k8s.cni.cncf.io",
            "v1",
            "NetworkAttachmentDefinition",
            "network-attachment-definitions"
        )
    );
    assert_eq!(
        Plan::url_path(&(), Some("ns")),
        "/apis/forklift.konveyor.io/v1beta1/namespaces/ns/plans"
    );
    assert_eq!(
        <Plan as k8s_openapi::ListableResource>::LIST_KIND,
        "PlanList"
    );
}

#[test]
fn objects_carry_api_version_and_kind() {
    let plan = Plan::new("ns", "p", Default::default());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["apiVersion"], "forklift.konveyor.io/v1beta1");
    assert_eq!(json["kind"], "Plan");
    assert_eq!(json["metadata"]["namespace"], "ns");
    assert_eq!(plan.object_ref().kind.as_deref(), Some("Plan"));
}

#[test]
fn wrong_kind_or_version_is_rejected() {
    let err = serde_json::from_str::<Plan>(
        r#"{"apiVersion":"forklift.konveyor.io/v1beta1","kind":"Provider"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected kind Plan"), "{err}");
    let err = serde_json::from_str::<Plan>(
        r#"{"apiVersion":"forklift.konveyor.io/v1alpha1","kind":"Plan"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected apiVersion"), "{err}");
    let ok: Plan = serde_json::from_str(r#"{"metadata":null,"spec":null,"status":null}"#).unwrap();
    assert_eq!(ok, Plan::default());
    assert!(serde_json::from_str::<Plan>(r#"{"spec":{"vms":"all"}}"#).is_err());
    assert!(serde_json::from_str::<Plan>("42").is_err());
}

#[test]
fn times_are_rfc3339_seconds_utc() {
    // What k8s-openapi 0.29's Time (jiff) emits: no sub-second digits, `Z`.
    let precise = Time("2024-05-01T10:00:00.123456789Z".parse().unwrap());
    assert_eq!(
        serde_json::to_string(&precise).unwrap(),
        r#""2024-05-01T10:00:00Z""#
    );
    let offset: Time = serde_json::from_str(r#""2024-05-01T12:00:00+02:00""#).unwrap();
    assert_eq!(
        serde_json::to_string(&offset).unwrap(),
        r#""2024-05-01T10:00:00Z""#
    );
    // Ferry truncates when it records, so what is in memory is what a read returns.
    let truncated = ferry_api::time::seconds(precise.0);
    let back: Time = serde_json::from_str(&serde_json::to_string(&truncated).unwrap()).unwrap();
    assert_eq!(back, truncated);
    assert!(ferry_api::time::parse("yesterday").is_err());
}
