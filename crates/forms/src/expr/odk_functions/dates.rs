//! Dates and times as ODK writes and reads them: `now()`, `format-date`, times with
//! their offsets.

use super::*;

/// A date-time as ODK writes it: `2024-01-31T14:30:00.000-05:00`.
pub(super) fn odk_datetime(m: DateTime<FixedOffset>) -> String {
    m.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// A value as a date-time: a date (midnight), a date-time text (without an offset: in
/// `offset`), or a number of days since 1970-01-01 UTC.
pub(super) fn to_datetime(v: &XValue, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let local = |d: NaiveDateTime| offset.from_local_datetime(&d).single();
    let from_days = |x: f64| {
        if !x.is_finite() || x.abs() > 1e8 {
            return None;
        }
        let ms = (x * 86_400_000.0).round() as i64;
        DateTime::from_timestamp_millis(ms).map(|u| u.with_timezone(&offset))
    };
    match v {
        XValue::Date(d) => local(d.and_time(NaiveTime::MIN)),
        XValue::Number(x) => from_days(*x),
        XValue::Text(s) => {
            let s = s.trim();
            if let Some(x) = parse_number(s) {
                return from_days(x);
            }
            if s.len() == 10 {
                return local(parse_date(s)?.and_time(NaiveTime::MIN));
            }
            let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
            let rest = s.get(10..)?;
            let rest = rest.strip_prefix(['T', ' '])?;
            let (time, zone) = split_offset(rest)?;
            let naive = date.and_time(time);
            match zone {
                Some(z) => z.from_local_datetime(&naive).single(),
                None => local(naive),
            }
        }
        XValue::Bool(_) | XValue::Nodes(_) => None,
    }
}

/// `14:30[:00[.000]]` and an optional offset (`Z`, `+01:00`, `-0500`, `+01`).
pub(super) fn split_offset(s: &str) -> Option<(NaiveTime, Option<FixedOffset>)> {
    let (time, zone) = if let Some(t) = s.strip_suffix('Z') {
        (t, FixedOffset::east_opt(0))
    } else if let Some(i) = s.rfind(['+', '-']) {
        let z = &s[i + 1..];
        let digits: String = z.chars().filter(|c| *c != ':').collect();
        if (digits.len() != 2 && digits.len() != 4) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let hours: i32 = digits.get(..2)?.parse().ok()?;
        let minutes: i32 = digits
            .get(2..)
            .filter(|m| !m.is_empty())
            .map_or(Some(0), |m| m.parse().ok())?;
        let secs = (hours * 60 + minutes) * 60;
        let secs = if s.as_bytes()[i] == b'-' { -secs } else { secs };
        (&s[..i], Some(FixedOffset::east_opt(secs)?))
    } else {
        (s, None)
    };
    let time = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(time, f).ok())?;
    Some((time, zone))
}

/// Seconds into the day of a time (or of a date-time's time), in `offset` when the
/// time carries its own offset (ODK: the device's time zone).
pub(super) fn parse_time(s: &str, offset: FixedOffset) -> Option<f64> {
    let s = s.trim();
    let time_part = match s.find('T') {
        Some(i) => &s[i + 1..],
        None => s,
    };
    let (time, zone) = split_offset(time_part)?;
    let mut secs = time.num_seconds_from_midnight() as f64 + time.nanosecond() as f64 / 1e9;
    if let Some(z) = zone {
        secs += f64::from(offset.local_minus_utc() - z.local_minus_utc());
    }
    Some(secs.rem_euclid(86_400.0))
}

/// ODK's `format-date` patterns: `%Y` `%y` `%m` `%n` `%b` `%d` `%e` `%H` `%h` `%M`
/// `%S` `%3` `%a`; any other character, or `%` before another one, is kept.
pub(super) fn format_moment(m: &DateTime<FixedOffset>, format: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(code) = chars.next() else {
            out.push('%');
            break;
        };
        let piece = match code {
            'Y' => format!("{:04}", m.year()),
            'y' => format!("{:02}", m.year().rem_euclid(100)),
            'm' => format!("{:02}", m.month()),
            'n' => m.month().to_string(),
            'b' => MONTHS[m.month0() as usize].to_string(),
            'd' => format!("{:02}", m.day()),
            'e' => m.day().to_string(),
            'H' => format!("{:02}", m.hour()),
            'h' => m.hour().to_string(),
            'M' => format!("{:02}", m.minute()),
            'S' => format!("{:02}", m.second()),
            '3' => format!("{:03}", m.timestamp_subsec_millis().min(999)),
            'a' => DAYS[m.weekday().num_days_from_monday() as usize].to_string(),
            other => format!("%{other}"),
        };
        out.push_str(&piece);
    }
    out
}
