//! Writes Ferry's sample appliances (or a generated benchmark catalog) into a directory.
//!
//! ```text
//! cargo run -p ferry-inventory --example make_ovas -- <dir>             # the samples
//! cargo run -p ferry-inventory --example make_ovas -- <dir> --bench N   # N small OVAs
//! ```
//!
//! `examples/make-ovas.sh` at the repository root wraps this.

use std::path::PathBuf;
use std::process::ExitCode;

use ferry_inventory::ova::samples::{BenchDisk, SampleOptions, generate_catalog, write_samples};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, bench) = match args.as_slice() {
        [dir] => (PathBuf::from(dir), None),
        [dir, flag, count] if flag == "--bench" => match count.parse::<usize>() {
            Ok(count) => (PathBuf::from(dir), Some(count)),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let options = SampleOptions::from_env();
    let result = match bench {
        None => write_samples(&dir, &options).map(|catalog| {
            for appliance in &catalog.appliances {
                println!("{}/{}", catalog.root.display(), appliance.relative);
            }
        }),
        Some(count) => generate_catalog(&dir, count, &BenchDisk::Real(options)).map(|catalog| {
            println!(
                "{} appliances under {}",
                catalog.vm_names.len(),
                catalog.root.display()
            );
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("make-ovas: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: make_ovas <dir> [--bench <count>]");
    ExitCode::from(2)
}
