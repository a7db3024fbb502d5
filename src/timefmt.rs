//! RFC 3339 timestamps: STS writes `2021-09-21T18:41:26Z`, moto adds fractional
//! seconds; ExecCredential wants whole seconds in UTC.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 timestamp, with or without fractional seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    // The form STS and the cache write, `YYYY-MM-DDTHH:MM:SSZ`, by hand: the general
    // parser is far more code to run (and to fault in) on every warm run.
    let b = s.as_bytes();
    if b.len() == 20 && [b[4], b[7], b[10], b[13], b[16], b[19]] == *b"--T::Z" {
        let compact = [
            &s[0..4],
            &s[5..7],
            &s[8..10],
            "T",
            &s[11..13],
            &s[14..16],
            &s[17..],
        ];
        return parse_amz_date(&compact.concat());
    }
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC, fractional seconds dropped (as ExecCredential wants).
pub(crate) fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, hms, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u8 + 1;
    let mut t = hms.split(':').map(|n| n.parse::<u8>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    let date = time::Date::from_calendar_date(
        year.parse().ok()?,
        time::Month::try_from(month).ok()?,
        day.parse().ok()?,
    )
    .ok()?;
    Some(date.with_hms(h, m, sec).ok()?.assume_utc())
}

/// `t` as an HTTP `Date` header (for tests that play a server).
#[cfg(test)]
pub(crate) fn format_http_date(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "Mon, {:02} {} {} {:02}:{:02}:{:02} GMT",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYYMMDDTHHMMSSZ` (`X-Amz-Date`).
pub(crate) fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let date = time::Date::from_calendar_date(
        num(0..4)? as i32,
        time::Month::try_from(num(4..6)? as u8).ok()?,
        num(6..8)? as u8,
    )
    .ok()?;
    let t = date
        .with_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8)
        .ok()?;
    Some(t.assume_utc())
}

/// A duration as people read it: `59m 12s`, `3h 5m`, `-2m 3s`.
pub(crate) fn human_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    match s {
        0..=59 => format!("{sign}{s}s"),
        60..=3599 => format!("{sign}{}m {}s", s / 60, s % 60),
        _ => format!("{sign}{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let a = parse_rfc3339("2021-09-21T18:41:26Z").unwrap();
        let b = parse_rfc3339("2021-09-21T18:41:26.233059Z").unwrap();
        assert_eq!(a.unix_timestamp(), b.unix_timestamp());
        assert_eq!(format_rfc3339(b), "2021-09-21T18:41:26Z");
        let c = parse_rfc3339("2021-09-21T20:41:26+02:00").unwrap();
        assert_eq!(format_rfc3339(c), "2021-09-21T18:41:26Z");
        assert!(parse_rfc3339("yesterday").is_none());
        // The short form takes the hand-written path; it checks what the parser checks.
        assert_eq!(
            parse_rfc3339("2021-09-21T18:41:26Z"),
            OffsetDateTime::parse("2021-09-21T18:41:26Z", &Rfc3339).ok()
        );
        for bad in [
            "2021-13-21T18:41:26Z",
            "2021-02-30T18:41:26Z",
            "2021-09-21T24:41:26Z",
            "2021-09-21T18:41:2xZ",
            "+021-09-21T18:41:26Z",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn amz_dates() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(format_rfc3339(t), "2015-08-30T12:36:00Z");
        for bad in [
            "20150830T123600",
            "2015083OT123600Z",
            "20151330T123600Z",
            "",
            "20150830T1236000",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Mon, 03 Jan 2022 19:13:54 GMT").unwrap();
        assert_eq!(format_rfc3339(t), "2022-01-03T19:13:54Z");
        assert!(parse_http_date("Mon, 03 Foo 2022 19:13:54 GMT").is_none());
        assert!(parse_http_date("yesterday").is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(3552), "59m 12s");
        assert_eq!(human_duration(11100), "3h 5m");
        assert_eq!(human_duration(-123), "-2m 3s");
    }
}
