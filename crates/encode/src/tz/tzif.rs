//! Reading compiled zone files (TZif, RFC 8536) and the POSIX `TZ` rule in their footer.
//!
//! Only what a UTC offset lookup needs is kept: transition instants, each period's
//! offset and DST bit, and the footer rule that extends the table past its last entry
//! (zone files built "slim" stop listing transitions once the rule takes over).

use crate::time::{days_from_civil, days_in_month};

/// Far past / far future: the open ends of a period.
pub(crate) const ALPHA: i64 = i64::MIN;
/// See [`ALPHA`].
pub(crate) const OMEGA: i64 = i64::MAX;

/// One local time type: offset east of UTC and whether it is daylight-saving time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalType {
    pub off: i32,
    pub dst: bool,
}

/// A zone's transition table plus its extension rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Zone {
    pub types: Vec<LocalType>,
    /// (UTC instant, index into `types`), ascending.
    pub tx: Vec<(i64, usize)>,
    pub rule: Option<Rule>,
}

/// The period containing an instant: offset east of UTC and its bounds `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Period {
    pub off: i32,
    pub start: i64,
    pub end: i64,
}

impl Zone {
    /// Go's `Location.lookup`: the period containing `sec` (seconds since the epoch, UTC).
    pub fn lookup(&self, sec: i64) -> Period {
        let first = self.tx.first().map(|t| t.0);
        if first.is_none_or(|f| sec < f) {
            let off = self.types.get(self.first_zone()).map_or(0, |t| t.off);
            if first.is_none() {
                if let Some(r) = &self.rule {
                    return r.lookup(sec, ALPHA);
                }
            }
            return Period {
                off,
                start: ALPHA,
                end: first.unwrap_or(OMEGA),
            };
        }
        let i = self.tx.partition_point(|t| t.0 <= sec) - 1;
        let (start, ty) = self.tx[i];
        let off = self.types.get(ty).map_or(0, |t| t.off);
        match self.tx.get(i + 1) {
            Some(&(end, _)) => Period { off, start, end },
            None => match &self.rule {
                Some(r) => r.lookup(sec, start),
                None => Period {
                    off,
                    start,
                    end: OMEGA,
                },
            },
        }
    }

    /// Go's `lookupFirstZone`: the type in effect before the first transition.
    fn first_zone(&self) -> usize {
        if !self.tx.iter().any(|t| t.1 == 0) {
            return 0;
        }
        if let Some(&(_, first)) = self.tx.first() {
            if self.types.get(first).is_some_and(|t| t.dst) {
                if let Some(zi) = (0..first).rev().find(|&zi| !self.types[zi].dst) {
                    return zi;
                }
            }
        }
        self.types.iter().position(|t| !t.dst).unwrap_or(0)
    }
}

fn be(b: &[u8], at: usize, n: usize) -> Result<i64, String> {
    let s = b.get(at..at + n).ok_or("truncated zone file")?;
    Ok(match n {
        4 => i64::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        _ => i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
    })
}

/// Parses a TZif file (versions 1–4); the 64-bit block and footer rule when present.
pub(crate) fn parse_tzif(data: &[u8]) -> Result<Zone, String> {
    let header = |at: usize| -> Result<[usize; 6], String> {
        if data.get(at..at + 4) != Some(b"TZif") {
            return Err("not a TZif file".into());
        }
        let mut c = [0usize; 6];
        for (k, v) in c.iter_mut().enumerate() {
            *v = usize::try_from(be(data, at + 20 + 4 * k, 4)?).map_err(|_| "bad count")?;
        }
        Ok(c) // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    };
    let block_len = |c: &[usize; 6], tsz: usize| {
        c[3] * tsz + c[3] + c[4] * 6 + c[5] + c[2] * (tsz + 4) + c[1] + c[0]
    };
    let c1 = header(0)?;
    let version = *data.get(4).ok_or("truncated zone file")?;
    let (at, c, tsz) = if version >= b'2' {
        let at2 = 44 + block_len(&c1, 4);
        (at2 + 44, header(at2)?, 8)
    } else {
        (44, c1, 4)
    };
    let (timecnt, typecnt) = (c[3], c[4]);
    if typecnt == 0 {
        return Err("zone file has no local time types".into());
    }
    let idx_at = at + timecnt * tsz;
    let types_at = idx_at + timecnt;
    let mut types = Vec::with_capacity(typecnt);
    for k in 0..typecnt {
        let p = types_at + 6 * k;
        let off = i32::try_from(be(data, p, 4)?).map_err(|_| "bad offset")?;
        let dst = *data.get(p + 4).ok_or("truncated zone file")? != 0;
        types.push(LocalType { off, dst });
    }
    let mut tx = Vec::with_capacity(timecnt);
    for k in 0..timecnt {
        let when = be(data, at + tsz * k, tsz)?;
        let ty = usize::from(*data.get(idx_at + k).ok_or("truncated zone file")?);
        if ty >= typecnt {
            return Err("transition to an unknown local time type".into());
        }
        tx.push((when, ty));
    }
    let mut rule = None;
    if tsz == 8 {
        let end = at + block_len(&c, 8);
        if let Some(footer) = data.get(end..).and_then(|f| f.strip_prefix(b"\n")) {
            let text = footer.split(|&b| b == b'\n').next().unwrap_or_default();
            if !text.is_empty() {
                let s = std::str::from_utf8(text).map_err(|_| "footer is not text")?;
                rule = Some(Rule::parse(s).ok_or_else(|| format!("bad TZ rule {s:?}"))?);
            }
        }
    }
    Ok(Zone { types, tx, rule })
}

/// A day in a POSIX rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleDay {
    /// `Jn`: 1..=365, February 29 never counted.
    Julian1(i64),
    /// `n`: 0..=365, February 29 counted.
    Julian0(i64),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Mwd(u8, u8, u8),
}

/// A rule day and the local time of day (seconds, may be negative or past 24 h) it switches at.
type Edge = (RuleDay, i64);

/// A POSIX `TZ` rule such as `EST5EDT,M3.2.0,M11.1.0` (offsets stored east of UTC).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    std_off: i32,
    /// DST offset and the (day, local seconds) it starts and ends.
    dst: Option<(i32, Edge, Edge)>,
}

struct Cur<'a>(&'a [u8]);

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let y = self.peek() == Some(c);
        if y {
            self.0 = &self.0[1..];
        }
        y
    }
    fn name(&mut self) -> Option<()> {
        let n = if self.eat(b'<') {
            let n = self.0.iter().position(|&b| b == b'>')?;
            self.0 = &self.0[n + 1..];
            n
        } else {
            let n = self
                .0
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            self.0 = &self.0[n..];
            n
        };
        (n >= 3).then_some(())
    }
    fn num(&mut self) -> Option<i64> {
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let v = std::str::from_utf8(&self.0[..n]).ok()?.parse().ok()?;
        self.0 = &self.0[n..];
        Some(v)
    }
    /// `[+-]hh[:mm[:ss]]` in seconds (sign as written).
    fn hms(&mut self) -> Option<i64> {
        let neg = self.eat(b'-');
        if !neg {
            self.eat(b'+');
        }
        let mut v = self.num()? * 3600;
        if self.eat(b':') {
            v += self.num()? * 60;
            if self.eat(b':') {
                v += self.num()?;
            }
        }
        Some(if neg { -v } else { v })
    }
    fn day(&mut self) -> Option<(RuleDay, i64)> {
        let d = if self.eat(b'J') {
            RuleDay::Julian1(self.num()?)
        } else if self.eat(b'M') {
            let m = u8::try_from(self.num()?).ok()?;
            let (true, Some(w)) = (self.eat(b'.'), self.num()) else {
                return None;
            };
            let (true, Some(d)) = (self.eat(b'.'), self.num()) else {
                return None;
            };
            if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
                return None;
            }
            RuleDay::Mwd(m, w as u8, d as u8)
        } else {
            RuleDay::Julian0(self.num()?)
        };
        let time = if self.eat(b'/') { self.hms()? } else { 7200 };
        Some((d, time))
    }
}

impl Rule {
    /// Parses a POSIX TZ string; `None` when malformed.
    pub fn parse(s: &str) -> Option<Rule> {
        let mut c = Cur(s.as_bytes());
        c.name()?;
        let std_off = -i32::try_from(c.hms()?).ok()?;
        if c.peek().is_none() {
            return Some(Rule { std_off, dst: None });
        }
        c.name()?;
        let dst_off = match c.peek() {
            Some(b',') | None => std_off + 3600,
            _ => -i32::try_from(c.hms()?).ok()?,
        };
        let (start, end) = if c.eat(b',') {
            let start = c.day()?;
            if !c.eat(b',') {
                return None;
            }
            (start, c.day()?)
        } else {
            // Go's default for a DST zone without a rule: US rules since 2007.
            (
                (RuleDay::Mwd(3, 2, 0), 7200),
                (RuleDay::Mwd(11, 1, 0), 7200),
            )
        };
        c.peek().is_none().then_some(Rule {
            std_off,
            dst: Some((dst_off, start, end)),
        })
    }

    /// The period containing `sec`, not starting before `floor` (the zone's last listed transition).
    pub fn lookup(&self, sec: i64, floor: i64) -> Period {
        let Some((dst_off, start, end)) = self.dst else {
            return Period {
                off: self.std_off,
                start: floor,
                end: OMEGA,
            };
        };
        let year =
            crate::time::Time::from_unix_seconds(sec.saturating_add(i64::from(self.std_off)), 0)
                .year;
        let mut edges: Vec<(i64, i32)> = Vec::with_capacity(6);
        for y in [i64::from(year) - 1, i64::from(year), i64::from(year) + 1] {
            let at = |(d, t): (RuleDay, i64), off: i32| day_of(y, d) * 86400 + t - i64::from(off);
            edges.push((at(start, self.std_off), dst_off));
            edges.push((at(end, dst_off), self.std_off));
        }
        edges.sort_unstable();
        let i = edges.partition_point(|e| e.0 <= sec);
        let (begin, off) = if i == 0 {
            (ALPHA, edges.last().map_or(self.std_off, |e| e.1))
        } else {
            edges[i - 1]
        };
        Period {
            off,
            start: begin.max(floor),
            end: edges.get(i).map_or(OMEGA, |e| e.0),
        }
    }
}

/// Days since the epoch of a rule's day in year `y`.
fn day_of(y: i64, d: RuleDay) -> i64 {
    let jan1 = days_from_civil(y, 1, 1);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match d {
        RuleDay::Julian1(n) => jan1 + n - 1 + i64::from(leap && n >= 60),
        RuleDay::Julian0(n) => jan1 + n,
        RuleDay::Mwd(m, w, wd) => {
            let first = days_from_civil(y, i64::from(m), 1);
            let first_wd = (first + 4).rem_euclid(7); // 1970-01-01 was a Thursday
            let mut day = first + (i64::from(wd) - first_wd).rem_euclid(7) + 7 * (i64::from(w) - 1);
            let len = i64::from(days_in_month(y.clamp(0, 9999) as u16, m));
            while day >= first + len {
                day -= 7;
            }
            day
        }
    }
}
