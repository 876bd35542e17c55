//! When a VM that a plan names changes in vCenter (powered on, powered off, renamed,
//! renamed back), the plan is re-validated from the inventory's change alone, every
//! time, with the manager's default settings (the plan controller's 500 ms debounce
//! included). Against vcsim and the embedded API server.
//!
//! It also measures, for `BENCHMARKS.md` (printed, never asserted), how long each step
//! takes: from the change's request to the first inventory change of that VM (vCenter
//! and the collector), and from that inventory change to the Plan's new conditions
//! (the re-validation). Each round makes four changes; `FERRY_REVALIDATION_ROUNDS`
//! (default 2) sets the rounds:
//!
//! ```text
//! FERRY_REVALIDATION_ROUNDS=25 cargo test --release -p ferry-controller \
//!     --test vsphere_revalidation -- --nocapture
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::vsphere::{PlanBed, plan_bed};
use common::{NS, bounded};
use ferry_api::Plan;
use ferry_api::condition::types as t;
use ferry_controller::Settings;
use ferry_inventory::{Inventory, Kind};
use ferry_vim::MoRef;
use futures::StreamExt as _;
use kube::api::Api;
use kube::runtime::watcher;
use tokio::sync::{broadcast, mpsc};

/// The VM the plan names (one of vcsim's default VMs).
const VM: &str = "DC0_H0_VM0";

/// A vcsim Provider, a host Provider, maps over everything and a Plan naming [`VM`];
/// the manager runs with its default plan debounce.
async fn setup() -> PlanBed {
    plan_bed(&[VM], Settings::defaults().unwrap().manager.plan_debounce).await
}

/// The VM's managed object reference, from the inventory.
fn vm_ref(inventory: &dyn Inventory) -> MoRef {
    let id = inventory
        .list(Kind::Vm)
        .unwrap()
        .into_iter()
        .find(|vm| vm.name == VM)
        .map(|vm| vm.id)
        .unwrap_or_else(|| panic!("no VM {VM} in the inventory"));
    MoRef::new("VirtualMachine", id.as_str())
}

/// Every version of the Plan as it arrives on a watch, with the moment it arrived.
fn watch_plan(client: kube::Client) -> mpsc::UnboundedReceiver<(Instant, Plan)> {
    let (send, receive) = mpsc::unbounded_channel();
    let api: Api<Plan> = Api::namespaced(client, NS);
    tokio::spawn(async move {
        let mut stream =
            watcher(api, watcher::Config::default().fields("metadata.name=plan")).boxed();
        while let Some(event) = stream.next().await {
            let plans = match event {
                Ok(watcher::Event::Apply(plan) | watcher::Event::InitApply(plan)) => vec![plan],
                _ => Vec::new(),
            };
            for plan in plans {
                if send.send((Instant::now(), plan)).is_err() {
                    return;
                }
            }
        }
    });
    receive
}

/// The first change of VM `id` on the inventory's feed, and when it arrived.
async fn vm_change(feed: &mut broadcast::Receiver<ferry_inventory::Change>, id: &str) -> Instant {
    loop {
        match feed.recv().await {
            Ok(change) if change.kind == Kind::Vm && change.id == id => return Instant::now(),
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => panic!("the inventory's feed closed"),
        }
    }
}

/// One change and its timings.
struct Step {
    /// To the first inventory change of the VM, from sending the request.
    to_inventory: Duration,
    /// From that inventory change to the Plan's expected conditions.
    to_plan: Duration,
}

/// What the Plan shows once a change was re-validated.
type Expected = dyn Fn(&Plan) -> bool + Sync;

fn ready(plan: &Plan) -> bool {
    plan.status.conditions.is_ready()
}

fn has(condition_type: &'static str) -> impl Fn(&Plan) -> bool {
    move |plan: &Plan| plan.status.conditions.has(&[condition_type])
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_of_a_planned_vm_revalidates_the_plan() {
    let rounds: usize = std::env::var("FERRY_REVALIDATION_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2)
        .max(1);
    let PlanBed {
        bed,
        vcsim: _vcsim,
        client,
        inventory,
    } = setup().await;
    let mut plans = watch_plan(bed.client.clone());
    bounded("plan Ready", async {
        while let Some((_, plan)) = plans.recv().await {
            if ready(&plan) && !plan.status.conditions.has(&[t::GUEST_TOOLS_ISSUE]) {
                return;
            }
        }
        panic!("the Plan watch ended");
    })
    .await;
    let vm = vm_ref(inventory.as_ref());
    let mut steps: Vec<(&str, Step)> = Vec::new();
    for round in 0..rounds {
        let changes: [(&str, &Expected); 4] = [
            ("power on", &has(t::GUEST_TOOLS_ISSUE)),
            ("power off", &ready),
            ("rename", &has(t::VM_NOT_FOUND)),
            ("rename back", &ready),
        ];
        for (what, expected) in changes {
            // Let the previous change's late updates pass, then forget them.
            tokio::time::sleep(Duration::from_millis(300)).await;
            while plans.try_recv().is_ok() {}
            let mut feed = inventory.subscribe();
            let sent = Instant::now();
            let task = match what {
                "power on" => client.power_on_vm(&vm, None).await,
                "power off" => client.power_off_vm(&vm).await,
                "rename" => client.rename(&vm, &format!("renamed-{round}")).await,
                _ => client.rename(&vm, VM).await,
            }
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            let context = format!("round {round}, {what}");
            let arrived = bounded(
                &format!("{context}: the inventory sees the change"),
                vm_change(&mut feed, &vm.value),
            )
            .await;
            let revalidated = bounded(&format!("{context}: the plan is re-validated"), async {
                while let Some((at, plan)) = plans.recv().await {
                    if expected(&plan) {
                        return at;
                    }
                }
                panic!("the Plan watch ended");
            })
            .await;
            client
                .wait_for_task(&task, Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            steps.push((
                what,
                Step {
                    to_inventory: arrived.duration_since(sent),
                    to_plan: revalidated.saturating_duration_since(arrived),
                },
            ));
        }
    }
    assert_eq!(steps.len(), rounds * 4);
    // The figures, for BENCHMARKS.md.
    let mut inventory_times: Vec<Duration> = steps.iter().map(|(_, s)| s.to_inventory).collect();
    let mut plan_times: Vec<Duration> = steps.iter().map(|(_, s)| s.to_plan).collect();
    let mut totals: Vec<Duration> = steps
        .iter()
        .map(|(_, s)| s.to_inventory + s.to_plan)
        .collect();
    for (name, samples) in [
        ("request -> inventory change", &mut inventory_times),
        ("inventory change -> plan re-validated", &mut plan_times),
        ("request -> plan re-validated", &mut totals),
    ] {
        let p50 = percentile(samples, 0.5);
        let p99 = percentile(samples, 0.99);
        let max = samples[samples.len() - 1];
        println!(
            "{name} over {} changes: p50 {p50:?}, p99 {p99:?}, max {max:?}",
            samples.len()
        );
    }
    for what in ["power on", "power off", "rename", "rename back"] {
        let mut of: Vec<Duration> = steps
            .iter()
            .filter(|(w, _)| *w == what)
            .map(|(_, s)| s.to_plan)
            .collect();
        println!(
            "  {what}: inventory change -> plan, p50 {:?}",
            percentile(&mut of, 0.5)
        );
    }
}
