//! `V2V_staticIPs` (upstream `mapMacStaticIps` and its helpers in
//! `adapter/vsphere/builder.go`): the guest's addresses virt-v2v re-creates in the
//! converted guest, as `<mac>:ip:<ip>,<gateway>,<prefix>,<dns>…` joined by `_`.
//!
//! - IPv4 addresses come first (a stable sort), then IPv6;
//! - link-local addresses are dropped; a Windows guest keeps only `manual` ones;
//! - the gateway is the default route (`0.0.0.0`, `0.0.0.0/0`, `::`, `::/0`) of the
//!   address's family on the same guest device, from `guestIpStacks`. Linux guests get
//!   none for non-global IPv6 (link-local, ULA); IPv6 prefers a global gateway and falls
//!   back to a link-local one for global addresses (SLAAC).

use super::is_windows;
use ferry_inventory::vsphere::model::{GuestIpStack, GuestNetwork, Vm};
use std::net::IpAddr;

/// The `origin` of a manually configured address.
pub const ORIGIN_MANUAL: &str = "manual";

/// Go's `net.ParseIP` (IPv4 with or without an IPv6 mapping, IPv6).
fn parse(ip: &str) -> Option<IpAddr> {
    ip.parse::<IpAddr>().ok()
}

fn is_v4(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

/// Go's `IsLinkLocalUnicast`: 169.254/16 and fe80::/10.
fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_link_local(),
            None => (v6.segments()[0] & 0xffc0) == 0xfe80,
        },
    }
}

/// Upstream `isNonGlobalIPv6`: link-local (fe80::/10) or unique local (fc00::/7).
fn is_non_global_ipv6(ip: &str) -> bool {
    let Some(ip) = parse(ip) else { return false };
    if is_v4(&ip) {
        return false;
    }
    if is_link_local(&ip) {
        return true;
    }
    matches!(ip, IpAddr::V6(v6) if v6.octets()[0] & 0xfe == 0xfc)
}

/// Upstream `isDefaultRoute`.
fn is_default_route(network: &str) -> bool {
    matches!(network, "0.0.0.0" | "0.0.0.0/0" | "::" | "::/0")
}

/// Upstream `findMatchingStacks`.
fn matching_stacks<'a>(
    stacks: &'a [GuestIpStack],
    device: &str,
    v4: bool,
) -> Vec<&'a GuestIpStack> {
    stacks
        .iter()
        .filter(|stack| stack.device == device)
        .filter(|stack| parse(&stack.gateway).is_some_and(|gw| is_v4(&gw) == v4))
        .filter(|stack| is_default_route(&stack.network))
        .collect()
}

/// Upstream `selectGateway`.
pub fn select_gateway(ip: &str, device: &str, stacks: &[GuestIpStack], windows: bool) -> String {
    let Some(parsed) = parse(ip) else {
        return String::new();
    };
    let v4 = is_v4(&parsed);
    let global_v6 = !v4 && !is_non_global_ipv6(ip);
    if !windows && !v4 && !global_v6 {
        return String::new();
    }
    let matched = matching_stacks(stacks, device, v4);
    if v4 {
        return matched
            .first()
            .map(|stack| stack.gateway.clone())
            .unwrap_or_default();
    }
    let mut fallback = None;
    for stack in matched {
        if parse(&stack.gateway).is_some_and(|gw| is_link_local(&gw)) {
            fallback.get_or_insert(stack.gateway.clone());
            continue;
        }
        return stack.gateway.clone();
    }
    if global_v6 {
        fallback.unwrap_or_default()
    } else {
        String::new()
    }
}

/// Upstream `shouldIncludeNetwork`.
pub fn should_include(network: &GuestNetwork, windows: bool) -> bool {
    if parse(&network.ip).is_some_and(|ip| is_link_local(&ip)) {
        return false;
    }
    !windows || network.origin == ORIGIN_MANUAL
}

/// Upstream `formatNetworkConfig`: `<mac>:ip:<ip>,<gateway>,<prefix>,<dns,…>`, without a
/// trailing comma when there is no DNS server.
fn format(network: &GuestNetwork, gateway: &str) -> String {
    let dns = network.dns.as_deref().unwrap_or_default().join(",");
    let config = format!(
        "{}:ip:{},{gateway},{},{dns}",
        network.mac, network.ip, network.prefix_length
    );
    config
        .strip_suffix(',')
        .map(str::to_string)
        .unwrap_or(config)
}

/// Upstream `mapMacStaticIps`: the value of `V2V_staticIPs` (empty when there is none).
pub fn static_ips(vm: &Vm) -> String {
    let windows = is_windows(vm);
    let mut networks: Vec<&GuestNetwork> = vm.guest_networks.iter().flatten().collect();
    // Stable: IPv4 first, the rest in order.
    networks.sort_by_key(|network| !parse(&network.ip).is_some_and(|ip| is_v4(&ip)));
    let stacks = vm.guest_ip_stacks.as_deref().unwrap_or_default();
    networks
        .into_iter()
        .filter(|network| should_include(network, windows))
        .map(|network| {
            let gateway = select_gateway(&network.ip, &network.device, stacks, windows);
            format(network, &gateway)
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Upstream's Windows multi-IP check: a MAC with more than one manual address.
pub fn multiple_ips_per_nic(vm: &Vm) -> bool {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for network in vm.guest_networks.iter().flatten() {
        if network.origin == ORIGIN_MANUAL {
            *counts.entry(network.mac.as_str()).or_default() += 1;
        }
    }
    counts.values().any(|count| *count > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(
        device: &str,
        mac: &str,
        ip: &str,
        origin: &str,
        prefix: i64,
        dns: &[&str],
    ) -> GuestNetwork {
        GuestNetwork {
            device: device.into(),
            mac: mac.into(),
            ip: ip.into(),
            origin: origin.into(),
            prefix_length: prefix,
            dns: Some(dns.iter().map(|s| s.to_string()).collect()),
            ..GuestNetwork::default()
        }
    }

    fn stack(device: &str, gateway: &str, network: &str) -> GuestIpStack {
        GuestIpStack {
            device: device.into(),
            gateway: gateway.into(),
            network: network.into(),
            ..GuestIpStack::default()
        }
    }

    fn vm(guest_id: &str, networks: Vec<GuestNetwork>, stacks: Vec<GuestIpStack>) -> Vm {
        Vm {
            guest_id: guest_id.into(),
            guest_networks: Some(networks),
            guest_ip_stacks: Some(stacks),
            ..Vm::default()
        }
    }

    const MANUAL: &str = "manual";

    /// Upstream `builder_test.go` (`shouldIncludeNetwork`).
    #[test]
    fn upstream_should_include_table() {
        for (ip, origin, windows, want) in [
            ("10.0.0.1", MANUAL, false, true),
            ("2620:52::1", MANUAL, false, true),
            ("10.0.0.2", "dhcp", false, true),
            ("2620:52::19", "linklayer", false, true),
            ("169.254.1.1", MANUAL, false, false),
            ("fe80::1", MANUAL, false, false),
            ("192.168.1.1", MANUAL, true, true),
            ("2620:52::baad", MANUAL, true, true),
            ("2620:52::19", "linklayer", true, false),
            ("10.0.0.5", "dhcp", true, false),
            ("fe80::1", "linklayer", true, false),
        ] {
            let n = network("0", "00:11:22:33:44:55", ip, origin, 0, &[]);
            assert_eq!(should_include(&n, windows), want, "{ip} {origin} {windows}");
        }
    }

    /// Upstream `builder_test.go` (`mapMacStaticIps`).
    #[test]
    fn upstream_static_ips_table() {
        assert_eq!(static_ips(&vm("windows9Guest", vec![], vec![])), "");
        let single = vm(
            "windows9Guest",
            vec![network(
                "",
                "00:50:56:83:25:47",
                "172.29.3.193",
                MANUAL,
                16,
                &["8.8.8.8"],
            )],
            vec![stack("", "172.29.3.1", "0.0.0.0")],
        );
        assert_eq!(
            static_ips(&single),
            "00:50:56:83:25:47:ip:172.29.3.193,172.29.3.1,16,8.8.8.8"
        );
        let multiple = vm(
            "windows9Guest",
            vec![
                network(
                    "",
                    "00:50:56:83:25:47",
                    "172.29.3.193",
                    MANUAL,
                    16,
                    &["8.8.8.8"],
                ),
                network(
                    "",
                    "00:50:56:83:25:47",
                    "2001:db8::97",
                    MANUAL,
                    64,
                    &["2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3"],
                ),
            ],
            vec![
                stack("", "172.29.3.1", "0.0.0.0"),
                stack("", "2001:db8::1", "::"),
            ],
        );
        assert_eq!(
            static_ips(&multiple),
            "00:50:56:83:25:47:ip:172.29.3.193,172.29.3.1,16,8.8.8.8_00:50:56:83:25:47:ip:2001:db8::97,2001:db8::1,64,2001:db8:1::1,2001:db8:1::2,2001:db8:1::3"
        );
        let dhcp = vm(
            "windows9Guest",
            vec![network(
                "",
                "00:50:56:83:25:47",
                "172.29.3.193",
                "dhcp",
                0,
                &[],
            )],
            vec![],
        );
        assert_eq!(static_ips(&dhcp), "");
        let mut linux = vm(
            "other",
            vec![network(
                "",
                "00:50:56:83:25:47",
                "172.29.3.193",
                MANUAL,
                0,
                &[],
            )],
            vec![],
        );
        assert_eq!(static_ips(&linux), "00:50:56:83:25:47:ip:172.29.3.193,,0");
        linux.guest_id = String::new();
        assert_eq!(static_ips(&linux), "00:50:56:83:25:47:ip:172.29.3.193,,0");
        let nics = vm(
            "windows9Guest",
            vec![
                network(
                    "0",
                    "00:50:56:83:25:47",
                    "172.29.3.193",
                    MANUAL,
                    16,
                    &["8.8.8.8"],
                ),
                network(
                    "0",
                    "00:50:56:83:25:47",
                    "2620:52:9:162e::97",
                    MANUAL,
                    64,
                    &[
                        "2620:52:9:162e::1",
                        "2620:52:9:162e::2",
                        "2620:52:9:162e::3",
                    ],
                ),
                network(
                    "1",
                    "00:50:56:83:25:48",
                    "172.29.3.192",
                    MANUAL,
                    24,
                    &["4.4.4.4"],
                ),
                network(
                    "1",
                    "00:50:56:83:25:48",
                    "2620:52:9:162e::90",
                    MANUAL,
                    32,
                    &[
                        "2620:52:9:162e::4",
                        "2620:52:9:162e::5",
                        "2620:52:9:162e::6",
                    ],
                ),
            ],
            vec![
                stack("0", "172.29.3.2", "0.0.0.0"),
                stack("0", "2620:52:9:162e::98", "::"),
                stack("1", "172.29.3.1", "0.0.0.0"),
                stack("1", "2620:52:9:162e::95", "::"),
            ],
        );
        assert_eq!(
            static_ips(&nics),
            "00:50:56:83:25:47:ip:172.29.3.193,172.29.3.2,16,8.8.8.8_00:50:56:83:25:48:ip:172.29.3.192,172.29.3.1,24,4.4.4.4_00:50:56:83:25:47:ip:2620:52:9:162e::97,2620:52:9:162e::98,64,2620:52:9:162e::1,2620:52:9:162e::2,2620:52:9:162e::3_00:50:56:83:25:48:ip:2620:52:9:162e::90,2620:52:9:162e::95,32,2620:52:9:162e::4,2620:52:9:162e::5,2620:52:9:162e::6"
        );
    }

    #[test]
    fn gateways_by_family_and_scope() {
        let stacks = [
            stack("0", "fe80::1", "::/0"),
            stack("0", "10.0.0.1", "0.0.0.0/0"),
            stack("0", "10.9.9.9", "10.0.0.0"),
        ];
        assert_eq!(select_gateway("10.0.0.5", "0", &stacks, false), "10.0.0.1");
        // Global IPv6 falls back to a link-local gateway (SLAAC).
        assert_eq!(select_gateway("2620::5", "0", &stacks, false), "fe80::1");
        // Linux skips non-global IPv6; Windows does not.
        assert_eq!(select_gateway("fd00::5", "0", &stacks, false), "");
        assert_eq!(select_gateway("fd00::5", "0", &stacks, true), "");
        assert_eq!(select_gateway("10.0.0.5", "1", &stacks, false), "");
        assert_eq!(select_gateway("not-an-ip", "0", &stacks, false), "");
        let mut windows = vm("windows9Guest", vec![], vec![]);
        assert!(!multiple_ips_per_nic(&windows));
        windows.guest_networks = Some(vec![
            network("0", "m", "10.0.0.1", MANUAL, 24, &[]),
            network("0", "m", "10.0.0.2", MANUAL, 24, &[]),
        ]);
        assert!(multiple_ips_per_nic(&windows));
    }
}
