#!/usr/bin/env python3
"""Generates the collation weight tables under src/collate/data/ (checked in).

Sources (all public):
  * utf8mb4_0900_ai_ci: the Unicode Collation Algorithm 9.0.0 DUCET, allkeys-9.0.0.txt,
    as shipped in the PyPI package `pyuca` 1.2 (`pip download pyuca==1.2`; the file is
    pyuca/allkeys-9.0.0.txt, sha256 0633f452...3ed5). Primary weights only, reduced the
    way TiDB's generator does (pkg/util/collate/ucadata/generator/main.go):
      - only lines for a single code point below 0x2CEA1 count; a contraction line marks
        its first code point as "listed" without adding weights;
      - zero primaries are dropped; U+FDFA keeps only its first 8 collation elements;
      - code points not listed get the UCA implicit weights (Tangut base FB00, core Han
        FB40, other Han FB80, everything else FBC0) and Hangul syllables the weights of
        their decomposed jamo.
  * utf8mb4_unicode_ci (UCA 4.0.0) and utf8mb4_general_ci: allkeys-4.0.0.txt and
    MySQL's general_ci folding table are not reachable from our build hosts, so these
    two tables are TiKV's data taken as facts: TiKV (Apache-2.0), path
    components/tidb_query_datatype/src/codec/collation/collator/utf8mb4_uca/data_0400.rs
    ("created from allkeys-4.0.0.txt") and .../collator/utf8mb4_general_ci.rs. TiKV ships
    the same tables as TiDB's pkg/util/collate (they must agree byte for byte for
    coprocessor pushdown). Only the numbers are read.
  * When --tikv-0900 is given, the 9.0.0 table derived from allkeys is compared with
    TiKV's data_0900.rs for every code point; any difference aborts.

Output format (little endian), shared by the three files:
  u32 n_cp, u32 n_pages, u32 n_blocks, u32 pool_len,
  u16 page[n_pages]            block number of code points (page << 8) .. +256
  (u16 pad if n_pages is odd)
  u32 block[n_blocks * 256]    entries
  u16 pool[pool_len]           weights of multi-weight entries
Entry: < 0x10000: one weight (0: ignorable); 0x80000000 | len << 24 | offset: `len`
weights at pool[offset..]; 0xFF000000 | base: implicit [base + (cp >> 15),
(cp & 0x7FFF) | 0x8000]; 0xFE000000: Tangut [0xFB00, (cp - 0x17000) | 0x8000].
general_ci entries are `(weight - cp) mod 2^32` (0 for unchanged code points) and no pool.

Usage:
  python3 tools/gen_collation_tables.py --allkeys0900 allkeys-9.0.0.txt \
      --tikv-0400 data_0400.rs --tikv-general-ci utf8mb4_general_ci.rs \
      [--tikv-0900 data_0900.rs] --out src/collate/data
"""
import argparse
import re
import struct
import sys

LEN_0900 = 0x2CEA1
LEN_0400 = 0x10000


def implicit_0900(r):
    if 0x17000 <= r <= 0x18AFF:
        return (0xFB00, (r - 0x17000) | 0x8000)
    if (0x3400 <= r <= 0x4DB5 or 0x20000 <= r <= 0x2A6D6 or 0x2A700 <= r <= 0x2B734
            or 0x2B740 <= r <= 0x2B81D or 0x2B820 <= r <= 0x2CEA1):
        base = 0xFB80
    elif 0x4E00 <= r <= 0x9FD5 or 0xFA0E <= r <= 0xFA29:
        base = 0xFB40
    else:
        base = 0xFBC0
    return (base + (r >> 15), (r & 0x7FFF) | 0x8000)


def parse_allkeys(path, length):
    weights = {}
    listed = set()
    line_re = re.compile(r'^([0-9A-Fa-f]+)[ ;]*(.*)$')
    ce_re = re.compile(r'\[[.*]([0-9A-Fa-f]+)((?:\.[0-9A-Fa-f]+)*)\]')
    for line in open(path, encoding='utf-8'):
        m = line_re.match(line)
        if not m:
            continue
        cp = int(m.group(1), 16)
        if cp >= length:
            continue
        rest = m.group(2)
        ces = []
        pos = 0
        while pos < len(rest) and rest[pos] == '[':
            c = ce_re.match(rest, pos)
            if not c:
                break
            ces.append(int(c.group(1), 16))
            pos = c.end()
        listed.add(cp)
        if not ces:
            continue  # contraction line: listed, no weights
        if cp == 0xFDFA:
            ces = ces[:8]
        nz = [w for w in ces if w != 0]
        assert len(nz) <= 8, hex(cp)
        assert cp not in weights, 'duplicate %x' % cp
        weights[cp] = tuple(nz)
    return weights, listed


def hangul_jamo(r):
    s = r - 0xAC00
    l, v, t = s // (21 * 28), (s % (21 * 28)) // 28, s % 28
    out = [0x1100 + l, 0x1161 + v]
    if t:
        out.append(0x11A7 + t)
    return out


def build_0900(path):
    weights, listed = parse_allkeys(path, LEN_0900)
    table = [()] * LEN_0900
    for cp in range(LEN_0900):
        if cp in listed:
            table[cp] = weights.get(cp, ())
    for cp in range(1, LEN_0900):
        if cp in listed:
            continue
        if 0xD800 <= cp <= 0xDFFF:
            table[cp] = ()  # never decoded from valid UTF-8
        elif 0xAC00 <= cp <= 0xD7AF:
            table[cp] = tuple(table[j][0] for j in hangul_jamo(cp))
        else:
            table[cp] = implicit_0900(cp)
    table[0xFFFD] = (0xFFFD,)
    return table


def rs_array(src, name):
    t = src[src.index(name):]
    t = t[t.index('= [') + 3:t.index('];')]
    t = re.sub(r'/\*.*?\*/', '', t)
    return [int(x.strip(), 0) for x in t.split(',') if x.strip()]


def split16(v):
    out = []
    while v:
        out.append(v & 0xFFFF)
        v >>= 16
    return tuple(out)


def tikv_uca(path):
    src = open(path, encoding='utf-8').read()
    vals = rs_array(src, 'static UNICODE_CI_TABLE')
    lm = src[src.index('fn map_long_rune'):src.index('static UNICODE_CI_TABLE')]
    longs = {int(a, 16): int(b, 16) for a, b in re.findall(r'0x([0-9A-F]+) => 0x([0-9A-F]+)', lm)}
    table = []
    for cp, v in enumerate(vals):
        if v == 0xFFFD:
            v = longs.get(cp, 0)  # TiDB: a missing long-rune entry reads as no weight
        table.append(split16(v))
    return table


def tikv_general_ci(path):
    src = open(path, encoding='utf-8').read()
    table = list(range(0x10000))
    for m in re.finditer(r'static GENERAL_CI_PLANE_([0-9A-F]{2}): \[u16; 256\]', src):
        page = int(m.group(1), 16)
        vals = rs_array(src[m.start():], 'GENERAL_CI_PLANE_' + m.group(1))
        assert len(vals) == 256
        table[page * 256:page * 256 + 256] = vals
    return table


def encode_entry(cp, w, pool, pool_index):
    if len(w) == 0:
        return 0
    if len(w) == 1:
        return w[0]
    if len(w) == 2 and w[1] == ((cp & 0x7FFF) | 0x8000) and w[0] - (cp >> 15) in (0xFB40, 0xFB80, 0xFBC0):
        return 0xFF000000 | (w[0] - (cp >> 15))
    if len(w) == 2 and w[0] == 0xFB00 and 0x17000 <= cp and w[1] == ((cp - 0x17000) | 0x8000):
        return 0xFE000000
    off = pool_index.get(w)
    if off is None:
        off = len(pool)
        pool.extend(w)
        pool_index[w] = off
    assert off < (1 << 24) and len(w) <= 8
    return 0x80000000 | (len(w) << 24) | off


def write_table(path, entries, pool):
    n = len(entries)
    n_pages = (n + 255) // 256
    entries = entries + [0] * (n_pages * 256 - n)
    blocks, block_ids, pages = [], {}, []
    for p in range(n_pages):
        b = tuple(entries[p * 256:(p + 1) * 256])
        if b not in block_ids:
            block_ids[b] = len(blocks)
            blocks.append(b)
        pages.append(block_ids[b])
    out = struct.pack('<4I', n, n_pages, len(blocks), len(pool))
    out += struct.pack('<%dH' % n_pages, *pages)
    if n_pages % 2:
        out += b'\0\0'
    for b in blocks:
        out += struct.pack('<256I', *b)
    out += struct.pack('<%dH' % len(pool), *pool)
    open(path, 'wb').write(out)
    print('%s: %d code points, %d blocks, %d pool weights, %d bytes'
          % (path, n, len(blocks), len(pool), len(out)), file=sys.stderr)


def encode_uca(table):
    pool, idx = [], {}
    return [encode_entry(cp, w, pool, idx) for cp, w in enumerate(table)], pool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--allkeys0900', required=True)
    ap.add_argument('--tikv-0400', required=True)
    ap.add_argument('--tikv-general-ci', required=True)
    ap.add_argument('--tikv-0900')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    t0900 = build_0900(a.allkeys0900)
    if a.tikv_0900:
        other = tikv_uca(a.tikv_0900)
        bad = [cp for cp in range(LEN_0900) if other[cp] != t0900[cp] and not 0xD800 <= cp <= 0xDFFF]
        if bad:
            sys.exit('0900 mismatch with TiKV at %s' % ', '.join('%X' % c for c in bad[:20]))
        print('0900: identical to TiKV data_0900.rs', file=sys.stderr)
    write_table(a.out + '/uca0900.bin', *encode_uca(t0900))
    write_table(a.out + '/uca0400.bin', *encode_uca(tikv_uca(a.tikv_0400)))
    gci = tikv_general_ci(a.tikv_general_ci)
    write_table(a.out + '/general_ci.bin', [(w - cp) & 0xFFFFFFFF for cp, w in enumerate(gci)], [])


if __name__ == '__main__':
    main()
