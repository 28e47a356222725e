//! How long a server asks a client to wait: `retry-after-ms` (OpenAI, Azure, Anthropic) and
//! `Retry-After` (RFC 9110 §10.2.3: delta-seconds or an HTTP-date), capped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The default cap: 60 s, the `maxDelayMs` default of Genkit's `retry` middleware, so a
/// server asking for an hour (a daily quota) does not park a request for an hour.
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// Reads retry delays from response headers, capped at [`RetryAfter::cap`].
///
/// Nothing panics, whatever the header says: negative, fractional, huge or garbled values
/// are either parsed exactly (saturating, then capped) or ignored.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use genkit_http::RetryAfter;
/// let r = RetryAfter::new();
/// let now = SystemTime::now();
/// assert_eq!(r.from_headers([("Retry-After", "1.5")], now), Some(Duration::from_millis(1500)));
/// assert_eq!(r.from_headers([("retry-after", "20"), ("retry-after-ms", "20000.5")], now), Some(Duration::from_micros(20_000_500)));
/// assert_eq!(r.from_headers([("retry-after", "86400")], now), Some(Duration::from_secs(60)));
/// assert_eq!(r.from_headers([("retry-after", "soon")], now), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    cap: Duration,
}

impl Default for RetryAfter {
    fn default() -> Self {
        RetryAfter { cap: DEFAULT_RETRY_AFTER_CAP }
    }
}

impl RetryAfter {
    /// A parser with the [`DEFAULT_RETRY_AFTER_CAP`].
    pub fn new() -> RetryAfter {
        RetryAfter::default()
    }

    /// The longest delay returned; longer requests are cut to it.
    #[must_use]
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The delay the headers ask for: `retry-after-ms` when it parses (it is the more
    /// precise), else `Retry-After`. Header names match case-insensitively; `now` is the time
    /// an HTTP-date is measured from (pass `SystemTime::now()`).
    ///
    /// Takes any `(name, value)` pairs: a `reqwest`/`http` `&HeaderMap`, or an array of
    /// strings.
    pub fn from_headers<H, K, V>(&self, headers: H, now: SystemTime) -> Option<Duration>
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut ms = None;
        let mut header = None;
        for (k, v) in headers {
            let Ok(value) = std::str::from_utf8(v.as_ref()) else { continue };
            let name = k.as_ref();
            if ms.is_none() && name.eq_ignore_ascii_case("retry-after-ms") {
                ms = self.parse_ms(value);
            } else if header.is_none() && name.eq_ignore_ascii_case("retry-after") {
                header = self.parse(value, now);
            }
        }
        ms.or(header)
    }

    /// A `Retry-After` value: delta-seconds (`120`, also fractional `1.5`) or an HTTP-date
    /// (IMF-fixdate, RFC 850 or asctime), as a delay from `now`; a date in the past is zero.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let now = UNIX_EPOCH + Duration::from_secs(784_111_767); // Sun, 06 Nov 1994 08:49:27 GMT
    /// let r = genkit_http::RetryAfter::new();
    /// assert_eq!(r.parse("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(10)));
    /// assert_eq!(r.parse("Sunday, 06-Nov-94 08:49:37 GMT", now), Some(Duration::from_secs(10)));
    /// assert_eq!(r.parse("Sun Nov  6 08:49:37 1994", now), Some(Duration::from_secs(10)));
    /// assert_eq!(r.parse("-5", now), None);
    /// ```
    pub fn parse(&self, value: &str, now: SystemTime) -> Option<Duration> {
        let value = value.trim();
        let delay = match decimal(value, 9) {
            Some((secs, nanos)) => Duration::from_secs(secs).saturating_add(Duration::from_nanos(nanos)),
            None => {
                let at = parse_http_date(value)?;
                at.duration_since(now).unwrap_or(Duration::ZERO)
            }
        };
        Some(delay.min(self.cap))
    }

    /// A `retry-after-ms` value: milliseconds, possibly fractional.
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = genkit_http::RetryAfter::new();
    /// assert_eq!(r.parse_ms("250"), Some(Duration::from_millis(250)));
    /// assert_eq!(r.parse_ms("1e3"), None);
    /// ```
    pub fn parse_ms(&self, value: &str) -> Option<Duration> {
        let (ms, nanos) = decimal(value.trim(), 6)?;
        Some(Duration::from_millis(ms).saturating_add(Duration::from_nanos(nanos)).min(self.cap))
    }
}

/// `DIGITS[.DIGITS]` as a whole part (saturating) and the fraction in units of
/// 10^-`places` (extra digits dropped). Signs, exponents, `inf` and `NaN` are not numbers here.
fn decimal(s: &str, places: u32) -> Option<(u64, u64)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let whole = whole.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0')));
    let scaled = frac
        .unwrap_or("")
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(places as usize)
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    Some((whole, scaled))
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three forms:
///
/// - IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` (what servers send),
/// - obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year more than 50 years
///   ahead of the current year means the century before),
/// - obsolete asctime `Sun Nov  6 08:49:37 1994`.
///
/// Names match case-insensitively and the day name is not checked against the date.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = genkit_http::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(t, Some(UNIX_EPOCH + Duration::from_secs(784_111_777)));
/// assert_eq!(genkit_http::parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT"), None);
/// ```
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let (day, month, year, time) = match fields.as_slice() {
        [wd, d, mon, y, t, gmt] if gmt.eq_ignore_ascii_case("GMT") && is_day(wd.strip_suffix(',')?, &DAYS) => {
            (number(d, 1..=2)?, month(mon)?, number(y, 4..=4)?, *t)
        }
        [wd, date, t, gmt] if gmt.eq_ignore_ascii_case("GMT") && is_day(wd.strip_suffix(',')?, &LONG_DAYS) => {
            let mut parts = date.split('-');
            let (d, mon, yy) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            (number(d, 2..=2)?, month(mon)?, two_digit_year(number(yy, 2..=2)?), *t)
        }
        [wd, mon, d, t, y] if is_day(wd, &DAYS) => (number(d, 1..=2)?, month(mon)?, number(y, 4..=4)?, *t),
        _ => return None,
    };
    let mut hms = time.split(':');
    let (h, m, sec) = (number(hms.next()?, 2..=2)?, number(hms.next()?, 2..=2)?, number(hms.next()?, 2..=2)?);
    if hms.next().is_some() || h > 23 || m > 59 || sec > 60 || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec;
    let since_epoch = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 { UNIX_EPOCH.checked_add(since_epoch) } else { UNIX_EPOCH.checked_sub(since_epoch) }
}

fn is_day(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// A month name as 1–12.
fn month(name: &str) -> Option<i64> {
    let i = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
    i64::try_from(i + 1).ok()
}

/// An unsigned decimal of `len` digits.
fn number(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<i64> {
    if !len.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 9110: a two-digit year more than 50 years in the future is in the century before.
fn two_digit_year(yy: i64) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let this_year = civil_year(i64::try_from(now / 86_400).unwrap_or(0));
    let year = this_year - this_year.rem_euclid(100) + yy;
    if year > this_year + 50 { year - 100 } else { year }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (years shifted to start in March, so
/// the leap day ends the year).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The year of a day counted from 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let year = year_of_era + era * 400;
    if month_from_march >= 10 { year + 1 } else { year }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example.
    fn rfc_example() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn delta_seconds_whole_and_fractional() {
        let r = RetryAfter::new();
        let now = SystemTime::now();
        assert_eq!(r.parse("0", now), Some(Duration::ZERO));
        assert_eq!(r.parse(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(r.parse("1.5", now), Some(Duration::from_millis(1500)));
        assert_eq!(r.parse("0.0000000019", now), Some(Duration::from_nanos(1)));
        assert_eq!(r.parse("59.999999999", now), Some(Duration::new(59, 999_999_999)));
        for bad in ["", "-1", "+1", "1.", ".5", "1e3", "inf", "NaN", "1,5", "0x10", "١٢", "1 2"] {
            assert_eq!(r.parse(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn milliseconds() {
        let r = RetryAfter::new();
        assert_eq!(r.parse_ms("250"), Some(Duration::from_millis(250)));
        assert_eq!(r.parse_ms("0.5"), Some(Duration::from_micros(500)));
        assert_eq!(r.parse_ms("12.3456789"), Some(Duration::from_nanos(12_345_678)));
        assert_eq!(r.parse_ms("-3"), None);
        assert_eq!(r.parse_ms(""), None);
    }

    #[test]
    fn huge_values_saturate_then_cap() {
        let r = RetryAfter::new();
        let now = SystemTime::now();
        let huge = "9".repeat(400);
        assert_eq!(r.parse(&huge, now), Some(DEFAULT_RETRY_AFTER_CAP));
        assert_eq!(r.parse(&format!("{huge}.{huge}"), now), Some(DEFAULT_RETRY_AFTER_CAP));
        assert_eq!(r.parse_ms(&huge), Some(DEFAULT_RETRY_AFTER_CAP));
        assert_eq!(r.parse("18446744073709551615.999999999", now), Some(DEFAULT_RETRY_AFTER_CAP));
        let uncapped = RetryAfter::new().cap(Duration::MAX);
        assert_eq!(uncapped.parse(&huge, now), Some(Duration::new(u64::MAX, 0)));
        assert_eq!(uncapped.parse("18446744073709551615.5", now), Some(Duration::new(u64::MAX, 500_000_000)));
        assert_eq!(uncapped.parse(&format!("{huge}.{huge}"), now), Some(Duration::MAX));
        assert_eq!(RetryAfter::new().cap(Duration::from_secs(5)).parse("6", now), Some(Duration::from_secs(5)));
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let t = Some(rfc_example());
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("sun, 06 nov 1994 08:49:37 gmt"), t);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), Some(UNIX_EPOCH - Duration::from_secs(1)));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 23:59:60 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_868_800))
        );
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(253_402_300_799))
        );
    }

    #[test]
    fn malformed_dates_are_none() {
        for bad in [
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:01 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov-94-1 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "",
            "GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_count_from_now_and_past_dates_are_zero() {
        let r = RetryAfter::new();
        let now = rfc_example() - Duration::from_millis(2500);
        assert_eq!(r.parse("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_millis(2500)));
        assert_eq!(
            r.parse("Sun, 06 Nov 1994 08:49:37 GMT", rfc_example() + Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
        assert_eq!(r.parse("Mon, 07 Nov 1994 08:49:37 GMT", now), Some(DEFAULT_RETRY_AFTER_CAP));
        assert_eq!(r.parse("Mon, 01 Jan 0001 00:00:00 GMT", now), Some(Duration::ZERO));
    }

    #[test]
    fn two_digit_years_stay_within_fifty_years_ahead() {
        let this_year = civil_year(
            i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() / 86_400).unwrap(),
        );
        for yy in 0..100 {
            let y = two_digit_year(yy);
            assert_eq!(y.rem_euclid(100), yy);
            assert!(y <= this_year + 50 && y > this_year - 50, "{yy} -> {y}");
        }
    }

    #[test]
    fn civil_year_inverts_days_from_civil() {
        for (y, m, d) in [
            (1970, 1, 1),
            (1969, 12, 31),
            (2000, 2, 29),
            (2000, 3, 1),
            (2024, 12, 31),
            (2025, 1, 1),
            (9999, 12, 31),
            (1, 1, 1),
        ] {
            assert_eq!(civil_year(days_from_civil(y, m, d)), y, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn headers_prefer_milliseconds_and_ignore_case_and_garbage() {
        let r = RetryAfter::new();
        let now = SystemTime::now();
        assert_eq!(r.from_headers(Vec::<(&str, &str)>::new(), now), None);
        assert_eq!(r.from_headers([("RETRY-AFTER", "7")], now), Some(Duration::from_secs(7)));
        assert_eq!(
            r.from_headers([("retry-after", "7"), ("Retry-After-Ms", "250")], now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            r.from_headers([("retry-after-ms", "bad"), ("retry-after", "7")], now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            r.from_headers([("retry-after", &b"\xff"[..]), ("retry-after", &b"3"[..])], now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(r.from_headers([("x-retry", "3")], now), None);
    }

    proptest! {
        #[test]
        fn no_input_panics(s in any::<String>(), ms in any::<u64>(), bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let r = RetryAfter::new();
            let now = UNIX_EPOCH + Duration::from_millis(ms);
            for v in [s.clone(), ms.to_string(), format!("{ms}.{s}"), format!("-{ms}"), format!("{s} GMT")] {
                let _ = r.parse(&v, now);
                let _ = r.parse_ms(&v);
                let _ = parse_http_date(&v);
            }
            let d = r.from_headers([("retry-after", bytes.as_slice()), ("retry-after-ms", s.as_bytes())], now);
            prop_assert!(d.is_none_or(|d| d <= DEFAULT_RETRY_AFTER_CAP));
        }

        #[test]
        fn date_shaped_garbage_never_panics(
            wd in "[A-Za-z]{0,10},?", d in "[0-9]{0,3}", mon in "[A-Za-z]{0,4}", y in "[0-9]{0,5}",
            t in "[0-9:]{0,10}", z in "(GMT|gmt|UTC|)", dash in any::<bool>(),
        ) {
            let v = if dash { format!("{wd} {d}-{mon}-{y} {t} {z}") } else { format!("{wd} {d} {mon} {y} {t} {z}") };
            let _ = parse_http_date(&v);
            let d = RetryAfter::new().parse(&v, SystemTime::now());
            prop_assert!(d.is_none_or(|d| d <= DEFAULT_RETRY_AFTER_CAP));
        }
    }
}
