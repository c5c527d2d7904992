//! Lightning's configuration: the TOML file and the command-line flags, resolved once into one
//! validated [`Config`] before anything runs.
//!
//! Flow: built-in defaults (upstream TiDB Lightning's) < the `--config` TOML file < flags, then
//! [`Config::validate`] rejects bad combinations and fills derived values (CPU-based
//! concurrency, backend-specific defaults, the conflict strategy from older keys, ...).
//!
//! ```
//! let cfg = lightning_config::Config::parse_toml_str(
//!     "[tikv-importer]\nbackend = \"tidb\"\n[mydumper]\nread-block-size = \"128KiB\"\n",
//! )
//! .unwrap();
//! assert_eq!(cfg.tikv_importer.backend, lightning_config::Backend::Tidb);
//! assert_eq!(cfg.mydumper.read_block_size, 128 * 1024);
//! ```

mod args;
mod enums;
mod error;
mod mydumper;
mod sections;
pub mod units;
mod validate;
mod version;

use std::ffi::OsString;
use std::path::Path;

use serde::Deserialize;

pub use enums::{
    Backend, ConflictStrategy, KeepStrategy, MaxError, PauseScope, PostOpLevel, UNLIMITED,
};
pub use error::ConfigError;
pub use mydumper::{Csv, FileRule, IgnoreColumns, Mydumper, DEFAULT_FILTER};
pub use sections::{
    BlackWhiteList, Checkpoint, Conflict, Cron, Lightning, PostRestore, Route, Security, TableRef,
    Tidb, TikvImporter, DEFAULT_REGION_SPLIT_KEYS, DEFAULT_REGION_SPLIT_SIZE,
};
pub use version::version_text;

/// The whole task configuration, one field per TOML section.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Config {
    /// `[lightning]`
    pub lightning: Lightning,
    /// `[tikv-importer]`
    pub tikv_importer: TikvImporter,
    /// `[conflict]`
    pub conflict: Conflict,
    /// `[mydumper]` with `.csv` and `.files`
    pub mydumper: Mydumper,
    /// `[tidb]`
    pub tidb: Tidb,
    /// `[checkpoint]`
    pub checkpoint: Checkpoint,
    /// `[post-restore]`
    pub post_restore: PostRestore,
    /// `[cron]`
    pub cron: Cron,
    /// `[security]`
    pub security: Security,
    /// `[[routes]]`
    pub routes: Vec<Route>,
    /// `[black-white-list]` (deprecated table filter)
    pub black_white_list: BlackWhiteList,
    /// Settings given only on the command line (no TOML key).
    #[serde(skip)]
    pub cli: CliOnly,
}

/// Settings that exist only as flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CliOnly {
    /// The `--config` file, when one was given.
    pub config_file: Option<std::path::PathBuf>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Import with this validated configuration.
    Run(Box<Config>),
    /// `-V`: print [`version_text`] and exit 0.
    Version,
    /// `-h`: print this usage text and exit 0.
    Help(String),
}

impl Config {
    /// Defaults overlaid with the TOML text, without validation (for tools and tests).
    /// Unknown keys are an error listing every one of them.
    pub fn parse_toml_str(text: &str) -> Result<Config, ConfigError> {
        Self::parse_toml(text, None)
    }

    fn parse_toml(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let parse_err = |e: toml::de::Error| ConfigError::Parse {
            path: path.map(Path::to_path_buf),
            message: e.to_string().trim_end().to_string(),
        };
        let de = toml::Deserializer::parse(text).map_err(parse_err)?;
        let mut unknown = Vec::new();
        let cfg: Config =
            serde_ignored::deserialize(de, |p| unknown.push(p.to_string())).map_err(parse_err)?;
        if !unknown.is_empty() {
            return Err(ConfigError::UnknownKeys { keys: unknown });
        }
        Ok(cfg)
    }

    /// Defaults < TOML text, then [`validate`](Config::validate).
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let mut cfg = Self::parse_toml_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads a TOML file: defaults < file, without validation.
    pub fn parse_toml_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Self::parse_toml(&text, Some(path))?;
        cfg.cli.config_file = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses `tidb-lightning`'s command line (without the program name): defaults < `--config`
    /// file < flags, then validates. Accepts Go-style `-flag`, `--flag`, `-flag=v`, `-flag v`.
    pub fn from_args<I: IntoIterator<Item = OsString>>(args: I) -> Result<Invocation, ConfigError> {
        args::from_args(args)
    }

    /// One task of a server-mode process (`POST /tasks`): the server's command line
    /// `args` (without the program name) under the task's TOML `body`, validated.
    pub fn for_task(args: &[String], body: &str) -> Result<Config, ConfigError> {
        args::task_from_args(args, body)
    }
}
