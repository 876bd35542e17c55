//! Runs the embedded API server until Ctrl-C (a development aid; `ferry apiserver`
//! is the supported command). `cargo run -p ferry-apiserver --example serve -- DIR`
//! stores in DIR; without an argument it keeps everything in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[tokio::main]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let mut b = ferry_apiserver::ApiServer::builder();
    b = match std::env::args().nth(1) {
        Some(dir) => b.data_dir(dir),
        None => b.in_memory(),
    };
    let server = b.start().await.expect("start");
    println!("{}", server.kubeconfig_path().display());
    tokio::signal::ctrl_c().await.expect("ctrl-c");
    server.shutdown().await;
}
