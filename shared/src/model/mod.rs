//! The key model, one concept a file: the validated attributes of a key, its status, the key
//! record and its JSON, the audit record of a change, and how times are written.

pub mod attributes;
pub mod audit;
pub mod key;
pub mod limits;
pub mod status;
pub mod timestamp;

pub use attributes::*;
pub use audit::*;
pub use key::*;
pub use limits::*;
pub use status::*;
pub use timestamp::*;
