//! Connection tests and their typed outcomes: wrong password, unreachable server,
//! untrusted certificate, pinned fingerprint, wrong kind of server. No secret in any
//! string a Provider status, event or log could show.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_api::provider::{Provider, ProviderSpec};
use ferry_inventory::Inventory;
use ferry_inventory::vsphere::{
    CollectorPhase, ConnectionError, ConnectionSettings, Retry, SdkEndpoint, VsphereInventory,
    test_connection,
};
use ferry_vim::vcsim::Vcsim;

use crate::common::{bounded, config, start};

const WRONG_PASSWORD: &str = "Wr0ng-Passw0rd-do-not-leak";

/// Every rendering of an error a controller could show.
fn renderings(error: &ConnectionError) -> Vec<String> {
    let condition = error.condition();
    vec![
        error.to_string(),
        format!("{error:?}"),
        condition.message.clone(),
        format!("{condition:?}"),
    ]
}

fn assert_no_secret(texts: &[String], secrets: &[&str]) {
    for text in texts {
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
        }
    }
}

fn secret_data(vcsim: &Vcsim, password: &str) -> BTreeMap<String, Vec<u8>> {
    let mut data = BTreeMap::new();
    data.insert("user".to_owned(), vcsim.user().as_bytes().to_vec());
    data.insert("password".to_owned(), password.as_bytes().to_vec());
    if let Some(pem) = vcsim.cert_pem() {
        data.insert("cacert".to_owned(), pem.as_bytes().to_vec());
    }
    data
}

fn provider(url: &str) -> Provider {
    Provider::new(
        "konveyor-forklift",
        "vcsim",
        ProviderSpec {
            r#type: Some("vsphere".into()),
            url: url.into(),
            ..ProviderSpec::default()
        },
    )
}

#[tokio::test]
async fn a_good_provider_tests_ok_and_reports_its_fingerprint() {
    bounded("ok", async {
        let vcsim = start(Vcsim::builder()).await;
        let data = secret_data(&vcsim, vcsim.password().expose());
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        let tested = test_connection(&settings).await.unwrap();
        assert_eq!(tested.fingerprint.as_deref(), vcsim.fingerprint());
        assert!(tested.about.is_vcenter);
        assert!(!tested.about.api_version.is_empty());
        let condition = tested.condition();
        assert_eq!(condition.r#type, "ConnectionTestSucceeded");
        assert_eq!(condition.message, "Connection test, succeeded.");

        // Without the CA but with the recorded fingerprint: accepted, as govmomi does.
        let mut pinned = provider(vcsim.url().as_str());
        pinned.status.fingerprint = vcsim.fingerprint().unwrap().to_owned();
        let mut data = secret_data(&vcsim, vcsim.password().expose());
        data.remove("cacert");
        let settings = ConnectionSettings::from_provider(&pinned, &data).unwrap();
        test_connection(&settings).await.unwrap();

        // insecureSkipVerify.
        data.insert("insecureSkipVerify".into(), b"true".to_vec());
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        test_connection(&settings).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_failure_never_retried() {
    bounded("wrong password", async {
        let vcsim = start(Vcsim::builder()).await;
        let data = secret_data(&vcsim, WRONG_PASSWORD);
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(matches!(error, ConnectionError::Auth { .. }), "{error:?}");
        assert_eq!(error.retry(), Retry::Never);
        let condition = error.condition();
        assert_eq!(condition.r#type, "ConnectionAuthFailed");
        assert!(
            condition
                .message
                .starts_with("Connection auth failed, error: "),
            "{}",
            condition.message
        );
        assert_no_secret(&renderings(&error), &[WRONG_PASSWORD]);

        // The collector tries once and stops.
        let inventory = VsphereInventory::new();
        let task = inventory.spawn(config(settings));
        let mut state = inventory.state();
        tokio::time::timeout(
            Duration::from_secs(30),
            state.wait_for(|s| s.phase == CollectorPhase::Stopped),
        )
        .await
        .unwrap()
        .unwrap();
        let state = inventory.state().borrow().clone();
        assert!(matches!(state.error, Some(ConnectionError::Auth { .. })));
        let status = inventory.status().borrow().clone();
        assert!(!status.parity);
        assert_no_secret(
            &[format!("{status:?}"), format!("{state:?}")],
            &[WRONG_PASSWORD],
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            inventory.state().borrow().connections,
            1,
            "one login, no retries"
        );
        task.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_failed_test_to_retry() {
    bounded("unreachable", async {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut data = BTreeMap::new();
        data.insert("user".to_owned(), b"u".to_vec());
        data.insert("password".to_owned(), WRONG_PASSWORD.as_bytes().to_vec());
        data.insert("insecureSkipVerify".to_owned(), b"true".to_vec());
        let url = format!("https://127.0.0.1:{port}/sdk");
        let settings = ConnectionSettings::from_provider(&provider(&url), &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(
            matches!(error, ConnectionError::Unreachable { .. }),
            "{error:?}"
        );
        assert!(matches!(error.retry(), Retry::After(_)));
        let condition = error.condition();
        assert_eq!(condition.r#type, "ConnectionTestFailed");
        assert!(condition.message.starts_with("Connection test, failed: "));
        assert!(
            condition.message.contains(&port.to_string()),
            "{}",
            condition.message
        );
        assert_no_secret(&renderings(&error), &[WRONG_PASSWORD]);

        // The collector keeps trying (with backoff) and says why.
        let inventory = VsphereInventory::new();
        let _task = inventory.spawn(config(settings));
        let mut status = inventory.status();
        tokio::time::timeout(
            Duration::from_secs(30),
            status.wait_for(|s| s.error.is_some()),
        )
        .await
        .unwrap()
        .unwrap();
        let mut state = inventory.state();
        tokio::time::timeout(
            Duration::from_secs(30),
            state.wait_for(
                |s| matches!(s.phase, CollectorPhase::Retrying { attempt, .. } if attempt >= 2),
            ),
        )
        .await
        .unwrap()
        .unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails_with_its_fingerprint() {
    bounded("untrusted", async {
        let vcsim = start(Vcsim::builder()).await;
        let mut data = secret_data(&vcsim, vcsim.password().expose());
        data.remove("cacert");
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(matches!(error, ConnectionError::Tls { .. }), "{error:?}");
        assert_eq!(error.fingerprint(), vcsim.fingerprint());
        assert!(
            error.to_string().contains("cacert"),
            "says what to do: {error}"
        );
        assert_no_secret(&renderings(&error), &[vcsim.password().expose()]);

        // A pinned fingerprint that is not the server's.
        let mut pinned = provider(vcsim.url().as_str());
        pinned.status.fingerprint =
            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33".into();
        let settings = ConnectionSettings::from_provider(&pinned, &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(matches!(error, ConnectionError::Tls { .. }), "{error:?}");
        assert_eq!(error.fingerprint(), vcsim.fingerprint());

        // Another server's certificate as the CA.
        let other = start(Vcsim::builder()).await;
        data.insert(
            "cacert".into(),
            other.cert_pem().unwrap().as_bytes().to_vec(),
        );
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(matches!(error, ConnectionError::Tls { .. }), "{error:?}");

        // A CA that is not PEM: the settings are wrong, not the server.
        data.insert(
            "cacert".into(),
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_vec(),
        );
        let settings =
            ConnectionSettings::from_provider(&provider(vcsim.url().as_str()), &data).unwrap();
        let error = test_connection(&settings).await.unwrap_err();
        assert!(
            matches!(error, ConnectionError::Settings { .. }),
            "{error:?}"
        );
        assert_eq!(error.retry(), Retry::Never);
    })
    .await;
}

#[tokio::test]
async fn the_sdk_endpoint_must_match_the_server() {
    bounded("server type", async {
        let esx = start(Vcsim::builder().arg("-esx")).await;
        let mut settings = ConnectionSettings::new(esx.config());
        settings.sdk_endpoint = SdkEndpoint::VCenter;
        let error = test_connection(&settings).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "provider sdkEndpoint is set to vCenter but the URL points to an ESXi host"
        );
        assert_eq!(error.retry(), Retry::Never);
        settings.sdk_endpoint = SdkEndpoint::Esxi;
        let tested = test_connection(&settings).await.unwrap();
        assert!(!tested.about.is_vcenter);

        let vcenter = start(Vcsim::builder()).await;
        let mut settings = ConnectionSettings::new(vcenter.config());
        settings.sdk_endpoint = SdkEndpoint::Esxi;
        let error = test_connection(&settings).await.unwrap_err();
        assert_eq!(
            error.condition().message,
            "Connection test, failed: provider sdkEndpoint is set to ESXi but the URL points to a vCenter server"
        );

        // An ESXi host's inventory loads too.
        let mut settings = ConnectionSettings::new(esx.config());
        settings.sdk_endpoint = SdkEndpoint::Esxi;
        let (inventory, _task) = crate::common::collect_with(config(settings)).await;
        assert!(!inventory.snapshot().vms.is_empty());
        assert!(inventory.status().borrow().parity);
    })
    .await;
}
