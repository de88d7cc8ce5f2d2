//! The Lambda authorizer (issue 4).
