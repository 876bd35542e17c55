//! Logging set-up for `ferry controller`: structured `tracing` logs, as text or one
//! JSON object per line, with each reconcile's controller, namespace and name (and the
//! plan in the plan controller) as fields. Secret values are never logged: conditions
//! and Events name missing keys, never values.

use tracing_subscriber::EnvFilter;

use crate::settings::ManagerSettings;

/// The default filter for a `LOG_LEVEL` (upstream's operator renders 3).
pub fn level(log_level: i64) -> &'static str {
    match log_level {
        i64::MIN..=3 => "info",
        4..=6 => "debug",
        _ => "trace",
    }
}

/// Installs the global subscriber (once per process; later calls are ignored).
/// `RUST_LOG`, when set, overrides `LOG_LEVEL`.
pub fn init(settings: &ManagerSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},kube=warn,hyper=warn",
            level(settings.log_level)
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let installed = if settings.log_json && !settings.log_development {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else if settings.log_development {
        builder
            .with_ansi(false)
            .with_file(true)
            .with_line_number(true)
            .try_init()
    } else {
        builder.try_init()
    };
    if installed.is_err() {
        tracing::debug!("a tracing subscriber is already installed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels() {
        assert_eq!(level(0), "info");
        assert_eq!(level(3), "info");
        assert_eq!(level(4), "debug");
        assert_eq!(level(9), "trace");
        assert_eq!(level(-1), "info");
    }
}
