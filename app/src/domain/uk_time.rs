//! Times as people in the UK read them. Everything is stored in UTC; staff see the clock on their wall
//! (Europe/London): Greenwich Mean Time in winter, British Summer Time (UTC+1) in summer.
//!
//! The rule, in force since 1996: British Summer Time starts at 01:00 UTC on the last Sunday in March and ends at
//! 01:00 UTC on the last Sunday in October. It is written out here rather than read from a time-zone database so
//! the same few lines run on the server and in the browser (a time-zone crate would add its tables to the WASM).
//! If Parliament changes the rule, this is the one place to change.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a real month");
    let last = first_of_next - Duration::days(1);
    let back = last.weekday().num_days_from_sunday() as i64;
    last - Duration::days(back)
}

/// Whether British Summer Time is in force at `at`.
pub fn is_british_summer_time(at: DateTime<Utc>) -> bool {
    let year = at.year();
    let change = |month| {
        Utc.from_utc_datetime(
            &last_sunday(year, month)
                .and_hms_opt(1, 0, 0)
                .expect("01:00 exists"),
        )
    };
    at >= change(3) && at < change(10)
}

/// `at` on the UK's clocks.
pub fn uk_time(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    let hours = if is_british_summer_time(at) { 1 } else { 0 };
    at.with_timezone(&FixedOffset::east_opt(hours * 3600).expect("a valid offset"))
}

/// "14 March 2026 at 2:05pm": a moment in full, in UK time.
pub fn uk_date_time(at: DateTime<Utc>) -> String {
    uk_time(at).format("%-d %B %Y at %-I:%M%P").to_string()
}

/// "14 March 2026": a calendar date (a date of birth, an award) in GOV.UK's style.
pub fn long_date(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// "14 Mar 2026": the day, short, in UK time.
pub fn uk_short_date(at: DateTime<Utc>) -> String {
    uk_time(at).format("%-d %b %Y").to_string()
}

/// "14:05": the time of day, in UK time.
pub fn uk_clock(at: DateTime<Utc>) -> String {
    uk_time(at).format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn last_sundays_of_march_and_october() {
        assert_eq!(
            last_sunday(2026, 3),
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap()
        );
        assert_eq!(
            last_sunday(2026, 10),
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()
        );
        // A month ending on a Sunday.
        assert_eq!(
            last_sunday(2025, 8),
            NaiveDate::from_ymd_opt(2025, 8, 31).unwrap()
        );
        assert_eq!(
            last_sunday(2024, 3),
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()
        );
        assert_eq!(
            last_sunday(2027, 12),
            NaiveDate::from_ymd_opt(2027, 12, 26).unwrap()
        );
        for year in 1996..2100 {
            for month in [3, 10] {
                let d = last_sunday(year, month);
                assert_eq!(d.weekday(), Weekday::Sun);
                assert!(d.day() > 24, "{d} is not in the last week");
            }
        }
    }

    #[test]
    fn summer_times_are_an_hour_ahead_of_utc() {
        // BST: 14 July 2026, 13:05 UTC is 2:05pm in London.
        assert_eq!(
            uk_date_time(utc("2026-07-14T13:05:00Z")),
            "14 July 2026 at 2:05pm"
        );
        assert_eq!(uk_clock(utc("2026-07-14T13:05:00Z")), "14:05");
        // Late in the evening in UTC is already the next day in London.
        assert_eq!(uk_short_date(utc("2026-06-30T23:30:00Z")), "1 Jul 2026");
        assert_eq!(uk_clock(utc("2026-06-30T23:30:00Z")), "00:30");
    }

    #[test]
    fn winter_times_are_utc() {
        // GMT: 14 January 2026, 13:05 UTC is 1:05pm in London.
        assert_eq!(
            uk_date_time(utc("2026-01-14T13:05:00Z")),
            "14 January 2026 at 1:05pm"
        );
        assert_eq!(uk_clock(utc("2026-12-31T23:30:00Z")), "23:30");
        assert_eq!(uk_short_date(utc("2026-12-31T23:30:00Z")), "31 Dec 2026");
    }

    #[test]
    fn the_clocks_change_at_one_in_the_morning_utc_on_the_last_sundays() {
        // 29 March 2026: 00:59 UTC is still GMT; 01:00 UTC is 02:00 BST.
        assert_eq!(uk_clock(utc("2026-03-29T00:59:00Z")), "00:59");
        assert_eq!(uk_clock(utc("2026-03-29T01:00:00Z")), "02:00");
        // 25 October 2026: 00:59 UTC is 01:59 BST; 01:00 UTC is 01:00 GMT.
        assert_eq!(uk_clock(utc("2026-10-25T00:59:00Z")), "01:59");
        assert_eq!(uk_clock(utc("2026-10-25T01:00:00Z")), "01:00");
        assert!(!is_british_summer_time(utc("2026-03-28T12:00:00Z")));
        assert!(is_british_summer_time(utc("2026-10-24T12:00:00Z")));
        assert!(!is_british_summer_time(utc("2026-10-26T12:00:00Z")));
    }
}
