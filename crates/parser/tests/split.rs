//! Feeding the same input in any split must give the same rows as one call.

mod common;

use common::{drive, one_shot};
use lightning_parser::{ChunkParser, CsvOptions, CsvParser, SqlParser};
use rand::{rngs::StdRng, Rng, SeedableRng};

const SQL: &str = "\u{feff}/*!40101 SET NAMES binary*/;\n-- comment\n\
INSERT INTO `t` VALUES (1,'a\\'b',NULL,0x0aFF),(2,\"q\"\"q\",_binary 'x\\0',b'101'),\n\
(-3.5e2,'', TRUE , X'00'),();\n# x\nINSERT INTO t (`a`,b) VALUES (5,'multi\nline'),(6,'\\\\');\n\
REPLACE INTO t VALUES (7, 'é\\%\\_');\n";

const CSV: &str =
    "a,b,c\n1,\"x,y\",\\N\n2,\"q\"\"q\",\"line1\nline2\"\r\n\n3,a\\,b,\"\\N\"\n4,,\"\"\n5,c\\\nd,e";

fn sql() -> Box<dyn ChunkParser> {
    Box::new(SqlParser::new(0))
}

fn csv() -> Box<dyn ChunkParser> {
    Box::new(CsvParser::new(
        CsvOptions {
            header: true,
            ..CsvOptions::default()
        },
        0,
    ))
}

fn check(make: fn() -> Box<dyn ChunkParser>, input: &str) {
    let input = input.as_bytes();
    let whole = one_shot(make().as_mut(), input).unwrap();
    assert!(!whole.is_empty());
    for size in 1..=17 {
        let rows = drive(make().as_mut(), input, &mut || size).unwrap();
        assert_eq!(rows, whole, "block size {size}");
    }
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..200 {
        let rows = drive(make().as_mut(), input, &mut || rng.random_range(1..40)).unwrap();
        assert_eq!(rows, whole);
    }
}

#[test]
fn sql_rows_do_not_depend_on_block_splits() {
    check(sql, SQL);
}

#[test]
fn csv_rows_do_not_depend_on_block_splits() {
    check(csv, CSV);
}

#[test]
fn a_huge_row_is_not_rescanned_quadratically() {
    // One 8 MB string fed in 4 KiB blocks: with the resume hint the parser scans the
    // partial row only O(log n) times after it passes 64 KiB.
    let big = "x".repeat(8 << 20);
    let input = format!("INSERT INTO t VALUES ('{big}'),(1);");
    let start = std::time::Instant::now();
    let rows = drive(&mut SqlParser::new(0), input.as_bytes(), &mut || 4096).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].fields[0].1.len(), 8 << 20);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}
