//! Shared helpers: locating the test plugin, launch options, polling with a
//! deadline, and a global log capture to check stderr re-emission.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use drover_pluginmgr::{LaunchOptions, PluginCommand};

/// Generous: the machine is small and shared.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// `target/debug/examples/test_plugin`, next to this test's `deps/` dir.
pub fn test_plugin() -> PluginCommand {
    let exe = std::env::current_exe().expect("test exe path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir above deps/");
    let path = target.join("examples").join("test_plugin");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test -p drover-pluginmgr` (which builds examples) \
         or `cargo build -p drover-pluginmgr --examples`",
        path.display()
    );
    PluginCommand::new(path)
}

/// A per-test scratch area: socket root, pid file, state dir.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("pm")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn sockets(&self) -> PathBuf {
        let dir = self.path("sock");
        std::fs::create_dir_all(&dir).expect("mkdir sock");
        dir
    }

    /// Options running the test plugin in `mode`, with its pid in `pid`.
    pub fn opts(&self, mode: &str) -> LaunchOptions {
        LaunchOptions {
            start_timeout: Duration::from_secs(15),
            socket_root: Some(self.sockets()),
            env: vec![
                ("TEST_PLUGIN_MODE".into(), mode.into()),
                (
                    "TEST_PLUGIN_PID_FILE".into(),
                    self.path("pid").display().to_string(),
                ),
            ],
            ..LaunchOptions::default()
        }
    }

    /// The pid the plugin wrote at start.
    pub fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.path("pid")).expect("pid file");
        text.trim().parse().expect("pid")
    }

    /// Private socket directories left under the socket root.
    pub fn leftover_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.sockets())
            .expect("read sock dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect()
    }

    /// An executable shell script.
    pub fn script(&self, name: &str, body: &str) -> PluginCommand {
        let path = self.path(name);
        let mut file = std::fs::File::create(&path).expect("create script");
        writeln!(file, "#!/bin/sh\n{body}").expect("write script");
        drop(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        PluginCommand::new(path)
    }
}

/// Poll `check` every 20 ms until it holds or `DEADLINE` passes.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until no process (not even a zombie) has `pid`.
pub async fn gone(pid: u32) {
    eventually(&format!("process {pid} is gone"), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    })
    .await;
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<Capture> = OnceLock::new();

/// Install (once) a global subscriber capturing all events as text.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    });
}

/// Captured log lines containing all of `needles`.
pub fn log_lines_with(needles: &[&str]) -> Vec<String> {
    let Some(capture) = LOGS.get() else {
        return Vec::new();
    };
    let text = capture
        .0
        .lock()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default();
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}
