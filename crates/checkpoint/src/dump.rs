//! `--checkpoint-dump`: the three checkpoint tables as CSV files with a header row, the same
//! columns whichever driver holds them (upstream's dump columns, plus the chunk's engine id).

use std::io::Write;
use std::path::Path;

use crate::error::CheckpointError;

/// Columns of `tables.csv`.
pub const TABLE_COLUMNS: &[&str] = &[
    "task_id",
    "table_name",
    "hash",
    "status",
    "create_time",
    "update_time",
    "auto_rand_base",
    "auto_incr_base",
    "auto_row_id_base",
];
/// Columns of `engines.csv`.
pub const ENGINE_COLUMNS: &[&str] = &[
    "table_name",
    "engine_id",
    "status",
    "create_time",
    "update_time",
];
/// Columns of `chunks.csv`.
pub const CHUNK_COLUMNS: &[&str] = &[
    "table_name",
    "engine_id",
    "path",
    "offset",
    "type",
    "compression",
    "sort_key",
    "file_size",
    "columns",
    "pos",
    "real_pos",
    "end_offset",
    "prev_rowid_max",
    "rowid_max",
    "kvc_bytes",
    "kvc_kvs",
    "kvc_checksum",
    "create_time",
    "update_time",
];

/// Rows of the three dump files, each row in its file's column order.
#[derive(Debug, Default)]
pub(crate) struct DumpRows {
    pub tables: Vec<Vec<String>>,
    pub engines: Vec<Vec<String>>,
    pub chunks: Vec<Vec<String>>,
}

/// Creates `dir` and writes the three files.
pub(crate) fn write_dump(dir: &Path, rows: &DumpRows) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(CheckpointError::io("creating dump folder", dir))?;
    for (name, header, rows) in [
        ("tables.csv", TABLE_COLUMNS, &rows.tables),
        ("engines.csv", ENGINE_COLUMNS, &rows.engines),
        ("chunks.csv", CHUNK_COLUMNS, &rows.chunks),
    ] {
        let path = dir.join(name);
        let mut out = Vec::new();
        write_row(&mut out, header.iter().copied());
        for r in rows {
            write_row(&mut out, r.iter().map(String::as_str));
        }
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&out))
            .map_err(CheckpointError::io("writing dump file", &path))?;
    }
    Ok(())
}

fn write_row<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') {
            out.push(b'"');
            out.extend_from_slice(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(f.as_bytes());
        }
    }
    out.push(b'\n');
}

/// `YYYY-MM-DD HH:MM:SS` in UTC for Unix seconds (the MySQL driver's sessions run in UTC too).
pub(crate) fn format_unix_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        let mut out = Vec::new();
        write_row(&mut out, ["a", "b,c", "say \"hi\"", "", "x\ny"].into_iter());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",,\"x\ny\"\n"
        );
    }

    #[test]
    fn utc_times() {
        assert_eq!(format_unix_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_unix_utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_unix_utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_unix_utc(-1), "1969-12-31 23:59:59");
    }
}
