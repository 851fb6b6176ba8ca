//! The support console's storage, in one room per job: staff and roles ([`super::staff`]), tasks and decisions
//! ([`super::tasks`]), the audit log ([`super::audit`]), the email outbox ([`super::outbox`]) and the
//! benchmark's generated tasks ([`super::generated`]). This module keeps their items at the paths callers use.

pub use super::audit::{AuditEvent, AuditRecord, AuditStore, TaskChangeRecord};
pub use super::generated::{BenchStore, GeneratedTask};
pub use super::outbox::{NewEmail, NewSms, OutboxEmail, OutboxSms, OutboxStore, SmsDelivery};
pub use super::staff::{RoleChange, StaffSignIn, StaffStore};
pub use super::tasks::{DisconnectRefused, StoredTask, TaskChangeRefused, TaskStore};
