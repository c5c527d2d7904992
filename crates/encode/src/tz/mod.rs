//! Session time zones for TIMESTAMP: fixed offsets (`+08:00`), IANA names read from the
//! system tz database (`/usr/share/zoneinfo`, Debian package `tzdata`) and `SYSTEM`.
//!
//! Local wall-clock times are converted to UTC exactly as TiDB does through Go's
//! `time.Date` (`pkg/types` `CoreTime.GoTime`): a time repeated by a DST overlap takes
//! the offset Go's lookup finds first (for zones west of UTC the earlier, daylight
//! instant; east of UTC the later one), and a time skipped by a DST gap does not exist —
//! TiDB rejects it in strict mode and otherwise moves it to the nearest edge of the gap
//! (`CoreTime.AdjustedGoTime`), which [`TimeZone::local_to_utc`] reports as
//! [`LocalTime::Gap`].

mod tzif;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tzif::{parse_tzif, Period, Zone, ALPHA, OMEGA};

/// Why a time zone could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TzError {
    /// Not an offset and not a zone the tz database has.
    #[error("unknown time zone `{zone}`: not found in the tz database ({searched}); install the `tzdata` package or set TZDIR")]
    NotFound {
        /// The zone as given.
        zone: String,
        /// Directories searched.
        searched: String,
    },
    /// A malformed offset or zone name, or an unreadable zone file.
    #[error("invalid time zone `{zone}`: {message}")]
    Invalid {
        /// The zone as given.
        zone: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, PartialEq)]
enum Kind {
    Fixed(i32),
    Zone(Zone),
}

/// A session time zone; cheap to clone.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeZone {
    name: String,
    kind: Arc<Kind>,
}

/// A local wall-clock time resolved to UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalTime {
    /// The UTC instant (for an overlap, the one Go's `time.Date` picks).
    Exact(i64),
    /// The time falls in a DST gap; `adjusted` is the UTC instant of the nearest gap edge.
    Gap {
        /// Seconds since the epoch of the adjusted instant.
        adjusted: i64,
    },
    /// In a gap too far (> 4 h) from any transition to adjust (TiDB's error case).
    Invalid,
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::utc()
    }
}

/// Directories searched for zone files: `$TZDIR` first, then the usual system places.
fn zoneinfo_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("TZDIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    for d in [
        "/usr/share/zoneinfo",
        "/usr/lib/zoneinfo",
        "/usr/share/lib/zoneinfo",
        "/etc/zoneinfo",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        TimeZone::fixed(0)
    }

    /// A fixed offset east of UTC, in seconds.
    pub fn fixed(offset_secs: i32) -> Self {
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let a = offset_secs.unsigned_abs();
        TimeZone {
            name: format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60),
            kind: Arc::new(Kind::Fixed(offset_secs)),
        }
    }

    /// Parses a MySQL `time_zone` value: `SYSTEM`, `UTC`, `[+-]hh:mm` or an IANA name.
    pub fn parse(name: &str) -> Result<Self, TzError> {
        let s = name.trim();
        let invalid = |m: &str| TzError::Invalid {
            zone: name.to_string(),
            message: m.to_string(),
        };
        if s.eq_ignore_ascii_case("SYSTEM") {
            return TimeZone::system();
        }
        if s == "UTC" || s.is_empty() {
            return Ok(TimeZone::utc());
        }
        if let Some(rest) = s.strip_prefix(['+', '-']) {
            let (h, m) = rest
                .split_once(':')
                .ok_or_else(|| invalid("an offset is written [+-]hh:mm"))?;
            let ok = (1..=2).contains(&h.len())
                && m.len() == 2
                && h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
            let (h, m): (i32, i32) = match (ok, h.parse(), m.parse()) {
                (true, Ok(h), Ok(m)) if m < 60 => (h, m),
                _ => return Err(invalid("an offset is written [+-]hh:mm")),
            };
            let secs = if s.starts_with('-') {
                -(h * 3600 + m * 60)
            } else {
                h * 3600 + m * 60
            };
            if !(-(13 * 3600 + 59 * 60)..=14 * 3600).contains(&secs) {
                return Err(invalid("offset out of range -13:59..+14:00"));
            }
            return Ok(TimeZone::fixed(secs));
        }
        let clean = !s.starts_with('/')
            && s.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-.".contains(&b));
        if !clean {
            return Err(invalid("not a tz database zone name"));
        }
        let dirs = zoneinfo_dirs();
        for d in &dirs {
            let p = d.join(s);
            if p.is_file() {
                return TimeZone::from_file(s, &p);
            }
        }
        Err(TzError::NotFound {
            zone: s.to_string(),
            searched: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The process's own zone, as Go resolves `time.Local`: `$TZ` (unset: `/etc/localtime`;
    /// empty: UTC), falling back to UTC when `/etc/localtime` does not exist.
    pub fn system() -> Result<Self, TzError> {
        match std::env::var("TZ") {
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz);
                if tz.is_empty() || tz.eq_ignore_ascii_case("SYSTEM") {
                    Ok(TimeZone::utc())
                } else if tz.starts_with('/') {
                    TimeZone::from_file(tz, Path::new(tz))
                } else {
                    TimeZone::parse(tz)
                }
            }
            Err(_) => {
                let p = Path::new("/etc/localtime");
                if p.exists() {
                    let name = std::fs::read_link(p)
                        .ok()
                        .and_then(|t| {
                            let t = t.to_string_lossy().into_owned();
                            t.split_once("zoneinfo/").map(|x| x.1.to_string())
                        })
                        .unwrap_or_else(|| "/etc/localtime".into());
                    TimeZone::from_file(&name, p)
                } else {
                    Ok(TimeZone::utc())
                }
            }
        }
    }

    /// Loads a TZif file under the given display name.
    pub fn from_file(name: &str, path: &Path) -> Result<Self, TzError> {
        let data = std::fs::read(path).map_err(|e| TzError::Invalid {
            zone: name.to_string(),
            message: format!("reading {}: {e}", path.display()),
        })?;
        TimeZone::from_tzif(name, &data)
    }

    /// Builds a zone from TZif bytes.
    pub fn from_tzif(name: &str, data: &[u8]) -> Result<Self, TzError> {
        let zone = parse_tzif(data).map_err(|message| TzError::Invalid {
            zone: name.to_string(),
            message,
        })?;
        Ok(TimeZone {
            name: name.to_string(),
            kind: Arc::new(Kind::Zone(zone)),
        })
    }

    /// The zone's name (`+08:00` for fixed offsets).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for UTC (offset zero, no rules).
    pub fn is_utc(&self) -> bool {
        *self.kind == Kind::Fixed(0)
    }

    fn lookup(&self, sec: i64) -> Period {
        match &*self.kind {
            Kind::Fixed(off) => Period {
                off: *off,
                start: ALPHA,
                end: OMEGA,
            },
            Kind::Zone(z) => z.lookup(sec),
        }
    }

    /// Offset east of UTC in seconds at the UTC instant `utc` (seconds since the epoch).
    pub fn offset_at(&self, utc: i64) -> i32 {
        self.lookup(utc).off
    }

    /// Converts a local wall-clock time (seconds since the epoch read as UTC) to UTC as
    /// Go's `time.Date` does, then checks it maps back as TiDB's `GoTime` does.
    pub fn local_to_utc(&self, local: i64) -> LocalTime {
        let p = self.lookup(local);
        let mut unix = local;
        if p.off != 0 {
            let utc = local - i64::from(p.off);
            let off = if utc < p.start || utc >= p.end {
                self.lookup(utc).off
            } else {
                p.off
            };
            unix = local - i64::from(off);
        }
        let here = self.lookup(unix);
        if unix + i64::from(here.off) == local {
            return LocalTime::Exact(unix);
        }
        // AdjustedGoTime: snap to the nearer bound of the period `unix` fell into,
        // when one is within 4 hours (ties go to the start).
        let dist = |b: i64| (i128::from(b) - i128::from(unix)).abs();
        let (ds, de) = (dist(here.start), dist(here.end));
        if ds > 4 * 3600 && de > 4 * 3600 {
            return LocalTime::Invalid;
        }
        LocalTime::Gap {
            adjusted: if ds <= de { here.start } else { here.end },
        }
    }
}

#[cfg(test)]
mod tests;
