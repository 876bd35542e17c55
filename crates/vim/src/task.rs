//! Tasks: read `info`, and wait for the end event-driven (a private property
//! collector and `WaitForUpdatesEx`), never by polling.

use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, Fault};
use crate::property::{PropertyFilterSpec, PropertySpec, WaitOptions};
use crate::value::{MoRef, Value};
use crate::xml::decode_localized_fault;

/// `TaskInfo.state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to run.
    Queued,
    /// Running.
    Running,
    /// Finished successfully.
    Success,
    /// Failed (see [`TaskInfo::error`]).
    Error,
    /// A state this client does not know.
    Other(String),
}

impl TaskState {
    fn parse(text: &str) -> Self {
        match text {
            "queued" => TaskState::Queued,
            "running" => TaskState::Running,
            "success" => TaskState::Success,
            "error" => TaskState::Error,
            other => TaskState::Other(other.to_owned()),
        }
    }

    /// Whether the task has finished (either way).
    pub fn is_terminal(&self) -> bool {
        matches!(self, TaskState::Success | TaskState::Error)
    }
}

/// The parts of `TaskInfo` callers use.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    /// The task.
    pub task: MoRef,
    /// The method name, e.g. `CreateSnapshot_Task` (vCenter) or `CreateSnapshot`.
    pub name: String,
    /// The description id, e.g. `VirtualMachine.createSnapshot`.
    pub description_id: String,
    /// The object the task acts on.
    pub entity: Option<MoRef>,
    /// Its state.
    pub state: TaskState,
    /// Percent done, while running.
    pub progress: Option<i64>,
    /// The result on success (e.g. the new snapshot's reference).
    pub result: Option<Value>,
    /// The fault on error.
    pub error: Option<Fault>,
    /// When it was queued / started / completed.
    pub queue_time: Option<String>,
    /// When it started.
    pub start_time: Option<String>,
    /// When it completed.
    pub complete_time: Option<String>,
}

impl TaskInfo {
    /// Decodes a `TaskInfo` value (the `info` property of a task).
    pub fn from_value(task: MoRef, info: &Value) -> Self {
        let text = |name: &str| info.get(name).and_then(Value::as_str).map(str::to_owned);
        TaskInfo {
            name: text("name").unwrap_or_default(),
            description_id: text("descriptionId").unwrap_or_default(),
            entity: info.get("entity").and_then(Value::as_moref).cloned(),
            state: TaskState::parse(&text("state").unwrap_or_default()),
            progress: info.get("progress").and_then(Value::as_i64),
            result: info.get("result").cloned(),
            error: info.get("error").map(decode_localized_fault),
            queue_time: text("queueTime"),
            start_time: text("startTime"),
            complete_time: text("completeTime"),
            task,
        }
    }
}

impl Client {
    /// Reads a task's `info`.
    pub async fn task_info(&self, task: &MoRef) -> Result<TaskInfo, Error> {
        let content = self.retrieve_one(task, &["info"]).await?;
        match content.as_ref().and_then(|c| c.get("info")) {
            Some(info) => Ok(TaskInfo::from_value(task.clone(), info)),
            None => Err(Error::Protocol {
                method: "RetrievePropertiesEx".into(),
                message: format!("task {task} has no info"),
            }),
        }
    }

    /// Waits until the task ends: its result on success, [`Error::TaskFailed`]
    /// with the task's fault on error, [`Error::Timeout`] after `timeout`.
    ///
    /// Reads the task once; if it is still running, watches it with a
    /// private property collector (destroyed afterwards).
    pub async fn wait_for_task(
        &self,
        task: &MoRef,
        timeout: Duration,
    ) -> Result<Option<Value>, Error> {
        let info = self.task_info(task).await?;
        if info.state.is_terminal() {
            return finish(info);
        }
        let collector = self.create_property_collector().await?;
        let result = self.watch_task(&collector, task, timeout).await;
        if let Err(error) = self.destroy_property_collector(&collector).await {
            tracing::debug!(%error, "destroying a task's property collector failed");
        }
        result
    }

    async fn watch_task(
        &self,
        collector: &MoRef,
        task: &MoRef,
        timeout: Duration,
    ) -> Result<Option<Value>, Error> {
        let spec = PropertyFilterSpec::for_objects(
            std::slice::from_ref(task),
            vec![PropertySpec::new("Task", &["info"])],
        );
        self.create_filter(collector, &spec, false).await?;
        let deadline = Instant::now() + timeout;
        let mut version = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    what: format!("waiting for task {task}"),
                    after: timeout,
                });
            }
            let options = WaitOptions {
                max_wait_seconds: Some(left.as_secs().clamp(1, 30) as u32),
                max_object_updates: None,
            };
            let Some(set) = self.wait_for_updates(collector, &version, options).await? else {
                continue;
            };
            version = set.version.clone();
            let info = set
                .object_updates()
                .filter(|u| u.obj == *task)
                .flat_map(|u| u.changes.iter())
                .filter(|c| c.name == "info")
                .filter_map(|c| c.value.as_ref())
                .last()
                .map(|v| TaskInfo::from_value(task.clone(), v));
            if let Some(info) = info
                && info.state.is_terminal()
            {
                return finish(info);
            }
        }
    }
}

fn finish(info: TaskInfo) -> Result<Option<Value>, Error> {
    match info.state {
        TaskState::Success => Ok(info.result),
        _ => Err(Error::TaskFailed {
            fault: Box::new(info.error.unwrap_or_else(|| Fault {
                name: "MethodFault".into(),
                message: "the task failed without an error".into(),
                detail: Default::default(),
            })),
            task: info.task,
        }),
    }
}
