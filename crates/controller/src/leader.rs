//! Leader election on a `coordination.k8s.io/v1` Lease, for running several replicas:
//! only the holder runs the controllers.
//!
//! The candidate takes the Lease when it does not exist, is its own, or has not been
//! renewed for `leaseDurationSeconds`; every update carries the Lease's resource
//! version, so two candidates cannot both win. The holder renews it every
//! [`Election::renew_every`]; if it cannot renew before the lease would expire, it has
//! lost the lease and must stop (the manager shuts down, the pod restarts and becomes a
//! candidate again). On a clean shutdown the holder gives the lease up so a standby can
//! take over at once.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How to elect.
#[derive(Clone, Debug)]
pub struct Election {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This candidate's identity (the pod name).
    pub identity: String,
    /// How long a lease lasts without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

impl Election {
    /// controller-runtime's timings: 15 s leases, renewed every 5 s; a candidate retries
    /// every 2 s.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// Why an election step failed.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    /// The API server refused or could not be reached.
    #[error("cannot read or write Lease {namespace}/{name}: {source}")]
    Api {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// What one attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// This candidate holds the lease now.
    Held,
    /// Someone else holds a live lease.
    Taken,
}

/// Whether a lease held by someone else has expired at `now` (pure).
pub fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.0.as_second().saturating_add(duration) < now.as_second()
}

fn lease_spec(election: &Election, previous: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
    let ours =
        previous.is_some_and(|spec| spec.holder_identity.as_deref() == Some(&election.identity));
    let transitions = previous
        .and_then(|spec| spec.lease_transitions)
        .unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(election.identity.clone()),
        lease_duration_seconds: Some(
            i32::try_from(election.lease_duration.as_secs()).unwrap_or(i32::MAX),
        ),
        acquire_time: if ours {
            previous.and_then(|spec| spec.acquire_time.clone())
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if ours || previous.is_none() {
            transitions
        } else {
            transitions.saturating_add(1)
        }),
        ..LeaseSpec::default()
    }
}

/// One attempt to take or renew the lease.
pub async fn try_acquire(api: &Api<Lease>, election: &Election) -> Result<Attempt, ElectionError> {
    let error = |source| ElectionError::Api {
        namespace: election.namespace.clone(),
        name: election.name.clone(),
        source,
    };
    let now = Timestamp::now();
    match api.get_opt(&election.name).await.map_err(error)? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(election.name.clone()),
                    namespace: Some(election.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(lease_spec(election, None, now)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held),
                Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(Attempt::Taken),
                Err(source) => Err(error(source)),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            let ours = spec.holder_identity.as_deref() == Some(election.identity.as_str());
            let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
            if !ours && !free && !expired(&spec, now) {
                return Ok(Attempt::Taken);
            }
            lease.spec = Some(lease_spec(election, Some(&spec), now));
            // `replace` sends the resource version read above: a concurrent change wins.
            match api
                .replace(&election.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(Attempt::Held),
                Err(kube::Error::Api(status)) if status.is_conflict() => Ok(Attempt::Taken),
                Err(source) => Err(error(source)),
            }
        }
    }
}

/// Gives the lease up if this candidate holds it.
pub async fn release(api: &Api<Lease>, election: &Election) {
    let Ok(Some(mut lease)) = api.get_opt(&election.name).await else {
        return;
    };
    let spec = lease.spec.clone().unwrap_or_default();
    if spec.holder_identity.as_deref() != Some(election.identity.as_str()) {
        return;
    }
    lease.spec = Some(LeaseSpec {
        holder_identity: None,
        ..spec
    });
    if let Err(error) = api
        .replace(&election.name, &PostParams::default(), &lease)
        .await
    {
        tracing::warn!(%error, "cannot release the leader lease");
    }
}

/// Waits until this candidate holds the lease (or `cancel` fires: `false`).
pub async fn acquire(api: &Api<Lease>, election: &Election, cancel: &CancellationToken) -> bool {
    let retry = election.renew_every.min(Duration::from_secs(2));
    let mut announced = false;
    loop {
        match try_acquire(api, election).await {
            Ok(Attempt::Held) => {
                tracing::info!(lease = %election.name, identity = %election.identity, "leader lease acquired");
                return true;
            }
            Ok(Attempt::Taken) => {
                if !announced {
                    tracing::info!(lease = %election.name, "another replica leads; standing by");
                    announced = true;
                }
            }
            Err(error) => tracing::warn!(%error, "leader election attempt failed"),
        }
        tokio::select! {
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(retry) => {}
        }
    }
}

/// Renews the lease until `cancel` fires; sets `lost` when it could not be renewed in
/// time (then returns).
pub async fn keep(
    api: Api<Lease>,
    election: Election,
    cancel: CancellationToken,
    lost: watch::Sender<bool>,
) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                release(&api, &election).await;
                return;
            }
            () = tokio::time::sleep(election.renew_every) => {}
        }
        match try_acquire(&api, &election).await {
            Ok(Attempt::Held) => last_renewal = tokio::time::Instant::now(),
            Ok(Attempt::Taken) => {
                tracing::error!(lease = %election.name, "leader lease taken by another replica");
                let _ = lost.send(true);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew the leader lease");
                if last_renewal.elapsed() >= election.lease_duration {
                    tracing::error!(lease = %election.name, "leader lease expired");
                    let _ = lost.send(true);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn leases_expire_after_their_duration() {
        let spec = LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(at("2024-05-01T10:00:00Z"))),
            ..LeaseSpec::default()
        };
        assert!(!expired(&spec, at("2024-05-01T10:00:15Z")));
        assert!(expired(&spec, at("2024-05-01T10:00:16Z")));
        assert!(expired(&LeaseSpec::default(), at("2024-05-01T10:00:00Z")));
    }

    #[test]
    fn taking_over_counts_a_transition() {
        let election = Election::new("ns", "lease", "b");
        let now = at("2024-05-01T10:01:00Z");
        let previous = LeaseSpec {
            holder_identity: Some("a".into()),
            lease_transitions: Some(2),
            acquire_time: Some(MicroTime(at("2024-05-01T09:00:00Z"))),
            ..LeaseSpec::default()
        };
        let spec = lease_spec(&election, Some(&previous), now);
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(3));
        assert_eq!(spec.acquire_time, Some(MicroTime(now)));
        let renewed = lease_spec(&election, Some(&spec), at("2024-05-01T10:01:05Z"));
        assert_eq!(renewed.lease_transitions, Some(3));
        assert_eq!(
            renewed.acquire_time,
            Some(MicroTime(now)),
            "a renewal keeps the acquire time"
        );
    }
}
