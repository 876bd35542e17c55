//! The seam for the vSphere snapshot a `DeepInspection` reads when the controller owns
//! it (no `SNAPSHOT_MOREF` in `spec.settings`; upstream `client.go`, govmomi). Ferry has
//! no vSphere client yet: [`NotWired`] refuses to create a snapshot with a message that
//! says what to do, and the stages that would poll the vSphere tasks stay in place for
//! the vSphere adapter to fill.

use ferry_api::Conversion;
use futures::future::BoxFuture;

/// Why a snapshot operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// No vSphere client is wired into the Conversion controller.
    #[error(
        "creating vSphere snapshots for deep inspection is not supported yet; set spec.settings.SNAPSHOT_MOREF to an existing snapshot's MoRef"
    )]
    NotSupported,
    /// vSphere refused or the task failed.
    #[error("{0}")]
    Failed(String),
}

/// vSphere snapshot operations for one VM (`spec.vm.id`), as the deep-inspection
/// stages need them.
pub trait Snapshots: Send + Sync {
    /// Submits the snapshot creation; returns the vSphere task ID.
    fn create<'a>(
        &'a self,
        conversion: &'a Conversion,
    ) -> BoxFuture<'a, Result<String, SnapshotError>>;

    /// The created snapshot's MoRef once task `task` finished; `None` while it runs.
    fn created<'a>(
        &'a self,
        conversion: &'a Conversion,
        task: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SnapshotError>>;

    /// Submits the removal of snapshot `moref`; returns the vSphere task ID.
    fn remove<'a>(
        &'a self,
        conversion: &'a Conversion,
        moref: &'a str,
    ) -> BoxFuture<'a, Result<String, SnapshotError>>;

    /// Whether removal task `task` finished.
    fn removed<'a>(
        &'a self,
        conversion: &'a Conversion,
        task: &'a str,
    ) -> BoxFuture<'a, Result<bool, SnapshotError>>;
}

/// No vSphere client: every operation is [`SnapshotError::NotSupported`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NotWired;

impl Snapshots for NotWired {
    fn create<'a>(&'a self, _: &'a Conversion) -> BoxFuture<'a, Result<String, SnapshotError>> {
        Box::pin(std::future::ready(Err(SnapshotError::NotSupported)))
    }

    fn created<'a>(
        &'a self,
        _: &'a Conversion,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SnapshotError>> {
        Box::pin(std::future::ready(Err(SnapshotError::NotSupported)))
    }

    fn remove<'a>(
        &'a self,
        _: &'a Conversion,
        _: &'a str,
    ) -> BoxFuture<'a, Result<String, SnapshotError>> {
        Box::pin(std::future::ready(Err(SnapshotError::NotSupported)))
    }

    fn removed<'a>(
        &'a self,
        _: &'a Conversion,
        _: &'a str,
    ) -> BoxFuture<'a, Result<bool, SnapshotError>> {
        Box::pin(std::future::ready(Err(SnapshotError::NotSupported)))
    }
}
