//! A small stderr logger behind `--log-level`. Warnings print as `warning: ...`, errors as
//! `Error: ...`, the rest with their level, so output stays readable without colour.

use log::{Level, LevelFilter, Metadata, Record};

struct StderrLogger;

impl log::Log for StderrLogger {
    /// rctr's own records at the chosen level; other crates' (rustls, hyper, oci-client...)
    /// only from `--log-level debug` on, since rctr reports their failures in its own words
    /// (rustls, for one, logs a warning for every certificate it rejects).
    fn enabled(&self, meta: &Metadata) -> bool {
        let ours = meta.target() == "rctr" || meta.target().starts_with("rctr::");
        meta.level() <= log::max_level() && (ours || log::max_level() >= LevelFilter::Debug)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let prefix = match record.level() {
            Level::Error => "Error".to_string(),
            Level::Warn => "warning".to_string(),
            l => l.as_str().to_lowercase(),
        };
        eprintln!("{prefix}: {}", record.args());
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Parses a `--log-level` value (podman's names: trace, debug, info, warn, error, fatal, panic).
pub fn parse_level(s: &str) -> Result<LevelFilter, String> {
    match s.to_ascii_lowercase().as_str() {
        "trace" => Ok(LevelFilter::Trace),
        "debug" => Ok(LevelFilter::Debug),
        "info" => Ok(LevelFilter::Info),
        "warn" | "warning" => Ok(LevelFilter::Warn),
        "error" | "fatal" | "panic" => Ok(LevelFilter::Error),
        other => Err(format!(
            "`{other}` is not a log level (trace, debug, info, warn, error)"
        )),
    }
}

/// Installs the logger at `level`.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
