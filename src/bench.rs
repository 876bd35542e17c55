//! `ferry bench`: the benchmarks of `BENCHMARKS.md` (the work is in `ferry-bench`).
//! Progress goes to stderr; the last (and only) line on stdout is the report, one JSON
//! object.

use std::path::PathBuf;
use std::time::Duration;

use ferry_bench::controller::ControllerMode;
use ferry_bench::requests::RequestLog;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Options of `ferry bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, clap::Subcommand)]
enum Bench {
    /// One migration of N OVA VMs in a sandbox with zero-delay work: time to Succeeded,
    /// the controllers' API requests, memory and CPU, the Plan's size, idle cost.
    ControlPlane(ControlPlaneArgs),
    /// A streamOptimized VMDK in an OVA converted to raw by the sandbox's conversion
    /// path, against `qemu-img convert` and `cat`.
    DataPath(DataPathArgs),
}

#[derive(Debug, clap::Args)]
struct ControlPlaneArgs {
    /// VMs in the plan.
    #[arg(long, value_name = "N", default_value_t = 1)]
    vms: usize,
    /// MAX_VM_INFLIGHT for the controllers.
    #[arg(long, value_name = "K", default_value_t = 20)]
    max_inflight: i64,
    /// Keep the sandbox's data here [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Length of each idle window (Ready plan, finished plan); 0 skips them.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    idle_seconds: u64,
    /// Pause before each idle window and after Succeeded.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    settle_seconds: u64,
    /// The longest the migration may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    timeout_seconds: u64,
    /// Run the controllers in this process (no memory or CPU figures).
    #[arg(long)]
    in_process: bool,
    /// The `ferry` binary to run as `ferry controller` [default: this one].
    #[arg(long, value_name = "PATH")]
    controller_bin: Option<PathBuf>,
    /// Write every API request of the migration, timed, to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Run on the real kube-apiserver and etcd from BINDIR (tools/kube/build.sh prints
    /// it) instead of the embedded server; requests are counted from its audit log.
    #[arg(long, value_name = "BINDIR")]
    kube_bin: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct DataPathArgs {
    /// The virtual disk's size in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    size_mib: u64,
    /// Runs of the three measurements.
    #[arg(long, value_name = "N", default_value_t = 2)]
    runs: usize,
    /// Working directory [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `ferry bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let requests = RequestLog::new();
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    // kube-rs logs each failed request at ERROR; the benchmark reports
                    // failures itself (the real control plane's readiness probe fails
                    // a few times while it starts).
                    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                        tracing_subscriber::EnvFilter::new("warn,kube_client::client::builder=off")
                    }),
                ),
        )
        .with(requests.layer())
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut progress = std::io::stderr();
    let json = rt.block_on(async move {
        match args.bench {
            Bench::ControlPlane(args) => {
                let mode = if args.in_process {
                    ControllerMode::InProcess
                } else {
                    ControllerMode::Process {
                        binary: match args.controller_bin {
                            Some(path) => path,
                            None => std::env::current_exe()?,
                        },
                    }
                };
                let mut options = ferry_bench::control_plane::ControlPlaneOptions::new(
                    args.vms,
                    args.max_inflight,
                    mode,
                );
                options.data_dir = args.data_dir;
                options.idle = Duration::from_secs(args.idle_seconds);
                options.settle = Duration::from_secs(args.settle_seconds);
                options.timeout = Duration::from_secs(args.timeout_seconds);
                options.requests = Some(requests);
                options.trace = args.trace;
                options.kube_bin = args.kube_bin;
                let report = ferry_bench::control_plane::run(&options, &mut progress).await?;
                anyhow::Ok(serde_json::to_string(&report)?)
            }
            Bench::DataPath(args) => {
                let options = ferry_bench::data_path::DataPathOptions {
                    size_bytes: args.size_mib.saturating_mul(1 << 20),
                    runs: args.runs,
                    dir: args.dir,
                    ..Default::default()
                };
                let report = ferry_bench::data_path::run(&options, &mut progress).await?;
                anyhow::Ok(serde_json::to_string(&report)?)
            }
        }
    })?;
    println!("{json}");
    Ok(())
}
