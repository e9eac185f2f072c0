//! Cron schedules: the 5-field crontab form operators know (Sunday = 0 or 7),
//! translated for the `cron` crate, which numbers weekdays 1-7 from Sunday.

use std::fmt;
use std::str::FromStr;

/// A cron schedule with the text it came from.
#[derive(Clone)]
pub struct CronSchedule {
    pub expr: String,
    pub schedule: cron::Schedule,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expr)
    }
}

/// Parses a cron expression: the standard 5-field crontab form (minute hour
/// day-of-month month day-of-week, Sunday = 0 or 7) or the 6/7-field form with
/// seconds first (and optional year), whose day-of-week numbers are 1-7 = Sunday-Saturday.
pub fn cron_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let text = match fields.len() {
        5 => {
            let dow = crontab_day_of_week(fields[4])?;
            format!("0 {} {} {} {} {}", fields[0], fields[1], fields[2], fields[3], dow)
        }
        6 | 7 => fields.join(" "),
        n => {
            return Err(format!(
                "invalid cron expression {expr:?}: {n} fields; expected 5 (min hour day month weekday) or 6 with seconds first"
            ))
        }
    };
    cron::Schedule::from_str(&text).map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
}

/// Rewrites a crontab day-of-week field (0-7, Sunday = 0 or 7) into the `cron`
/// crate's numbering (1-7, Sunday = 1). Names pass through unchanged.
fn crontab_day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" || field.chars().any(|c| c.is_ascii_alphabetic()) {
        return Ok(field.to_string());
    }
    let bad = || {
        format!(
            "invalid day-of-week {field:?} (use 0-7, Sunday = 0 or 7, or names such as MON-FRI)"
        )
    };
    let mut days = std::collections::BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse::<u32>().map_err(|_| bad())?,
                b.parse::<u32>().map_err(|_| bad())?,
            )
        } else {
            let a = range.parse::<u32>().map_err(|_| bad())?;
            (a, if step > 1 { 7 } else { a })
        };
        if lo > 7 || hi > 7 || lo > hi {
            return Err(bad());
        }
        days.extend((lo..=hi).step_by(step as usize).map(|d| d % 7 + 1));
    }
    Ok(days
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(","))
}
