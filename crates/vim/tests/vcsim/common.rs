//! Helpers shared by the tests.

use std::future::Future;
use std::time::Duration;

use ferry_vim::vcsim::{Vcsim, VcsimBuilder};
use ferry_vim::{Client, MoRef, PropertyFilterSpec, PropertySpec, Value};

/// Every test is bounded by this.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a future with the test timeout.
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_TIMEOUT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {TEST_TIMEOUT:?}"),
    }
}

/// Starts vcsim or fails with the reason (e.g. run scripts/test).
pub async fn start(builder: VcsimBuilder) -> Vcsim {
    match builder.start().await {
        Ok(vcsim) => vcsim,
        Err(e) => panic!("{e}"),
    }
}

/// Starts the default model and logs in.
pub async fn connected() -> (Vcsim, Client) {
    let vcsim = start(Vcsim::builder()).await;
    let client = Client::connect(vcsim.config())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    (vcsim, client)
}

/// All objects of `kind` under the root folder, by container view.
pub async fn objects_of(client: &Client, kind: &str) -> Vec<MoRef> {
    let root = client.content().root_folder.clone();
    let view = client
        .create_container_view(&root, &[kind], true)
        .await
        .unwrap();
    let spec = PropertyFilterSpec::for_view(view.clone(), vec![PropertySpec::new(kind, &["name"])]);
    let mut objects: Vec<MoRef> = client
        .retrieve_all(&spec, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.obj)
        .collect();
    client.destroy_view(&view).await.unwrap();
    objects.sort();
    objects
}

/// The VMs of the model, sorted.
pub async fn vms(client: &Client) -> Vec<MoRef> {
    objects_of(client, "VirtualMachine").await
}

/// One property of one object.
pub async fn property(client: &Client, obj: &MoRef, path: &str) -> Option<Value> {
    client
        .retrieve_one(obj, &[path])
        .await
        .unwrap()
        .and_then(|o| o.get(path).cloned())
}

/// Waits for a task with a generous bound.
pub async fn finish(client: &Client, task: MoRef) -> Option<Value> {
    client
        .wait_for_task(&task, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("task {task}: {e}"))
}
