//! Runs a real control plane until Ctrl-C (a development aid, e.g. to try requests
//! with curl or kubectl against kube-apiserver): prints the kubeconfig's path.
//!
//! `cargo run -p ferry-realkube --example control_plane -- [--gc] [--data-dir DIR]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut builder = ferry_realkube::ControlPlane::builder();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--gc" => builder = builder.garbage_collection(),
            "--data-dir" => builder = builder.data_dir(it.next().expect("--data-dir DIR")),
            other => panic!("unknown argument {other}; use [--gc] [--data-dir DIR]"),
        }
    }
    let plane = builder.start().await.unwrap_or_else(|e| panic!("{e}"));
    println!("{}", plane.kubeconfig().display());
    tokio::signal::ctrl_c().await.expect("ctrl-c");
    plane.stop().expect("stop");
}
