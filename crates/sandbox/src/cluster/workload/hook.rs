//! Forklift hook Jobs: `ansible-runner` over the playbook in the hook's ConfigMap
//! (`/tmp/hook/playbook.yml`). The sandbox does not run Ansible; it reads the playbook
//! and plays it as far as it can tell the outcome:
//!
//! - a task using the `fail` module (`fail`, `ansible.builtin.fail`,
//!   `ansible.legacy.fail`) fails the play with its `msg`, unless `when:` is literally
//!   false;
//! - `meta: end_play` ends it successfully;
//! - a playbook that is not a YAML list of plays fails as Ansible's parser would;
//! - every other task is reported `ok`.
//!
//! A hook without a playbook (image only) runs as a generic container.

use std::path::Path;

use serde_json::Value;

use super::{PodRun, Ready};
use crate::cluster::kubelet::status::Exit;

/// The playbook's path when the command does not name one.
const DEFAULT_PLAYBOOK: &str = "/tmp/hook/playbook.yml";
const FAIL_MODULES: &[&str] = &["fail", "ansible.builtin.fail", "ansible.legacy.fail"];

/// How a playbook plays out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Output lines, as `ansible-playbook` prints them.
    pub lines: Vec<String>,
    /// `None` when it succeeded; else the failure message.
    pub failure: Option<String>,
}

/// Plays a playbook (pure).
pub fn play(text: &str) -> Outcome {
    let mut lines = Vec::new();
    let plays: Value = match serde_saphyr::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let message = format!("ERROR! We were unable to read the playbook: {error}");
            return Outcome {
                lines: vec![message.clone()],
                failure: Some(message),
            };
        }
    };
    let Some(plays) = plays.as_array() else {
        let message = "ERROR! A playbook must be a list of plays".to_owned();
        return Outcome {
            lines: vec![message.clone()],
            failure: Some(message),
        };
    };
    let mut ok = 0;
    for play in plays {
        let name = play["name"].as_str().unwrap_or("localhost");
        lines.push(format!("PLAY [{name}] {}", "*".repeat(20)));
        for section in ["pre_tasks", "tasks", "post_tasks"] {
            for task in play[section].as_array().into_iter().flatten() {
                let task_name = task["name"].as_str().map(str::to_owned).unwrap_or_else(|| {
                    task.as_object()
                        .and_then(|t| {
                            t.keys()
                                .find(|k| !matches!(k.as_str(), "when" | "register" | "vars"))
                        })
                        .cloned()
                        .unwrap_or_else(|| "task".into())
                });
                lines.push(format!("TASK [{task_name}] {}", "*".repeat(20)));
                let skipped = matches!(&task["when"], Value::Bool(false))
                    || task["when"].as_str().is_some_and(|w| w.trim() == "false");
                if skipped {
                    lines.push("skipping: [localhost]".into());
                    continue;
                }
                if let Some(args) = FAIL_MODULES.iter().find_map(|m| task.get(*m)) {
                    let message = args["msg"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| "Failed as requested from task".into());
                    lines.push(format!(
                        "fatal: [localhost]: FAILED! => {{\"changed\": false, \"msg\": {}}}",
                        Value::String(message.clone())
                    ));
                    lines.push(recap(ok, 1));
                    return Outcome {
                        lines,
                        failure: Some(message),
                    };
                }
                if task["meta"].as_str() == Some("end_play") {
                    lines.push(recap(ok, 0));
                    return Outcome {
                        lines,
                        failure: None,
                    };
                }
                lines.push("ok: [localhost]".into());
                ok += 1;
            }
        }
    }
    lines.push(recap(ok, 0));
    Outcome {
        lines,
        failure: None,
    }
}

fn recap(ok: usize, failed: usize) -> String {
    format!(
        "PLAY RECAP *********\nlocalhost : ok={ok} changed=0 unreachable=0 failed={failed} skipped=0 rescued=0 ignored=0"
    )
}

/// The playbook path: the argument after `-p`, else the default.
fn playbook_path(argv: &[String]) -> &str {
    argv.iter()
        .position(|a| a == "-p")
        .and_then(|i| argv.get(i + 1))
        .map_or(DEFAULT_PLAYBOOK, String::as_str)
}

/// Runs a hook pod.
pub async fn run(run: &PodRun, ready: &mut Ready) -> Exit {
    let Some(container) = run.main() else {
        return Exit::failure(1, "the hook pod has no container");
    };
    let log = run.log(&container.name);
    ready.signal();
    let path = playbook_path(&container.argv);
    let text = container
        .file(Path::new(path))
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let Some(text) = text else {
        if container.argv.is_empty() {
            // An image-only hook: nothing to judge.
            return super::generic::run(
                run,
                &mut Ready::new().0,
                Some(run.config.pace.generic_run),
                0,
            )
            .await;
        }
        let message = format!("ERROR! the playbook: {path} could not be found");
        log.line(&message);
        return Exit::failure(1, message);
    };
    let outcome = play(&text);
    tokio::time::sleep(run.config.pace.generic_run).await;
    for line in &outcome.lines {
        log.line(line);
    }
    match outcome.failure {
        None => Exit::success(),
        // ansible-runner exits 2 when a host failed.
        Some(message) => Exit::failure(2, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_succeed_or_fail_on_their_tasks() {
        let ok = play(
            "- name: Main\n  hosts: localhost\n  tasks:\n  - name: Wait\n    wait_for:\n      timeout: 1\n  - debug:\n      msg: hi\n",
        );
        assert_eq!(ok.failure, None);
        assert!(ok.lines.iter().any(|l| l.contains("TASK [Wait]")));
        assert!(ok.lines.last().unwrap().contains("ok=2"));

        let fail = play(
            "- hosts: localhost\n  tasks:\n  - name: Stop here\n    ansible.builtin.fail:\n      msg: database still running\n  - debug: {msg: never}\n",
        );
        assert_eq!(fail.failure.as_deref(), Some("database still running"));
        assert!(!fail.lines.iter().any(|l| l.contains("never")));

        let skipped = play("- hosts: localhost\n  tasks:\n  - fail: {msg: no}\n    when: false\n");
        assert_eq!(skipped.failure, None);

        let bare = play("- hosts: localhost\n  tasks:\n  - fail:\n");
        assert_eq!(
            bare.failure.as_deref(),
            Some("Failed as requested from task")
        );

        let ended = play("- hosts: localhost\n  tasks:\n  - meta: end_play\n  - fail: {msg: no}\n");
        assert_eq!(ended.failure, None);
    }

    #[test]
    fn broken_playbooks_fail() {
        assert!(play("hosts: [unclosed").failure.is_some());
        assert!(
            play("just: a map")
                .failure
                .unwrap()
                .contains("list of plays")
        );
        // Hostile input: deep nesting and a huge document do not panic.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let _ = play(&deep);
    }

    #[test]
    fn playbook_path_from_the_command() {
        let argv: Vec<String> = [
            "/bin/entrypoint",
            "ansible-runner",
            "run",
            "/tmp/runner",
            "-p",
            "/tmp/hook/playbook.yml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(playbook_path(&argv), "/tmp/hook/playbook.yml");
        assert_eq!(playbook_path(&[]), DEFAULT_PLAYBOOK);
    }
}
