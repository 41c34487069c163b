//! Usage-limit periods and their UTC calendar boundaries.
//!
//! apisonator keys every counter by the period instance that contains the
//! transaction time: minute, hour, day, week (starting Monday), month and year
//! are calendar periods in UTC, eternity never ends. The arithmetic is done by
//! hand on Unix seconds so that the simulator needs no date crate.

use serde::Deserialize;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// A usage-limit period, ordered from the finest to the coarsest granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Eternity,
}

/// Every period, finest first (the order apisonator stores counters in does not matter).
pub const ALL_PERIODS: [Period; 7] = [
    Period::Minute,
    Period::Hour,
    Period::Day,
    Period::Week,
    Period::Month,
    Period::Year,
    Period::Eternity,
];

/// The instance of a period that contains a given time: `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    /// `None` for eternity, which never ends.
    pub end: Option<i64>,
}

impl Period {
    /// The name apisonator uses in XML and the YAML model uses for limits.
    pub fn name(self) -> &'static str {
        match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
            Period::Eternity => "eternity",
        }
    }

    /// The period instance that contains `now` (Unix seconds).
    pub fn window(self, now: i64) -> Window {
        match self {
            Period::Minute => fixed_window(now, MINUTE),
            Period::Hour => fixed_window(now, HOUR),
            Period::Day => fixed_window(now, DAY),
            Period::Week => week_window(now),
            Period::Month => month_window(now),
            Period::Year => year_window(now),
            Period::Eternity => Window {
                start: 0,
                end: None,
            },
        }
    }
}

fn fixed_window(now: i64, length: i64) -> Window {
    let start = now - now.rem_euclid(length);
    Window {
        start,
        end: Some(start + length),
    }
}

/// Weeks start on Monday; 1970-01-01 was a Thursday (3 days after a Monday).
fn week_window(now: i64) -> Window {
    let days = now.div_euclid(DAY);
    let monday = days - (days + 3).rem_euclid(7);
    Window {
        start: monday * DAY,
        end: Some((monday + 7) * DAY),
    }
}

fn month_window(now: i64) -> Window {
    let (year, month, _) = civil_from_days(now.div_euclid(DAY));
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Window {
        start: days_from_civil(year, month, 1) * DAY,
        end: Some(days_from_civil(next_year, next_month, 1) * DAY),
    }
}

fn year_window(now: i64) -> Window {
    let (year, _, _) = civil_from_days(now.div_euclid(DAY));
    Window {
        start: days_from_civil(year, 1, 1) * DAY,
        end: Some(days_from_civil(year + 1, 1, 1) * DAY),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
///
/// Counts in 400-year eras of 146 097 days, with years starting in March so
/// that the leap day is the last day of the counted year.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month 1..=12, day 1..=31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// apisonator's `TIME_FORMAT` (`%Y-%m-%d %H:%M:%S %z`) for a UTC time.
pub fn format_time(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(DAY));
    let seconds_of_day = unix.rem_euclid(DAY);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000",
        seconds_of_day / HOUR,
        (seconds_of_day % HOUR) / MINUTE,
        seconds_of_day % MINUTE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-02-29 13:45:30 UTC, a Thursday in a leap year.
    const LEAP_DAY: i64 = 1_709_214_330;

    fn window_text(period: Period, now: i64) -> (String, Option<String>) {
        let window = period.window(now);
        (format_time(window.start), window.end.map(format_time))
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for days in (-200_000..200_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(format_time(0), "1970-01-01 00:00:00 +0000");
        assert_eq!(format_time(LEAP_DAY), "2024-02-29 13:45:30 +0000");
    }

    #[test]
    fn windows_of_a_leap_day() {
        let cases = [
            (
                Period::Minute,
                "2024-02-29 13:45:00 +0000",
                "2024-02-29 13:46:00 +0000",
            ),
            (
                Period::Hour,
                "2024-02-29 13:00:00 +0000",
                "2024-02-29 14:00:00 +0000",
            ),
            (
                Period::Day,
                "2024-02-29 00:00:00 +0000",
                "2024-03-01 00:00:00 +0000",
            ),
            (
                Period::Week,
                "2024-02-26 00:00:00 +0000",
                "2024-03-04 00:00:00 +0000",
            ),
            (
                Period::Month,
                "2024-02-01 00:00:00 +0000",
                "2024-03-01 00:00:00 +0000",
            ),
            (
                Period::Year,
                "2024-01-01 00:00:00 +0000",
                "2025-01-01 00:00:00 +0000",
            ),
        ];
        for (period, start, end) in cases {
            assert_eq!(
                window_text(period, LEAP_DAY),
                (start.to_string(), Some(end.to_string())),
                "{period:?}"
            );
        }
    }

    #[test]
    fn eternity_has_no_end() {
        assert_eq!(
            Period::Eternity.window(LEAP_DAY),
            Window {
                start: 0,
                end: None
            }
        );
    }

    #[test]
    fn december_rolls_into_next_year() {
        let new_years_eve = days_from_civil(2023, 12, 31) * DAY + 86_399;
        assert_eq!(
            window_text(Period::Month, new_years_eve),
            (
                "2023-12-01 00:00:00 +0000".to_string(),
                Some("2024-01-01 00:00:00 +0000".to_string())
            )
        );
    }

    #[test]
    fn boundaries_belong_to_the_next_period() {
        let monday = days_from_civil(2024, 3, 4) * DAY;
        assert_eq!(Period::Week.window(monday).start, monday);
        assert_eq!(Period::Week.window(monday - 1).end, Some(monday));
        assert_eq!(Period::Minute.window(monday).start, monday);
        assert_eq!(Period::Minute.window(monday - 1).start, monday - 60);
    }

    #[test]
    fn week_of_the_epoch_starts_on_monday_before() {
        // 1970-01-01 was a Thursday: its week started on 1969-12-29.
        assert_eq!(
            window_text(Period::Week, 0).0,
            "1969-12-29 00:00:00 +0000".to_string()
        );
    }

    #[test]
    fn periods_are_ordered_by_granularity() {
        assert!(Period::Minute < Period::Hour);
        assert!(Period::Year < Period::Eternity);
        assert_eq!(ALL_PERIODS.len(), 7);
    }

    #[test]
    fn february_of_a_common_year() {
        let day = days_from_civil(2023, 2, 15) * DAY;
        assert_eq!(
            Period::Month.window(day).end,
            Some(days_from_civil(2023, 3, 1) * DAY)
        );
    }
}
