//! Shared by the fuzz targets: feed one input both in one call and in block splits
//! chosen by the fuzzer, and check the two agree.

use lightning_parser::{ChunkParser, FieldKind, ParseError, RowBatch};

type Rows = Vec<(Option<Vec<String>>, Vec<(FieldKind, Vec<u8>)>, u64)>;

/// Feeds `input` like the import controller, with block sizes from `sizes` (cycled).
pub fn drive(p: &mut dyn ChunkParser, input: &[u8], sizes: &[u8]) -> Result<Rows, ParseError> {
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut out = RowBatch::new();
    let mut rows = Rows::new();
    let mut turn = 0usize;
    let mut idle = 0;
    loop {
        let eof = fed == input.len();
        let n = p.parse(&buf, eof, &mut out)?;
        assert!(n <= buf.len(), "consumed more than given");
        let had = !out.is_empty();
        for r in out.rows() {
            let fields = r.fields().map(|f| (f.kind, f.bytes.to_vec())).collect();
            rows.push((out.columns.clone(), fields, r.end_offset()));
        }
        out.clear();
        buf.drain(..n);
        if eof {
            if buf.is_empty() {
                return Ok(rows);
            }
            idle = if n == 0 && !had { idle + 1 } else { 0 };
            assert!(idle < 3, "parser stuck at eof");
            continue;
        }
        let size = sizes.get(turn % sizes.len().max(1)).map_or(4096, |&s| s as usize + 1);
        turn += 1;
        let k = size.min(input.len() - fed);
        buf.extend_from_slice(&input[fed..fed + k]);
        fed += k;
    }
}

/// One-shot and split parsing must give the same rows, or fail at the same offset.
pub fn agree(make: &dyn Fn() -> Box<dyn ChunkParser>, input: &[u8], sizes: &[u8]) {
    let whole = drive(make().as_mut(), input, &[255, 255, 255, 255]);
    let split = drive(make().as_mut(), input, sizes);
    match (whole, split) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "rows differ between splits"),
        (Err(a), Err(b)) => assert_eq!(a.offset, b.offset, "errors differ: {a} / {b}"),
        (a, b) => panic!("one-shot {:?} but split {:?}", a.map(|r| r.len()), b.map(|r| r.len())),
    }
}
