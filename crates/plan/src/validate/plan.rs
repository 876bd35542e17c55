//! Plan-level checks: provider pair, target namespace, maps, networks, images, templates,
//! conversion temp storage, pod security.

use super::Validation;
use crate::conditions as c;
use crate::names::is_dns1123_subdomain;
use crate::observe::{Lookup, Observed};
use crate::quantity::Quantity;
use crate::settings::Settings;
use crate::template;
use ferry_api::condition::reason;
use ferry_api::labels::{PRIMARY_UDN_NAMESPACE, annotation};
use ferry_api::mapping::DestinationNetworkType;
use ferry_api::provider::ProviderType;
use regex::Regex;
use std::cmp::Ordering;
use std::sync::LazyLock;

/// The namespace every pod may reference NADs from.
const DEFAULT_NAMESPACE: &str = "default";

fn lookup_reason<T>(lookup: &Lookup<T>) -> Option<&'static str> {
    match lookup {
        Lookup::NotSet => Some(reason::NOT_SET),
        Lookup::NotFound => Some(reason::NOT_FOUND),
        Lookup::Found(_) => None,
    }
}

/// `pkg/controller/validation/provider.go`: both providers resolve and are Ready; the
/// destination is of type `openshift`.
pub(super) fn provider_pair(observed: &Observed, out: &mut Validation) {
    match &observed.source {
        Lookup::Found(source) => {
            if !source.status.conditions.is_ready() {
                out.set(c::source_provider_not_ready());
            }
        }
        other => {
            out.dangling = true;
            if let Some(why) = lookup_reason(other) {
                out.set(c::source_provider_not_valid(why));
            }
        }
    }
    match &observed.destination {
        Lookup::Found(destination) => {
            if !destination.status.conditions.is_ready() {
                out.set(c::destination_provider_not_ready());
            }
            if !destination.is(ProviderType::OpenShift) {
                out.set(c::destination_provider_not_valid(reason::TYPE_NOT_VALID));
            }
        }
        other => {
            if let Some(why) = lookup_reason(other) {
                out.set(c::destination_provider_not_valid(why));
            }
        }
    }
}

/// `validateTargetNamespace`.
pub(super) fn target_namespace(observed: &Observed, out: &mut Validation) {
    let namespace = &observed.plan.spec.target_namespace;
    if namespace.is_empty() {
        out.set(c::namespace_not_valid(reason::NOT_SET));
    } else if !is_dns1123_subdomain(namespace) {
        out.set(c::namespace_not_valid(reason::NOT_VALID));
    }
}

/// Whether the target namespace has a primary user-defined network (upstream
/// `DestinationHasUdnNetwork`): the namespace label and at least one UDN NAD.
pub fn destination_has_udn(observed: &Observed) -> bool {
    let labelled = observed
        .target_namespace
        .as_ref()
        .and_then(|ns| ns.metadata.labels.as_ref())
        .is_some_and(|labels| labels.contains_key(PRIMARY_UDN_NAMESPACE));
    labelled && !observed.udn_nads.is_empty()
}

/// `validateNetworkMap`.
pub(super) fn network_map(observed: &Observed, out: &mut Validation) {
    let map = match &observed.network_map {
        Lookup::Found(map) => map,
        other => {
            if let Some(why) = lookup_reason(other) {
                out.set(c::network_map_ref_not_valid(why));
            }
            return;
        }
    };
    if !map.status.conditions.is_ready() {
        out.set(c::network_map_not_ready());
    }
    let plan = &observed.plan;
    let preserving = observed
        .source
        .found()
        .is_some_and(|s| s.supports_preserve_static_ips())
        && plan.spec.preserve_static_ips();
    if preserving
        && map
            .spec
            .map
            .iter()
            .any(|pair| pair.destination.r#type == DestinationNetworkType::Pod)
        && !destination_has_udn(observed)
    {
        out.set(c::net_map_preserving_ips_on_pod_network());
    }
    let target = &plan.spec.target_namespace;
    if let Some(pair) = map.spec.map.iter().find(|pair| {
        pair.destination.r#type == DestinationNetworkType::Multus
            && pair.destination.namespace != *target
            && pair.destination.namespace != DEFAULT_NAMESPACE
    }) {
        out.set(c::net_map_destination_nad_not_valid(
            &pair.destination.namespace,
            &pair.destination.name,
            target,
        ));
    }
}

/// `validateStorageMap` (not for `type: conversion`).
pub(super) fn storage_map(observed: &Observed, out: &mut Validation) {
    if observed.plan.spec.r#type == Some(ferry_api::plan::MigrationType::Conversion) {
        return;
    }
    match &observed.storage_map {
        Lookup::Found(map) => {
            if !map.status.conditions.is_ready() {
                out.set(c::storage_map_not_ready());
            }
        }
        other => {
            if let Some(why) = lookup_reason(other) {
                out.set(c::storage_ref_not_valid(why));
            }
        }
    }
}

/// `validateUserDefinedNetwork`: a Layer3 OVN overlay in the target namespace.
pub(super) fn user_defined_networks(observed: &Observed, out: &mut Validation) {
    for nad in &observed.udn_nads {
        let Ok(config) = nad.config() else { continue };
        let kind = config.get("type").and_then(|v| v.as_str());
        let topology = config.get("topology").and_then(|v| v.as_str());
        if kind == Some("ovn-k8s-cni-overlay") && topology == Some("layer3") {
            out.set(c::unsupported_udn());
        }
    }
}

/// `validateTransferNetwork`.
pub(super) fn transfer_network(observed: &Observed, out: &mut Validation) {
    let plan = &observed.plan;
    let Some(reference) = &plan.spec.transfer_network else {
        return;
    };
    let key = (
        reference.namespace.clone().unwrap_or_default(),
        reference.name.clone().unwrap_or_default(),
    );
    let Some(Some(nad)) = observed.nads.get(&key) else {
        out.set(c::transfer_network_not_found());
        return;
    };
    let target = &plan.spec.target_namespace;
    if key.0 != *target && key.0 != DEFAULT_NAMESPACE {
        out.set(c::transfer_network_other_namespace(&key.0, &key.1, target));
        return;
    }
    match nad
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation::ROUTE))
    {
        None => out.set(c::transfer_network_missing_default_route()),
        Some(route)
            if route != crate::network::ROUTE_NONE
                && route.parse::<std::net::IpAddr>().is_err() =>
        {
            out.set(c::transfer_network_bad_route());
        }
        Some(_) => {}
    }
}

/// The docker reference grammar upstream checks images against (`hook/regexp.go`).
static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let alpha_numeric = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]*)";
    let name_component = format!("{alpha_numeric}(?:(?:{separator}{alpha_numeric})+)?");
    let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain = format!("{domain_component}(?:(?:\\.{domain_component})+)?(?::[0-9]+)?");
    let name = format!("(?:{domain}/)?{name_component}(?:(?:/{name_component})+)?");
    let tag = r"[\w][\w.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    Regex::new(&format!("^({name})(?::({tag}))?(?:@({digest}))?$")).ok()
});

/// Whether `image` is a fully-qualified image reference (upstream: matches the docker
/// reference grammar and contains a `/`).
pub fn is_valid_image(image: &str) -> bool {
    image.contains('/')
        && REFERENCE
            .as_ref()
            .is_some_and(|re| image.len() <= 4096 && re.is_match(image))
}

/// `validateVirtV2vImage`.
pub(super) fn virt_v2v_image(observed: &Observed, out: &mut Validation) {
    let image = &observed.plan.spec.virt_v2v_image;
    if !image.is_empty() && !is_valid_image(image) {
        out.set(c::virt_v2v_image_not_valid());
    }
}

/// `validateVolumeNameTemplate` and `validateNetworkNameTemplate` (plan level).
pub(super) fn name_templates(observed: &Observed, out: &mut Validation) {
    let spec = &observed.plan.spec;
    if template::validate_volume_name_template(&spec.volume_name_template).is_err() {
        out.set(c::volume_name_template_not_valid());
    }
    if template::validate_network_name_template(&spec.network_name_template).is_err() {
        out.set(c::network_name_template_not_valid());
    }
}

/// `validateConversionTempStorage` and its capacity check.
pub(super) fn temp_storage(observed: &Observed, out: &mut Validation) {
    let spec = &observed.plan.spec;
    let class = &spec.conversion_temp_storage_class;
    let size = &spec.conversion_temp_storage_size;
    if class.is_empty() && size.is_empty() {
        return;
    }
    if class.is_empty() || size.is_empty() {
        out.set(c::temp_storage_incomplete());
        return;
    }
    let requested = match Quantity::parse(size) {
        Ok(q) => q,
        Err(e) => {
            out.set(c::temp_storage_size_not_valid(size, &e.to_string()));
            return;
        }
    };
    if observed.temp_storage_class.found().is_none() {
        out.set(c::temp_storage_class_not_found(class));
        return;
    }
    if observed.storage_capacities_error.is_some() {
        out.set(c::temp_storage_unverified(class));
        return;
    }
    let capacities = &observed.storage_capacities;
    let matching: Vec<_> = capacities
        .iter()
        .filter(|cap| cap.storage_class_name == *class)
        .collect();
    if matching.is_empty() {
        out.set(c::temp_storage_no_capacity_info(class));
        return;
    }
    let enough = |q: &ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity| {
        Quantity::parse(&q.0).is_ok_and(|q| q.compare(&requested) != Ordering::Less)
    };
    let sufficient = matching.iter().any(|cap| match &cap.maximum_volume_size {
        Some(max) => enough(max),
        None => cap.capacity.as_ref().is_some_and(enough),
    });
    if !sufficient {
        out.set(c::temp_storage_insufficient(class, size.trim()));
    }
}

/// `validatePodSecurity`: the controller namespace enforces the restricted level.
pub(super) fn pod_security(observed: &Observed, settings: &Settings, out: &mut Validation) {
    if settings.pod_namespace.is_empty() {
        return;
    }
    let restricted = observed
        .controller_namespace
        .as_ref()
        .and_then(|ns| ns.metadata.labels.as_ref())
        .and_then(|labels| labels.get("pod-security.kubernetes.io/enforce"))
        .is_some_and(|level| level == "restricted");
    if restricted {
        out.set(c::restricted_pod_security(&settings.pod_namespace));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "quay.io/kubev2v/forklift-virt-v2v:latest",
            "registry:5000/a/b@sha256:0123456789abcdef0123456789abcdef",
            "docker.io/library/x",
        ] {
            assert!(is_valid_image(ok), "{ok}");
        }
        for bad in [
            "ubuntu",
            "Quay.io/UPPER/Case",
            "quay.io/x:",
            "a//b",
            "quay.io/x y",
        ] {
            assert!(!is_valid_image(bad), "{bad}");
        }
    }
}
