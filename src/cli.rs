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
    }
}
