//! `tidb-lightning-ctl kv encode|decode` end to end, checked against codec-vector bytes.

use std::process::Command;

const CTL: &str = env!("CARGO_BIN_EXE_tidb-lightning-ctl");
const DOUBLE_AI: &str =
    "create table t (id double not null auto_increment, unique key `u_id` (id));";

fn ctl(args: &[&str]) -> (bool, String) {
    let out = Command::new(CTL).args(args).output().expect("run ctl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn encode_text_prints_vector_bytes_and_checksum() {
    let (ok, out) = ctl(&[
        "kv",
        "encode",
        "--schema",
        DOUBLE_AI,
        "--table-id",
        "1",
        "--row",
        "(1)",
        "--row-id",
        "70",
    ]);
    assert!(ok, "{out}");
    // tablecodec vectors rowkey-t1-h70, idxkey-t1-i1-unique-double-1.0, idxval-unique-int-handle-70
    assert!(
        out.contains("key:   7480000000000000015f728000000000000046"),
        "{out}"
    );
    assert!(
        out.contains("key:   7480000000000000015f69800000000000000105bff0000000000000"),
        "{out}"
    );
    assert!(out.contains("value: 0000000000000046"), "{out}");
    assert!(out.contains("checksum: crc64xor="), "{out}");
    assert!(out.contains("kvs=2"), "{out}");
}

#[test]
fn encode_json_from_schema_file() {
    let dir = std::env::temp_dir().join(format!("ctl_kv_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t-schema.sql");
    std::fs::write(&path, DOUBLE_AI).unwrap();
    let (ok, out) = ctl(&[
        "kv",
        "encode",
        "--schema",
        path.to_str().unwrap(),
        "--table-id",
        "1",
        "--row",
        "(1)",
        "--row-id",
        "70",
        "--format",
        "json",
        "--sql-mode",
        "STRICT_TRANS_TABLES",
    ]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["kind"], "record");
    assert_eq!(arr[0]["index_id"], serde_json::Value::Null);
    assert_eq!(arr[0]["key"], "7480000000000000015f728000000000000046");
    assert_eq!(arr[1]["kind"], "index");
    assert_eq!(arr[1]["index_id"], 1);
    assert_eq!(arr[1]["value"], "0000000000000046");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn encode_rejects_bad_value_in_strict_mode() {
    let schema = "create table t (a tinyint)";
    let (ok, _) = ctl(&[
        "kv",
        "encode",
        "--schema",
        schema,
        "--table-id",
        "1",
        "--row",
        "(1000)",
        "--sql-mode",
        "STRICT_ALL_TABLES",
    ]);
    assert!(!ok);
    let (ok, out) = ctl(&[
        "kv",
        "encode",
        "--schema",
        schema,
        "--table-id",
        "1",
        "--row",
        "(1000)",
        "--format",
        "json",
    ]);
    assert!(ok);
    // non-strict clamps to 127: row v2 value with column 1 = 0x7f
    assert!(
        out.contains("\"value\": \"800001000000010100") && out.contains("7f\""),
        "{out}"
    );
}

#[test]
fn decode_keys_text_and_json() {
    let (ok, out) = ctl(&[
        "kv",
        "decode",
        "7480000000000000015f72f000000000000046",
        "--format",
        "json",
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "record");
    assert_eq!(v["table_id"], 1);
    assert_eq!(v["handle"], "8070450532247928902");

    let idx = "7480000000000000045f698000000000000005038000000000000001016162630000000000fa05c016000000000000038000000000000064";
    let (ok, out) = ctl(&["kv", "decode", idx, "--format", "json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "index");
    assert_eq!(
        (v["table_id"].as_i64(), v["index_id"].as_i64()),
        (Some(4), Some(5))
    );
    assert_eq!(
        v["values"],
        serde_json::json!(["1", "\"abc\"", "5.5", "100"])
    );

    let (ok, out) = ctl(&[
        "kv",
        "decode",
        "7480000000000000645f7201746869735f69735fff7465737431000000fc038000000000000001",
    ]);
    assert!(ok);
    assert!(
        out.contains("table_id: 100") && out.contains("handle: \"this_is_test1\", 1"),
        "{out}"
    );

    let (ok, out) = ctl(&["kv", "decode", "800002000000010208000900ffffffffffffffffff"]);
    assert!(ok);
    assert!(out.contains("column 2: 0xff (int -1)"), "{out}");

    // tablecodec vector rowkey-invalid-trailing-byte must fail
    let (ok, _) = ctl(&["kv", "decode", "7480000000000000645f72020300000000000030"]);
    assert!(!ok);
}

#[test]
fn two_commands_or_an_unread_flag_are_usage_errors_not_dropped() {
    for (args, needle) in [
        (
            &["--fetch-mode", "--checkpoint-remove", "all"][..],
            "--checkpoint-remove and --fetch-mode",
        ),
        (
            &["--import-engine", "u", "--switch-mode", "normal"][..],
            "--switch-mode and --import-engine",
        ),
        (
            &["--config", "/nonexistent.toml", "kv", "decode", "74"][..],
            "kv reads no config file",
        ),
    ] {
        let out = Command::new(CTL).args(args).output().expect("run ctl");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
