//! The `-V` text, shaped like upstream's build info.

/// Multi-line version report: release, git commit and branch (from build-time environment
/// variables `LIGHTNING_GIT_HASH` / `LIGHTNING_GIT_BRANCH` / `LIGHTNING_BUILD_TIME` when set).
pub fn version_text() -> String {
    format!(
        "Release Version: v{}\nGit Commit Hash: {}\nGit Branch: {}\nUTC Build Time: {}\nRust Edition: 2021",
        env!("CARGO_PKG_VERSION"),
        option_env!("LIGHTNING_GIT_HASH").unwrap_or("None"),
        option_env!("LIGHTNING_GIT_BRANCH").unwrap_or("None"),
        option_env!("LIGHTNING_BUILD_TIME").unwrap_or("None"),
    )
}
