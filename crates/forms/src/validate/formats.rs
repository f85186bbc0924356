//! Text formats of answers beyond plain numbers and dates: times, date-times (ISO 8601
//! as ODK writes them) and geotraces / geoshapes (ODK's `;`-separated points).

use super::checks::{parse_date, parse_finite};

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Whether `s` is a UTC offset: `Z`, `±HH:MM`, `±HHMM` or `±HH`.
fn is_offset(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let Some(rest) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    let (h, m) = match rest.len() {
        2 => (rest, "00"),
        4 => (&rest[..2], &rest[2..]),
        5 if rest.as_bytes()[2] == b':' => (&rest[..2], &rest[3..]),
        _ => return false,
    };
    digits(h, 2).is_some_and(|h| h <= 23) && digits(m, 2).is_some_and(|m| m <= 59)
}

/// Whether `s` is a time of day `HH:MM[:SS[.fraction]]`, optionally followed by an
/// offset (`Z`, `-05:00`), as ODK stores `time` answers (`14:30:00.000-05:00`).
pub(crate) fn is_time(s: &str) -> bool {
    let split = s.find(['Z', '+', '-']).unwrap_or(s.len());
    let (clock, offset) = s.split_at(split);
    if !offset.is_empty() && !is_offset(offset) {
        return false;
    }
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let ok_fields = match parts.as_slice() {
        [h, m] => digits(h, 2).is_some_and(|h| h <= 23) && digits(m, 2).is_some_and(|m| m <= 59),
        [h, m, sec] => {
            digits(h, 2).is_some_and(|h| h <= 23)
                && digits(m, 2).is_some_and(|m| m <= 59)
                // 60: a leap second, which ISO 8601 allows.
                && digits(sec, 2).is_some_and(|s| s <= 60)
        }
        _ => false,
    };
    let ok_fraction = match fraction {
        None => true,
        Some(f) => parts.len() == 3 && !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()),
    };
    ok_fields && ok_fraction
}

/// Whether `s` is an ISO 8601 date and time `YYYY-MM-DDTHH:MM[:SS[.fraction]][offset]`
/// (ODK: `2024-03-01T14:30:00.000-05:00`).
pub(crate) fn is_datetime(s: &str) -> bool {
    match s.split_once('T') {
        Some((date, time)) => parse_date(date).is_some() && is_time(time),
        None => false,
    }
}

/// One point `lat lon [alt [acc]]`, normalized to single spaces.
fn point(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let nums: Vec<f64> = parts
        .iter()
        .map(|p| parse_finite(p))
        .collect::<Option<_>>()?;
    let ok = (-90.0..=90.0).contains(&nums[0])
        && (-180.0..=180.0).contains(&nums[1])
        && nums.get(3).is_none_or(|acc| *acc >= 0.0);
    ok.then(|| parts.join(" "))
}

/// A geopoint `"lat lon [altitude [accuracy]]"`, normalized.
pub(crate) fn geopoint(s: &str) -> Option<String> {
    point(s)
}

/// A geotrace (`closed: false`, two or more points) or geoshape (`closed: true`, four
/// or more points, the last the same place as the first): points separated by `;`, a
/// trailing `;` allowed (some ODK versions write one). Normalized to `p1;p2;...`.
pub(crate) fn geo_points(s: &str, closed: bool) -> Option<String> {
    let s = s.trim().trim_end_matches(';');
    let points: Vec<String> = s.split(';').map(point).collect::<Option<_>>()?;
    let enough = points.len() >= if closed { 4 } else { 2 };
    let latlon = |p: &str| {
        let mut w = p.split(' ');
        (
            w.next().and_then(|x| x.parse::<f64>().ok()),
            w.next().and_then(|x| x.parse::<f64>().ok()),
        )
    };
    let shut = !closed || points.first().map(|p| latlon(p)) == points.last().map(|p| latlon(p));
    (enough && shut).then(|| points.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for ok in [
            "14:30",
            "00:00:00",
            "23:59:59.999",
            "14:30:00.000-05:00",
            "08:15Z",
            "08:15+0530",
        ] {
            assert!(is_time(ok), "{ok}");
        }
        for bad in [
            "24:00",
            "7:30",
            "14:60",
            "14:30:00.",
            "14:30.5",
            "14:30-5",
            "noon",
            "",
        ] {
            assert!(!is_time(bad), "{bad}");
        }
    }

    #[test]
    fn datetimes() {
        for ok in [
            "2024-03-01T14:30",
            "2024-03-01T14:30:00.000-05:00",
            "2024-02-29T00:00:00Z",
        ] {
            assert!(is_datetime(ok), "{ok}");
        }
        for bad in [
            "2024-03-01",
            "2024-03-01 14:30",
            "2023-02-29T00:00",
            "2024-03-01T25:00",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn traces_and_shapes() {
        assert_eq!(
            geo_points("39.1 -84.5 0 5; 39.2  -84.6 0 5;", false).as_deref(),
            Some("39.1 -84.5 0 5;39.2 -84.6 0 5")
        );
        assert!(geo_points("39.1 -84.5", false).is_none());
        assert!(geo_points("39.1 -84.5;91 0", false).is_none());
        let shape = "1 1 0 0;1 2 0 0;2 2 0 0;1 1 0 0";
        assert_eq!(geo_points(shape, true).as_deref(), Some(shape));
        assert!(geo_points("1 1;1 2;2 2;3 3", true).is_none());
        assert!(geo_points("1 1;1 2;1 1", true).is_none());
    }
}
