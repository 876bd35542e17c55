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
