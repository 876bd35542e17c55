//! What Linux says about a process and the machine: peak and current resident memory
//! (`/proc/<pid>/status` `VmHWM`, `VmRSS`), CPU time (`/proc/<pid>/stat` `utime` +
//! `stime`), and the load average (`/proc/loadavg`). The parsers are pure and refuse
//! malformed text with a typed error.

use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`; 100 on every Linux
/// architecture Ferry builds for, whatever the kernel's `HZ`).
pub const USER_HZ: f64 = 100.0;

/// Why `/proc` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file cannot be read (the process is gone, or this is not Linux).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not look as the kernel writes it.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A process's memory and CPU time at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStats {
    /// Peak resident set size (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
    /// Resident set size now (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
}

fn read(path: &Path) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn stats(pid: u32) -> Result<ProcStats, ProcError> {
    let dir = Path::new("/proc").join(pid.to_string());
    let status_path = dir.join("status");
    let stat_path = dir.join("stat");
    let status = read(&status_path)?;
    let stat = read(&stat_path)?;
    let malformed = |path: &Path, reason: String| ProcError::Malformed {
        path: path.display().to_string(),
        reason,
    };
    let peak_rss_bytes =
        status_kib(&status, "VmHWM").map_err(|r| malformed(&status_path, r))? * 1024;
    let rss_bytes = status_kib(&status, "VmRSS").map_err(|r| malformed(&status_path, r))? * 1024;
    let ticks = cpu_ticks(&stat).map_err(|r| malformed(&stat_path, r))?;
    Ok(ProcStats {
        peak_rss_bytes,
        rss_bytes,
        cpu_seconds: ticks as f64 / USER_HZ,
    })
}

/// The value in KiB of `key` in `/proc/<pid>/status` text (`VmHWM:     1234 kB`).
pub fn status_kib(text: &str, key: &str) -> Result<u64, String> {
    let line = text
        .lines()
        .find(|line| line.split(':').next() == Some(key))
        .ok_or_else(|| format!("no {key} line"))?;
    let value = line[key.len() + 1..].trim();
    let number = value
        .strip_suffix("kB")
        .ok_or_else(|| format!("{key} is not in kB: {value:?}"))?
        .trim();
    number
        .parse()
        .map_err(|_| format!("{key} is not a number: {number:?}"))
}

/// `utime + stime` in clock ticks from `/proc/<pid>/stat` text. The command name (field
/// 2) is in parentheses and may hold spaces and parentheses itself, so fields are
/// counted after its last `)`.
pub fn cpu_ticks(text: &str) -> Result<u64, String> {
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or("no command name in parentheses")?;
    // After the name: state (3), ppid (4), ... utime (14), stime (15).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        let value = fields
            .get(n - 3)
            .ok_or_else(|| format!("only {} fields after the name", fields.len()))?;
        value
            .parse()
            .map_err(|_| format!("field {n} is not a number: {value:?}"))
    };
    Ok(field(14)? + field(15)?)
}

/// The 1-minute load average (`/proc/loadavg`), if it can be read.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_load_average(&text)
}

/// The first field of `/proc/loadavg` text.
pub fn parse_load_average(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_in_kib() {
        let text = "Name:\tferry\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(status_kib(text, "VmHWM"), Ok(51_200));
        assert_eq!(status_kib(text, "VmRSS"), Ok(40_960));
        assert!(status_kib(text, "VmSwap").is_err());
        assert!(status_kib("VmHWM:\t12 MB\n", "VmHWM").is_err());
        assert!(status_kib("VmHWM:\tlots kB\n", "VmHWM").is_err());
        // A key that is a prefix of another is not confused with it.
        assert!(status_kib("VmHWMX:\t1 kB\n", "VmHWM").is_err());
    }

    #[test]
    fn cpu_ticks_skip_hostile_command_names() {
        let stat = "4242 (ferry) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 8 0";
        assert_eq!(cpu_ticks(stat), Ok(175));
        let hostile = "4242 (a) b) 7 8 9) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0";
        assert_eq!(cpu_ticks(hostile), Ok(175));
        assert!(cpu_ticks("4242 ferry S 1").is_err());
        assert!(cpu_ticks("4242 (ferry) S 1 2").is_err());
        assert!(cpu_ticks("4242 (ferry) S 1 4242 4242 0 -1 0 0 0 0 0 x 25").is_err());
    }

    #[test]
    fn this_process_is_measured() {
        let own = stats(std::process::id()).expect("/proc of this process");
        assert!(own.peak_rss_bytes >= own.rss_bytes && own.rss_bytes > 0);
        assert!(matches!(stats(u32::MAX), Err(ProcError::Read { .. })));
        assert_eq!(parse_load_average("0.52 0.61 0.70 1/200 42\n"), Some(0.52));
        assert_eq!(parse_load_average(""), None);
    }
}
