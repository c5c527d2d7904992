//! Sort keys of the `_ci` collations from the generated weight tables.

use super::table::{WeightTable, TAG_IMPLICIT, TAG_POOL, TAG_TANGUT};
use std::sync::OnceLock;

static UCA0400: &[u8] = include_bytes!("data/uca0400.bin");
static UCA0900: &[u8] = include_bytes!("data/uca0900.bin");
static GENERAL_CI: &[u8] = include_bytes!("data/general_ci.bin");

fn table(cell: &'static OnceLock<WeightTable>, data: &'static [u8]) -> &'static WeightTable {
    cell.get_or_init(|| WeightTable::parse(data))
}

/// The characters of the longest valid UTF-8 prefix of `s` (TiDB stops at the first
/// invalid sequence).
fn valid_chars(s: &[u8]) -> std::str::Chars<'_> {
    let valid = match std::str::from_utf8(s) {
        Ok(v) => v,
        // The prefix up to `valid_up_to` is valid by definition.
        Err(e) => std::str::from_utf8(&s[..e.valid_up_to()]).unwrap_or(""),
    };
    valid.chars()
}

fn push_u16(out: &mut Vec<u8>, w: u16) {
    out.extend_from_slice(&w.to_be_bytes());
}

/// `utf8mb4_general_ci` key of `s` (already trimmed of trailing spaces).
pub(super) fn general_ci_key(s: &[u8], out: &mut Vec<u8>) {
    static T: OnceLock<WeightTable> = OnceLock::new();
    let t = table(&T, GENERAL_CI);
    for c in valid_chars(s) {
        let cp = c as u32;
        let w = if cp > 0xFFFF {
            0xFFFD
        } else {
            cp.wrapping_add(t.entry(cp)) as u16
        };
        push_u16(out, w);
    }
}

/// Appends the weights of one table entry for code point `cp`.
#[inline]
fn push_entry(t: &WeightTable, cp: u32, e: u32, out: &mut Vec<u8>) {
    if e < 0x1_0000 {
        if e != 0 {
            push_u16(out, e as u16);
        }
    } else if e & 0xFF00_0000 == TAG_IMPLICIT {
        push_u16(out, ((e & 0xFFFF) + (cp >> 15)) as u16);
        push_u16(out, ((cp & 0x7FFF) | 0x8000) as u16);
    } else if e == TAG_TANGUT {
        push_u16(out, 0xFB00);
        push_u16(out, ((cp - 0x17000) | 0x8000) as u16);
    } else if e & TAG_POOL != 0 {
        let len = ((e >> 24) & 0x7F) as usize;
        let off = (e & 0x00FF_FFFF) as usize;
        for i in off..off + len {
            push_u16(out, t.pool(i));
        }
    }
}

/// `utf8mb4_unicode_ci` (UCA 4.0.0) key of `s` (already trimmed of trailing spaces).
pub(super) fn unicode_0400_key(s: &[u8], out: &mut Vec<u8>) {
    static T: OnceLock<WeightTable> = OnceLock::new();
    let t = table(&T, UCA0400);
    for c in valid_chars(s) {
        let cp = c as u32;
        if cp > 0xFFFF {
            push_u16(out, 0xFFFD);
        } else {
            push_entry(t, cp, t.entry(cp), out);
        }
    }
}

/// `utf8mb4_0900_ai_ci` (UCA 9.0.0) key of `s` (NO PAD: spaces count).
pub(super) fn unicode_0900_key(s: &[u8], out: &mut Vec<u8>) {
    static T: OnceLock<WeightTable> = OnceLock::new();
    let t = table(&T, UCA0900);
    for c in valid_chars(s) {
        let cp = c as u32;
        let e = if cp >= t.len() {
            // Beyond the table: implicit weights with the "unassigned" base.
            TAG_IMPLICIT | 0xFBC0
        } else {
            t.entry(cp)
        };
        push_entry(t, cp, e, out);
    }
}
