//! Shared helpers of the binaries (`tidb-lightning`, `tidb-lightning-ctl`): logging
//! set-up from `[lightning] level` / `file` (with a level the status API can change), the
//! allocator's arena limit, and `server`: the status HTTP API and server mode's task queue,
//! which hands each task to `lightning::run_with_stop`.

use anyhow::Context;
use std::path::PathBuf;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

pub mod server;

/// The log level, changeable while running (`PUT /loglevel`).
#[derive(Clone)]
pub struct LogLevel {
    handle: reload::Handle<EnvFilter, Registry>,
    current: std::sync::Arc<std::sync::Mutex<String>>,
}

impl LogLevel {
    /// The level in force, as upstream names it (`info`, `debug`, …).
    pub fn get(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Switches to `level` (upstream's names); an error names the accepted ones.
    pub fn set(&self, level: &str) -> anyhow::Result<()> {
        let l = level.to_ascii_lowercase();
        let ok = ["debug", "info", "warn", "warning", "error", "fatal"];
        anyhow::ensure!(
            ok.contains(&l.as_str()),
            "unknown level {level:?}: choose one of debug, info, warn, error, fatal"
        );
        self.handle
            .reload(EnvFilter::try_new(level_directive(&l))?)?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = match l.as_str() {
            "warning" => "warn".into(),
            _ => l,
        };
        Ok(())
    }
}

/// What [`init_logging`] set up.
pub struct Logging {
    /// The log file, when logs go to one.
    pub file: Option<PathBuf>,
    /// The level, to change it later.
    pub level: LogLevel,
}

/// Caps glibc's malloc arenas at one per CPU (its default is eight per CPU), unless
/// `MALLOC_ARENA_MAX` is set. Encoders, writers and ingest streams allocate and free on
/// many threads; with the default, memory freed in one arena is not reused by another and
/// stays resident. Measured (bench/local.py, 1 GB whole import, 2 CPUs): peak RSS
/// 1836 MiB with the default, 1272 MiB with one arena per CPU, at the same speed.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cpus = libc::c_int::try_from(cpus).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a tunable of the allocator; it is called before the
        // program starts its threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cpus);
        }
    }
}

/// Where logs go: `-` is stdout, empty is a timestamped file in the temp dir (as
/// upstream), anything else a file path; `format` is `[lightning] format`: text (empty or
/// `"text"`) or `"json"`, one object per line with the message and fields at the top
/// level.
pub fn init_logging(level: &str, file: &str, format: &str) -> anyhow::Result<Logging> {
    let filter = EnvFilter::try_new(level_directive(level))
        .with_context(|| format!("bad log level {level:?}"))?;
    let json = match format.to_ascii_lowercase().as_str() {
        "" | "text" => false,
        "json" => true,
        _ => anyhow::bail!("[lightning] format = {format:?}: use \"text\" or \"json\""),
    };
    let (writer, path) = if file == "-" {
        (BoxMakeWriter::new(std::io::stdout), None)
    } else {
        let path = if file.is_empty() {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            std::env::temp_dir().join(format!("lightning.log.{secs}"))
        } else {
            PathBuf::from(file)
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating log folder {}", dir.display()))?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening log file {}", path.display()))?;
        (BoxMakeWriter::new(std::sync::Mutex::new(f)), Some(path))
    };
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json().flatten_event(true)).try_init()?;
    } else {
        registry.with(fmt).try_init()?;
    }
    let name = match level.to_ascii_lowercase().as_str() {
        "" => "info".to_string(),
        "warning" => "warn".to_string(),
        l => l.to_string(),
    };
    Ok(Logging {
        file: path,
        level: LogLevel {
            handle,
            current: std::sync::Arc::new(std::sync::Mutex::new(name)),
        },
    })
}

/// Lightning's level names (`info`, `warn`, `warning`, `error`, `debug`, `fatal`) as a
/// tracing filter for our crates.
fn level_directive(level: &str) -> String {
    let l = match level.to_ascii_lowercase().as_str() {
        "warning" => "warn".to_string(),
        "fatal" | "panic" => "error".to_string(),
        other => other.to_string(),
    };
    format!("warn,lightning={l},lightning_backend={l},lightning_source={l},lightning_config={l},lightning_engine={l},lightning_cluster={l},tidb_lightning={l}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_level_names_map_to_tracing_levels() {
        assert!(level_directive("warning").contains("lightning=warn"));
        assert!(level_directive("FATAL").contains("lightning=error"));
        assert!(EnvFilter::try_new(level_directive("debug")).is_ok());
    }
}
