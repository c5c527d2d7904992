//! Small enumerated settings and the values that upstream accepts in more than one TOML shape.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// How encoded rows reach the cluster (`tikv-importer.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Physical import: local sort engine, SST ingest into TiKV.
    #[default]
    Local,
    /// Logical import: batched `INSERT`/`REPLACE` over the MySQL protocol.
    Tidb,
    /// Physical import through a remote `tikv-importer` server.
    Importer,
}

impl Backend {
    /// The name as written in TOML and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Tidb => "tidb",
            Backend::Importer => "importer",
        }
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "local" => Ok(Backend::Local),
            "tidb" => Ok(Backend::Tidb),
            "importer" => Ok(Backend::Importer),
            "" => Err("tikv-importer.backend must not be empty".into()),
            _ => Err("unsupported backend, choose one of: local, tidb, importer".into()),
        }
    }
}

/// What to do with rows whose primary/unique key conflicts (`conflict.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictStrategy {
    /// Upstream's `""`: no detection/resolution.
    #[default]
    None,
    /// Stop at the first conflict (`INSERT` for the tidb backend).
    Error,
    /// Keep the later row (`REPLACE`).
    Replace,
    /// Keep the earlier row (`INSERT IGNORE`); tidb backend only.
    Ignore,
}

impl ConflictStrategy {
    /// The name as written in TOML (`""` for `None`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictStrategy::None => "",
            ConflictStrategy::Error => "error",
            ConflictStrategy::Replace => "replace",
            ConflictStrategy::Ignore => "ignore",
        }
    }
}

impl FromStr for ConflictStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "" | "none" => Ok(ConflictStrategy::None),
            "error" => Ok(ConflictStrategy::Error),
            "replace" => Ok(ConflictStrategy::Replace),
            "ignore" => Ok(ConflictStrategy::Ignore),
            // Older releases' duplicate-resolution values; upstream converts them to replace.
            "remove" | "record" => Ok(ConflictStrategy::Replace),
            _ => Err("choose one of: '', 'replace', 'ignore', 'error'".into()),
        }
    }
}

/// How strictly a post-import step (checksum, analyze) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum PostOpLevel {
    /// Skip the step (old boolean `false`).
    Off,
    /// Run it; a failure is only logged.
    #[default]
    Optional,
    /// Run it; a failure fails the import (old boolean `true`).
    Required,
}

impl PostOpLevel {
    /// The name as written in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            PostOpLevel::Off => "off",
            PostOpLevel::Optional => "optional",
            PostOpLevel::Required => "required",
        }
    }
}

impl FromStr for PostOpLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(PostOpLevel::Off),
            "optional" => Ok(PostOpLevel::Optional),
            "required" | "true" => Ok(PostOpLevel::Required),
            _ => Err("choose one of: 'off', 'optional', 'required'".into()),
        }
    }
}

/// What happens to checkpoint data after a successful run (`checkpoint.keep-after-success`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepStrategy {
    /// Delete it (old boolean `false`).
    #[default]
    Remove,
    /// Rename it after the task id (old boolean `true`).
    Rename,
    /// Leave it as is.
    Origin,
}

impl FromStr for KeepStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "remove" | "false" => Ok(KeepStrategy::Remove),
            "rename" | "true" => Ok(KeepStrategy::Rename),
            "origin" => Ok(KeepStrategy::Origin),
            _ => Err("choose one of: 'remove', 'rename', 'origin'".into()),
        }
    }
}

/// Which PD schedulers are paused during a physical import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PauseScope {
    /// Only on the key ranges of the tables being imported.
    #[default]
    Table,
    /// Cluster-wide.
    Global,
}

impl FromStr for PauseScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(PauseScope::Table),
            "global" => Ok(PauseScope::Global),
            _ => Err("allowed values are: table, global".into()),
        }
    }
}

/// Deserializes any `FromStr<Err = String>` enum from a string, with an optional boolean form.
struct EnumVisitor<T>(fn(bool) -> Option<T>);

impl<T: FromStr<Err = String>> Visitor<'_> for EnumVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse()
            .map_err(|e| E::custom(format!("invalid value {v:?}: {e}")))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        (self.0)(v).ok_or_else(|| E::invalid_type(de::Unexpected::Bool(v), &self))
    }
}

macro_rules! deserialize_enum {
    ($t:ty, $bool:expr) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(EnumVisitor::<$t>($bool))
            }
        }
    };
}

deserialize_enum!(Backend, |_| None);
deserialize_enum!(ConflictStrategy, |_| None);
deserialize_enum!(PauseScope, |_| None);
deserialize_enum!(PostOpLevel, |b| Some(if b {
    PostOpLevel::Required
} else {
    PostOpLevel::Off
}));
deserialize_enum!(KeepStrategy, |b| Some(if b {
    KeepStrategy::Rename
} else {
    KeepStrategy::Remove
}));

/// Error budgets per kind (`lightning.max-error`): either one integer (type errors only)
/// or a table `{ syntax, charset, type, conflict }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxError {
    /// Syntax errors tolerated (upstream hard-codes 0).
    pub syntax: u64,
    /// Character-set conversion errors tolerated (default unlimited).
    pub charset: u64,
    /// Type / strict-mode / SQL errors tolerated (default 0).
    pub type_: u64,
    /// Deprecated conflict budget; prefer `conflict.threshold` (default unlimited).
    pub conflict: u64,
}

/// Upstream's "unlimited": `math.MaxInt64`.
pub const UNLIMITED: u64 = i64::MAX as u64;

impl Default for MaxError {
    fn default() -> Self {
        MaxError {
            syntax: 0,
            charset: UNLIMITED,
            type_: 0,
            conflict: UNLIMITED,
        }
    }
}

/// `v` as a budget; a negative one (which upstream silently ignores) is an error naming
/// `key`, like every other out-of-range value.
fn non_negative<E: de::Error>(key: &str, v: i64) -> Result<u64, E> {
    u64::try_from(v).map_err(|_| E::custom(format!("{key} = {v}: must be 0 or more")))
}

impl<'de> Deserialize<'de> for MaxError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaxError;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a table of syntax/charset/type/conflict integers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MaxError, E> {
                Ok(MaxError {
                    type_: non_negative("lightning.max-error", v)?,
                    ..MaxError::default()
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MaxError, E> {
                Ok(MaxError {
                    type_: v,
                    ..MaxError::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaxError, A::Error> {
                let mut m = MaxError::default();
                while let Some(key) = map.next_key::<String>()? {
                    let v: i64 = map.next_value()?;
                    let slot = match key.as_str() {
                        "syntax" => &mut m.syntax,
                        "charset" => &mut m.charset,
                        "type" => &mut m.type_,
                        "conflict" => &mut m.conflict,
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["syntax", "charset", "type", "conflict"],
                            ))
                        }
                    };
                    *slot = non_negative(&format!("lightning.max-error.{key}"), v)?;
                }
                Ok(m)
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of strings that may also be written as one bare string (e.g. `mydumper.csv.null`).
pub(crate) mod string_or_list {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
                Ok(vec![v.to_string()])
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}
