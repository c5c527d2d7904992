//! TIMESTAMP values read in a named session time zone and stored in UTC, with DST gaps
//! and overlaps resolved as TiDB does (needs the system tz database, package `tzdata`).

use lightning_encode::cast::{cast_value, CastContext};
use lightning_encode::table::{ColumnType, FieldType};
use lightning_encode::{Datum, SqlMode, TimeZone};
use lightning_parser::FieldKind;

fn cast(zone: &str, strict: bool, input: &str) -> Result<String, String> {
    let ctx = CastContext {
        sql_mode: SqlMode::parse(if strict { "STRICT_TRANS_TABLES" } else { "" }),
        time_zone: TimeZone::parse(zone).expect("zone (is tzdata installed?)"),
    };
    let mut ft = FieldType::new(ColumnType::Timestamp);
    ft.decimal = 6;
    let mut out = Datum::Null;
    cast_value(FieldKind::Text, input.as_bytes(), &ft, &ctx, &mut out)?;
    Ok(out.to_string())
}

#[test]
fn named_zones_convert_to_utc() {
    let ny = "America/New_York";
    assert_eq!(
        cast(ny, true, "2021-07-01 12:00:00.5").unwrap(),
        "2021-07-01 16:00:00.500000"
    );
    assert_eq!(
        cast(ny, true, "2021-01-15 12:00:00").unwrap(),
        "2021-01-15 17:00:00"
    );
    assert_eq!(
        cast("Asia/Shanghai", true, "2021-06-01 08:00:00").unwrap(),
        "2021-06-01 00:00:00"
    );
    assert_eq!(
        cast("+05:30", true, "2021-06-01 05:30:00").unwrap(),
        "2021-06-01 00:00:00"
    );
    assert_eq!(
        cast("UTC", true, "2021-06-01 05:30:00").unwrap(),
        "2021-06-01 05:30:00"
    );
}

#[test]
fn dst_overlap_takes_gos_choice() {
    // 01:30 happens twice in New York; TiDB (Go's time.Date) takes EDT.
    assert_eq!(
        cast("America/New_York", true, "2021-11-07 01:30:00").unwrap(),
        "2021-11-07 05:30:00"
    );
    // East of UTC Go's lookup lands on the standard-time instant.
    assert_eq!(
        cast("Europe/Berlin", true, "2021-10-31 02:30:00").unwrap(),
        "2021-10-31 01:30:00"
    );
}

#[test]
fn dst_gap_is_an_error_in_strict_mode_and_the_gap_edge_otherwise() {
    let ny = "America/New_York";
    let e = cast(ny, true, "2021-03-14 02:30:00").unwrap_err();
    assert!(e.contains("daylight-saving gap"), "{e}");
    // non-strict: moved to 03:00 EDT (07:00 UTC), fraction dropped, as AdjustedGoTime does
    assert_eq!(
        cast(ny, false, "2021-03-14 02:30:00.25").unwrap(),
        "2021-03-14 07:00:00"
    );
}

#[test]
fn range_is_checked_in_utc() {
    // 1970-01-01 00:00:01 UTC is the minimum; in Shanghai that is 08:00:01 local.
    assert!(cast("Asia/Shanghai", true, "1970-01-01 08:00:00").is_err());
    assert_eq!(
        cast("Asia/Shanghai", true, "1970-01-01 08:00:01").unwrap(),
        "1970-01-01 00:00:01"
    );
    assert_eq!(
        cast("Asia/Shanghai", false, "1970-01-01 07:00:00").unwrap(),
        "0000-00-00 00:00:00"
    );
}
