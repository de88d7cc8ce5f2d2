//! The API key service library. The Lambda binaries in `functions/` are thin wrappers over it;
//! the dev server and the operator's CLI in `local/` use it too. `docs/ARCHITECTURE.md` walks
//! through it; in brief:
//!
//! - [`token`]: the key format (prefix, secret, checksum), its hash and preview;
//! - [`model`]: the key record and its validated attributes, one concept a file;
//! - [`store`]: narrow traits for what the handlers need, a DynamoDB and an in-memory store;
//! - [`api`]: the management API — route table, request wrapper, handlers, permissions;
//! - [`authorizer`]: the Lambda authorizer;
//! - [`identity`]: the context the authorizer hands on, which management reads back;
//! - [`error`]: one API error type, answered as problem+json;
//! - [`config`], [`aws`], [`telemetry`], [`clock`]: start-up, SDK clients, logs, time.

pub mod api;
pub mod authorizer;
pub mod aws;
pub mod clock;
pub mod config;
pub mod error;
pub mod identity;
pub mod model;
pub mod shutdown;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod token;

pub use error::ApiError;
pub use model::{ApiKey, Status};
pub use token::{KeyKind, Prefix, Token};
