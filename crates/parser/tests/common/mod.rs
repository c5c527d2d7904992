//! A caller simulation shared by the integration tests: feeds a parser block by block
//! the way the import controller does and collects the rows.
#![allow(dead_code)]

use lightning_parser::{ChunkParser, FieldKind, ParseError, RowBatch};

/// A row copied out of a batch, with its batch's column list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRow {
    pub columns: Option<Vec<String>>,
    pub fields: Vec<(FieldKind, Vec<u8>)>,
    pub end_offset: u64,
}

/// Feeds `input` in blocks whose sizes `next_block` picks, keeping the unconsumed
/// tail like the real caller, and returns every row.
pub fn drive(
    p: &mut dyn ChunkParser,
    input: &[u8],
    next_block: &mut dyn FnMut() -> usize,
) -> Result<Vec<OwnedRow>, ParseError> {
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut out = RowBatch::new();
    let mut rows = Vec::new();
    let mut stuck = 0;
    loop {
        let eof = fed == input.len();
        let n = p.parse(&buf, eof, &mut out)?;
        let had_rows = !out.is_empty();
        for r in out.rows() {
            rows.push(OwnedRow {
                columns: out.columns.clone(),
                fields: r.fields().map(|f| (f.kind, f.bytes.to_vec())).collect(),
                end_offset: r.end_offset(),
            });
        }
        out.clear();
        buf.drain(..n);
        if eof {
            if buf.is_empty() {
                return Ok(rows);
            }
            if n == 0 && !had_rows {
                stuck += 1;
                assert!(
                    stuck < 3,
                    "parser stuck at eof with {} bytes left",
                    buf.len()
                );
            }
            continue;
        }
        let k = next_block().max(1).min(input.len() - fed);
        buf.extend_from_slice(&input[fed..fed + k]);
        fed += k;
    }
}

/// One call with the whole input.
pub fn one_shot(p: &mut dyn ChunkParser, input: &[u8]) -> Result<Vec<OwnedRow>, ParseError> {
    drive(p, input, &mut || usize::MAX)
}
