//! The AWS SDK clients: the HTTPS client, timeouts and retries, and the two ways a DynamoDB
//! client is built — from the SDK's whole default chain (dev server, CLI, tests) or from the
//! environment Lambda sets (the functions).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use crate::config::{Config, ConfigError};
use crate::store::DynamoStore;

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
        let set = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
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
    let store = DynamoStore::new(client, config.table_name.as_str(), config.cursor_codec())
        .with_audit_retention(config.audit_retention);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_env(pairs: &[(&str, &str)]) -> Result<LambdaEnv, ConfigError> {
        LambdaEnv::from_lookup(crate::testing::env_of(pairs))
    }

    #[test]
    fn lambda_env_needs_region_and_credentials() {
        let creds = [("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "s")];
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
        assert_eq!(with(&[ddb, global]).endpoint.as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(with(&[global]).endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let ignore = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert_eq!(with(&[ddb, ignore]).endpoint, None);
        let fips =
            with(&[("AWS_USE_FIPS_ENDPOINT", "TRUE"), ("AWS_USE_DUALSTACK_ENDPOINT", "false")]);
        assert!(fips.use_fips && !fips.use_dual_stack);
    }
}
