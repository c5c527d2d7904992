//! One store's data: committed MVCC versions by raw key, and the SST files staged by
//! ImportSST Write that wait for an Ingest.

use super::state::{encode_key, in_range};
use lightning_encode::KvChecksum;
use lightning_kvproto::import_sstpb::SstMeta;
use std::collections::{BTreeMap, HashMap};

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
    versions: BTreeMap<Vec<u8>, Vec<Version>>,
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
        let vs = self.versions.entry(key).or_default();
        vs.retain(|v| v.commit_ts != commit_ts);
        vs.push(Version { commit_ts, value });
        vs.sort_by_key(|v| std::cmp::Reverse(v.commit_ts));
    }

    /// Visible (key, value) pairs with raw key in `[start, end)` (empty end = unbounded)
    /// at timestamp `ts` (`u64::MAX` = latest).
    pub fn scan(&self, start: &[u8], end: &[u8], ts: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.versions
            .range(start.to_vec()..)
            .take_while(|(k, _)| end.is_empty() || k.as_slice() < end)
            .filter_map(|(k, vs)| {
                let v = vs.iter().find(|v| v.commit_ts <= ts)?;
                v.value.clone().map(|val| (k.clone(), val))
            })
            .collect()
    }

    /// Visible pairs whose ENCODED key is in the encoded region range `[start, end)`.
    pub fn scan_encoded(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.scan(&[], &[], u64::MAX)
            .into_iter()
            .filter(|(k, _)| in_range(&encode_key(k), start, end))
            .collect()
    }

    /// Keys, bytes and the middle key (encoded) of the visible data in an encoded range.
    pub fn stats(&self, start: &[u8], end: &[u8]) -> (u64, u64, Option<Vec<u8>>) {
        let pairs = self.scan_encoded(start, end);
        let bytes = pairs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        let mid = pairs.get(pairs.len() / 2).map(|(k, _)| encode_key(k));
        (pairs.len() as u64, bytes, mid)
    }

    /// TiKV's checksum over visible pairs in raw `[start, end)` at `ts`: XOR of
    /// crc64(key || value), pair count, key+value bytes (src/coprocessor/checksum.rs).
    pub fn checksum(&self, start: &[u8], end: &[u8], ts: u64) -> KvChecksum {
        let mut c = KvChecksum::new();
        for (k, v) in self.scan(start, end, ts) {
            c.update(&k, &v);
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
            .range(start.to_vec()..)
            .take_while(|(k, _)| end.is_empty() || k.as_slice() < end);
        for (k, vs) in keys {
            let Some((newest, older)) = vs.split_first() else {
                continue;
            };
            if newest.commit_ts <= min_commit_ts || newest.value.is_none() {
                continue;
            }
            let mut listed = vec![newest.clone()];
            for v in older {
                if v.value.is_none() {
                    break;
                }
                listed.push(v.clone());
                if v.commit_ts <= min_commit_ts {
                    break;
                }
            }
            if listed.len() > 1 {
                out.extend(listed.into_iter().map(|v| (k.clone(), v)));
            }
        }
        out
    }

    /// Every version of the keys whose encoded form lies in the encoded range.
    pub fn export_encoded(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<Version>)> {
        let keep = |k: &Vec<u8>| in_range(&encode_key(k), start, end);
        self.versions
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces this store's versions of the keys in the encoded range by `rows`
    /// (what a raft snapshot does to a newly added peer).
    pub fn install_encoded(
        &mut self,
        start: &[u8],
        end: &[u8],
        rows: Vec<(Vec<u8>, Vec<Version>)>,
    ) {
        self.remove_encoded(start, end);
        self.versions.extend(rows);
    }

    /// Drops the keys in the encoded range (a removed peer's data is destroyed).
    pub fn remove_encoded(&mut self, start: &[u8], end: &[u8]) {
        self.versions
            .retain(|k, _| !in_range(&encode_key(k), start, end));
    }

    /// Number of staged files.
    pub fn staged_count(&self) -> usize {
        self.staged.len()
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
