//! The update loop at the client level: a private property collector with one
//! filter, `WaitForUpdatesEx` with versions, and recovery when the session is
//! renewed (the collector died with the old session, so the watch recreates it
//! and replays the full state, flagged as a resync).

use crate::client::Client;
use crate::error::{Error, FaultKind};
use crate::property::{PropertyFilterSpec, UpdateSet, WaitOptions};
use crate::value::MoRef;

/// One answer of the watch.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchBatch {
    /// The updates.
    pub update: UpdateSet,
    /// This answer starts a full replay (version `""`): every object arrives
    /// as `enter` again, and objects not entered before the first answer with
    /// `truncated == false` are gone. Set on the first answer and after the
    /// collector had to be recreated.
    pub resync: bool,
}

/// Follows a filter's changes (see the module documentation).
///
/// Start the spec from persistent objects (the root folder, as Forklift
/// does): a container view belongs to the session that created it, so a
/// view-based watch cannot be recreated after a re-login.
#[derive(Debug)]
pub struct UpdateWatch {
    client: Client,
    spec: PropertyFilterSpec,
    options: WaitOptions,
    collector: Option<MoRef>,
    generation: u64,
    version: String,
}

impl UpdateWatch {
    /// A watch of `spec`; nothing is created until the first [`next`](Self::next).
    pub fn new(client: Client, spec: PropertyFilterSpec, options: WaitOptions) -> Self {
        Self {
            client,
            spec,
            options,
            collector: None,
            generation: 0,
            version: String::new(),
        }
    }

    /// The version of the last answer (`""` before the first).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The private collector, once created (for `CancelWaitForUpdates` from
    /// another task).
    pub fn collector(&self) -> Option<&MoRef> {
        self.collector.as_ref()
    }

    /// The next answer, or `None` when `max_wait_seconds` passed without a
    /// change. A cancelled wait fails with a `RequestCanceled` fault.
    pub async fn next(&mut self) -> Result<Option<WatchBatch>, Error> {
        // One recreation per call at most: a second failure is the caller's.
        for attempt in 0..2 {
            if self.collector.is_some() && self.client.session_generation() != self.generation {
                self.collector = None;
            }
            let collector = match &self.collector {
                Some(c) => c.clone(),
                None => self.setup().await?,
            };
            let resync = self.version.is_empty();
            match self
                .client
                .wait_for_updates(&collector, &self.version, self.options)
                .await
            {
                Ok(Some(update)) => {
                    self.version = update.version.clone();
                    return Ok(Some(WatchBatch { update, resync }));
                }
                Ok(None) => return Ok(None),
                Err(error) if attempt == 0 && self.lost_collector(&error) => {
                    tracing::info!(%error, "property collector lost with the session; recreating it");
                    self.collector = None;
                }
                Err(error) => return Err(error),
            }
        }
        Err(Error::Protocol {
            method: "WaitForUpdatesEx".into(),
            message: "the property collector could not be recreated".into(),
        })
    }

    /// Cancels a pending wait (the waiting `next` fails with `RequestCanceled`).
    pub async fn cancel(&self) -> Result<(), Error> {
        match &self.collector {
            Some(c) => self.client.cancel_wait_for_updates(c).await,
            None => Ok(()),
        }
    }

    /// Destroys the private collector (and with it the filter).
    pub async fn close(mut self) -> Result<(), Error> {
        match self.collector.take() {
            Some(c) if self.client.session_generation() == self.generation => {
                self.client.destroy_property_collector(&c).await
            }
            _ => Ok(()),
        }
    }

    async fn setup(&mut self) -> Result<MoRef, Error> {
        let generation = self.client.session_generation();
        let collector = self.client.create_property_collector().await?;
        self.client
            .create_filter(&collector, &self.spec, false)
            .await?;
        self.collector = Some(collector.clone());
        self.generation = generation;
        self.version.clear();
        Ok(collector)
    }

    /// After a renewed session the old collector is unknown or unauthenticated.
    fn lost_collector(&self, error: &Error) -> bool {
        let renewed = self.client.session_generation() != self.generation;
        match error.fault_kind() {
            Some(FaultKind::NotAuthenticated) => renewed,
            Some(FaultKind::ManagedObjectNotFound) => true,
            _ => false,
        }
    }
}
