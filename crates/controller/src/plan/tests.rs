use std::collections::BTreeMap;

use ferry_api::condition::{Condition, Conditions, category};
use ferry_api::plan::PlanSpec;
use serde_json::json;

use super::*;

fn reference(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

fn plan(name: &str, source: &str) -> Plan {
    let mut plan = Plan::new("ns", name, PlanSpec::default());
    plan.spec.provider.source = reference("ns", source);
    plan.spec.provider.destination = reference("ns", "host");
    plan.spec.map.network = reference("ns", "net");
    plan.spec.map.storage = reference("ns", "storage");
    plan.spec.vms = serde_json::from_value(json!([
        {"id": "vm-1", "hooks": [{"step": "PreHook", "hook": {"namespace": "ns", "name": "pre"}}]},
        {"name": "folder/web", "hooks": [{"step": "PostHook", "hook": {"namespace": "ns", "name": "pre"}}]},
    ]))
    .unwrap();
    plan
}

#[test]
fn references_are_deduplicated_and_skip_unset_ones() {
    let mut p = plan("p", "ova");
    p.spec.map.storage = ObjectReference::default();
    let keys = references(&p);
    assert_eq!(
        keys,
        vec![
            (Referenced::Provider, "ns".into(), "host".into()),
            (Referenced::Provider, "ns".into(), "ova".into()),
            (Referenced::NetworkMap, "ns".into(), "net".into()),
            (Referenced::Hook, "ns".into(), "pre".into()),
        ]
    );
}

#[test]
fn the_index_follows_plans() {
    let index = PlanIndex::new();
    let a = plan("a", "ova");
    let b = plan("b", "other");
    index.rebuild([&a, &b].into_iter());
    let plans = |kind, name: &str| index.plans(kind, "ns", name);
    assert_eq!(
        plans(Referenced::Provider, "host"),
        vec![
            ("ns".to_string(), "a".to_string()),
            ("ns".to_string(), "b".to_string())
        ]
    );
    assert_eq!(
        plans(Referenced::Provider, "ova"),
        vec![("ns".into(), "a".into())]
    );
    let mut a2 = a.clone();
    a2.spec.provider.source = reference("ns", "other");
    index.update("ns", "a", references(&a2));
    assert!(
        plans(Referenced::Provider, "ova").is_empty(),
        "the old reference is dropped"
    );
    assert_eq!(plans(Referenced::Provider, "other").len(), 2);
    index.remove("ns", "b");
    assert_eq!(
        plans(Referenced::Provider, "other"),
        vec![("ns".into(), "a".into())]
    );
    assert_eq!(
        plans(Referenced::Hook, "pre"),
        vec![("ns".into(), "a".into())]
    );
    assert!(plans(Referenced::StorageMap, "gone").is_empty());
}

#[test]
fn destination_objects_map_back_through_their_labels() {
    let meta = |labels: &[(&str, &str)]| kube::core::ObjectMeta {
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..kube::core::ObjectMeta::default()
    };
    let found = labelled_plan(&meta(&[("plan-name", "p"), ("plan-namespace", "ns")])).unwrap();
    assert_eq!(found.name, "p");
    assert_eq!(found.namespace.as_deref(), Some("ns"));
    assert!(labelled_plan(&meta(&[("plan-name", "p")])).is_none());
    assert!(labelled_plan(&meta(&[("plan-name", ""), ("plan-namespace", "ns")])).is_none());
    assert!(labelled_plan(&kube::core::ObjectMeta::default()).is_none());
}

#[test]
fn inventory_news_reaches_plans_that_list_the_vm() {
    let p = plan("p", "ova");
    assert!(lists_vm(&p, "vm-1", "whatever"));
    assert!(
        lists_vm(&p, "other-id", "/dc/vm/folder/web"),
        "by a name the VM's path ends with"
    );
    assert!(
        !lists_vm(&p, "other-id", "web"),
        "a path shorter than the name"
    );
    assert!(!lists_vm(&p, "vm-2", "db"));
    assert!(wants_vm_news(&p));
    let mut done = p.clone();
    done.status.conditions =
        Conditions::from(vec![Condition::new(types::SUCCEEDED, category::ADVISORY)]);
    assert!(!wants_vm_news(&done));
    let mut archived = p;
    archived.spec.archived = true;
    assert!(!wants_vm_news(&archived));
}
