use std::path::PathBuf;
use std::time::Duration;

use ferry_api::condition::{Conditions, ready};
use ferry_api::provider::ProviderSpec;
use ferry_inventory::Problem;

use super::*;
use crate::collectors::OvaShares;
use crate::settings::{CatalogPath, OvaSettings};

fn shares() -> OvaShares {
    OvaShares::new(OvaSettings {
        mount_root: PathBuf::from("/mnt/ova"),
        shares: Vec::new(),
        catalog_path: CatalogPath::Mount("/ova".into()),
        settle: Duration::from_secs(30),
        rescan: Duration::from_secs(10),
    })
}

fn provider(t: Option<&str>, url: &str) -> Provider {
    let mut spec = ProviderSpec {
        r#type: t.map(str::to_string),
        url: url.into(),
        ..ProviderSpec::default()
    };
    spec.secret.namespace = Some("ns".into());
    spec.secret.name = Some("creds".into());
    Provider::new("ns", "p", spec)
}

fn secret(pairs: &[(&str, &str)]) -> SecretView {
    SecretView::Found(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
    )
}

fn run(provider: &Provider, secret: &SecretView, state: &CollectorState) -> Checked {
    let source = source(provider, &shares());
    let mut checked = check(provider, secret, &source);
    connect(provider, &source, state, &mut checked);
    checked
}

fn condition<'a>(checked: &'a Checked, t: &str) -> &'a Condition {
    checked
        .findings
        .get(t)
        .unwrap_or_else(|| panic!("no {t} in {:?}", checked.findings.types()))
}

fn loaded() -> CollectorState {
    CollectorState::Loaded { problems: vec![] }
}

#[test]
fn unknown_types_get_upstreams_message() {
    let checked = run(
        &provider(Some("vmware"), "https://vc/sdk"),
        &secret(&[]),
        &loaded(),
    );
    let c = condition(&checked, types::PROVIDER_TYPE_NOT_SUPPORTED);
    assert_eq!(c.category, category::CRITICAL);
    assert_eq!(c.reason, reason::NOT_SUPPORTED);
    assert_eq!(
        c.message,
        "The `type` must be: [openshift vsphere ovirt openstack ova ec2 hyperv nutanix]"
    );
    assert_eq!(checked.phase, phase::VALIDATION_FAILED);
    let unset = run(&provider(None, "x"), &secret(&[]), &loaded());
    assert!(unset.findings.has(types::PROVIDER_TYPE_NOT_SUPPORTED));
}

#[test]
fn types_ferry_cannot_collect_say_so() {
    for t in ["ovirt", "openstack", "ec2", "hyperv", "nutanix"] {
        let checked = run(
            &provider(Some(t), "https://source/api"),
            &secret(&[]),
            &loaded(),
        );
        let c = condition(&checked, types::PROVIDER_TYPE_NOT_SUPPORTED);
        assert!(c.message.contains(&format!("`{t}`")), "{t}: {}", c.message);
        assert!(!checked.findings.has(types::CONNECTION_TEST_SUCCEEDED));
    }
    let remote = run(
        &provider(Some("openshift"), "https://api.other:6443"),
        &secret(&[("token", "t")]),
        &loaded(),
    );
    assert!(
        condition(&remote, types::PROVIDER_TYPE_NOT_SUPPORTED)
            .message
            .contains("remote OpenShift")
    );
}

#[test]
fn the_host_provider_is_always_connected() {
    let host = Provider::host("openshift-mtv");
    let checked = run(&host, &SecretView::NotNeeded, &CollectorState::Stopped);
    assert_eq!(
        checked.findings.types(),
        [
            types::CONNECTION_TEST_SUCCEEDED,
            types::INVENTORY_CREATED,
            types::VALIDATED
        ]
    );
    assert_eq!(checked.phase, phase::STAGING);
    let mut conditions = Conditions::default();
    conditions.begin_staging();
    let now = ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap();
    conditions.set_all(checked.findings.into_vec(), &now);
    assert!(ready::provider(&conditions).is_some());
}

#[test]
fn urls_per_type() {
    let empty = run(
        &provider(Some("ova"), ""),
        &secret(&[("url", "x")]),
        &loaded(),
    );
    let c = condition(&empty, types::URL_NOT_VALID);
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("Malformed", "The NFS path is malformed"),
        "for OVA the malformed check overwrites NotSet, as upstream"
    );
    let nfs_url = run(
        &provider(Some("ova"), "nfs://server/path"),
        &secret(&[("url", "x")]),
        &loaded(),
    );
    assert_eq!(
        condition(&nfs_url, types::URL_NOT_VALID).reason,
        "Malformed"
    );
    let escape = run(
        &provider(Some("ova"), "nfs.example:/exports/../../etc"),
        &secret(&[("url", "x")]),
        &loaded(),
    );
    assert!(
        condition(&escape, types::URL_NOT_VALID)
            .message
            .contains("cannot be mapped below Ferry's OVA mount root")
    );
    let hyperv = run(&provider(Some("hyperv"), ""), &secret(&[]), &loaded());
    assert_eq!(
        condition(&hyperv, types::URL_NOT_VALID).message,
        "The Hyper-V host address is required (e.g., '192.168.1.100')"
    );
    let vsphere = run(&provider(Some("vsphere"), ""), &secret(&[]), &loaded());
    let c = condition(&vsphere, types::URL_NOT_VALID);
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("NotSet", "The `url` is not valid.")
    );
    let malformed = run(
        &provider(Some("ovirt"), "https://host:port/api"),
        &secret(&[]),
        &loaded(),
    );
    assert_eq!(
        condition(&malformed, types::URL_NOT_VALID).message,
        r#"The `url` is malformed: parse "https://host:port/api": invalid port ":port" after host"#
    );
    assert_eq!(malformed.phase, phase::VALIDATION_FAILED);
}

#[test]
fn nfs_paths_follow_upstreams_expression() {
    for good in ["server:/path", "10.0.0.1:/a/b:c", "h:/x"] {
        assert!(is_valid_nfs_path(good), "{good}");
    }
    for bad in [
        "",
        "server",
        ":/path",
        "server:path",
        "server:/",
        "server:/:x",
        "s:/a\nb",
    ] {
        assert!(!is_valid_nfs_path(bad), "{bad:?}");
    }
}

#[test]
fn secret_references() {
    let mut p = provider(Some("ova"), "nfs:/ova");
    let not_set = run(&p, &SecretView::NotSet, &loaded());
    let c = condition(&not_set, types::SECRET_NOT_VALID);
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("NotSet", "The `secret` is not valid.")
    );
    let not_found = run(&p, &SecretView::NotFound, &loaded());
    assert_eq!(
        condition(&not_found, types::SECRET_NOT_VALID).reason,
        "NotFound"
    );
    assert_eq!(not_found.phase, phase::VALIDATION_FAILED);
    assert!(
        !not_found.findings.has(types::CONNECTION_TEST_SUCCEEDED),
        "no connection test with a blocker"
    );
    p.spec.url = "nfs:/ova".into();
    let ok = run(&p, &secret(&[("url", "nfs:/ova")]), &loaded());
    assert!(!ok.blocked(), "{:?}", ok.findings);
}

#[test]
fn secret_keys_per_type() {
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str], bool);
    let table: &[Row] = &[
        ("openshift", &[], &["token"], false),
        ("openshift", &[("token", "t")], &[], false),
        ("vsphere", &[], &["user", "password", "ca.crt"], false),
        (
            "vsphere",
            &[("user", "u"), ("password", "p"), ("cacert", "pem")],
            &[],
            false,
        ),
        // An empty `ca.crt` is "present", as upstream checks presence only.
        (
            "vsphere",
            &[("user", "u"), ("password", "p"), ("ca.crt", "")],
            &[],
            false,
        ),
        (
            "vsphere",
            &[("insecureSkipVerify", "true")],
            &["user", "password"],
            true,
        ),
        (
            "vsphere",
            &[("insecureSkipVerify", "yes")],
            &["user", "password", "ca.crt"],
            false,
        ),
        (
            "ovirt",
            &[("user", "u"), ("password", "p")],
            &["ca.crt"],
            false,
        ),
        (
            "ovirt",
            &[
                ("user", "u"),
                ("password", "p"),
                ("insecureSkipVerify", "1"),
            ],
            &[],
            true,
        ),
        (
            "nutanix",
            &[("insecureSkipVerify", "True")],
            &["user", "password"],
            true,
        ),
        ("ova", &[], &["url"], false),
        ("ova", &[("url", "x")], &[], false),
        (
            "hyperv",
            &[("smbUrl", "//server/share"), ("insecureSkipVerify", "true")],
            &["username", "password"],
            true,
        ),
        (
            "hyperv",
            &[
                ("username", "u"),
                ("password", "p"),
                ("smbUrl", "smb://s/share"),
            ],
            &["ca.crt"],
            false,
        ),
        ("openstack", &[], &[], false),
        ("ec2", &[], &[], false),
    ];
    for (t, data, missing, insecure) in table {
        let url = if *t == "ova" {
            "nfs:/ova"
        } else {
            "https://source/api"
        };
        let p = provider(Some(t), url);
        let source = source(&p, &shares());
        let checked = check(&p, &secret(data), &source);
        let found = checked.findings.get(types::SECRET_NOT_VALID);
        if missing.is_empty() {
            assert!(found.is_none(), "{t} {data:?}: {found:?}");
        } else {
            let c = found.unwrap_or_else(|| panic!("{t} {data:?}: no SecretNotValid"));
            assert_eq!(c.reason, "DataErr", "{t}");
            assert_eq!(c.items, *missing, "{t} {data:?}");
            assert_eq!(c.message, "The `secret` is not valid.");
        }
        assert_eq!(
            checked.findings.has(types::CONNECTION_INSECURE),
            *insecure,
            "{t} {data:?}"
        );
    }
}

#[test]
fn malformed_smb_urls() {
    let p = provider(Some("hyperv"), "10.0.0.1");
    let source = source(&p, &shares());
    let checked = check(
        &p,
        &secret(&[
            ("username", "u"),
            ("password", "p"),
            ("smbUrl", "server/share"),
        ]),
        &source,
    );
    let c = condition(&checked, types::SECRET_NOT_VALID);
    assert!(
        c.message.starts_with("The smbUrl in secret is malformed."),
        "{}",
        c.message
    );
    for good in [
        "//server/share",
        r"\\server\share",
        "smb://server/share/dir",
    ] {
        assert!(is_valid_smb_path(good), "{good}");
    }
    for bad in [
        "server/share",
        "//server",
        "//server/",
        "//ser ver/share",
        "smb:/x/y",
    ] {
        assert!(!is_valid_smb_path(bad), "{bad}");
    }
}

#[test]
fn secret_values_never_appear_in_conditions() {
    let p = provider(Some("vsphere"), "https://vc/sdk");
    let checked = run(
        &p,
        &secret(&[
            ("password", "hunter2-secret"),
            ("insecureSkipVerify", "hunter2-flag"),
        ]),
        &loaded(),
    );
    let text = format!("{:?}", checked.findings);
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn ova_connection_follows_the_collector() {
    let p = provider(Some("ova"), "nfs.example:/ova");
    let creds = secret(&[("url", "nfs.example:/ova")]);
    let loading = run(&p, &creds, &CollectorState::Loading);
    assert_eq!(
        loading.findings.types(),
        [types::LOAD_INVENTORY, types::VALIDATED]
    );
    let failed = run(
        &p,
        &creds,
        &CollectorState::Failed {
            error: "cannot read the catalog directory '/mnt/ova/nfs.example/ova': No such file or directory (os error 2)".into(),
        },
    );
    let c = condition(&failed, types::CONNECTION_TEST_FAILED);
    assert_eq!(
        (c.category.as_str(), c.reason.as_str()),
        ("Critical", "Tested")
    );
    assert!(
        c.message.starts_with("Connection test, failed: "),
        "{}",
        c.message
    );
    assert_eq!(failed.phase, phase::CONNECTION_FAILED);
    assert!(!failed.findings.has(types::VALIDATED));
    let problems = (0..150)
        .map(|i| Problem {
            subject: format!("/ova/bad-{i}.ova"),
            reason: "DescriptorMalformed",
            message: "the descriptor is not well-formed XML".into(),
        })
        .collect();
    let ok = run(&p, &creds, &CollectorState::Loaded { problems });
    assert!(ok.findings.has(types::CONNECTION_TEST_SUCCEEDED));
    assert!(ok.findings.has(types::INVENTORY_CREATED));
    let c = condition(&ok, types::INVENTORY_ERROR);
    assert_eq!(c.category, category::WARN);
    assert_eq!(c.items.len(), MAX_PROBLEM_ITEMS);
    assert_eq!(c.items[0], "/ova/bad-0.ova: DescriptorMalformed");
    assert!(c.message.starts_with("150 appliance file(s)"));
}

#[test]
fn absurd_input_does_not_panic() {
    let long = "x".repeat(100_000);
    for url in [
        long.as_str(),
        "\u{0}",
        "%",
        "::::",
        "[",
        "https://[",
        "nfs:/\u{202e}evil",
        "ünïcödé:/path",
    ] {
        for t in ["ova", "vsphere", "hyperv", "openshift", "bogus"] {
            let p = provider(Some(t), url);
            let _ = run(&p, &secret(&[("url", url)]), &loaded());
        }
    }
}

#[test]
fn a_reloading_collector_keeps_a_ready_provider_ready() {
    let mut p = provider(Some("ova"), "nfs.example:/ova");
    p.metadata.generation = Some(2);
    p.status.observed_generation = 2;
    let creds = secret(&[("url", "nfs.example:/ova")]);
    let before = run(&p, &creds, &loaded());
    let now = ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap();
    let mut conditions = Conditions::default();
    conditions.begin_staging();
    conditions.set_all(before.findings.into_vec(), &now);
    conditions.end_staging();
    p.status.conditions = Conditions::from(conditions.list);
    let reloading = run(&p, &creds, &CollectorState::Loading);
    assert_eq!(
        reloading.findings.types(),
        [
            types::CONNECTION_TEST_SUCCEEDED,
            types::INVENTORY_CREATED,
            types::VALIDATED
        ]
    );
    // A new generation (say, a new URL) must be tested again.
    p.metadata.generation = Some(3);
    let changed = run(&p, &creds, &CollectorState::Loading);
    assert_eq!(
        changed.findings.types(),
        [types::LOAD_INVENTORY, types::VALIDATED]
    );
}

#[test]
fn the_webhooks_sdk_endpoint_check_is_a_condition() {
    let mut p = provider(Some("vsphere"), "https://vc/sdk");
    let creds = secret(&[
        ("user", "u"),
        ("password", "p"),
        ("insecureSkipVerify", "true"),
    ]);
    for (endpoint, invalid) in [
        ("vcenter", false),
        ("esxi", false),
        ("ESXi", true),
        ("", true),
    ] {
        p.spec
            .settings
            .insert("sdkEndpoint".into(), endpoint.into());
        let checked = run(&p, &creds, &loaded());
        assert_eq!(
            checked.findings.has(types::SETTINGS_NOT_VALID),
            invalid,
            "{endpoint:?}"
        );
    }
    let c = condition(&run(&p, &creds, &loaded()), types::SETTINGS_NOT_VALID).clone();
    assert_eq!(
        c.message,
        "vSphere provider is set with an invalid SDK endpoint type"
    );
    let mut ova = provider(Some("ova"), "nfs:/ova");
    ova.spec
        .settings
        .insert("sdkEndpoint".into(), "anything".into());
    assert!(
        !run(&ova, &secret(&[("url", "x")]), &loaded())
            .findings
            .has(types::SETTINGS_NOT_VALID)
    );
}

fn vsphere_state(
    phase: ferry_inventory::vsphere::CollectorPhase,
    error: Option<ferry_inventory::vsphere::ConnectionError>,
    parity: bool,
) -> CollectorState {
    CollectorState::Vsphere {
        state: ferry_inventory::vsphere::CollectorState {
            phase,
            error,
            fingerprint: Some("AB:CD".into()),
            connections: 1,
        },
        parity,
    }
}

#[test]
fn vsphere_connection_follows_the_collector() {
    use ferry_inventory::vsphere::{CollectorPhase, ConnectionError};
    let p = provider(Some("vsphere"), "https://vc.example/sdk");
    let creds = secret(&[
        ("user", "u"),
        ("password", "p"),
        ("insecureSkipVerify", "true"),
    ]);
    let connecting = run(
        &p,
        &creds,
        &vsphere_state(CollectorPhase::Connecting { attempt: 1 }, None, false),
    );
    assert_eq!(
        connecting.findings.types(),
        [
            types::CONNECTION_INSECURE,
            types::LOAD_INVENTORY,
            types::VALIDATED
        ]
    );
    let loading = run(
        &p,
        &creds,
        &vsphere_state(CollectorPhase::Loading { objects: 3 }, None, false),
    );
    assert!(loading.findings.has(types::CONNECTION_TEST_SUCCEEDED));
    assert!(loading.findings.has(types::LOAD_INVENTORY));
    let ready = run(
        &p,
        &creds,
        &vsphere_state(CollectorPhase::Ready, None, true),
    );
    assert_eq!(
        ready.findings.types(),
        [
            types::CONNECTION_INSECURE,
            types::CONNECTION_TEST_SUCCEEDED,
            types::INVENTORY_CREATED,
            types::VALIDATED
        ]
    );
    assert!(!ready.blocked());
    let auth = run(
        &p,
        &creds,
        &vsphere_state(
            CollectorPhase::Stopped,
            Some(ConnectionError::Auth {
                message: "Login: InvalidLogin: Login failure".into(),
            }),
            false,
        ),
    );
    let c = condition(&auth, types::CONNECTION_AUTH_FAILED);
    assert_eq!(c.category, category::CRITICAL);
    assert_eq!(auth.phase, phase::CONNECTION_FAILED);
    assert!(!auth.findings.has(types::CONNECTION_TEST_SUCCEEDED));
    let lost = run(
        &p,
        &creds,
        &vsphere_state(
            CollectorPhase::Retrying {
                attempt: 2,
                delay: Duration::from_secs(2),
            },
            Some(ConnectionError::Unreachable {
                message: "https://vc.example: connection refused".into(),
            }),
            false,
        ),
    );
    assert_eq!(
        condition(&lost, types::CONNECTION_TEST_FAILED).message,
        "Connection test, failed: https://vc.example: connection refused"
    );
    let refused = run(
        &p,
        &creds,
        &CollectorState::Refused(ConnectionError::Settings {
            message: "the Secret's `cacert` is not PEM".into(),
        }),
    );
    assert!(refused.findings.has(types::CONNECTION_TEST_FAILED));
    assert_eq!(
        fingerprint(&vsphere_state(CollectorPhase::Ready, None, true)).as_deref(),
        Some("AB:CD")
    );
    let tls = CollectorState::Refused(ConnectionError::Tls {
        message: "untrusted".into(),
        fingerprint: Some("EF:01".into()),
    });
    assert_eq!(fingerprint(&tls).as_deref(), Some("EF:01"));
}
