//! The three API Gateway authorizer formats one binary answers, told apart by the event:
//!
//! | event | format | answer |
//! |---|---|---|
//! | `version: "2.0"` | HTTP API payload 2.0, REQUEST | simple response `{isAuthorized, context}` |
//! | `type: "TOKEN"` | REST TOKEN (`authorizationToken`, `methodArn`) | IAM policy |
//! | `type: "REQUEST"` (any other version) | REST REQUEST, or HTTP API payload 1.0 | IAM policy |
//!
//! The event is read with a small borrowed struct plus the `headers` object as it is, rather
//! than the full `aws_lambda_events` request types: those parse every header into a `HeaderMap`
//! and fail the whole event (with the offending value in the error) on a header that is not
//! visible ASCII, which would turn a client's odd header into a 500 and could put a key in a
//! log. The responses use the `aws_lambda_events` types.

use aws_lambda_events::event::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::event::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::headers::{
    identity_source_key, presented_key, token_from_authorization_token, Presented, NOT_TEXT,
};
use super::AuthorizerError;

/// The fields that tell the formats apart, borrowed from the event.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow, default)]
    version: Option<&'a str>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    method_arn: Option<&'a str>,
}

/// An authorizer request: where the key is and how to answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// HTTP API payload 2.0: a simple response.
    HttpV2 { key: Presented<'a> },
    /// REST TOKEN or REQUEST (and HTTP API payload 1.0): an IAM policy on `resource`.
    Policy { format: &'static str, key: Presented<'a>, resource: String },
}

impl<'a> Request<'a> {
    pub fn parse(event: &'a Value) -> Result<Self, AuthorizerError> {
        let env = Envelope::deserialize(event).map_err(|_| AuthorizerError::UnknownEvent)?;
        let headers = || {
            event
                .get("headers")
                .and_then(Value::as_object)
                .map_or(Presented::Nothing, |h| presented_key(h))
        };
        if env.version == Some("2.0") {
            // The key comes from the identity source API Gateway caches on, when there is one.
            let sources: Vec<&str> = event
                .get("identitySource")
                .and_then(Value::as_array)
                .map(|values| values.iter().map(|v| v.as_str().unwrap_or(NOT_TEXT)).collect())
                .unwrap_or_default();
            let key = agree(identity_source_key(&sources), headers());
            return Ok(Request::HttpV2 { key });
        }
        let (format, key) = match env.kind {
            Some("TOKEN") => (
                "rest-token",
                event
                    .get("authorizationToken")
                    .and_then(Value::as_str)
                    .map_or(Presented::Nothing, |t| {
                        Presented::Key(token_from_authorization_token(t))
                    }),
            ),
            Some("REQUEST") => ("rest-request", headers()),
            _ => return Err(AuthorizerError::UnknownEvent),
        };
        let resource =
            env.method_arn.and_then(stage_resource).ok_or(AuthorizerError::BadMethodArn)?;
        Ok(Request::Policy { format, key, resource })
    }

    pub fn key(&self) -> Presented<'a> {
        match self {
            Request::HttpV2 { key } | Request::Policy { key, .. } => *key,
        }
    }

    pub fn format(&self) -> &'static str {
        match self {
            Request::HttpV2 { .. } => "http-v2",
            Request::Policy { format, .. } => format,
        }
    }
}

/// The key of an identity source (what API Gateway caches on), checked against the headers: a
/// header carrying another key, or two headers that disagree, refuse the request.
fn agree<'a>(identity: Option<Presented<'a>>, headers: Presented<'a>) -> Presented<'a> {
    match (identity, headers) {
        (None, h) => h,
        (Some(_), Presented::Conflict) => Presented::Conflict,
        (Some(Presented::Key(i)), Presented::Key(h)) if i != h => Presented::Conflict,
        (Some(i), _) => i,
    }
}

/// `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/*/*` from a method ARN
/// (`…:<api>/<stage>/<METHOD>/<path>`): every method and path of the stage, so a policy API
/// Gateway caches for one route is right for all of them.
pub fn stage_resource(method_arn: &str) -> Option<String> {
    let mut parts = method_arn.splitn(6, ':');
    let (arn, partition, service, region, account, rest) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let mut path = rest.split('/');
    let (api, stage) = (path.next()?, path.next()?);
    let ok = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_$.".contains(&b))
    };
    if arn != "arn"
        || service != "execute-api"
        || ![partition, region, api, stage].iter().all(|s| ok(s))
    {
        return None;
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/*/*"))
}

/// The HTTP API simple response.
pub fn simple_response(authorized: bool, context: Map<String, Value>) -> Value {
    let mut r = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
    r.is_authorized = authorized;
    r.context = Value::Object(context);
    serde_json::to_value(r).unwrap_or_else(|_| fallback_simple(authorized))
}

fn fallback_simple(authorized: bool) -> Value {
    serde_json::json!({ "isAuthorized": authorized, "context": {} })
}

/// The REST IAM policy response: `execute-api:Invoke` allowed or denied on `resource`.
pub fn policy_response(
    principal_id: &str, allow: bool, resource: &str, context: Map<String, Value>,
) -> Value {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = if allow { IamPolicyEffect::Allow } else { IamPolicyEffect::Deny };
    statement.resource = vec![resource.to_owned()];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut r = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    r.principal_id = Some(principal_id.to_owned());
    r.policy_document = policy;
    r.context = Value::Object(context);
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    // `usageIdentifierKey: null` is noise at best; leave the member out.
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stage_resource_covers_the_stage() {
        assert_eq!(
            stage_resource("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/GET/keys/abc")
                .as_deref(),
            Some("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/*/*")
        );
        assert_eq!(
            stage_resource("arn:aws-cn:execute-api:cn-north-1:123456789012:api/$default/POST/")
                .as_deref(),
            Some("arn:aws-cn:execute-api:cn-north-1:123456789012:api/$default/*/*")
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:execute-api:us-east-1:123456789012:api",
            "arn:aws:execute-api:us-east-1:12345:api/prod/GET/",
            "arn:aws:execute-api:us-east-1:123456789012:api/*/GET/",
            "arn:aws:execute-api:us-east-1:123456789012:/prod/GET/",
        ] {
            assert_eq!(stage_resource(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_are_detected() {
        let v2 = json!({ "version": "2.0", "type": "REQUEST", "headers": { "x-api-key": "k" } });
        assert_eq!(Request::parse(&v2).unwrap(), Request::HttpV2 { key: Presented::Key("k") });
        // the identity source wins over the headers; its values must agree
        let v2 = json!({ "version": "2.0", "identitySource": ["Bearer a"],
                         "headers": { "authorization": "Bearer a" } });
        assert_eq!(Request::parse(&v2).unwrap().key(), Presented::Key("a"));
        let v2 = json!({ "version": "2.0", "identitySource": ["Bearer a"],
                         "headers": { "authorization": "Bearer a", "x-api-key": "b" } });
        assert_eq!(Request::parse(&v2).unwrap().key(), Presented::Conflict);
        let v2 = json!({ "version": "2.0", "identitySource": ["a"],
                         "headers": { "authorization": "Bearer b", "x-api-key": "a" } });
        assert_eq!(Request::parse(&v2).unwrap().key(), Presented::Conflict);
        let v2 = json!({ "version": "2.0", "identitySource": ["Bearer a", "b"] });
        assert_eq!(Request::parse(&v2).unwrap().key(), Presented::Conflict);
        let v2 = json!({ "version": "2.0", "identitySource": [],
                         "headers": { "authorization": "Bearer a", "x-api-key": "b" } });
        assert_eq!(Request::parse(&v2).unwrap().key(), Presented::Conflict);
        let arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x";
        let token = json!({ "type": "TOKEN", "authorizationToken": "Bearer k", "methodArn": arn });
        let r = Request::parse(&token).unwrap();
        assert_eq!(r.key(), Presented::Key("k"));
        assert_eq!(r.format(), "rest-token");
        let req = json!({ "type": "REQUEST", "methodArn": arn, "headers": null });
        let r = Request::parse(&req).unwrap();
        assert_eq!(r.key(), Presented::Nothing);
        assert_eq!(r.format(), "rest-request");
        let v1 = json!({ "version": "1.0", "type": "REQUEST", "methodArn": arn,
                         "headers": { "Authorization": "Bearer k" } });
        assert_eq!(Request::parse(&v1).unwrap().key(), Presented::Key("k"));
        for bad in [
            json!({}),
            json!([1]),
            json!({ "type": "TOKEN", "authorizationToken": "k" }),
            json!({ "type": "TOKEN", "authorizationToken": "k", "methodArn": "nope" }),
            json!({ "type": "WEBSOCKET" }),
            json!({ "version": 2 }),
        ] {
            assert!(Request::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses_have_the_documented_shape() {
        let mut ctx = Map::new();
        ctx.insert("keyPrefix".into(), "p".into());
        let s = simple_response(true, ctx.clone());
        assert_eq!(s, json!({ "isAuthorized": true, "context": { "keyPrefix": "p" } }));
        let p = policy_response("p", false, "arn:x", Map::new());
        assert_eq!(
            p,
            json!({
                "principalId": "p",
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{ "Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["arn:x"] }]
                },
                "context": {}
            })
        );
    }
}
