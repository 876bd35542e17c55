//! Small HTTP servers workloads run on their pod's address
//! ([`super::PodRun::listener`]).

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves `router` on `listener` until `stop` is cancelled.
pub fn spawn(listener: TcpListener, router: Router, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::debug!(%error, "workload server stopped");
        }
    })
}
