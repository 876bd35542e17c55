//! A container the sandbox knows nothing about: it "runs" its image for a while (or until
//! deleted) and exits as told.

use std::time::Duration;

use super::{PodRun, Ready};
use crate::cluster::kubelet::status::Exit;

/// Runs for `run_for` (`None`: until deleted), then exits with `exit_code`.
pub async fn run(
    run: &PodRun,
    ready: &mut Ready,
    run_for: Option<Duration>,
    exit_code: i32,
) -> Exit {
    let (name, image) = run
        .main()
        .map(|c| (c.name.clone(), c.image.clone()))
        .unwrap_or_default();
    let log = run.log(&name);
    log.line(format!(
        "ferry sandbox: running image {image} as a stand-in (no real container runs here)"
    ));
    ready.signal();
    match run_for {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending::<()>().await,
    }
    if exit_code == 0 {
        log.line("ferry sandbox: done");
        Exit::success()
    } else {
        log.line(format!(
            "ferry sandbox: exiting with {exit_code} as annotated"
        ));
        Exit::failure(
            exit_code,
            format!("exited with {exit_code} (sandbox.ferry.dev/exit-code)"),
        )
    }
}
