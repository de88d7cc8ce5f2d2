//! Reading a JSON object's fields into domain types, collecting every field error instead of
//! stopping at the first, so the client sees all of them in one `errors[]`.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::model::FieldError;

/// Fields no request may set: the server owns them. Named so the 400 says why.
pub const SERVER_OWNED: &[&str] = &[
    "prefix", "preview", "key", "keyType", "isDefault", "account", "accountId", "user", "userId",
    "project", "projectId", "createdAt", "createdBy", "updatedAt", "lastActiveDateTime",
    "submittedJobs", "retrieved", "version", "hash", "secretHash",
];

/// An optional field of a partial update.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    /// Not in the body: leave it as it is.
    #[default]
    Keep,
    /// `null`: clear it.
    Clear,
    /// A new value.
    Set(T),
}

pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Fields { obj, errors: Vec::new() }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Every field not in `allowed` is an error naming it.
    pub fn allow_only(&mut self, allowed: &[&str]) {
        for name in self.obj.keys() {
            if allowed.contains(&name.as_str()) {
                continue;
            }
            let message = if SERVER_OWNED.contains(&name.as_str()) {
                "cannot be set by this request"
            } else {
                "is not a field of this request"
            };
            self.errors.push(FieldError::new(shown_name(name), message));
        }
    }

    /// A field that must be present and not null.
    pub fn required<T>(
        &mut self, name: &str, parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.obj.get(name) {
            None | Some(Value::Null) => {
                self.error(name, "is required");
                None
            }
            Some(v) => self.parsed(name, v, parse),
        }
    }

    /// A page's `limit` (1 to [`crate::store::MAX_PAGE`]) and `cursor`, both optional.
    pub fn paging(&mut self) -> (Option<usize>, Option<String>) {
        let limit = self.optional("limit", |v| limit(v, crate::store::MAX_PAGE));
        (limit, self.optional("cursor", cursor))
    }

    /// An optional field; `null` means absent.
    pub fn optional<T>(
        &mut self, name: &str, parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => self.parsed(name, v, parse),
        }
    }

    /// An optional field of an update that cannot be cleared: `null` is an error.
    pub fn non_null<T>(
        &mut self, name: &str, parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.obj.get(name) {
            None => None,
            Some(Value::Null) => {
                self.error(name, "must not be null");
                None
            }
            Some(v) => self.parsed(name, v, parse),
        }
    }

    /// An optional field of an update that `null` clears.
    pub fn nullable<T>(
        &mut self, name: &str, parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Patch<T> {
        match self.obj.get(name) {
            None => Patch::Keep,
            Some(Value::Null) => Patch::Clear,
            Some(v) => self.parsed(name, v, parse).map_or(Patch::Keep, Patch::Set),
        }
    }

    fn parsed<T>(
        &mut self, name: &str, v: &'a Value, parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match parse(v) {
            Ok(t) => Some(t),
            Err(m) => {
                self.error(name, m);
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether `field` has an error already.
    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// `Err(400 with every error)` if any field failed.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// How an unknown field or parameter is named back to the client: as sent, unless it looks like
/// a key (`sk-…`), which no answer but create's and replace's may carry — then `(redacted)`.
pub fn shown_name(name: &str) -> String {
    let token_shaped = name.contains("sk-project-")
        || name.contains("sk-team-")
        || crate::token::Token::parse(name.trim()).is_ok();
    if token_shaped {
        "(redacted)".to_owned()
    } else {
        name.chars().take(100).collect()
    }
}

/// A query string as an object of single-valued parameters, for [`Fields`]: a parameter given
/// more than once, or not one of the route's, is an error already.
pub struct QueryParams {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl QueryParams {
    pub fn of(
        query: &lambda_http::aws_lambda_events::query_map::QueryMap, allowed: &[&str],
    ) -> Self {
        let mut map = Map::new();
        let mut errors: Vec<FieldError> = Vec::new();
        for (k, _) in query.iter() {
            let values = query.all(k).unwrap_or_default();
            let shown = shown_name(k);
            if !allowed.contains(&k) {
                if !errors.iter().any(|e| e.field == shown) {
                    errors.push(FieldError::new(shown, "is not a query parameter of this route"));
                }
                continue;
            }
            if values.len() > 1 && !errors.iter().any(|e| e.field == k) {
                errors.push(FieldError::new(k, "must be given at most once"));
            }
            if let Some(v) = values.first() {
                map.insert(k.to_owned(), Value::from(*v));
            }
        }
        QueryParams { map, errors }
    }

    /// A reader of the parameters, holding the errors found so far.
    pub fn fields(&self) -> Fields<'_> {
        let mut f = Fields::new(&self.map);
        f.errors = self.errors.clone();
        f
    }
}

/// `limit`: a whole number from 1 to `max`, as a query parameter.
pub fn limit(v: &Value, max: usize) -> Result<usize, String> {
    v.as_str()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("must be a whole number from 1 to {max}"))
}

/// `cursor`: a cursor a list returned (checked by the store; here only its size).
pub fn cursor(v: &Value) -> Result<String, String> {
    match v.as_str() {
        Some(c) if !c.is_empty() && c.len() <= MAX_CURSOR => Ok(c.to_owned()),
        _ => Err("is not a cursor this list returned".to_owned()),
    }
}

/// The longest cursor a list accepts.
pub const MAX_CURSOR: usize = 1024;

pub fn text(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| "must be a string".to_owned())
}

pub fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| "must be true or false".to_owned())
}

pub fn texts(v: &Value) -> Result<Vec<&str>, String> {
    let items = v.as_array().ok_or_else(|| "must be an array of strings".to_owned())?;
    items
        .iter()
        .map(|i| i.as_str())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| "must be an array of strings".to_owned())
}

/// A whole number in `min..=max`.
pub fn integer(v: &Value, min: u64, max: u64) -> Result<u64, String> {
    crate::model::whole(Some(v), min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error() {
        let body = json!({"name": 5, "extra": true, "prefix": "x", "roles": ["a", 1]});
        let obj = body.as_object().unwrap();
        let mut f = Fields::new(obj);
        f.allow_only(&["name", "roles", "labels"]);
        let name = f.required("name", text);
        let roles = f.optional("roles", texts);
        let labels = f.optional("labels", texts);
        assert!(name.is_none() && roles.is_none() && labels.is_none());
        let Err(ApiError::Validation(errors)) = f.finish() else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["extra", "prefix", "name", "roles"]);
        assert_eq!(errors[1].message, "cannot be set by this request");
    }

    #[test]
    fn token_shaped_names_are_never_echoed() {
        let t = crate::token::Token::generate(crate::token::KeyKind::Project);
        assert_eq!(shown_name(t.expose()), "(redacted)");
        assert_eq!(shown_name(&format!("x{}", t.expose())), "(redacted)");
        assert_eq!(shown_name("extra"), "extra");
        let body = json!({ t.expose(): 1 });
        let mut f = Fields::new(body.as_object().unwrap());
        f.allow_only(&["name"]);
        let Err(ApiError::Validation(errors)) = f.finish() else {
            panic!("an unknown field is an error")
        };
        assert_eq!(errors[0].field, "(redacted)");
    }

    #[test]
    fn null_handling() {
        let body = json!({"a": null, "b": null, "c": "x"});
        let obj = body.as_object().unwrap();
        let mut f = Fields::new(obj);
        assert_eq!(f.nullable("a", text), Patch::Clear);
        assert_eq!(f.nullable("z", text), Patch::Keep);
        assert_eq!(f.nullable("c", text), Patch::Set("x"));
        assert_eq!(f.optional("a", text), None);
        assert!(!f.has_errors());
        assert_eq!(f.non_null("b", text), None);
        assert!(f.has_errors());
        assert!(integer(&json!(86401), 0, 86400).unwrap_err().contains("0 to 86400"));
        assert!(integer(&json!(-1), 0, 86400).is_err());
        assert!(integer(&json!(1.5), 0, 86400).is_err());
        assert_eq!(integer(&json!(0), 0, 86400), Ok(0));
    }
}
