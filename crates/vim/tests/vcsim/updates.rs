//! WaitForUpdatesEx through UpdateWatch: changes made through the API arrive,
//! truncated batches, cancel, and recovery after the session is lost.

use std::collections::BTreeSet;

use ferry_vim::{
    Client, DataObject, FaultKind, MoRef, ObjectUpdate, PropertyFilterSpec, PropertySpec,
    UpdateKind, UpdateWatch, Value, WaitOptions, forklift,
};

use crate::common::{bounded, connected, finish, property, vms};

const VM_PATHS: &[&str] = &[
    "name",
    "runtime.powerState",
    "config.hardware.memoryMB",
    "config.changeVersion",
];

async fn vm_watch(client: &Client, options: WaitOptions) -> UpdateWatch {
    let root = client.content().root_folder.clone();
    let view = client
        .create_container_view(&root, &["VirtualMachine"], true)
        .await
        .unwrap();
    let spec =
        PropertyFilterSpec::for_view(view, vec![PropertySpec::new("VirtualMachine", VM_PATHS)]);
    UpdateWatch::new(client.clone(), spec, options)
}

/// Reads batches until one holds an update of `vm` that `wanted` accepts.
async fn wait_for(
    watch: &mut UpdateWatch,
    vm: &MoRef,
    wanted: impl Fn(&ObjectUpdate) -> bool,
) -> ObjectUpdate {
    loop {
        let Some(batch) = watch.next().await.unwrap() else {
            continue;
        };
        if let Some(update) = batch
            .update
            .object_updates()
            .find(|u| u.obj == *vm && wanted(u))
        {
            return update.clone();
        }
    }
}

fn change<'a>(update: &'a ObjectUpdate, name: &str) -> Option<&'a Value> {
    update
        .changes
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.value.as_ref())
}

#[tokio::test]
async fn updates_follow_power_rename_reconfigure_and_destroy() {
    bounded("updates", async {
        let (_vcsim, client) = connected().await;
        let vms = vms(&client).await;
        let mut watch = vm_watch(&client, WaitOptions::default()).await;

        // The first answer replays everything as `enter`.
        let first = watch.next().await.unwrap().expect("an initial state");
        assert!(first.resync);
        assert!(!first.update.truncated);
        let entered: BTreeSet<MoRef> = first
            .update
            .object_updates()
            .filter(|u| u.kind == UpdateKind::Enter)
            .map(|u| u.obj.clone())
            .collect();
        assert_eq!(entered, vms.iter().cloned().collect());
        assert_ne!(watch.version(), "");

        let vm = vms[0].clone();
        finish(&client, client.power_off_vm(&vm).await.unwrap()).await;
        let update = wait_for(&mut watch, &vm, |u| {
            change(u, "runtime.powerState").is_some()
        })
        .await;
        assert_eq!(update.kind, UpdateKind::Modify);
        assert_eq!(
            change(&update, "runtime.powerState").and_then(Value::as_str),
            Some("poweredOff")
        );

        finish(&client, client.rename(&vm, "renamed/ü VM").await.unwrap()).await;
        let update = wait_for(&mut watch, &vm, |u| change(u, "name").is_some()).await;
        assert_eq!(
            change(&update, "name").and_then(Value::as_str),
            Some("renamed/ü VM")
        );

        let old_version = property(&client, &vm, "config.changeVersion").await;
        let spec = DataObject::new("VirtualMachineConfigSpec").with("memoryMB", Value::Int(64));
        finish(&client, client.reconfigure_vm(&vm, spec).await.unwrap()).await;
        // vcsim reports a reconfigure through config.changeVersion (and, where
        // it implements it, the changed property itself).
        let update = wait_for(&mut watch, &vm, |u| {
            change(u, "config.changeVersion").is_some()
                || change(u, "config.hardware.memoryMB").is_some()
        })
        .await;
        assert_ne!(
            change(&update, "config.changeVersion").cloned(),
            old_version
        );
        assert_eq!(
            property(&client, &vm, "config.hardware.memoryMB")
                .await
                .and_then(|v| v.as_i64()),
            Some(64)
        );

        finish(&client, client.destroy(&vm).await.unwrap()).await;
        let update = wait_for(&mut watch, &vm, |u| u.kind == UpdateKind::Leave).await;
        assert!(update.changes.is_empty());
        watch.close().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn small_max_object_updates_truncate_the_initial_state() {
    bounded("truncated", async {
        let (_vcsim, client) = connected().await;
        let spec =
            forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
        let all = client.retrieve_all(&spec, 1000).await.unwrap();
        let options = WaitOptions {
            max_object_updates: Some(3),
            ..WaitOptions::default()
        };
        let mut watch = UpdateWatch::new(client.clone(), spec, options);
        let mut seen = Vec::new();
        let mut batches = 0;
        loop {
            let batch = watch.next().await.unwrap().expect("a batch");
            batches += 1;
            let updates: Vec<_> = batch.update.object_updates().collect();
            assert!(updates.len() <= 3, "{} updates", updates.len());
            seen.extend(updates.iter().map(|u| u.obj.clone()));
            if !batch.update.truncated {
                break;
            }
        }
        assert!(batches > 2, "{batches} batches");
        assert_eq!(seen.len(), all.len());
        assert_eq!(
            seen.into_iter().collect::<BTreeSet<_>>(),
            all.into_iter().map(|o| o.obj).collect::<BTreeSet<_>>()
        );
    })
    .await;
}

#[tokio::test]
async fn a_quiet_wait_returns_none_after_max_wait() {
    bounded("quiet", async {
        let (_vcsim, client) = connected().await;
        let options = WaitOptions {
            max_wait_seconds: Some(1),
            max_object_updates: None,
        };
        let mut watch = vm_watch(&client, options).await;
        assert!(watch.next().await.unwrap().is_some());
        assert!(watch.next().await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn cancel_wait_for_updates_ends_a_pending_wait() {
    bounded("cancel", async {
        let (_vcsim, client) = connected().await;
        let collector = client.create_property_collector().await.unwrap();
        let spec = PropertyFilterSpec::for_objects(
            &vms(&client).await,
            vec![PropertySpec::new("VirtualMachine", &["name"])],
        );
        let filter = client
            .create_filter(&collector, &spec, false)
            .await
            .unwrap();
        let initial = client
            .wait_for_updates(&collector, "", WaitOptions::default())
            .await
            .unwrap()
            .unwrap();
        let waiter = {
            let client = client.clone();
            let collector = collector.clone();
            let version = initial.version.clone();
            tokio::spawn(async move {
                let options = WaitOptions {
                    max_wait_seconds: Some(60),
                    max_object_updates: None,
                };
                client.wait_for_updates(&collector, &version, options).await
            })
        };
        // Cancel until the waiter sees it (it may not have been sent yet).
        let result = loop {
            client.cancel_wait_for_updates(&collector).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if waiter.is_finished() {
                break waiter.await.unwrap();
            }
        };
        let error = result.unwrap_err();
        assert_eq!(
            error.fault_kind(),
            Some(FaultKind::RequestCanceled),
            "{error}"
        );
        client.destroy_property_filter(&filter).await.unwrap();
        client.destroy_property_collector(&collector).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn the_watch_resyncs_after_the_session_is_terminated() {
    bounded("resync", async {
        let (vcsim, client) = connected().await;
        let options = WaitOptions {
            max_wait_seconds: Some(1),
            max_object_updates: None,
        };
        // From the root folder, as Forklift: a view would die with the session.
        let spec =
            forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
        let objects = client.retrieve_all(&spec, 1000).await.unwrap().len();
        let mut watch = UpdateWatch::new(client.clone(), spec, options);
        let first = watch.next().await.unwrap().unwrap();
        assert!(first.resync);

        let admin = Client::connect(vcsim.config()).await.unwrap();
        let key = client.session().unwrap().key;
        admin
            .invoke(
                "TerminateSession",
                &admin.content().session_manager,
                &[("sessionId", Value::from(key.expose()))],
            )
            .await
            .unwrap();

        // The next answers: possibly a timeout, then the full state again,
        // flagged as a resync, from a recreated collector.
        let batch = loop {
            if let Some(batch) = watch.next().await.unwrap() {
                break batch;
            }
        };
        assert!(batch.resync);
        assert_eq!(client.session_generation(), 2);
        assert_eq!(
            batch
                .update
                .object_updates()
                .filter(|u| u.kind == UpdateKind::Enter)
                .count(),
            objects
        );
    })
    .await;
}
