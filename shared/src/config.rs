//! Configuration, read once at cold start from the environment, failing fast and clearly.

use std::time::Duration;

use crate::store::CursorCodec;

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
    /// How long audit records are kept (`AUDIT_RETENTION_DAYS`, default 400).
    pub audit_retention: time::Duration,
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
            || !table_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                why: "3-255 characters of letters, digits, _ . -".into(),
            });
        }
        let ttl = match get("AUTH_CACHE_TTL_SECONDS").filter(|v| !v.is_empty()) {
            None => 0,
            Some(v) => v.parse::<u64>().ok().filter(|s| *s <= 3600).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "AUTH_CACHE_TTL_SECONDS",
                    why: "a whole number of seconds from 0 to 3600".into(),
                }
            })?,
        };
        let audit_days = match get("AUDIT_RETENTION_DAYS").filter(|v| !v.trim().is_empty()) {
            None => 400,
            Some(v) => v.trim().parse::<i64>().ok().filter(|d| (1..=3653).contains(d)).ok_or_else(
                || ConfigError::Invalid {
                    name: "AUDIT_RETENTION_DAYS",
                    why: "a whole number of days from 1 to 3653".into(),
                },
            )?,
        };
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
            audit_retention: time::Duration::days(audit_days),
            warm_up,
        })
    }

    pub fn cursor_codec(&self) -> CursorCodec {
        CursorCodec::for_table(&self.table_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(crate::testing::env_of(pairs))
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
    fn audit_retention_is_parsed() {
        let days = |v: &str| cfg(&[("TABLE_NAME", "t12"), ("AUDIT_RETENTION_DAYS", v)]);
        assert_eq!(
            cfg(&[("TABLE_NAME", "t12")]).unwrap().audit_retention,
            time::Duration::days(400)
        );
        assert_eq!(days("30").unwrap().audit_retention, time::Duration::days(30));
        for bad in ["0", "x", "-1", "99999"] {
            assert!(days(bad).is_err(), "{bad}");
        }
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
