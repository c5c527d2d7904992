//! Engine options, taken from Lightning's `[tikv-importer]` and `[conflict]` settings.

use crate::error::{EngineError, Result};

/// What to do when the same key is written more than once (`[conflict] strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DuplicateMode {
    /// No detection: the pair with the highest sequence is kept silently.
    #[default]
    None,
    /// Fail (spill, flush or close) with the first offending keys and both values.
    Error,
    /// Keep the pair with the highest sequence; record every dropped pair in the
    /// engine's conflict files ([`crate::ClosedEngine::conflicts`]).
    Replace,
}

/// Tuning of one engine (all engines of a manager share it).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// `engine-mem-cache-size`: bound on all writer buffers of one engine (bytes).
    pub engine_mem_cache_size: usize,
    /// `local-writer-mem-cache-size`: bound on one writer's buffer (bytes).
    pub local_writer_mem_cache_size: usize,
    /// Duplicate handling.
    pub duplicate_mode: DuplicateMode,
    /// Target payload of one block of a run file (bytes). A closed engine keeps one index
    /// entry per block in memory (about 60 bytes: 256 KiB blocks cost ~25 MB per 100 GB).
    pub block_size: usize,
    /// Most runs merged at once; more runs are first compacted in groups of this size.
    pub max_merge_fan_in: usize,
    /// How many duplicates an `error`-mode failure reports.
    pub max_reported_duplicates: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            engine_mem_cache_size: 512 << 20,
            local_writer_mem_cache_size: 128 << 20,
            duplicate_mode: DuplicateMode::None,
            block_size: 256 << 10,
            max_merge_fan_in: 64,
            max_reported_duplicates: 16,
        }
    }
}

impl EngineOptions {
    /// Checks that every option is in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(EngineError::InvalidOptions(m.into()));
        if self.engine_mem_cache_size == 0 || self.local_writer_mem_cache_size == 0 {
            return bad("memory cache sizes must be positive");
        }
        // Chunk offsets in a writer's buffer are 32-bit.
        if self.local_writer_mem_cache_size > u32::MAX as usize {
            return bad("local-writer-mem-cache-size must be below 4 GiB");
        }
        if self.block_size < 64 || self.block_size > (256 << 20) {
            return bad("block size must be between 64 bytes and 256 MiB");
        }
        if self.max_merge_fan_in < 2 {
            return bad("merge fan-in must be at least 2");
        }
        if self.max_reported_duplicates == 0 {
            return bad("max reported duplicates must be positive");
        }
        Ok(())
    }

    /// Size of one allocation chunk of a writer's buffer.
    pub(crate) fn chunk_size(&self) -> usize {
        (self.local_writer_mem_cache_size / 16).clamp(4 << 10, 1 << 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_lightning_and_bad_values_are_rejected() {
        let d = EngineOptions::default();
        assert_eq!(d.engine_mem_cache_size, 512 << 20);
        assert_eq!(d.local_writer_mem_cache_size, 128 << 20);
        d.validate().unwrap();
        assert_eq!(d.chunk_size(), 1 << 20);
        for o in [
            EngineOptions {
                engine_mem_cache_size: 0,
                ..d.clone()
            },
            EngineOptions {
                max_merge_fan_in: 1,
                ..d.clone()
            },
            EngineOptions {
                block_size: 8,
                ..d.clone()
            },
            EngineOptions {
                local_writer_mem_cache_size: 5 << 30,
                ..d.clone()
            },
        ] {
            assert!(o.validate().is_err(), "{o:?}");
        }
    }
}
