//! Pod status as the kubelet writes it (pure): phases, conditions, container states.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

/// The host IP of every pod.
pub const HOST_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// How a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Its exit code.
    pub code: i32,
    /// `Completed`, `Error`, `DeadlineExceeded`, `OOMKilled`...
    pub reason: String,
    /// The termination message (`/dev/termination-log`).
    pub message: Option<String>,
}

impl Exit {
    /// Exit 0.
    pub fn success() -> Self {
        Self {
            code: 0,
            reason: "Completed".into(),
            message: None,
        }
    }

    /// Exit 0 with a termination message.
    pub fn success_with(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            ..Self::success()
        }
    }

    /// A failure with `code` and a termination message.
    pub fn failure(code: i32, message: impl Into<String>) -> Self {
        Self {
            code: if code == 0 { 1 } else { code },
            reason: "Error".into(),
            message: Some(message.into()),
        }
    }

    /// Whether it succeeded.
    pub fn succeeded(&self) -> bool {
        self.code == 0
    }
}

/// A container's state for [`container_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not started: `reason` (`ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`,
    /// `CreateContainerConfigError`) and a message.
    Waiting(String, Option<String>),
    /// Running since the time stamp.
    Running(String),
    /// Ended: how, started and finished time stamps.
    Terminated(Exit, String, String),
}

/// One entry of `containerStatuses` / `initContainerStatuses`.
pub fn container_status(
    name: &str,
    image: &str,
    pod_uid: &str,
    state: &State,
    restarts: i32,
    last: Option<&State>,
) -> Value {
    let render = |state: &State| match state {
        State::Waiting(reason, message) => {
            let mut waiting = json!({ "reason": reason });
            if let Some(message) = message {
                waiting["message"] = json!(message);
            }
            json!({ "waiting": waiting })
        }
        State::Running(started) => json!({ "running": { "startedAt": started } }),
        State::Terminated(exit, started, finished) => {
            let mut terminated = json!({
                "exitCode": exit.code,
                "reason": exit.reason,
                "startedAt": started,
                "finishedAt": finished,
                "containerID": container_id(pod_uid, name),
            });
            if let Some(message) = &exit.message {
                terminated["message"] = json!(message);
            }
            json!({ "terminated": terminated })
        }
    };
    let running = matches!(state, State::Running(_));
    let mut status = json!({
        "name": name,
        "image": image,
        "imageID": "",
        "ready": running,
        "started": running,
        "restartCount": restarts,
        "state": render(state),
        "lastState": last.map(render).unwrap_or_else(|| json!({})),
    });
    if !matches!(state, State::Waiting(..)) {
        status["containerID"] = json!(container_id(pod_uid, name));
    }
    status
}

fn container_id(pod_uid: &str, name: &str) -> String {
    format!("ferry-sandbox://{pod_uid}/{name}")
}

/// The pod conditions for a phase.
pub fn conditions(
    phase: &str,
    scheduled: bool,
    unschedulable: Option<&str>,
    initialized: bool,
    now: &str,
) -> Value {
    let condition = |kind: &str, ok: bool, reason: Option<&str>, message: Option<&str>| {
        let mut c = json!({
            "type": kind,
            "status": if ok { "True" } else { "False" },
            "lastProbeTime": null,
            "lastTransitionTime": now,
        });
        if let Some(reason) = reason {
            c["reason"] = json!(reason);
        }
        if let Some(message) = message {
            c["message"] = json!(message);
        }
        c
    };
    if !scheduled {
        return json!([condition(
            "PodScheduled",
            false,
            Some("Unschedulable"),
            unschedulable
        )]);
    }
    let (ready, reason) = match phase {
        "Running" => (true, None),
        "Succeeded" => (false, Some("PodCompleted")),
        "Failed" => (false, Some("PodFailed")),
        _ => (false, Some("ContainersNotReady")),
    };
    let sandbox_ready = phase == "Running" || phase == "Pending" && initialized;
    json!([
        condition("PodReadyToStartContainers", sandbox_ready, None, None),
        condition(
            "Initialized",
            initialized || phase != "Pending",
            (!initialized && phase == "Pending").then_some("ContainersNotInitialized"),
            None
        ),
        condition("Ready", ready, reason, None),
        condition("ContainersReady", ready, reason, None),
        condition("PodScheduled", true, None, None),
    ])
}

/// The status of a pod in `phase`, with its containers' statuses and IPs.
pub fn pod_status(
    phase: &str,
    conditions: Value,
    ip: Option<Ipv4Addr>,
    started: Option<&str>,
    init_statuses: Vec<Value>,
    statuses: Vec<Value>,
    message: Option<(&str, &str)>,
) -> Value {
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": HOST_IP.to_string(),
        "hostIPs": [{ "ip": HOST_IP.to_string() }],
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    if let Some(ip) = ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{ "ip": ip.to_string() }]);
    }
    if let Some(started) = started {
        status["startTime"] = json!(started);
    }
    if let Some((reason, message)) = message {
        status["reason"] = json!(reason);
        status["message"] = json!(message);
    }
    status
}

/// The pod phase once its containers ended: `Succeeded` when all exited 0.
pub fn final_phase(exits: &[Exit]) -> &'static str {
    if exits.iter().all(Exit::succeeded) {
        "Succeeded"
    } else {
        "Failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_pod_status() {
        let now = "2024-01-01T00:00:00Z";
        let status = pod_status(
            "Running",
            conditions("Running", true, None, true, now),
            Some(Ipv4Addr::new(127, 64, 0, 1)),
            Some(now),
            vec![],
            vec![container_status(
                "virt-v2v",
                "img",
                "u1",
                &State::Running(now.into()),
                0,
                None,
            )],
            None,
        );
        assert_eq!(status["podIP"], "127.64.0.1");
        assert_eq!(status["hostIP"], "127.0.0.1");
        assert_eq!(status["containerStatuses"][0]["ready"], true);
        assert_eq!(
            status["containerStatuses"][0]["state"]["running"]["startedAt"],
            now
        );
        let ready = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
    }

    #[test]
    fn terminated_container_carries_exit_and_message() {
        let now = "2024-01-01T00:00:00Z";
        let exit = Exit::failure(1, "virt-v2v: error: disk 2 failed");
        let status = container_status(
            "virt-v2v",
            "img",
            "u1",
            &State::Terminated(exit.clone(), now.into(), now.into()),
            0,
            None,
        );
        let terminated = &status["state"]["terminated"];
        assert_eq!(terminated["exitCode"], 1);
        assert_eq!(terminated["reason"], "Error");
        assert_eq!(terminated["message"], "virt-v2v: error: disk 2 failed");
        assert_eq!(final_phase(&[Exit::success(), exit]), "Failed");
        assert_eq!(final_phase(&[Exit::success()]), "Succeeded");
        assert_eq!(Exit::failure(0, "x").code, 1, "a failure never exits 0");
    }

    #[test]
    fn unscheduled_pod_has_only_pod_scheduled() {
        let c = conditions("Pending", false, Some("unbound claims"), false, "t");
        assert_eq!(c.as_array().unwrap().len(), 1);
        assert_eq!(c[0]["reason"], "Unschedulable");
        assert_eq!(c[0]["message"], "unbound claims");
    }
}
