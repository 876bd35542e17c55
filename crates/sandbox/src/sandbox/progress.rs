//! Live progress of the demo plan, from its status alone (what `kubectl get plan -o
//! yaml` shows): per VM its phase, its current pipeline step and the MB copied.
//! [`lines`] and [`plan_state`] are pure; [`Display`] draws them as bars redrawn in
//! place on a terminal, or as one line per change otherwise.

use std::collections::HashMap;
use std::io::{self, Write};

use ferry_api::Plan;
use ferry_api::plan::VmStatus;

/// How far one VM is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmLine {
    /// The VM's name.
    pub name: String,
    /// Its phase (`CreateDataVolumes`, `ConvertGuest`, `Completed`, ...).
    pub phase: String,
    /// Its current pipeline step (`DiskTransferV2v`, ...).
    pub step: String,
    /// MB copied.
    pub done_mb: i64,
    /// MB to copy.
    pub total_mb: i64,
    /// Where it stands.
    pub state: VmState,
    /// Its error, if any.
    pub error: Option<String>,
}

/// Where a VM stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmState {
    /// Not started.
    Waiting,
    /// Migrating.
    Running,
    /// Done.
    Succeeded,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
}

impl VmState {
    fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "FAILED",
            Self::Canceled => "canceled",
        }
    }
}

/// Where the plan stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanState {
    /// Validation has not finished, or blockers stop it (the message says which).
    NotReady(String),
    /// Ready, no migration running.
    Ready,
    /// A migration runs.
    Executing,
    /// The last migration succeeded.
    Succeeded,
    /// The last migration failed: why.
    Failed(String),
    /// The last migration was canceled.
    Canceled,
}

/// Disk sizes from the inventory: upstream's per-disk task totals count the raw OVF
/// capacity as MiB whatever its units (a Forklift quirk the plan controller keeps), so a
/// disk declared as `64` in `byte * 2^20` shows a total of 0; the display weighs each
/// task by the disk's real size instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskSizes {
    /// Bytes by disk source (`<FilePath>::<Name>`, the task name).
    pub by_disk: HashMap<String, u64>,
    /// Bytes of all of a VM's disks, by VM name.
    pub by_vm: HashMap<String, u64>,
}

impl DiskSizes {
    /// The sizes of `vms`' disks.
    pub fn of(vms: &[std::sync::Arc<ferry_inventory::ova::model::Vm>]) -> Self {
        let mut sizes = Self::default();
        for vm in vms {
            let mut total = 0u64;
            for disk in &vm.disks {
                let bytes = disk
                    .capacity_bytes()
                    .ok()
                    .and_then(|b| u64::try_from(b).ok())
                    .unwrap_or(0);
                sizes.by_disk.insert(disk.disk_source(), bytes);
                total = total.saturating_add(bytes);
            }
            sizes.by_vm.insert(vm.name.clone(), total);
        }
        sizes
    }
}

fn mib(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(1 << 20)).unwrap_or(i64::MAX)
}

/// The VMs' lines (pure), MB from the plan's own progress numbers.
pub fn lines(plan: &Plan) -> Vec<VmLine> {
    lines_sized(plan, &DiskSizes::default())
}

/// The VMs' lines (pure), MB weighed by the disks' real sizes where known.
pub fn lines_sized(plan: &Plan, sizes: &DiskSizes) -> Vec<VmLine> {
    let statuses: HashMap<&str, &VmStatus> = plan
        .status
        .migration
        .vms
        .iter()
        .map(|vm| (vm.vm.name.as_str(), vm))
        .collect();
    plan.spec
        .vms
        .iter()
        .map(|spec| match statuses.get(spec.name.as_str()) {
            Some(status) => line(status, sizes),
            None => VmLine {
                name: spec.name.clone(),
                phase: String::new(),
                step: String::new(),
                done_mb: 0,
                total_mb: sizes.by_vm.get(&spec.name).map_or(0, |b| mib(*b)),
                state: VmState::Waiting,
                error: None,
            },
        })
        .collect()
}

fn line(vm: &VmStatus, sizes: &DiskSizes) -> VmLine {
    let condition = |kind: &str| vm.conditions.find(kind).is_some_and(|c| c.is_true());
    let state = if condition("Succeeded") {
        VmState::Succeeded
    } else if condition("Failed") || (vm.error.is_some() && vm.timed.completed.is_some()) {
        VmState::Failed
    } else if condition("Canceled") {
        VmState::Canceled
    } else if vm.timed.started.is_some() {
        VmState::Running
    } else {
        VmState::Waiting
    };
    let current = vm
        .pipeline
        .iter()
        .find(|s| s.task.timed.started.is_some() && s.task.timed.completed.is_none())
        .or_else(|| {
            vm.pipeline
                .iter()
                .rev()
                .find(|s| s.task.timed.completed.is_some())
        });
    let transfer = vm
        .pipeline
        .iter()
        .find(|s| s.task.name.starts_with("DiskTransfer"))
        .or_else(|| {
            vm.pipeline
                .iter()
                .find(|s| s.task.annotations.get("unit").map(String::as_str) == Some("MB"))
        });
    let (mut done_mb, mut total_mb) = transfer.map_or((0, 0), |s| {
        (s.task.progress.completed, s.task.progress.total)
    });
    // Weigh each disk task by the disk's real size when the inventory knows it.
    if let Some(step) = transfer {
        let known: Vec<(u64, f64)> = step
            .tasks
            .iter()
            .filter_map(|task| {
                let bytes = *sizes.by_disk.get(&task.name)?;
                let progress = &task.progress;
                let ratio = if progress.total > 0 {
                    (progress.completed as f64 / progress.total as f64).clamp(0.0, 1.0)
                } else if task.timed.completed.is_some() || task.phase == "Completed" {
                    1.0
                } else {
                    0.0
                };
                Some((bytes, ratio))
            })
            .collect();
        if !known.is_empty() && known.len() == step.tasks.len() {
            total_mb = known.iter().map(|(b, _)| mib(*b)).sum();
            done_mb = known
                .iter()
                .map(|(b, r)| (mib(*b) as f64 * r).floor() as i64)
                .sum();
            if step.task.timed.completed.is_some() {
                done_mb = total_mb;
            }
        }
    }
    if total_mb == 0 {
        total_mb = sizes.by_vm.get(&vm.vm.name).map_or(0, |b| mib(*b));
    }
    if state == VmState::Succeeded {
        done_mb = total_mb;
    }
    VmLine {
        name: vm.vm.name.clone(),
        phase: vm.phase.clone(),
        step: current.map(|s| s.task.name.clone()).unwrap_or_default(),
        done_mb,
        total_mb,
        state,
        error: vm.error.as_ref().map(|e| e.reasons.join("; ")),
    }
}

/// Where the plan stands (pure).
pub fn plan_state(plan: &Plan) -> PlanState {
    let conditions = &plan.status.conditions;
    let is = |kind: &str| conditions.find(kind).is_some_and(|c| c.is_true());
    if is("Executing") {
        return PlanState::Executing;
    }
    if is("Succeeded") {
        return PlanState::Succeeded;
    }
    if is("Canceled") {
        return PlanState::Canceled;
    }
    if is("Failed") {
        let reasons: Vec<String> = plan
            .status
            .migration
            .vms
            .iter()
            .filter_map(|vm| {
                vm.error
                    .as_ref()
                    .map(|e| format!("{}: {}", vm.vm.name, e.reasons.join("; ")))
            })
            .collect();
        return PlanState::Failed(if reasons.is_empty() {
            conditions
                .find("Failed")
                .map(|c| c.message.clone())
                .unwrap_or_default()
        } else {
            reasons.join(" | ")
        });
    }
    if is("Ready") {
        return PlanState::Ready;
    }
    let blockers: Vec<String> = conditions
        .iter()
        .filter(|c| c.category == "Critical" || c.category == "Error")
        .map(|c| format!("{}: {}", c.r#type, c.message))
        .collect();
    PlanState::NotReady(if blockers.is_empty() {
        "validating".into()
    } else {
        blockers.join("; ")
    })
}

/// A bar of `width` cells for `done` of `total`.
pub fn bar(done: i64, total: i64, width: usize) -> String {
    let filled = if total > 0 {
        ((done.clamp(0, total) as f64 / total as f64) * width as f64).round() as usize
    } else {
        0
    };
    format!(
        "[{}{}]",
        "#".repeat(filled),
        "-".repeat(width - filled.min(width))
    )
}

fn percent(line: &VmLine) -> i64 {
    match line.state {
        VmState::Succeeded => 100,
        _ if line.total_mb > 0 => (line.done_mb.clamp(0, line.total_mb) * 100) / line.total_mb,
        _ => 0,
    }
}

/// One VM as a bar line (pure).
pub fn render(line: &VmLine, name_width: usize) -> String {
    let mut text = format!(
        "{:<name_width$}  {}  {:>3}%  {:>6}/{:<6} MB  {:<9}  {}",
        line.name,
        bar(
            if line.state == VmState::Succeeded {
                1
            } else {
                line.done_mb
            },
            if line.state == VmState::Succeeded {
                1
            } else {
                line.total_mb
            },
            24
        ),
        percent(line),
        line.done_mb,
        line.total_mb,
        line.state.label(),
        if line.step.is_empty() {
            line.phase.clone()
        } else {
            format!("{} / {}", line.phase, line.step)
        },
    );
    if let (Some(error), VmState::Failed) = (&line.error, line.state) {
        text.push_str(&format!("  ({error})"));
    }
    text
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars redrawn in place (a terminal).
    Bars,
    /// A line per change (a pipe or a file).
    Lines,
    /// Nothing.
    Quiet,
}

/// Draws progress updates.
#[derive(Debug)]
pub struct Display {
    mode: Mode,
    drawn: usize,
    last: HashMap<String, String>,
}

impl Display {
    /// A display in `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            drawn: 0,
            last: HashMap::new(),
        }
    }

    /// Shows `header` and `lines`.
    pub fn update(
        &mut self,
        out: &mut impl Write,
        header: &str,
        lines: &[VmLine],
    ) -> io::Result<()> {
        match self.mode {
            Mode::Quiet => Ok(()),
            Mode::Bars => {
                if self.drawn > 0 {
                    write!(out, "\x1b[{}A", self.drawn)?;
                }
                let width = lines
                    .iter()
                    .map(|l| l.name.len())
                    .max()
                    .unwrap_or(0)
                    .min(40);
                writeln!(out, "\x1b[2K{header}")?;
                for line in lines {
                    writeln!(out, "\x1b[2K{}", render(line, width))?;
                }
                self.drawn = lines.len() + 1;
                out.flush()
            }
            Mode::Lines => {
                if self.last.get("").map(String::as_str) != Some(header) {
                    writeln!(out, "{header}")?;
                    self.last.insert(String::new(), header.to_owned());
                }
                for line in lines {
                    // A line when the phase, step or state changes, or every 10%.
                    let key = format!(
                        "{}|{}|{:?}|{}",
                        line.phase,
                        line.step,
                        line.state,
                        percent(line) / 10
                    );
                    if self.last.get(&line.name) != Some(&key) {
                        writeln!(
                            out,
                            "{}",
                            render(line, 0)
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        )?;
                        self.last.insert(line.name.clone(), key);
                    }
                }
                out.flush()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(status: serde_json::Value) -> Plan {
        serde_json::from_value(json!({
            "apiVersion": "forklift.konveyor.io/v1beta1",
            "kind": "Plan",
            "metadata": { "name": "demo", "namespace": "konveyor-forklift" },
            "spec": {
                "provider": { "source": {}, "destination": {} },
                "map": { "network": {}, "storage": {} },
                "targetNamespace": "demo",
                "vms": [{ "name": "a" }, { "name": "b" }],
            },
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn lines_follow_the_pipeline() {
        let p = plan(json!({
            "conditions": [{ "type": "Executing", "status": "True", "category": "Advisory",
                "lastTransitionTime": "2024-01-01T00:00:00Z" }],
            "migration": { "vms": [{
                "name": "a", "phase": "CopyDisksVirtV2V", "started": "2024-01-01T00:00:00Z",
                "pipeline": [
                    { "name": "Initialize", "phase": "Completed", "progress": { "completed": 0, "total": 1 },
                      "started": "2024-01-01T00:00:00Z", "completed": "2024-01-01T00:00:01Z" },
                    { "name": "DiskTransferV2v", "phase": "Running", "progress": { "completed": 48, "total": 96 },
                      "annotations": { "unit": "MB" }, "started": "2024-01-01T00:00:02Z" },
                ],
            }] },
        }));
        assert_eq!(plan_state(&p), PlanState::Executing);
        let l = lines(&p);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].step, "DiskTransferV2v");
        assert_eq!((l[0].done_mb, l[0].total_mb), (48, 96));
        assert_eq!(l[0].state, VmState::Running);
        assert_eq!(
            l[1].state,
            VmState::Waiting,
            "a VM without status is waiting"
        );
        let text = render(&l[0], 4);
        assert!(
            text.contains(" 50%") && text.contains("[############------------]"),
            "{text}"
        );
    }

    #[test]
    fn real_disk_sizes_weigh_the_tasks() {
        let p = plan(json!({
            "migration": { "vms": [{
                "name": "a", "phase": "CopyDisksVirtV2V", "started": "2024-01-01T00:00:00Z",
                "pipeline": [{
                    "name": "DiskTransferV2v", "phase": "Running", "started": "2024-01-01T00:00:02Z",
                    "progress": { "completed": 16, "total": 32 }, "annotations": { "unit": "MB" },
                    "tasks": [
                        { "name": "/ova/a.ova::d1.vmdk", "phase": "Completed", "progress": { "completed": 0, "total": 0 },
                          "completed": "2024-01-01T00:00:03Z" },
                        { "name": "/ova/a.ova::d2.vmdk", "phase": "Running", "progress": { "completed": 16, "total": 32 } },
                    ],
                }],
            }] },
        }));
        let sizes = DiskSizes {
            by_disk: HashMap::from([
                ("/ova/a.ova::d1.vmdk".to_owned(), 64 << 20),
                ("/ova/a.ova::d2.vmdk".to_owned(), 32 << 20),
            ]),
            by_vm: HashMap::from([("a".to_owned(), 96 << 20), ("b".to_owned(), 48 << 20)]),
        };
        let l = lines_sized(&p, &sizes);
        assert_eq!(
            (l[0].done_mb, l[0].total_mb),
            (80, 96),
            "64 done + half of 32"
        );
        assert_eq!(
            (l[1].done_mb, l[1].total_mb),
            (0, 48),
            "a waiting VM shows its size"
        );
        let raw = lines(&p);
        assert_eq!(
            (raw[0].done_mb, raw[0].total_mb),
            (16, 32),
            "without sizes: the plan's numbers"
        );
    }

    #[test]
    fn failures_carry_their_reasons() {
        let p = plan(json!({
            "conditions": [{ "type": "Failed", "status": "True", "category": "Advisory",
                "lastTransitionTime": "2024-01-01T00:00:00Z", "message": "The plan execution has FAILED." }],
            "migration": { "vms": [{
                "name": "b", "phase": "Completed", "started": "2024-01-01T00:00:00Z",
                "completed": "2024-01-01T00:01:00Z",
                "error": { "phase": "CopyDisksVirtV2V", "reasons": ["Guest conversion failed. See pod logs for details."] },
                "conditions": [{ "type": "Failed", "status": "True", "category": "Advisory",
                    "lastTransitionTime": "2024-01-01T00:00:00Z" }],
            }] },
        }));
        match plan_state(&p) {
            PlanState::Failed(reason) => {
                assert!(reason.contains("b: Guest conversion failed"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(lines(&p)[1].state, VmState::Failed);
    }

    #[test]
    fn displays_redraw_or_append() {
        let line = VmLine {
            name: "a".into(),
            phase: "ConvertGuest".into(),
            step: "ImageConversion".into(),
            done_mb: 0,
            total_mb: 10,
            state: VmState::Running,
            error: None,
        };
        let mut bars = Display::new(Mode::Bars);
        let mut out = Vec::new();
        bars.update(&mut out, "plan demo", std::slice::from_ref(&line))
            .unwrap();
        bars.update(&mut out, "plan demo", std::slice::from_ref(&line))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\x1b[2A"),
            "the second draw moves up over the first"
        );
        let mut plain = Display::new(Mode::Lines);
        let mut out = Vec::new();
        plain
            .update(&mut out, "plan demo", std::slice::from_ref(&line))
            .unwrap();
        plain
            .update(&mut out, "plan demo", std::slice::from_ref(&line))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().count(),
            2,
            "unchanged lines are not repeated: {text}"
        );
        assert!(!text.contains('\x1b'));
        assert_eq!(bar(5, 0, 4), "[----]");
        assert_eq!(bar(10, 5, 4), "[####]");
    }
}
