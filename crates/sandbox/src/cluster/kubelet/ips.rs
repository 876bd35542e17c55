//! Pod IPs: one loopback address per running pod in the [`PodNetwork`], lowest free
//! first, never one another process already listens on.
//!
//! An address comes with its workload ports already bound ([`Ports`]): the workloads
//! take those sockets, so no other process (say, another sandbox that picked the same
//! network) can take the address between its allocation and the workload's start. The
//! sockets are bound but not listening until a workload takes them, so a client that
//! calls a port early is refused at once, as it is by a real pod whose server has not
//! started (the plan controller reads "connection refused" as "not yet").

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use crate::cluster::config::PodNetwork;
use tokio::net::TcpSocket;

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

    /// The lowest free address, with its workload ports bound; `None` when the network
    /// is exhausted.
    pub fn allocate(&mut self) -> Option<(Ipv4Addr, Ports)> {
        let mut host: u16 = 1;
        while host < u16::MAX - 1 {
            if !self.used.contains(&host) {
                let ip = self.network.address(host);
                self.used.insert(host);
                if let Some(ports) = Ports::bind(ip) {
                    return Some((ip, ports));
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

/// The workload ports of one pod address, bound (not listening) until a workload takes
/// them.
#[derive(Debug, Default)]
pub struct Ports(Mutex<HashMap<u16, TcpSocket>>);

impl Ports {
    /// Binds every workload port of `ip`; `None` if one is taken.
    pub fn bind(ip: Ipv4Addr) -> Option<Self> {
        let mut bound = HashMap::new();
        for port in WORKLOAD_PORTS {
            let socket = TcpSocket::new_v4().ok()?;
            socket.bind(SocketAddr::from((ip, *port))).ok()?;
            bound.insert(*port, socket);
        }
        Some(Self(Mutex::new(bound)))
    }

    /// The socket of `port`, if still held; the workload starts listening on it.
    pub fn take(&self, port: u16) -> Option<TcpSocket> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_port_refuses_until_a_workload_listens() {
        let network = PodNetwork::pick(std::path::Path::new("/ips-refuse-test"));
        let mut pool = IpPool::new(network);
        let (ip, ports) = pool.allocate().unwrap();
        let refused = tokio::net::TcpStream::connect((ip, 8080))
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        let listener = ports.take(8080).unwrap().listen(8).unwrap();
        let (connected, accepted) = tokio::join!(
            tokio::net::TcpStream::connect((ip, 8080)),
            listener.accept()
        );
        assert!(connected.is_ok() && accepted.is_ok());
    }

    #[test]
    fn allocates_lowest_free_and_reuses() {
        let network = PodNetwork::pick(std::path::Path::new("/ips-test"));
        let mut pool = IpPool::new(network);
        assert!(pool.reserve(network.address(1)));
        let (a, a_ports) = pool.allocate().unwrap();
        let (b, _b_ports) = pool.allocate().unwrap();
        assert!(a_ports.take(8080).is_some() && a_ports.take(8080).is_none());
        drop(a_ports);
        assert_ne!(a, b);
        assert!(network.host(a).unwrap() >= 2);
        pool.release(a);
        assert_eq!(pool.allocate().map(|(ip, _)| ip), Some(a));
        assert!(!pool.reserve(Ipv4Addr::new(10, 0, 0, 1)));
        // An address where a workload port is taken is skipped.
        let (c, _c_ports) = pool.allocate().unwrap();
        let holder =
            std::net::TcpListener::bind((network.address(network.host(c).unwrap() + 1), 8080))
                .unwrap();
        let (d, _d_ports) = pool.allocate().unwrap();
        // Another pool on the same network (another sandbox) skips the held addresses.
        let mut other = IpPool::new(network);
        other.reserve(network.address(1));
        let (x, _x_ports) = other.allocate().unwrap();
        assert!(![b, c, d].contains(&x), "{x} is held by the first pool");
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
