//! `syncSchedule`: the presets and standard 5-field cron expressions (UTC) an integration
//! may carry, checked field by field so an invalid one is refused with a precise reason.
//! Only expressions EventBridge Scheduler can run are accepted: restricting both the
//! day-of-month and the day-of-week field (cron's "either day" rule) has no EventBridge
//! equivalent and is refused.

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

impl SyncSchedule {
    /// Parses a schedule; the error is one sentence fragment naming the problem.
    pub fn parse(input: &str) -> Result<Self, String> {
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
        Ok(Self::Cron(fields.join(" ")))
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
        assert!(SyncSchedule::parse("@yearly").unwrap_err().contains("@yearly"));
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
            assert!(err.contains(needle), "{expr}: {err}");
        }
    }
}
