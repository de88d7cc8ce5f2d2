//! A key's lifecycle status and the changes an update may make to it.

use std::fmt;

/// A key's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Disabled,
    Pending,
    Rejected,
    Deleted,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Active, Status::Disabled, Status::Pending, Status::Rejected, Status::Deleted];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Disabled => "Disabled",
            Status::Pending => "Pending",
            Status::Rejected => "Rejected",
            Status::Deleted => "Deleted",
        }
    }
    /// Parses a status; `Inactive` and `Blocked` are accepted as `Disabled`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(Status::Active),
            "Disabled" | "Inactive" | "Blocked" => Some(Status::Disabled),
            "Pending" => Some(Status::Pending),
            "Rejected" => Some(Status::Rejected),
            "Deleted" => Some(Status::Deleted),
            _ => None,
        }
    }
    /// Whether an update may move a key from `self` to `to`. Deleting is not an update.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (a, b) if a == b => a != Deleted,
            (Active, Disabled) | (Disabled, Active) => true,
            (Pending, Active) | (Pending, Rejected) => true,
            (Rejected, Active) => true,
            _ => false,
        }
    }
    /// Whether moving to `to` is an approval decision (needs a project admin or admin).
    pub fn is_decision(self, to: Status) -> bool {
        matches!(self, Status::Pending | Status::Rejected) && self != to
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions() {
        use Status::*;
        assert!(Active.can_become(Disabled));
        assert!(Disabled.can_become(Active));
        assert!(Pending.can_become(Active));
        assert!(Pending.can_become(Rejected));
        assert!(!Active.can_become(Pending));
        assert!(!Active.can_become(Deleted));
        assert!(!Disabled.can_become(Pending));
        assert!(!Deleted.can_become(Active));
        assert!(Pending.is_decision(Active));
        assert!(!Active.is_decision(Disabled));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("Inactive"), Some(Disabled));
        assert_eq!(Status::parse("active"), None);
    }
}
