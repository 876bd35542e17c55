//! Awkward input built in vcsim: names with slashes, escapes and non-ASCII, a VM
//! without disks, a disk shared by two VMs.

use ferry_inventory::query::{FindError, Kind};
use ferry_inventory::{Inventory, Ref, SourceVm};
use ferry_vim::vcsim::Vcsim;

use crate::common::{
    add_disk, bounded, client, collect, config_spec, devices, finish, remove_device, start, vm_ref,
    wait_until,
};

#[tokio::test]
async fn names_with_slashes_escapes_and_non_ascii() {
    bounded("names", async {
        let vcsim = start(Vcsim::builder()).await;
        let (inventory, _task) = collect(&vcsim).await;
        let client = client(&vcsim).await;
        let ids: Vec<String> = inventory
            .snapshot()
            .vms
            .values()
            .map(|vm| vm.base.id.clone())
            .collect();
        finish(
            &client,
            client.rename(&vm_ref(&ids[0]), "web/01 ü").await.unwrap(),
        )
        .await;
        // vCenter sends `/` in names as %2f; upstream unescapes names.
        finish(
            &client,
            client
                .rename(&vm_ref(&ids[1]), "db%2f02 %E2%9C%93")
                .await
                .unwrap(),
        )
        .await;
        finish(
            &client,
            client.rename(&vm_ref(&ids[2]), "bad%zz").await.unwrap(),
        )
        .await;
        wait_until(&inventory, "renamed", |s| {
            s.vm(&ids[0]).unwrap().base.name == "web/01 ü"
                && s.vm(&ids[1]).unwrap().base.name == "db/02 ✓"
                && s.vm(&ids[2]).unwrap().base.name == "bad%zz"
        })
        .await;
        let snapshot = inventory.snapshot();
        assert_eq!(
            snapshot.path(&snapshot.vm(&ids[0]).unwrap().base),
            "/DC0/vm/web/01 ü"
        );

        // By ID they are found; by name, as upstream, only the last segment is
        // compared, so a name that contains `/` cannot be found by name.
        let found = inventory.find(Kind::Vm, &Ref::id(&ids[0])).unwrap();
        assert_eq!(found.name, "web/01 ü");
        assert!(matches!(
            inventory.find(Kind::Vm, &Ref::name("web/01 ü")),
            Err(FindError::NotFound { .. })
        ));
        assert_eq!(
            inventory.find(Kind::Vm, &Ref::name("bad%zz")).unwrap().id,
            ids[2]
        );
        let SourceVm::Vsphere(workload) = inventory.vm(&Ref::id(&ids[1])).unwrap() else {
            panic!("not a vSphere VM");
        };
        assert_eq!(workload.vm.base.name, "db/02 ✓");
        assert_eq!(workload.host().unwrap().base.id, workload.vm.host);
        assert!(workload.cluster().is_some());
        assert_eq!(workload.datacenter().unwrap().base.name, "DC0");
        for nic in workload.vm.nics() {
            assert!(workload.network_of(nic).is_some(), "{nic:?}");
        }
        for disk in workload.vm.disks() {
            assert!(workload.datastore_of(disk).is_some());
        }
        // Name concerns follow the new names.
        let vm = snapshot.vm(&ids[0]).unwrap();
        assert!(vm.concerns.iter().any(|c| c.id == "vmware.vm.name.invalid"));
    })
    .await;
}

#[tokio::test]
async fn a_vm_without_disks_and_a_shared_disk() {
    bounded("disks", async {
        let vcsim = start(Vcsim::builder()).await;
        let (inventory, _task) = collect(&vcsim).await;
        let client = client(&vcsim).await;
        let snapshot = inventory.snapshot();
        let ids: Vec<String> = snapshot.vms.values().map(|vm| vm.base.id.clone()).collect();
        let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
        let shared_file = snapshot.vm(&a).unwrap().disks()[0].file.clone();

        // c loses its only disk.
        let disk = devices(&client, &vm_ref(&c))
            .await
            .into_iter()
            .find(|d| d.type_name() == Some("VirtualDisk"))
            .unwrap();
        let spec = config_spec(vec![("deviceChange", remove_device(disk))]);
        finish(
            &client,
            client.reconfigure_vm(&vm_ref(&c), spec).await.unwrap(),
        )
        .await;

        // b attaches a's disk file.
        let spec = config_spec(vec![(
            "deviceChange",
            add_disk(202, 1, 1024, Some(&shared_file)),
        )]);
        finish(
            &client,
            client.reconfigure_vm(&vm_ref(&b), spec).await.unwrap(),
        )
        .await;

        wait_until(&inventory, "disk changes", |s| {
            s.vm(&c).unwrap().disks().is_empty() && s.vm(&b).unwrap().disks().len() == 2
        })
        .await;
        let snapshot = inventory.snapshot();
        let vm_c = snapshot.vm(&c).unwrap();
        assert_eq!(
            vm_c.disks.as_deref(),
            Some(&[][..]),
            "`disks: []`, not null"
        );
        assert!(
            !vm_c
                .concerns
                .iter()
                .any(|concern| concern.id.starts_with("vmware.changed_block_tracking.disk")),
            "{:?}",
            vm_c.concerns
        );
        for id in [&a, &b] {
            let vm = snapshot.vm(id).unwrap();
            let shared: Vec<bool> = vm
                .disks()
                .iter()
                .filter(|d| d.file == shared_file)
                .map(|d| d.shared)
                .collect();
            assert_eq!(shared, [true], "{id}");
            assert!(
                vm.concerns
                    .iter()
                    .any(|c| c.id == "vmware.disk.shared.detected"),
                "{id}: {:?}",
                vm.concerns
            );
        }
        assert!(
            !snapshot
                .vm(&ids[3])
                .unwrap()
                .concerns
                .iter()
                .any(|c| c.id == "vmware.disk.shared.detected")
        );
        // The new disk's capacity came from the server.
        let added = snapshot
            .vm(&b)
            .unwrap()
            .disks()
            .iter()
            .find(|d| d.unit_number == 1)
            .cloned()
            .unwrap();
        assert_eq!(added.capacity, 1024 * 1024);
    })
    .await;
}
