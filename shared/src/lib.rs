//! The API key service library: tokens, the key model, the store (DynamoDB and in-memory),
//! errors and configuration. The Lambda binaries in `functions/` are thin wrappers over it.

pub mod clock;
pub mod config;
pub mod error;
pub mod model;
pub mod store;
pub mod testing;
pub mod token;

pub use error::ApiError;
pub use model::{ApiKey, Status};
pub use token::{KeyKind, Prefix, Token};
