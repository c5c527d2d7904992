//! Shared helpers of the binaries.
