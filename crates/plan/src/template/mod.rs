//! Name templates: `pvcNameTemplate`, `volumeNameTemplate` and `networkNameTemplate` (plan
//! and VM level), in Go `text/template` syntax with the Sprig subset upstream registers
//! ([`sprig`]), rendered and checked as upstream does (`pkg/templateutil`,
//! `adapter/base/template.go`, `validation.go`).
//!
//! Error texts are upstream's, because they appear verbatim in condition items
//! (`" id:vm-1 name:'web01'  template:{{.VmName}}_INVALID error:Template output is invalid
//! k8s label [web01_INVALID]"`): a wrapped error renders as `<description> caused by:
//! '<inner>'`. The inner text of parse and execution errors comes from the template engine
//! and is not byte-identical to Go's.

pub mod sprig;

use crate::names::is_dns1123_label;
use gotmpl::{MissingKey, Template, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Upstream `DefaultPVCNameTemplate` (every source but OpenShift).
pub const DEFAULT_PVC_NAME_TEMPLATE: &str =
    "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}";
/// Upstream `DefaultOCPPVCNameTemplate` (OpenShift sources).
pub const DEFAULT_OCP_PVC_NAME_TEMPLATE: &str = "{{.SourcePVCName}}";

/// Longest template Ferry renders. Longer ones are refused as a syntax error: names are at
/// most 253 characters, so such a template is never meant.
pub const MAX_TEMPLATE: usize = 16 * 1024;

/// Why a template cannot be used. `Display` is upstream's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse (upstream `Invalid template syntax`).
    #[error("Invalid template syntax caused by: '{0}'")]
    Syntax(String),
    /// The template fails while rendering (upstream `Template execution failed`).
    #[error("Template execution failed caused by: '{0}'")]
    Execution(String),
    /// The output is empty (after trimming, for PVC templates).
    #[error("Template output is empty")]
    Empty,
    /// A PVC template's output is not a DNS-1123 label.
    #[error("Template output is invalid k8s label [{0}]")]
    InvalidPvcName(String),
    /// A volume or network template's output is not a DNS-1123 label.
    #[error("Template output is not a valid k8s label [{0}]")]
    NotALabel(String),
}

/// The data of a PVC name template (upstream `PVCNameTemplateData`). Every field is always
/// present, as in Go's struct; a field the provider does not fill is its zero value. A
/// template naming any other field fails, as it does upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PvcNameData {
    /// `.VmName`: the source VM name.
    pub vm_name: String,
    /// `.TargetVmName`: the DNS-safe target name ([`crate::names::resolve_target_vm_name`]).
    pub target_vm_name: String,
    /// `.PlanName`.
    pub plan_name: String,
    /// `.DiskIndex`: the disk's index.
    pub disk_index: i64,
    /// `.VmId`: the source VM ID.
    pub vm_id: String,
    /// `.WinDriveLetter` (vSphere).
    pub win_drive_letter: String,
    /// `.RootDiskIndex` (vSphere).
    pub root_disk_index: i64,
    /// `.Shared` (vSphere).
    pub shared: bool,
    /// `.FileName` (vSphere).
    pub file_name: String,
    /// `.SourcePVCName` (OpenShift).
    pub source_pvc_name: String,
    /// `.SourcePVCNamespace` (OpenShift).
    pub source_pvc_namespace: String,
    /// `.VolumeID` (EC2).
    pub volume_id: String,
    /// `.SnapshotID` (EC2).
    pub snapshot_id: String,
    /// `.DiskId` (Hyper-V, oVirt).
    pub disk_id: String,
}

fn string(s: &str) -> Value {
    Value::String(Arc::from(s))
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let map: BTreeMap<Arc<str>, Value> = entries
        .into_iter()
        .map(|(k, v)| (Arc::from(k), v))
        .collect();
    Value::Map(Arc::new(map))
}

impl PvcNameData {
    /// The template data.
    pub fn to_value(&self) -> Value {
        map(vec![
            ("VmName", string(&self.vm_name)),
            ("TargetVmName", string(&self.target_vm_name)),
            ("PlanName", string(&self.plan_name)),
            ("DiskIndex", Value::Int(self.disk_index)),
            ("VmId", string(&self.vm_id)),
            ("WinDriveLetter", string(&self.win_drive_letter)),
            ("RootDiskIndex", Value::Int(self.root_disk_index)),
            ("Shared", Value::Bool(self.shared)),
            ("FileName", string(&self.file_name)),
            ("SourcePVCName", string(&self.source_pvc_name)),
            ("SourcePVCNamespace", string(&self.source_pvc_namespace)),
            ("VolumeID", string(&self.volume_id)),
            ("SnapshotID", string(&self.snapshot_id)),
            ("DiskId", string(&self.disk_id)),
        ])
    }
}

/// The data of a volume name template (upstream `VolumeNameTemplateData`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeNameData {
    /// `.PVCName`.
    pub pvc_name: String,
    /// `.VolumeIndex`.
    pub volume_index: i64,
}

impl VolumeNameData {
    /// The template data.
    pub fn to_value(&self) -> Value {
        map(vec![
            ("PVCName", string(&self.pvc_name)),
            ("VolumeIndex", Value::Int(self.volume_index)),
        ])
    }
}

/// The data of a network name template (upstream `NetworkNameTemplateData`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkNameData {
    /// `.NetworkName`: the NAD name (Multus), else empty.
    pub network_name: String,
    /// `.NetworkNamespace`: the NAD namespace (Multus), else empty.
    pub network_namespace: String,
    /// `.NetworkType`: documented as `Multus`/`Pod`; at build time upstream passes the raw
    /// map type (`multus`, `pod`).
    pub network_type: String,
    /// `.NetworkIndex`.
    pub network_index: i64,
}

impl NetworkNameData {
    /// The template data.
    pub fn to_value(&self) -> Value {
        map(vec![
            ("NetworkName", string(&self.network_name)),
            ("NetworkNamespace", string(&self.network_namespace)),
            ("NetworkType", string(&self.network_type)),
            ("NetworkIndex", Value::Int(self.network_index)),
        ])
    }
}

/// Upstream `templateutil.ExecuteTemplate`: parses `template` with the Sprig subset and
/// renders it with `data`. The output is not trimmed.
pub fn execute(template: &str, data: &Value) -> Result<String, TemplateError> {
    if template.len() > MAX_TEMPLATE {
        return Err(TemplateError::Syntax(format!(
            "template longer than {MAX_TEMPLATE} bytes"
        )));
    }
    let parsed = Template::new("template")
        .missing_key(MissingKey::Error)
        .max_range_iters(10_000)
        .funcs(sprig::functions())
        .parse(template)
        .map_err(|e| TemplateError::Syntax(e.to_string()))?;
    match parsed.execute_to_string(data) {
        Ok(out) if out.len() > sprig::MAX_OUTPUT => Err(TemplateError::Execution(format!(
            "output longer than {} bytes",
            sprig::MAX_OUTPUT
        ))),
        Ok(out) => Ok(out),
        // Go reports an unknown function when parsing; the engine finds it when running.
        Err(gotmpl::TemplateError::UndefinedFunction(name)) => Err(TemplateError::Syntax(format!(
            "template: template:1: function \"{name}\" not defined"
        ))),
        Err(e) => Err(TemplateError::Execution(e.to_string())),
    }
}

/// Upstream `ValidatePVCNameTemplate`: renders, trims whitespace, and requires a non-empty
/// DNS-1123 label. Returns the trimmed output.
pub fn validate_pvc_name(template: &str, data: &PvcNameData) -> Result<String, TemplateError> {
    let out = execute(template, &data.to_value())?;
    let out = out.trim();
    if out.is_empty() {
        return Err(TemplateError::Empty);
    }
    if !is_dns1123_label(out) {
        return Err(TemplateError::InvalidPvcName(out.to_string()));
    }
    Ok(out.to_string())
}

fn validate_label_template(template: &str, data: &Value) -> Result<String, TemplateError> {
    let out = execute(template, data)?;
    if out.is_empty() {
        return Err(TemplateError::Empty);
    }
    if !is_dns1123_label(&out) {
        return Err(TemplateError::NotALabel(out));
    }
    Ok(out)
}

/// Upstream `IsValidVolumeNameTemplate`: an empty template is valid; otherwise it is
/// rendered with `{PVCName: test-pvc, VolumeIndex: 0}` and the output (not trimmed) must
/// be a DNS-1123 label.
pub fn validate_volume_name_template(template: &str) -> Result<(), TemplateError> {
    if template.is_empty() {
        return Ok(());
    }
    let data = VolumeNameData {
        pvc_name: "test-pvc".into(),
        volume_index: 0,
    };
    validate_label_template(template, &data.to_value()).map(drop)
}

/// Upstream `IsValidNetworkNameTemplate`: as [`validate_volume_name_template`], with
/// `{NetworkName: test-network, NetworkNamespace: test-namespace, NetworkType: Multus,
/// NetworkIndex: 0}`.
pub fn validate_network_name_template(template: &str) -> Result<(), TemplateError> {
    if template.is_empty() {
        return Ok(());
    }
    let data = NetworkNameData {
        network_name: "test-network".into(),
        network_namespace: "test-namespace".into(),
        network_type: "Multus".into(),
        network_index: 0,
    };
    validate_label_template(template, &data.to_value()).map(drop)
}

/// Renders a volume or network name at build time: the output when it renders, else
/// `None` (upstream then falls back to its default name). Names longer than 63 characters
/// are cut to 63, as upstream's builder does.
pub fn render_name(template: &str, data: &Value) -> Option<String> {
    let out = execute(template, data).ok()?;
    if out.is_empty() {
        return None;
    }
    Some(crate::names::truncate(&out, crate::names::DNS1123_LABEL_MAX).to_string())
}

/// How a rendered PVC name is put on the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectName {
    /// `metadata.name`.
    Name(String),
    /// `metadata.generateName`.
    GenerateName(String),
}

/// Upstream `SetPVCNameOnObject`: validates the template output and returns either a
/// `generateName` (a trailing `-` added when missing) or a `name` (trailing `-` trimmed).
pub fn pvc_object_name(
    template: &str,
    data: &PvcNameData,
    use_generate_name: bool,
) -> Result<ObjectName, TemplateError> {
    let out = validate_pvc_name(template, data)?;
    Ok(if use_generate_name {
        if out.ends_with('-') {
            ObjectName::GenerateName(out)
        } else {
            ObjectName::GenerateName(format!("{out}-"))
        }
    } else {
        ObjectName::Name(out.trim_end_matches('-').to_string())
    })
}

/// Undoes the operator's escaping of the `controller_pvc_name_template` settings
/// (`\{`, `\}`, `\\`), as upstream does when loading them.
pub fn unescape_setting(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('{' | '}' | '\\')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(vm: &str, plan: &str, index: i64, id: &str) -> PvcNameData {
        PvcNameData {
            vm_name: vm.into(),
            target_vm_name: vm.into(),
            plan_name: plan.into(),
            disk_index: index,
            vm_id: id.into(),
            ..PvcNameData::default()
        }
    }

    fn run(template: &str, value: Value) -> Result<String, TemplateError> {
        execute(template, &value)
    }

    fn with_input(input: &str) -> Value {
        map(vec![("Input", string(input))])
    }

    /// Upstream `templateutil_test.go` (`TestExecuteTemplate`).
    #[test]
    fn execute_template_upstream_table() {
        let name = map(vec![("Name", string("World"))]);
        assert_eq!(
            run("Hello, {{.Name}}!", name.clone()).unwrap(),
            "Hello, World!"
        );
        assert_eq!(
            run("Hello, {{upper .Name}}!", name.clone()).unwrap(),
            "Hello, WORLD!"
        );
        assert_eq!(
            run("Result: {{add 1 2 3}}", Value::Nil).unwrap(),
            "Result: 6"
        );
        let greeting = map(vec![("Greeting", string("Hello, World!"))]);
        assert_eq!(
            run("{{upper (trimPrefix \"Hello, \" .Greeting)}}", greeting).unwrap(),
            "WORLD!"
        );
        assert!(matches!(
            run("Hello, {{.Name}", name),
            Err(TemplateError::Syntax(_))
        ));
        assert_eq!(
            run(
                r#"{{mustRegexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W"}}"#,
                Value::Nil
            )
            .unwrap(),
            "-W-xxW-"
        );
        assert_eq!(
            run(
                r#"{{mustRegexReplaceAll "([a-z]+)([0-9]+)" .Input "$2-$1"}}"#,
                with_input("test123word456")
            )
            .unwrap(),
            "123-test456-word"
        );
        assert_eq!(
            run(
                r#"disk-{{ mustRegexReplaceAll "([A-Za-z]+):.*" .Input "$1" | lower }}"#,
                with_input("C:\\")
            )
            .unwrap(),
            "disk-c"
        );
    }

    /// Every function upstream registers (`TestAddStringFuncs`, `TestAddMathFuncs`), and
    /// nothing more of Sprig.
    #[test]
    fn exactly_upstreams_functions() {
        let names: Vec<String> = sprig::functions().keys().cloned().collect();
        let mut want = vec![
            "lower",
            "upper",
            "contains",
            "replace",
            "trim",
            "trimAll",
            "trimSuffix",
            "trimPrefix",
            "title",
            "untitle",
            "repeat",
            "substr",
            "nospace",
            "trunc",
            "initials",
            "hasPrefix",
            "hasSuffix",
            "mustRegexReplaceAll",
            "add",
            "add1",
            "sub",
            "div",
            "mod",
            "mul",
            "max",
            "min",
            "floor",
            "ceil",
            "round",
        ];
        want.sort_unstable();
        assert_eq!(names, want);
        assert!(matches!(
            run("{{randAlphaNum 5}}", Value::Nil),
            Err(TemplateError::Syntax(_))
        ));
    }

    #[test]
    fn function_semantics() {
        let cases = [
            (r#"{{contains "cat" "catch"}}"#, "true"),
            (
                r#"{{hasPrefix "ca" "cat"}}{{hasSuffix "x" "cat"}}"#,
                "truefalse",
            ),
            (r#"{{replace " " "-" "a b c"}}"#, "a-b-c"),
            (r#"{{trim "  x  "}}"#, "x"),
            (r#"{{trimAll "$" "$5.00$"}}"#, "5.00"),
            (r#"{{trimSuffix "-" "a-"}}"#, "a"),
            (r#"{{title "hello world"}}"#, "Hello World"),
            (r#"{{untitle "Hello World"}}"#, "hello world"),
            (r#"{{repeat 3 "ab"}}"#, "ababab"),
            (r#"{{substr 0 3 "abcdef"}}"#, "abc"),
            (r#"{{nospace "a b  c"}}"#, "abc"),
            (r#"{{trunc 2 "abc"}}"#, "ab"),
            (r#"{{initials "foo bar"}}"#, "fb"),
            (
                r#"{{add1 1}} {{sub 5 3}} {{div 7 2}} {{mod 7 2}} {{mul 2 3 4}}"#,
                "2 2 3 1 24",
            ),
            (r#"{{max 1 5 3}} {{min 4 2 8}}"#, "5 2"),
            (r#"{{floor 1.7}} {{ceil 1.2}} {{round 1.25 1}}"#, "1 2 1.3"),
            (r#"{{add "2" 3}}"#, "5"),
        ];
        for (template, want) in cases {
            assert_eq!(run(template, Value::Nil).unwrap(), want, "{template}");
        }
    }

    #[test]
    fn function_errors_are_execution_errors() {
        for template in [
            "{{div 1 0}}",
            "{{mod 1 0}}",
            r#"{{repeat -1 "x"}}"#,
            r#"{{repeat 100000000 "x"}}"#,
            r#"{{substr 5 2 "abc"}}"#,
            r#"{{trunc "a" "abc"}}"#,
            r#"{{upper 5}}"#,
            r#"{{mustRegexReplaceAll "(" "x" "y"}}"#,
            "{{.Missing}}",
        ] {
            let err = run(template, map(vec![])).unwrap_err();
            assert!(
                matches!(err, TemplateError::Execution(_)),
                "{template}: {err:?}"
            );
            assert!(
                err.to_string()
                    .starts_with("Template execution failed caused by: '")
            );
        }
    }

    /// Upstream `template_test.go` (`TestSetPVCNameOnObject`,
    /// `TestValidatePVCNameTemplate_GenericData`) and conformance case 15.
    #[test]
    fn pvc_names_upstream_table() {
        assert_eq!(
            pvc_object_name(
                DEFAULT_PVC_NAME_TEMPLATE,
                &data("my-vm", "test-plan", 0, "vm-123"),
                true
            ),
            Ok(ObjectName::GenerateName("test-plan-my-vm-disk-0-".into()))
        );
        assert_eq!(
            pvc_object_name(
                DEFAULT_PVC_NAME_TEMPLATE,
                &data("my-vm", "test-plan", 1, "vm-123"),
                false
            ),
            Ok(ObjectName::Name("test-plan-my-vm-disk-1".into()))
        );
        let long = data(
            "a-very-long-vm-name-that-exceeds-fifteen",
            "a-very-long-plan-name-that-exceeds",
            0,
            "vm-456",
        );
        assert_eq!(
            pvc_object_name(DEFAULT_PVC_NAME_TEMPLATE, &long, false),
            Ok(ObjectName::Name(
                "a-very-long-pla-a-very-long-vm--disk-0".into()
            ))
        );
        assert_eq!(
            pvc_object_name(DEFAULT_PVC_NAME_TEMPLATE, &long, true),
            Ok(ObjectName::GenerateName(
                "a-very-long-pla-a-very-long-vm--disk-0-".into()
            ))
        );
        assert_eq!(
            pvc_object_name(
                "{{.PlanName}}-{{.VmId}}-{{.DiskIndex}}",
                &data("web-server", "prod-plan", 2, "vm-789"),
                false
            ),
            Ok(ObjectName::Name("prod-plan-vm-789-2".into()))
        );
        let invalid = pvc_object_name(
            "{{.VmName}}_INVALID",
            &data("web01", "plan", 0, "vm-1"),
            false,
        );
        assert_eq!(
            invalid.unwrap_err().to_string(),
            "Template output is invalid k8s label [web01_INVALID]"
        );
        assert_eq!(
            validate_pvc_name(
                DEFAULT_PVC_NAME_TEMPLATE,
                &data("test-vm", "my-plan", 0, "vm-001")
            ),
            Ok("my-plan-test-vm-disk-0".into())
        );
        assert_eq!(
            validate_pvc_name("  {{.VmName}}  ", &data("x", "p", 0, "1")),
            Ok("x".into())
        );
        assert_eq!(
            validate_pvc_name("   ", &data("x", "p", 0, "1")),
            Err(TemplateError::Empty)
        );
        assert_eq!(
            validate_pvc_name("{{.Shared}}-{{.RootDiskIndex}}", &data("x", "p", 0, "1")),
            Ok("false-0".into())
        );
    }

    /// Conformance case 12 and upstream's volume/network checks.
    #[test]
    fn volume_and_network_templates() {
        assert_eq!(validate_volume_name_template(""), Ok(()));
        assert_eq!(
            validate_volume_name_template("{{.PVCName}}-{{.VolumeIndex}}"),
            Ok(())
        );
        assert_eq!(
            validate_volume_name_template("{{.PVCName}}_x")
                .unwrap_err()
                .to_string(),
            "Template output is not a valid k8s label [test-pvc_x]"
        );
        assert_eq!(
            validate_volume_name_template(" {{.PVCName}}"),
            Err(TemplateError::NotALabel(" test-pvc".into())),
            "volume output is not trimmed"
        );
        assert_eq!(
            validate_network_name_template("net-{{.NetworkIndex}}"),
            Ok(())
        );
        assert_eq!(
            validate_network_name_template("{{.NetworkType}}"),
            Err(TemplateError::NotALabel("Multus".into()))
        );
        assert_eq!(
            validate_network_name_template("{{if false}}x{{end}}"),
            Err(TemplateError::Empty)
        );
    }

    #[test]
    fn hostile_templates_fail_cleanly() {
        let huge = "{{.VmName}}".repeat(2_000);
        assert!(matches!(
            validate_pvc_name(&huge, &data("x", "p", 0, "1")),
            Err(TemplateError::Syntax(_))
        ));
        for template in [
            "{{",
            "}}{{",
            "{{template \"x\"}}",
            "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}",
            "{{range .VmName}}{{end}}",
        ] {
            assert!(
                validate_pvc_name(template, &data("x", "p", 0, "1")).is_err(),
                "{template}"
            );
        }
    }

    #[test]
    fn setting_escapes_are_undone() {
        assert_eq!(
            unescape_setting(r"\{\{.PlanName\}\}-\\x-\n"),
            r"{{.PlanName}}-\x-\n"
        );
    }

    #[test]
    fn build_time_names_fall_back_and_cut() {
        let value = VolumeNameData {
            pvc_name: "p".repeat(80),
            volume_index: 3,
        }
        .to_value();
        assert_eq!(render_name("{{.PVCName}}", &value).unwrap().len(), 63);
        assert_eq!(render_name("{{.Nope}}", &value), None);
        assert_eq!(
            render_name("vol-{{.VolumeIndex}}", &value).as_deref(),
            Some("vol-3")
        );
    }
}
