//! The support console's rules (DESIGN §6): staff roles and what each may do, the task dashboard's query (read from
//! and written to the URL, so links can be shared and the back button works), decisions and their validation, and
//! the emails a decision sends. Plain data and functions, shared by the server and the browser.

use super::names::name_key;
use super::validation::{parse_trn, validate_text, FieldError, Nino};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A member of staff's role, kept in our database (never taken from the identity provider).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Viewer,
    SupportOfficer,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::SupportOfficer, Role::Administrator];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::SupportOfficer => "support_officer",
            Self::Administrator => "administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::SupportOfficer => "Support officer",
            Self::Administrator => "Administrator",
        }
    }

    /// Whether this role may do `what`. Each role can do everything the one below it can.
    pub fn allows(self, what: Permission) -> bool {
        match what {
            Permission::ViewTasks => true,
            Permission::WorkTasks => self >= Role::SupportOfficer,
            Permission::ManageStaff | Permission::ReadAudit | Permission::Disconnect => {
                self == Role::Administrator
            }
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
}

/// The two kinds of support task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    IdentityVerification,
    RecordMatching,
}

impl TaskKind {
    pub const ALL: [TaskKind; 2] = [TaskKind::IdentityVerification, TaskKind::RecordMatching];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdentityVerification => "identity_verification",
            Self::RecordMatching => "record_matching",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::IdentityVerification => "Identity verification",
            Self::RecordMatching => "Record matching",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::InProgress => "In progress",
            Self::Done => "Done",
        }
    }
}

/// The dashboard's status filter. "Active" (open or in progress) is what support staff work from, so it is the
/// default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFilter {
    #[default]
    Active,
    Only(TaskStatus),
    All,
}

impl StatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Only(s) => s.as_str(),
            Self::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "all" => Some(Self::All),
            other => TaskStatus::parse(other).map(Self::Only),
        }
    }

    /// The statuses this filter lets through.
    pub fn statuses(self) -> Vec<TaskStatus> {
        match self {
            Self::Active => vec![TaskStatus::Open, TaskStatus::InProgress],
            Self::Only(s) => vec![s],
            Self::All => TaskStatus::ALL.to_vec(),
        }
    }

    pub const OPTIONS: [(&'static str, &'static str); 5] = [
        ("active", "Open or in progress"),
        ("open", "Open"),
        ("in_progress", "In progress"),
        ("done", "Done"),
        ("all", "All"),
    ];
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Me,
    Unassigned,
}

impl AssigneeFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anyone => "anyone",
            Self::Me => "me",
            Self::Unassigned => "unassigned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Anyone, Self::Me, Self::Unassigned]
            .into_iter()
            .find(|a| a.as_str() == s)
    }

    pub const OPTIONS: [(&'static str, &'static str); 3] = [
        ("anyone", "Anyone"),
        ("me", "Assigned to me"),
        ("unassigned", "Unassigned"),
    ];
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortField {
    #[default]
    Requested,
    Name,
    Kind,
    Status,
}

impl SortField {
    pub const ALL: [SortField; 4] = [
        SortField::Requested,
        SortField::Name,
        SortField::Kind,
        SortField::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Name => "name",
            Self::Kind => "type",
            Self::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "Requested",
            Self::Name => "Name",
            Self::Kind => "Type",
            Self::Status => "Status",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortDirection {
    /// Oldest request first: the queue order.
    #[default]
    Ascending,
    Descending,
}

impl SortDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ascending => "asc",
            Self::Descending => "desc",
        }
    }

    /// The `aria-sort` value of a column sorted this way.
    pub fn aria(self) -> &'static str {
        match self {
            Self::Ascending => "ascending",
            Self::Descending => "descending",
        }
    }
}

/// What the search box was taken to mean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Search {
    None,
    /// A support reference, `TRS-123456`: typed whole, or by its digits alone.
    Reference(String),
    /// Seven digits: a TRN the teacher entered or was connected to, or a reference with these digits (references
    /// grow to seven digits after the millionth).
    Trn(String),
    /// Something with an `@`: the start of an email address, lower case.
    Email(String),
    /// `@` and what follows it, or something shaped like a domain (`education.gov.uk`): the start of the domain
    /// of an email address, lower case.
    EmailDomain(String),
    /// Anything else: the start of a name or of a last name, as a name key.
    Name(String),
}

/// The longest search we accept, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;
/// Rows on one page of the dashboard.
pub const PAGE_SIZE: u32 = 25;
/// The deepest page the dashboard serves (the first 10,000 tasks of any list): nobody reads further, and offsets
/// beyond it cost more than the dashboard's time budget. The results say to narrow the filters instead.
pub const MAX_PAGE: u32 = 400;

/// The dashboard's query: every filter, the search, the sort and the page. It round-trips through the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskQuery {
    pub kind: Option<TaskKind>,
    pub status: StatusFilter,
    pub assignee: AssigneeFilter,
    /// Requested on or after.
    pub from: Option<NaiveDate>,
    /// Requested on or before.
    pub to: Option<NaiveDate>,
    /// As typed, trimmed.
    pub search: String,
    pub sort: SortField,
    pub direction: SortDirection,
    /// From 1.
    pub page: u32,
}

/// The query parameters of the dashboard's URL.
pub mod params {
    pub const KIND: &str = "type";
    pub const STATUS: &str = "status";
    pub const ASSIGNEE: &str = "assignee";
    pub const FROM: &str = "from";
    pub const TO: &str = "to";
    pub const SEARCH: &str = "search";
    pub const SORT: &str = "sort";
    pub const DIRECTION: &str = "direction";
    pub const PAGE: &str = "page";
}

impl TaskQuery {
    /// Reads the query from URL parameters. Values that are not ours (an edited or old link) fall back to the
    /// default quietly; what a person typed (dates, search) and got wrong comes back as errors, with the rest of
    /// the query still applied.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<FieldError>) {
        let mut errors = Vec::new();
        let text = |name: &str| get(name).map(|v| v.trim().to_string()).unwrap_or_default();
        let mut date = |name: &str, label: &str| {
            let raw = text(name);
            if raw.is_empty() {
                return None;
            }
            match parse_filter_date(&raw) {
                Some(d) => Some(d),
                None => {
                    errors.push(FieldError::new(
                        name,
                        format!("{label} must be a real date, like 27/3/2026"),
                    ));
                    None
                }
            }
        };
        let from = date(params::FROM, "Requested from");
        let to = date(params::TO, "Requested to");
        let mut search = text(params::SEARCH);
        if search.chars().count() > MAX_SEARCH_CHARS {
            errors.push(FieldError::new(
                params::SEARCH,
                format!("Search must be {MAX_SEARCH_CHARS} characters or fewer"),
            ));
            search.clear();
        } else if search.chars().any(char::is_control) {
            errors.push(FieldError::new(
                params::SEARCH,
                "Search must not contain special characters",
            ));
            search.clear();
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.push(FieldError::new(
                    params::TO,
                    "Requested to must be the same as or after requested from",
                ));
            }
        }
        let sort = text(params::SORT);
        let query = Self {
            kind: TaskKind::parse(&text(params::KIND)),
            status: StatusFilter::parse(&text(params::STATUS)).unwrap_or_default(),
            assignee: AssigneeFilter::parse(&text(params::ASSIGNEE)).unwrap_or_default(),
            from,
            to,
            search,
            sort: SortField::parse(&sort).unwrap_or_default(),
            direction: if text(params::DIRECTION) == "desc" {
                SortDirection::Descending
            } else {
                SortDirection::Ascending
            },
            page: text(params::PAGE)
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1)
                .unwrap_or(1)
                .min(MAX_PAGE),
        };
        (query, errors)
    }

    /// The URL parameters for this query, leaving out defaults so links stay short.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(kind) = self.kind {
            out.push((params::KIND, kind.as_str().to_string()));
        }
        if self.status != StatusFilter::default() {
            out.push((params::STATUS, self.status.as_str().to_string()));
        }
        if self.assignee != AssigneeFilter::default() {
            out.push((params::ASSIGNEE, self.assignee.as_str().to_string()));
        }
        if let Some(from) = self.from {
            out.push((params::FROM, from.format("%-d/%-m/%Y").to_string()));
        }
        if let Some(to) = self.to {
            out.push((params::TO, to.format("%-d/%-m/%Y").to_string()));
        }
        if !self.search.is_empty() {
            out.push((params::SEARCH, self.search.clone()));
        }
        if self.sort != SortField::default() {
            out.push((params::SORT, self.sort.as_str().to_string()));
        }
        if self.direction != SortDirection::default() {
            out.push((params::DIRECTION, self.direction.as_str().to_string()));
        }
        if self.page > 1 {
            out.push((params::PAGE, self.page.to_string()));
        }
        out
    }

    /// The dashboard URL for this query.
    pub fn href(&self) -> String {
        let params = self.to_params();
        if params.is_empty() {
            return DASHBOARD_PATH.to_string();
        }
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect();
        format!("{DASHBOARD_PATH}?{}", query.join("&"))
    }

    /// The same query on page `page`.
    pub fn with_page(&self, page: u32) -> Self {
        Self {
            page: page.clamp(1, MAX_PAGE),
            ..self.clone()
        }
    }

    /// The query sorted by `field`: a column already sorted turns around; a new one starts in its natural order
    /// (newest first for dates would hide the queue, so every column starts ascending). Back to page 1.
    pub fn sorted_by(&self, field: SortField) -> Self {
        let direction = if self.sort == field && self.direction == SortDirection::Ascending {
            SortDirection::Descending
        } else {
            SortDirection::Ascending
        };
        Self {
            sort: field,
            direction,
            page: 1,
            ..self.clone()
        }
    }

    /// What the search box means.
    pub fn search(&self) -> Search {
        classify_search(&self.search)
    }
}

pub const DASHBOARD_PATH: &str = "/support";

/// Dates in filters: `27/3/2026`, `27 3 2026`, `27-3-2026` or `2026-03-27`.
pub fn parse_filter_date(raw: &str) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Some(d);
    }
    let parts: Vec<&str> = raw
        .split(['/', ' ', '-', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    let (d, m, y) = (d.parse().ok()?, m.parse().ok()?, y.parse::<i32>().ok()?);
    if !(1900..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

pub fn classify_search(raw: &str) -> Search {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Search::None;
    }
    // A reference with or without `TRS` and its hyphen: `TRS-123456`, `trs 123456`, `123456`. Seven bare digits
    // are a TRN first (which finds a seven-digit reference too).
    let compact = trimmed.to_ascii_uppercase().replace([' ', '-'], "");
    let digits = compact.strip_prefix("TRS").unwrap_or(&compact);
    let had_prefix = digits.len() != compact.len();
    if digits.len() >= 6
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (had_prefix || digits.len() != 7)
    {
        return Search::Reference(format!("TRS-{digits}"));
    }
    if let Ok(trn) = parse_trn(trimmed) {
        return Search::Trn(trn.as_str().to_string());
    }
    if let Some(domain) = trimmed.strip_prefix('@').filter(|d| !d.contains('@')) {
        return Search::EmailDomain(domain.to_lowercase());
    }
    if trimmed.contains('@') {
        return Search::Email(trimmed.to_lowercase());
    }
    if looks_like_domain(trimmed) {
        return Search::EmailDomain(trimmed.to_ascii_lowercase());
    }
    let key = name_key(trimmed);
    if key.is_empty() {
        // Only punctuation: nothing can match, and nothing should error. Name keys are letters and digits, so
        // a key of punctuation matches none (and, unlike a NUL, PostgreSQL takes it as text).
        return Search::Name(String::from("!"));
    }
    Search::Name(key)
}

impl TaskQuery {
    /// The same query on its last page, when it asks for a page past the last of `pages` (an old link, or tasks
    /// decided since): the list shows its last page rather than an empty one.
    pub fn within(&self, pages: u32) -> Option<Self> {
        let last = pages.max(1);
        (self.page > last).then(|| self.with_page(last))
    }
}

/// The dashboard URL a filter form's fields make: the fields as sent (so a date that is not one comes back with its
/// message), without the empty ones and those at their default. Links stay short, with no `type=&from=&to=`.
pub fn filter_href(fields: &[(String, String)]) -> String {
    let kept: Vec<String> = fields
        .iter()
        .filter(|(k, v)| !left_out(k, v))
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v.trim())))
        .collect();
    if kept.is_empty() {
        DASHBOARD_PATH.to_string()
    } else {
        format!("{DASHBOARD_PATH}?{}", kept.join("&"))
    }
}

/// Whether [`filter_href`] would leave something out of `fields`: the URL is not the one to show.
pub fn has_left_out_fields(fields: &[(String, String)]) -> bool {
    fields.iter().any(|(k, v)| left_out(k, v))
}

fn left_out(name: &str, value: &str) -> bool {
    let value = value.trim();
    let default = match name {
        params::STATUS => StatusFilter::default().as_str(),
        params::ASSIGNEE => AssigneeFilter::default().as_str(),
        params::SORT => SortField::default().as_str(),
        params::DIRECTION => SortDirection::default().as_str(),
        params::PAGE => "1",
        _ => "",
    };
    value.is_empty() || value == default
}

/// Whether a search is shaped like an email domain (`education.gov.uk`): letters, digits, hyphens and inner dots,
/// ending in a label of two or more letters. Names are searched with spaces, not dots.
fn looks_like_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// The smallest string greater than every string starting with `prefix`: `[prefix, upper)` is a prefix search
/// an index can answer. Keys are letters and digits, so adding the last code point is enough.
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Percent-encodes a URL query value as a form does (`+` for a space), with the crate the server decodes with.
pub fn encode_component(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// One row of the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub name: String,
    pub email: String,
    pub requested_at: DateTime<Utc>,
    pub assignee: Option<String>,
    /// Why matching could not connect, if it said.
    pub flag: Option<String>,
}

/// How many tasks of each status the current filters (other than status) match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub open: u64,
    pub in_progress: u64,
    pub done: u64,
}

impl StatusCounts {
    pub fn of(&self, filter: StatusFilter) -> u64 {
        match filter {
            StatusFilter::Active => self.open + self.in_progress,
            StatusFilter::Only(TaskStatus::Open) => self.open,
            StatusFilter::Only(TaskStatus::InProgress) => self.in_progress,
            StatusFilter::Only(TaskStatus::Done) => self.done,
            StatusFilter::All => self.open + self.in_progress + self.done,
        }
    }
}

/// A page of the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPage {
    pub tasks: Vec<TaskSummary>,
    pub counts: StatusCounts,
    /// Tasks matching every filter.
    pub total: u64,
}

impl TaskPage {
    pub fn pages(&self) -> u32 {
        (self.total.div_ceil(PAGE_SIZE as u64) as u32).clamp(1, MAX_PAGE)
    }
}

/// Counts past this are not worth their cost: a list is only served as far as its first `COUNT_CAP` tasks.
pub const COUNT_CAP: u64 = PAGE_SIZE as u64 * MAX_PAGE as u64;

/// A count for people: exact up to [`COUNT_CAP`], then "more than 10,000".
pub fn count_text(n: u64) -> String {
    if n > COUNT_CAP {
        format!("more than {}", thousands(COUNT_CAP))
    } else {
        thousands(n)
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

/// Why an identity-verification request is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    ProofDoesNotMatch,
    ProofUnclear,
    WrongDocumentType,
    Other,
}

impl RejectReason {
    pub const ALL: [RejectReason; 4] = [
        RejectReason::ProofDoesNotMatch,
        RejectReason::ProofUnclear,
        RejectReason::WrongDocumentType,
        RejectReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProofDoesNotMatch => "proof_does_not_match",
            Self::ProofUnclear => "proof_unclear",
            Self::WrongDocumentType => "wrong_document_type",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ProofDoesNotMatch => "The proof of identity does not match the details given",
            Self::ProofUnclear => "The proof of identity is unclear",
            Self::WrongDocumentType => "The wrong type of document was sent",
            Self::Other => "Another reason",
        }
    }
}

/// Why a teacher is not connected to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotConnectedReason {
    NoMatchingRecord,
    Other,
}

impl NotConnectedReason {
    pub const ALL: [NotConnectedReason; 2] = [
        NotConnectedReason::NoMatchingRecord,
        NotConnectedReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoMatchingRecord => "no_matching_record",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NoMatchingRecord => "There is no matching teaching record",
            Self::Other => "Another reason",
        }
    }
}

/// A support officer's decision on a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Connect to the record with this TRN (for an identity task: verify the identity, then connect).
    Connect { trn: String },
    /// Do not connect (for an identity task: the identity is verified, but there is no record to connect).
    DoNotConnect {
        reason: NotConnectedReason,
        detail: Option<String>,
    },
    /// Identity tasks only: the proof is not good enough.
    Reject {
        reason: RejectReason,
        detail: Option<String>,
    },
}

impl Decision {
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "connect",
            Self::DoNotConnect { .. } => "do_not_connect",
            Self::Reject { .. } => "reject",
        }
    }

    /// Whether this decision on a task of `kind` verifies the teacher's identity: support checked their proof
    /// and accepted it, whether or not they also connected a record.
    pub fn verifies_identity(&self, kind: TaskKind) -> bool {
        kind == TaskKind::IdentityVerification && !matches!(self, Self::Reject { .. })
    }

    /// In words, for the check page, the task page and the audit log.
    pub fn summary(&self, kind: TaskKind) -> String {
        match (self, kind) {
            (Self::Connect { trn }, TaskKind::IdentityVerification) => {
                format!("Identity verified and connected to the record with TRN {trn}")
            }
            (Self::Connect { trn }, TaskKind::RecordMatching) => {
                format!("Connected to the record with TRN {trn}")
            }
            (Self::DoNotConnect { reason, .. }, TaskKind::IdentityVerification) => {
                format!("Identity verified, not connected: {}", reason.label())
            }
            (Self::DoNotConnect { reason, .. }, TaskKind::RecordMatching) => {
                format!("Not connected: {}", reason.label())
            }
            (Self::Reject { reason, .. }, _) => format!("Rejected: {}", reason.label()),
        }
    }

    /// The reason in words for the teacher: the chosen reason, or what the officer wrote for "another reason".
    pub fn reason_for_teacher(&self) -> Option<String> {
        let (label, detail) = match self {
            Self::Connect { .. } => return None,
            Self::DoNotConnect { reason, detail } => (reason.label(), detail),
            Self::Reject { reason, detail } => (reason.label(), detail),
        };
        Some(detail.clone().unwrap_or_else(|| label.to_string()))
    }

    pub fn email(&self, kind: TaskKind) -> EmailTemplate {
        match (self, kind) {
            (Self::Connect { .. }, TaskKind::RecordMatching) => EmailTemplate::Connected,
            (Self::Connect { .. }, TaskKind::IdentityVerification) => {
                EmailTemplate::IdentityVerifiedAndConnected
            }
            (Self::DoNotConnect { .. }, _) => EmailTemplate::NotConnected,
            (Self::Reject { .. }, _) => EmailTemplate::Rejected,
        }
    }
}

/// The decision form as sent. Field names are the form's. "Do not connect" and "reject" each reveal their own
/// reasons (`reason`, `reason_detail`; `reject_reason`, `reject_reason_detail`), so every field has its own id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub outcome: String,
    /// A suggested record's TRN, or `other` to use `other_trn`.
    pub trn: String,
    pub other_trn: String,
    pub reason: String,
    pub reason_detail: String,
    #[serde(default)]
    pub reject_reason: String,
    #[serde(default)]
    pub reject_reason_detail: String,
}

impl DecisionInput {
    pub fn from_values(values: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| values.get(k).cloned().unwrap_or_default();
        Self {
            outcome: get("outcome"),
            trn: get("trn"),
            other_trn: get("other_trn"),
            reason: get("reason"),
            reason_detail: get("reason_detail"),
            reject_reason: get("reject_reason"),
            reject_reason_detail: get("reject_reason_detail"),
        }
    }

    pub fn values(&self) -> BTreeMap<String, String> {
        [
            ("outcome", &self.outcome),
            ("trn", &self.trn),
            ("other_trn", &self.other_trn),
            ("reason", &self.reason),
            ("reason_detail", &self.reason_detail),
            ("reject_reason", &self.reject_reason),
            ("reject_reason_detail", &self.reject_reason_detail),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
    }
}

/// The longest "another reason" we accept.
pub const MAX_REASON_CHARS: usize = 1_000;
/// The value of the TRN radio that reveals a field for a TRN not in the suggestions.
pub const OTHER_TRN: &str = "other";

/// Checks a decision for a task of `kind`, with GOV.UK wording. Whether a TRN is a record we hold is for the
/// server to check.
pub fn validate_decision(
    kind: TaskKind,
    input: &DecisionInput,
) -> Result<Decision, Vec<FieldError>> {
    let reason_detail =
        |field: &str, text: &str, required: bool| -> Result<Option<String>, FieldError> {
            let text = validate_text(field, "the reason", text, required, MAX_REASON_CHARS)?;
            Ok(Some(text).filter(|t| !t.is_empty() && required))
        };
    let one = |e: FieldError| vec![e];
    match input.outcome.as_str() {
        "connect" => {
            let raw = if input.trn == OTHER_TRN || input.trn.is_empty() {
                if input.trn.is_empty() {
                    return Err(one(FieldError::new("trn", "Select a record to connect")));
                }
                &input.other_trn
            } else {
                &input.trn
            };
            let field = if input.trn == OTHER_TRN {
                "other_trn"
            } else {
                "trn"
            };
            match parse_trn(raw) {
                Ok(trn) => Ok(Decision::Connect {
                    trn: trn.as_str().to_string(),
                }),
                Err(super::validation::TrnError::Empty) => {
                    Err(one(FieldError::new(field, "Enter a TRN")))
                }
                Err(_) => Err(one(FieldError::new(
                    field,
                    "Enter a TRN in the correct format, like 1234567",
                ))),
            }
        }
        "do_not_connect" => {
            let Some(reason) = NotConnectedReason::parse(&input.reason) else {
                return Err(one(FieldError::new(
                    "reason",
                    "Select why the record is not being connected",
                )));
            };
            let detail = reason_detail(
                "reason_detail",
                &input.reason_detail,
                reason == NotConnectedReason::Other,
            )
            .map_err(one)?;
            Ok(Decision::DoNotConnect { reason, detail })
        }
        "reject" if kind == TaskKind::IdentityVerification => {
            let Some(reason) = RejectReason::parse(&input.reject_reason) else {
                return Err(one(FieldError::new(
                    "reject_reason",
                    "Select why the request is being rejected",
                )));
            };
            let detail = reason_detail(
                "reject_reason_detail",
                &input.reject_reason_detail,
                reason == RejectReason::Other,
            )
            .map_err(one)?;
            Ok(Decision::Reject { reason, detail })
        }
        _ => Err(one(FieldError::new("outcome", "Select a decision"))),
    }
}

/// The emails the service sends (GOV.UK Notify templates; the text lives here too, for the development mailbox
/// and for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EmailTemplate {
    Connected,
    IdentityVerifiedAndConnected,
    Rejected,
    NotConnected,
    /// An administrator undid a connection.
    Disconnected,
}

impl EmailTemplate {
    pub const ALL: [EmailTemplate; 5] = [
        EmailTemplate::Connected,
        EmailTemplate::IdentityVerifiedAndConnected,
        EmailTemplate::Rejected,
        EmailTemplate::NotConnected,
        EmailTemplate::Disconnected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::IdentityVerifiedAndConnected => "identity_verified_connected",
            Self::Rejected => "rejected",
            Self::NotConnected => "not_connected",
            Self::Disconnected => "disconnected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The subject and body, with Notify's `((placeholder))` fields.
    pub fn text(self) -> (&'static str, &'static str) {
        match self {
            Self::Connected => (
                "You can now access your teaching record",
                "Dear ((name))\n\nWe have connected your GOV.UK One Login to your teaching record.\n\nYou can now sign in to see your record: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::IdentityVerifiedAndConnected => (
                "We have checked your identity and you can now access your teaching record",
                "Dear ((name))\n\nWe have checked your proof of identity and connected your GOV.UK One Login to your teaching record.\n\nYou can now sign in to see your record: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::Rejected => (
                "We could not check your identity",
                "Dear ((name))\n\nWe could not check your identity from the proof you sent.\n\nThe reason: ((reason))\n\nYou can sign in and send another proof of identity: ((sign_in_url))\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::NotConnected => (
                "We could not connect your teaching record",
                "Dear ((name))\n\nWe could not connect your GOV.UK One Login to a teaching record.\n\nThe reason: ((reason))\n\nYou can sign in and try again with your National Insurance number or teacher reference number (TRN): ((sign_in_url))\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
            Self::Disconnected => (
                "We have disconnected your teaching record",
                "Dear ((name))\n\nWe have disconnected your GOV.UK One Login from the teaching record it was connected to.\n\nThe reason: ((reason))\n\nYou can sign in and answer our questions again to connect your teaching record: ((sign_in_url))\n\nIf you think this is wrong, reply to this email with your reference.\n\nYour reference is ((reference)).\n\nTeaching Regulation Agency",
            ),
        }
    }
}

/// Fills Notify-style `((field))` placeholders. A field missing from `values` is left as it is, so a gap is seen.
pub fn render_template(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("((") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("))") {
            Some(end) => {
                let key = &after[..end];
                match values.get(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push_str("((");
                        out.push_str(key);
                        out.push_str("))");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One field of a suggested record beside what the teacher or One Login said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComparison {
    pub label: String,
    pub value: String,
    pub outcome: Comparison,
}

/// How a record's field compares with what the task says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Matches,
    DoesNotMatch,
    /// One side has no value (no NINO on the record, no TRN given, …): nothing to compare, so nothing is said.
    NotCompared,
}

impl Comparison {
    /// Compares two values only when both are there.
    fn of<T: PartialEq>(ours: Option<T>, theirs: Option<T>) -> Self {
        match (ours, theirs) {
            (Some(a), Some(b)) => Self::when(a == b),
            _ => Self::NotCompared,
        }
    }

    fn when(equal: bool) -> Self {
        if equal {
            Self::Matches
        } else {
            Self::DoesNotMatch
        }
    }
}

/// A record support staff might connect the teacher to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedRecord {
    pub trn: String,
    pub name: String,
    pub fields: Vec<FieldComparison>,
    /// Already connected to another One Login.
    pub connected_elsewhere: bool,
    pub deactivated: bool,
    /// Found by an identifier alone (TRN, National Insurance number or email), not by a name with a verified date
    /// of birth: says which, for the page to mark it.
    #[serde(default)]
    pub found_by: Option<String>,
}

/// What the teacher asked with: the facts support staff compare records against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub names: Vec<String>,
    pub dates_of_birth: Vec<NaiveDate>,
    pub email: String,
    pub nino: Option<String>,
    pub trn: Option<String>,
}

/// Compares a record with the task's facts, field by field (names and emails case- and accent-insensitively).
pub fn compare_record(
    facts: &TaskFacts,
    record: &super::records::TeachingRecord,
) -> Vec<FieldComparison> {
    let full_name = record.full_name();
    let record_names: Vec<String> = std::iter::once(name_key(&format!(
        "{} {}",
        record.first_name, record.last_name
    )))
    .chain(std::iter::once(name_key(&full_name)))
    .chain(
        record
            .previous_names
            .iter()
            .map(|p| name_key(&format!("{} {}", p.first_name, p.last_name))),
    )
    .collect();
    let name_matches = facts.names.iter().any(|n| {
        let key = name_key(n);
        record_names.contains(&key)
    });
    // "Does not match" only where both sides have a value: a NINO the teacher never gave is not a mismatch.
    let mut fields = vec![
        FieldComparison {
            label: "Name".into(),
            value: full_name,
            outcome: if facts.names.is_empty() {
                Comparison::NotCompared
            } else {
                Comparison::when(name_matches)
            },
        },
        FieldComparison {
            label: "Date of birth".into(),
            value: super::uk_time::long_date(record.date_of_birth),
            outcome: if facts.dates_of_birth.is_empty() {
                Comparison::NotCompared
            } else {
                Comparison::when(facts.dates_of_birth.contains(&record.date_of_birth))
            },
        },
    ];
    fields.push(FieldComparison {
        label: "National Insurance number".into(),
        value: record
            .nino
            .clone()
            .unwrap_or_else(|| "Not on record".into()),
        outcome: Comparison::of(
            record.nino.as_deref().and_then(Nino::key),
            facts.nino.as_deref().and_then(Nino::key),
        ),
    });
    fields.push(FieldComparison {
        label: "TRN".into(),
        value: record.trn.clone(),
        outcome: Comparison::of(Some(record.trn.as_str()), facts.trn.as_deref()),
    });
    fields.push(FieldComparison {
        label: "Email".into(),
        value: record
            .email
            .clone()
            .unwrap_or_else(|| "Not on record".into()),
        outcome: Comparison::of(
            record.email.as_deref().map(str::to_lowercase),
            Some(facts.email.as_str())
                .filter(|e| !e.is_empty())
                .map(str::to_lowercase),
        ),
    });
    fields
}

/// A row of a summary list: a label and what we hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

impl Row {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// The proof of identity a teacher sent, as the task page links to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofView {
    pub file_name: String,
    pub content_type: String,
    pub size: String,
    pub href: String,
}

/// A decision already made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedView {
    pub summary: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Everything the task page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub reference: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub requested_at: DateTime<Utc>,
    pub version: i64,
    pub assignee: Option<(i64, String)>,
    /// Every flag matching raised on the way (e.g. "possible duplicate or namesake"), weakest first.
    pub flags: Vec<String>,
    /// What One Login gave us.
    pub one_login: Vec<Row>,
    /// What the teacher entered.
    pub additional: Vec<Row>,
    pub proof: Option<ProofView>,
    pub suggestions: Vec<SuggestedRecord>,
    pub decided: Option<DecidedView>,
    /// A saved decision, to carry on with.
    pub draft: Option<DecisionInput>,
    /// Who the task can be assigned to: support officers and administrators.
    pub assignable: Vec<(i64, String)>,
    /// The change history of the record the task connected, newest first.
    #[serde(default)]
    pub history: Vec<HistoryLine>,
    /// The record the teacher's One Login is connected to now, if any: administrators can undo the connection.
    #[serde(default)]
    pub connection: Option<ConnectionView>,
}

/// A teacher's current connection, as the task page shows it to administrators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub trn: String,
    pub record_name: String,
    pub one_login_email: String,
}

/// Where the disconnect form posts for the task `reference`; its check step posts to `…/disconnect/confirm`.
pub fn disconnect_href(reference: &str) -> String {
    format!("{}/disconnect", task_href(reference))
}

/// The flash form of the disconnect form and its check step on the task page.
pub fn disconnect_form(reference: &str) -> String {
    format!("disconnect-{reference}")
}

/// Checks why an administrator is undoing a connection: required, as the teacher is told it.
pub fn validate_disconnect_reason(raw: &str) -> Result<String, FieldError> {
    validate_text(
        "disconnect_reason",
        "the reason",
        raw,
        true,
        MAX_REASON_CHARS,
    )
}

/// One event in a record's change history, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// The change-history event kinds this service writes; other kinds (from the records' source) are only shown.
pub const ONE_LOGIN_CONNECTED: &str = "one_login_connected";
pub const ONE_LOGIN_DISCONNECTED: &str = "one_login_disconnected";

/// How a One Login account came to be connected to a record (or, for a disconnection, who undid it: support).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectedHow {
    Automatic,
    Nino,
    Trn,
    Itt,
    Support,
}

impl From<super::matching::MatchedVia> for ConnectedHow {
    fn from(via: super::matching::MatchedVia) -> Self {
        use super::matching::MatchedVia;
        match via {
            MatchedVia::Automatic => Self::Automatic,
            MatchedVia::Nino => Self::Nino,
            MatchedVia::Trn => Self::Trn,
            MatchedVia::Itt => Self::Itt,
        }
    }
}

/// The details of a connection or disconnection event in a record's change history, as stored in
/// `record_events.details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEvent {
    pub how: ConnectedHow,
    pub user_id: i64,
    /// The account's One Login email then; blank when One Login had not verified one.
    #[serde(default)]
    pub one_login_email: String,
    /// Set when support staff made or undid the connection.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportAction>,
    /// Why a connection was undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who in support acted, on which task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportAction {
    pub task_reference: String,
    pub decided_by: String,
    pub decided_by_email: String,
}

/// A change-history event in words: what happened, how, by whom, and which One Login account and email.
/// `details` are there for the two kinds this service writes.
pub fn describe_event(kind: &str, actor: &str, details: Option<&ConnectionEvent>) -> String {
    let account = |d: &ConnectionEvent| {
        Some(d.one_login_email.clone())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "account".into())
    };
    fn by_task(d: &ConnectionEvent) -> (&str, &str) {
        d.support.as_ref().map_or(("", ""), |s| {
            (s.decided_by.as_str(), s.task_reference.as_str())
        })
    }
    match (kind, details) {
        (ONE_LOGIN_CONNECTED, Some(d)) => {
            let how = match d.how {
                ConnectedHow::Automatic => "automatically".to_string(),
                ConnectedHow::Nino => "by National Insurance number".to_string(),
                ConnectedHow::Trn => "by TRN".to_string(),
                ConnectedHow::Itt => "by teacher training details".to_string(),
                ConnectedHow::Support => {
                    let (by, task) = by_task(d);
                    format!("by {by} (support task {task})")
                }
            };
            format!("GOV.UK One Login {} connected {how}", account(d))
        }
        (ONE_LOGIN_DISCONNECTED, Some(d)) => {
            let (by, task) = by_task(d);
            format!(
                "GOV.UK One Login {} disconnected by {by} (support task {task}): {}",
                account(d),
                d.reason.as_deref().unwrap_or("")
            )
        }
        (other, _) => format!("{} by {actor}", other.replace('_', " ")),
    }
}

/// One line of the audit log page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub staff: String,
    pub action: String,
    pub task_reference: Option<String>,
}

/// An email in the development mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub task_reference: Option<String>,
    pub queued_at: DateTime<Utc>,
}

/// A change to a task that open dashboards are told about as it happens. Each is recorded in the audit log under
/// its own action, which is where the live feed reads it from (any instance may have made it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChange {
    Assigned,
    DraftSaved,
    Decided,
}

impl TaskChange {
    pub const ALL: [TaskChange; 3] = [
        TaskChange::Assigned,
        TaskChange::DraftSaved,
        TaskChange::Decided,
    ];

    /// The audit log's action for this change.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::DraftSaved => "saved_draft",
            Self::Decided => "decided",
        }
    }

    pub fn from_audit_action(action: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.audit_action() == action)
    }

    /// What a screen reader hears when the dashboard updates itself.
    pub fn announcement(self, reference: &str) -> String {
        let what = match self {
            Self::Assigned => "has been assigned",
            Self::DraftSaved => "has been updated",
            Self::Decided => "has been decided",
        };
        format!("Task {reference} {what}. The list has been updated.")
    }
}

/// The live feed's message about a changed task (the `change` server-sent event's data, as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChanged {
    pub reference: String,
    pub change: TaskChange,
}

/// Paths of the console.
pub fn task_href(reference: &str) -> String {
    format!("/support/tasks/{}", encode_component(reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> (TaskQuery, Vec<FieldError>) {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned())
    }

    #[test]
    fn each_role_can_do_what_the_one_below_can_and_more() {
        use Permission::*;
        let allowed = |r: Role| {
            [ViewTasks, WorkTasks, ManageStaff, ReadAudit]
                .into_iter()
                .filter(|p| r.allows(*p))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Viewer), vec![ViewTasks]);
        assert_eq!(allowed(Role::SupportOfficer), vec![ViewTasks, WorkTasks]);
        assert_eq!(
            allowed(Role::Administrator),
            vec![ViewTasks, WorkTasks, ManageStaff, ReadAudit]
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

    #[test]
    fn a_query_round_trips_through_its_url() {
        let (q, errors) = query(&[
            ("type", "record_matching"),
            ("status", "done"),
            ("assignee", "me"),
            ("from", "1/3/2026"),
            ("to", "2026-03-31"),
            ("search", "O'Brien & co"),
            ("sort", "name"),
            ("direction", "desc"),
            ("page", "3"),
        ]);
        assert!(errors.is_empty());
        assert_eq!(q.kind, Some(TaskKind::RecordMatching));
        assert_eq!(q.status, StatusFilter::Only(TaskStatus::Done));
        assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 3, 1));
        assert_eq!(q.page, 3);
        let href = q.href();
        assert!(href.starts_with("/support?type=record_matching&status=done&assignee=me"));
        assert!(href.contains("search=O%27Brien+%26+co"), "{href}");
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(href.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        let map: BTreeMap<String, String> = pairs.into_iter().collect();
        let (again, _) = TaskQuery::from_params(|k| map.get(k).cloned());
        assert_eq!(again, q);
    }

    #[test]
    fn the_default_query_is_the_bare_dashboard() {
        let (q, errors) = query(&[]);
        assert!(errors.is_empty());
        assert_eq!(
            q,
            TaskQuery {
                page: 1,
                ..TaskQuery::default()
            }
        );
        assert_eq!(q.href(), "/support");
    }

    #[test]
    fn tampered_values_fall_back_quietly() {
        let (q, errors) = query(&[
            ("type", "<script>"),
            ("status", "deleted"),
            ("assignee", "1 OR 1=1"),
            ("sort", "password"),
            ("direction", "sideways"),
            ("page", "-4"),
        ]);
        assert!(errors.is_empty());
        assert_eq!(q.kind, None);
        assert_eq!(q.status, StatusFilter::Active);
        assert_eq!(q.sort, SortField::Requested);
        assert_eq!(q.page, 1);
        let (q, _) = query(&[("page", "99999999999")]);
        assert_eq!(q.page, 1, "a number too big to read is page 1");
        let (q, _) = query(&[("page", "401")]);
        assert_eq!(q.page, MAX_PAGE);
    }

    #[test]
    fn what_people_type_wrong_gets_a_message() {
        let (q, errors) = query(&[("from", "31/2/2026"), ("to", "yesterday")]);
        assert_eq!(q.from, None);
        assert_eq!(
            errors,
            vec![
                FieldError::new("from", "Requested from must be a real date, like 27/3/2026"),
                FieldError::new("to", "Requested to must be a real date, like 27/3/2026"),
            ]
        );
        let (_, errors) = query(&[("from", "2/3/2026"), ("to", "1/3/2026")]);
        assert_eq!(errors[0].field_id, "to");
        let long = "a".repeat(MAX_SEARCH_CHARS + 1);
        let (q, errors) = query(&[("search", &long)]);
        assert_eq!(q.search, "");
        assert_eq!(errors[0].message, "Search must be 100 characters or fewer");
        let (_, errors) = query(&[("search", "a\u{7}b")]);
        assert_eq!(
            errors[0].message,
            "Search must not contain special characters"
        );
    }

    #[test]
    fn sorting_a_column_twice_turns_it_around_and_goes_to_page_one() {
        let q = TaskQuery {
            page: 4,
            ..TaskQuery::default()
        };
        let by_name = q.sorted_by(SortField::Name);
        assert_eq!(
            (by_name.sort, by_name.direction, by_name.page),
            (SortField::Name, SortDirection::Ascending, 1)
        );
        let again = by_name.sorted_by(SortField::Name);
        assert_eq!(again.direction, SortDirection::Descending);
        assert_eq!(
            again.sorted_by(SortField::Name).direction,
            SortDirection::Ascending
        );
        assert_eq!(
            again.sorted_by(SortField::Status).direction,
            SortDirection::Ascending
        );
    }

    #[test]
    fn the_search_box_understands_references_trns_emails_and_names() {
        assert_eq!(
            classify_search(" trs-012345 "),
            Search::Reference("TRS-012345".into())
        );
        assert_eq!(classify_search("1234567"), Search::Trn("1234567".into()));
        assert_eq!(
            classify_search("Jo@Example.com"),
            Search::Email("jo@example.com".into())
        );
        assert_eq!(classify_search("O’Brien"), Search::Name("obrien".into()));
        assert_eq!(classify_search("TRS-12"), Search::Name("trs12".into()));
        assert_eq!(classify_search("%_'"), Search::Name("!".into()));
        assert_eq!(classify_search(""), Search::None);
        assert!(prefix_upper_bound("ob").as_str() > "obrien");
        assert!(prefix_upper_bound("ob").as_str() > "ob");
        assert!(prefix_upper_bound("ob").as_str() < "oc");
    }

    #[test]
    fn decisions_are_checked_with_govuk_messages() {
        let input = |pairs: &[(&str, &str)]| {
            DecisionInput::from_values(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        use TaskKind::*;
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[("outcome", "connect"), ("trn", "1234567")])
            ),
            Ok(Decision::Connect {
                trn: "1234567".into()
            })
        );
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "connect"),
                    ("trn", "other"),
                    ("other_trn", " 765 4321 ")
                ])
            ),
            Ok(Decision::Connect {
                trn: "7654321".into()
            })
        );
        let err = |r: Result<Decision, Vec<FieldError>>| r.unwrap_err().remove(0);
        assert_eq!(
            err(validate_decision(RecordMatching, &input(&[]))).message,
            "Select a decision"
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[("outcome", "connect")])
            ))
            .message,
            "Select a record to connect"
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "connect"),
                    ("trn", "other"),
                    ("other_trn", "12<b>")
                ])
            )),
            FieldError::new(
                "other_trn",
                "Enter a TRN in the correct format, like 1234567"
            )
        );
        assert_eq!(
            err(validate_decision(
                RecordMatching,
                &input(&[("outcome", "reject"), ("reject_reason", "proof_unclear")])
            ))
            .message,
            "Select a decision",
            "record-matching tasks cannot be rejected"
        );
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[("outcome", "reject")])
            ))
            .message,
            "Select why the request is being rejected"
        );
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[("outcome", "reject"), ("reject_reason", "other")])
            ))
            .message,
            "Enter the reason"
        );
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            err(validate_decision(
                IdentityVerification,
                &input(&[
                    ("outcome", "reject"),
                    ("reject_reason", "other"),
                    ("reject_reason_detail", &long)
                ])
            ))
            .message,
            "The reason must be 1000 characters or fewer"
        );
        assert_eq!(
            validate_decision(
                IdentityVerification,
                &input(&[
                    ("outcome", "reject"),
                    ("reject_reason", "other"),
                    ("reject_reason_detail", "<b>blurred</b>")
                ])
            ),
            Ok(Decision::Reject {
                reason: RejectReason::Other,
                detail: Some("<b>blurred</b>".into())
            })
        );
        // Text sent with a reason that needs none is dropped, so the teacher is told the chosen reason.
        assert_eq!(
            validate_decision(
                RecordMatching,
                &input(&[
                    ("outcome", "do_not_connect"),
                    ("reason", "no_matching_record"),
                    ("reason_detail", "ignored")
                ])
            ),
            Ok(Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None
            })
        );
    }

    #[test]
    fn each_decision_sends_its_own_email() {
        let connect = Decision::Connect {
            trn: "1234567".into(),
        };
        assert_eq!(
            connect.email(TaskKind::RecordMatching),
            EmailTemplate::Connected
        );
        assert_eq!(
            connect.email(TaskKind::IdentityVerification),
            EmailTemplate::IdentityVerifiedAndConnected
        );
        let reject = Decision::Reject {
            reason: RejectReason::ProofUnclear,
            detail: None,
        };
        assert_eq!(
            reject.email(TaskKind::IdentityVerification),
            EmailTemplate::Rejected
        );
        assert_eq!(
            reject.reason_for_teacher().unwrap(),
            "The proof of identity is unclear"
        );
        let other = Decision::DoNotConnect {
            reason: NotConnectedReason::Other,
            detail: Some("Two records".into()),
        };
        assert_eq!(
            other.email(TaskKind::RecordMatching),
            EmailTemplate::NotConnected
        );
        assert_eq!(other.reason_for_teacher().unwrap(), "Two records");
        for t in EmailTemplate::ALL {
            assert_eq!(EmailTemplate::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn history_events_say_how_and_by_whom() {
        // Details as the service has stored them.
        let support: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event("one_login_connected", "support:sam@x", Some(&support)),
            "GOV.UK One Login ann@example.com connected by Sam Okafor (support task TRS-123456)"
        );
        let nino: ConnectionEvent = serde_json::from_str(
            r#"{"how":"nino","user_id":7,"one_login_email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(nino.support, None);
        assert_eq!(
            describe_event("one_login_connected", "teacher", Some(&nino)),
            "GOV.UK One Login ann@example.com connected by National Insurance number"
        );
        let undone: ConnectionEvent = serde_json::from_str(
            r#"{"how":"support","task_reference":"TRS-123456","decided_by":"Sam Okafor","decided_by_email":"sam@x","user_id":7,"one_login_email":"","reason":"Wrong person"}"#,
        )
        .unwrap();
        assert_eq!(
            describe_event("one_login_disconnected", "support:sam@x", Some(&undone)),
            "GOV.UK One Login account disconnected by Sam Okafor (support task TRS-123456): Wrong person"
        );
        // Written back, each reads the same.
        for event in [support, nino, undone] {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<ConnectionEvent>(&json).unwrap(),
                event
            );
        }
        assert_eq!(
            describe_event("name_changed", "dqt", None),
            "name changed by dqt"
        );
    }

    #[test]
    fn counts_are_exact_up_to_the_cap() {
        assert_eq!(count_text(0), "0");
        assert_eq!(count_text(1234), "1,234");
        assert_eq!(count_text(COUNT_CAP), "10,000");
        assert_eq!(count_text(COUNT_CAP + 1), "more than 10,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn templates_fill_their_placeholders_and_show_gaps() {
        let values: BTreeMap<String, String> = [("name".to_string(), "Ada".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            render_template("Dear ((name)), ((missing)) ((", &values),
            "Dear Ada, ((missing)) (("
        );
        let (_, body) = EmailTemplate::Rejected.text();
        let rendered = render_template(body, &values);
        assert!(rendered.starts_with("Dear Ada"));
        assert!(rendered.contains("((reason))"));
    }

    #[test]
    fn records_are_compared_field_by_field() {
        use super::super::records::{RecordStatus, TeachingRecord};
        let record = TeachingRecord {
            trn: "1234567".into(),
            first_name: "Siân".into(),
            middle_name: None,
            last_name: "O'Brien".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 2).unwrap(),
            nino: Some("AB123456C".into()),
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let facts = TaskFacts {
            names: vec!["Sian OBrien".into()],
            dates_of_birth: vec![NaiveDate::from_ymd_opt(1990, 2, 1).unwrap()],
            email: "s@example.com".into(),
            nino: Some("AB123456C".into()),
            trn: None,
        };
        let outcomes: Vec<(String, Comparison)> = compare_record(&facts, &record)
            .into_iter()
            .map(|f| (f.label, f.outcome))
            .collect();
        // No TRN given and no email on the record: nothing to compare, so neither "does not match".
        assert_eq!(
            outcomes,
            vec![
                ("Name".into(), Comparison::Matches),
                ("Date of birth".into(), Comparison::DoesNotMatch),
                ("National Insurance number".into(), Comparison::Matches),
                ("TRN".into(), Comparison::NotCompared),
                ("Email".into(), Comparison::NotCompared),
            ]
        );
    }

    #[test]
    fn a_record_nino_written_with_spaces_matches_the_typed_one() {
        use super::super::records::{RecordStatus, TeachingRecord};
        let record = TeachingRecord {
            trn: "1234567".into(),
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            nino: Some("ab 12 34 56 c".into()),
            email: None,
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let nino = |typed: &str| {
            let facts = TaskFacts {
                nino: Some(typed.into()),
                ..TaskFacts::default()
            };
            compare_record(&facts, &record)
                .into_iter()
                .find(|f| f.label == "National Insurance number")
                .unwrap()
                .outcome
        };
        assert_eq!(nino("AB123456C"), Comparison::Matches);
        assert_eq!(nino("AB123456D"), Comparison::DoesNotMatch);
    }

    #[test]
    fn does_not_match_only_when_both_sides_have_a_value() {
        use super::super::records::{RecordStatus, TeachingRecord};
        let record = TeachingRecord {
            trn: "7654321".into(),
            first_name: "Ann".into(),
            middle_name: None,
            last_name: "Lee".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
            nino: None,
            email: Some("Ann.Lee@Example.com".into()),
            status: RecordStatus::Active,
            previous_names: vec![],
            qualifications: vec![],
        };
        let outcome = |facts: &TaskFacts, label: &str| {
            compare_record(facts, &record)
                .into_iter()
                .find(|f| f.label == label)
                .unwrap()
                .outcome
        };
        // The teacher gave nothing but an email.
        let bare = TaskFacts {
            email: "ann.lee@example.com".into(),
            ..TaskFacts::default()
        };
        assert_eq!(outcome(&bare, "Name"), Comparison::NotCompared);
        assert_eq!(outcome(&bare, "Date of birth"), Comparison::NotCompared);
        assert_eq!(
            outcome(&bare, "National Insurance number"),
            Comparison::NotCompared
        );
        assert_eq!(outcome(&bare, "TRN"), Comparison::NotCompared);
        assert_eq!(outcome(&bare, "Email"), Comparison::Matches);
        // Both sides have a value and differ: now it does not match.
        let given = TaskFacts {
            names: vec!["Bo Kim".into()],
            dates_of_birth: vec![NaiveDate::from_ymd_opt(1985, 3, 15).unwrap()],
            email: "bo@example.com".into(),
            nino: Some("AB123456C".into()),
            trn: Some("1111111".into()),
        };
        assert_eq!(outcome(&given, "Name"), Comparison::DoesNotMatch);
        assert_eq!(outcome(&given, "Date of birth"), Comparison::DoesNotMatch);
        // The record has no NINO: still nothing to compare.
        assert_eq!(
            outcome(&given, "National Insurance number"),
            Comparison::NotCompared
        );
        assert_eq!(outcome(&given, "TRN"), Comparison::DoesNotMatch);
        assert_eq!(outcome(&given, "Email"), Comparison::DoesNotMatch);
    }

    #[test]
    fn task_changes_are_read_from_their_audit_actions_and_announced() {
        for change in TaskChange::ALL {
            assert_eq!(
                TaskChange::from_audit_action(change.audit_action()),
                Some(change)
            );
        }
        // Looking at a task changes nothing.
        assert_eq!(TaskChange::from_audit_action("viewed_task"), None);
        assert_eq!(
            TaskChange::Assigned.announcement("TRS-123456"),
            "Task TRS-123456 has been assigned. The list has been updated."
        );
        let changed = TaskChanged {
            reference: "TRS-123456".into(),
            change: TaskChange::DraftSaved,
        };
        let json = serde_json::to_string(&changed).unwrap();
        assert_eq!(json, r#"{"reference":"TRS-123456","change":"draft_saved"}"#);
        assert_eq!(serde_json::from_str::<TaskChanged>(&json).unwrap(), changed);
    }
}

#[cfg(test)]
mod search_and_url_tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> TaskQuery {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned()).0
    }

    #[test]
    fn a_reference_is_found_by_its_digits_and_an_email_by_its_domain() {
        let reference = |s: &str| Search::Reference(s.to_string());
        assert_eq!(classify_search("123456"), reference("TRS-123456"));
        assert_eq!(classify_search(" trs 123456 "), reference("TRS-123456"));
        assert_eq!(classify_search("TRS123456"), reference("TRS-123456"));
        assert_eq!(classify_search("TRS-1234567"), reference("TRS-1234567"));
        assert_eq!(classify_search("12345678"), reference("TRS-12345678"));
        // Seven bare digits are a TRN (the store looks for a seven-digit reference too).
        assert_eq!(classify_search("1234567"), Search::Trn("1234567".into()));
        assert_eq!(classify_search("12345"), Search::Name("12345".into()));
        let domain = |s: &str| Search::EmailDomain(s.to_string());
        assert_eq!(classify_search("@Example.COM"), domain("example.com"));
        assert_eq!(classify_search("@educat"), domain("educat"));
        assert_eq!(
            classify_search("Education.gov.uk"),
            domain("education.gov.uk")
        );
        assert_eq!(
            classify_search("jo@example.com"),
            Search::Email("jo@example.com".into())
        );
        assert_eq!(classify_search("Ann Lee"), Search::Name("annlee".into()));
        assert_eq!(classify_search("O'Brien"), Search::Name("obrien".into()));
        assert_eq!(classify_search("St. John"), Search::Name("stjohn".into()));
        assert_eq!(classify_search("v1.2"), Search::Name("v12".into()));
    }

    #[test]
    fn filter_urls_leave_out_empty_and_default_values() {
        // What a filter form sends with nothing filled in: every field, most of them empty.
        let q = query(&[
            ("type", ""),
            ("status", "active"),
            ("assignee", "anyone"),
            ("from", ""),
            ("to", " "),
            ("search", "  "),
            ("sort", "requested"),
            ("direction", "asc"),
            ("page", ""),
        ]);
        assert_eq!(q.href(), "/support");
        let q = query(&[("type", ""), ("search", "ann"), ("from", ""), ("page", "2")]);
        let href = q.href();
        assert_eq!(href, "/support?search=ann&page=2");
        assert!(!href.contains("=&") && !href.ends_with('='), "{href}");
    }

    #[test]
    fn a_filter_forms_fields_make_a_url_without_empty_or_default_values() {
        let fields = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let sent = fields(&[
            ("search", " O'Brien "),
            ("type", ""),
            ("status", "active"),
            ("assignee", "me"),
            ("from", "31/2/2026"),
            ("to", ""),
            ("sort", "requested"),
            ("direction", "asc"),
        ]);
        assert!(has_left_out_fields(&sent));
        let href = filter_href(&sent);
        assert_eq!(
            href,
            "/support?search=O%27Brien&assignee=me&from=31%2F2%2F2026"
        );
        assert!(!href.contains("=&") && !href.ends_with('='));
        // A date typed wrong stays in the URL, so its message is shown.
        let map: BTreeMap<String, String> = sent.into_iter().collect();
        let (_, errors) = TaskQuery::from_params(|k| map.get(k).cloned());
        assert_eq!(errors[0].field_id, "from");
        let clean = fields(&[("search", "ann"), ("status", "done")]);
        assert!(!has_left_out_fields(&clean));
        assert_eq!(filter_href(&clean), "/support?search=ann&status=done");
        assert_eq!(filter_href(&fields(&[("type", "")])), "/support");
    }

    #[test]
    fn a_page_past_the_last_is_the_last_page() {
        let q = query(&[("search", "ann"), ("page", "9")]);
        assert_eq!(q.within(3).map(|q| q.page), Some(3));
        assert_eq!(q.within(0).map(|q| q.page), Some(1), "no results: page 1");
        assert_eq!(
            q.within(3).unwrap().search,
            "ann",
            "the rest of the query kept"
        );
        assert_eq!(q.within(9), None);
        assert_eq!(q.within(12), None);
    }
}
