//! The key model, one concept a file: the validated attributes of a key, its status, the key
//! record and its JSON, and how times are written.

pub mod attributes;
pub mod key;
pub mod status;
pub mod timestamp;

pub use attributes::*;
pub use key::*;
pub use status::*;
pub use timestamp::*;
