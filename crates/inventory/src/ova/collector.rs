//! The OVA collector (I/O): keeps a [`Snapshot`] of the catalog directory current by
//! rescanning it on a timer, re-reading only the files that changed.
//!
//! Why a timer and not a directory watch: the catalog is an NFS share in production,
//! and inotify (what the `notify` crate uses on Linux) does not report changes made by
//! other NFS clients, which is precisely how appliances arrive. A timer works on every
//! file system, costs one directory walk plus one `stat` per appliance per pass (a few
//! milliseconds for a thousand files), and needs no extra dependency. Each file's
//! parsed result is cached under its path, size and modification time, so unchanged
//! files are never re-read; a pass over an unchanged catalog reads no file content.
//! The pass after a file was skipped for settling is scheduled for when it settles, and
//! [`OvaInventory::refresh`] asks for a pass at once (the sandbox uses it after copying
//! appliances).
//!
//! Scans run on a blocking thread; queries never wait for a scan, they read the latest
//! snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use super::archive::{self, Limits, ReadError};
use super::convert::{self, Appliance, ApplianceKind};
use super::discovery::{self, Candidate};
use super::ovf;
use super::snapshot::{Loaded, Outcome, Snapshot, assemble};
use crate::query::{Change, InventoryStatus, Problem};

/// How a catalog is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// The catalog directory on this machine (the NFS share's mount point).
    pub root: PathBuf,
    /// How the conversion pod sees `root`: paths in the inventory (`ovfPath`,
    /// `FilePath`, disk IDs) start with it. Upstream mounts the share at `/ova`, and disk
    /// IDs hash the path, so keep `/ova` for IDs that match Forklift's.
    pub mount_path: String,
    /// How long after its last modification a file is first read (upstream: 30 s).
    pub settle: Duration,
    /// How often the catalog is rescanned.
    pub rescan_interval: Duration,
    /// Bounds on reading one appliance.
    pub limits: Limits,
}

impl CatalogConfig {
    /// A catalog at `root`, with upstream's `/ova` mount path and 30 s settle time, and
    /// a 10 s rescan interval.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            mount_path: "/ova".into(),
            settle: Duration::from_secs(30),
            rescan_interval: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Appliance files considered.
    pub files: usize,
    /// Of those, files read and parsed in this pass (the others came from the cache).
    pub parsed: usize,
    /// Resource changes published.
    pub changes: usize,
    /// When a file still settling may be read.
    pub next_settle: Option<Duration>,
}

/// Why a pass failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The catalog root cannot be read.
    #[error(transparent)]
    Catalog(#[from] discovery::DiscoveryError),
}

struct CacheEntry {
    path: PathBuf,
    len: u64,
    modified: SystemTime,
    outcome: Outcome,
}

/// The inventory of one OVA provider: the catalog's current snapshot, its collector
/// state and change feed. Implements [`crate::query::Inventory`] and
/// [`crate::rest::Collections`].
pub struct OvaInventory {
    config: CatalogConfig,
    snapshot: RwLock<Arc<Snapshot>>,
    cache: Mutex<HashMap<String, CacheEntry>>,
    status: watch::Sender<InventoryStatus>,
    changes: broadcast::Sender<Change>,
    wake: Notify,
}

/// Capacity of the change feed; a slower subscriber gets `Lagged` and re-reads.
const CHANGE_CAPACITY: usize = 4096;

impl OvaInventory {
    /// An inventory with nothing loaded yet; call [`OvaInventory::scan`] or
    /// [`OvaInventory::spawn`].
    pub fn new(config: CatalogConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            cache: Mutex::new(HashMap::new()),
            status: watch::Sender::new(InventoryStatus::default()),
            changes: broadcast::Sender::new(CHANGE_CAPACITY),
            wake: Notify::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CatalogConfig {
        &self.config
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn status_receiver(&self) -> watch::Receiver<InventoryStatus> {
        self.status.subscribe()
    }

    pub(crate) fn change_receiver(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Asks the running collector for a pass now.
    pub fn refresh(&self) {
        self.wake.notify_one();
    }

    /// Runs the collector: a pass now, then one every rescan interval (sooner when a
    /// file is settling or [`OvaInventory::refresh`] is called). Aborted when the
    /// returned handle is dropped.
    pub fn spawn(self: &Arc<Self>) -> CollectorTask {
        let inventory = Arc::clone(self);
        CollectorTask(tokio::spawn(async move { inventory.run().await }))
    }

    async fn run(self: Arc<Self>) {
        loop {
            let inventory = Arc::clone(&self);
            let next = match tokio::task::spawn_blocking(move || inventory.scan()).await {
                Ok(Ok(report)) => report.next_settle,
                Ok(Err(_)) => None,
                Err(join) => {
                    tracing::error!(error = %join, "OVA catalog scan panicked");
                    None
                }
            };
            let interval = self.config.rescan_interval;
            // A little after the file settles, so its age is past the settle time.
            let wait = next.map_or(interval, |settle| {
                interval.min(settle + Duration::from_millis(50))
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// One pass, on the calling thread (blocking I/O): walk the catalog, read what
    /// changed, publish the new snapshot, status and changes.
    pub fn scan(&self) -> Result<ScanReport, ScanError> {
        let config = &self.config;
        let discovered = match discovery::discover(
            &config.root,
            &config.mount_path,
            config.settle,
            SystemTime::now(),
        ) {
            Ok(discovered) => discovered,
            Err(error) => {
                tracing::warn!(root = %config.root.display(), %error, "OVA catalog unreadable");
                self.status.send_modify(|status| {
                    status.parity = false;
                    status.generation += 1;
                    status.error = Some(error.to_string());
                });
                return Err(error.into());
            }
        };
        let canonical_root =
            std::fs::canonicalize(&config.root).unwrap_or_else(|_| config.root.clone());
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next_cache = HashMap::with_capacity(discovered.candidates.len());
        let mut parsed = 0;
        for candidate in &discovered.candidates {
            let entry = match cache.remove(&candidate.relative) {
                Some(entry)
                    if entry.len == candidate.len
                        && entry.modified == candidate.modified
                        && entry.path == candidate.path =>
                {
                    entry
                }
                _ => {
                    parsed += 1;
                    CacheEntry {
                        path: candidate.path.clone(),
                        len: candidate.len,
                        modified: candidate.modified,
                        outcome: self.load(candidate, &canonical_root),
                    }
                }
            };
            next_cache.insert(candidate.relative.clone(), entry);
        }
        *cache = next_cache;
        let outcomes: Vec<&Outcome> = discovered
            .candidates
            .iter()
            .filter_map(|candidate| cache.get(&candidate.relative))
            .map(|entry| &entry.outcome)
            .collect();
        let previous = self.snapshot();
        let (next, changes) = assemble(&outcomes, discovered.problems, &previous);
        drop(cache);
        for problem in &next.problems {
            if !previous.problems.contains(problem) {
                tracing::warn!(
                    subject = %problem.subject,
                    reason = problem.reason,
                    "OVA catalog: {}",
                    problem.message
                );
            }
        }
        tracing::debug!(
            files = discovered.candidates.len(),
            parsed,
            vms = next.vms.len(),
            changes = changes.len(),
            "OVA catalog scanned"
        );
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        self.status.send_modify(|status| {
            status.parity = true;
            status.generation += 1;
            status.error = None;
        });
        let report = ScanReport {
            files: discovered.candidates.len(),
            parsed,
            changes: changes.len(),
            next_settle: discovered.next_settle,
        };
        for change in changes {
            // No subscriber is not an error.
            let _ = self.changes.send(change);
        }
        Ok(report)
    }

    /// Reads, parses and converts one appliance file.
    fn load(&self, candidate: &Candidate, canonical_root: &std::path::Path) -> Outcome {
        let ovf_path = discovery::subject(&self.config.mount_path, &candidate.relative);
        let limits = &self.config.limits;
        let fail = |reason: &'static str, message: String| Problem {
            subject: ovf_path.clone(),
            reason,
            message,
        };
        let from_read = |error: ReadError| fail(error.reason(), error.to_string());
        let (xml, present_files, unsafe_entries, damage) = match candidate.kind {
            ApplianceKind::Ova => {
                let read = archive::read_ova(&candidate.path, limits).map_err(from_read)?;
                let members = read.members;
                (
                    read.xml,
                    Some(members.files),
                    members.unsafe_members,
                    members.damage,
                )
            }
            ApplianceKind::Ovf => (
                archive::read_ovf(&candidate.path, limits).map_err(from_read)?,
                None,
                Vec::new(),
                None,
            ),
        };
        let envelope = ovf::parse(&xml, limits.max_xml_nodes).map_err(|error| {
            let reason = match error {
                ovf::OvfError::Dtd => "DescriptorHasDtd",
                ovf::OvfError::TooManyNodes { .. } => "DescriptorTooLarge",
                ovf::OvfError::Xml(_) => "DescriptorMalformed",
                ovf::OvfError::NotAnEnvelope(_) => "DescriptorNotOvf",
            };
            fail(reason, error.to_string())
        })?;
        let present_files = present_files.unwrap_or_else(|| {
            // Next to the descriptor as the conversion sees it (a linked descriptor's
            // disks are looked up beside the link, not beside its target).
            let beside = canonical_root.join(&candidate.relative);
            let dir = beside.parent().unwrap_or(canonical_root);
            archive::files_beside(
                dir,
                canonical_root,
                envelope.files.iter().map(String::as_str),
            )
        });
        let mut problems = Vec::new();
        if envelope.has_system_collection {
            problems.push(fail(
                "VirtualSystemCollectionIgnored",
                "the descriptor holds a VirtualSystemCollection; only VirtualSystems directly \
                 in the Envelope are VMs (as in Forklift), so the collection's systems are not \
                 listed. Export them as separate appliances"
                    .into(),
            ));
        }
        if envelope.systems.is_empty() && !envelope.has_system_collection {
            problems.push(fail(
                "DescriptorHasNoVm",
                "the descriptor has no VirtualSystem, so it describes no VM".into(),
            ));
        }
        let appliance = Appliance {
            ovf_path,
            kind: candidate.kind,
            envelope,
            present_files,
            unsafe_entries,
            damage,
        };
        Ok(Arc::new(Loaded {
            converted: convert::convert(&appliance),
            problems,
        }))
    }
}

/// The running collector; aborts it when dropped.
#[derive(Debug)]
pub struct CollectorTask(JoinHandle<()>);

impl Drop for CollectorTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
