//! Raw and encoded keys, and regions as seen from raw keys.
//!
//! Lightning works with raw TiDB keys (`t{table}_r{handle}`, `t{table}_i…`). TiKV's
//! transactional key space stores them memcomparable-encoded (TiKV `Key::from_raw`),
//! so region boundaries in PD and TiKV, PD's region lookups and split keys, SST range
//! bounds and PD label-rule ranges are *encoded*; Write pairs, TiKV SplitRegion keys
//! and coprocessor ranges are *raw* (TiKV encodes them itself). See each user.

use crate::error::{ClusterError, HexKey, Result};
use lightning_encode::codec::bytes::{decode_bytes, encode_bytes};
use lightning_kvproto::metapb;
use std::fmt;

/// Memcomparable encoding of a raw key (TiDB `codec.EncodeBytes`); the empty key stays
/// empty where it means "unbounded", so use [`encode_bound`] for range ends.
pub fn encode_key(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8 + 9);
    encode_bytes(&mut out, raw);
    out
}

/// Encodes a range bound: empty (unbounded) stays empty, as Lightning does before
/// calling PD (local.go: `if len(end) > 0 { end = codec.EncodeBytes(nil, end) }`).
pub fn encode_bound(raw: &[u8]) -> Vec<u8> {
    if raw.is_empty() {
        Vec::new()
    } else {
        encode_key(raw)
    }
}

/// Decodes an encoded region boundary into the raw key space, exactly: raw `k` lies at
/// or after the result iff `encode_key(k)` lies at or after the boundary. An empty
/// boundary stays empty. Lightning compares raw keys with decoded region bounds too
/// (region_job.go newRegionJobs: `codec.DecodeBytes(region.StartKey)`). A boundary with
/// bytes after the encoded key (a timestamp suffix, say) sorts after `encode_key(s)`
/// but before the encoding of any raw key above `s`, so its raw bound is `s + [0]`.
pub fn decode_bound(encoded: &[u8]) -> Result<Vec<u8>> {
    if encoded.is_empty() {
        return Ok(Vec::new());
    }
    match decode_bytes(encoded) {
        Ok((raw, [])) => Ok(raw),
        Ok((raw, _)) => Ok(next_key(&raw)),
        Err(e) => Err(ClusterError::Decode {
            what: "region boundary",
            reason: format!("{e} in {}", HexKey(encoded.to_vec())),
        }),
    }
}

/// The smallest key after `k` (TiDB `kv.Key.Next`).
pub fn next_key(k: &[u8]) -> Vec<u8> {
    let mut v = k.to_vec();
    v.push(0);
    v
}

/// A raw key range `[start, end)`; an empty `end` is unbounded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Inclusive start.
    pub start: Vec<u8>,
    /// Exclusive end; empty = unbounded.
    pub end: Vec<u8>,
}

impl KeyRange {
    /// The range `[start, end)`.
    pub fn new(start: &[u8], end: &[u8]) -> Self {
        KeyRange {
            start: start.to_vec(),
            end: end.to_vec(),
        }
    }

    /// Whether raw `key` lies inside.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && (self.end.is_empty() || key < self.end.as_slice())
    }
}

impl fmt::Display for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {})",
            HexKey(self.start.clone()),
            HexKey(self.end.clone())
        )
    }
}

impl fmt::Debug for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A region as PD reports it, with its leader and its bounds in raw keys.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionInfo {
    /// The region (bounds encoded, epoch, peers).
    pub region: metapb::Region,
    /// Its leader, when PD knows one.
    pub leader: Option<metapb::Peer>,
    /// Its bounds decoded to raw keys.
    pub raw: KeyRange,
}

impl RegionInfo {
    /// Wraps PD's answer; a leader with id 0 means none (PD may leave it empty,
    /// split client.go sendSplitRegionRequest).
    pub fn new(region: metapb::Region, leader: Option<metapb::Peer>) -> Result<Self> {
        let raw = KeyRange {
            start: decode_bound(&region.start_key)?,
            end: decode_bound(&region.end_key)?,
        };
        let leader = leader.filter(|l| l.id != 0 && l.store_id != 0);
        Ok(RegionInfo {
            region,
            leader,
            raw,
        })
    }

    /// The region id.
    pub fn id(&self) -> u64 {
        self.region.id
    }

    /// The region epoch.
    pub fn epoch(&self) -> metapb::RegionEpoch {
        self.region.region_epoch.unwrap_or_default()
    }

    /// The part of raw range `r` inside this region (empty start = from the region start).
    pub fn clip(&self, r: &KeyRange) -> KeyRange {
        let start = r.start.clone().max(self.raw.start.clone());
        let end = match (r.end.is_empty(), self.raw.end.is_empty()) {
            (true, _) => self.raw.end.clone(),
            (false, true) => r.end.clone(),
            (false, false) => r.end.clone().min(self.raw.end.clone()),
        };
        KeyRange { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_trip_and_keep_order() {
        let a = encode_key(b"t\x80\x00\x01_r");
        assert_eq!(decode_bound(&a).unwrap(), b"t\x80\x00\x01_r");
        assert!(encode_key(b"ab") < encode_key(b"ab\x00"));
        assert!(encode_key(b"abcdefgh") < encode_key(b"abcdefgh\x00"));
        assert_eq!(encode_bound(b""), b"");
        assert!(decode_bound(b"\x01\x02").is_err());
        // A boundary just after encode("a") (a suffix): "a" stays left of it, "a\0" not.
        let odd = [encode_key(b"a"), vec![0]].concat();
        assert_eq!(decode_bound(&odd).unwrap(), b"a\x00");
        assert!(encode_key(b"a") < odd && encode_key(b"a\x00") > odd);
        assert_eq!(next_key(b"a"), b"a\x00");
    }

    #[test]
    fn clip_keeps_the_inner_part() {
        let region = metapb::Region {
            start_key: encode_key(b"b"),
            end_key: encode_key(b"d"),
            ..Default::default()
        };
        let r = RegionInfo::new(region, None).unwrap();
        assert_eq!(r.clip(&KeyRange::new(b"a", b"")), KeyRange::new(b"b", b"d"));
        assert_eq!(
            r.clip(&KeyRange::new(b"c", b"z")),
            KeyRange::new(b"c", b"d")
        );
        assert!(r.raw.contains(b"b") && !r.raw.contains(b"d"));
        let last = RegionInfo::new(
            metapb::Region {
                start_key: encode_key(b"d"),
                ..Default::default()
            },
            Some(metapb::Peer::default()),
        )
        .unwrap();
        assert_eq!(last.leader, None, "a zero peer is no leader");
        assert_eq!(
            last.clip(&KeyRange::new(b"a", b"")),
            KeyRange::new(b"d", b"")
        );
    }
}
