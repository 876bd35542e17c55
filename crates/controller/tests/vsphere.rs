//! vSphere Providers, Hosts and Plans through the manager, against vcsim started per
//! test on a free port: a Provider becomes Ready with its certificate's fingerprint and
//! its inventory; wrong passwords, unreachable URLs and untrusted certificates get clear
//! conditions without secrets; a vCenter that goes away shows on the Provider and is
//! followed again; a change in vCenter re-validates the plans that name the VM; ESXi
//! Host CRs are checked against the inventory and logged in to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::vsphere::{PlanBed, plan_bed, vcsim_provider, vsphere};
use common::{Bed, NS, bounded, condition, events_about, reference, types};
use ferry_api::condition::types as t;
use ferry_api::host::HostSpec;
use ferry_api::provider::phase;
use ferry_api::{Host, Plan, Provider};
use ferry_controller::collectors::CollectorState;
use ferry_inventory::Kind;
use ferry_vim::vcsim::{Vcsim, VcsimBuilder};
use ferry_vim::{Client, DataObject, MoRef, Value};
use kube::api::{Api, Patch, PatchParams};

async fn start(builder: VcsimBuilder) -> Vcsim {
    builder.start().await.unwrap_or_else(|e| panic!("{e}"))
}

fn phase_is(p: &'static str) -> impl Fn(&Provider) -> bool {
    move |provider: &Provider| provider.status.phase == p
}

fn has(condition_type: &'static str) -> impl Fn(&Provider) -> bool {
    move |provider: &Provider| provider.status.conditions.has(&[condition_type])
}

/// The Provider, its status, Events and the manager's requests never carry `secret`.
async fn assert_no_secret(bed: &Bed, name: &str, secret: &str) {
    let provider: Provider = bed.api().get(name).await.unwrap();
    let status = serde_json::to_string(&provider.status).unwrap();
    assert!(!status.contains(secret), "secret in status: {status}");
    for (_, reason, note) in events_about(&bed.client, name).await {
        assert!(!note.contains(secret), "secret in Event {reason}: {note}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vsphere_provider_becomes_ready_against_vcsim() {
    let vcsim = start(Vcsim::builder()).await;
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    let created = vcsim_provider(&bed, &vcsim, ("cacert", vcsim.cert_pem().unwrap())).await;
    let provider: Provider = bed
        .wait("vc", "provider Ready", phase_is(phase::READY))
        .await;
    assert_eq!(
        types(&provider.status.conditions),
        [
            t::CONNECTION_TEST_SUCCEEDED,
            t::INVENTORY_CREATED,
            t::READY,
            t::VALIDATED
        ]
    );
    assert_eq!(
        Some(provider.status.fingerprint.as_str()),
        vcsim.fingerprint(),
        "status.fingerprint is the served certificate's"
    );
    // The inventory is registered under the provider's UID, with vcsim's four VMs.
    let inventory = bed
        .manager()
        .collectors()
        .inventory(created.uid())
        .expect("registered inventory");
    assert_eq!(inventory.list(Kind::Vm).unwrap().len(), 4);
    assert_no_secret(&bed, "vc", vcsim.password().expose()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_unreachable_servers_and_untrusted_certificates_say_so() {
    let vcsim = start(Vcsim::builder()).await;
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    let password = vcsim.password().expose().to_string();
    let url = vcsim.url().to_string();

    // A wrong password: ConnectionAuthFailed, and no retry until the Secret changes.
    bed.secret(
        "wrong",
        &[
            ("user", vcsim.user()),
            ("password", "not-the-Passw0rd-xyz"),
            ("insecureSkipVerify", "true"),
        ],
    )
    .await;
    let created = bed.create(&vsphere("wrong", &url, "wrong")).await;
    let provider: Provider = bed
        .wait(
            "wrong",
            "ConnectionAuthFailed",
            has(t::CONNECTION_AUTH_FAILED),
        )
        .await;
    let auth = condition(&provider.status.conditions, t::CONNECTION_AUTH_FAILED).unwrap();
    assert_eq!(auth.category, "Critical");
    assert!(
        auth.message.starts_with("Connection auth failed, error: "),
        "{}",
        auth.message
    );
    assert_eq!(provider.status.phase, phase::CONNECTION_FAILED);
    match bed.manager().collectors().state(created.uid()) {
        CollectorState::Vsphere { state, .. } => {
            assert_eq!(
                state.phase,
                ferry_inventory::vsphere::CollectorPhase::Stopped
            );
            assert_eq!(state.connections, 1, "one login, not a retry loop");
        }
        other => panic!("unexpected collector state {other:?}"),
    }
    assert_no_secret(&bed, "wrong", "not-the-Passw0rd-xyz").await;
    // The right password in the Secret: the collector starts over and the provider is Ready.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = bed.api();
    secrets
        .patch(
            "wrong",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "stringData": { "password": password } })),
        )
        .await
        .unwrap();
    let provider: Provider = bed
        .wait("wrong", "Ready after the fix", phase_is(phase::READY))
        .await;
    assert!(!provider.status.conditions.has(&[t::CONNECTION_AUTH_FAILED]));

    // Nothing listens: ConnectionTestFailed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    bed.secret(
        "down",
        &[
            ("user", "u"),
            ("password", "unreachable-Passw0rd"),
            ("insecureSkipVerify", "true"),
        ],
    )
    .await;
    bed.create(&vsphere(
        "down",
        &format!("https://127.0.0.1:{port}/sdk"),
        "down",
    ))
    .await;
    let provider: Provider = bed
        .wait(
            "down",
            "ConnectionTestFailed",
            has(t::CONNECTION_TEST_FAILED),
        )
        .await;
    let failed = condition(&provider.status.conditions, t::CONNECTION_TEST_FAILED).unwrap();
    assert!(
        failed.message.starts_with("Connection test, failed: "),
        "{}",
        failed.message
    );
    assert!(!provider.status.conditions.is_ready());

    // A self-signed certificate that the Secret's CA does not vouch for.
    let other_ca = rcgen::generate_simple_self_signed(vec!["other.example".into()])
        .unwrap()
        .cert
        .pem();
    bed.secret(
        "untrusted",
        &[
            ("user", vcsim.user()),
            ("password", &password),
            ("cacert", &other_ca),
        ],
    )
    .await;
    bed.create(&vsphere("untrusted", &url, "untrusted")).await;
    let provider: Provider = bed
        .wait("untrusted", "TLS refused", has(t::CONNECTION_TEST_FAILED))
        .await;
    let failed = condition(&provider.status.conditions, t::CONNECTION_TEST_FAILED).unwrap();
    assert!(
        failed.message.contains("certificate"),
        "the message says it is the certificate: {}",
        failed.message
    );
    assert_eq!(
        Some(provider.status.fingerprint.as_str()),
        vcsim.fingerprint(),
        "the refused certificate's fingerprint is recorded"
    );
    // Neither a CA nor insecureSkipVerify: the Secret lacks `ca.crt` (upstream's check).
    bed.secret("no-ca", &[("user", vcsim.user()), ("password", &password)])
        .await;
    bed.create(&vsphere("no-ca", &url, "no-ca")).await;
    let provider: Provider = bed
        .wait("no-ca", "SecretNotValid", has(t::SECRET_NOT_VALID))
        .await;
    let c = condition(&provider.status.conditions, t::SECRET_NOT_VALID).unwrap();
    assert_eq!(c.items, ["ca.crt"]);
    for name in ["untrusted", "no-ca"] {
        assert_no_secret(&bed, name, &password).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vcenter_that_goes_away_shows_on_the_provider_and_comes_back() {
    let vcsim = start(Vcsim::builder()).await;
    let port = vcsim.url().port().unwrap();
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    // The restarted simulator serves a new certificate.
    vcsim_provider(&bed, &vcsim, ("insecureSkipVerify", "true")).await;
    bed.wait("vc", "provider Ready", phase_is(phase::READY))
        .await;
    vcsim.stop().await;
    let provider: Provider = bed
        .wait(
            "vc",
            "the lost connection shows",
            has(t::CONNECTION_TEST_FAILED),
        )
        .await;
    assert!(!provider.status.conditions.is_ready());
    assert_eq!(provider.status.phase, phase::CONNECTION_FAILED);
    let vcsim = start(Vcsim::builder().arg(format!("-l=127.0.0.1:{port}"))).await;
    let provider: Provider = bed.wait("vc", "Ready again", phase_is(phase::READY)).await;
    assert!(!provider.status.conditions.has(&[t::CONNECTION_TEST_FAILED]));
    assert_eq!(
        Some(provider.status.fingerprint.as_str()),
        vcsim.fingerprint(),
        "the new certificate's fingerprint"
    );
}

async fn vm_id(client: &Client, name: &str) -> MoRef {
    let all = client
        .retrieve_all(
            &ferry_vim::forklift::inventory_filter(&client.content().root_folder, "6.7"),
            100,
        )
        .await
        .unwrap();
    all.into_iter()
        .find(|o| {
            o.obj.kind == "VirtualMachine" && o.get("name").and_then(|v| v.as_str()) == Some(name)
        })
        .map(|o| o.obj)
        .unwrap_or_else(|| panic!("no VM {name}"))
}

async fn finish(client: &Client, task: MoRef) {
    client
        .wait_for_task(&task, Duration::from_secs(30))
        .await
        .unwrap();
}

fn plan_has(condition_type: &'static str) -> impl Fn(&Plan) -> bool {
    move |plan: &Plan| plan.status.conditions.has(&[condition_type])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_vcenter_revalidates_the_plan_without_polling() {
    let vm = "DC0_H0_VM0";
    let PlanBed {
        bed, vcsim, client, ..
    } = plan_bed(&[vm], Duration::from_millis(50)).await;
    let plan: Plan = bed
        .wait("plan", "plan Ready", |p: &Plan| {
            p.status.conditions.is_ready()
        })
        .await;
    assert!(!plan.status.conditions.has(&[t::GUEST_TOOLS_ISSUE]));
    let moref = vm_id(&client, vm).await;

    // Powered on without tools: GuestToolsIssue, from the inventory's change alone.
    finish(&client, client.power_on_vm(&moref, None).await.unwrap()).await;
    let plan: Plan = bed
        .wait(
            "plan",
            "GuestToolsIssue after power on",
            plan_has(t::GUEST_TOOLS_ISSUE),
        )
        .await;
    assert!(!plan.status.conditions.is_ready());
    finish(&client, client.power_off_vm(&moref).await.unwrap()).await;
    bed.wait("plan", "Ready after power off", |p: &Plan| {
        p.status.conditions.is_ready()
    })
    .await;

    // A disk added (a configuration change vcsim reports only through
    // `config.changeVersion`): the plan is reconciled again.
    bed.settle(Duration::from_millis(300)).await;
    let before = bed.manager().metrics().reconcile_count("plan");
    let disk = {
        let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
            .with("fileName", Value::Text(String::new()))
            .with("diskMode", Value::Text("persistent".into()))
            .with("thinProvisioned", Value::Bool(true));
        let device = DataObject::new("VirtualDisk")
            .with("key", Value::Int(-101))
            .with("backing", Value::Object(backing))
            .with("controllerKey", Value::Int(202))
            .with("unitNumber", Value::Int(1))
            .with("capacityInKB", Value::Int(2048));
        DataObject::new("VirtualDeviceConfigSpec")
            .with("operation", Value::Text("add".into()))
            .with("fileOperation", Value::Text("create".into()))
            .with("device", Value::Object(device))
    };
    let spec =
        DataObject::new("VirtualMachineConfigSpec").with("deviceChange", Value::Object(disk));
    finish(&client, client.reconfigure_vm(&moref, spec).await.unwrap()).await;
    bounded("a reconcile after the disk was added", async {
        while bed.manager().metrics().reconcile_count("plan") <= before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    // Renamed: the plan names the VM by name, so it is not found any more.
    finish(&client, client.rename(&moref, "renamed-vm").await.unwrap()).await;
    bed.wait("plan", "VMNotFound after rename", plan_has(t::VM_NOT_FOUND))
        .await;
    finish(&client, client.rename(&moref, vm).await.unwrap()).await;
    bed.wait("plan", "found again", |p: &Plan| {
        p.status.conditions.is_ready()
    })
    .await;

    // Destroyed.
    finish(&client, client.destroy(&moref).await.unwrap()).await;
    bed.wait(
        "plan",
        "VMNotFound after destroy",
        plan_has(t::VM_NOT_FOUND),
    )
    .await;
    drop(vcsim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esxi_hosts_are_resolved_checked_and_logged_in_to() {
    let vcsim = start(Vcsim::builder()).await;
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    vcsim_provider(&bed, &vcsim, ("insecureSkipVerify", "true")).await;
    bed.wait("vc", "provider Ready", phase_is(phase::READY))
        .await;
    // vcsim is no ESXi host, but it logs in the same way; its hosts' VMkernel adapters
    // have 127.0.0.1.
    let address = format!("127.0.0.1:{}", vcsim.url().port().unwrap());
    let host = |name: &str, host_name: &str, secret: &str| {
        Host::new(
            NS,
            name,
            HostSpec {
                name: host_name.into(),
                ip_address: address.clone(),
                provider: reference("vc"),
                secret: reference(secret),
                ..HostSpec::default()
            },
        )
    };
    bed.secret(
        "esx-creds",
        &[
            ("user", vcsim.user()),
            ("password", vcsim.password().expose()),
            ("insecureSkipVerify", "true"),
        ],
    )
    .await;
    bed.create(&host("esx", "DC0_C0_H0", "esx-creds")).await;
    let ready: Host = bed
        .wait("esx", "Host Ready", |h: &Host| {
            h.status.conditions.is_ready()
        })
        .await;
    assert!(
        ready
            .status
            .conditions
            .has(&[t::CONNECTION_TEST_SUCCEEDED, t::VALIDATED])
    );
    bed.create(&host("ghost", "no-such-host", "esx-creds"))
        .await;
    let ghost: Host = bed
        .wait("ghost", "RefNotValid", |h: &Host| {
            h.status.conditions.has(&[t::REF_NOT_VALID])
        })
        .await;
    let c = condition(&ghost.status.conditions, t::REF_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("NotFound", "Referenced host not found.")
    );
    bed.secret(
        "esx-wrong",
        &[
            ("user", vcsim.user()),
            ("password", "wrong-esx-Passw0rd"),
            ("insecureSkipVerify", "true"),
        ],
    )
    .await;
    bed.create(&host("wrong", "DC0_C0_H1", "esx-wrong")).await;
    let wrong: Host = bed
        .wait("wrong", "ConnectionTestFailed", |h: &Host| {
            h.status.conditions.has(&[t::CONNECTION_TEST_FAILED])
        })
        .await;
    let c = condition(&wrong.status.conditions, t::CONNECTION_TEST_FAILED).unwrap();
    assert!(
        c.message
            .starts_with("Could not connect to the ESXi host, please check credentials. Error: "),
        "{}",
        c.message
    );
    assert!(!c.message.contains("wrong-esx-Passw0rd"));
    bounded("no secret in Events", async {
        for (_, _, note) in events_about(&bed.client, "wrong").await {
            assert!(!note.contains("wrong-esx-Passw0rd"));
        }
    })
    .await;
}
