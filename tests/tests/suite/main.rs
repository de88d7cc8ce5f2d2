//! The integration suite: one test binary, modules per capability.

mod store_contract;
