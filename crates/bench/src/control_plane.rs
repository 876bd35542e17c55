//! `ferry bench control-plane`: what one migration of N VMs costs Ferry's controllers.
//!
//! A sandbox (embedded API server, simulated cluster, OVA inventory) runs with
//! **zero-delay work**: pods start at once and the virt-v2v pods size their output
//! images without running `qemu-img` ([`ferry_sandbox::cluster::Pace::convert_disks`]),
//! so the time from the Migration's creation to the plan's `Succeeded` is the time the
//! controllers and the simulated cluster's reactions (CDI, kubelet, KubeVirt, the PV
//! binder; in process, event-driven) take. The catalog holds N generated appliances
//! (one 1 MiB disk, one NIC each). The controllers run as `ferry controller`, a child
//! process ([`crate::controller`]).
//!
//! The run, in order: the Providers become Ready; the maps and a Plan over the N VMs are
//! created and the plan becomes Ready; the **idle cost of a Ready plan** is counted over
//! a window; a Migration is created and the plan is polled until it succeeds (the
//! **migration**); after a settle period, the **idle cost of a finished plan** is
//! counted over another window. API requests come from the API server's counters, by
//! user agent: the controllers' (`ferry-controller`), the simulated cluster's (no user
//! agent) and the benchmark's own (`ferry-bench`) are kept apart.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_api::Plan;
use ferry_apiserver::{CountersSnapshot, RunningApiServer};
use ferry_inventory::ova::samples::{BenchDisk, SampleOptions, generate_catalog};
use ferry_sandbox::cluster::Pace;
use ferry_sandbox::cluster::config::STORAGE_CLASS;
use ferry_sandbox::cluster::faults::{ApiFaults, Faults};
use ferry_sandbox::sandbox::layout::Layout;
use ferry_sandbox::sandbox::{Sandbox, SandboxOptions, ServerChoice, catalog, demo};
use kube::api::{Api, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BenchError;
use crate::audit::AuditLog;
use crate::controller::{BenchControllers, ControllerMode};
use crate::forklift::{self, Floor};
use crate::procfs::{self, ProcStats};
use crate::requests::{self, RequestLog};

/// The benchmark's user agent and field manager.
pub const BENCH_AGENT: &str = "ferry-bench";
/// The controllers' user agent (its first word, as the API server counts it).
pub const CONTROLLER_AGENT: &str = "ferry-controller";
/// What the counters call a client without a user agent: the simulated cluster.
const CLUSTER_AGENT: &str = "";

/// How to run the control-plane benchmark.
#[derive(Clone)]
pub struct ControlPlaneOptions {
    /// How many VMs the plan migrates.
    pub vms: usize,
    /// `MAX_VM_INFLIGHT`.
    pub max_inflight: i64,
    /// Where the controllers run.
    pub controller: ControllerMode,
    /// The data directory (`None`: a temporary one, removed at the end).
    pub data_dir: Option<PathBuf>,
    /// Each idle window (Ready plan, finished plan); zero skips them.
    pub idle: Duration,
    /// The pause after the plan became Ready, and after it succeeded, before an idle
    /// window starts (late clean-up and Events settle).
    pub settle: Duration,
    /// The longest the migration may take.
    pub timeout: Duration,
    /// The API server's request log, if the process's tracing subscriber has its layer
    /// (adds the controllers' requests by resource to the report).
    pub requests: Option<RequestLog>,
    /// Write every API request of the migration, timed, to this file.
    pub trace: Option<PathBuf>,
    /// Run on the real kube-apiserver and etcd from this directory instead of the
    /// embedded server; requests are then counted from kube-apiserver's audit log.
    pub kube_bin: Option<PathBuf>,
}

impl ControlPlaneOptions {
    /// `vms` VMs with `max_inflight`, controllers in `controller`, one-minute idle
    /// windows, a 5 s settle, a 30 min limit.
    pub fn new(vms: usize, max_inflight: i64, controller: ControllerMode) -> Self {
        Self {
            vms,
            max_inflight,
            controller,
            data_dir: None,
            idle: Duration::from_secs(60),
            settle: Duration::from_secs(5),
            timeout: Duration::from_secs(1800),
            requests: None,
            trace: None,
            kube_bin: None,
        }
    }
}

/// API requests of one client in one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Requests {
    /// All requests.
    pub total: u64,
    /// Writes (create, update, patch, delete, deletecollection).
    pub writes: u64,
    /// By verb.
    pub by_verb: BTreeMap<String, u64>,
}

impl Requests {
    fn of(agent: &str, window: &CountersSnapshot) -> Self {
        let by_verb: BTreeMap<String, u64> = window
            .by_user_agent
            .iter()
            .filter(|((a, _), _)| a == agent)
            .map(|((_, verb), n)| (verb.clone(), *n))
            .collect();
        let writes = ["create", "update", "patch", "delete", "deletecollection"]
            .iter()
            .filter_map(|v| by_verb.get(*v))
            .sum();
        Self {
            total: by_verb.values().sum(),
            writes,
            by_verb,
        }
    }
}

/// The idle cost of the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Idle {
    /// The controllers' requests per minute while the plan is Ready (no Migration).
    pub ready: Option<f64>,
    /// The controllers' requests per minute after the plan succeeded.
    pub finished: Option<f64>,
    /// The length of each window, seconds.
    pub window_seconds: f64,
    /// The controllers' requests in the Ready window, by verb (a watch counts once,
    /// when it is opened or re-opened; events on open watches are not requests).
    pub ready_requests: Requests,
    /// The same for the finished window.
    pub finished_requests: Requests,
    /// The simulated cluster's requests in the finished window.
    pub cluster_finished_requests: Requests,
    /// Watches held open on the API server at the end (all clients).
    pub watches_open: i64,
}

/// The load average when each figure was taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Load {
    /// At the start.
    pub start: Option<f64>,
    /// When the Migration was created.
    pub migration_start: Option<f64>,
    /// When the plan succeeded.
    pub migration_end: Option<f64>,
    /// At the end.
    pub end: Option<f64>,
}

/// What the control-plane benchmark measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlPlaneReport {
    /// `control-plane`.
    pub bench: &'static str,
    /// VMs migrated.
    pub vms: usize,
    /// `MAX_VM_INFLIGHT`.
    pub max_inflight: i64,
    /// `process` or `in-process`.
    pub controller: &'static str,
    /// The API server: `embedded` or `kube-apiserver`.
    pub server: &'static str,
    /// What the simulated work costs: `zero-delay`.
    pub work: &'static str,
    /// Seconds from the Migration's creation to the plan's `Succeeded` (all of it is
    /// control: the work takes no time).
    pub seconds: f64,
    /// `seconds` per VM, in milliseconds.
    pub overhead_per_vm_ms: f64,
    /// How often the plan was polled (the resolution of `seconds`), ms.
    pub timing_resolution_ms: u64,
    /// Seconds from the Plan's creation to its `Ready`.
    pub plan_ready_seconds: f64,
    /// VMs that succeeded.
    pub vms_succeeded: usize,
    /// The controllers' API requests, from the Migration's creation to the end of the
    /// settle period after `Succeeded`.
    pub api_requests: u64,
    /// Of these, per VM.
    pub api_requests_per_vm: f64,
    /// The controllers' requests by verb.
    pub api_requests_by_verb: BTreeMap<String, u64>,
    /// The controllers' writes.
    pub api_writes: u64,
    /// Per VM.
    pub api_writes_per_vm: f64,
    /// The controllers' requests made after the plan succeeded (within the settle).
    pub api_requests_after_succeeded: u64,
    /// The controllers' requests by `verb resource[/subresource]` (from the request log;
    /// empty without it).
    pub api_requests_by_resource: BTreeMap<String, u64>,
    /// The simulated cluster's requests in the same window.
    pub cluster_requests: Requests,
    /// The benchmark's own requests in the same window (polling the plan).
    pub bench_requests: u64,
    /// The controller process's peak resident memory (`VmHWM`) at the end.
    pub controller_peak_rss_bytes: Option<u64>,
    /// Its resident memory at the end (`VmRSS`).
    pub controller_rss_bytes: Option<u64>,
    /// Its CPU time during the migration window.
    pub controller_cpu_seconds: Option<f64>,
    /// Its CPU time from start to end, idle windows included.
    pub controller_cpu_seconds_total: Option<f64>,
    /// The Plan as the API serves it at the end, bytes of JSON.
    pub plan_bytes: usize,
    /// Its `status`, bytes of compact JSON.
    pub plan_status_bytes: usize,
    /// Per VM.
    pub plan_status_bytes_per_vm: f64,
    /// The idle cost.
    pub idle_requests_per_minute: Idle,
    /// Forklift's polling floor for the same plan.
    pub forklift_floor: Floor,
    /// Load averages.
    pub load_average: Load,
}

/// Just enough of a Plan to follow its conditions while it may be large.
#[derive(Deserialize)]
struct Slim {
    #[serde(default)]
    status: SlimStatus,
}

#[derive(Deserialize, Default)]
struct SlimStatus {
    #[serde(default)]
    conditions: Vec<SlimCondition>,
}

#[derive(Deserialize)]
struct SlimCondition {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
}

/// Where a plan stands, from its conditions (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// `Succeeded`.
    Succeeded,
    /// `Failed` or `Canceled`, with the condition's message.
    Ended(String),
    /// `Executing`.
    Executing,
    /// `Ready`.
    Ready,
    /// None of these yet.
    Other,
}

/// Reads a Plan's standing from its JSON.
pub fn standing(json: &str) -> Result<Standing, serde_json::Error> {
    let plan: Slim = serde_json::from_str(json)?;
    let is = |kind: &str| {
        plan.status
            .conditions
            .iter()
            .find(|c| c.kind == kind && c.status == "True")
    };
    Ok(if is("Succeeded").is_some() {
        Standing::Succeeded
    } else if let Some(c) = is("Failed").or_else(|| is("Canceled")) {
        Standing::Ended(format!("{}: {}", c.kind, c.message))
    } else if is("Executing").is_some() {
        Standing::Executing
    } else if is("Ready").is_some() {
        Standing::Ready
    } else {
        Standing::Other
    })
}

/// How often to poll a plan of `vms` VMs: often for small plans (the resolution of the
/// 1-VM figure), less for large ones (each read is the whole Plan).
pub fn poll_interval(vms: usize) -> Duration {
    match vms {
        0..=10 => Duration::from_millis(10),
        11..=200 => Duration::from_millis(50),
        _ => Duration::from_millis(200),
    }
}

fn kube_error(action: &str) -> impl FnOnce(kube::Error) -> BenchError + '_ {
    move |error| BenchError::Kube {
        action: action.to_owned(),
        error,
    }
}

fn plan_path() -> String {
    format!(
        "/apis/forklift.konveyor.io/v1beta1/namespaces/{}/plans/{}",
        demo::NAMESPACE,
        demo::PLAN
    )
}

async fn get_plan_json(client: &kube::Client) -> Result<String, BenchError> {
    let request = http::Request::get(plan_path())
        .body(Vec::new())
        .map_err(|e| BenchError::Io(std::io::Error::other(e)))?;
    client
        .request_text(request)
        .await
        .map_err(kube_error("reading the Plan"))
}

/// Polls the plan until `done` says so (or the limit passes); returns the JSON then.
async fn wait_plan(
    client: &kube::Client,
    interval: Duration,
    limit: Duration,
    what: &str,
    controllers: &BenchControllers,
    mut done: impl FnMut(&Standing) -> Result<bool, BenchError>,
) -> Result<String, BenchError> {
    let deadline = Instant::now() + limit;
    loop {
        let json = match get_plan_json(client).await {
            Ok(json) => Some(json),
            Err(BenchError::Kube {
                error: kube::Error::Api(status),
                ..
            }) if status.code == 404 => None,
            Err(error) => return Err(error),
        };
        if let Some(json) = json
            && done(&standing(&json)?)?
        {
            return Ok(json);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout(format!(
                "the plan did not {what} within {} s",
                limit.as_secs()
            )));
        }
        if let Some(pid) = controllers.pid()
            && procfs::stats(pid).is_err()
        {
            return Err(BenchError::Failed(format!(
                "the controller process {pid} is gone while waiting for the plan to {what}"
            )));
        }
        tokio::time::sleep(interval).await;
    }
}

async fn apply(
    client: &kube::Client,
    api_path: (&str, &str, &str),
    object: &Value,
) -> Result<(), BenchError> {
    let (group_version, kind, plural) = api_path;
    let (group, version) = group_version.split_once('/').unwrap_or(("", group_version));
    let resource = kube::api::ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: group_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &resource);
    api.patch(
        name,
        &PatchParams::apply(BENCH_AGENT).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(kube_error(&format!("applying {kind} {name}")))?;
    Ok(())
}

/// The maps and the Plan over `vms` (the demo's objects, as a user would write them).
async fn apply_plan(
    client: &kube::Client,
    vms: &[Arc<ferry_inventory::ova::model::Vm>],
) -> Result<(), BenchError> {
    const FORKLIFT: &str = "forklift.konveyor.io/v1beta1";
    apply(
        client,
        (
            "k8s.cni.cncf.io/v1",
            "NetworkAttachmentDefinition",
            "network-attachment-definitions",
        ),
        &demo::bridge(),
    )
    .await?;
    apply(
        client,
        (FORKLIFT, "NetworkMap", "networkmaps"),
        &demo::network_map(vms),
    )
    .await?;
    apply(
        client,
        (FORKLIFT, "StorageMap", "storagemaps"),
        &demo::storage_map(vms, STORAGE_CLASS),
    )
    .await?;
    apply(client, (FORKLIFT, "Plan", "plans"), &demo::plan(vms)).await
}

fn per_minute(count: u64, window: Duration) -> f64 {
    if window.is_zero() {
        0.0
    } else {
        count as f64 * 60.0 / window.as_secs_f64()
    }
}

fn ratio(count: f64, vms: usize) -> f64 {
    count / vms.max(1) as f64
}

fn say(out: &mut (dyn Write + Send), text: &str) -> Result<(), BenchError> {
    writeln!(out, "{text}").map_err(BenchError::Io)
}

/// Where the requests are counted: the embedded server's counters, or the real
/// kube-apiserver's audit log.
enum Counting {
    Embedded,
    Audit(AuditLog),
}

impl Counting {
    fn snapshot(&self, sandbox: &Sandbox) -> Result<CountersSnapshot, BenchError> {
        match self {
            Counting::Embedded => sandbox
                .api_server()
                .map(RunningApiServer::counters)
                .ok_or_else(|| BenchError::Failed("the sandbox has no embedded server".into())),
            Counting::Audit(log) => log.snapshot().map_err(BenchError::Io),
        }
    }
}

/// Counts the controllers' requests during `window` (after `settle`).
async fn idle_window(
    sandbox: &Sandbox,
    counting: &Counting,
    settle: Duration,
    window: Duration,
) -> Result<(CountersSnapshot, Duration), BenchError> {
    tokio::time::sleep(settle).await;
    let before = counting.snapshot(sandbox)?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed();
    Ok((counting.snapshot(sandbox)?.since(&before), elapsed))
}

fn write_trace(path: &Path, trace: &[requests::Traced]) -> Result<(), BenchError> {
    let mut text = String::from("# ms since the Migration's creation, agent, method, path, code\n");
    for line in trace {
        let agent = if line.agent.is_empty() {
            "cluster"
        } else {
            &line.agent
        };
        text.push_str(&format!(
            "{:>8} {agent:<16} {:<6} {} {}\n",
            line.at_ms, line.method, line.path, line.code
        ));
    }
    std::fs::write(path, text).map_err(BenchError::Io)
}

/// Runs the benchmark, writing progress lines to `out`; returns the figures.
pub async fn run(
    options: &ControlPlaneOptions,
    out: &mut (dyn Write + Send),
) -> Result<ControlPlaneReport, BenchError> {
    if options.vms == 0 || options.max_inflight < 1 {
        return Err(BenchError::Invalid(
            "--vms and --max-inflight must be at least 1".into(),
        ));
    }
    let mut load = Load {
        start: procfs::load_average(),
        ..Load::default()
    };
    let temporary;
    let data_dir = match &options.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("ferry-bench-")
                .tempdir()
                .map_err(BenchError::Io)?;
            temporary.path().to_owned()
        }
    };
    let layout = Layout::new(&data_dir).map_err(BenchError::Io)?;
    say(
        out,
        &format!(
            "bench control-plane: {} VMs, MAX_VM_INFLIGHT {}, controllers {}, data in {}",
            options.vms,
            options.max_inflight,
            mode_name(&options.controller),
            data_dir.display()
        ),
    )?;

    let catalog_dir = data_dir.join("bench-catalog");
    let vms = options.vms;
    let samples = SampleOptions::from_env();
    let dir = catalog_dir.clone();
    let generated =
        tokio::task::spawn_blocking(move || generate_catalog(&dir, vms, &BenchDisk::Real(samples)))
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?
            .map_err(|e| BenchError::Failed(e.to_string()))?;
    say(
        out,
        &format!(
            "  catalog: {} appliances in {}",
            generated.vm_names.len(),
            catalog_dir.display()
        ),
    )?;

    let (server, counting) = match &options.kube_bin {
        Some(bin) => {
            let log = AuditLog::create(&data_dir.join("audit")).map_err(BenchError::Io)?;
            let server = ServerChoice::Real {
                bin: bin.clone(),
                apiserver_args: log.apiserver_args(),
            };
            (server, Counting::Audit(log))
        }
        None => (ServerChoice::Embedded, Counting::Embedded),
    };
    let controllers = BenchControllers::new(
        options.controller.clone(),
        layout.kubeconfig(),
        options.max_inflight,
        data_dir.join("controller.log"),
    );
    let sandbox_options = SandboxOptions {
        data_dir: data_dir.clone(),
        catalog: Some(catalog_dir.clone()),
        sample_vms: 0,
        pace: Pace {
            bytes_per_second: None,
            pod_start: Duration::ZERO,
            generic_run: Duration::ZERO,
            convert_disks: false,
            ..Pace::fast()
        },
        faults: Faults::default(),
        api_faults: ApiFaults::default(),
        server,
        controllers: Arc::new(controllers.clone()),
    };
    let mut sandbox = Sandbox::start(&sandbox_options).await?;
    let result = measure(
        options,
        &counting,
        &mut sandbox,
        &controllers,
        &catalog_dir,
        &mut load,
        out,
    )
    .await;
    sandbox.shutdown().await;
    let mut report = result?;
    load.end = procfs::load_average();
    report.load_average = load;
    Ok(report)
}

fn mode_name(mode: &ControllerMode) -> &'static str {
    match mode {
        ControllerMode::InProcess => "in-process",
        ControllerMode::Process { .. } => "process",
    }
}

async fn measure(
    options: &ControlPlaneOptions,
    counting: &Counting,
    sandbox: &mut Sandbox,
    controllers: &BenchControllers,
    catalog_dir: &Path,
    load: &mut Load,
    out: &mut (dyn Write + Send),
) -> Result<ControlPlaneReport, BenchError> {
    let mut config = sandbox.client_config();
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(BENCH_AGENT),
    ));
    let client = kube::Client::try_from(config).map_err(kube_error("building a client"))?;
    let interval = poll_interval(options.vms);
    let proc_stats = || controllers.pid().and_then(|pid| procfs::stats(pid).ok());

    sandbox.start_controllers().await?;
    sandbox.apply_providers().await?;
    sandbox.wait_providers(Duration::from_secs(120)).await?;
    let dir = catalog_dir.to_owned();
    let all = tokio::task::spawn_blocking(move || catalog::read(&dir))
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))??;
    let chosen = catalog::choose(&all, Some(options.vms));
    let created = Instant::now();
    apply_plan(&client, &chosen).await?;
    wait_plan(
        &client,
        Duration::from_millis(100),
        Duration::from_secs(600),
        "become Ready",
        controllers,
        |s| match s {
            Standing::Ready => Ok(true),
            Standing::Ended(why) => Err(BenchError::Failed(why.clone())),
            _ => Ok(false),
        },
    )
    .await?;
    let plan_ready_seconds = created.elapsed().as_secs_f64();
    say(
        out,
        &format!("  plan Ready after {plan_ready_seconds:.2} s"),
    )?;

    let mut idle = Idle {
        window_seconds: options.idle.as_secs_f64(),
        ..Idle::default()
    };
    if !options.idle.is_zero() {
        let (window, elapsed) =
            idle_window(sandbox, counting, options.settle, options.idle).await?;
        idle.ready_requests = Requests::of(CONTROLLER_AGENT, &window);
        idle.ready = Some(per_minute(idle.ready_requests.total, elapsed));
        say(
            out,
            &format!(
                "  idle Ready plan: {} controller requests in {:.0} s",
                idle.ready_requests.total,
                elapsed.as_secs_f64()
            ),
        )?;
    }

    // The migration.
    let by_resource_before = options
        .requests
        .as_ref()
        .map(RequestLog::counts)
        .unwrap_or_default();
    if options.trace.is_some()
        && let Some(log) = &options.requests
    {
        log.start_trace();
    }
    let cpu_before = proc_stats();
    load.migration_start = procfs::load_average();
    let counters_before = counting.snapshot(sandbox)?;
    let started = Instant::now();
    let migration_object = demo::migration(1);
    let migration = migration_object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    apply(
        &client,
        ("forklift.konveyor.io/v1beta1", "Migration", "migrations"),
        &migration_object,
    )
    .await?;
    let json = wait_plan(
        &client,
        interval,
        options.timeout,
        "succeed",
        controllers,
        |s| match s {
            Standing::Succeeded => Ok(true),
            Standing::Ended(why) => {
                Err(BenchError::Failed(format!("Migration {migration}: {why}")))
            }
            _ => Ok(false),
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    load.migration_end = procfs::load_average();
    let at_success = counting.snapshot(sandbox)?;
    say(
        out,
        &format!("  plan Succeeded {seconds:.3} s after Migration {migration} was created"),
    )?;
    tokio::time::sleep(options.settle).await;
    let after = counting.snapshot(sandbox)?;
    let cpu_after = proc_stats();
    let window = after.since(&counters_before);
    let controller_requests = Requests::of(CONTROLLER_AGENT, &window);
    let after_success = Requests::of(CONTROLLER_AGENT, &after.since(&at_success));
    let api_requests_by_resource = match &options.requests {
        Some(log) => requests::since(&log.counts(), &by_resource_before)
            .into_iter()
            .filter(|(key, _)| key.agent == CONTROLLER_AGENT)
            .map(|(key, n)| (format!("{} {}", key.verb, key.resource), n))
            .collect(),
        None => BTreeMap::new(),
    };
    if let (Some(path), Some(log)) = (&options.trace, &options.requests) {
        write_trace(path, &log.take_trace())?;
    }

    // The Plan at the end, as the API serves it.
    let final_json = get_plan_json(&client).await.unwrap_or(json);
    let value: Value = serde_json::from_str(&final_json)?;
    let plan_status_bytes = serde_json::to_vec(&value["status"])?.len();
    let plan: Plan = serde_json::from_value(value)?;
    let vms_succeeded = plan
        .status
        .migration
        .vms
        .iter()
        .filter(|vm| vm.conditions.has(&[ferry_api::condition::types::SUCCEEDED]))
        .count();

    if !options.idle.is_zero() {
        let (window, elapsed) =
            idle_window(sandbox, counting, Duration::ZERO, options.idle).await?;
        idle.finished_requests = Requests::of(CONTROLLER_AGENT, &window);
        idle.cluster_finished_requests = Requests::of(CLUSTER_AGENT, &window);
        idle.finished = Some(per_minute(idle.finished_requests.total, elapsed));
        idle.watches_open = window.watches_open;
        say(
            out,
            &format!(
                "  idle finished plan: {} controller requests in {:.0} s",
                idle.finished_requests.total,
                elapsed.as_secs_f64()
            ),
        )?;
    }
    let end: Option<ProcStats> = proc_stats();

    let vms = options.vms;
    Ok(ControlPlaneReport {
        bench: "control-plane",
        vms,
        max_inflight: options.max_inflight,
        controller: mode_name(&options.controller),
        server: match counting {
            Counting::Embedded => "embedded",
            Counting::Audit(_) => "kube-apiserver",
        },
        work: "zero-delay",
        seconds,
        overhead_per_vm_ms: seconds * 1000.0 / vms as f64,
        timing_resolution_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        plan_ready_seconds,
        vms_succeeded,
        api_requests: controller_requests.total,
        api_requests_per_vm: ratio(controller_requests.total as f64, vms),
        api_requests_by_verb: controller_requests.by_verb.clone(),
        api_writes: controller_requests.writes,
        api_writes_per_vm: ratio(controller_requests.writes as f64, vms),
        api_requests_after_succeeded: after_success.total,
        api_requests_by_resource,
        cluster_requests: Requests::of(CLUSTER_AGENT, &window),
        bench_requests: Requests::of(BENCH_AGENT, &window).total,
        controller_peak_rss_bytes: end.map(|s| s.peak_rss_bytes),
        controller_rss_bytes: end.map(|s| s.rss_bytes),
        controller_cpu_seconds: cpu_before
            .zip(cpu_after)
            .map(|(a, b)| b.cpu_seconds - a.cpu_seconds),
        controller_cpu_seconds_total: end.map(|s| s.cpu_seconds),
        plan_bytes: final_json.len(),
        plan_status_bytes,
        plan_status_bytes_per_vm: ratio(plan_status_bytes as f64, vms),
        idle_requests_per_minute: idle,
        forklift_floor: forklift::floor(vms, usize::try_from(options.max_inflight).unwrap_or(1)),
        load_average: Load::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_from_conditions() {
        let plan = |conditions: &str| format!(r#"{{"status":{{"conditions":{conditions}}}}}"#);
        assert_eq!(
            standing(&plan(r#"[{"type":"Ready","status":"True"}]"#)).unwrap(),
            Standing::Ready
        );
        assert_eq!(
            standing(&plan(
                r#"[{"type":"Ready","status":"True"},{"type":"Executing","status":"True"}]"#
            ))
            .unwrap(),
            Standing::Executing
        );
        assert_eq!(
            standing(&plan(
                r#"[{"type":"Succeeded","status":"True"},{"type":"Ready","status":"True"}]"#
            ))
            .unwrap(),
            Standing::Succeeded
        );
        assert_eq!(
            standing(&plan(
                r#"[{"type":"Failed","status":"True","message":"The plan execution has FAILED."}]"#
            ))
            .unwrap(),
            Standing::Ended("Failed: The plan execution has FAILED.".into())
        );
        assert_eq!(
            standing(&plan(r#"[{"type":"Ready","status":"False"}]"#)).unwrap(),
            Standing::Other
        );
        assert_eq!(standing("{}").unwrap(), Standing::Other);
        assert!(standing("not json").is_err());
        assert!(standing(r#"{"status":{"conditions":"x"}}"#).is_err());
    }

    #[test]
    fn requests_by_agent() {
        let mut window = CountersSnapshot::default();
        for (agent, verb, n) in [
            (CONTROLLER_AGENT, "get", 3),
            (CONTROLLER_AGENT, "create", 2),
            (CONTROLLER_AGENT, "update", 1),
            ("", "patch", 7),
        ] {
            window
                .by_user_agent
                .insert((agent.to_owned(), verb.to_owned()), n);
        }
        let controller = Requests::of(CONTROLLER_AGENT, &window);
        assert_eq!(controller.total, 6);
        assert_eq!(controller.writes, 3);
        assert_eq!(Requests::of(CLUSTER_AGENT, &window).writes, 7);
        assert_eq!(per_minute(30, Duration::from_secs(30)), 60.0);
        assert_eq!(per_minute(30, Duration::ZERO), 0.0);
        assert!(poll_interval(1) < poll_interval(1000));
    }
}
