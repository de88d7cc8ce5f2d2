//! Configuration, read once at cold start from the environment, failing fast and clearly.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use crate::store::{CursorCodec, DynamoStore};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: set it to the DynamoDB table name (template.yaml sets it for every function)")]
    Missing(&'static str),
    #[error("{name} is not valid: {why}")]
    Invalid { name: &'static str, why: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Positive caching of authorizer decisions; zero (the default) turns it off.
    pub auth_cache_ttl: Duration,
    /// Key of the list cursors' MAC.
    pub cursor_key: Vec<u8>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `get` (tests pass a map instead of the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = get("TABLE_NAME")
            .filter(|t| !t.trim().is_empty())
            .ok_or(ConfigError::Missing("TABLE_NAME"))?;
        if table_name.len() < 3
            || table_name.len() > 255
            || !table_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                why: "3-255 characters of letters, digits, _ . -".into(),
            });
        }
        let ttl = match get("AUTH_CACHE_TTL_SECONDS").filter(|v| !v.is_empty()) {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 3600)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "AUTH_CACHE_TTL_SECONDS",
                    why: "a whole number of seconds from 0 to 3600".into(),
                })?,
        };
        // Without an explicit key the cursors are still tamper-evident (a changed cursor fails
        // its MAC) and bound to their query; a secret key also stops anyone forging one.
        let cursor_key = get("CURSOR_KEY")
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| format!("api-keys-cursor/{table_name}"))
            .into_bytes();
        Ok(Config {
            table_name,
            auth_cache_ttl: Duration::from_secs(ttl),
            cursor_key,
        })
    }

    pub fn cursor_codec(&self) -> CursorCodec {
        CursorCodec::new(&self.cursor_key)
    }
}

/// Client timeouts: the authorizer must answer well inside API Gateway's limit, so each
/// DynamoDB operation gets at most 2 s including a short retry backoff.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub operation: Duration,
    pub attempt: Duration,
    pub connect: Duration,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            operation: Duration::from_secs(2),
            attempt: Duration::from_millis(900),
            connect: Duration::from_millis(500),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(25),
        }
    }
}

/// The SDK's HTTPS client: hyper with rustls on the `ring` crypto provider. The SDK's default
/// (`default-https-client`) is rustls on aws-lc, about 1 MB more per bootstrap and slower to
/// start; both offer the same TLS 1.2/1.3 suites and the system's root certificates.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The DynamoDB client, built once. The endpoint comes from the SDK's standard
/// `AWS_ENDPOINT_URL_DYNAMODB`, so DynamoDB Local works with no code change.
pub async fn dynamo_client(timeouts: Timeouts) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(timeouts.operation)
                .operation_attempt_timeout(timeouts.attempt)
                .connect_timeout(timeouts.connect)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(timeouts.max_attempts)
                .with_initial_backoff(timeouts.initial_backoff)
                .with_max_backoff(Duration::from_millis(250)),
        )
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}

/// Config, client and store together: what every function builds once at cold start.
pub async fn dynamo_store(config: &Config) -> DynamoStore {
    let client = dynamo_client(Timeouts::default()).await;
    DynamoStore::new(client, config.table_name.as_str(), config.cursor_codec())
}

/// Structured JSON logs that Lambda's JSON log format understands; `RUST_LOG` sets the level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn table_name_is_required_and_checked() {
        let e = cfg(&[]).unwrap_err();
        assert!(e.to_string().contains("TABLE_NAME"));
        assert!(cfg(&[("TABLE_NAME", "a b")]).is_err());
        let c = cfg(&[("TABLE_NAME", "api-keys")]).unwrap();
        assert_eq!(c.auth_cache_ttl, Duration::ZERO);
    }

    #[test]
    fn cache_ttl_is_parsed() {
        let c = cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "30")]).unwrap();
        assert_eq!(c.auth_cache_ttl, Duration::from_secs(30));
        assert!(cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "x")]).is_err());
        assert!(cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "99999")]).is_err());
    }
}
