//! `ferry`: the command-line entry point. Parses arguments and hands off to the
//! library crates; everything of substance lives in `crates/`.

mod bench;
mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
