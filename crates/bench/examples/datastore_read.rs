//! Disk read throughput from a vSphere datastore, for `BENCHMARKS.md`: Ferry's datastore
//! reader (what the sandbox's conversion pod and CDI's importer run:
//! `ferry_sandbox::cluster::vsphere::read_disk`, 8 MiB ranged HTTPS reads of
//! `/folder/…?dcPath=…&dsName=…` with the session cookie, all-zero chunks not written)
//! against `curl` of the same flat extent with a session cookie of its own, to
//! `/dev/null` and to a file.
//!
//! ```text
//! FERRY_VCSIM=… cargo run --release -p ferry-bench --example datastore_read -- [MIB] [RUNS]
//! ```
//!
//! Starts vcsim (`FERRY_VCSIM`), gives `DC0_H0_VM0` one disk of MIB MiB (default 1024)
//! whose content is [`ferry_sandbox::sandbox::vsphere::content`] (pseudo-random bytes, a
//! quarter of them zero), then runs each reader RUNS times (default 2), interleaved,
//! and checks that Ferry's copy equals the content. vcsim serves the files from its
//! temporary directory, so the figures are of the HTTPS path on loopback (the server's
//! own cost included), not of a real datastore's disks.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ferry_sandbox::cluster::vsphere::{self as datastore, Target};
use ferry_sandbox::sandbox::vsphere::fill;
use ferry_vim::vcsim::Vcsim;
use ferry_vim::{Client, DatastoreFile};
use tokio_util::sync::CancellationToken;

const VM: &str = "DC0_H0_VM0";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("datastore_read: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("datastore_read: {error}");
            ExitCode::FAILURE
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn mib_per_second(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / time.as_secs_f64()
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: u64 = args.first().map_or(Ok(1024), |n| n.parse())?;
    let runs: usize = args.get(1).map_or(Ok(2), |n| n.parse())?;
    let size = mib << 20;
    let work = tempfile::Builder::new()
        .prefix("ferry-datastore-read-")
        .tempdir()?;

    let vcsim = Vcsim::builder().autostart(false).start().await?;
    let client = Client::connect(vcsim.config()).await?;
    let started = Instant::now();
    let written = fill(&client, VM, size).await?;
    println!(
        "filled {} disk(s) of {mib} MiB in {:?} (load {})",
        written.len(),
        started.elapsed(),
        load_average()
    );
    let vm = datastore::find_vm_by_name(&client, VM).await?;
    let datacenter = datastore::datacenter_path(&client, &vm.vm).await?;
    let disk = vm.disks.first().ok_or("the VM has no disk")?.clone();
    let expected = written
        .get(&disk.file)
        .ok_or("the filled disk is not the VM's")?;
    let backing = DatastoreFile::from_datastore_path(&datacenter, &disk.file)?;
    let flat = DatastoreFile {
        path: format!(
            "{}-flat.vmdk",
            backing.path.strip_suffix(".vmdk").unwrap_or(&backing.path)
        ),
        ..backing.clone()
    };
    let url = flat.url(vcsim.url())?.to_string();

    // curl logs in itself (SOAP Login), keeping the session cookie in a jar.
    let cert = work.path().join("vcsim.pem");
    std::fs::write(
        &cert,
        vcsim.cert_pem().ok_or("vcsim serves no certificate")?,
    )?;
    let jar = work.path().join("cookies");
    curl_login(&vcsim, &cert, &jar, work.path())?;

    let qemu_img = PathBuf::from("qemu-img");
    let image = work.path().join("disk.img");
    let copy = work.path().join("curl.out");
    let mut rows = Vec::new();
    for run in 1..=runs {
        let _ = std::fs::remove_file(&image);
        let load = load_average();
        let started = Instant::now();
        datastore::read_disk(
            &client,
            &datacenter,
            &disk,
            &Target {
                image: image.clone(),
                block: false,
            },
            &qemu_img,
            &CancellationToken::new(),
            |_| {},
        )
        .await?;
        let ferry = started.elapsed();
        if run == 1 && std::fs::read(&image)? != *expected {
            return Err("Ferry's copy differs from the disk's content".into());
        }
        let null = curl_get(&url, &cert, &jar, Path::new("/dev/null"))?;
        let _ = std::fs::remove_file(&copy);
        let file = curl_get(&url, &cert, &jar, &copy)?;
        if std::fs::metadata(&copy)?.len() != size {
            return Err("curl did not read the whole extent".into());
        }
        println!(
            "run {run} (load {load}): ferry read_disk {:.2} s ({:.0} MiB/s), curl to /dev/null {:.2} s ({:.0} MiB/s), curl to a file {:.2} s ({:.0} MiB/s); ferry / curl-to-null throughput {:.2}",
            ferry.as_secs_f64(),
            mib_per_second(size, ferry),
            null.as_secs_f64(),
            mib_per_second(size, null),
            file.as_secs_f64(),
            mib_per_second(size, file),
            null.as_secs_f64() / ferry.as_secs_f64()
        );
        rows.push((ferry, null, file));
    }
    let json = serde_json::json!({
        "bench": "datastore-read",
        "mib": mib,
        "runs": rows.iter().map(|(f, n, c)| serde_json::json!({
            "ferry_seconds": f.as_secs_f64(),
            "curl_null_seconds": n.as_secs_f64(),
            "curl_file_seconds": c.as_secs_f64(),
        })).collect::<Vec<_>>(),
    });
    println!("{json}");
    Ok(())
}

/// Logs in with a SOAP `Login` through curl, leaving the session cookie in `jar`.
fn curl_login(
    vcsim: &Vcsim,
    cert: &Path,
    jar: &Path,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let body = dir.join("login.xml");
    let mut file = std::fs::File::create(&body)?;
    write!(
        file,
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:vim25"><soapenv:Body><urn:Login><urn:_this type="SessionManager">SessionManager</urn:_this><urn:userName>{}</urn:userName><urn:password>{}</urn:password></urn:Login></soapenv:Body></soapenv:Envelope>"#,
        vcsim.user(),
        vcsim.password().expose()
    )?;
    drop(file);
    let output = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(cert)
        .arg("-c")
        .arg(jar)
        .args([
            "-H",
            "Content-Type: text/xml; charset=utf-8",
            "-H",
            "SOAPAction: urn:vim25/8.0",
            "-o",
            "/dev/null",
            "--data-binary",
        ])
        .arg(format!("@{}", body.display()))
        .arg(vcsim.url().as_str())
        .stderr(Stdio::piped())
        .output()?;
    let _ = std::fs::remove_file(&body);
    if !output.status.success() {
        return Err(format!(
            "curl's SOAP login failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    if !std::fs::read_to_string(jar)?.contains("vmware_soap_session") {
        return Err("curl's login set no vmware_soap_session cookie".into());
    }
    Ok(())
}

/// One `curl` GET of `url` with the cookie jar into `out`; its wall time.
fn curl_get(
    url: &str,
    cert: &Path,
    jar: &Path,
    out: &Path,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(cert)
        .arg("-b")
        .arg(jar)
        .arg("-o")
        .arg(out)
        .arg(url)
        .status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!("curl of the datastore file failed: {status}").into());
    }
    Ok(elapsed)
}
