//! VM operations: lookup, power, snapshots, tasks, CBT, typed faults.

use std::time::Duration;

use ferry_vim::{Error, FaultKind, MoRef, PowerState, SnapshotRequest, TaskState, Value};

use crate::common::{bounded, connected, finish, property, vms};

fn request(name: &str) -> SnapshotRequest {
    SnapshotRequest {
        name: name.into(),
        description: "Forklift Operator warm migration precopy".into(),
        memory: false,
        quiesce: true,
    }
}

#[tokio::test]
async fn snapshots_are_created_listed_and_removed() {
    bounded("snapshots", async {
        let (_vcsim, client) = connected().await;
        let vm = vms(&client).await.remove(0);
        assert_eq!(client.snapshot_info(&vm).await.unwrap(), None);

        let task = client
            .create_snapshot(&vm, &request("forklift-migration-precopy"))
            .await
            .unwrap();
        let first = finish(&client, task.clone()).await;
        let first = first
            .and_then(|v| v.as_moref().cloned())
            .expect("the snapshot");
        assert_eq!(first.kind, "VirtualMachineSnapshot");
        let info = client.task_info(&task).await.unwrap();
        assert_eq!(info.state, TaskState::Success);
        assert_eq!(info.entity.as_ref(), Some(&vm));

        let second = finish(
            &client,
            client
                .create_snapshot(&vm, &request("second"))
                .await
                .unwrap(),
        )
        .await
        .and_then(|v| v.as_moref().cloned())
        .unwrap();

        let tree = client.snapshot_info(&vm).await.unwrap().unwrap();
        assert_eq!(tree.current.as_ref(), Some(&second));
        assert_eq!(tree.roots.len(), 1);
        let root = &tree.roots[0];
        assert_eq!(root.snapshot, first);
        assert_eq!(root.name, "forklift-migration-precopy");
        assert_eq!(root.description, "Forklift Operator warm migration precopy");
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.children[0].snapshot, second);
        assert_eq!(tree.all().len(), 2);
        assert!(tree.find(&second).is_some());

        // The snapshot's own device list is readable (the warm seam).
        let devices = property(&client, &first, "config.hardware.device")
            .await
            .unwrap();
        assert!(
            devices
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d.type_name() == Some("VirtualDisk"))
        );

        finish(
            &client,
            client
                .remove_snapshot(&second, false, Some(true))
                .await
                .unwrap(),
        )
        .await;
        let tree = client.snapshot_info(&vm).await.unwrap().unwrap();
        assert_eq!(tree.all().len(), 1);
        finish(
            &client,
            client
                .remove_snapshot(&first, false, Some(true))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(client.snapshot_info(&vm).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn find_by_uuid_with_bios_and_instance_uuids() {
    bounded("find by uuid", async {
        let (_vcsim, client) = connected().await;
        let vm = vms(&client).await.remove(1);
        let uuid = property(&client, &vm, "config.uuid").await.unwrap();
        let instance = property(&client, &vm, "config.instanceUuid").await.unwrap();
        let by_bios = client
            .find_by_uuid(None, uuid.as_str().unwrap(), true, false)
            .await
            .unwrap();
        assert_eq!(by_bios.as_ref(), Some(&vm));
        let by_instance = client
            .find_by_uuid(None, instance.as_str().unwrap(), true, true)
            .await
            .unwrap();
        assert_eq!(by_instance.as_ref(), Some(&vm));
        let none = client
            .find_by_uuid(None, "00000000-0000-0000-0000-000000000000", true, false)
            .await
            .unwrap();
        assert_eq!(none, None);
    })
    .await;
}

#[tokio::test]
async fn power_off_on_and_guest_shutdown() {
    bounded("power", async {
        let (_vcsim, client) = connected().await;
        let vm = vms(&client).await.remove(0);
        assert_eq!(
            client.power_state(&vm).await.unwrap(),
            PowerState::PoweredOn
        );
        finish(&client, client.power_off_vm(&vm).await.unwrap()).await;
        assert_eq!(
            client.power_state(&vm).await.unwrap(),
            PowerState::PoweredOff
        );

        // Off again: the task fails with the server's fault.
        let task = client.power_off_vm(&vm).await;
        let error = match task {
            Ok(task) => client
                .wait_for_task(&task, Duration::from_secs(30))
                .await
                .unwrap_err(),
            Err(e) => e,
        };
        assert_eq!(
            error.fault_kind(),
            Some(FaultKind::InvalidPowerState),
            "{error}"
        );

        finish(&client, client.power_on_vm(&vm, None).await.unwrap()).await;
        assert_eq!(
            client.power_state(&vm).await.unwrap(),
            PowerState::PoweredOn
        );

        client.shutdown_guest(&vm).await.unwrap();
        // The guest shuts down on its own time: wait for the state, bounded.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while client.power_state(&vm).await.unwrap() != PowerState::PoweredOff {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the guest never shut down"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn changed_block_tracking_queries_are_reported_unsupported() {
    bounded("cbt", async {
        let (_vcsim, client) = connected().await;
        let vm = vms(&client).await.remove(0);
        let error = client
            .query_changed_disk_areas(&vm, None, 204, 0, "*")
            .await
            .unwrap_err();
        assert!(error.is_unsupported(), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn faults_keep_their_name_message_and_detail() {
    bounded("faults", async {
        let (_vcsim, client) = connected().await;
        let ghost = MoRef::new("VirtualMachine", "vm-999999");
        let error = client.power_state(&ghost).await.unwrap_err();
        let Error::Fault { method, fault } = &error else {
            panic!("expected a fault, got {error:?}");
        };
        assert_eq!(method, "RetrievePropertiesEx");
        assert_eq!(fault.name, "ManagedObjectNotFound");
        assert_eq!(
            fault.detail.get("obj").and_then(Value::as_moref),
            Some(&ghost)
        );
        assert!(
            error.to_string().contains("ManagedObjectNotFound"),
            "{error}"
        );

        let vm = vms(&client).await.remove(0);
        let error = client.invoke("NoSuchMethod", &vm, &[]).await.unwrap_err();
        assert!(error.fault().is_some(), "{error:?}");
    })
    .await;
}
