//! Retrieval of the inventory with Forklift's filter: completeness, paging and
//! bounded responses for a large model.

use std::collections::{BTreeMap, BTreeSet};

use ferry_vim::vcsim::Vcsim;
use ferry_vim::{Client, ConnectConfig, Error, Limits, MoRef, ObjectContent, Value, forklift};

use crate::common::{bounded, connected, objects_of, start};

fn by_kind(objects: &[ObjectContent]) -> BTreeMap<String, BTreeSet<MoRef>> {
    let mut map: BTreeMap<String, BTreeSet<MoRef>> = BTreeMap::new();
    for o in objects {
        map.entry(o.obj.kind.clone())
            .or_default()
            .insert(o.obj.clone());
    }
    map
}

#[tokio::test]
async fn forklifts_filter_retrieves_every_object_of_the_default_model() {
    bounded("default model", async {
        let (_vcsim, client) = connected().await;
        let spec =
            forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
        let objects = client.retrieve_all(&spec, 100).await.unwrap();
        let kinds = by_kind(&objects);

        // The traversal reaches exactly what container views list.
        for kind in [
            "VirtualMachine",
            "HostSystem",
            "Datastore",
            "DistributedVirtualPortgroup",
            "Datacenter",
            "ClusterComputeResource",
        ] {
            let expected: BTreeSet<MoRef> = objects_of(&client, kind).await.into_iter().collect();
            assert_eq!(kinds.get(kind), Some(&expected), "{kind}");
        }
        // A Network view also lists port groups (a Network subtype).
        let networks: BTreeSet<MoRef> = objects_of(&client, "Network").await.into_iter().collect();
        let collected: BTreeSet<MoRef> = kinds["Network"]
            .union(&kinds["DistributedVirtualPortgroup"])
            .cloned()
            .collect();
        assert_eq!(collected, networks);
        // vcsim's default model: 1 DC, a cluster of 3 hosts and a standalone
        // host, 2 VMs in each pool, 1 datastore, "VM Network" and 2 DV port groups.
        assert_eq!(kinds["VirtualMachine"].len(), 4);
        assert_eq!(kinds["HostSystem"].len(), 4);
        assert_eq!(kinds["Datastore"].len(), 1);
        assert_eq!(kinds["Network"].len(), 1);
        assert_eq!(kinds["DistributedVirtualPortgroup"].len(), 2);
        assert_eq!(kinds["ComputeResource"].len(), 1);
        // No object twice.
        assert_eq!(
            objects.len(),
            kinds.values().map(BTreeSet::len).sum::<usize>()
        );

        for vm in objects.iter().filter(|o| o.obj.kind == "VirtualMachine") {
            assert!(vm.missing.is_empty(), "{:?}", vm.missing);
            let name = vm.get("name").and_then(Value::as_str).unwrap();
            assert!(name.contains("_VM"), "{name}");
            assert!(vm.get("config.uuid").and_then(Value::as_str).is_some());
            assert_eq!(
                vm.get("config.hardware.numCPU").and_then(Value::as_i64),
                Some(1)
            );
            assert_eq!(
                vm.get("config.hardware.memoryMB").and_then(Value::as_i64),
                Some(32)
            );
            assert_eq!(
                vm.get("runtime.powerState").and_then(Value::as_str),
                Some("poweredOn")
            );
            assert_eq!(
                vm.get("runtime.host")
                    .and_then(Value::as_moref)
                    .map(|m| m.kind.as_str()),
                Some("HostSystem")
            );
            let devices = vm
                .get("config.hardware.device")
                .and_then(Value::as_array)
                .unwrap();
            let disk = devices
                .iter()
                .find(|d| d.type_name() == Some("VirtualDisk"))
                .expect("a disk");
            let file = disk
                .path("backing.fileName")
                .and_then(Value::as_str)
                .unwrap();
            assert!(file.starts_with("[LocalDS_0] "), "{file}");
            assert!(disk.get("capacityInKB").and_then(Value::as_i64).unwrap() > 0);
            let nic = devices
                .iter()
                .find(|d| d.get("macAddress").is_some())
                .expect("a NIC");
            assert_eq!(nic.type_name(), Some("VirtualE1000"));
            let datastores = vm.get("datastore").and_then(Value::as_array).unwrap();
            assert_eq!(datastores[0].as_moref().unwrap().kind, "Datastore");
        }
        for host in objects.iter().filter(|o| o.obj.kind == "HostSystem") {
            assert!(
                host.get("summary.hardware.numCpuPkgs")
                    .and_then(Value::as_i64)
                    .unwrap()
                    > 0
            );
            assert!(
                host.get("summary.hardware.memorySize")
                    .and_then(Value::as_i64)
                    .unwrap()
                    > 0
            );
            assert_eq!(
                host.get("overallStatus").and_then(Value::as_str),
                Some("green")
            );
            let pnics = host
                .get("config.network.pnic")
                .and_then(Value::as_array)
                .unwrap();
            assert!(!pnics.is_empty());
        }
        for ds in objects.iter().filter(|o| o.obj.kind == "Datastore") {
            assert_eq!(ds.get("name").and_then(Value::as_str), Some("LocalDS_0"));
            assert!(ds.get("summary.capacity").and_then(Value::as_i64).unwrap() > 0);
        }
        for pg in objects
            .iter()
            .filter(|o| o.obj.kind == "DistributedVirtualPortgroup")
        {
            let dvs = pg
                .get("config.distributedVirtualSwitch")
                .and_then(Value::as_moref)
                .unwrap();
            assert!(dvs.kind.ends_with("DistributedVirtualSwitch"), "{dvs}");
            assert!(pg.get("key").and_then(Value::as_str).is_some());
        }
    })
    .await;
}

#[tokio::test]
async fn small_pages_cover_everything_once() {
    bounded("paging", async {
        let (_vcsim, client) = connected().await;
        let spec =
            forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
        let all = client.retrieve_all(&spec, 1000).await.unwrap();
        let mut pager = client.retrieve_pages(spec.clone(), 3);
        let mut paged = Vec::new();
        let mut pages = 0;
        while let Some(page) = pager.next_page().await.unwrap() {
            assert!(page.len() <= 3, "a page of {}", page.len());
            pages += 1;
            paged.extend(page);
        }
        assert!(pages > 3, "{pages} pages");
        assert_eq!(
            paged.iter().map(|o| &o.obj).collect::<BTreeSet<_>>(),
            all.iter().map(|o| &o.obj).collect::<BTreeSet<_>>()
        );
        assert_eq!(paged.len(), all.len());
        assert!(client.call_stats()["ContinueRetrievePropertiesEx"] >= 3);

        // A pager can stop early and release the rest.
        let mut pager = client.retrieve_pages(spec, 2);
        assert_eq!(pager.next_page().await.unwrap().unwrap().len(), 2);
        pager.cancel().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_large_model_is_retrieved_in_bounded_pages() {
    bounded("large model", async {
        let vcsim = start(Vcsim::builder().standalone_hosts(0).vms(1000)).await;
        // Each response may be at most 4 MiB: far less than the whole inventory.
        let config = ConnectConfig {
            limits: Limits {
                max_response_bytes: 4 * 1024 * 1024,
                ..Limits::default()
            },
            ..vcsim.config()
        };
        let client = Client::connect(config).await.unwrap();
        let spec =
            forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
        let mut pager = client.retrieve_pages(spec.clone(), 200);
        let mut vms = BTreeSet::new();
        let mut memory_total = 0;
        while let Some(page) = pager.next_page().await.unwrap() {
            for o in page.iter().filter(|o| o.obj.kind == "VirtualMachine") {
                memory_total += o
                    .get("config.hardware.memoryMB")
                    .and_then(Value::as_i64)
                    .unwrap();
                vms.insert(o.obj.clone());
            }
        }
        assert_eq!(vms.len(), 1000);
        assert_eq!(memory_total, 1000 * 32);

        // The same retrieval in one piece exceeds the bound: paging is what
        // keeps each response (and the memory it needs) small.
        let error = client.retrieve_properties(&spec, None).await.unwrap_err();
        assert!(matches!(error, Error::ResponseTooLarge { .. }), "{error:?}");
    })
    .await;
}
