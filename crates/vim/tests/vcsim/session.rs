//! Login, credentials, TLS trust, fingerprints and session renewal.

use std::time::Duration;

use ferry_vim::vcsim::Vcsim;
use ferry_vim::{Client, ConnectConfig, Error, FaultKind, MoRef, TlsFailure, Value};

use crate::common::{bounded, connected, start};

#[tokio::test]
async fn login_with_the_right_credentials() {
    bounded("login", async {
        let (vcsim, client) = connected().await;
        let session = client.session().expect("a session");
        assert_eq!(session.user_name, vcsim.user());
        assert!(client.about().is_vcenter());
        assert_eq!(client.about().api_type, "VirtualCenter");
        assert!(!client.about().instance_uuid.is_empty());
        assert_eq!(
            client.content().root_folder,
            MoRef::new("Folder", "group-d1")
        );
        assert_eq!(client.session_generation(), 1);
        // Neither the password nor the session key shows in Debug output.
        let debug = format!("{client:?}");
        assert!(!debug.contains(vcsim.password().expose()));
        assert!(!debug.contains(session.key.expose()));
        // The session works, then ends.
        client.keep_alive().await.unwrap();
        client.logout().await.unwrap();
        assert!(client.session().is_none());
    })
    .await;
}

#[tokio::test]
async fn wrong_password_is_invalid_login_and_tells_no_secret() {
    bounded("wrong password", async {
        let vcsim = start(Vcsim::builder()).await;
        let password = "Wr0ng-Pa55word-4711";
        let config = ConnectConfig {
            password: password.into(),
            ..vcsim.config()
        };
        let error = Client::connect(config).await.unwrap_err();
        assert_eq!(error.fault_kind(), Some(FaultKind::InvalidLogin), "{error}");
        assert!(error.is_auth_failure());
        assert!(!error.is_connection_failure());
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(password), "{text}");
            assert!(!text.contains(vcsim.password().expose()), "{text}");
        }
        assert!(error.to_string().contains("InvalidLogin"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_empty_user_is_refused_as_invalid_login() {
    bounded("empty user", async {
        let vcsim = start(Vcsim::builder()).await;
        let config = ConnectConfig {
            user: String::new(),
            ..vcsim.config()
        };
        let error = Client::connect(config).await.unwrap_err();
        assert_eq!(error.fault_kind(), Some(FaultKind::InvalidLogin), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_url_is_a_connection_error() {
    bounded("unreachable", async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let config =
            ConnectConfig::new(&format!("https://127.0.0.1:{port}/sdk"), "u", "p").unwrap();
        let error = Client::connect(config).await.unwrap_err();
        assert!(matches!(error, Error::Connect { .. }), "{error:?}");
        assert!(error.is_connection_failure());
        assert!(error.to_string().contains(&port.to_string()), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_untrusted_self_signed_certificate_is_a_tls_error() {
    bounded("untrusted", async {
        let vcsim = start(Vcsim::builder()).await;
        let config = ConnectConfig {
            ca_pem: None,
            ..vcsim.config()
        };
        let error = Client::connect(config).await.unwrap_err();
        match &error {
            Error::Tls {
                kind: TlsFailure::Untrusted { fingerprint, .. },
                ..
            } => assert_eq!(Some(fingerprint.as_str()), vcsim.fingerprint()),
            other => panic!("expected an untrusted-certificate error, got {other:?}"),
        }
        assert!(error.is_connection_failure());
        assert!(error.to_string().contains("insecureSkipVerify"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn another_servers_cacert_does_not_trust_this_one() {
    bounded("wrong cacert", async {
        let vcsim = start(Vcsim::builder()).await;
        let other = start(Vcsim::builder()).await;
        let config = vcsim
            .config()
            .with_ca_pem(other.cert_pem().expect("a certificate"));
        let error = Client::connect(config).await.unwrap_err();
        assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn insecure_skip_verify_accepts_the_certificate_and_records_it() {
    bounded("insecure", async {
        let vcsim = start(Vcsim::builder()).await;
        let config = ConnectConfig {
            ca_pem: None,
            ..vcsim.config()
        }
        .with_insecure_skip_verify(true);
        let client = Client::connect(config).await.unwrap();
        assert_eq!(client.server_fingerprint().as_deref(), vcsim.fingerprint());
    })
    .await;
}

#[tokio::test]
async fn a_pinned_fingerprint_trusts_exactly_that_certificate() {
    bounded("pinned", async {
        let vcsim = start(Vcsim::builder()).await;
        let fingerprint = vcsim.fingerprint().expect("a fingerprint").to_lowercase();
        let config = ConnectConfig {
            ca_pem: None,
            ..vcsim.config()
        };
        let pinned = config.clone().with_fingerprint(&fingerprint).unwrap();
        Client::connect(pinned).await.unwrap();

        let wrong = config
            .with_fingerprint("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33")
            .unwrap();
        let error = Client::connect(wrong).await.unwrap_err();
        match error {
            Error::Tls {
                kind: TlsFailure::FingerprintMismatch { expected, actual },
                ..
            } => {
                assert_eq!(
                    expected,
                    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
                );
                assert_eq!(Some(actual.as_str()), vcsim.fingerprint());
            }
            other => panic!("expected a fingerprint mismatch, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn the_fingerprint_is_what_openssl_reports() {
    bounded("openssl", async {
        let (vcsim, client) = connected().await;
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("cert.pem");
        std::fs::write(&pem, vcsim.cert_pem().unwrap()).unwrap();
        let output = tokio::process::Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&pem)
            .output()
            .await
            .expect("openssl is needed for this test (apt-get install openssl)");
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let openssl = text.trim().rsplit('=').next().unwrap().to_owned();
        assert_eq!(client.server_fingerprint(), Some(openssl));
    })
    .await;
}

#[tokio::test]
async fn a_terminated_session_is_renewed_transparently() {
    bounded("terminated session", async {
        let (vcsim, client) = connected().await;
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
        // The next call meets NotAuthenticated, logs in again and succeeds.
        let vms = crate::common::vms(&client).await;
        assert_eq!(vms.len(), 4);
        assert_eq!(client.session_generation(), 2);
        assert_ne!(client.session().unwrap().key, key);
        assert_eq!(client.call_stats().get("Login"), Some(&2));
    })
    .await;
}

#[tokio::test]
async fn without_relogin_a_terminated_session_is_not_authenticated() {
    bounded("no relogin", async {
        let vcsim = start(Vcsim::builder()).await;
        let config = ConnectConfig {
            relogin: false,
            ..vcsim.config()
        };
        let client = Client::connect(config).await.unwrap();
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
        let error = client.keep_alive().await.unwrap_err();
        assert_eq!(
            error.fault_kind(),
            Some(FaultKind::NotAuthenticated),
            "{error}"
        );
        assert!(error.is_auth_failure());
    })
    .await;
}

#[tokio::test]
async fn an_idle_session_expires_and_keep_alive_logs_in_again() {
    bounded("idle expiry", async {
        let vcsim = start(Vcsim::builder().session_timeout(Duration::from_millis(500))).await;
        let client = Client::connect(vcsim.config()).await.unwrap();
        // Idle for several timeouts: the server drops the session.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        client.keep_alive().await.unwrap();
        assert_eq!(client.session_generation(), 2);
        assert_eq!(client.call_stats().get("Login"), Some(&2));
    })
    .await;
}

#[tokio::test]
async fn plain_http_works_and_has_no_fingerprint() {
    bounded("plain http", async {
        let vcsim = start(Vcsim::builder().plain_http()).await;
        let client = Client::connect(vcsim.config()).await.unwrap();
        assert_eq!(client.server_fingerprint(), None);
    })
    .await;
}

#[tokio::test]
async fn the_simulator_dies_with_its_handle() {
    bounded("no orphans", async {
        let vcsim = start(Vcsim::builder()).await;
        let pid = vcsim.pid().expect("a pid");
        // Even when the owner panics, unwinding drops the handle.
        let owner = tokio::spawn(async move {
            let _vcsim = vcsim;
            panic!("the test owning vcsim failed");
        });
        assert!(owner.await.is_err());
        let stat = format!("/proc/{pid}/stat");
        loop {
            match std::fs::read_to_string(&stat) {
                Err(_) => break,
                // A zombie waiting to be reaped is dead too.
                Ok(text)
                    if text
                        .rsplit(')')
                        .next()
                        .is_some_and(|s| s.trim_start().starts_with('Z')) =>
                {
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_keep_alive_task_renews_an_expired_session_by_itself() {
    bounded("keep-alive task", async {
        let vcsim = start(Vcsim::builder().session_timeout(Duration::from_millis(300))).await;
        let client = Client::connect(vcsim.config()).await.unwrap();
        // Ticks slower than the idle timeout: each tick finds the session gone.
        let keep_alive = client.spawn_keep_alive(Duration::from_secs(1));
        while client.session_generation() < 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(keep_alive);
        assert!(client.call_stats()["RetrievePropertiesEx"] >= 1);
    })
    .await;
}
