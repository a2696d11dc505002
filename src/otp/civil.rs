//! Unix seconds as UTC calendar text, for tables and files. Pure arithmetic (the
//! days-to-civil algorithm), so no date crate and no time zone database are needed.

/// (year, month, day) for days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-23 05:58:00` (UTC).
pub fn utc_datetime(unix: u64) -> String {
    let secs = unix as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// `2026-11-23T05:58:00Z`, for JSON.
pub fn utc_rfc3339(unix: u64) -> String {
    utc_datetime(unix).replace(' ', "T") + "Z"
}

/// `05:58:00` (UTC).
pub fn utc_time(unix: u64) -> String {
    utc_datetime(unix)[11..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(1_111_111_109), "2005-03-18 01:58:29");
        assert_eq!(utc_datetime(2_000_000_000), "2033-05-18 03:33:20");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_rfc3339(1_234_567_890), "2009-02-13T23:31:30Z");
    }
}
