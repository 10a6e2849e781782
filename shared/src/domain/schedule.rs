//! `syncSchedule`: the presets and standard 5-field cron expressions (UTC) an integration
//! may carry, checked field by field so an invalid one is refused with a precise reason,
//! parsed by `croner` (which also computes fire times), and translated into EventBridge
//! Scheduler's `rate()`/6-field `cron()` forms.
//!
//! Only expressions EventBridge Scheduler can run are accepted: restricting both the
//! day-of-month and the day-of-week field (cron's "either day" rule) has no EventBridge
//! equivalent and is refused. Translation rules: day-of-week 0-7 (Sunday 0 or 7) becomes
//! EventBridge's 1-7 (Sunday 1); the unrestricted day field becomes `?`; `*/n` becomes
//! `first/n`; a stepped range (`10-40/5`), which EventBridge has no form for, is expanded
//! into a list.

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};

/// A validated sync schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncSchedule {
    /// `@hourly`
    Hourly,
    /// `@daily`
    Daily,
    /// `@weekly`
    Weekly,
    /// `@monthly`
    Monthly,
    /// A 5-field cron expression, whitespace-normalised.
    Cron(String),
}

/// Why a `syncSchedule` was refused: one sentence fragment naming the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

impl SyncSchedule {
    /// Parses a schedule; the error is one sentence fragment naming the problem.
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        Self::parse_text(input).map_err(ScheduleError)
    }

    fn parse_text(input: &str) -> Result<Self, String> {
        let text = input.trim();
        match text {
            "@hourly" => return Ok(Self::Hourly),
            "@daily" | "@midnight" => return Ok(Self::Daily),
            "@weekly" => return Ok(Self::Weekly),
            "@monthly" => return Ok(Self::Monthly),
            _ if text.starts_with('@') => {
                return Err(format!("'{text}' is not one of @hourly, @daily, @weekly, @monthly"))
            }
            _ => {}
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "must be @hourly, @daily, @weekly, @monthly or a 5-field cron expression (minute hour day-of-month month day-of-week); got {} fields",
                fields.len()
            ));
        }
        for (spec, value) in FIELDS.iter().zip(&fields) {
            check_field(spec, value)?;
        }
        if fields[2] != "*" && fields[2] != "?" && fields[4] != "*" && fields[4] != "?" {
            return Err("cannot restrict both day-of-month and day-of-week; set one of them to *".into());
        }
        let text = fields.join(" ");
        croner_parser()
            .parse(&text.replace('?', "*"))
            .map_err(|e| format!("is not a valid cron expression ({e})"))?;
        Ok(Self::Cron(text))
    }

    /// The EventBridge Scheduler expression: `rate(1 hour)` or a 6-field `cron(...)`.
    pub fn to_eventbridge(&self) -> String {
        match self {
            Self::Hourly => "rate(1 hour)".into(),
            Self::Daily => "cron(0 0 * * ? *)".into(),
            Self::Weekly => "cron(0 0 ? * SUN *)".into(),
            Self::Monthly => "cron(0 0 1 * ? *)".into(),
            Self::Cron(expr) => {
                let f: Vec<&str> = expr.split_whitespace().collect();
                let minute = eventbridge_field(&FIELDS[0], f[0]);
                let hour = eventbridge_field(&FIELDS[1], f[1]);
                let month = eventbridge_field(&FIELDS[3], f[3]);
                let (dom, dow) = if f[4] != "*" && f[4] != "?" {
                    ("?".to_string(), eventbridge_weekdays(f[4]))
                } else if f[2] == "?" {
                    ("*".to_string(), "?".to_string())
                } else {
                    (eventbridge_field(&FIELDS[2], f[2]), "?".to_string())
                };
                format!("cron({minute} {hour} {dom} {month} {dow} *)")
            }
        }
    }

    /// The standard cron form of the schedule (presets expanded; `@hourly` at minute 0).
    pub fn as_cron(&self) -> String {
        match self {
            Self::Hourly => "0 * * * *".into(),
            Self::Daily => "0 0 * * *".into(),
            Self::Weekly => "0 0 * * 0".into(),
            Self::Monthly => "0 0 1 * *".into(),
            Self::Cron(expr) => expr.replace('?', "*"),
        }
    }

    /// The first fire time strictly after `after`, in UTC.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        croner_parser()
            .parse(&self.as_cron())
            .ok()?
            .find_next_occurrence(&after, false)
            .ok()
    }

    /// The text stored and returned by the API.
    pub fn as_text(&self) -> &str {
        match self {
            Self::Hourly => "@hourly",
            Self::Daily => "@daily",
            Self::Weekly => "@weekly",
            Self::Monthly => "@monthly",
            Self::Cron(expr) => expr,
        }
    }
}

fn croner_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// The standard 5-field cron equivalent of an EventBridge expression this module produced
/// (`rate(1 hour)` fires at minute 0 here), for firing schedules where no EventBridge runs.
pub fn cron_from_eventbridge(expression: &str) -> Option<String> {
    if expression.trim() == "rate(1 hour)" {
        return Some("0 * * * *".into());
    }
    let inner = expression.trim().strip_prefix("cron(")?.strip_suffix(')')?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return None;
    }
    let any = |v: &str| if v == "?" { "*".to_string() } else { v.to_string() };
    let weekdays = if f[4] == "?" || f[4] == "*" {
        "*".to_string()
    } else {
        standard_weekdays(f[4])?
    };
    let expand = |field: &FieldSpec, text: &str| -> String {
        // `first/step` is EventBridge's (and Quartz's) increment form.
        text.split(',')
            .map(|item| match item.split_once('/') {
                Some((start, step)) if !start.contains('-') && start != "*" => format!("{start}-{}/{step}", field.max),
                _ => item.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    Some(format!(
        "{} {} {} {} {}",
        expand(&FIELDS[0], f[0]),
        expand(&FIELDS[1], f[1]),
        expand(&FIELDS[2], &any(f[2])),
        expand(&FIELDS[3], f[3]),
        weekdays
    ))
}

/// A minute, hour, day-of-month or month field in EventBridge's syntax.
fn eventbridge_field(spec: &FieldSpec, text: &str) -> String {
    text.split(',')
        .map(|item| match item.split_once('/') {
            Some(("*", step)) => format!("{}/{step}", spec.min),
            Some((range, step)) if range.contains('-') => {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                let (lo, hi) = (value(spec, lo).unwrap_or(spec.min), value(spec, hi).unwrap_or(spec.max));
                let step: usize = step.parse().unwrap_or(1);
                (lo..=hi)
                    .step_by(step.max(1))
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            _ => item.to_ascii_uppercase(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The set of weekdays (0 = Sunday) a standard day-of-week field selects.
fn weekdays(text: &str) -> Vec<u32> {
    let spec = &FIELDS[4];
    let mut days = [false; 7];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().unwrap_or(1).max(1)),
            None => (item, 1),
        };
        let (lo, hi) = match range {
            "*" | "?" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (value(spec, a).unwrap_or(0), value(spec, b).unwrap_or(0)),
                None => {
                    let v = value(spec, r).unwrap_or(0);
                    (v, if step > 1 { 6 } else { v })
                }
            },
        };
        let mut v = lo;
        while v <= hi {
            days[(v % 7) as usize] = true;
            v += step;
        }
    }
    (0..7).filter(|d| days[*d as usize]).collect()
}

/// Weekdays as EventBridge numbers (Sunday = 1), consecutive runs written as ranges.
fn eventbridge_weekdays(text: &str) -> String {
    let numbers: Vec<u32> = weekdays(text).into_iter().map(|d| d + 1).collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", numbers[i], numbers[j])
        } else {
            numbers[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

/// An EventBridge day-of-week field (1-7, SUN-SAT) in standard numbers (0-6).
fn standard_weekdays(text: &str) -> Option<String> {
    const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let one = |v: &str| -> Option<u32> {
        let upper = v.to_ascii_uppercase();
        match NAMES.iter().position(|n| *n == upper) {
            Some(p) => Some(p as u32),
            None => v.parse::<u32>().ok().filter(|n| (1..=7).contains(n)).map(|n| n - 1),
        }
    };
    let items: Option<Vec<String>> = text
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((a, b)) => Some(format!("{}-{}", one(a)?, one(b)?)),
            None => one(item).map(|v| v.to_string()),
        })
        .collect();
    items.map(|i| i.join(","))
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldSpec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldSpec {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    // 7 is Sunday too, as in Vixie cron.
    FieldSpec {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: DAYS,
    },
];

fn value(spec: &FieldSpec, text: &str) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(pos) = spec.names.iter().position(|n| *n == upper) {
        // Month names count from 1 (JAN), day names from 0 (SUN): the field's minimum.
        return Ok(pos as u32 + spec.min);
    }
    let n: u32 = text
        .parse()
        .map_err(|_| format!("{} field: '{text}' is not a number{}", spec.name, name_hint(spec)))?;
    if n < spec.min || n > spec.max {
        return Err(format!(
            "{} field: {n} is out of range {}-{}",
            spec.name, spec.min, spec.max
        ));
    }
    Ok(n)
}

fn name_hint(spec: &FieldSpec) -> String {
    match spec.names.first() {
        Some(first) => format!(" or a name like {first}"),
        None => String::new(),
    }
}

fn check_field(spec: &FieldSpec, text: &str) -> Result<(), String> {
    if text == "?" && (spec.name == "day-of-month" || spec.name == "day-of-week") {
        return Ok(());
    }
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(s) if s >= 1 && s <= spec.max => {}
                _ => {
                    return Err(format!(
                        "{} field: step '{step}' must be a number from 1 to {}",
                        spec.name, spec.max
                    ))
                }
            }
        }
        if range == "*" {
            continue;
        }
        match range.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (value(spec, lo)?, value(spec, hi)?);
                if lo > hi {
                    return Err(format!("{} field: range {lo}-{hi} runs backwards", spec.name));
                }
            }
            None if range.is_empty() => return Err(format!("{} field: empty list item in '{text}'", spec.name)),
            None => {
                value(spec, range)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        assert_eq!(SyncSchedule::parse("@daily").unwrap(), SyncSchedule::Daily);
        assert_eq!(SyncSchedule::parse(" @hourly ").unwrap().as_text(), "@hourly");
        assert!(SyncSchedule::parse("@yearly").unwrap_err().0.contains("@yearly"));
    }

    #[test]
    fn valid_cron_expressions() {
        for expr in [
            "* * * * *",
            "30 2 * * 1-5",
            "*/15 * * * *",
            "0 0 1 * *",
            "0 9 * JAN-MAR MON,WED,FRI",
            "0 0 ? * sun",
            "5,10,15 0-23/2 * * 7",
        ] {
            let parsed = SyncSchedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(parsed, SyncSchedule::Cron(expr.to_string()));
        }
        assert_eq!(SyncSchedule::parse("0  1 * *   *").unwrap().as_text(), "0 1 * * *");
    }

    #[test]
    fn eventbridge_translation_table() {
        for (input, expected) in [
            ("@hourly", "rate(1 hour)"),
            ("@daily", "cron(0 0 * * ? *)"),
            ("@weekly", "cron(0 0 ? * SUN *)"),
            ("@monthly", "cron(0 0 1 * ? *)"),
            ("* * * * *", "cron(* * * * ? *)"),
            ("30 2 * * 1-5", "cron(30 2 ? * 2-6 *)"),
            ("0 9 * * MON,WED,FRI", "cron(0 9 ? * 2,4,6 *)"),
            ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
            ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
            ("0 0 * * 5-7", "cron(0 0 ? * 1,6-7 *)"),
            ("0 0 * * */2", "cron(0 0 ? * 1,3,5,7 *)"),
            ("*/15 * * * *", "cron(0/15 * * * ? *)"),
            ("0 */6 1 * *", "cron(0 0/6 1 * ? *)"),
            ("10-40/10 0 * * *", "cron(10,20,30,40 0 * * ? *)"),
            ("0 12 1,15 JAN-MAR *", "cron(0 12 1,15 JAN-MAR ? *)"),
            ("0 0 ? * sun", "cron(0 0 ? * 1 *)"),
            ("0 0 15 * ?", "cron(0 0 15 * ? *)"),
        ] {
            assert_eq!(
                SyncSchedule::parse(input).unwrap().to_eventbridge(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn translation_keeps_the_fire_times() {
        let start = DateTime::parse_from_rfc3339("2025-11-20T10:07:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for input in [
            "30 2 * * 1-5",
            "*/15 * * * *",
            "0 */6 1 * *",
            "10-40/10 0 * * *",
            "0 9 * * MON,WED,FRI",
            "0 0 * * 5-7",
            "0 0 * * */2",
            "5 4 * * 0",
            "0 12 1,15 JAN-MAR *",
            "@daily",
            "@weekly",
            "@monthly",
        ] {
            let original = SyncSchedule::parse(input).unwrap();
            let round_trip = cron_from_eventbridge(&original.to_eventbridge()).unwrap();
            let back = croner_parser().parse(&round_trip).unwrap();
            let mut a = start;
            let mut b = start;
            for _ in 0..25 {
                a = original.next_after(a).unwrap();
                b = back.find_next_occurrence(&b, false).unwrap();
                assert_eq!(a, b, "{input} -> {} -> {round_trip}", original.to_eventbridge());
            }
        }
    }

    #[test]
    fn next_fire_times() {
        let t = DateTime::parse_from_rfc3339("2025-11-20T10:07:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = SyncSchedule::parse("* * * * *").unwrap().next_after(t).unwrap();
        assert_eq!(next.to_rfc3339(), "2025-11-20T10:08:00+00:00");
        let next = SyncSchedule::Hourly.next_after(t).unwrap();
        assert_eq!(next.to_rfc3339(), "2025-11-20T11:00:00+00:00");
    }

    #[test]
    fn invalid_cron_expressions_name_the_problem() {
        for (expr, needle) in [
            ("60 * * * *", "minute field: 60 is out of range 0-59"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field: 0"),
            ("* * * 13 *", "month field: 13"),
            ("* * * * 8", "day-of-week field: 8"),
            ("0 0 1 * 1", "cannot restrict both"),
            ("0 0 * * * *", "got 6 fields"),
            ("0 0 *", "got 3 fields"),
            ("*/0 * * * *", "step '0'"),
            ("5-1 * * * *", "runs backwards"),
            ("a * * * *", "'a' is not a number"),
            ("1,,2 * * * *", "empty list item"),
            ("? * * * *", "minute field"),
            ("", "got 0 fields"),
        ] {
            let err = SyncSchedule::parse(expr).unwrap_err();
            assert!(err.0.contains(needle), "{expr}: {err}");
        }
    }
}
