//! The one route table: every route of the deployed HTTP API, the Lambda function that serves
//! it and whether the authorizer guards it. The handlers' dispatcher, the dev server's gateway,
//! the template test and the OpenAPI test all read it.

/// The Lambda functions behind the HTTP API, one small binary each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    CreateKey,
    ListKeys,
    ReplaceKey,
    UpdateKey,
    DeleteKey,
    ListAudit,
    Console,
}

impl Function {
    pub const ALL: [Function; 7] = [
        Function::CreateKey,
        Function::ListKeys,
        Function::ReplaceKey,
        Function::UpdateKey,
        Function::DeleteKey,
        Function::ListAudit,
        Function::Console,
    ];

    /// The binary's name (unique in the workspace; `BuildProperties: Binary` in the template).
    pub fn binary(self) -> &'static str {
        match self {
            Function::CreateKey => "create-key",
            Function::ListKeys => "list-keys",
            Function::ReplaceKey => "replace-key",
            Function::UpdateKey => "update-key",
            Function::DeleteKey => "delete-key",
            Function::ListAudit => "list-audit",
            Function::Console => "console",
        }
    }
}

/// What a request asks for, once its method and path are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    CreateKey,
    ListKeys,
    GetKey,
    /// The signed-in key: who it is and what it may do.
    Me,
    ReplaceKey,
    UpdateKey,
    DeleteKey,
    /// One key's audit trail.
    KeyAudit,
    /// A team's or a project's audit trail.
    TeamAudit,
    /// The console's page (public: the API behind it needs a key).
    ConsoleIndex,
    /// The console's assets (public).
    ConsoleAsset,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDef {
    pub method: &'static str,
    /// API Gateway's path template: `{name}` is one segment, `{name+}` the rest of the path.
    pub path: &'static str,
    pub route: Route,
    pub function: Function,
    /// Whether the Lambda authorizer guards the route.
    pub authorized: bool,
}

impl RouteDef {
    /// API Gateway's route key, e.g. `GET /keys/{prefix}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

const fn row(
    method: &'static str, path: &'static str, route: Route, function: Function, authorized: bool,
) -> RouteDef {
    RouteDef { method, path, route, function, authorized }
}

/// Every route of the HTTP API.
pub const ROUTES: &[RouteDef] = &[
    row("GET", "/keys", Route::ListKeys, Function::ListKeys, true),
    row("POST", "/keys", Route::CreateKey, Function::CreateKey, true),
    row("GET", "/keys/{prefix}", Route::GetKey, Function::ListKeys, true),
    row("GET", "/me", Route::Me, Function::ListKeys, true),
    row("PATCH", "/keys/{prefix}", Route::UpdateKey, Function::UpdateKey, true),
    row("DELETE", "/keys/{prefix}", Route::DeleteKey, Function::DeleteKey, true),
    row("POST", "/keys/{prefix}/replace", Route::ReplaceKey, Function::ReplaceKey, true),
    row("GET", "/keys/{prefix}/audit", Route::KeyAudit, Function::ListAudit, true),
    row("GET", "/audit", Route::TeamAudit, Function::ListAudit, true),
    row("GET", "/", Route::ConsoleIndex, Function::Console, false),
    row("GET", "/console/{proxy+}", Route::ConsoleAsset, Function::Console, false),
];

/// What a method and path name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    Found {
        def: &'static RouteDef,
        /// The path parameters, by name.
        params: Vec<(&'static str, String)>,
    },
    /// The path exists with other methods (for `Allow`, comma-separated).
    WrongMethod {
        allow: String,
    },
    NotFound,
}

/// Matches a method and a path (without stage) against [`ROUTES`], as API Gateway does.
pub fn match_route(method: &str, path: &str) -> RouteMatch {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut allowed: Vec<&str> = Vec::new();
    for def in ROUTES {
        let Some(params) = match_path(def.path, &segments) else {
            continue;
        };
        if def.method == method {
            return RouteMatch::Found { def, params };
        }
        if !allowed.contains(&def.method) {
            allowed.push(def.method);
        }
    }
    if allowed.is_empty() {
        RouteMatch::NotFound
    } else {
        RouteMatch::WrongMethod { allow: allowed.join(", ") }
    }
}

fn match_path(template: &'static str, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = template.trim_start_matches('/').split('/').collect();
    let mut params = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let name = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
        match name {
            Some(greedy) if greedy.ends_with('+') => {
                let rest = segments.get(i..).unwrap_or(&[]).join("/");
                if rest.is_empty() {
                    return None;
                }
                params.push((greedy.trim_end_matches('+'), rest));
                return Some(params);
            }
            Some(name) => match segments.get(i) {
                Some(s) if !s.is_empty() => params.push((name, (*s).to_owned())),
                _ => return None,
            },
            None => {
                if segments.get(i) != Some(part) {
                    return None;
                }
            }
        }
    }
    (segments.len() == parts.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> (Route, Vec<(&'static str, String)>) {
        match match_route(method, path) {
            RouteMatch::Found { def, params } => (def.route, params),
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn routes_match_like_api_gateway() {
        assert_eq!(found("POST", "/keys").0, Route::CreateKey);
        assert_eq!(found("GET", "/keys").0, Route::ListKeys);
        let (r, p) = found("GET", "/keys/abcdefABCDEF");
        assert_eq!((r, p), (Route::GetKey, vec![("prefix", "abcdefABCDEF".into())]));
        assert_eq!(found("PATCH", "/keys/abc").0, Route::UpdateKey);
        assert_eq!(found("DELETE", "/keys/abc").0, Route::DeleteKey);
        assert_eq!(found("POST", "/keys/abc/replace").0, Route::ReplaceKey);
        assert_eq!(found("GET", "/me").0, Route::Me);
        assert_eq!(found("GET", "/keys/abc/audit").0, Route::KeyAudit);
        assert_eq!(found("GET", "/audit").0, Route::TeamAudit);
        assert_eq!(found("GET", "/").0, Route::ConsoleIndex);
        let (r, p) = found("GET", "/console/v1/app.js");
        assert_eq!((r, p), (Route::ConsoleAsset, vec![("proxy", "v1/app.js".into())]));
        assert_eq!(
            match_route("PUT", "/keys/abc"),
            RouteMatch::WrongMethod { allow: "GET, PATCH, DELETE".into() }
        );
        assert_eq!(
            match_route("PUT", "/keys"),
            RouteMatch::WrongMethod { allow: "GET, POST".into() }
        );
        for missing in
            ["/nope", "/keys/a/b", "/keys/a/b/c", "/console", "/console/", "/keys//replace"]
        {
            assert_eq!(match_route("GET", missing), RouteMatch::NotFound, "{missing}");
        }
    }

    #[test]
    fn every_function_serves_a_route() {
        for f in Function::ALL {
            assert!(ROUTES.iter().any(|r| r.function == f), "{f:?}");
        }
        let mut keys: Vec<String> = ROUTES.iter().map(RouteDef::route_key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }
}
