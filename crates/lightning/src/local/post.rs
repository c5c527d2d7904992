//! The table model from TiDB's status port, key ranges of a table, and the post-restore
//! steps: checksum, analyze, auto-id rebase.

use super::state::{err, Ctx};
use crate::LightningError;
use lightning_cluster::KeyRange;
use lightning_config::{Config, PostOpLevel};
use lightning_encode::table::HandleKind;
use lightning_encode::{key, KvChecksum, MaxIds, TableInfo};
use mysql_async::prelude::Queryable;
use std::sync::Arc;

/// `` `a`.`b` `` with backquotes doubled.
fn quoted(db: &str, table: &str) -> String {
    let q = |s: &str| format!("`{}`", s.replace('`', "``"));
    format!("{}.{}", q(db), q(table))
}

/// Percent-encodes a path segment.
fn escape_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The table's model as TiDB has it (`GET /schema/{db}/{table}` on the status port).
pub(super) async fn fetch_table_info(
    cfg: &Config,
    db: &str,
    table: &str,
) -> Result<TableInfo, LightningError> {
    let url = format!(
        "http://{}:{}/schema/{}/{}",
        cfg.tidb.host,
        cfg.tidb.status_port,
        escape_segment(db),
        escape_segment(table)
    );
    let fail = |m: String| {
        err(format!(
            "reading the schema of {}: {url}: {m}",
            quoted(db, table)
        ))
    };
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| fail(e.to_string()))?;
    if !status.is_success() {
        return Err(fail(format!("{status}: {}", body.trim())));
    }
    TableInfo::from_tidb_json(&body).map_err(|e| fail(e.to_string()))
}

/// Raw `[t{id}, t{id+1})`: every key of the table.
pub(super) fn table_range(id: i64) -> (Vec<u8>, Vec<u8>) {
    let (mut s, mut e) = (Vec::new(), Vec::new());
    key::append_table_prefix(&mut s, id);
    key::append_table_prefix(&mut e, id + 1);
    (s, e)
}

/// What `ADMIN CHECKSUM TABLE` covers: the record range and each index's range.
fn checksum_ranges(info: &TableInfo) -> Vec<KeyRange> {
    let mut p = Vec::new();
    key::append_record_prefix(&mut p, info.id);
    let mut out = vec![KeyRange::new(&p, &key::prefix_end(&p))];
    for ix in &info.indices {
        let mut p = Vec::new();
        key::append_index_prefix(&mut p, info.id, ix.id);
        out.push(KeyRange::new(&p, &key::prefix_end(&p)));
    }
    out
}

async fn exec(ctx: &Ctx, sql: &str) -> Result<(), LightningError> {
    let mut conn = ctx.target.conn().await?;
    conn.query_drop(sql)
        .await
        .map_err(|e| err(format!("{sql}: {e}")))
}

/// `ADMIN CHECKSUM TABLE` over SQL.
async fn sql_checksum(ctx: &Ctx, table: &str) -> Result<KvChecksum, LightningError> {
    let sql = format!("ADMIN CHECKSUM TABLE {table}");
    let mut conn = ctx.target.conn().await?;
    let rows: Vec<mysql_async::Row> = conn
        .query(sql.as_str())
        .await
        .map_err(|e| err(format!("{sql}: {e}")))?;
    let row = rows
        .first()
        .ok_or_else(|| err(format!("{sql}: no row returned")))?;
    let num = |i: usize| -> Result<u64, LightningError> {
        row.get_opt::<u64, usize>(i)
            .and_then(|r| r.ok())
            .ok_or_else(|| err(format!("{sql}: column {i} is not a number")))
    };
    Ok(KvChecksum {
        crc: num(2)?,
        kvs: num(3)?,
        bytes: num(4)?,
    })
}

/// The table's checksum as the cluster holds it now: TiKV's coprocessor over the record and
/// index ranges, or `ADMIN CHECKSUM TABLE` with `checksum-via-sql`.
pub(super) async fn remote_checksum(
    ctx: &Arc<Ctx>,
    name: &str,
    db: &str,
    table: &str,
    info: &TableInfo,
) -> Result<KvChecksum, LightningError> {
    if ctx.cfg.post_restore.checksum_via_sql {
        return sql_checksum(ctx, &quoted(db, table)).await;
    }
    let ts = ctx
        .backend
        .cluster
        .commit_ts()
        .await
        .map_err(|e| err(format!("{name}: getting a ts from PD: {e}")))?;
    ctx.backend
        .cluster
        .checksum_ranges(&checksum_ranges(info), ts)
        .await
        .map_err(|e| err(format!("{name}: remote checksum: {e}")))
}

/// `[post-restore] checksum`: compares what the cluster holds with `local`, the checksum of
/// what was encoded plus that of the rows the table held before (an incremental import).
pub(super) async fn checksum(
    ctx: &Arc<Ctx>,
    name: &str,
    db: &str,
    table: &str,
    info: &TableInfo,
    local: &KvChecksum,
) -> Result<(), LightningError> {
    let _timer = crate::metrics::metrics().checksum_seconds.start_timer();
    let level = ctx.cfg.post_restore.checksum;
    if level == PostOpLevel::Off {
        return Ok(());
    }
    let remote = remote_checksum(ctx, name, db, table, info).await;
    let outcome = remote.and_then(|r| {
        if r == *local {
            tracing::info!(table = %name, crc = local.crc, kvs = local.kvs, bytes = local.bytes, "checksum matched");
            Ok(())
        } else {
            Err(err(format!(
                "checksum mismatched for {name}: local crc {:#x} kvs {} bytes {}, remote crc {:#x} kvs {} bytes {}; likely causes: rows with duplicate primary or unique keys in the source (set [conflict] strategy = \"error\" to find them), data written to the table during the import, or a table that was not empty before it",
                local.crc, local.kvs, local.bytes, r.crc, r.kvs, r.bytes
            )))
        }
    });
    match (outcome, level) {
        (Ok(()), _) => Ok(()),
        (Err(e), PostOpLevel::Required) => Err(e),
        (Err(e), _) => {
            tracing::warn!(table = %name, error = %e, "checksum failed; going on as [post-restore] checksum = \"optional\"");
            Ok(())
        }
    }
}

/// `[post-restore] analyze`.
pub(super) async fn analyze(ctx: &Arc<Ctx>, name: &str) -> Result<(), LightningError> {
    match ctx.cfg.post_restore.analyze {
        PostOpLevel::Off => Ok(()),
        level => match exec(ctx, &format!("ANALYZE TABLE {name}")).await {
            Err(e) if level == PostOpLevel::Required => Err(e),
            Err(e) => {
                tracing::warn!(table = %name, error = %e, "analyze failed; going on");
                Ok(())
            }
            Ok(()) => Ok(()),
        },
    }
}

/// Moves TiDB's allocators above the ids the import used, so later inserts do not collide.
pub(super) async fn rebase_auto_ids(
    ctx: &Arc<Ctx>,
    name: &str,
    info: &TableInfo,
    max: MaxIds,
) -> Result<(), LightningError> {
    // Tables keyed by `_tidb_rowid` share the allocator AUTO_INCREMENT moves (TiDB rebases
    // the row-id allocator with it), as upstream rebases them. Nothing imported: nothing
    // to move past (and FORCE could lower the base).
    let row_ids = matches!(info.handle, HandleKind::RowId);
    if max.row_id > 0
        && info.auto_random_column().is_none()
        && (row_ids || info.columns.iter().any(|c| c.auto_increment))
    {
        let next = max.row_id.saturating_add(1);
        exec(
            ctx,
            &format!("ALTER TABLE {name} FORCE AUTO_INCREMENT = {next}"),
        )
        .await?;
    }
    if info.auto_random_column().is_some() {
        let next = max.auto_random.saturating_add(1).max(1);
        exec(
            ctx,
            &format!("ALTER TABLE {name} FORCE AUTO_RANDOM_BASE = {next}"),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_table_range() {
        assert_eq!(quoted("d", "a`b"), "`d`.`a``b`");
        assert_eq!(escape_segment("a b/中"), "a%20b%2F%E4%B8%AD");
        let (s, e) = table_range(5);
        assert!(s < e && s.starts_with(b"t"));
    }
}
