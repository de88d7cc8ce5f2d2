//! HTTP handlers of the management API (issue 3).
