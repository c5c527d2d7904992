//! One store's data: committed MVCC versions by raw key, and the SST files staged by
//! ImportSST Write that wait for an Ingest.

use super::state::{encode_key, in_range};
use lightning_encode::codec::bytes::decode_bytes;
use lightning_encode::KvChecksum;
use lightning_kvproto::import_sstpb::SstMeta;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// TiKV keeps values up to this many bytes inline in the write CF; longer values go to
/// the default CF (txn_types `SHORT_VALUE_MAX_LEN`).
pub const SHORT_VALUE_MAX_LEN: usize = 255;

/// One committed version: `None` is a delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Commit timestamp.
    pub commit_ts: u64,
    /// Value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// A key's versions, newest first, laid out for the common case of one version: the
/// newest is inline (a split check reads it without following a pointer) and the older
/// ones cost one word and no allocation until a second version arrives. With the raw key
/// as a boxed slice a map entry is 48 bytes (80 with `Vec`s); this matters because the
/// simulator keeps every replica of an import in memory.
#[derive(Clone, Debug)]
pub(crate) struct Versions {
    /// Commit ts of the newest version.
    ts: u64,
    /// Its value, `None` for a delete.
    value: Option<Box<[u8]>>,
    /// Older versions, newest first.
    #[allow(clippy::box_collection)] // one word instead of three while empty
    older: Option<Box<Vec<Version>>>,
}

impl Versions {
    fn new(v: Version) -> Self {
        Versions {
            ts: v.commit_ts,
            value: v.value.map(Vec::into_boxed_slice),
            older: None,
        }
    }

    /// The newest version.
    fn newest(&self) -> Version {
        Version {
            commit_ts: self.ts,
            value: self.value.as_deref().map(<[u8]>::to_vec),
        }
    }

    /// The versions older than the newest, newest first.
    fn older(&self) -> &[Version] {
        self.older.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Adds a version, replacing one at the same ts.
    fn put(&mut self, v: Version) {
        let ts = v.commit_ts;
        if ts >= self.ts {
            if ts > self.ts {
                let was = self.newest();
                self.older.get_or_insert_default().insert(0, was);
            }
            self.ts = ts;
            self.value = v.value.map(Vec::into_boxed_slice);
        } else {
            let older = self.older.get_or_insert_default();
            older.retain(|o| o.commit_ts != ts);
            let at = older.partition_point(|o| o.commit_ts > ts);
            older.insert(at, v);
        }
    }

    /// The value visible at `ts`, `None` when it is a delete or there is no version
    /// at or below `ts`.
    fn visible(&self, ts: u64) -> Option<&[u8]> {
        if self.ts <= ts {
            return self.value.as_deref();
        }
        self.older()
            .iter()
            .find(|v| v.commit_ts <= ts)?
            .value
            .as_deref()
    }
}

/// A staged SST file (one column family of one Write stream).
#[derive(Clone, Debug)]
pub(crate) struct Staged {
    /// (raw key, value or delete, commit ts).
    pub pairs: Vec<(Vec<u8>, Option<Vec<u8>>, u64)>,
}

/// A store's MVCC data and staged files.
#[derive(Default)]
pub(crate) struct StoreData {
    /// Raw key -> versions, newest first.
    versions: BTreeMap<Box<[u8]>, Versions>,
    /// (uuid, cf name) -> staged file.
    staged: HashMap<(Vec<u8>, String), Staged>,
}

impl StoreData {
    /// Stages the files of one finished Write stream, as TiKV's TxnSstWriter does:
    /// a `write` CF file always, a `default` CF file when some value is long; each
    /// returned meta is the request's meta with `cf_name` set (sst_importer new_txn_writer).
    pub fn stage(
        &mut self,
        meta: &SstMeta,
        pairs: Vec<(Vec<u8>, Option<Vec<u8>>, u64)>,
    ) -> Vec<SstMeta> {
        let mut out = Vec::new();
        let long: Vec<_> = pairs
            .iter()
            .filter(|(_, v, _)| v.as_ref().is_some_and(|v| v.len() > SHORT_VALUE_MAX_LEN))
            .cloned()
            .collect();
        if !long.is_empty() {
            let m = SstMeta {
                cf_name: "default".into(),
                ..meta.clone()
            };
            self.staged
                .insert((m.uuid.clone(), m.cf_name.clone()), Staged { pairs: long });
            out.push(m);
        }
        if !pairs.is_empty() {
            let m = SstMeta {
                cf_name: "write".into(),
                ..meta.clone()
            };
            self.staged
                .insert((m.uuid.clone(), m.cf_name.clone()), Staged { pairs });
            out.push(m);
        }
        out
    }

    /// Whether the file of `meta` (uuid and cf) is staged here.
    pub fn has_staged(&self, meta: &SstMeta) -> bool {
        self.staged
            .contains_key(&(meta.uuid.clone(), meta.cf_name.clone()))
    }

    /// Moves a staged file into the committed data (TiKV ingests the file and deletes
    /// it from the import dir). Returns false when it was not staged.
    pub fn ingest(&mut self, meta: &SstMeta) -> bool {
        let Some(f) = self
            .staged
            .remove(&(meta.uuid.clone(), meta.cf_name.clone()))
        else {
            return false;
        };
        for (k, v, ts) in f.pairs {
            self.put(k, v, ts);
        }
        true
    }

    /// Adds one committed version (replacing one at the same ts).
    pub fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, commit_ts: u64) {
        let v = Version { commit_ts, value };
        match self.versions.entry(key.into_boxed_slice()) {
            Entry::Vacant(e) => {
                e.insert(Versions::new(v));
            }
            Entry::Occupied(mut e) => e.get_mut().put(v),
        }
    }

    /// Visible (key, value) pairs with raw key in `[start, end)` (empty end = unbounded)
    /// at timestamp `ts` (`u64::MAX` = latest).
    pub fn scan(&self, start: &[u8], end: &[u8], ts: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.versions
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(|(k, _)| end.is_empty() || &k[..] < end)
            .filter_map(|(k, vs)| vs.visible(ts).map(|v| (k.to_vec(), v.to_vec())))
            .collect()
    }

    /// Visible pairs whose ENCODED key is in the encoded region range `[start, end)`.
    pub fn scan_encoded(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.encoded_range(start, end)
            .filter_map(|(k, vs)| vs.visible(u64::MAX).map(|v| (k.to_vec(), v.to_vec())))
            .collect()
    }

    /// Keys and bytes of the visible data in an encoded range. Reads only the range,
    /// without copying it: the split checker runs it after every ingest, so its cost
    /// must follow the region's size, not the store's.
    pub fn size(&self, start: &[u8], end: &[u8]) -> (u64, u64) {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for (k, vs) in self.encoded_range(start, end) {
            if let Some(v) = vs.visible(u64::MAX) {
                keys += 1;
                bytes += (k.len() + v.len()) as u64;
            }
        }
        (keys, bytes)
    }

    /// The middle visible key (encoded) of an encoded range, where a split checker
    /// splits; `keys` is the range's visible key count when known.
    pub fn middle_key(&self, start: &[u8], end: &[u8], keys: Option<u64>) -> Option<Vec<u8>> {
        let keys = keys.unwrap_or_else(|| self.size(start, end).0);
        self.encoded_range(start, end)
            .filter(|(_, vs)| vs.visible(u64::MAX).is_some())
            .nth((keys / 2) as usize)
            .map(|(k, _)| encode_key(k))
    }

    /// The entries whose raw key's encoding lies in the encoded range `[start, end)`,
    /// found by a range lookup on raw keys (see [`raw_bound`]); bounds that are not
    /// encoded keys fall back to filtering every entry.
    fn encoded_range<'a>(
        &'a self,
        start: &'a [u8],
        end: &'a [u8],
    ) -> Box<dyn Iterator<Item = (&'a Box<[u8]>, &'a Versions)> + 'a> {
        match (raw_bound(start, true), raw_bound(end, false)) {
            (Some(lo), Some(hi)) if !empty_range(&lo, &hi) => {
                let bounds = (
                    lo.as_ref().map(Vec::as_slice),
                    hi.as_ref().map(Vec::as_slice),
                );
                Box::new(self.versions.range::<[u8], _>(bounds))
            }
            (Some(_), Some(_)) => Box::new(std::iter::empty()),
            _ => Box::new(
                self.versions
                    .iter()
                    .filter(move |(k, _)| in_range(&encode_key(k), start, end)),
            ),
        }
    }

    /// TiKV's checksum over visible pairs in raw `[start, end)` at `ts`: XOR of
    /// crc64(key || value), pair count, key+value bytes (src/coprocessor/checksum.rs).
    pub fn checksum(&self, start: &[u8], end: &[u8], ts: u64) -> KvChecksum {
        let mut c = KvChecksum::new();
        let entries = self
            .versions
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(|(k, _)| end.is_empty() || &k[..] < end);
        for (k, vs) in entries {
            if let Some(v) = vs.visible(ts) {
                c.update(k, v);
            }
        }
        c
    }

    /// Duplicated versions in raw `[start, end)` as TiKV's DuplicateDetector reports
    /// them (src/import/duplicate_detect.rs): a key counts when its newest version has
    /// commit ts > `min_commit_ts` and an older Put exists; the newest version and the
    /// older Puts are listed, newest first, down to the first one at or below
    /// `min_commit_ts`; an older Delete ends the key. A newest Delete is an error there;
    /// here such a key is skipped.
    pub fn duplicates(
        &self,
        start: &[u8],
        end: &[u8],
        min_commit_ts: u64,
    ) -> Vec<(Vec<u8>, Version)> {
        let mut out = Vec::new();
        let keys = self
            .versions
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(|(k, _)| end.is_empty() || &k[..] < end);
        for (k, vs) in keys {
            if vs.ts <= min_commit_ts || vs.value.is_none() {
                continue;
            }
            let mut listed = vec![vs.newest()];
            for v in vs.older() {
                if v.value.is_none() {
                    break;
                }
                listed.push(v.clone());
                if v.commit_ts <= min_commit_ts {
                    break;
                }
            }
            if listed.len() > 1 {
                out.extend(listed.into_iter().map(|v| (k.to_vec(), v)));
            }
        }
        out
    }

    /// Every version of the keys whose encoded form lies in the encoded range.
    pub fn export_encoded(&self, start: &[u8], end: &[u8]) -> Vec<(Box<[u8]>, Versions)> {
        self.encoded_range(start, end)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces this store's versions of the keys in the encoded range by `rows`
    /// (what a raft snapshot does to a newly added peer).
    pub fn install_encoded(&mut self, start: &[u8], end: &[u8], rows: Vec<(Box<[u8]>, Versions)>) {
        self.remove_encoded(start, end);
        self.versions.extend(rows);
    }

    /// Drops the keys in the encoded range (a removed peer's data is destroyed).
    pub fn remove_encoded(&mut self, start: &[u8], end: &[u8]) {
        let doomed: Vec<Box<[u8]>> = self
            .encoded_range(start, end)
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.versions.remove(&k);
        }
    }

    /// Number of staged files.
    pub fn staged_count(&self) -> usize {
        self.staged.len()
    }
}

/// Bounds a raw key must meet for its encoding to lie on the right side of the encoded
/// range bound `enc` (`lower`: `key >= enc`; upper: `key < enc`). Encoding keeps order
/// and no encoding is a prefix of another, so `encode(r)` bounds at `r`, and `encode(r)`
/// followed by more bytes (say a timestamp) bounds just after `r`. An empty bound is
/// open. `None` when `enc` does not start with an encoded key.
fn raw_bound(enc: &[u8], lower: bool) -> Option<Bound<Vec<u8>>> {
    if enc.is_empty() {
        return Some(Bound::Unbounded);
    }
    let (raw, rest) = decode_bytes(enc).ok()?;
    // lower encode(r): key >= r; lower encode(r)+x: key > r;
    // upper encode(r): key < r; upper encode(r)+x: key <= r.
    Some(if lower == rest.is_empty() {
        Bound::Included(raw)
    } else {
        Bound::Excluded(raw)
    })
}

/// Whether no key lies between `lo` and `hi` (`BTreeMap::range` panics on some such).
fn empty_range(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    use Bound::{Excluded, Included};
    match (lo, hi) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) => a >= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_data_is_invisible_until_ingested_and_long_values_get_a_default_file() {
        let mut d = StoreData::default();
        let meta = SstMeta {
            uuid: vec![7; 16],
            ..Default::default()
        };
        let metas = d.stage(
            &meta,
            vec![
                (b"a".to_vec(), Some(vec![1; 300]), 5),
                (b"b".to_vec(), Some(b"x".to_vec()), 5),
            ],
        );
        assert_eq!(
            metas.iter().map(|m| m.cf_name.as_str()).collect::<Vec<_>>(),
            ["default", "write"]
        );
        assert!(d.scan(b"", b"", u64::MAX).is_empty());
        assert!(metas.iter().all(|m| d.ingest(m)));
        assert_eq!(d.scan(b"", b"", u64::MAX).len(), 2);
        assert!(!d.ingest(&metas[1]), "a file is consumed by its ingest");
        assert!(
            d.scan(b"", b"", 4).is_empty(),
            "invisible before its commit ts"
        );
    }

    #[test]
    fn encoded_ranges_select_what_filtering_every_key_selects() {
        let mut d = StoreData::default();
        let raws: Vec<Vec<u8>> = [
            &b""[..],
            b"a",
            b"a\0",
            b"ab",
            b"abcdefgh",
            b"abcdefgh\0",
            b"b",
        ]
        .iter()
        .map(|k| k.to_vec())
        .collect();
        for (i, k) in raws.iter().enumerate() {
            d.put(k.clone(), Some(vec![i as u8]), 1);
        }
        let mut bounds = vec![Vec::new(), vec![0xff, 0x00], b"zz".to_vec()];
        for k in &raws {
            bounds.push(encode_key(k));
            bounds.push([encode_key(k), vec![0, 0, 0, 1]].concat());
        }
        for start in &bounds {
            for end in &bounds {
                let want: Vec<_> = d
                    .versions
                    .keys()
                    .filter(|k| in_range(&encode_key(k), start, end))
                    .collect();
                let got: Vec<_> = d.encoded_range(start, end).map(|(k, _)| k).collect();
                assert_eq!(got, want, "range {start:?}..{end:?}");
            }
        }
    }

    #[test]
    fn versions_stay_newest_first_and_one_per_ts() {
        let mut d = StoreData::default();
        for (ts, v) in [(10, 1), (30, 3), (20, 2), (30, 4), (5, 0), (20, 5)] {
            d.put(b"k".to_vec(), Some(vec![v]), ts);
        }
        let vs = &d.versions[&b"k"[..]];
        let got: Vec<_> = std::iter::once(vs.newest())
            .chain(vs.older().iter().cloned())
            .map(|v| (v.commit_ts, v.value))
            .collect();
        assert_eq!(
            got,
            [
                (30, Some(vec![4])),
                (20, Some(vec![5])),
                (10, Some(vec![1])),
                (5, Some(vec![0]))
            ]
        );
        assert_eq!(vs.visible(25), Some(&[5][..]));
        assert_eq!(vs.visible(4), None);
    }

    #[test]
    fn duplicates_list_every_version_of_conflicting_keys() {
        let mut d = StoreData::default();
        d.put(b"k".to_vec(), Some(b"1".to_vec()), 10);
        d.put(b"k".to_vec(), Some(b"2".to_vec()), 20);
        d.put(b"j".to_vec(), Some(b"1".to_vec()), 10);
        d.put(b"k".to_vec(), Some(b"0".to_vec()), 5);
        let dup = d.duplicates(b"", b"", 0);
        assert_eq!(
            dup.iter().map(|(_, v)| v.commit_ts).collect::<Vec<_>>(),
            [20, 10, 5]
        );
        assert!(dup.iter().all(|(k, _)| k == b"k"));
        // Versions stop at the first one at or below min_commit_ts.
        assert_eq!(d.duplicates(b"", b"", 10).len(), 2);
        assert!(
            d.duplicates(b"", b"", 20).is_empty(),
            "newest not above min_commit_ts"
        );
        d.put(b"j".to_vec(), None, 30);
        assert_eq!(
            d.duplicates(b"", b"", 0).len(),
            3,
            "a key deleted last is not a duplicate"
        );
    }
}
