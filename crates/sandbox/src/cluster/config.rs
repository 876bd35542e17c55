//! How the simulated cluster is set up: where it keeps data, how fast it goes, what
//! goes wrong.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::faults::{FaultCounts, Faults};
use super::logs::{FileLogs, PodLogs};

/// The name of the sandbox's node.
pub const NODE_NAME: &str = "sandbox";
/// The default StorageClass the sandbox offers.
pub const STORAGE_CLASS: &str = "sandbox-hostpath";
/// Its provisioner: hostPath directories under the data directory.
pub const PROVISIONER: &str = "sandbox.ferry.dev/hostpath";
/// Prefix of the annotations that steer simulated workloads.
pub const ANNOTATION_PREFIX: &str = "sandbox.ferry.dev/";

/// Everything the actors need to know.
#[derive(Clone)]
pub struct ClusterConfig {
    /// The data directory: volumes under `volumes/`, pod logs under `logs/`.
    pub data_dir: PathBuf,
    /// Directories that stand in for NFS shares: an `nfs` PersistentVolume whose path
    /// is (inside) one of these is mounted from it; any other NFS path fails to mount.
    pub shares: Vec<PathBuf>,
    /// Pod IPs.
    pub pod_network: PodNetwork,
    /// The `qemu-img` binary.
    pub qemu_img: PathBuf,
    /// How fast things go.
    pub pace: Pace,
    /// What goes wrong.
    pub faults: Faults,
    /// How often each failure fired.
    pub fault_counts: Arc<FaultCounts>,
    /// Where container output goes.
    pub logs: Arc<dyn PodLogs>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("data_dir", &self.data_dir)
            .field("shares", &self.shares)
            .field("pod_network", &self.pod_network)
            .field("qemu_img", &self.qemu_img)
            .field("pace", &self.pace)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl ClusterConfig {
    /// A configuration with defaults: data under `data_dir`, no shares, a free pod
    /// network, `qemu-img` from `$FERRY_QEMU_IMG` or `PATH`, [`Pace::default`], no
    /// faults, logs in files under `data_dir/logs`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            logs: Arc::new(FileLogs::new(data_dir.join("logs"))),
            shares: Vec::new(),
            pod_network: PodNetwork::pick(&data_dir),
            qemu_img: std::env::var_os("FERRY_QEMU_IMG")
                .map_or_else(|| PathBuf::from("qemu-img"), PathBuf::from),
            pace: Pace::default(),
            faults: Faults::default(),
            fault_counts: Arc::default(),
            data_dir,
        }
    }

    /// Where provisioned volumes live.
    pub fn volumes_dir(&self) -> PathBuf {
        self.data_dir.join("volumes")
    }
}

/// How fast the simulated cluster goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pace {
    /// Simulated transfer and conversion rate, bytes per second of virtual disk; `None`
    /// is as fast as the machine goes. Real work (`qemu-img`) is never sped up, only
    /// slowed down to this rate so progress can be watched.
    pub bytes_per_second: Option<u64>,
    /// How long a pod stays `Pending` (scheduling, image pull) before it runs.
    pub pod_start: Duration,
    /// How long a generic pod of a finite workload runs before it succeeds.
    pub generic_run: Duration,
    /// How often running transfers report progress.
    pub progress_interval: Duration,
    /// Delay before a restarted container starts again (doubles per restart, capped at
    /// eight times this).
    pub restart_backoff: Duration,
    /// Whether virt-v2v pods convert disks with `qemu-img` (the default). Off, they only
    /// size the output images to the disks' OVF capacity: zero-cost work, so a
    /// control-plane benchmark times the controllers rather than `qemu-img`.
    pub convert_disks: bool,
}

impl Default for Pace {
    /// 100 MiB/s, pods start after 200 ms, generic pods run 1 s, progress every 500 ms.
    fn default() -> Self {
        Self {
            bytes_per_second: Some(100 << 20),
            pod_start: Duration::from_millis(200),
            generic_run: Duration::from_secs(1),
            progress_interval: Duration::from_millis(500),
            restart_backoff: Duration::from_secs(1),
            convert_disks: true,
        }
    }
}

impl Pace {
    /// As fast as possible: for tests.
    pub fn fast() -> Self {
        Self {
            bytes_per_second: None,
            pod_start: Duration::from_millis(10),
            generic_run: Duration::from_millis(50),
            progress_interval: Duration::from_millis(100),
            restart_backoff: Duration::from_millis(100),
            convert_disks: true,
        }
    }

    /// The least time moving `bytes` may take at this pace.
    pub fn min_duration(&self, bytes: u64) -> Duration {
        match self.bytes_per_second {
            Some(rate) if rate > 0 => Duration::from_secs_f64(bytes as f64 / rate as f64),
            _ => Duration::ZERO,
        }
    }
}

/// The pod network: `127.N.0.0/16`, one loopback address per pod, so in-process
/// workloads listen on their pod's real ports (8080, 2112, 8443) at its IP. All of
/// `127.0.0.0/8` is loopback on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodNetwork {
    /// `N`, the second octet.
    pub octet: u8,
}

impl PodNetwork {
    /// The first octet value tried by [`PodNetwork::pick`].
    const FIRST: u8 = 64;

    /// A network for a sandbox in `data_dir`: starting from an octet derived from the
    /// path and the process (sandboxes started together spread out; a sandbox keeps its
    /// network across restarts by recording it), the first whose first address is free.
    /// Two sandboxes that do share a network never share an address: addresses are
    /// held by bound ports ([`super::kubelet::ips::Ports`]).
    pub fn pick(data_dir: &Path) -> Self {
        let seed = format!("{}\0{}", data_dir.display(), std::process::id());
        let hash = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let span = 254 - u16::from(Self::FIRST);
        let start = (hash % u64::from(span)) as u16;
        for step in 0..span {
            let octet = (u16::from(Self::FIRST) + (start + step) % span) as u8;
            let network = Self { octet };
            if TcpListener::bind((network.address(1), 8080)).is_ok() {
                return network;
            }
        }
        Self { octet: Self::FIRST }
    }

    /// The pod address with host number `host` (1-based, up to 65 533).
    pub fn address(&self, host: u16) -> Ipv4Addr {
        let [hi, lo] = host.to_be_bytes();
        Ipv4Addr::new(127, self.octet, hi, lo)
    }

    /// The host number of `ip` if it is in this network.
    pub fn host(&self, ip: Ipv4Addr) -> Option<u16> {
        let [a, b, c, d] = ip.octets();
        (a == 127 && b == self.octet).then(|| u16::from_be_bytes([c, d]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        let n = PodNetwork { octet: 77 };
        assert_eq!(n.address(1), Ipv4Addr::new(127, 77, 0, 1));
        assert_eq!(n.address(258), Ipv4Addr::new(127, 77, 1, 2));
        assert_eq!(n.host(Ipv4Addr::new(127, 77, 1, 2)), Some(258));
        assert_eq!(n.host(Ipv4Addr::new(127, 78, 1, 2)), None);
        let picked = PodNetwork::pick(Path::new("/some/dir"));
        assert!((64..254).contains(&picked.octet));
    }

    #[test]
    fn pace_bounds_durations() {
        let pace = Pace {
            bytes_per_second: Some(1 << 20),
            ..Pace::fast()
        };
        assert_eq!(pace.min_duration(2 << 20), Duration::from_secs(2));
        assert_eq!(Pace::fast().min_duration(1 << 40), Duration::ZERO);
    }
}
