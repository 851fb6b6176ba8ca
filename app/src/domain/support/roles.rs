//! Staff roles and what each may do (DESIGN §6).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

named_enum! {
    /// A member of staff's role, kept in our database (never taken from the identity provider).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum Role {
        Viewer = "viewer" => "Viewer",
        SupportOfficer = "support_officer" => "Support officer",
        Administrator = "administrator" => "Administrator",
    }
}

impl Role {
    /// Whether this role may do `what`. Each role can do everything the one below it can.
    pub fn allows(self, what: Permission) -> bool {
        match what {
            Permission::ViewTasks => true,
            Permission::WorkTasks => self >= Role::SupportOfficer,
            Permission::ManageStaff
            | Permission::ReadAudit
            | Permission::Disconnect
            | Permission::ManageServices => self == Role::Administrator,
        }
    }
}

/// What the console lets staff do; every route and server function names the one it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// See the dashboard, tasks (with personal data) and proof files.
    ViewTasks,
    /// Assign tasks, save progress and decide.
    WorkTasks,
    /// Grant and remove roles.
    ManageStaff,
    /// Read the audit log.
    ReadAudit,
    /// Undo a connection between a teacher's One Login and a record.
    Disconnect,
    /// Register, change, disable and enable the services that use Teacher ID, and their API clients.
    ManageServices,
}

/// A member of staff as the console shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub last_signed_in_at: Option<DateTime<Utc>>,
}

impl StaffMember {
    pub fn may(&self, what: Permission) -> bool {
        self.role.is_some_and(|r| r.allows(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_can_do_what_the_one_below_can_and_more() {
        use Permission::*;
        let allowed = |r: Role| {
            [ViewTasks, WorkTasks, ManageStaff, ReadAudit, ManageServices]
                .into_iter()
                .filter(|p| r.allows(*p))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Viewer), vec![ViewTasks]);
        assert_eq!(allowed(Role::SupportOfficer), vec![ViewTasks, WorkTasks]);
        assert_eq!(
            allowed(Role::Administrator),
            vec![ViewTasks, WorkTasks, ManageStaff, ReadAudit, ManageServices]
        );
        let no_role = StaffMember {
            id: 1,
            email: "a@b".into(),
            name: "A".into(),
            role: None,
            last_signed_in_at: None,
        };
        assert!(!no_role.may(ViewTasks));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
