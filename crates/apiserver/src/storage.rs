//! Durable storage behind a small trait: a redb file, or nothing at all (in memory).
//!
//! The server keeps every object in memory (see [`crate::store`]) and uses the
//! backend only to make writes durable and to reload them at start-up. A commit is a
//! batch of puts and deletes plus the cluster-wide resourceVersion they reach; it is
//! one ACID transaction, fsynced before it returns, so an acknowledged write survives
//! `kill -9` and the resourceVersion counter never goes backwards.
//!
//! Why redb: pure Rust (no C toolchain, quick to build), ACID with copy-on-write
//! B-trees (no WAL replay: a crashed file opens consistent), one file, and a
//! single-writer model that matches the server's single commit thread. SQLite would
//! add a C build and SQL for what is a key-value workload; sled is unmaintained.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A storage failure; the server answers the request that hit it with a 500.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database file could not be opened or created.
    #[error("cannot open the database at {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: redb::Error,
    },
    /// Another process, or a server of this one not stopped yet, has the data
    /// directory's database open.
    #[error(
        "the database at {0} is in use (is another `ferry apiserver` running on this data directory, or a server in this process not stopped yet?)"
    )]
    InUse(PathBuf),
    /// A transaction failed.
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// A stored value could not be read back.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One change in a commit.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Store `value` under `key`.
    Put {
        /// `group/resource/namespace/name`.
        key: String,
        /// The object's JSON.
        value: Arc<[u8]>,
    },
    /// Remove `key`.
    Delete {
        /// `group/resource/namespace/name`.
        key: String,
    },
}

/// What a backend holds at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every stored object, as `(key, JSON)`, in key order.
    pub objects: Vec<(String, Vec<u8>)>,
    /// The highest resourceVersion ever committed.
    pub resource_version: u64,
}

/// Durable storage for the server's objects.
pub trait Backend: Send + Sync + 'static {
    /// Reads everything back (at start-up).
    fn load(&self) -> Result<Loaded, StorageError>;
    /// Applies `batch` and records `resource_version` atomically and durably.
    fn commit(&self, batch: &[Mutation], resource_version: u64) -> Result<(), StorageError>;
    /// A short description for logs (`memory`, `redb:/path`).
    fn describe(&self) -> String;
}

/// No durability at all: for fast tests and throw-away servers.
#[derive(Debug, Default)]
pub struct MemoryBackend;

impl Backend for MemoryBackend {
    fn load(&self) -> Result<Loaded, StorageError> {
        Ok(Loaded::default())
    }

    fn commit(&self, _batch: &[Mutation], _resource_version: u64) -> Result<(), StorageError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".to_string()
    }
}

const OBJECTS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("objects");
const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
const RV_KEY: &str = "resourceVersion";

/// A redb database file.
pub struct RedbBackend {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbBackend")
            .field("path", &self.path)
            .finish()
    }
}

impl RedbBackend {
    /// Opens (or creates) the database file at `path`.
    /// The file holds Secrets, so it is created (and kept) readable by its owner only.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        restrict_to_owner(path).map_err(|source| StorageError::Open {
            path: path.to_path_buf(),
            source: redb::Error::Io(source),
        })?;
        let db = redb::Database::builder()
            // Objects are served from memory; the cache only helps commits.
            .set_cache_size(16 * 1024 * 1024)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StorageError::InUse(path.to_path_buf()),
                other => StorageError::Open {
                    path: path.to_path_buf(),
                    source: other.into(),
                },
            })?;
        // Make sure the tables exist so that reads never meet a missing table.
        let tx = db.begin_write().map_err(redb::Error::from)?;
        {
            tx.open_table(OBJECTS).map_err(redb::Error::from)?;
            tx.open_table(META).map_err(redb::Error::from)?;
        }
        tx.commit().map_err(redb::Error::from)?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
        })
    }
}

/// Creates `path` with mode 0600 if it is missing, and narrows it to 0600 if not.
#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

/// Elsewhere the platform's defaults apply.
#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

impl Backend for RedbBackend {
    fn load(&self) -> Result<Loaded, StorageError> {
        use redb::{ReadableDatabase, ReadableTable};
        let tx = self.db.begin_read().map_err(redb::Error::from)?;
        let meta = tx.open_table(META).map_err(redb::Error::from)?;
        let resource_version = meta
            .get(RV_KEY)
            .map_err(redb::Error::from)?
            .map(|v| v.value())
            .unwrap_or(0);
        let table = tx.open_table(OBJECTS).map_err(redb::Error::from)?;
        let mut objects = Vec::new();
        for entry in table.iter().map_err(redb::Error::from)? {
            let (k, v) = entry.map_err(redb::Error::from)?;
            objects.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(Loaded {
            objects,
            resource_version,
        })
    }

    fn commit(&self, batch: &[Mutation], resource_version: u64) -> Result<(), StorageError> {
        let tx = self.db.begin_write().map_err(redb::Error::from)?;
        {
            let mut table = tx.open_table(OBJECTS).map_err(redb::Error::from)?;
            for m in batch {
                match m {
                    Mutation::Put { key, value } => {
                        table
                            .insert(key.as_str(), &value[..])
                            .map_err(redb::Error::from)?;
                    }
                    Mutation::Delete { key } => {
                        table.remove(key.as_str()).map_err(redb::Error::from)?;
                    }
                }
            }
            let mut meta = tx.open_table(META).map_err(redb::Error::from)?;
            meta.insert(RV_KEY, resource_version)
                .map_err(redb::Error::from)?;
        }
        tx.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("redb:{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_round_trips_objects_and_resource_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let b = RedbBackend::open(&path).unwrap();
            b.commit(
                &[
                    Mutation::Put {
                        key: "/configmaps/default/a".into(),
                        value: Arc::from(&b"{}"[..]),
                    },
                    Mutation::Put {
                        key: "/configmaps/default/b".into(),
                        value: Arc::from(&b"{\"x\":1}"[..]),
                    },
                ],
                7,
            )
            .unwrap();
            b.commit(
                &[Mutation::Delete {
                    key: "/configmaps/default/a".into(),
                }],
                8,
            )
            .unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the database holds Secrets");
        }
        let b = RedbBackend::open(&path).unwrap();
        let loaded = b.load().unwrap();
        assert_eq!(loaded.resource_version, 8);
        assert_eq!(loaded.objects.len(), 1);
        assert_eq!(loaded.objects[0].0, "/configmaps/default/b");
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let _first = RedbBackend::open(&path).unwrap();
        match RedbBackend::open(&path) {
            Err(StorageError::InUse(_)) => {}
            other => panic!("expected InUse, got {other:?}"),
        }
    }
}
