//! Logging, set up in one place for every binary (functions, dev server, operator CLI) and every
//! test that scans what was logged.
//!
//! - **Lines**: JSON by default on Lambda — one object per line with an RFC 3339 UTC
//!   `timestamp`, a `level` of `TRACE`/`DEBUG`/`INFO`/`WARN`/`ERROR` and a `message`, which is
//!   what Lambda's JSON log format needs to apply its log-level filter (a line without a valid
//!   timestamp is filed as INFO, so a WARN filter would drop the very errors it should keep).
//!   `AWS_LAMBDA_LOG_FORMAT=Text` (Lambda sets it from `LoggingConfig.LogFormat`) writes text.
//! - **Level**: `RUST_LOG` (`target=level` directives) when set, else `AWS_LAMBDA_LOG_LEVEL`
//!   (Lambda sets it from `LoggingConfig.ApplicationLogLevel`), else `INFO`.
//! - **Never a payload**: whatever the level, events of other crates are kept only at `INFO` and
//!   above. At `DEBUG` and `TRACE` the Lambda runtime logs each raw event (which holds the
//!   caller's `Authorization` header) and the AWS SDK logs requests and responses (which hold
//!   hashes); this crate's own events never carry a token or a hash at any level.
//!
//! `RUST_LOG` is parsed as `tracing_subscriber`'s `Targets`: span and field filters are not
//! supported (they need `EnvFilter`'s regex engine, about 200 KB of every bootstrap). A value
//! that does not parse falls back to `INFO`, with a warning once the subscriber is up.

use tracing::level_filters::LevelFilter;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Crates of this workspace: their events pass at every level.
const OWN_CRATES: &[&str] = &["shared", "local", "console", "keys_dev", "keys_admin"];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line (Lambda's JSON log format).
    Json,
    /// Human-readable lines (a terminal, Lambda's Text format).
    Text,
}

/// What to log and how, read from the environment.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub filter: Targets,
    pub format: LogFormat,
    /// A variable that was not understood, reported once logging is up.
    pub warning: Option<String>,
}

impl LogSettings {
    /// Everything at `level` and above, in `format`.
    pub fn at(level: LevelFilter, format: LogFormat) -> Self {
        LogSettings { filter: Targets::new().with_default(level), format, warning: None }
    }

    /// From the process environment; `default_format` when `AWS_LAMBDA_LOG_FORMAT` is unset.
    pub fn from_env(default_format: LogFormat) -> Self {
        Self::from_lookup(|k| std::env::var(k).ok(), default_format)
    }

    /// From `get` (tests pass a map instead of the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, default_format: LogFormat) -> Self {
        let set = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();
        let format = match set("AWS_LAMBDA_LOG_FORMAT") {
            None => default_format,
            Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
            Some(f) => {
                warnings.push(format!("AWS_LAMBDA_LOG_FORMAT={f:?} is not JSON or Text"));
                default_format
            }
        };
        let info = || Targets::new().with_default(LevelFilter::INFO);
        let filter = if let Some(v) = set("RUST_LOG") {
            v.parse::<Targets>().unwrap_or_else(|e| {
                warnings.push(format!("RUST_LOG is not understood ({e})"));
                info()
            })
        } else if let Some(v) = set("AWS_LAMBDA_LOG_LEVEL") {
            match lambda_level(&v) {
                Some(level) => Targets::new().with_default(level),
                None => {
                    warnings.push(format!("AWS_LAMBDA_LOG_LEVEL={v:?} is not a log level"));
                    info()
                }
            }
        } else {
            info()
        };
        LogSettings {
            filter,
            format,
            warning: (!warnings.is_empty())
                .then(|| format!("{}; logging at info", warnings.join("; "))),
        }
    }
}

/// A level as Lambda names it (`FATAL` is Lambda's, logged here as `ERROR`).
fn lambda_level(v: &str) -> Option<LevelFilter> {
    Some(match v.to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" | "WARNING" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => return None,
    })
}

/// Whether an event or span may be logged at all: this workspace's, at any level; other
/// crates', at `INFO` and above only (see the module's documentation).
pub fn may_log(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || is_own(meta.target())
}

fn is_own(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    OWN_CRATES.contains(&krate)
}

/// The subscriber every binary and test uses, writing to `writer`.
pub fn get_subscriber<W>(settings: &LogSettings, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .compact()
            .with_target(false)
            .with_ansi(false)
            .with_writer(writer)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(settings.filter.clone())
        .with(filter_fn(may_log))
        .with(lines)
}

/// Installs `subscriber` as the global default (a second call keeps the first) and reports a
/// setting that was not understood.
pub fn init_subscriber(settings: &LogSettings, subscriber: impl Subscriber + Send + Sync) {
    let _ = subscriber.try_init();
    if let Some(w) = &settings.warning {
        tracing::warn!("{w}");
    }
}

/// A Lambda function's logging: JSON lines on stdout unless Lambda asks for text.
pub fn init_lambda() {
    let settings = LogSettings::from_env(LogFormat::Json);
    init_subscriber(&settings, get_subscriber(&settings, std::io::stdout));
}

/// A command-line program's logging: text on stderr (stdout is the program's output).
pub fn init_cli() {
    let settings = LogSettings::from_env(LogFormat::Text);
    init_subscriber(&settings, get_subscriber(&settings, std::io::stderr));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_lookup(crate::testing::env_of(pairs), LogFormat::Json)
    }

    fn enabled(s: &LogSettings, target: &str, level: Level) -> bool {
        s.filter.would_enable(target, &level)
    }

    #[test]
    fn level_from_rust_log_then_lambda_then_info() {
        let s = settings(&[]);
        assert!(enabled(&s, "shared", Level::INFO) && !enabled(&s, "shared", Level::DEBUG));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
        assert!(enabled(&s, "shared", Level::WARN) && !enabled(&s, "shared", Level::INFO));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "fatal")]);
        assert!(enabled(&s, "shared", Level::ERROR) && !enabled(&s, "shared", Level::WARN));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "shared=trace")]);
        assert!(enabled(&s, "shared::api", Level::TRACE));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]);
        assert!(s.warning.as_deref().unwrap().contains("AWS_LAMBDA_LOG_LEVEL"));
        assert!(enabled(&s, "shared", Level::INFO));
        let s = settings(&[("RUST_LOG", "a=b=c")]);
        assert!(s.warning.is_some());
    }

    #[test]
    fn format_from_lambda() {
        assert_eq!(settings(&[]).format, LogFormat::Json);
        assert_eq!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).format, LogFormat::Text);
        let s = settings(&[("AWS_LAMBDA_LOG_FORMAT", "xml")]);
        assert_eq!(s.format, LogFormat::Json);
        assert!(s.warning.is_some());
    }

    #[test]
    fn payload_traces_are_dropped_even_at_trace_and_lines_carry_timestamp_and_level() {
        use crate::testing::LogBuffer;
        let buf = LogBuffer::default();
        let writer = buf.clone();
        let s = LogSettings::at(LevelFilter::TRACE, LogFormat::Json);
        tracing::subscriber::with_default(get_subscriber(&s, move || writer.clone()), || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "RAW-EVENT-BODY", "raw JSON event received from Lambda");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", request = "SDK-BODY", "transmitting request");
            tracing::error!(target: "lambda_runtime::layers::api_response", "runtime error kept");
            tracing::trace!(target: "shared::authorizer", "own trace kept");
        });
        let out = buf.text();
        assert!(!out.contains("RAW-EVENT-BODY") && !out.contains("SDK-BODY"), "{out}");
        let lines: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0]["message"], "runtime error kept");
        assert_eq!(lines[0]["level"], "ERROR");
        assert_eq!(lines[1]["level"], "TRACE");
        for l in &lines {
            let ts = l["timestamp"].as_str().unwrap();
            assert!(crate::model::parse_time(ts).is_some(), "{ts}");
            assert!(ts.ends_with('Z'), "{ts}");
        }
    }

    #[test]
    fn other_crates_never_below_info() {
        assert!(is_own("shared::authorizer"));
        assert!(is_own("keys_dev"));
        assert!(!is_own("lambda_runtime::layers::api_response"));
        assert!(!is_own("sharedish"));
    }
}
