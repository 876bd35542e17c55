//! The Provider controller: validates Providers, runs their inventory collectors and
//! publishes `phase` and conditions.
//!
//! One pass: read the secret → type, URL and secret checks ([`validate::check`]) →
//! start, restart or stop the collector → connection and inventory from the collector's
//! state ([`validate::connect`]) → `Ready` → write the status if it changed.
//!
//! It wakes on: the Provider changing; its Secret changing (a metadata-only watch of
//! Secrets, mapped through the Providers that name them); its collector's state
//! changing (first load, failure, recovery, unreadable files). It never polls: a
//! collector rescans its catalog on its own timer and only news reaches the controller.
//! Deleted Providers have their collector stopped from the cache's deletion events;
//! the `forklift/ova-provider` and `forklift/hyperv-provider` finalizers that
//! Forklift's webhook adds are removed so such Providers can go.

pub mod url;
pub mod validate;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use ferry_api::condition::ready;
use ferry_api::provider::{
    HYPERV_PROVIDER_FINALIZER, OVA_PROVIDER_FINALIZER, ProviderStatus, phase,
};
use ferry_api::{ObjectReference, Provider};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::cache::{CacheEvent, valid};
use crate::collectors::{CollectorState, InventoryEvent};
use crate::context::{Context, Guarded, ref_set};
use crate::error::{Error, Result};
use crate::runner::{Reconciled, Scoped, drive, error_policy, recompute, write_status};
use ferry_inventory::vsphere::{ConnectionError, ConnectionSettings};
use validate::{SecretView, Source};

/// The controller's name (metrics label, Events' reporting controller).
pub const NAME: &str = "provider";

async fn read_secret(ctx: &Context, provider: &Provider) -> Result<(SecretView, Option<String>)> {
    if provider.is_host() {
        return Ok((SecretView::NotNeeded, None));
    }
    let Some((namespace, name)) = ref_set(&provider.spec.secret) else {
        return Ok((SecretView::NotSet, None));
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|source| Error::kube("read", format!("Secret {namespace}/{name}"), source))?;
    Ok(match secret {
        None => (SecretView::NotFound, None),
        Some(secret) => {
            let data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.0))
                .collect();
            (SecretView::Found(data), secret.metadata.resource_version)
        }
    })
}

async fn release(ctx: &Context, provider: &Provider) -> Result<Action> {
    ctx.collectors.stop(provider.uid());
    let finalizers = provider.metadata.finalizers.clone().unwrap_or_default();
    let kept: Vec<String> = finalizers
        .iter()
        .filter(|f| *f != OVA_PROVIDER_FINALIZER && *f != HYPERV_PROVIDER_FINALIZER)
        .cloned()
        .collect();
    if kept.len() != finalizers.len() {
        let api: Api<Provider> = Api::namespaced(ctx.client.clone(), provider.namespace());
        // The resource version makes this a compare-and-swap: a concurrent change of the
        // finalizers is a conflict, retried at once.
        let patch = serde_json::json!({
            "metadata": {
                "finalizers": kept,
                "resourceVersion": provider.metadata.resource_version,
            }
        });
        api.patch(
            provider.name(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|source| {
            Error::kube(
                "remove the finalizer of",
                format!("Provider {}/{}", provider.namespace(), provider.name()),
                source,
            )
        })?;
        tracing::info!("removed Forklift's provider-server finalizer");
    }
    Ok(Action::await_change())
}

fn reconcile<'a>(provider: &'a Provider, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        if provider.metadata.deletion_timestamp.is_some() {
            return release(ctx, provider).await;
        }
        let (secret, secret_version) = read_secret(ctx, provider).await?;
        let source = validate::source(provider, ctx.collectors.shares());
        let mut checked = validate::check(provider, &secret, &source);
        let state = match (&source, &secret) {
            (Source::Ova(Ok(catalog)), _) if !checked.blocked() => {
                ctx.collectors.ensure_ova(provider, catalog);
                ctx.collectors.state(provider.uid())
            }
            (Source::Vsphere, SecretView::Found(data)) if !checked.blocked() => {
                match vsphere_settings(provider, data) {
                    Ok(settings) => {
                        let key = vsphere_key(provider, secret_version.as_deref());
                        ctx.collectors.ensure_vsphere(provider, settings, &key);
                        ctx.collectors.state(provider.uid())
                    }
                    Err(error) => {
                        if ctx.collectors.stop(provider.uid()) {
                            tracing::info!(
                                "inventory collector stopped: the provider's settings cannot make a connection"
                            );
                        }
                        CollectorState::Refused(error)
                    }
                }
            }
            _ => {
                if ctx.collectors.stop(provider.uid()) {
                    tracing::info!("inventory collector stopped: the provider is not valid");
                }
                CollectorState::Stopped
            }
        };
        validate::connect(provider, &source, &state, &mut checked);
        let now = ctx.now();
        let (conditions, explain) = recompute(
            &provider.status.conditions,
            checked.findings.into_vec(),
            ready::provider,
            &now,
        );
        let phase = if conditions.is_ready() {
            phase::READY
        } else {
            checked.phase
        };
        let current = &provider.status;
        let status = ProviderStatus {
            phase: phase.to_string(),
            conditions,
            observed_generation: provider.generation(),
            secret_resource_version: secret_version
                .unwrap_or_else(|| current.secret_resource_version.clone()),
            fingerprint: validate::fingerprint(&state)
                .unwrap_or_else(|| current.fingerprint.clone()),
            ..current.clone()
        };
        write_status(scoped, provider, current, &status, &explain).await?;
        Ok(Action::await_change())
    })
}

/// The vSphere collector's settings from a Provider and its Secret. The recorded
/// `status.fingerprint` is not used as a pin: it may come from a certificate the
/// verification refused, and trusting it on the next attempt would defeat the check
/// (with `insecureSkipVerify` nothing is verified anyway).
fn vsphere_settings(
    provider: &ferry_api::Provider,
    data: &BTreeMap<String, Vec<u8>>,
) -> std::result::Result<ConnectionSettings, ConnectionError> {
    let mut unpinned = provider.clone();
    unpinned.status.fingerprint = String::new();
    ConnectionSettings::from_provider(&unpinned, data)
}

/// What a vSphere collector's settings come from: the URL, the Secret's version and the
/// SDK endpoint. A change restarts the collector.
fn vsphere_key(provider: &ferry_api::Provider, secret_version: Option<&str>) -> String {
    format!(
        "{}|{}|{}",
        provider.spec.url,
        secret_version.unwrap_or_default(),
        provider
            .setting(ferry_api::provider::settings::SDK_ENDPOINT)
            .unwrap_or_default()
    )
}

fn provider_ref(namespace: &str, name: &str) -> ObjectRef<Guarded<Provider>> {
    ObjectRef::new(name).within(namespace)
}

/// The Providers whose `spec.secret` names this Secret.
fn providers_of_secret(
    ctx: &Context,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<Guarded<Provider>>> {
    let (Some(namespace), Some(name)) = (
        secret.metadata.namespace.as_deref(),
        secret.metadata.name.as_deref(),
    ) else {
        return Vec::new();
    };
    ctx.caches
        .providers
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|provider| names(&provider.spec.secret, namespace, name))
        .map(|provider| provider_ref(provider.namespace(), provider.name()))
        .collect()
}

/// Whether `reference` names `namespace/name`.
pub fn names(reference: &ObjectReference, namespace: &str, name: &str) -> bool {
    reference.namespace.as_deref() == Some(namespace) && reference.name.as_deref() == Some(name)
}

/// The hub's news as reconcile requests for Providers (state changes only).
fn hub_requests(
    ctx: &Context,
) -> impl futures::Stream<Item = ObjectRef<Guarded<Provider>>> + Send + 'static {
    let receiver = ctx.collectors.subscribe();
    futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(InventoryEvent::Status(key)) => {
                    return Some((provider_ref(&key.namespace, &key.name), receiver));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// Stops the collectors of deleted Providers.
pub async fn collect_garbage(ctx: Arc<Context>) {
    let mut events = std::pin::pin!(ctx.caches.providers.events());
    while let Some(event) = events.next().await {
        match event {
            CacheEvent::Deleted(guard) => {
                if let Some(uid) = guard.metadata_uid()
                    && ctx.collectors.stop(&uid)
                {
                    tracing::info!(uid, "inventory collector stopped: the provider was deleted");
                }
            }
            CacheEvent::Resynced => {
                let live: HashSet<String> = ctx
                    .caches
                    .providers
                    .state()
                    .iter()
                    .filter_map(|guard| guard.metadata_uid())
                    .collect();
                ctx.collectors.retain(&live);
            }
            CacheEvent::Applied(_) => {}
        }
    }
}

trait MetadataUid {
    fn metadata_uid(&self) -> Option<String>;
}

impl MetadataUid for Guarded<Provider> {
    fn metadata_uid(&self) -> Option<String> {
        use kube::Resource;
        self.meta().uid.clone()
    }
}

/// The controller, ready to run until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    let secrets_ctx = Arc::clone(&ctx);
    Controller::for_shared_stream(ctx.caches.providers.changed(), ctx.caches.providers.store())
        .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
        .watches_shared_stream(ctx.caches.secrets.changed(), move |secret| {
            providers_of_secret(&secrets_ctx, &secret)
        })
        .reconcile_on(hub_requests(&ctx))
        .graceful_shutdown_on(shutdown)
        .run(
            |guard, scoped| drive(guard, scoped, reconcile),
            error_policy,
            scoped,
        )
        .for_each(|_| futures::future::ready(()))
}
