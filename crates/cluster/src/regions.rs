//! Finding the regions that cover a raw key range, page by page, as BR's
//! `PaginateScanRegion` does (and, like it, insisting that they cover the range
//! without holes, since PD may be mid-split).

use crate::cluster::Cluster;
use crate::error::{ClusterError, HexKey, Result};
use crate::keys::{encode_bound, KeyRange, RegionInfo};

/// Regions per ScanRegions page (BR `ScanRegionPaginationLimit`).
pub const SCAN_PAGE: i32 = 128;

/// The regions overlapping raw `range`, in key order, covering it without holes.
/// A hole (PD's view is mid-change) is a retryable [`ClusterError::NoRegion`].
pub async fn scan_range(cluster: &Cluster, range: &KeyRange) -> Result<Vec<RegionInfo>> {
    let end = encode_bound(&range.end);
    let mut start = encode_bound(&range.start);
    let mut out: Vec<RegionInfo> = Vec::new();
    loop {
        let page = cluster.pd().scan_regions(&start, &end, SCAN_PAGE).await?;
        let Some(last) = page.last() else { break };
        let last_end = last.region.end_key.clone();
        out.extend(page);
        if last_end.is_empty() || (!end.is_empty() && last_end >= end) {
            break;
        }
        start = last_end;
    }
    check_covering(range, &out)?;
    Ok(out)
}

/// Checks that `regions` (sorted) cover raw `range` with no gap.
pub fn check_covering(range: &KeyRange, regions: &[RegionInfo]) -> Result<()> {
    let hole = |key: &[u8]| ClusterError::NoRegion {
        key: HexKey(key.to_vec()),
    };
    let Some(first) = regions.first() else {
        return Err(hole(&range.start));
    };
    if first.raw.start > range.start {
        return Err(hole(&range.start));
    }
    for w in regions.windows(2) {
        if w[0].region.end_key != w[1].region.start_key {
            return Err(hole(&w[0].raw.end));
        }
    }
    let last = &regions[regions.len() - 1];
    let covers_end =
        last.raw.end.is_empty() || (!range.end.is_empty() && last.raw.end >= range.end);
    if !covers_end {
        return Err(hole(&last.raw.end));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::encode_key;
    use lightning_kvproto::metapb;

    fn region(start: &[u8], end: &[u8]) -> RegionInfo {
        RegionInfo::new(
            metapb::Region {
                start_key: encode_bound(start),
                end_key: encode_bound(end),
                ..Default::default()
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn holes_are_found() {
        let r = KeyRange::new(b"b", b"f");
        assert!(check_covering(&r, &[region(b"a", b"c"), region(b"c", b"")]).is_ok());
        assert!(check_covering(&r, &[region(b"a", b"c"), region(b"d", b"")]).is_err());
        assert!(check_covering(&r, &[region(b"c", b"")]).is_err());
        assert!(check_covering(&r, &[region(b"a", b"e")]).is_err());
        assert!(check_covering(&r, &[]).is_err());
        assert!(check_covering(&KeyRange::new(b"", b""), &[region(b"", b"")]).is_ok());
        assert_eq!(encode_key(b"").len(), 9);
    }
}
