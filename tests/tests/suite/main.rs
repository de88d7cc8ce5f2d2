//! The integration suite: one test binary, modules per capability.

mod api_events;
mod api_lifecycle;
mod api_logs;
mod api_openapi;
mod api_permissions;
mod api_validation;
mod audit;
mod authorizer;
mod hardening_authority;
mod hardening_escalation;
mod hardening_faults;
mod hardening_input;
mod hardening_races;
mod hardening_secrets;
mod hardening_tenancy;
mod limits;
mod store_contract;
mod template;
mod template_ops;
