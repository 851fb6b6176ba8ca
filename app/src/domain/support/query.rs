//! The task dashboard's query: every filter, the search, the sort and the page. It is read from and written to the
//! URL, so links can be shared and the back button works.

use super::{TaskKind, TaskStatus};
use crate::domain::names::name_key;
use crate::domain::validation::{parse_trn, FieldError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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

named_enum! {
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub enum AssigneeFilter {
        #[default]
        Anyone = "anyone" => "Anyone",
        Me = "me" => "Assigned to me",
        Unassigned = "unassigned" => "Unassigned",
    }
}

named_enum! {
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SortField {
        #[default]
        Requested = "requested" => "Requested",
        Name = "name" => "Name",
        Kind = "type" => "Type",
        Status = "status" => "Status",
    }
}

named_enum! {
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SortDirection {
        /// Oldest request first: the queue order.
        #[default]
        Ascending = "asc",
        Descending = "desc",
    }
}

impl SortDirection {
    /// The `aria-sort` value of a column sorted this way.
    pub fn aria(self) -> &'static str {
        match self {
            Self::Ascending => "ascending",
            Self::Descending => "descending",
        }
    }
}

/// The dashboard's filter by the service a task came from (DESIGN §7.1): the OpenID Connect client whose request
/// was kept in the teacher's session when the task was raised, or none when they came to Teacher ID directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceFilter {
    #[default]
    Any,
    /// Tasks raised with no other service's request kept.
    Direct,
    /// Tasks raised while this client's request was kept (its client id).
    Service(String),
}

/// A service the dashboard can be filtered by: a registered client's id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOption {
    pub client_id: String,
    pub name: String,
}

impl ServiceFilter {
    /// "Came directly" in the URL. A client id is letters, digits, `-`, `_` and `.` only, so no service's id can
    /// be read as this (`direct` could be one).
    pub const DIRECT: &'static str = "~direct";
    /// The longest client id registration accepts.
    const MAX_CLIENT_ID: usize = 100;

    pub fn as_str(&self) -> &str {
        match self {
            Self::Any => "",
            Self::Direct => Self::DIRECT,
            Self::Service(id) => id,
        }
    }

    /// Reads the URL's value. Anything shaped like no client id (an edited link) is no filter; whether a client
    /// id names a registered service is [`Self::known`]'s question.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if raw == Self::DIRECT {
            return Self::Direct;
        }
        let client_id = !raw.is_empty()
            && raw.len() <= Self::MAX_CLIENT_ID
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if client_id {
            Self::Service(raw.to_string())
        } else {
            Self::Any
        }
    }

    /// The filter, if it names one of `services` (or none); a service not registered (only an edited link names
    /// one) is no filter, so the list shown is the whole list rather than an empty one that looks like an answer.
    pub fn known(self, services: &[ServiceOption]) -> Self {
        match &self {
            Self::Service(id) if !services.iter().any(|s| &s.client_id == id) => Self::Any,
            _ => self,
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
    /// The service the task came from.
    #[serde(default)]
    pub service: ServiceFilter,
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
    /// Where the page starts when it was reached by a "next" or "previous" link (see [`Cursor`]); `None` for a
    /// page asked for by its number, which is found by counting from the first.
    #[serde(default)]
    pub cursor: Option<Cursor>,
}

/// Keyset pagination: the page after (or before) a task, by the reference of the last (or first) task of the page
/// the link was on. The database starts reading the sort's index at that task instead of counting past every
/// task before the page, so page 400 reached by its "next" link costs what page 1 does. The URL stays shareable
/// (`?page=5&after=TRS-123456`), works without JavaScript and the back button returns to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    /// The tasks after this one, in the list's order.
    After(String),
    /// The tasks before this one.
    Before(String),
}

impl Cursor {
    /// The task's reference.
    pub fn reference(&self) -> &str {
        match self {
            Self::After(r) | Self::Before(r) => r,
        }
    }

    /// A reference as a cursor carries it: `TRS-` and digits, anything else (an edited link) is no cursor.
    fn parse_reference(raw: &str) -> Option<String> {
        let digits = raw.strip_prefix("TRS-")?;
        ((6..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw.to_string())
    }
}

/// The query parameters of the dashboard's URL.
pub mod params {
    pub const KIND: &str = "type";
    pub const STATUS: &str = "status";
    pub const ASSIGNEE: &str = "assignee";
    pub const SERVICE: &str = "service";
    pub const FROM: &str = "from";
    pub const TO: &str = "to";
    pub const SEARCH: &str = "search";
    pub const SORT: &str = "sort";
    pub const DIRECTION: &str = "direction";
    pub const PAGE: &str = "page";
    pub const AFTER: &str = "after";
    pub const BEFORE: &str = "before";
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
            service: ServiceFilter::parse(&text(params::SERVICE)),
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
            cursor: match (
                Cursor::parse_reference(&text(params::AFTER)),
                Cursor::parse_reference(&text(params::BEFORE)),
            ) {
                (Some(after), None) => Some(Cursor::After(after)),
                (None, Some(before)) => Some(Cursor::Before(before)),
                // Both or neither: the page by its number.
                _ => None,
            },
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
        if self.service != ServiceFilter::Any {
            out.push((params::SERVICE, self.service.as_str().to_string()));
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
        match &self.cursor {
            Some(Cursor::After(r)) => out.push((params::AFTER, r.clone())),
            Some(Cursor::Before(r)) => out.push((params::BEFORE, r.clone())),
            None => {}
        }
        out
    }

    /// The dashboard URL for this query.
    pub fn href(&self) -> String {
        let params = self.to_params();
        if params.is_empty() {
            return DASHBOARD_PATH.to_string();
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{DASHBOARD_PATH}?{query}")
    }

    /// The same query on page `page`, found by its number.
    pub fn with_page(&self, page: u32) -> Self {
        Self {
            page: page.clamp(1, MAX_PAGE),
            cursor: None,
            ..self.clone()
        }
    }

    /// The same query on page `page`, reached from a neighbouring page whose first task is `first` and last task
    /// is `last` (their references): the next page starts after `last`, the previous one ends before `first`.
    /// Page 1 and pages further away are found by their number.
    pub fn link_to_page(&self, page: u32, first: Option<&str>, last: Option<&str>) -> Self {
        let mut to = self.with_page(page);
        if to.page == self.page + 1 {
            to.cursor = last.map(|r| Cursor::After(r.to_string()));
        } else if to.page > 1 && to.page + 1 == self.page {
            to.cursor = first.map(|r| Cursor::Before(r.to_string()));
        }
        to
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
            cursor: None,
            ..self.clone()
        }
    }

    /// What the search box means.
    pub fn search(&self) -> Search {
        classify_search(&self.search)
    }
}

pub const DASHBOARD_PATH: &str = crate::routes::SUPPORT;

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
    let kept: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(k, v)| !left_out(k, v))
        .map(|(k, v)| (k.as_str(), v.trim()))
        .collect();
    if kept.is_empty() {
        return DASHBOARD_PATH.to_string();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{DASHBOARD_PATH}?{query}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn query(pairs: &[(&str, &str)]) -> (TaskQuery, Vec<FieldError>) {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned())
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
}

#[cfg(test)]
mod service_filter_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn query(pairs: &[(&str, &str)]) -> TaskQuery {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskQuery::from_params(|k| map.get(k).cloned()).0
    }

    fn services() -> Vec<ServiceOption> {
        vec![ServiceOption {
            client_id: "npq-sample".into(),
            name: "Register for an NPQ (sample)".into(),
        }]
    }

    #[test]
    fn the_service_filter_round_trips_through_the_url() {
        let q = query(&[("service", "npq-sample"), ("status", "all")]);
        assert_eq!(q.service, ServiceFilter::Service("npq-sample".into()));
        assert_eq!(q.href(), "/support?status=all&service=npq-sample");
        let direct = query(&[("service", "~direct")]);
        assert_eq!(direct.service, ServiceFilter::Direct);
        assert_eq!(direct.href(), "/support?service=%7Edirect");
        let href = direct.href();
        let map: BTreeMap<String, String> =
            form_urlencoded::parse(href.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(
            TaskQuery::from_params(|k| map.get(k).cloned()).0.service,
            ServiceFilter::Direct
        );
        assert_eq!(query(&[("service", "")]).href(), "/support");
        // The filter form's "All services" sends an empty value: left out of the URL.
        assert!(!has_left_out_fields(&[(
            "service".to_string(),
            "npq-sample".to_string()
        )]));
        assert!(has_left_out_fields(&[(
            "service".to_string(),
            String::new()
        )]));
    }

    #[test]
    fn a_service_value_no_client_id_could_be_is_no_filter() {
        for tampered in [
            "' OR 1=1 --",
            "<script>",
            "direct ",
            "~",
            "npq sample",
            "np%q",
            "ñpq",
            &"a".repeat(101),
        ] {
            assert_eq!(
                query(&[("service", tampered)]).service,
                if tampered == "direct " {
                    // Trimmed, `direct` is shaped like a client id (a service could be called that).
                    ServiceFilter::Service("direct".into())
                } else {
                    ServiceFilter::Any
                },
                "{tampered}"
            );
        }
        assert_eq!(
            query(&[("service", &"a".repeat(100))]).service,
            ServiceFilter::Service("a".repeat(100))
        );
    }

    #[test]
    fn a_service_that_is_not_registered_is_no_filter() {
        let known = services();
        assert_eq!(
            ServiceFilter::Service("npq-sample".into()).known(&known),
            ServiceFilter::Service("npq-sample".into())
        );
        assert_eq!(
            ServiceFilter::Service("gone".into()).known(&known),
            ServiceFilter::Any
        );
        assert_eq!(ServiceFilter::Direct.known(&[]), ServiceFilter::Direct);
        assert_eq!(ServiceFilter::Any.known(&known), ServiceFilter::Any);
    }
}

#[cfg(test)]
mod search_and_url_tests {
    use super::*;
    use std::collections::BTreeMap;

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
    fn next_and_previous_links_carry_a_cursor_and_other_pages_their_number() {
        let q = query(&[("status", "all"), ("page", "5"), ("after", "TRS-000123")]);
        assert_eq!(q.cursor, Some(Cursor::After("TRS-000123".into())));
        assert_eq!(q.href(), "/support?status=all&page=5&after=TRS-000123");
        let (first, last) = (Some("TRS-000124"), Some("TRS-000148"));
        assert_eq!(
            q.link_to_page(6, first, last).href(),
            "/support?status=all&page=6&after=TRS-000148"
        );
        assert_eq!(
            q.link_to_page(4, first, last).href(),
            "/support?status=all&page=4&before=TRS-000124"
        );
        assert_eq!(
            q.link_to_page(400, first, last).href(),
            "/support?status=all&page=400"
        );
        let second = q.with_page(2);
        assert_eq!(
            second.link_to_page(1, first, last).href(),
            "/support?status=all"
        );
        // Sorting or filtering starts again at page 1, without the cursor.
        assert_eq!(q.sorted_by(SortField::Name).cursor, None);
        // An edited link: no cursor, the page by its number; never an error.
        for bad in [
            "1 OR 1=1",
            "TRS-",
            "TRS-12",
            "trs-000123",
            "TRS-0001234567890",
        ] {
            assert_eq!(
                query(&[("page", "5"), ("after", bad)]).cursor,
                None,
                "{bad}"
            );
        }
        let both = query(&[
            ("page", "5"),
            ("after", "TRS-000123"),
            ("before", "TRS-000124"),
        ]);
        assert_eq!((both.cursor, both.page), (None, 5));
        let before = query(&[("page", "5"), ("before", "TRS-000124")]);
        assert_eq!(before.cursor, Some(Cursor::Before("TRS-000124".into())));
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
