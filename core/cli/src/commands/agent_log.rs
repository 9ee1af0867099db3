//! The agent's own log: `tracing` events at `log_level`, as text or JSON (`log_json`),
//! with file and line (`log_include_location`), to stdout and, with `log_file`, to a
//! file rotated the way Nomad's agent rotates it (reference §1.3): the active file
//! keeps its name (`drover.log` when `log_file` names a directory), a full or old file
//! is renamed `<stem>-<unixnano>.<ext>`, and the oldest rotated files beyond
//! `log_rotate_max_files` are deleted (0 keeps them all).
//!
//! Stdout is gated like Nomad's: events logged while the agent starts are held back
//! and written after the startup banner ([`Gate::open`]). `DROVER_LOG` (an
//! `EnvFilter` directive) overrides `log_level`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use drover_agent::config::{LogConfig, LogLevel};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Crates whose DEBUG output is transport noise, capped at INFO.
const NOISY: [&str; 6] = ["h2", "hyper", "hyper_util", "tower", "tonic", "sled"];

/// Stdout that buffers until the banner has been printed.
#[derive(Clone, Default)]
pub struct Gate(Arc<Mutex<Option<Vec<u8>>>>);

impl Gate {
    fn new() -> Gate {
        Gate(Arc::new(Mutex::new(Some(Vec::new()))))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what was held back and lets later events through.
    pub fn open(&self) {
        if let Some(held) = self.lock().take() {
            let mut out = io::stdout().lock();
            let _ = out.write_all(&held);
            let _ = out.flush();
        }
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.lock().as_mut() {
            Some(held) => held.extend_from_slice(buf),
            None => io::stdout().lock().write_all(buf)?,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// Installs the global subscriber; returns the stdout gate to open after the banner.
pub fn init(cfg: &LogConfig) -> anyhow::Result<Gate> {
    let filter = match std::env::var("DROVER_LOG") {
        Ok(s) if !s.trim().is_empty() => {
            EnvFilter::try_new(&s).with_context(|| format!("DROVER_LOG={s:?}"))?
        }
        _ => level_filter(cfg.level),
    };
    let gate = Gate::new();
    let out = gate.clone();
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> =
        vec![layer(cfg, move || out.clone(), true)];
    if let Some(path) = &cfg.file {
        let file = RotatingFile::open(path, cfg)?;
        let file = Arc::new(Mutex::new(file));
        layers.push(layer(cfg, move || FileHandle(file.clone()), false));
    }
    tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init()
        .context("install the log subscriber")?;
    Ok(gate)
}

fn level_filter(level: LogLevel) -> EnvFilter {
    let base = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::Off => "off",
    };
    let mut directives = base.to_string();
    if matches!(level, LogLevel::Trace | LogLevel::Debug) {
        for krate in NOISY {
            directives.push_str(&format!(",{krate}=info"));
        }
    }
    EnvFilter::new(directives)
}

fn layer<W>(cfg: &LogConfig, writer: W, ansi: bool) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_file(cfg.include_location)
        .with_line_number(cfg.include_location);
    if cfg.json {
        base.json().boxed()
    } else {
        base.with_ansi(ansi && std::io::IsTerminal::is_terminal(&io::stdout()))
            .boxed()
    }
}

/// One event's writer onto the shared rotating file.
struct FileHandle(Arc<Mutex<RotatingFile>>);

impl Write for FileHandle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .file
            .flush()
    }
}

/// The active log file and its rotation rules.
struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
    opened: Instant,
    max_bytes: u64,
    max_age: Duration,
    max_files: u32,
}

/// `log_file` as the active file's path (`<dir>/drover.log` for a directory).
fn active_path(p: &Path) -> PathBuf {
    let as_dir = p.as_os_str().to_string_lossy().ends_with('/') || p.is_dir();
    if as_dir {
        p.join("drover.log")
    } else {
        p.to_path_buf()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o640);
    o.open(path)
}

impl RotatingFile {
    fn open(log_file: &Path, cfg: &LogConfig) -> anyhow::Result<RotatingFile> {
        let path = active_path(log_file);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("log_file: create {}", dir.display()))?;
        }
        let file =
            open_append(&path).with_context(|| format!("log_file: open {}", path.display()))?;
        let written = file.metadata().map_or(0, |m| m.len());
        Ok(RotatingFile {
            path,
            file,
            written,
            opened: Instant::now(),
            max_bytes: cfg.rotate_bytes,
            max_age: cfg.rotate_duration,
            max_files: cfg.rotate_max_files,
        })
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let full = self.max_bytes > 0 && self.written > 0 && self.written >= self.max_bytes;
        let old = !self.max_age.is_zero() && self.opened.elapsed() >= self.max_age;
        if full || old {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }

    fn names(&self) -> (String, String) {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "drover".into(), |s| s.to_string_lossy().into_owned());
        let ext = self
            .path
            .extension()
            .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
        (stem, ext)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let (stem, ext) = self.names();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let rotated = self.path.with_file_name(format!("{stem}-{nanos}{ext}"));
        std::fs::rename(&self.path, rotated)?;
        self.file = open_append(&self.path)?;
        self.written = 0;
        self.opened = Instant::now();
        self.prune(&stem, &ext);
        Ok(())
    }

    /// Deletes the oldest rotated files beyond `max_files` (0 keeps all).
    fn prune(&self, stem: &str, ext: &str) {
        if self.max_files == 0 {
            return;
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let prefix = format!("{stem}-");
        let mut rotated: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&prefix) && n.ends_with(ext) && n.len() > prefix.len()
                })
            })
            .collect();
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.max_files as usize);
        for old in rotated.into_iter().take(excess) {
            let _ = std::fs::remove_file(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(bytes: u64, files: u32) -> LogConfig {
        LogConfig {
            level: LogLevel::Info,
            json: false,
            file: None,
            include_location: false,
            rotate_duration: Duration::from_secs(86_400),
            rotate_bytes: bytes,
            rotate_max_files: files,
        }
    }

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = RotatingFile::open(&dir.path().join("agent.log"), &cfg(10, 2)).expect("open");
        for i in 0..5 {
            f.write_all(format!("line {i} is long\n").as_bytes())
                .expect("write");
            // Distinct rotation timestamps.
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "active + 2 rotated: {names:?}");
        assert!(names.contains(&"agent.log".to_string()), "{names:?}");
        assert!(
            names
                .iter()
                .filter(|n| *n != "agent.log")
                .all(|n| n.starts_with("agent-") && n.ends_with(".log")),
            "{names:?}"
        );
        let active = std::fs::read_to_string(dir.path().join("agent.log")).expect("read");
        assert_eq!(active, "line 4 is long\n");
    }

    #[test]
    fn a_directory_gets_drover_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(active_path(dir.path()), dir.path().join("drover.log"));
        let f = dir.path().join("x.log");
        assert_eq!(active_path(&f), f);
    }
}
