//! Fault injection: what tests and `ferry sandbox` flags can make go wrong.
//!
//! - [`ObjectDelay`]: an actor leaves matching objects alone for a while after they are
//!   created (a slow CDI, a slow kubelet, a slow KubeVirt);
//! - [`DiskFailure`]: the conversion of one disk of one VM fails half-way: the first half
//!   of the disk is written, the rest is left zero, and the conversion pod fails with a
//!   termination message, as a real virt-v2v failure leaves things;
//! - [`ApiFaults`]: the controller's client sees `500`, `429` or `409` answers at a given
//!   rate, through [`crate::cluster::apifaults`].
//!
//! Each has a one-line text form (the `ferry sandbox` flag value), parsed here with a
//! typed error that says what is wrong.

use std::fmt;
use std::time::Duration;

/// Everything that is made to go wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Objects the actors leave alone for a while.
    pub delays: Vec<ObjectDelay>,
    /// Disks whose conversion fails.
    pub disk_failures: Vec<DiskFailure>,
    /// Errors injected into the controller's API calls.
    pub api: ApiFaults,
}

impl Faults {
    /// How long after creation an object of `kind` named `name` is left alone: the
    /// longest matching delay.
    pub fn delay_for(&self, kind: &str, name: &str) -> Option<Duration> {
        self.delays
            .iter()
            .filter(|d| d.kind.eq_ignore_ascii_case(kind) && glob_match(&d.name, name))
            .map(|d| d.delay)
            .max()
    }

    /// The failure configured for disk `disk` (1-based, in the appliance's order) of
    /// the VM named `vm`, if any.
    pub fn disk_failure(&self, vm: &str, disk: usize) -> Option<&DiskFailure> {
        self.disk_failures
            .iter()
            .find(|f| f.disk == disk && glob_match(&f.vm, vm))
    }
}

/// How many times each configured disk failure has fired, so a failure limited to the
/// first attempts lets a later Migration through.
#[derive(Debug, Default)]
pub struct FaultCounts(std::sync::Mutex<std::collections::HashMap<(String, usize), u32>>);

impl FaultCounts {
    /// Whether this conversion of `disk` of `vm` fails under `failure`; counts it.
    pub fn fire(&self, failure: &DiskFailure, vm: &str, disk: usize) -> bool {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry((vm.to_owned(), disk)).or_insert(0);
        match failure.times {
            Some(limit) if *count >= limit => false,
            _ => {
                *count += 1;
                true
            }
        }
    }
}

/// Why a fault specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault '{spec}': {reason}; expected {expected}")]
pub struct FaultSpecError {
    /// The text given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
    /// The accepted form.
    pub expected: &'static str,
}

/// An actor leaves objects of `kind` whose name matches `name` alone for `delay` after
/// their creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDelay {
    /// The kind, lower case (`pod`, `datavolume`, `persistentvolumeclaim`, `job`,
    /// `virtualmachine`).
    pub kind: String,
    /// A name pattern; `*` matches any run of characters.
    pub name: String,
    /// How long.
    pub delay: Duration,
}

/// The kinds an [`ObjectDelay`] can name.
pub const DELAYABLE_KINDS: &[&str] = &[
    "pod",
    "datavolume",
    "persistentvolumeclaim",
    "job",
    "virtualmachine",
];

impl ObjectDelay {
    const FORM: &'static str = "KIND/NAME=SECONDS, e.g. datavolume/*-disk-1=5 (kinds: pod, \
                                datavolume, persistentvolumeclaim, job, virtualmachine)";

    /// Parses `KIND/NAME=SECONDS`.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let error = |reason: &str| FaultSpecError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
            expected: Self::FORM,
        };
        let (target, seconds) = spec
            .split_once('=')
            .ok_or_else(|| error("there is no '=' before the delay"))?;
        let (kind, name) = target
            .split_once('/')
            .ok_or_else(|| error("there is no '/' between kind and name"))?;
        let kind = kind.trim().to_ascii_lowercase();
        if !DELAYABLE_KINDS.contains(&kind.as_str()) {
            return Err(error(&format!("unknown kind '{kind}'")));
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 253 {
            return Err(error(
                "the name pattern is empty or longer than 253 characters",
            ));
        }
        let delay = parse_seconds(seconds.trim())
            .ok_or_else(|| error("the delay is not a number of seconds between 0 and 86400"))?;
        Ok(Self {
            kind,
            name: name.to_owned(),
            delay,
        })
    }
}

impl fmt::Display for ObjectDelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}={}",
            self.kind,
            self.name,
            self.delay.as_secs_f64()
        )
    }
}

/// The conversion of disk `disk` (1-based) of VMs whose source name matches `vm` fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFailure {
    /// A source VM name pattern; `*` matches any run of characters.
    pub vm: String,
    /// The disk, counted from 1 in the appliance's order (virt-v2v's `disk_id`).
    pub disk: usize,
    /// Fail only the first this many conversions (`None`: every one).
    pub times: Option<u32>,
}

impl DiskFailure {
    const FORM: &'static str = "VM:DISK or VM:DISK:TIMES, e.g. ferry-vmware-efi:2 or \
                                ferry-vmware-efi:2:1 (the source VM name, the disk number \
                                counted from 1, and how many conversions fail; default all)";

    /// Parses `VM:DISK` or `VM:DISK:TIMES`.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let error = |reason: &str| FaultSpecError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
            expected: Self::FORM,
        };
        let numeric = |s: &str| !s.is_empty() && s.trim().chars().all(|c| c.is_ascii_digit());
        let (rest, times) = match spec.rsplit_once(':') {
            Some((head, last))
                if numeric(last) && head.rsplit_once(':').is_some_and(|(_, d)| numeric(d)) =>
            {
                let times: u32 = last
                    .trim()
                    .parse()
                    .ok()
                    .filter(|t| (1..=1_000_000).contains(t))
                    .ok_or_else(|| {
                        error("the number of failing conversions is not between 1 and 1000000")
                    })?;
                (head, Some(times))
            }
            _ => (spec, None),
        };
        let (vm, disk) = rest
            .rsplit_once(':')
            .ok_or_else(|| error("there is no ':' before the disk number"))?;
        let vm = vm.trim();
        if vm.is_empty() || vm.len() > 1024 {
            return Err(error("the VM name is empty or longer than 1024 characters"));
        }
        let disk: usize = disk
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=1024).contains(d))
            .ok_or_else(|| error("the disk number is not between 1 and 1024"))?;
        Ok(Self {
            vm: vm.to_owned(),
            disk,
            times,
        })
    }
}

impl fmt::Display for DiskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.vm, self.disk)?;
        match self.times {
            Some(times) => write!(f, ":{times}"),
            None => Ok(()),
        }
    }
}

/// Errors injected into a client's API calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFaults {
    /// The fraction of eligible requests answered with an error, in `[0, 1]`.
    pub rate: f64,
    /// The status codes used, in turn (`500`, `429`, `409`); `409` only for writes.
    pub codes: Vec<u16>,
    /// Whether watch requests may fail too (they are retried by the watcher).
    pub watches: bool,
    /// Seed of the deterministic sequence that picks the failing requests.
    pub seed: u64,
}

impl Default for ApiFaults {
    fn default() -> Self {
        Self {
            rate: 0.0,
            codes: vec![500, 429, 409],
            watches: false,
            seed: 1,
        }
    }
}

impl ApiFaults {
    /// The status codes the injector can answer with.
    pub const CODES: &'static [u16] = &[409, 429, 500, 503];

    /// Whether any request can fail.
    pub fn enabled(&self) -> bool {
        self.rate > 0.0 && !self.codes.is_empty()
    }

    /// Parses a rate, `0` to `1` (a fraction) or `N%`.
    pub fn parse_rate(spec: &str) -> Result<f64, FaultSpecError> {
        let error = |reason: &str| FaultSpecError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
            expected: "a fraction between 0 and 1, or a percentage like 5%",
        };
        let text = spec.trim();
        let (number, scale) = match text.strip_suffix('%') {
            Some(percent) => (percent.trim(), 100.0),
            None => (text, 1.0),
        };
        let value: f64 = number.parse().map_err(|_| error("not a number"))?;
        let rate = value / scale;
        if rate.is_finite() && (0.0..=1.0).contains(&rate) {
            Ok(rate)
        } else {
            Err(error("out of range"))
        }
    }

    /// Parses a comma-separated list of status codes.
    pub fn parse_codes(spec: &str) -> Result<Vec<u16>, FaultSpecError> {
        let error = |reason: String| FaultSpecError {
            spec: spec.to_owned(),
            reason,
            expected: "a comma-separated list of 409, 429, 500, 503",
        };
        let codes: Vec<u16> = spec
            .split(',')
            .map(|part| {
                let part = part.trim();
                part.parse::<u16>()
                    .ok()
                    .filter(|code| Self::CODES.contains(code))
                    .ok_or_else(|| error(format!("'{part}' is not one of the injectable codes")))
            })
            .collect::<Result<_, _>>()?;
        if codes.is_empty() {
            return Err(error("no code given".into()));
        }
        Ok(codes)
    }
}

fn parse_seconds(text: &str) -> Option<Duration> {
    let text = text.strip_suffix('s').unwrap_or(text);
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && (0.0..=86_400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// Matches `name` against `pattern`, where `*` matches any run of characters (no other
/// wildcard). At most `pattern × name` steps: hostile patterns cannot blow up.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("vm-*", "vm-1"));
        assert!(glob_match("*-disk-1", "plan-vm-disk-1"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        let long = "a".repeat(10_000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(500)), &long));
    }

    #[test]
    fn delays_parse_and_match() {
        let d = ObjectDelay::parse("DataVolume/*-disk-1=2.5").unwrap();
        assert_eq!(d.kind, "datavolume");
        assert_eq!(d.delay, Duration::from_millis(2500));
        assert_eq!(d.to_string(), "datavolume/*-disk-1=2.5");
        let faults = Faults {
            delays: vec![d, ObjectDelay::parse("datavolume/*=1").unwrap()],
            ..Faults::default()
        };
        assert_eq!(
            faults.delay_for("datavolume", "x-disk-1"),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            faults.delay_for("DataVolume", "x"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(faults.delay_for("pod", "x"), None);
        for bad in [
            "pod",
            "pod/x",
            "pod/=1",
            "node/x=1",
            "pod/x=-1",
            "pod/x=1e9",
            "pod/x=NaN",
        ] {
            let error = ObjectDelay::parse(bad).unwrap_err();
            assert!(
                error.to_string().contains("KIND/NAME=SECONDS"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn disk_failures_parse_and_match() {
        let f = DiskFailure::parse("ferry-vmware-efi:2").unwrap();
        assert_eq!(
            (f.vm.as_str(), f.disk, f.times),
            ("ferry-vmware-efi", 2, None)
        );
        let f2 = DiskFailure::parse("a:b:1").unwrap();
        assert_eq!(f2.vm, "a:b", "the last colon separates the disk");
        let once = DiskFailure::parse("vm:2:1").unwrap();
        assert_eq!(
            (once.vm.as_str(), once.disk, once.times),
            ("vm", 2, Some(1))
        );
        assert_eq!(once.to_string(), "vm:2:1");
        let faults = Faults {
            disk_failures: vec![f.clone()],
            ..Faults::default()
        };
        assert!(faults.disk_failure("ferry-vmware-efi", 2).is_some());
        assert!(faults.disk_failure("ferry-vmware-efi", 1).is_none());
        assert!(faults.disk_failure("other", 2).is_none());
        let counts = FaultCounts::default();
        assert!(counts.fire(&once, "vm", 2));
        assert!(
            !counts.fire(&once, "vm", 2),
            "only the first conversion fails"
        );
        assert!(counts.fire(&f, "ferry-vmware-efi", 2) && counts.fire(&f, "ferry-vmware-efi", 2));
        for bad in ["", "vm", "vm:", ":1", "vm:0", "vm:x", "vm:99999", "vm:1:0"] {
            assert!(DiskFailure::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_fault_specs() {
        assert_eq!(ApiFaults::parse_rate("0.25").unwrap(), 0.25);
        assert_eq!(ApiFaults::parse_rate("5%").unwrap(), 0.05);
        for bad in ["", "x", "2", "-0.1", "150%", "inf", "NaN"] {
            assert!(ApiFaults::parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(ApiFaults::parse_codes("500, 429").unwrap(), vec![500, 429]);
        for bad in ["", "200", "500,", "abc"] {
            assert!(ApiFaults::parse_codes(bad).is_err(), "{bad}");
        }
        assert!(!ApiFaults::default().enabled());
    }
}
