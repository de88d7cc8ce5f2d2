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
    #[error("{0} is not set: Lambda sets it for every function (the region and the execution role's credentials); to run a function elsewhere, set AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")]
    MissingAws(&'static str),
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
    /// Open the DynamoDB connection at cold start ([`DynamoStore::warm_up`]);
    /// `DYNAMODB_WARM_UP=false` turns it off.
    pub warm_up: bool,
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
        let warm_up = match get("DYNAMODB_WARM_UP").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) => match v.as_str() {
                "" | "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "DYNAMODB_WARM_UP",
                        why: "true or false".into(),
                    })
                }
            },
        };
        Ok(Config {
            table_name,
            auth_cache_ttl: Duration::from_secs(ttl),
            cursor_key,
            warm_up,
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

fn timeout_config(t: Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(t.operation)
        .operation_attempt_timeout(t.attempt)
        .connect_timeout(t.connect)
        .build()
}

fn retry_config(t: Timeouts) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(t.max_attempts)
        .with_initial_backoff(t.initial_backoff)
        .with_max_backoff(Duration::from_millis(250))
}

/// A DynamoDB client from the SDK's whole default configuration chain (profiles, SSO, IMDS,
/// container and web-identity credentials): for the dev server, the operator's CLI and tests.
/// The endpoint comes from the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`, so DynamoDB Local
/// works with no code change.
pub async fn dynamo_client(timeouts: Timeouts) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts))
        .retry_config(retry_config(timeouts))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}

/// What a Lambda function's DynamoDB client is made of, all from the environment Lambda sets:
/// the region, the execution role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) and the SDK's standard endpoint and FIPS/dual-stack variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEnv {
    pub region: String,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`; neither with
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
    pub endpoint: Option<String>,
    pub use_fips: bool,
    pub use_dual_stack: bool,
}

impl LambdaEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |k: &str| set(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let region = set("AWS_REGION")
            .or_else(|| set("AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::MissingAws("AWS_REGION"))?;
        for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            set(k).ok_or(ConfigError::MissingAws(k))?;
        }
        let endpoint = if flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
            None
        } else {
            set("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| set("AWS_ENDPOINT_URL"))
        };
        Ok(LambdaEnv {
            region,
            endpoint,
            use_fips: flag("AWS_USE_FIPS_ENDPOINT"),
            use_dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT"),
        })
    }
}

/// A Lambda function's DynamoDB client, from [`LambdaEnv`] alone. Inside Lambda it behaves as
/// [`dynamo_client`] does (whose default chain finds the same region and environment
/// credentials first), but it does not link the rest of that chain — the STS client, IMDS,
/// container and profile providers, about 300 KB of every bootstrap — and sets up in
/// microseconds.
pub fn lambda_dynamo_client(env: &LambdaEnv, timeouts: Timeouts) -> aws_sdk_dynamodb::Client {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::Region;
    let mut conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env.region.clone()))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts))
        .retry_config(retry_config(timeouts))
        .use_fips(env.use_fips)
        .use_dual_stack(env.use_dual_stack);
    if let Some(url) = &env.endpoint {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(conf.build())
}

/// Config, client and store together: what every function builds once at cold start. Fails,
/// naming the variable, when Lambda's region or credentials are missing from the environment.
/// Unless `config.warm_up` is off, it then opens the connection ([`DynamoStore::warm_up`]):
/// never an error, a failed warm-up is one warning line.
pub async fn dynamo_store(config: &Config) -> Result<DynamoStore, ConfigError> {
    let client = lambda_dynamo_client(&LambdaEnv::from_env()?, Timeouts::default());
    let store = DynamoStore::new(client, config.table_name.as_str(), config.cursor_codec());
    if config.warm_up {
        match store.warm_up().await {
            Ok(took) => tracing::debug!(ms = took.as_secs_f64() * 1e3, "DynamoDB connection open"),
            Err(e) => {
                tracing::warn!(error = %e, "DynamoDB warm-up failed; the first request connects itself")
            }
        }
    }
    Ok(store)
}

/// The log filter of the functions: `RUST_LOG`'s `target=level` directives and default level
/// (`info` when unset). Span and field filters (`target[span{field=value}]=level`) are not
/// supported: they need `EnvFilter`'s regex engine, about 200 KB of every bootstrap. A value
/// that does not parse falls back to `info`, with a warning once the subscriber is up.
pub fn log_filter() -> (tracing_subscriber::filter::Targets, Option<String>) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => match v.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                info(),
                Some(format!("RUST_LOG is not understood ({e}); logging at info")),
            ),
        },
        _ => (info(), None),
    }
}

/// Structured JSON logs that Lambda's JSON log format understands; `RUST_LOG` sets the level
/// ([`log_filter`]).
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (filter, warning) = log_filter();
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_target(false)
                .without_time(),
        )
        .try_init();
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
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

    fn lambda_env(pairs: &[(&str, &str)]) -> Result<LambdaEnv, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaEnv::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn lambda_env_needs_region_and_credentials() {
        let creds = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let e = lambda_env(&creds).unwrap_err();
        assert!(e.to_string().contains("AWS_REGION"), "{e}");
        let e = lambda_env(&[("AWS_REGION", "eu-west-1"), creds[0]]).unwrap_err();
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let env = lambda_env(&[("AWS_DEFAULT_REGION", "eu-west-1"), creds[0], creds[1]]).unwrap();
        assert_eq!(
            env,
            LambdaEnv {
                region: "eu-west-1".into(),
                endpoint: None,
                use_fips: false,
                use_dual_stack: false
            }
        );
    }

    #[test]
    fn lambda_env_reads_the_standard_endpoint_variables() {
        let base = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            lambda_env(&v).unwrap()
        };
        let ddb = ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000");
        let global = ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000");
        assert_eq!(
            with(&[ddb, global]).endpoint.as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            with(&[global]).endpoint.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        let ignore = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert_eq!(with(&[ddb, ignore]).endpoint, None);
        let fips = with(&[
            ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
        ]);
        assert!(fips.use_fips && !fips.use_dual_stack);
    }

    #[test]
    fn cache_ttl_is_parsed() {
        let c = cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "30")]).unwrap();
        assert_eq!(c.auth_cache_ttl, Duration::from_secs(30));
        assert!(cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "x")]).is_err());
        assert!(cfg(&[("TABLE_NAME", "t12"), ("AUTH_CACHE_TTL_SECONDS", "99999")]).is_err());
    }

    #[test]
    fn warm_up_is_on_unless_turned_off() {
        let warm = |v: Option<&str>| {
            let mut vars = vec![("TABLE_NAME", "t12")];
            vars.extend(v.map(|v| ("DYNAMODB_WARM_UP", v)));
            cfg(&vars).map(|c| c.warm_up)
        };
        assert!(warm(None).unwrap());
        for on in ["true", "TRUE", "1", " true ", ""] {
            assert!(warm(Some(on)).unwrap(), "{on:?}");
        }
        for off in ["false", "False", "0"] {
            assert!(!warm(Some(off)).unwrap(), "{off:?}");
        }
        let e = warm(Some("yes please")).unwrap_err().to_string();
        assert!(e.contains("DYNAMODB_WARM_UP"), "{e}");
    }
}
