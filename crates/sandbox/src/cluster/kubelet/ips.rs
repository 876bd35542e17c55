//! Pod IPs: one loopback address per running pod in the [`PodNetwork`], lowest free
//! first, never one another process already listens on.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};

use crate::cluster::config::PodNetwork;

/// The addresses in use.
#[derive(Debug)]
pub struct IpPool {
    network: PodNetwork,
    used: BTreeSet<u16>,
}

/// Ports the sandbox's workloads listen on; an address where one is taken is skipped.
pub const WORKLOAD_PORTS: &[u16] = &[8080, 2112, 8443];

impl IpPool {
    /// An empty pool.
    pub fn new(network: PodNetwork) -> Self {
        Self {
            network,
            used: BTreeSet::new(),
        }
    }

    /// Marks `ip` used (a pod that already has it); false if it is not in the network.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        match self.network.host(ip) {
            Some(host) if host != 0 => {
                self.used.insert(host);
                true
            }
            _ => false,
        }
    }

    /// Frees `ip`.
    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Some(host) = self.network.host(ip) {
            self.used.remove(&host);
        }
    }

    /// The lowest free address whose workload ports are free; `None` when the network is
    /// exhausted.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let mut host: u16 = 1;
        while host < u16::MAX - 1 {
            if !self.used.contains(&host) {
                let ip = self.network.address(host);
                self.used.insert(host);
                if WORKLOAD_PORTS
                    .iter()
                    .all(|port| TcpListener::bind((ip, *port)).is_ok())
                {
                    return Some(ip);
                }
                // Someone else listens there: leave it marked and move on.
            }
            host += 1;
        }
        None
    }

    /// Addresses in use.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    /// Whether none is in use.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_lowest_free_and_reuses() {
        let network = PodNetwork::pick(std::path::Path::new("/ips-test"));
        let mut pool = IpPool::new(network);
        assert!(pool.reserve(network.address(1)));
        let a = pool.allocate().unwrap();
        let b = pool.allocate().unwrap();
        assert_ne!(a, b);
        assert!(network.host(a).unwrap() >= 2);
        pool.release(a);
        assert_eq!(pool.allocate(), Some(a));
        assert!(!pool.reserve(Ipv4Addr::new(10, 0, 0, 1)));
        // An address where a workload port is taken is skipped.
        let c = pool.allocate().unwrap();
        let holder =
            TcpListener::bind((network.address(network.host(c).unwrap() + 1), 8080)).unwrap();
        let d = pool.allocate().unwrap();
        assert_ne!(
            d,
            holder
                .local_addr()
                .map(|a| match a.ip() {
                    std::net::IpAddr::V4(v4) => v4,
                    std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                })
                .unwrap()
        );
    }
}
