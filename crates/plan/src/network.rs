//! Network mapping helpers shared by validation and the builders (`adapter/base/network.go`):
//! the pairs of a NIC, the per-VM NAD pool, and the transfer network annotations.

use ferry_api::Ref;
use ferry_api::destination::NetworkAttachmentDefinition;
use ferry_api::labels::annotation;
use ferry_api::mapping::{DestinationNetwork, DestinationNetworkType, NetworkMap, NetworkPair};
use std::collections::{BTreeMap, BTreeSet};

/// The `forklift.konveyor.io/route` value meaning "no default route".
pub const ROUTE_NONE: &str = "none";

/// Upstream `FindAllMappingsForNICRef`: the map pairs of a NIC's source network, by `id`
/// if set, else by `type`, else by `name` (and namespace).
pub fn mappings_for_nic<'a>(nic: &Ref, map: Option<&'a NetworkMap>) -> Vec<&'a NetworkPair> {
    let Some(map) = map else { return Vec::new() };
    if !nic.id.is_empty() {
        map.find_all_networks(&nic.id)
    } else if !nic.r#type.is_empty() {
        map.find_all_networks_by_type(&nic.r#type)
    } else if !nic.name.is_empty() {
        map.find_all_networks_by_name_and_namespace(&nic.namespace, &nic.name)
    } else {
        Vec::new()
    }
}

fn nad_key(destination: &DestinationNetwork) -> String {
    if destination.namespace.is_empty() {
        destination.name.clone()
    } else {
        format!("{}/{}", destination.namespace, destination.name)
    }
}

/// Upstream `NADPool`: hands out distinct Multus NADs to the NICs of one VM.
#[derive(Clone, Debug, Default)]
pub struct NadPool {
    used: BTreeSet<String>,
}

impl NadPool {
    /// An empty pool (one per VM).
    pub fn new() -> Self {
        Self::default()
    }

    /// Upstream `Allocate`: the only candidate when there is one (always reusable), else
    /// the first NAD not yet used on this VM; `None` when all are used.
    pub fn allocate<'a>(&mut self, pairs: &[&'a NetworkPair]) -> Option<&'a NetworkPair> {
        match pairs {
            [] => None,
            [only] => Some(only),
            many => many
                .iter()
                .find(|pair| self.used.insert(nad_key(&pair.destination)))
                .copied(),
        }
    }
}

/// Upstream `AllocateNetwork`: a non-Multus pair wins at once; Multus pairs go through the
/// pool.
pub fn allocate_network<'a>(
    pool: &mut NadPool,
    pairs: &[&'a NetworkPair],
) -> Option<&'a NetworkPair> {
    let mut multus = Vec::new();
    for pair in pairs {
        if pair.destination.r#type != DestinationNetworkType::Multus {
            return Some(pair);
        }
        multus.push(*pair);
    }
    pool.allocate(&multus)
}

/// Upstream `ValidatePodNetworkDuplicates`: more than one NIC resolves to the pod network.
pub fn has_duplicate_pod_mappings(nics: &[Ref], map: Option<&NetworkMap>) -> bool {
    if map.is_none() {
        return false;
    }
    let mut pool = NadPool::new();
    let pods = nics
        .iter()
        .filter_map(|nic| {
            let pairs = mappings_for_nic(nic, map);
            if pairs.is_empty() {
                return None;
            }
            allocate_network(&mut pool, &pairs)
        })
        .filter(|pair| pair.destination.r#type == DestinationNetworkType::Pod)
        .count();
    pods > 1
}

/// One entry of `k8s.v1.cni.cncf.io/networks`, in upstream's field order.
#[derive(serde::Serialize)]
struct NetworkSelection<'a> {
    name: &'a str,
    namespace: &'a str,
    #[serde(rename = "default-route", skip_serializing_if = "Option::is_none")]
    default_route: Option<[&'a str; 1]>,
}

fn selection(name: &str, namespace: &str, route: Option<&str>) -> String {
    let value = [NetworkSelection {
        name,
        namespace,
        default_route: route.map(|r| [r]),
    }];
    serde_json::to_string(&value).unwrap_or_default()
}

/// The transfer network annotations of DataVolumes and conversion pods (plan spec §6.1):
/// `k8s.v1.cni.cncf.io/networks` with the default route when one is known (the
/// `forklift.konveyor.io/route` annotation, else the NAD's IPAM default route) and
/// without it for `route: none`; the legacy `v1.multus-cni.io/default-network` when no
/// route is known.
pub fn transfer_network_annotations(
    nad: &NetworkAttachmentDefinition,
) -> Result<BTreeMap<String, String>, TransferNetworkError> {
    let name = nad.metadata.name.clone().unwrap_or_default();
    let namespace = nad.metadata.namespace.clone().unwrap_or_default();
    let route = nad
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation::ROUTE))
        .cloned()
        .or_else(|| nad.default_route_gateway());
    let mut out = BTreeMap::new();
    match route {
        Some(route) if route == ROUTE_NONE => {
            out.insert(
                annotation::MULTUS_NETWORKS.to_string(),
                selection(&name, &namespace, None),
            );
        }
        Some(route) => {
            if route.parse::<std::net::IpAddr>().is_err() {
                return Err(TransferNetworkError::BadRoute);
            }
            out.insert(
                annotation::MULTUS_NETWORKS.to_string(),
                selection(&name, &namespace, Some(&route)),
            );
        }
        None => {
            out.insert(
                annotation::MULTUS_DEFAULT_NETWORK.to_string(),
                format!("{namespace}/{name}"),
            );
        }
    }
    Ok(out)
}

/// A transfer network that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferNetworkError {
    /// The route is not an IP address.
    #[error("Transfer network default route is not a valid IP address.")]
    BadRoute,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::mapping::{NetworkMapSpec, NetworkSourceRef};

    fn pair(source: Ref, kind: DestinationNetworkType, ns: &str, name: &str) -> NetworkPair {
        NetworkPair {
            source: NetworkSourceRef {
                id: source.id,
                name: source.name,
                namespace: source.namespace,
                r#type: source.r#type,
                vlan: String::new(),
            },
            destination: DestinationNetwork {
                r#type: kind,
                namespace: ns.into(),
                name: name.into(),
            },
        }
    }

    fn map(pairs: Vec<NetworkPair>) -> NetworkMap {
        NetworkMap::new(
            "ns",
            "net",
            NetworkMapSpec {
                map: pairs,
                ..NetworkMapSpec::default()
            },
        )
    }

    fn typed(t: &str) -> Ref {
        Ref {
            r#type: t.into(),
            ..Ref::default()
        }
    }

    use DestinationNetworkType::{Multus, Pod};

    /// Upstream `network_test.go` (`TestValidatePodNetworkDuplicates_*`).
    #[test]
    fn pod_duplicates_upstream_table() {
        assert!(!has_duplicate_pod_mappings(&[], None));
        assert!(!has_duplicate_pod_mappings(&[], Some(&map(vec![]))));
        let single = map(vec![pair(typed("pod"), Pod, "", "")]);
        assert!(!has_duplicate_pod_mappings(&[typed("pod")], Some(&single)));
        let two = map(vec![
            pair(typed("pod"), Pod, "", ""),
            pair(Ref::id("net-1"), Pod, "", ""),
        ]);
        assert!(has_duplicate_pod_mappings(
            &[typed("pod"), Ref::id("net-1")],
            Some(&two)
        ));
        let same_nad = map(vec![pair(Ref::id("net-1"), Multus, "ns", "nad-a")]);
        assert!(!has_duplicate_pod_mappings(
            &[Ref::id("net-1"), Ref::id("net-1")],
            Some(&same_nad)
        ));
        let distinct = map(vec![
            pair(Ref::id("net-1"), Multus, "ns", "nad-a"),
            pair(Ref::id("net-2"), Multus, "ns", "nad-b"),
        ]);
        assert!(!has_duplicate_pod_mappings(
            &[Ref::id("net-1"), Ref::id("net-2")],
            Some(&distinct)
        ));
        assert!(!has_duplicate_pod_mappings(
            &[Ref::id("net-1"), Ref::id("net-999")],
            Some(&same_nad)
        ));
        let multus_then_pod = map(vec![
            pair(Ref::id("net-1"), Multus, "ns", "nad-a"),
            pair(Ref::id("net-1"), Pod, "", ""),
        ]);
        assert!(!has_duplicate_pod_mappings(
            &[Ref::id("net-1")],
            Some(&multus_then_pod)
        ));
        let mut three = multus_then_pod.clone();
        three.spec.map.push(pair(Ref::id("net-2"), Pod, "", ""));
        assert!(has_duplicate_pod_mappings(
            &[Ref::id("net-1"), Ref::id("net-2")],
            Some(&three)
        ));
    }

    /// Upstream `network_test.go` (`TestFindAllMappingsForNICRef_*`, `TestNADPool_*`,
    /// `TestAllocateNetwork_*`).
    #[test]
    fn mappings_and_pool_upstream_table() {
        let nm = map(vec![
            pair(Ref::id("net-1"), Multus, "ns", "nad-a"),
            pair(Ref::id("net-1"), Multus, "ns", "nad-b"),
            pair(Ref::id("net-2"), Multus, "ns", "nad-c"),
        ]);
        let pairs = mappings_for_nic(&Ref::id("net-1"), Some(&nm));
        assert_eq!(
            pairs
                .iter()
                .map(|p| p.destination.name.as_str())
                .collect::<Vec<_>>(),
            ["nad-a", "nad-b"]
        );
        assert!(mappings_for_nic(&Ref::id("net-1"), None).is_empty());
        assert!(mappings_for_nic(&Ref::id("net-999"), Some(&nm)).is_empty());
        assert!(mappings_for_nic(&Ref::default(), Some(&nm)).is_empty());

        let mut pool = NadPool::new();
        let a = pool.allocate(&pairs).unwrap();
        let b = pool.allocate(&pairs).unwrap();
        assert_ne!(a.destination.name, b.destination.name);
        assert!(pool.allocate(&pairs).is_none(), "exhausted");

        let single = map(vec![pair(Ref::id("net-1"), Multus, "ns", "nad-a")]);
        let one = mappings_for_nic(&Ref::id("net-1"), Some(&single));
        let mut pool = NadPool::new();
        assert_eq!(pool.allocate(&one).unwrap().destination.name, "nad-a");
        assert_eq!(pool.allocate(&one).unwrap().destination.name, "nad-a");
        assert!(NadPool::new().allocate(&[]).is_none());

        let pod = map(vec![pair(typed("pod"), Pod, "", "")]);
        let pod_pairs = mappings_for_nic(&typed("pod"), Some(&pod));
        assert_eq!(
            allocate_network(&mut NadPool::new(), &pod_pairs)
                .unwrap()
                .destination
                .r#type,
            Pod
        );
        let mut pool = NadPool::new();
        let x = allocate_network(&mut pool, &pairs).unwrap();
        let y = allocate_network(&mut pool, &pairs).unwrap();
        assert_ne!(x.destination.name, y.destination.name);
    }

    fn nad(annotations: &[(&str, &str)], config: &str) -> NetworkAttachmentDefinition {
        let mut nad = NetworkAttachmentDefinition::new("tgt", "nad1", Default::default());
        nad.spec.config = config.into();
        if !annotations.is_empty() {
            nad.metadata.annotations = Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        nad
    }

    /// Conformance case 24.
    #[test]
    fn transfer_network_annotations_follow_the_route() {
        let legacy = transfer_network_annotations(&nad(&[], "")).unwrap();
        assert_eq!(legacy[annotation::MULTUS_DEFAULT_NETWORK], "tgt/nad1");
        let routed =
            transfer_network_annotations(&nad(&[(annotation::ROUTE, "10.0.0.1")], "")).unwrap();
        assert_eq!(
            routed[annotation::MULTUS_NETWORKS],
            r#"[{"name":"nad1","namespace":"tgt","default-route":["10.0.0.1"]}]"#
        );
        let ipam = transfer_network_annotations(&nad(
            &[],
            r#"{"ipam":{"routes":[{"dst":"0.0.0.0/0","gw":"192.168.1.1"}]}}"#,
        ))
        .unwrap();
        assert!(ipam[annotation::MULTUS_NETWORKS].contains("192.168.1.1"));
        let none = transfer_network_annotations(&nad(&[(annotation::ROUTE, "none")], "")).unwrap();
        assert_eq!(
            none[annotation::MULTUS_NETWORKS],
            r#"[{"name":"nad1","namespace":"tgt"}]"#
        );
        assert_eq!(
            transfer_network_annotations(&nad(&[(annotation::ROUTE, "nope")], "")),
            Err(TransferNetworkError::BadRoute)
        );
    }
}
