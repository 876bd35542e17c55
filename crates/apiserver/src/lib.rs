//! An embedded Kubernetes-compatible API server: Kubernetes' REST protocol on an
//! embedded database, for tests and for a whole cluster on one machine. It knows
//! nothing of Ferry. kube-rs (including kube-runtime's watcher, reflector and
//! Controller) and the real `kubectl` work against it unchanged, and its protocol
//! tests also run against the real kube-apiserver (`FERRY_APISERVER_UNDER_TEST=real`).
//! The differential suite (`tests/differential/`) sends the same request sequences
//! to both servers and compares every answer; the differences that remain are
//! listed, with their reasons, in `docs/apiserver-differences.md`.
//!
//! # Using it
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ferry_apiserver::ApiServer;
//! let server = ApiServer::builder().in_memory().start().await?; // ~20 ms
//! let client = server.client()?;               // a kube::Client (TLS, bearer token)
//! println!("kubectl --kubeconfig {}", server.kubeconfig_path().display());
//! let before = server.counters();              // request counters, in process
//! // ... drive a controller ...
//! let calls = server.counters().since(&before).writes();
//! server.memory_logs().append("ns", "pod", "container", "log line\n");
//! server.drop_watches();                       // break every watch, as a network would
//! server.compact();                            // older resourceVersions now get 410
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`ApiServer::builder`]: `in_memory()` or `data_dir(dir)` (objects in
//!   `dir/db.redb`; token, CA key and kubeconfig kept there too), `listen(addr)`
//!   (default `127.0.0.1:0`), `tls(bool)` (default on: kubectl never sends a bearer
//!   token over plain HTTP), `without_auth()`, `token(t)`, `log_source(..)` (pod
//!   logs, see [`PodLogSource`]), `bookmark_interval(d)`, `events_per_resource(n)`
//!   (the watch window), `watch_list(bool)` (the WatchList feature gate, off as in
//!   1.33), `gc_resync(d)`.
//! - [`Builder::start`] → [`RunningApiServer`]: `url()`, `token()`,
//!   `kubeconfig_path()` (mode 0600), `client_config()`/`client()`, `counters()`,
//!   `reset_counters()`, `memory_logs()`, `drop_watches()`, `compact()`,
//!   `resource_version()`, `preload(objects)`, `api()` (the operations, in
//!   process), `startup_time()`, `shutdown()` (joins its tasks and closes the
//!   database; dropping the handle closes it too, so the same data directory can
//!   be opened again at once in the same process).
//! - [`Builder::start_in_process`] → [`InProcess`]: the axum router without a
//!   socket, for `tower::ServiceExt::oneshot` tests.
//! - [`run_standalone`]: `ferry apiserver`.
//! - `/metrics` serves the counters in Prometheus text (`apiserver_request_total`
//!   with kube-apiserver's labels, plus by user agent and field manager).
//!
//! # What is served, and how faithfully
//!
//! Built-in resources: namespaces, pods (`status`, `log`, and `binding`, the only
//! way to set a pod's node), nodes (`status`), persistentvolumeclaims,
//! persistentvolumes, configmaps, secrets, services, serviceaccounts, events
//! (`v1` and `events.k8s.io/v1`, one stored resource converted field by field),
//! jobs, storageclasses, leases, customresourcedefinitions. Admission as
//! kube-apiserver's default plugins: ServiceAccount (token volume),
//! DefaultStorageClass, TaintNodesByCondition, priority, default tolerations,
//! storage protection finalizers. Objects are decoded
//! through their k8s-openapi types (unknown fields dropped and reported per
//! `fieldValidation`), defaulted as kube-apiserver's defaulting and admission
//! plugins do (the differential test compares created objects, managedFields
//! included, with the real server's), and validated for names, metadata, required
//! fields and the immutability rules controllers meet. Protobuf request bodies
//! (kubectl's typed commands) are decoded from Kubernetes' own `.proto` schemas;
//! answers are JSON (or YAML, Table, PartialObjectMetadata when asked).
//!
//! Custom resources: CRDs are validated, compiled by `ferry-structural` (structural
//! schema, CEL rules) and served before the request that wrote them returns;
//! `NamesAccepted`/`Established` are set, deleting a CRD deletes its objects
//! (honouring their finalizers) before it goes. Pruning, defaulting, validation
//! with kube-apiserver's messages, `status` subresource, printer columns,
//! selectable fields, `generation`.
//!
//! Verbs and semantics: get; list with label and field selectors, paging with
//! continue tokens served at the first page's resourceVersion (an undo log), `410`
//! past the window, `resourceVersion`/`resourceVersionMatch` rules; watch from
//! unset, `0` or a resourceVersion, selector transitions (ADDED/DELETED as objects
//! enter and leave a selector), bookmarks, `timeoutSeconds`, `410 Expired` as an
//! ERROR event, `sendInitialEvents` behind the gate; create (`generateName`,
//! `dryRun`, `fieldValidation`, `fieldManager`); update with optimistic concurrency;
//! merge, JSON and strategic merge patch and server-side apply with managedFields
//! (`ferry-patch`); delete with preconditions, graceful deletion of scheduled pods,
//! finalizers, `orphan`/`foregroundDeletion`; deletecollection. In-process
//! controllers do what kube-controller-manager would: garbage collection
//! (background, foreground with `blockOwnerDeletion`, orphan, dangling owners),
//! namespace termination (content removed, conditions reported, then the
//! namespace), default service accounts, PV/PVC protection (a claim is held by
//! scheduled pods only). Admission as kube-apiserver's default plugins: namespace
//! lifecycle (no content in terminating namespaces; `default`, `kube-system`,
//! `kube-public` cannot be deleted), ServiceAccount (the pod's account must exist;
//! its token is mounted as the `kube-api-access-*` projected volume), priority and
//! default tolerations.
//!
//! Storage: one cluster-wide resourceVersion counter; every acknowledged write is
//! committed (fsync) before the answer, batched across concurrent writers; after a
//! restart, even after `kill -9`, every object is back and resourceVersions keep
//! increasing. See [`storage`] for why redb.
//!
//! # Refused on purpose (loudly, rather than pretending)
//!
//! - `sendInitialEvents` unless the WatchList gate is on (kube-apiserver 1.33's
//!   default), so clients that need it fail here as on a default cluster.
//! - Conversion webhooks for CRDs serving several versions (422 on the CRD);
//!   several versions with strategy `None` are served.
//! - Protobuf *responses* (406 when nothing else is acceptable) and protobuf
//!   bodies for custom resources (415), as kube-apiserver answers for custom
//!   resources.
//! - Unknown paths: kube-apiserver's plain `404 page not found` or `NotFound`
//!   Status, exactly where it gives each.
//!
//! # Known gaps
//!
//! - Validation of built-ins covers names, metadata and the rules listed in each
//!   kind's module, not all of kube-apiserver's (e.g. container ports, probes,
//!   resource quantities are not checked); no admission webhooks, RBAC (the one
//!   token is all-powerful), quotas, or limit ranges.
//! - No scheduler and no kubelet: pods stay Pending unless a caller (the sandbox)
//!   plays kubelet; scheduled pods wait for their graceful deletion to be
//!   confirmed, as on a real cluster. Pod logs come from a [`PodLogSource`].
//! - Duplicate fields are detected in JSON bodies (`fieldValidation`), not in
//!   YAML ones; YAML bodies are parsed as YAML 1.2 (Go's parser is 1.1: `yes` is a
//!   string here).
//! - Decoder and parser errors (Go's `encoding/json`, go-yaml, cel-go) are worded
//!   by this server's own parsers where they are not plain syntax errors; values
//!   Go prints as struct dumps are printed as JSON (see
//!   `docs/apiserver-differences.md`).
//! - The "created within 2 s of Established" delay kube-apiserver adds to custom
//!   resource creates is not reproduced (only latency).
//! - `scale` subresources, `/openapi/v2`, built-in kinds' OpenAPI schemas (custom
//!   resources' are published), aggregated API servers are not served.
//! - Size limits: objects over 1.5 MiB (key included) are refused as etcd refuses
//!   them; etcd's exact request framing is approximated.
#![forbid(unsafe_code)]

pub mod builtin;
pub mod controllers;
pub mod crd;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod names;
pub mod ops;
pub mod protobuf;
pub mod quantity;
pub mod resource;
pub mod selector;
pub mod server;
pub mod status;
pub mod storage;
pub mod store;
pub mod table;

pub use logs::{LogBody, LogError, LogRequest, MemoryLogs, PodLogSource};
pub use metrics::{CountersSnapshot, RequestKey};
pub use server::{
    ApiServer, Builder, InProcess, RunningApiServer, Standalone, StartError, run_standalone,
};
pub use status::ApiError;
