//! The Host controller: an ESXi host used for disk transfer, vSphere only
//! (`pkg/controller/host/validation.go`).
//!
//! Checks, with upstream's conditions: the provider (`ProviderNotValid`,
//! `ProviderNotReady`, `TypeNotValid/TypeErr` for a non-vSphere provider), the host
//! reference (`RefNotValid/NotSet`), the IP address (`IpNotValid`) and the secret
//! (`SecretNotValid` NotSet, NotFound, DataErr with the missing keys), then
//! `Validated`. The connection test to the ESXi host, the inventory lookup of the host
//! (`RefNotValid` NotFound/Ambiguous, `InMaintenance`, `NotHealthy`,
//! `HostStatusNotGreen`) and with them `ConnectionTestSucceeded` (which `Ready`
//! requires) come with Ferry's vSphere inventory; until then a Host is validated but
//! not Ready, and its provider (vSphere) is reported not ready by the Provider
//! controller anyway.
//!
//! A Host wakes when it changes, when its Provider changes and when its Secret changes.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferry_api::condition::{Condition, category, ready, reason, types};
use ferry_api::host::HostStatus;
use ferry_api::provider::ProviderType;
use ferry_api::{Host, Provider};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::cache::valid;
use crate::context::{Context, Guarded, ref_set};
use crate::error::{Error, Result};
use crate::findings::Findings;
use crate::maps::validate::{ProviderLookup, lookup_provider, provider};
use crate::runner::{Reconciled, Scoped, drive, error_policy, recompute, write_status};

/// The controller's name.
pub const NAME: &str = "host";

/// The host's secret, as far as the checks need it: `None` for NotSet, `Some(None)`
/// for NotFound, else its keys.
pub type SecretKeys = Option<Option<BTreeSet<String>>>;

/// The host's findings (pure).
pub fn validate(host: &Host, found: &ProviderLookup, secret: &SecretKeys) -> Findings {
    let mut findings = Findings::new();
    let (conditions, provider) = provider(found);
    findings.extend(conditions);
    if let Some(provider) = provider
        && !provider.is(ProviderType::VSphere)
    {
        findings.set(
            Condition::new(types::TYPE_NOT_VALID, category::CRITICAL)
                .with_reason(reason::TYPE_ERR)
                .with_message("Provider type not supported."),
        );
    }
    if host.spec.reference().not_set() {
        findings.set(
            Condition::new(types::REF_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_SET)
                .with_message("The `id` is not valid."),
        );
    }
    if host.spec.ip_address.is_empty() {
        findings.set(
            Condition::new(types::IP_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_SET)
                .with_message("The `ipAddress` is not valid."),
        );
    }
    let secret_condition = |reason: &str, message: &str| {
        Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
            .with_reason(reason)
            .with_message(message)
    };
    match secret {
        None => findings.set(secret_condition(
            reason::NOT_SET,
            "The `secret` is not set.",
        )),
        Some(None) => findings.set(secret_condition(
            reason::NOT_FOUND,
            "The `secret` cannot be found.",
        )),
        Some(Some(keys)) => {
            if provider.is_some_and(|p: &Provider| p.is(ProviderType::VSphere)) {
                let missing: Vec<&str> = ["user", "password"]
                    .into_iter()
                    .filter(|key| !keys.contains(*key))
                    .collect();
                if !missing.is_empty() {
                    findings.set(
                        secret_condition(reason::DATA_ERR, "The `secret` missing required data.")
                            .with_items(missing),
                    );
                }
            }
        }
    }
    findings.set(
        Condition::new(types::VALIDATED, category::ADVISORY)
            .with_reason(reason::COMPLETED)
            .with_message(
                "The host inventory reference, IP address, and credentials have been validated.",
            ),
    );
    findings
}

async fn secret_keys(ctx: &Context, host: &Host) -> Result<SecretKeys> {
    let Some((namespace, name)) = ref_set(&host.spec.secret) else {
        return Ok(None);
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|source| Error::kube("read", format!("Secret {namespace}/{name}"), source))?;
    Ok(Some(secret.map(|secret| {
        secret
            .data
            .unwrap_or_default()
            .into_keys()
            .collect::<BTreeSet<String>>()
    })))
}

fn reconcile<'a>(host: &'a Host, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        let found = lookup_provider(&host.spec.provider, &|namespace, name| {
            ctx.caches.provider(namespace, name)
        });
        let secret = secret_keys(ctx, host).await?;
        let findings = validate(host, &found, &secret);
        let now = ctx.now();
        let current = &host.status;
        let (conditions, explain) =
            recompute(&current.conditions, findings.into_vec(), ready::host, &now);
        let status = HostStatus {
            conditions,
            observed_generation: host.generation(),
        };
        write_status(scoped, host, current, &status, &explain).await?;
        Ok(Action::await_change())
    })
}

fn hosts_where(ctx: &Context, matches: impl Fn(&Host) -> bool) -> Vec<ObjectRef<Guarded<Host>>> {
    ctx.caches
        .hosts
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|host| matches(host))
        .map(|host| ObjectRef::new(host.name()).within(host.namespace()))
        .collect()
}

/// The controller, ready to run until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    let by_provider = Arc::clone(&ctx);
    let by_secret = Arc::clone(&ctx);
    Controller::for_shared_stream(ctx.caches.hosts.changed(), ctx.caches.hosts.store())
        .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
        .watches_shared_stream(ctx.caches.providers.changed(), move |guard| {
            let namespace = guard.metadata_namespace();
            let name = guard.metadata_name();
            hosts_where(&by_provider, |host| {
                crate::provider::names(&host.spec.provider, &namespace, &name)
            })
        })
        .watches_shared_stream(ctx.caches.secrets.changed(), move |secret| {
            let namespace = secret.metadata.namespace.clone().unwrap_or_default();
            let name = secret.metadata.name.clone().unwrap_or_default();
            hosts_where(&by_secret, |host| {
                crate::provider::names(&host.spec.secret, &namespace, &name)
            })
        })
        .graceful_shutdown_on(shutdown)
        .run(
            |guard, scoped| drive(guard, scoped, reconcile),
            error_policy,
            scoped,
        )
        .for_each(|_| futures::future::ready(()))
}

trait MetadataNames {
    fn metadata_namespace(&self) -> String;
    fn metadata_name(&self) -> String;
}

impl MetadataNames for Guarded<Provider> {
    fn metadata_namespace(&self) -> String {
        use kube::Resource;
        self.meta().namespace.clone().unwrap_or_default()
    }
    fn metadata_name(&self) -> String {
        use kube::Resource;
        self.meta().name.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::ObjectReference;
    use ferry_api::condition::Conditions;
    use ferry_api::host::HostSpec;
    use ferry_api::provider::ProviderSpec;

    fn host(id: &str, ip: &str) -> Host {
        Host::new(
            "ns",
            "h",
            HostSpec {
                id: id.into(),
                ip_address: ip.into(),
                provider: ObjectReference {
                    namespace: Some("ns".into()),
                    name: Some("p".into()),
                    ..ObjectReference::default()
                },
                ..HostSpec::default()
            },
        )
    }

    fn found(t: &str, ready: bool) -> ProviderLookup {
        let mut provider = Provider::new(
            "ns",
            "p",
            ProviderSpec {
                r#type: Some(t.into()),
                ..ProviderSpec::default()
            },
        );
        if ready {
            provider.status.conditions =
                Conditions::from(vec![Condition::new(types::READY, category::REQUIRED)]);
        }
        ProviderLookup::Found(Box::new(provider))
    }

    fn keys(keys: &[&str]) -> SecretKeys {
        Some(Some(keys.iter().map(|k| k.to_string()).collect()))
    }

    #[test]
    fn non_vsphere_providers_are_a_type_error() {
        let findings = validate(&host("host-1", "10.0.0.1"), &found("ova", true), &keys(&[]));
        let c = findings.get(types::TYPE_NOT_VALID).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.category.as_str()),
            ("TypeErr", "Provider type not supported.", "Critical")
        );
        assert!(
            !findings.has(types::SECRET_NOT_VALID),
            "keys are only checked for vSphere"
        );
    }

    #[test]
    fn references_ip_and_secret() {
        let findings = validate(&host("", ""), &ProviderLookup::NotSet, &None);
        assert_eq!(
            findings.types(),
            [
                types::PROVIDER_NOT_VALID,
                types::REF_NOT_VALID,
                types::IP_NOT_VALID,
                types::SECRET_NOT_VALID,
                types::VALIDATED
            ]
        );
        assert_eq!(
            findings.get(types::SECRET_NOT_VALID).unwrap().message,
            "The `secret` is not set."
        );
        let findings = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", false),
            &Some(None),
        );
        assert_eq!(
            findings.get(types::SECRET_NOT_VALID).unwrap().message,
            "The `secret` cannot be found."
        );
        assert!(findings.has(types::PROVIDER_NOT_READY));
        let findings = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", true),
            &keys(&["user"]),
        );
        let c = findings.get(types::SECRET_NOT_VALID).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.items.as_slice()),
            (
                "DataErr",
                "The `secret` missing required data.",
                ["password".to_string()].as_slice()
            )
        );
        let fine = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", true),
            &keys(&["user", "password"]),
        );
        assert_eq!(fine.types(), [types::VALIDATED]);
        assert!(!fine.has_blocker());
    }
}
