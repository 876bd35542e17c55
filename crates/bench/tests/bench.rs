//! The benchmarks run and report well-formed, sane figures (never timing asserts): the
//! control-plane benchmark at N = 1 with the controllers in process, and the data path
//! on a small disk. Both need `qemu-img` (scripts/test installs qemu-utils).

use std::time::Duration;

use ferry_bench::control_plane::{self, ControlPlaneOptions};
use ferry_bench::controller::ControllerMode;
use ferry_bench::data_path::{self, DataPathOptions};
use ferry_bench::requests::RequestLog;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Every test here ends within this.
const LIMIT: Duration = Duration::from_secs(300);

fn number(report: &Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vm_control_plane_report_is_well_formed() {
    let requests = RequestLog::new();
    let _ = tracing_subscriber::registry()
        .with(requests.layer())
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut options = ControlPlaneOptions::new(1, 20, ControllerMode::InProcess);
    options.data_dir = Some(dir.path().join("sandbox"));
    options.idle = Duration::from_secs(1);
    options.settle = Duration::from_millis(500);
    options.timeout = Duration::from_secs(120);
    options.requests = Some(requests);
    options.trace = Some(dir.path().join("trace.txt"));
    let mut progress = Vec::new();
    let report = tokio::time::timeout(LIMIT, control_plane::run(&options, &mut progress))
        .await
        .expect("the benchmark ends in time")
        .unwrap_or_else(|e| {
            panic!(
                "the benchmark failed: {e}\n{}",
                String::from_utf8_lossy(&progress)
            )
        });
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains('\n'), "one line");
    let value: Value = serde_json::from_str(&json).unwrap();
    for key in [
        "vms",
        "seconds",
        "overhead_per_vm_ms",
        "api_requests",
        "api_writes_per_vm",
        "controller_peak_rss_bytes",
        "plan_status_bytes",
        "idle_requests_per_minute",
    ] {
        assert!(value.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(value["vms"], 1);
    assert_eq!(value["vms_succeeded"], 1, "{json}");
    assert_eq!(value["controller"], "in-process");
    assert_eq!(value["server"], "embedded");
    let seconds = number(&value, "seconds");
    assert!(seconds.is_finite() && seconds > 0.0, "{json}");
    assert!((number(&value, "overhead_per_vm_ms") - seconds * 1000.0).abs() < 1e-6);
    // A migration creates objects, writes the plan's status and reads.
    assert!(number(&value, "api_writes_per_vm") >= 3.0, "{json}");
    assert!(number(&value, "api_requests") >= number(&value, "api_writes_per_vm"));
    assert!(
        value["api_requests_by_verb"]["create"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    assert!(
        value["api_requests_by_resource"]["create datavolumes"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "the request log sees the controllers' writes: {json}"
    );
    assert!(value["bench_requests"].as_u64().unwrap_or(0) > 0);
    // In process, the controllers' memory is not theirs alone: not reported.
    assert!(value["controller_peak_rss_bytes"].is_null());
    let status = number(&value, "plan_status_bytes");
    assert!(
        status > 100.0 && number(&value, "plan_bytes") > status,
        "{json}"
    );
    let idle = &value["idle_requests_per_minute"];
    assert!(idle["ready"].as_f64().is_some_and(|r| r >= 0.0), "{json}");
    assert!(
        idle["finished"].as_f64().is_some_and(|r| r >= 0.0),
        "{json}"
    );
    assert_eq!(value["forklift_floor"]["passes_per_vm"], 10);
    let trace = std::fs::read_to_string(dir.path().join("trace.txt")).unwrap();
    assert!(trace.contains("ferry-controller"), "{trace}");
    assert!(trace.contains("/datavolumes"), "{trace}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_path_report_is_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let options = DataPathOptions {
        size_bytes: 16 << 20,
        runs: 1,
        dir: Some(dir.path().to_owned()),
        ..DataPathOptions::default()
    };
    let mut progress = Vec::new();
    let report = tokio::time::timeout(LIMIT, data_path::run(&options, &mut progress))
        .await
        .expect("the benchmark ends in time")
        .unwrap_or_else(|e| {
            panic!(
                "the benchmark failed: {e}\n{}",
                String::from_utf8_lossy(&progress)
            )
        });
    assert!(report.output_identical);
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    for figure in [
        run.sandbox_seconds,
        run.qemu_img_seconds,
        run.cat_seconds,
        run.sandbox_vs_qemu_img,
    ] {
        assert!(figure.is_finite() && figure > 0.0, "{report:?}");
    }
    // Real content: the VMDK is neither empty nor the size of the raw disk of zeros.
    assert!(report.vmdk_bytes > (1 << 20) && report.ova_bytes > report.vmdk_bytes);
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["bench"], "data-path");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vm_on_the_real_kube_apiserver_counts_requests_from_its_audit_log() {
    let Some(bin) = std::env::var_os("FERRY_KUBE_BIN").filter(|d| !d.is_empty()) else {
        panic!(
            "FERRY_KUBE_BIN is not set: run scripts/test (it builds kube-apiserver and etcd \
             with tools/kube/build.sh and exports it)"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = ControlPlaneOptions::new(1, 20, ControllerMode::InProcess);
    options.data_dir = Some(dir.path().join("sandbox"));
    options.idle = Duration::from_secs(1);
    options.settle = Duration::from_millis(500);
    options.timeout = Duration::from_secs(120);
    options.kube_bin = Some(bin.into());
    let mut progress = Vec::new();
    let report = tokio::time::timeout(LIMIT, control_plane::run(&options, &mut progress))
        .await
        .expect("the benchmark ends in time")
        .unwrap_or_else(|e| {
            panic!(
                "the benchmark failed: {e}\n{}",
                String::from_utf8_lossy(&progress)
            )
        });
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["server"], "kube-apiserver");
    assert_eq!(value["vms_succeeded"], 1, "{value}");
    // The audit log sees the controllers' writes and the benchmark's polling.
    assert!(number(&value, "api_writes_per_vm") >= 3.0, "{value}");
    assert!(
        value["api_requests_by_verb"]["create"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{value}"
    );
    assert!(value["bench_requests"].as_u64().unwrap_or(0) > 0, "{value}");
    assert!(
        dir.path()
            .join("sandbox")
            .join("audit")
            .join("audit.log")
            .is_file()
    );
}
