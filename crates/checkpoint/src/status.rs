//! Table and engine progress codes, numerically identical to upstream's
//! `CheckpointStatus` (`pkg/lightning/checkpoints/checkpoints.go`), so the same numbers
//! appear in the MySQL tables, the dumps and the error messages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How far a table or engine got. A value at or below [`CheckpointStatus::MAX_INVALID`]
/// means the step `value * 10` failed (upstream's encoding: a failed status is `status / 10`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct CheckpointStatus(pub u8);

impl CheckpointStatus {
    /// No checkpoint at all.
    pub const MISSING: Self = Self(0);
    /// The highest failed code; anything at or below it is a failure.
    pub const MAX_INVALID: Self = Self(25);
    /// Recorded, nothing done yet ("pending").
    pub const LOADED: Self = Self(30);
    /// Every chunk written to its engine.
    pub const ALL_WRITTEN: Self = Self(60);
    /// Duplicates detected.
    pub const DUP_DETECTED: Self = Self(70);
    /// Secondary indexes dropped (add-index-by-sql).
    pub const INDEX_DROPPED: Self = Self(80);
    /// Engine closed (sorted, ready to import).
    pub const CLOSED: Self = Self(90);
    /// Data imported into the cluster.
    pub const IMPORTED: Self = Self(120);
    /// Index engine imported.
    pub const INDEX_IMPORTED: Self = Self(140);
    /// AUTO_INCREMENT / row-id allocators rebased.
    pub const ALTERED_AUTO_INC: Self = Self(150);
    /// Checksum skipped by configuration.
    pub const CHECKSUM_SKIPPED: Self = Self(170);
    /// Checksum compared and equal.
    pub const CHECKSUMMED: Self = Self(180);
    /// Indexes added back (add-index-by-sql).
    pub const INDEX_ADDED: Self = Self(190);
    /// ANALYZE skipped by configuration.
    pub const ANALYZE_SKIPPED: Self = Self(200);
    /// ANALYZE TABLE done: the table is finished.
    pub const ANALYZED: Self = Self(210);

    /// True for a failed (or missing) status: `<= MAX_INVALID`.
    pub fn is_failed(self) -> bool {
        self <= Self::MAX_INVALID
    }

    /// The failed form of this status, as upstream's `SetInvalid` (`status / 10`).
    pub fn into_failed(self) -> Self {
        if self.is_failed() {
            self
        } else {
            Self(self.0 / 10)
        }
    }

    /// For a failed status, the step that failed (`status * 10`); else the status itself.
    pub fn failed_step(self) -> Self {
        if self.is_failed() {
            Self(self.0.saturating_mul(10))
        } else {
            self
        }
    }

    /// The step name upstream uses in metrics and messages (`pending`, `written`, …).
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::LOADED => "pending",
            Self::ALL_WRITTEN => "written",
            Self::CLOSED => "closed",
            Self::IMPORTED => "imported",
            Self::INDEX_IMPORTED => "index_imported",
            Self::ALTERED_AUTO_INC => "altered_auto_inc",
            Self::CHECKSUMMED | Self::CHECKSUM_SKIPPED => "checksum",
            Self::INDEX_ADDED => "index_added",
            Self::ANALYZED | Self::ANALYZE_SKIPPED => "analyzed",
            Self::MISSING => "missing",
            _ => "invalid",
        }
    }
}

impl fmt::Display for CheckpointStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.metric_name())
    }
}

#[cfg(test)]
mod tests {
    use super::CheckpointStatus as S;

    #[test]
    fn failed_encoding_matches_upstream() {
        // Upstream documents the possible failed codes as 0, 3, 6, 9, 12, 14, 15, 17, 18, 20, 21.
        let steps = [
            S::LOADED,
            S::ALL_WRITTEN,
            S::CLOSED,
            S::IMPORTED,
            S::INDEX_IMPORTED,
            S::ALTERED_AUTO_INC,
            S::CHECKSUM_SKIPPED,
            S::CHECKSUMMED,
            S::ANALYZE_SKIPPED,
            S::ANALYZED,
        ];
        let failed: Vec<u8> = steps.iter().map(|s| s.into_failed().0).collect();
        assert_eq!(failed, [3, 6, 9, 12, 14, 15, 17, 18, 20, 21]);
        for s in steps {
            assert!(!s.is_failed());
            assert!(s.into_failed().is_failed());
            assert_eq!(s.into_failed().failed_step(), s);
            // Failing twice keeps the first failure.
            assert_eq!(s.into_failed().into_failed(), s.into_failed());
        }
        assert!(S::MISSING.is_failed());
        assert!(S::MAX_INVALID.is_failed());
        assert!(!S(26).is_failed());
    }

    #[test]
    fn names() {
        assert_eq!(S::CHECKSUM_SKIPPED.metric_name(), "checksum");
        assert_eq!(S(12).metric_name(), "invalid");
        assert_eq!(S(12).failed_step().metric_name(), "imported");
        assert_eq!(S::LOADED.to_string(), "30 (pending)");
    }
}
