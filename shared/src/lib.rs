//! The API key service library: tokens, the key model, the store (DynamoDB and in-memory),
//! errors and configuration, the management API handlers and the authorizer. The Lambda
//! binaries in `functions/` are thin wrappers over it.

pub mod api;
pub mod authorizer;
pub mod clock;
pub mod config;
pub mod error;
pub mod identity;
pub mod model;
pub mod store;
pub mod testing;
pub mod token;

pub use error::ApiError;
pub use model::{ApiKey, Status};
pub use token::{KeyKind, Prefix, Token};
