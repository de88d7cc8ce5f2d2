//! `keys-admin`: the operator's break-glass tool (`keys-admin --help`; the code is
//! `local::admin`, the runbook docs/OPERATIONS.md). Exit codes: 0 done, 1 refused or failed
//! (nothing written), 2 bad usage.

#[tokio::main]
async fn main() {
    std::process::exit(local::admin::main().await);
}
