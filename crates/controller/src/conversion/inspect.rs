//! The deep-inspection pod's HTTP server (`:8080`): `GET /ready` (200 once detection is
//! done), `GET /results` (503 until then; the `DetectResult` JSON), `POST /shutdown`
//! (upstream `pipeline.go`). The calls go through `ferry-plan`'s [`PodHttp`], so they
//! never fail: a failure is an answer.

use std::net::IpAddr;

use ferry_api::conversion::{
    InspectionConcern, InspectionFilesystem, InspectionMountpoint, InspectionResult, OsInfo,
};
use ferry_plan::execute::action::{HttpAnswer, HttpRequest, Method};
use ferry_plan::http::PodHttp;
use serde::Deserialize;

/// The port of the deep-inspection server.
pub const PORT: u16 = 8080;

/// `http://<ip>:<port><path>`, when `ip` is an IP address (a pod status is not trusted
/// to name a host).
pub fn url(ip: &str, port: u16, path: &str) -> Option<String> {
    match ip.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(format!("http://{v4}:{port}{path}")),
        IpAddr::V6(v6) => Some(format!("http://[{v6}]:{port}{path}")),
    }
}

#[derive(Deserialize)]
struct RawConcern {
    #[serde(default)]
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct RawOs {
    #[serde(default)]
    name: String,
    #[serde(default)]
    distro: String,
    #[serde(default)]
    major_version: String,
    #[serde(default)]
    architecture: String,
}

#[derive(Deserialize)]
struct RawFilesystem {
    #[serde(default)]
    device: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    uuid: String,
}

#[derive(Deserialize)]
struct RawMountpoint {
    #[serde(default)]
    device: String,
    #[serde(default)]
    mount_point: String,
}

/// The part of the detector's JSON upstream keeps.
#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    passed: bool,
    #[serde(default)]
    all_concerns: Option<Vec<RawConcern>>,
    #[serde(default)]
    os_info: Option<RawOs>,
    #[serde(default)]
    filesystems: Option<Vec<RawFilesystem>>,
    #[serde(default)]
    mountpoints: Option<Vec<RawMountpoint>>,
}

/// Reads `GET /results`' body (upstream `fetchInspectionResults`).
pub fn parse_results(body: &str) -> Result<InspectionResult, serde_json::Error> {
    let raw: Raw = serde_json::from_str(body)?;
    Ok(InspectionResult {
        all_checks_passed: raw.passed,
        os_info: raw.os_info.map(|os| OsInfo {
            name: os.name,
            distro: os.distro,
            version: os.major_version,
            arch: os.architecture,
        }),
        concerns: raw
            .all_concerns
            .unwrap_or_default()
            .into_iter()
            .map(|c| InspectionConcern {
                id: c.id,
                category: c.category,
                label: c.label,
                message: c.message,
            })
            .collect(),
        filesystems: raw
            .filesystems
            .unwrap_or_default()
            .into_iter()
            .map(|f| InspectionFilesystem {
                device: f.device,
                r#type: f.kind,
                uuid: f.uuid,
            })
            .collect(),
        mountpoints: raw
            .mountpoints
            .unwrap_or_default()
            .into_iter()
            .map(|m| InspectionMountpoint {
                device: m.device,
                mount_point: m.mount_point,
            })
            .collect(),
    })
}

async fn call(http: &dyn PodHttp, method: Method, url: String) -> HttpAnswer {
    http.call(&HttpRequest { method, url }).await
}

/// Whether the pod says its results are ready (`GET /ready` answers 200).
pub async fn ready(http: &dyn PodHttp, ip: &str, port: u16) -> bool {
    let Some(url) = url(ip, port, "/ready") else {
        return false;
    };
    matches!(
        call(http, Method::Get, url).await,
        HttpAnswer::Response { status: 200, .. }
    )
}

/// What `GET /results` gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetched {
    /// Not yet (503, refused, a transient failure): ask again later.
    NotYet(String),
    /// The results.
    Results(InspectionResult),
    /// A 200 whose body is not the detector's JSON.
    Unreadable(String),
}

/// Fetches the results.
pub async fn results(http: &dyn PodHttp, ip: &str, port: u16) -> Fetched {
    let Some(url) = url(ip, port, "/results") else {
        return Fetched::Unreadable(format!("the pod IP {ip:?} is not an IP address"));
    };
    match call(http, Method::Get, url).await {
        HttpAnswer::Response { status: 200, body } => match parse_results(&body) {
            Ok(result) => Fetched::Results(result),
            Err(error) => Fetched::Unreadable(format!(
                "the deep-inspection results are not valid JSON: {error}"
            )),
        },
        HttpAnswer::Response { status: 503, .. } => {
            Fetched::NotYet("results not ready (503)".into())
        }
        HttpAnswer::Response { status, .. } => {
            Fetched::NotYet(format!("unexpected status {status} from /results"))
        }
        HttpAnswer::Refused => Fetched::NotYet("connection refused".into()),
        HttpAnswer::Eof => Fetched::NotYet("the connection closed without an answer".into()),
        HttpAnswer::Failed(error) => Fetched::NotYet(error),
    }
}

/// Asks the pod to exit (`POST /shutdown`); the answer does not matter.
pub async fn shutdown(http: &dyn PodHttp, ip: &str, port: u16) {
    if let Some(url) = url(ip, port, "/shutdown") {
        let answer = call(http, Method::Post, url).await;
        tracing::debug!(?answer, "asked the deep-inspection pod to shut down");
    }
}
