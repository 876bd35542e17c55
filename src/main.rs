//! `ferry`: the command-line entry point. Parses arguments and hands off to the
//! library crates; everything of substance lives in `crates/`.

mod bench;
mod cli;

/// The process's allocator. Ferry's controllers and its sandbox allocate and free
/// many short-lived objects from several threads (every watch event, every list, every
/// reconcile's snapshot); against glibc's malloc, mimalloc took a 1 000-VM benchmark
/// from 70 s to 48 s, with a third less controller CPU (BENCHMARKS.md, `## Control
/// plane`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
