//! The caller: the key that passed the authorizer, read from the request context that API Gateway
//! fills from the authorizer's answer.

use std::collections::{BTreeSet, HashMap};

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::error::ApiError;
use crate::identity::AuthContext;
use crate::model::Ident;

pub const ADMIN: &str = "admin";
pub const PROJECT_ADMIN: &str = "project-admin:";
pub const PROJECT_MEMBER: &str = "project-member:";

/// Who is calling, with its roles already sorted into what they allow.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
    admin: bool,
    project_admin: BTreeSet<Ident>,
    project_member: BTreeSet<Ident>,
}

impl Caller {
    pub fn new(ctx: AuthContext) -> Self {
        let mut admin = false;
        let mut project_admin = BTreeSet::new();
        let mut project_member = BTreeSet::new();
        for role in ctx.roles.iter().map(|r| r.as_str()) {
            if role == ADMIN {
                admin = true;
            } else if let Some(p) = role.strip_prefix(PROJECT_ADMIN) {
                project_admin.extend(Ident::parse(p).ok());
            } else if let Some(p) = role.strip_prefix(PROJECT_MEMBER) {
                project_member.extend(Ident::parse(p).ok());
            }
        }
        Caller {
            ctx,
            admin,
            project_admin,
            project_member,
        }
    }

    /// The caller of a request: `requestContext.authorizer.lambda` (HTTP API) or
    /// `requestContext.authorizer` (REST API). No or malformed context is a 401.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let fields: Option<&HashMap<String, Value>> = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.authorizer.as_ref().map(|a| &a.fields),
            Some(RequestContext::ApiGatewayV1(c)) => Some(&c.authorizer.fields),
            _ => None,
        };
        fields
            .and_then(AuthContext::from_map)
            .map(Caller::new)
            .ok_or(ApiError::Unauthenticated)
    }

    pub fn team(&self) -> &Ident {
        &self.ctx.account_id
    }
    pub fn is_admin(&self) -> bool {
        self.admin
    }
    /// `project-admin:<project>`, or `admin`.
    pub fn administers(&self, project: &Ident) -> bool {
        self.admin || self.project_admin.contains(project)
    }
    /// May see the project's keys: `project-member:`, `project-admin:` or `admin`.
    pub fn sees(&self, project: &Ident) -> bool {
        self.administers(project) || self.project_member.contains(project)
    }
    /// The projects the caller's roles name.
    pub fn projects(&self) -> BTreeSet<&Ident> {
        self.project_admin
            .iter()
            .chain(self.project_member.iter())
            .collect()
    }
    /// The one project the roles name, when there is exactly one.
    pub fn only_project(&self) -> Option<&Ident> {
        let projects = self.projects();
        if projects.len() == 1 {
            projects.into_iter().next()
        } else {
            None
        }
    }
    /// Who to write into `createdBy`: the caller's user, else its key prefix.
    pub fn actor(&self) -> String {
        match &self.ctx.user_id {
            Some(u) => u.as_str().to_owned(),
            None => format!("key:{}", self.ctx.key_prefix),
        }
    }
}
