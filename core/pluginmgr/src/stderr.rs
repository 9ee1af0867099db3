//! A plugin's stderr: JSON log lines re-emitted as `tracing` events tagged
//! `plugin = <name>`, and the last lines kept for error messages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio_util::sync::CancellationToken;
use tracing::Level;

/// How many stderr lines are kept for error messages.
pub const TAIL_LINES: usize = 20;
/// Longest line kept or re-emitted; the rest is cut.
const MAX_LINE: usize = 4096;

/// A log line from a plugin, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogLine {
    pub level: Level,
    pub message: String,
    /// The plugin's own `target`, if any.
    pub target: Option<String>,
    /// Other fields, as compact JSON (`None` when none).
    pub fields: Option<String>,
    /// Whether the line was a JSON log record (else it is kept verbatim).
    pub structured: bool,
}

/// Decode one stderr line: a JSON object with `level`, `message`, `target`
/// and other fields (tracing-subscriber's json format with flattened events),
/// or anything else, which is taken verbatim at INFO.
pub(crate) fn parse_line(line: &str) -> LogLine {
    let verbatim = || LogLine {
        level: Level::INFO,
        message: line.to_string(),
        target: None,
        fields: None,
        structured: false,
    };
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str(line) else {
        return verbatim();
    };
    let Some(message) = obj.remove("message") else {
        return verbatim();
    };
    let message = match message {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let level = match obj.remove("level").as_ref().and_then(|l| l.as_str()) {
        Some(l) if l.eq_ignore_ascii_case("trace") => Level::TRACE,
        Some(l) if l.eq_ignore_ascii_case("debug") => Level::DEBUG,
        Some(l) if l.eq_ignore_ascii_case("warn") || l.eq_ignore_ascii_case("warning") => {
            Level::WARN
        }
        Some(l) if l.eq_ignore_ascii_case("error") => Level::ERROR,
        _ => Level::INFO,
    };
    let target = match obj.remove("target") {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    obj.remove("timestamp");
    let fields = (!obj.is_empty()).then(|| serde_json::Value::Object(obj).to_string());
    LogLine {
        level,
        message,
        target,
        fields,
        structured: true,
    }
}

impl LogLine {
    /// The line as shown in an error message.
    pub fn render(&self) -> String {
        if !self.structured {
            return self.message.clone();
        }
        match &self.fields {
            Some(fields) => format!("{} {} {}", self.level, self.message, fields),
            None => format!("{} {}", self.level, self.message),
        }
    }

    fn emit(&self, plugin: &str) {
        let target = self.target.as_deref().unwrap_or("");
        let fields = self.fields.as_deref().unwrap_or("");
        let message = &self.message;
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "drover::plugin",
                    $level,
                    plugin,
                    plugin_target = target,
                    fields,
                    "{message}"
                )
            };
        }
        match self.level {
            Level::TRACE => emit!(Level::TRACE),
            Level::DEBUG => emit!(Level::DEBUG),
            Level::INFO => emit!(Level::INFO),
            Level::WARN => emit!(Level::WARN),
            _ => emit!(Level::ERROR),
        }
    }
}

/// The last stderr lines of a plugin and its current display name, shared
/// between the reader task and the process handle.
#[derive(Debug, Clone)]
pub(crate) struct StderrLog {
    name: Arc<Mutex<String>>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl StderrLog {
    pub fn new(name: &str) -> Self {
        Self {
            name: Arc::new(Mutex::new(name.to_string())),
            tail: Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES))),
        }
    }

    /// Tag later lines with the plugin's real name.
    pub fn set_name(&self, name: &str) {
        if let Ok(mut n) = self.name.lock() {
            *n = name.to_string();
        }
    }

    pub fn name(&self) -> String {
        self.name.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn push(&self, line: &str) {
        let parsed = parse_line(line);
        parsed.emit(&self.name());
        if let Ok(mut tail) = self.tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(crate::error::truncate(&parsed.render(), 300));
        }
    }

    /// Read `stderr` line by line until EOF or `cancel`.
    pub async fn run(self, stderr: impl AsyncRead + Unpin, cancel: CancellationToken) {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::with_capacity(256);
        loop {
            buf.clear();
            let read = tokio::select! {
                _ = cancel.cancelled() => return,
                r = read_capped_line(&mut reader, &mut buf) => r,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if !line.is_empty() {
                        self.push(line);
                    }
                }
            }
        }
    }
}

/// Read one line (up to and including `\n`) keeping at most `MAX_LINE`
/// bytes of it; returns the number of bytes consumed (0 at EOF).
pub(crate) async fn read_capped_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keep_level_message_and_fields() {
        let line = r#"{"timestamp":"2024-01-01T00:00:00Z","level":"WARN","message":"disk low","target":"raw_exec::fp","free_mb":12}"#;
        let parsed = parse_line(line);
        assert_eq!(parsed.level, Level::WARN);
        assert_eq!(parsed.message, "disk low");
        assert_eq!(parsed.target.as_deref(), Some("raw_exec::fp"));
        assert_eq!(parsed.fields.as_deref(), Some(r#"{"free_mb":12}"#));
        assert_eq!(parsed.render(), r#"WARN disk low {"free_mb":12}"#);
    }

    #[test]
    fn other_lines_are_info_verbatim() {
        for line in [
            "panicked at src/main.rs:3",
            "{not json",
            r#"{"level":"ERROR"}"#,
            "[1,2]",
        ] {
            let parsed = parse_line(line);
            assert_eq!(parsed.level, Level::INFO);
            assert_eq!(parsed.message, line);
        }
        assert_eq!(
            parse_line(r#"{"level":"trace","message":"x"}"#).level,
            Level::TRACE
        );
    }

    #[tokio::test]
    async fn long_lines_are_capped_and_tail_is_bounded() {
        let mut input = "x".repeat(MAX_LINE * 2);
        input.push('\n');
        for i in 0..30 {
            input.push_str(&format!("line {i}\n"));
        }
        let log = StderrLog::new("t");
        log.clone()
            .run(input.as_bytes(), CancellationToken::new())
            .await;
        let tail = log.tail();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.first().map(String::as_str), Some("line 10"));
        assert_eq!(tail.last().map(String::as_str), Some("line 29"));
    }
}
