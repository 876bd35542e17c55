//! Subcommands of the `ferry` binary.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Ferry: moves virtual machines into KubeVirt, speaking Forklift's API.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print Ferry's version and the Forklift API version it serves.
    Version,
    /// Print the CustomResourceDefinitions Ferry serves (all Forklift kinds) as
    /// multi-document YAML, ready for `kubectl apply -f -`.
    Crds,
    /// Run Ferry's controllers (Provider, maps, Hook, Host, Migration, Plan) against a
    /// cluster, with `/metrics`, `/healthz` and `/readyz`; settings come from the
    /// environment and the ForkliftController (docs/settings.md).
    Controller(ControllerArgs),
    /// A whole cluster on this machine: the API server, simulated CDI, KubeVirt and
    /// pods, Ferry's controllers and an OVA inventory; migrates sample VMs with live
    /// progress, then serves for kubectl until Ctrl-C. --kube-bin runs it on the real
    /// kube-apiserver and etcd.
    Sandbox(Box<SandboxArgs>),
    /// Run the embedded Kubernetes-compatible API server standalone; prints the
    /// path of the kubeconfig it writes (mode 0600) for kubectl and controllers.
    Apiserver(ApiserverArgs),
    /// Benchmarks (BENCHMARKS.md): `control-plane` and `data-path`; prints one JSON line.
    Bench(crate::bench::BenchArgs),
}

/// Options of `ferry controller`.
#[derive(Debug, clap::Args)]
struct ControllerArgs {
    /// A kubeconfig to use instead of the in-cluster configuration (default: in-cluster,
    /// else $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<std::path::PathBuf>,
    /// Address of the metrics and health server [default: 0.0.0.0:$METRICS_PORT].
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Run only while holding the leader Lease (as FERRY_LEADER_ELECTION=true).
    #[arg(long)]
    leader_elect: bool,
}

fn run_controller(args: ControllerArgs) -> anyhow::Result<()> {
    use ferry_controller::manager::{self, ClientSource, ManagerConfig};
    let from_env = ferry_controller::Settings::from_env(None)?;
    ferry_controller::telemetry::init(&from_env.manager);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let source = match args.kubeconfig {
            Some(path) => ClientSource::Kubeconfig(path),
            None => ClientSource::Infer,
        };
        let client = manager::connect(source).await?;
        let mut settings = manager::load_settings(&client).await?;
        settings.manager.leader_election |= args.leader_elect;
        let addr = args.metrics_addr.unwrap_or_else(|| {
            std::net::SocketAddr::from(([0, 0, 0, 0], settings.manager.metrics_port))
        });
        let mut config = ManagerConfig::new(ClientSource::Client(client));
        config.settings = Some(settings);
        config.http = Some(addr);
        manager::run(config).await?;
        anyhow::Ok(())
    })
}

/// Options of `ferry sandbox`.
#[derive(Debug, clap::Args)]
struct SandboxArgs {
    /// State, images, DIR/kubeconfig and DIR/endpoints.json; a second run resumes
    /// [default: ~/.local/share/ferry/sandbox]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Run on the real kube-apiserver and etcd from this directory (what
    /// tools/kube/build.sh prints), with kube-controller-manager for garbage
    /// collection, namespaces, ServiceAccounts and PV/PVC protection, instead of
    /// Ferry's embedded API server; their state goes to DIR/kube
    #[arg(long, value_name = "BINDIR")]
    kube_bin: Option<std::path::PathBuf>,
    /// The OVA catalog directory [default: sample appliances in DIR/catalog]
    #[arg(long, value_name = "DIR")]
    catalog: Option<std::path::PathBuf>,
    /// Start everything and create only the two Providers, then wait.
    #[arg(long)]
    no_demo: bool,
    /// Exit when the demo plan ends: 0 when it succeeded.
    #[arg(long)]
    exit_when_done: bool,
    /// How many VMs the demo plan migrates [default: every VM of the catalog]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    vms: Option<u16>,
    /// Simulated disk transfer rate in MiB/s; 0 is as fast as the machine goes.
    #[arg(long, value_name = "MIBPS", default_value_t = 100)]
    speed: u64,
    /// Fail the conversion of a disk: the source VM's name and the disk number.
    #[arg(long, value_name = "VM:DISK")]
    fail_disk: Vec<String>,
    /// Leave objects alone for a while after their creation.
    #[arg(long, value_name = "KIND/NAME=SECONDS")]
    delay: Vec<String>,
    /// Fraction (or percentage) of the controllers' API calls answered with an error.
    #[arg(long, value_name = "RATE")]
    api_error_rate: Option<String>,
    /// The error codes injected.
    #[arg(long, value_name = "CODES", default_value = "500,429,409")]
    api_error_codes: String,
    /// Progress display: bars, lines or quiet [default: bars on a terminal].
    #[arg(long, value_name = "MODE")]
    progress: Option<String>,
    /// Add a vSphere Provider: a vCenter SDK URL (https://vcenter/sdk), or `vcsim` to
    /// start govmomi's simulator (FERRY_VCSIM) and migrate two of its VMs with real
    /// disk content.
    #[arg(long, value_name = "URL|vcsim")]
    vsphere: Option<String>,
    /// The vCenter user.
    #[arg(long, value_name = "USER", requires = "vsphere")]
    vsphere_user: Option<String>,
    /// The vCenter password (better: the FERRY_VSPHERE_PASSWORD environment variable).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FERRY_VSPHERE_PASSWORD",
        hide_env_values = true,
        requires = "vsphere"
    )]
    vsphere_password: Option<Password>,
    /// Do not verify the vCenter's certificate.
    #[arg(long, requires = "vsphere")]
    vsphere_insecure: bool,
    /// A CA certificate (PEM file) that verifies the vCenter's certificate.
    #[arg(long, value_name = "FILE", requires = "vsphere")]
    vsphere_cacert: Option<std::path::PathBuf>,
    /// VMs of the vCenter the demo migrates too (comma-separated names).
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        requires = "vsphere"
    )]
    vsphere_vms: Vec<String>,
}

/// A password from the command line: never shown by `Debug`.
#[derive(Clone)]
struct Password(String);

impl std::str::FromStr for Password {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The vSphere source the flags ask for.
fn vsphere_choice(
    args: &SandboxArgs,
) -> anyhow::Result<ferry_sandbox::sandbox::vsphere::VsphereChoice> {
    use ferry_sandbox::sandbox::vsphere::{VsphereChoice, VsphereSource};
    let Some(url) = args.vsphere.as_deref() else {
        return Ok(VsphereChoice::Off);
    };
    if url == "vcsim" {
        return Ok(VsphereChoice::Vcsim);
    }
    let (Some(user), Some(password)) = (&args.vsphere_user, &args.vsphere_password) else {
        anyhow::bail!(
            "--vsphere {url} needs --vsphere-user and a password (--vsphere-password or FERRY_VSPHERE_PASSWORD)"
        );
    };
    let cacert = match &args.vsphere_cacert {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--vsphere-cacert {}: {e}", path.display()))?,
        ),
        None => None,
    };
    if !args.vsphere_insecure && cacert.is_none() {
        anyhow::bail!(
            "--vsphere {url}: give --vsphere-cacert FILE to verify its certificate, or --vsphere-insecure"
        );
    }
    Ok(VsphereChoice::Server {
        source: VsphereSource {
            url: url.to_string(),
            user: user.clone(),
            password: password.0.clone(),
            insecure: args.vsphere_insecure,
            cacert,
        },
        vms: args.vsphere_vms.clone(),
    })
}

fn run_sandbox(args: SandboxArgs) -> anyhow::Result<()> {
    use ferry_sandbox::cluster::faults::{ApiFaults, DiskFailure, Faults, ObjectDelay};
    use ferry_sandbox::sandbox::{self, controllers::FerryManager, progress::Mode};
    // kube-rs logs each failed request at ERROR; the sandbox reports or retries them
    // itself (the real control plane's readiness probe fails a few times at start).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,kube_client::client::builder=off")
            }),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut faults = Faults::default();
    for spec in &args.fail_disk {
        faults.disk_failures.push(DiskFailure::parse(spec)?);
    }
    for spec in &args.delay {
        faults.delays.push(ObjectDelay::parse(spec)?);
    }
    let mut api_faults = ApiFaults::default();
    if let Some(rate) = &args.api_error_rate {
        api_faults.rate = ApiFaults::parse_rate(rate)?;
        api_faults.codes = ApiFaults::parse_codes(&args.api_error_codes)?;
    }
    let display = match args.progress.as_deref() {
        None => None,
        Some("bars") => Some(Mode::Bars),
        Some("lines") => Some(Mode::Lines),
        Some("quiet") => Some(Mode::Quiet),
        Some(other) => anyhow::bail!("--progress {other}: use bars, lines or quiet"),
    };
    let pace = ferry_sandbox::cluster::Pace {
        bytes_per_second: (args.speed > 0).then(|| args.speed.saturating_mul(1 << 20)),
        ..ferry_sandbox::cluster::Pace::default()
    };
    let vsphere = vsphere_choice(&args)?;
    let options = sandbox::Options {
        sandbox: sandbox::SandboxOptions {
            data_dir: args
                .data_dir
                .unwrap_or_else(sandbox::layout::default_data_dir),
            catalog: args.catalog,
            sample_vms: args.vms.map_or(0, usize::from),
            pace,
            faults,
            api_faults,
            controllers: std::sync::Arc::new(FerryManager::default()),
            server: match args.kube_bin {
                Some(bin) => sandbox::ServerChoice::Real {
                    bin,
                    apiserver_args: Vec::new(),
                },
                None => sandbox::ServerChoice::Embedded,
            },
        },
        demo: !args.no_demo,
        vms: args.vms.map(usize::from),
        exit_when_done: args.exit_when_done,
        display,
        vsphere,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut out = std::io::stdout();
        sandbox::run(options, &mut out).await?;
        anyhow::Ok(())
    })
}

/// Options of `ferry apiserver`.
#[derive(Debug, clap::Args)]
struct ApiserverArgs {
    /// Where objects are stored (db.redb) and the kubeconfig (mode 0600) is written.
    #[arg(long, value_name = "DIR", default_value = ".ferry/apiserver")]
    data_dir: std::path::PathBuf,
    /// Address to listen on (HTTPS with a self-signed CA the kubeconfig carries).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6443")]
    listen: String,
    /// Keep objects in memory only (the kubeconfig still goes to the data directory).
    #[arg(long)]
    in_memory: bool,
}

fn run_apiserver(args: ApiserverArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(ferry_apiserver::run_standalone(
        ferry_apiserver::Standalone {
            data_dir: args.data_dir,
            listen: args.listen,
            in_memory: args.in_memory,
        },
    ))?;
    Ok(())
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!(
                "ferry {} (forklift.konveyor.io/v1beta1)",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Command::Controller(args) => match run_controller(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferry controller: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Sandbox(args) => match run_sandbox(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferry sandbox: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Crds => {
            match ferry_api::crds::all().and_then(|crds| ferry_api::crds::to_yaml(&crds)) {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ferry crds: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Apiserver(args) => match run_apiserver(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferry apiserver: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Bench(args) => match crate::bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferry bench: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
