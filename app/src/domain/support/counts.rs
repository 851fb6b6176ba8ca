//! A page of the dashboard and its counts, exact up to what is worth counting.

use super::query::{StatusFilter, MAX_PAGE, PAGE_SIZE};
use super::{TaskStatus, TaskSummary};
use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_up_to_the_cap() {
        assert_eq!(count_text(0), "0");
        assert_eq!(count_text(1234), "1,234");
        assert_eq!(count_text(COUNT_CAP), "10,000");
        assert_eq!(count_text(COUNT_CAP + 1), "more than 10,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
