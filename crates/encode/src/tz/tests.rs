use super::*;
use crate::time::Time;

fn secs(y: u16, mo: u8, d: u8, h: u8, mi: u8) -> i64 {
    Time {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: 0,
        micro: 0,
    }
    .to_unix_seconds()
}

/// Zones from the system tz database (Debian package `tzdata`).
fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap_or_else(|e| panic!("these tests need the tzdata package: {e}"))
}

/// A version-2 TZif file with no transitions, only a footer rule (like a "slim" build).
fn rule_only_tzif(rule: &str) -> Vec<u8> {
    let mut header = b"TZif2".to_vec();
    header.extend([0u8; 15]);
    for c in [0u32, 0, 0, 0, 1, 4] {
        header.extend(c.to_be_bytes());
    }
    let block: Vec<u8> = (-18000i32)
        .to_be_bytes()
        .into_iter()
        .chain([0, 0])
        .chain(*b"EST\0")
        .collect();
    let mut f = header.clone();
    f.extend(&block);
    f.extend(&header);
    f.extend(&block);
    f.extend(format!("\n{rule}\n").bytes());
    f
}

fn check_new_york(ny: &TimeZone) {
    // plain winter and summer times
    assert_eq!(
        ny.local_to_utc(secs(2021, 1, 15, 12, 0)),
        LocalTime::Exact(secs(2021, 1, 15, 17, 0))
    );
    assert_eq!(
        ny.local_to_utc(secs(2021, 7, 1, 12, 0)),
        LocalTime::Exact(secs(2021, 7, 1, 16, 0))
    );
    // 2021-03-14 02:30 does not exist: TiDB moves it to 03:00 EDT = 07:00 UTC.
    assert_eq!(
        ny.local_to_utc(secs(2021, 3, 14, 2, 30)),
        LocalTime::Gap {
            adjusted: secs(2021, 3, 14, 7, 0)
        }
    );
    // 2021-11-07 01:30 happens twice: Go picks EDT (the earlier instant, 05:30 UTC).
    assert_eq!(
        ny.local_to_utc(secs(2021, 11, 7, 1, 30)),
        LocalTime::Exact(secs(2021, 11, 7, 5, 30))
    );
    assert_eq!(ny.offset_at(secs(2021, 11, 7, 5, 59)), -4 * 3600);
    assert_eq!(ny.offset_at(secs(2021, 11, 7, 6, 0)), -5 * 3600);
    // far past the last listed transition: the footer rule
    assert_eq!(
        ny.local_to_utc(secs(2100, 7, 1, 12, 0)),
        LocalTime::Exact(secs(2100, 7, 1, 16, 0))
    );
}

#[test]
fn new_york_gap_and_overlap() {
    check_new_york(&zone("America/New_York"));
}

#[test]
fn footer_rule_alone_gives_the_same_answers() {
    let ny = TimeZone::from_tzif("test/NY", &rule_only_tzif("EST5EDT,M3.2.0,M11.1.0")).unwrap();
    check_new_york(&ny);
}

#[test]
fn east_of_utc_overlap_takes_the_later_instant() {
    let berlin = zone("Europe/Berlin");
    // 2021-10-31 02:30 happens twice; Go's lookup lands on CET (01:30 UTC).
    assert_eq!(
        berlin.local_to_utc(secs(2021, 10, 31, 2, 30)),
        LocalTime::Exact(secs(2021, 10, 31, 1, 30))
    );
    // 2021-03-28 02:30 does not exist: moved to 03:00 CEST = 01:00 UTC.
    assert_eq!(
        berlin.local_to_utc(secs(2021, 3, 28, 2, 30)),
        LocalTime::Gap {
            adjusted: secs(2021, 3, 28, 1, 0)
        }
    );
}

#[test]
fn southern_hemisphere_and_no_dst() {
    let syd = zone("Australia/Sydney");
    assert_eq!(syd.offset_at(secs(2021, 1, 1, 0, 0)), 11 * 3600);
    assert_eq!(syd.offset_at(secs(2021, 7, 1, 0, 0)), 10 * 3600);
    let sh = zone("Asia/Shanghai");
    assert_eq!(
        sh.local_to_utc(secs(2021, 6, 1, 12, 0)),
        LocalTime::Exact(secs(2021, 6, 1, 4, 0))
    );
}

#[test]
fn offsets_and_errors() {
    assert_eq!(TimeZone::parse("+08:00").unwrap().offset_at(0), 8 * 3600);
    assert_eq!(
        TimeZone::parse("-05:30").unwrap().offset_at(0),
        -(5 * 3600 + 1800)
    );
    assert_eq!(TimeZone::parse("+8:00").unwrap().name(), "+08:00");
    assert!(TimeZone::parse("UTC").unwrap().is_utc());
    for bad in ["+8", "+15:00", "+08:60", "../etc/passwd", "/etc/passwd"] {
        assert!(
            matches!(TimeZone::parse(bad), Err(TzError::Invalid { .. })),
            "{bad}"
        );
    }
    let e = TimeZone::parse("Mars/Olympus_Mons").unwrap_err();
    assert!(matches!(e, TzError::NotFound { .. }));
    assert!(e.to_string().contains("Mars/Olympus_Mons"), "{e}");
}

#[test]
fn posix_rules() {
    use tzif::Rule;
    for ok in [
        "EST5EDT,M3.2.0,M11.1.0",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "<+0330>-3:30",
        "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
        "IST-2IDT,M3.4.4/26,M10.5.0",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
        "XXX3YYY,J60/0,300/25",
    ] {
        assert!(Rule::parse(ok).is_some(), "{ok}");
    }
    for bad in ["E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.1.0,M11.1.0"] {
        assert!(Rule::parse(bad).is_none(), "{bad}");
    }
}
