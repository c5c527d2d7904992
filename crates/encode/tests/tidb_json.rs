//! `TableInfo::from_tidb_json` on documents in the shape TiDB's status API
//! (`GET /schema/{db}/{table}`) returns, against `parse_create_table` of the same DDL:
//! equal models and byte-identical KVs; and `to_tidb_json` round trips.

use lightning_encode::ddl::parse_create_table;
use lightning_encode::table::HandleKind;
use lightning_encode::{EncodeOptions, Encoder, KvPairs, SchemaError, TableInfo, TimeZone};
use lightning_parser::{Field, FieldKind};

/// One `model.ColumnInfo` as TiDB marshals it.
#[allow(clippy::too_many_arguments)]
fn col(
    id: i64,
    name: &str,
    offset: usize,
    ty: (u8, u32, i64, i64),
    cs: (&str, &str),
    default: &str,
    extra: &str,
    state: u8,
) -> String {
    let (tp, flag, flen, dec) = ty;
    format!(
        r#"{{"id":{id},"name":{{"O":"{name}","L":"{l}"}},"offset":{offset},"origin_default":{default},"origin_default_bit":null,"default":{default},"default_bit":null,"default_is_expr":false,"generated_expr_string":"","generated_stored":false,"dependences":null,"type":{{"Tp":{tp},"Flag":{flag},"Flen":{flen},"Decimal":{dec},"Charset":"{c}","Collate":"{k}","Elems":null,"ElemsIsBinaryLit":null,"Array":false}},"state":{state},"comment":"","hidden":false,"change_state_info":null,"version":2{extra}}}"#,
        l = name.to_lowercase(),
        c = cs.0,
        k = cs.1,
    )
}

/// One `model.IndexInfo`; `cols` are (name, offset, length).
fn idx(
    id: i64,
    name: &str,
    cols: &[(&str, usize, i64)],
    unique: bool,
    primary: bool,
    state: u8,
) -> String {
    let cols: Vec<String> = cols
        .iter()
        .map(|(n, o, len)| {
            format!(r#"{{"name":{{"O":"{n}","L":"{n}"}},"offset":{o},"length":{len}}}"#)
        })
        .collect();
    format!(
        r#"{{"id":{id},"idx_name":{{"O":"{name}","L":"{l}"}},"tbl_name":{{"O":"","L":""}},"idx_cols":[{}],"state":{state},"backfill_state":0,"comment":"","index_type":1,"is_unique":{unique},"is_primary":{primary},"is_invisible":false,"is_global":false,"mv_index":false}}"#,
        cols.join(","),
        l = name.to_lowercase()
    )
}

/// A `model.TableInfo` around the given columns and indexes.
fn table(id: i64, name: &str, cols: &[String], idxs: &[String], extra: &str) -> String {
    format!(
        r#"{{"id":{id},"name":{{"O":"{name}","L":"{name}"}},"charset":"utf8mb4","collate":"utf8mb4_bin","cols":[{}],"index_info":[{}],"constraint_info":null,"fk_info":null,"state":5,"comment":"","auto_inc_id":0,"auto_id_cache":0,"auto_rand_id":0,"max_col_id":{},"max_idx_id":{},"max_fk_id":0,"max_cst_id":0,"update_timestamp":449630244178804737,"max_shard_row_id_bits":0,"pre_split_regions":0,"partition":null,"compression":"","view":null,"sequence":null,"Lock":null,"version":5,"tiflash_replica":null,"is_columnar":false,"temp_table_type":0,"cache_table_status":0,"policy_ref_info":null,"stats_options":null,"exchange_partition_info":null,"ttl_info":null,"revision":1{extra}}}"#,
        cols.join(","),
        idxs.join(","),
        cols.len(),
        idxs.len(),
    )
}

const BIN: (&str, &str) = ("binary", "binary");
const U8B: (&str, &str) = ("utf8mb4", "utf8mb4_bin");

fn f(kind: FieldKind, s: &str) -> Field<'_> {
    Field {
        kind,
        bytes: s.as_bytes(),
    }
}

fn kvs(t: &TableInfo, opts: &EncodeOptions, row: &[Field<'_>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut enc = Encoder::new(t, opts.clone()).expect("encoder");
    let mut out = KvPairs::new();
    enc.encode_row(row, 7, &mut out).expect("row");
    out.iter()
        .map(|p| (p.key.to_vec(), p.value.to_vec()))
        .collect()
}

/// The JSON model equals the DDL model, both encode `row` identically, and the DDL model
/// survives `to_tidb_json` → `from_tidb_json`.
fn check(json: &str, ddl: &str, row: &[Field<'_>], opts: &EncodeOptions) -> TableInfo {
    let from_json = TableInfo::from_tidb_json(json).expect("from json");
    let table_id = from_json.id;
    let from_ddl = parse_create_table(ddl, table_id).expect("ddl");
    assert_eq!(from_json, from_ddl);
    let a = kvs(&from_json, opts, row);
    assert!(!a.is_empty());
    assert_eq!(a, kvs(&from_ddl, opts, row));
    let back = TableInfo::from_tidb_json(&from_ddl.to_tidb_json()).expect("round trip");
    assert_eq!(back, from_ddl);
    from_json
}

#[test]
fn int_primary_key_with_secondary_index() {
    let json = table(
        104,
        "sbtest1",
        &[
            col(1, "id", 0, (3, 515 | 128, 11, 0), BIN, "null", "", 5),
            col(2, "k", 1, (3, 1 | 8 | 128, 11, 0), BIN, r#""0""#, "", 5),
            col(3, "c", 2, (254, 1, 120, 0), U8B, r#""""#, "", 5),
            col(4, "pad", 3, (254, 1, 60, 0), U8B, r#""""#, "", 5),
        ],
        &[idx(1, "k_1", &[("k", 1, -1)], false, false, 5)],
        r#","pk_is_handle":true,"is_common_handle":false,"common_handle_version":0,"ShardRowIDBits":0,"auto_random_bits":0,"auto_random_range_bits":0"#,
    );
    let ddl = "CREATE TABLE `sbtest1` (`id` int(11) NOT NULL AUTO_INCREMENT, `k` int(11) NOT NULL DEFAULT '0', \
        `c` char(120) NOT NULL DEFAULT '', `pad` char(60) NOT NULL DEFAULT '', \
        PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */, KEY `k_1` (`k`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    let n = FieldKind::Number;
    let t = check(
        &json,
        ddl,
        &[
            f(n, "1"),
            f(n, "42"),
            f(FieldKind::Text, "hello"),
            f(FieldKind::Text, "pad"),
        ],
        &EncodeOptions::default(),
    );
    assert_eq!(t.handle, HandleKind::IntPk { offset: 0 });
    assert_eq!((t.id, t.indices[0].id, t.columns[3].id), (104, 1, 4));
}

#[test]
fn clustered_common_handle() {
    let gci = ("utf8mb4", "utf8mb4_general_ci");
    let json = table(
        210,
        "t2",
        &[
            col(1, "a", 0, (15, 1 | 2, 32, 0), gci, "null", "", 5),
            col(2, "b", 1, (3, 1 | 2 | 128, 11, 0), BIN, "null", "", 5),
            col(3, "c", 2, (246, 4 | 128, 10, 2), BIN, "null", "", 5),
            col(4, "d", 3, (12, 128, 23, 3), BIN, "null", "", 5),
        ],
        &[
            idx(1, "PRIMARY", &[("a", 0, -1), ("b", 1, -1)], true, true, 5),
            idx(2, "uc", &[("c", 2, -1)], true, false, 5),
            idx(3, "pa", &[("a", 0, 4)], false, false, 5),
        ],
        r#","pk_is_handle":false,"is_common_handle":true,"common_handle_version":1,"ShardRowIDBits":0,"auto_random_bits":0,"auto_random_range_bits":0"#,
    )
    .replace(r#""charset":"utf8mb4","collate":"utf8mb4_bin""#, r#""charset":"utf8mb4","collate":"utf8mb4_general_ci""#);
    let ddl = "CREATE TABLE `t2` (`a` varchar(32) NOT NULL, `b` int NOT NULL, `c` decimal(10,2) DEFAULT NULL, \
        `d` datetime(3) DEFAULT NULL, PRIMARY KEY (`a`,`b`) /*T![clustered_index] CLUSTERED */, \
        UNIQUE KEY `uc` (`c`), KEY `pa` (`a`(4))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
    let (n, s) = (FieldKind::Number, FieldKind::Text);
    let row = [
        f(s, "Héllo Wörld"),
        f(n, "-3"),
        f(n, "12.345"),
        f(s, "2021-03-14 02:30:00.1234"),
    ];
    let t = check(&json, ddl, &row, &EncodeOptions::default());
    assert_eq!(t.handle, HandleKind::Clustered { index: 0 });
    assert_eq!(t.indices[2].columns[0].length, Some(4));
}

#[test]
fn hidden_row_id_shard_bits_and_non_public_elements() {
    let json = table(
        300,
        "t3",
        &[
            col(1, "x", 0, (8, 4 | 32 | 128, 20, 0), BIN, "null", "", 5),
            col(
                2,
                "y",
                1,
                (15, 0, 10, 0),
                ("latin1", "latin1_bin"),
                "null",
                "",
                5,
            ),
            col(3, "z", 2, (247, 1, -1, 0), U8B, r#""b""#, "", 5)
                .replace(r#""Elems":null"#, r#""Elems":["a","b"]"#),
            col(4, "w", 3, (16, 32, 4, 0), BIN, r#""\u0005""#, "", 5)
                .replace(r#""default_bit":null"#, r#""default_bit":"BQ==""#),
            // being dropped: moved to the end, no longer written
            col(5, "gone", 4, (3, 128, 11, 0), BIN, "null", "", 1),
        ],
        &[
            idx(1, "ux", &[("x", 0, -1)], true, false, 5),
            // being dropped
            idx(2, "iy", &[("y", 1, -1)], false, false, 4),
        ],
        r#","pk_is_handle":false,"is_common_handle":false,"common_handle_version":0,"ShardRowIDBits":4,"auto_random_bits":0,"auto_random_range_bits":0"#,
    );
    let ddl = "CREATE TABLE `t3` (`x` bigint unsigned DEFAULT NULL, \
        `y` varchar(10) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT NULL, \
        `z` enum('a','b') NOT NULL DEFAULT 'b', `w` bit(4) DEFAULT b'101', UNIQUE KEY `ux` (`x`)) \
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin /*T! SHARD_ROW_ID_BITS=4 */";
    let n = FieldKind::Number;
    let row = [
        f(n, "18446744073709551615"),
        f(FieldKind::Text, "abc"),
        f(FieldKind::Text, "a"),
        f(FieldKind::Binary, "\x03"),
    ];
    let t = check(&json, ddl, &row, &EncodeOptions::default());
    assert_eq!(
        (t.handle.clone(), t.shard_row_id_bits),
        (HandleKind::RowId, 4)
    );
    assert_eq!((t.columns.len(), t.indices.len()), (4, 1));
    // a column or index still being added is written by TiDB with a backfill: refused
    let write_only = json.replacen(r#""state":4"#, r#""state":2"#, 1);
    match TableInfo::from_tidb_json(&write_only) {
        Err(SchemaError::Unsupported { message, .. }) => {
            assert!(
                message.contains("index `iy`") && message.contains("write only"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn auto_random_and_named_time_zone() {
    let json = table(
        400,
        "t4",
        &[
            col(
                1,
                "id",
                0,
                (8, 1 | 2 | 128 | 4096, 20, 0),
                BIN,
                "null",
                "",
                5,
            ),
            col(2, "v", 1, (15, 0, 20, 0), U8B, r#""x""#, "", 5),
            col(
                3,
                "ts",
                2,
                (7, 128 | 8192, 19, 0),
                BIN,
                r#""CURRENT_TIMESTAMP""#,
                "",
                5,
            ),
        ],
        &[],
        r#","pk_is_handle":true,"is_common_handle":false,"common_handle_version":0,"ShardRowIDBits":0,"auto_random_bits":5,"auto_random_range_bits":54"#,
    );
    let ddl = "CREATE TABLE `t4` (`id` bigint NOT NULL /*T![auto_rand] AUTO_RANDOM(5, 54) */, \
        `v` varchar(20) DEFAULT 'x', `ts` timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
        PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    let opts = EncodeOptions {
        time_zone: TimeZone::parse("America/New_York").expect("tzdata installed"),
        ..Default::default()
    };
    let row = [
        f(FieldKind::Number, "9"),
        f(FieldKind::Text, "v"),
        f(FieldKind::Text, "2021-11-07 01:30:00"),
    ];
    let t = check(&json, ddl, &row, &opts);
    assert_eq!(t.columns[0].auto_random, Some((5, 54)));
    assert!(t.columns[2].on_update_now);
    assert!(json.contains(r#""auto_random_bits":5"#));
    let out = t.to_tidb_json();
    for key in [
        r#""pk_is_handle":true"#,
        r#""ShardRowIDBits":0"#,
        r#""auto_random_range_bits":54"#,
        r#""max_col_id":3"#,
        r#""Tp":7"#,
    ] {
        assert!(out.contains(key), "{key} in {out}");
    }
}

#[test]
fn refuses_what_it_cannot_model() {
    let base = table(
        1,
        "p",
        &[col(1, "a", 0, (3, 128, 11, 0), BIN, "null", "", 5)],
        &[],
        "",
    );
    let part = base.replace(
        r#""partition":null"#,
        r#""partition":{"type":1,"expr":"`a`","enable":true,"definitions":[]}"#,
    );
    assert!(matches!(
        TableInfo::from_tidb_json(&part),
        Err(SchemaError::Unsupported { .. })
    ));
    let geo = base.replace(r#""Tp":3"#, r#""Tp":255"#);
    assert!(matches!(
        TableInfo::from_tidb_json(&geo),
        Err(SchemaError::Unsupported { .. })
    ));
    assert!(matches!(
        TableInfo::from_tidb_json("{"),
        Err(SchemaError::Json(_))
    ));
    let hole = base.replace(r#""offset":0"#, r#""offset":1"#);
    assert!(matches!(
        TableInfo::from_tidb_json(&hole),
        Err(SchemaError::Invalid { .. })
    ));
}
