//! MySQL temporal values: DATE/DATETIME/TIMESTAMP as a packed u64, TIME as nanoseconds.
//!
//! The packed form is `((((year*13+month)<<5 | day) << 17 | hour<<12 | minute<<6 | second) << 24) | microsecond`;
//! its unsigned order is the time order. A TIMESTAMP is packed in UTC.

use std::fmt;

/// Which temporal column type a [`Time`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeKind {
    /// `DATE`
    Date,
    /// `DATETIME(fsp)`
    DateTime,
    /// `TIMESTAMP(fsp)`, stored in UTC.
    Timestamp,
}

/// A calendar date and time of day with microseconds (no time zone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    /// 0..=9999
    pub year: u16,
    /// 0..=12
    pub month: u8,
    /// 0..=31
    pub day: u8,
    /// 0..=23
    pub hour: u8,
    /// 0..=59
    pub minute: u8,
    /// 0..=59
    pub second: u8,
    /// 0..=999_999
    pub micro: u32,
}

impl Time {
    /// The all-zero value `0000-00-00 00:00:00`.
    pub const ZERO: Time = Time {
        year: 0,
        month: 0,
        day: 0,
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
    };

    /// TiDB's `ToPackedUint`.
    pub fn to_packed(&self) -> u64 {
        let ymd = ((u64::from(self.year) * 13 + u64::from(self.month)) << 5) | u64::from(self.day);
        let hms =
            (u64::from(self.hour) << 12) | (u64::from(self.minute) << 6) | u64::from(self.second);
        (((ymd << 17) | hms) << 24) | u64::from(self.micro)
    }

    /// Inverse of [`Time::to_packed`].
    pub fn from_packed(p: u64) -> Time {
        let micro = (p & 0xff_ffff) as u32;
        let ymdhms = p >> 24;
        let ymd = ymdhms >> 17;
        let hms = ymdhms & ((1 << 17) - 1);
        let ym = ymd >> 5;
        Time {
            year: (ym / 13) as u16,
            month: (ym % 13) as u8,
            day: (ymd & 31) as u8,
            hour: (hms >> 12) as u8,
            minute: ((hms >> 6) & 63) as u8,
            second: (hms & 63) as u8,
            micro,
        }
    }

    /// True for `0000-00-00 00:00:00`.
    pub fn is_zero(&self) -> bool {
        *self == Time::ZERO
    }

    /// True when the date part is a real calendar date (no zero month/day).
    pub fn is_valid_date(&self) -> bool {
        self.month >= 1
            && self.month <= 12
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    /// Seconds since 1970-01-01 00:00:00 of this wall-clock time read as UTC.
    pub fn to_unix_seconds(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        ) * 86400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The UTC wall-clock time of `secs` since the epoch, with `micro` microseconds.
    pub fn from_unix_seconds(secs: i64, micro: u32) -> Time {
        let days = secs.div_euclid(86400);
        let rem = secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        Time {
            year: y as u16,
            month: m as u8,
            day: d as u8,
            hour: (rem / 3600) as u8,
            minute: ((rem / 60) % 60) as u8,
            second: (rem % 60) as u8,
            micro,
        }
    }

    /// Shifts by whole seconds (for time-zone conversion); zero dates are left alone.
    pub fn add_seconds(&self, delta: i64) -> Time {
        if self.is_zero() || delta == 0 {
            return *self;
        }
        Time::from_unix_seconds(self.to_unix_seconds() + delta, self.micro)
    }

    /// Rounds the microseconds to `fsp` digits (half up), carrying into seconds.
    pub fn round_fsp(&self, fsp: u8) -> Time {
        let fsp = fsp.min(6);
        let unit = 10u32.pow(u32::from(6 - fsp));
        let r = (self.micro + unit / 2) / unit * unit;
        if r < 1_000_000 {
            return Time { micro: r, ..*self };
        }
        let mut t = Time { micro: 0, ..*self };
        if t.is_valid_date() {
            t = Time::from_unix_seconds(t.to_unix_seconds() + 1, 0);
        }
        t
    }
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.micro != 0 {
            write!(f, ".{:06}", self.micro)?;
        }
        Ok(())
    }
}

/// Why a temporal literal could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid time value")]
pub struct TimeParseError;

fn num(s: &[u8]) -> Result<u32, TimeParseError> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return Err(TimeParseError);
    }
    Ok(s.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')))
}

/// Microseconds from up to 6 fraction digits, and whether a 7th digit rounds up.
fn frac_micro(s: &[u8]) -> Result<(u32, bool), TimeParseError> {
    if !s.iter().all(u8::is_ascii_digit) {
        return Err(TimeParseError);
    }
    let mut v = 0u32;
    for i in 0..6 {
        v = v * 10 + s.get(i).map_or(0, |c| u32::from(c - b'0'));
    }
    Ok((v, s.get(6).is_some_and(|&c| c >= b'5')))
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff]`, `YYYY-MM-DD`, `YYYYMMDD[HHMMSS]` and 2-digit years.
/// Ranges are not checked here beyond field widths; see [`Time::is_valid_date`].
pub fn parse_datetime(s: &[u8]) -> Result<Time, TimeParseError> {
    let s = s.trim_ascii();
    if s.is_empty() {
        return Err(TimeParseError);
    }
    let (date, rest) = match s.iter().position(|&c| c == b' ' || c == b'T') {
        Some(p) => (&s[..p], s[p + 1..].trim_ascii_start()),
        None => (s, &[][..]),
    };
    let mut t = Time::ZERO;
    if date.iter().all(u8::is_ascii_digit) && rest.is_empty() {
        // numeric forms: YYYYMMDD, YYMMDD, YYYYMMDDHHMMSS[.f], YYMMDDHHMMSS
        let (d, frac) = match s.iter().position(|&c| c == b'.') {
            Some(p) => (&s[..p], &s[p + 1..]),
            None => (s, &[][..]),
        };
        let (ylen, has_time) = match d.len() {
            8 => (4, false),
            6 => (2, false),
            14 => (4, true),
            12 => (2, true),
            _ => return Err(TimeParseError),
        };
        t.year = adjust_year(num(&d[..ylen])?, ylen)?;
        t.month = num(&d[ylen..ylen + 2])? as u8;
        t.day = num(&d[ylen + 2..ylen + 4])? as u8;
        if has_time {
            t.hour = num(&d[ylen + 4..ylen + 6])? as u8;
            t.minute = num(&d[ylen + 6..ylen + 8])? as u8;
            t.second = num(&d[ylen + 8..ylen + 10])? as u8;
        }
        let (micro, up) = frac_micro(frac)?;
        t.micro = micro;
        return Ok(if up {
            Time {
                micro: micro + 1,
                ..t
            }
            .normalize_micro()
        } else {
            t
        });
    }
    let mut parts = date.split(|&c| c == b'-' || c == b'/' || c == b'.');
    let y = parts.next().ok_or(TimeParseError)?;
    t.year = adjust_year(num(y)?, y.len())?;
    t.month = num(parts.next().ok_or(TimeParseError)?)? as u8;
    t.day = num(parts.next().ok_or(TimeParseError)?)? as u8;
    if parts.next().is_some() {
        return Err(TimeParseError);
    }
    if !rest.is_empty() {
        let (hms, frac) = match rest.iter().position(|&c| c == b'.') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (rest, &[][..]),
        };
        let mut p = hms.split(|&c| c == b':');
        t.hour = num(p.next().ok_or(TimeParseError)?)? as u8;
        t.minute = p.next().map_or(Ok(0), num)? as u8;
        t.second = p.next().map_or(Ok(0), num)? as u8;
        if p.next().is_some() {
            return Err(TimeParseError);
        }
        let (micro, up) = frac_micro(frac)?;
        t.micro = micro;
        if up {
            t = Time {
                micro: micro + 1,
                ..t
            }
            .normalize_micro();
        }
    }
    if t.month > 12 || t.day > 31 || t.hour > 23 || t.minute > 59 || t.second > 59 {
        return Err(TimeParseError);
    }
    Ok(t)
}

impl Time {
    fn normalize_micro(self) -> Time {
        if self.micro < 1_000_000 {
            self
        } else {
            Time {
                micro: 999_999,
                ..self
            }
            .round_fsp(0)
        }
    }
}

fn adjust_year(y: u32, digits: usize) -> Result<u16, TimeParseError> {
    if digits <= 2 {
        Ok(if y < 70 { 2000 + y } else { 1900 + y } as u16)
    } else if y > 9999 {
        Err(TimeParseError)
    } else {
        Ok(y as u16)
    }
}

/// A MySQL TIME value: signed nanoseconds, within ±838:59:59.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    /// Nanoseconds; TiDB keeps microsecond precision, so this is a multiple of 1000.
    pub nanos: i64,
}

/// Largest TIME magnitude, 838:59:59, in nanoseconds.
pub const MAX_DURATION_NANOS: i64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000_000;

impl Duration {
    /// Parses `[-][D ]HH:MM[:SS][.ffffff]` or the numeric `[-]HHMMSS[.ffffff]`; range not clipped.
    pub fn parse(s: &[u8], fsp: u8) -> Result<Duration, TimeParseError> {
        let s = s.trim_ascii();
        let (neg, s) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            _ => (false, s),
        };
        let (body, frac) = match s.iter().position(|&c| c == b'.') {
            Some(p) => (&s[..p], &s[p + 1..]),
            None => (s, &[][..]),
        };
        let (days, body) = match body.iter().position(|&c| c == b' ') {
            Some(p) => (num(&body[..p])?, body[p + 1..].trim_ascii_start()),
            None => (0, body),
        };
        let (h, m, sec) = if body.contains(&b':') {
            let mut p = body.split(|&c| c == b':');
            let h = num(p.next().ok_or(TimeParseError)?)?;
            let m = num(p.next().ok_or(TimeParseError)?)?;
            let sec = p.next().map_or(Ok(0), num)?;
            if p.next().is_some() {
                return Err(TimeParseError);
            }
            (h, m, sec)
        } else {
            let v = num(body)?;
            (v / 10000, (v / 100) % 100, v % 100)
        };
        if m > 59 || sec > 59 {
            return Err(TimeParseError);
        }
        let (micro, up) = frac_micro(frac)?;
        let total_secs =
            i64::from(days) * 86400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec);
        let mut nanos =
            total_secs * 1_000_000_000 + i64::from(micro) * 1000 + if up { 1000 } else { 0 };
        let unit = 10i64.pow(u32::from(9 - fsp.min(6)));
        nanos = (nanos + unit / 2) / unit * unit;
        Ok(Duration {
            nanos: if neg { -nanos } else { nanos },
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos.unsigned_abs();
        let secs = n / 1_000_000_000;
        let micro = (n % 1_000_000_000) / 1000;
        if self.nanos < 0 {
            f.write_str("-")?;
        }
        write!(
            f,
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )?;
        if micro != 0 {
            write!(f, ".{micro:06}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_parse() {
        let t = parse_datetime(b"2011-11-10 11:11:11.999999").unwrap();
        assert_eq!(t.to_packed(), 1840446893366133311);
        assert_eq!(Time::from_packed(t.to_packed()), t);
        assert_eq!(
            parse_datetime(b"20110101").unwrap().to_string(),
            "2011-01-01 00:00:00"
        );
        assert_eq!(
            Time::from_unix_seconds(1234567890 + 8 * 3600, 0).to_string(),
            "2009-02-14 07:31:30"
        );
        assert_eq!(Time::from_unix_seconds(0, 0).to_unix_seconds(), 0);
        assert_eq!(
            Duration::parse(b"1 11:11:11", 0).unwrap().nanos,
            126671000000000
        );
        assert_eq!(Duration::parse(b"-00:00:01", 0).unwrap().nanos, -1000000000);
    }
}
