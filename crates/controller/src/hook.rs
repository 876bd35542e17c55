//! The Hook controller: checks that a hook can run, with upstream's conditions
//! (`pkg/controller/hook/validation.go`, `pkg/apis/forklift/v1beta1/hook_exec.go`).
//!
//! - An AAP hook (`spec.aap`) must not set `image` or `playbook`, needs
//!   `jobTemplateId > 0`, and a connection: the cluster's (`AAP_URL` and
//!   `AAP_TOKEN_SECRET_NAME`) or its own (`aap.url` and `aap.tokenSecret.name`).
//! - A local hook needs an `image` (a valid image reference); its `playbook` is
//!   optional and must be base64.
//!
//! Everything is `InvalidHookExecute`, `InvalidImage` or `InvalidPlaybook` (Critical);
//! `Ready` when none holds. A Hook wakes only when it changes.

use std::sync::{Arc, LazyLock};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ferry_api::Hook;
use ferry_api::condition::{Condition, category, ready, reason, types};
use ferry_api::hook::{HookSpec, HookStatus};
use futures::StreamExt;
use kube::runtime::controller::{Action, Config, Controller};
use regex::Regex;

use crate::context::Context;
use crate::findings::Findings;
use crate::runner::{Reconciled, Scoped, drive, error_policy, recompute, write_status};
use crate::settings::Aap;

/// The controller's name.
pub const NAME: &str = "hook";

/// Docker's image reference grammar (`distribution/reference`), as upstream's
/// `ReferenceRegexp`, anchored.
fn reference_pattern() -> String {
    let alpha_numeric = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]*)";
    let name_component = format!("{alpha_numeric}(?:(?:{separator}{alpha_numeric})+)?");
    let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain = format!(r"{domain_component}(?:(?:\.{domain_component})+)?(?::[0-9]+)?");
    let tag = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
    let name = format!("(?:{domain}/)?{name_component}(?:(?:/{name_component})+)?");
    format!("^({name})(?::({tag}))?(?:@({digest}))?$")
}

static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(&reference_pattern()).ok());

/// Whether `image` is a valid image reference.
pub fn valid_image(image: &str) -> bool {
    // The pattern is a constant; a unit test proves it compiles.
    REFERENCE.as_ref().is_none_or(|re| re.is_match(image))
}

/// Go's `base64.StdEncoding.DecodeString`: padding required, non-canonical trailing
/// bits accepted, and `\r`/`\n` ignored.
pub fn valid_playbook(playbook: &str) -> bool {
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: String = playbook
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    GO_STD.decode(cleaned).is_ok()
}

/// Upstream `HookExecutionConfigValid`.
pub fn execution_config_valid(spec: &HookSpec) -> bool {
    let has_local = !spec.image.trim().is_empty() || !spec.playbook.trim().is_empty();
    match &spec.aap {
        Some(aap) => !has_local && aap.job_template_id > 0,
        None => !spec.image.trim().is_empty(),
    }
}

/// Upstream `HookAAPRunnable`.
pub fn aap_runnable(spec: &HookSpec, cluster_url: &str, cluster_token_secret: &str) -> bool {
    let Some(aap) = &spec.aap else {
        return true;
    };
    if aap.job_template_id <= 0 {
        return false;
    }
    let hook_connection = !aap.url.trim().is_empty()
        && aap
            .token_secret
            .as_ref()
            .and_then(|secret| secret.name.as_deref())
            .is_some_and(|name| !name.trim().is_empty());
    let cluster_connection =
        !cluster_url.trim().is_empty() && !cluster_token_secret.trim().is_empty();
    hook_connection || cluster_connection
}

fn invalid_execute(message: &str) -> Condition {
    Condition::new(types::INVALID_HOOK_EXECUTE, category::CRITICAL)
        .with_reason(reason::NOT_SET)
        .with_message(message)
}

/// The hook's findings.
pub fn validate(spec: &HookSpec, aap_settings: &Aap) -> Findings {
    let mut findings = Findings::new();
    if let Some(aap) = &spec.aap {
        if !spec.image.trim().is_empty() || !spec.playbook.trim().is_empty() {
            findings.set(invalid_execute(
                "AAP hooks cannot be combined with local `spec.image` or `spec.playbook`; clear those fields or use a local hook instead.",
            ));
        } else if aap.job_template_id <= 0 {
            findings.set(invalid_execute("AAP hooks require jobTemplateId > 0."));
        } else if !aap_runnable(spec, &aap_settings.url, &aap_settings.token_secret_name) {
            findings.set(invalid_execute(
                "AAP hooks require ForkliftController aap_url and aap_token_secret_name, or spec.aap.url and spec.aap.tokenSecret.name for per-hook connection.",
            ));
        }
        return findings;
    }
    if !execution_config_valid(spec) {
        findings.set(invalid_execute(
            "Local hooks require `image`; `playbook` is optional. Use `spec.aap` for AAP job templates.",
        ));
        return findings;
    }
    if !valid_image(&spec.image) {
        findings.set(
            Condition::new(types::INVALID_IMAGE, category::CRITICAL)
                .with_reason(reason::NOT_SET)
                .with_message("The image name specified in `Image` is invalid."),
        );
    }
    if !spec.playbook.is_empty() && !valid_playbook(&spec.playbook) {
        findings.set(
            Condition::new(types::INVALID_PLAYBOOK, category::CRITICAL)
                .with_reason(reason::DATA_ERROR)
                .with_message("`Playbook` should contain a base64 encoded playbook."),
        );
    }
    findings
}

fn reconcile<'a>(hook: &'a Hook, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        let findings = validate(&hook.spec, &ctx.settings.aap);
        let now = ctx.now();
        let current = &hook.status;
        let (conditions, explain) =
            recompute(&current.conditions, findings.into_vec(), ready::hook, &now);
        let status = HookStatus {
            conditions,
            observed_generation: hook.generation(),
        };
        write_status(scoped, hook, current, &status, &explain).await?;
        Ok(Action::await_change())
    })
}

/// The controller, ready to run until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    Controller::for_shared_stream(ctx.caches.hooks.changed(), ctx.caches.hooks.store())
        .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
        .graceful_shutdown_on(shutdown)
        .run(
            |guard, scoped| drive(guard, scoped, reconcile),
            error_policy,
            scoped,
        )
        .for_each(|_| futures::future::ready(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::ObjectReference;
    use ferry_api::hook::AapConfig;

    fn aap(job_template_id: i64) -> AapConfig {
        AapConfig {
            job_template_id,
            ..AapConfig::default()
        }
    }

    fn spec(image: &str, playbook: &str, aap: Option<AapConfig>) -> HookSpec {
        HookSpec {
            image: image.into(),
            playbook: playbook.into(),
            aap,
            ..HookSpec::default()
        }
    }

    /// Upstream's `TestHookExecutionConfigValid` table.
    #[test]
    fn execution_config_matrix() {
        let cases = [
            ("local image only", spec("quay.io/x:y", "", None), true),
            ("local playbook only", spec("", "cGxheQ==", None), false),
            ("local whitespace image", spec("  ", "", None), false),
            (
                "local image and playbook",
                spec("i", "cGxheQ==", None),
                true,
            ),
            ("aap job template only", spec("", "", Some(aap(1))), true),
            (
                "aap with local image rejected",
                spec("quay.io/x", "", Some(aap(1))),
                false,
            ),
            (
                "aap with playbook rejected",
                spec("", "eA==", Some(aap(1))),
                false,
            ),
            ("aap zero template id", spec("", "", Some(aap(0))), false),
            (
                "aap negative template id",
                spec("", "", Some(aap(-1))),
                false,
            ),
        ];
        for (name, spec, want) in cases {
            assert_eq!(execution_config_valid(&spec), want, "{name}");
        }
    }

    /// Upstream's `TestHookAAPRunnable` table.
    #[test]
    fn aap_runnable_matrix() {
        let per_hook = AapConfig {
            job_template_id: 1,
            url: "https://aap".into(),
            token_secret: Some(ObjectReference {
                name: Some("s".into()),
                ..ObjectReference::default()
            }),
            ..AapConfig::default()
        };
        let cases = [
            ("non-aap hook", spec("i", "", None), "", "", true),
            (
                "cluster config",
                spec("", "", Some(aap(1))),
                "https://aap",
                "sec",
                true,
            ),
            (
                "cluster url only",
                spec("", "", Some(aap(1))),
                "https://aap",
                "",
                false,
            ),
            (
                "per-hook only",
                spec("", "", Some(per_hook.clone())),
                "",
                "",
                true,
            ),
            ("neither", spec("", "", Some(aap(1))), "", "", false),
            (
                "bad template id",
                spec(
                    "",
                    "",
                    Some(AapConfig {
                        job_template_id: 0,
                        ..per_hook
                    }),
                ),
                "https://aap",
                "sec",
                false,
            ),
        ];
        for (name, spec, url, token, want) in cases {
            assert_eq!(aap_runnable(&spec, url, token), want, "{name}");
        }
    }

    fn no_aap() -> Aap {
        Aap {
            url: String::new(),
            token_secret_name: String::new(),
            timeout_seconds: 0,
            insecure_skip_verify: false,
            ca_secret_name: String::new(),
        }
    }

    #[test]
    fn conditions_and_messages() {
        let findings = validate(&spec("quay.io/x", "", Some(aap(1))), &no_aap());
        let c = findings.get(types::INVALID_HOOK_EXECUTE).unwrap();
        assert!(
            c.message.starts_with("AAP hooks cannot be combined"),
            "{}",
            c.message
        );
        let findings = validate(&spec("", "", Some(aap(0))), &no_aap());
        assert_eq!(
            findings.get(types::INVALID_HOOK_EXECUTE).unwrap().message,
            "AAP hooks require jobTemplateId > 0."
        );
        let findings = validate(&spec("", "", Some(aap(3))), &no_aap());
        assert!(
            findings
                .get(types::INVALID_HOOK_EXECUTE)
                .unwrap()
                .message
                .starts_with("AAP hooks require ForkliftController aap_url")
        );
        let configured = Aap {
            url: "https://aap".into(),
            token_secret_name: "token".into(),
            ..no_aap()
        };
        assert!(
            validate(&spec("", "", Some(aap(3))), &configured)
                .types()
                .is_empty()
        );
        let findings = validate(&spec("", "", None), &no_aap());
        assert!(
            findings
                .get(types::INVALID_HOOK_EXECUTE)
                .unwrap()
                .message
                .starts_with("Local hooks require `image`")
        );
        let findings = validate(&spec("Not An Image!", "not base64!", None), &no_aap());
        assert_eq!(
            findings.types(),
            [types::INVALID_IMAGE, types::INVALID_PLAYBOOK]
        );
        let playbook = findings.get(types::INVALID_PLAYBOOK).unwrap();
        assert_eq!(
            (
                playbook.reason.as_str(),
                playbook.message.as_str(),
                playbook.category.as_str()
            ),
            (
                "DataError",
                "`Playbook` should contain a base64 encoded playbook.",
                "Critical"
            )
        );
        assert!(
            validate(
                &spec("quay.io/konveyor/hook-runner:latest", "", None),
                &no_aap()
            )
            .types()
            .is_empty()
        );
    }

    #[test]
    fn image_references() {
        assert!(REFERENCE.is_some(), "the pattern compiles");
        for good in [
            "quay.io/konveyor/hook-runner",
            "quay.io/konveyor/hook-runner:latest",
            "localhost:5000/a/b_c__d-e.f:v1.2",
            "busybox",
            "registry.example.com/ns/img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "img:tag@sha256:0123456789abcdef0123456789abcdef",
        ] {
            assert!(valid_image(good), "{good}");
        }
        for bad in [
            "",
            "UPPER",
            "lower/UPPER",
            "quay.io/x:",
            "a//b",
            "img:tag with space",
            "img@sha256:short",
            "-leading",
            "img:ü",
        ] {
            assert!(!valid_image(bad), "{bad}");
        }
    }

    #[test]
    fn playbooks_decode_as_go_does() {
        assert!(valid_playbook("cGxheQ=="));
        assert!(valid_playbook("LS0tCi0gaG9zdHM6IGxvY2FsaG9zdAo=\n"));
        assert!(valid_playbook("LS0tCi0g\r\naG9zdHM6"));
        assert!(
            valid_playbook("cGxheR=="),
            "non-canonical trailing bits are accepted"
        );
        assert!(!valid_playbook("cGxheQ"), "padding is required");
        assert!(!valid_playbook("not base64!"));
        assert!(!valid_playbook("- hosts: all"));
    }
}
