//! The conformance suite (feature `testing`): checks that a driver plugin
//! binary keeps Drover's plugin contract.
//!
//! It launches the plugin through the real plugin manager (the same code the
//! agent uses), so handshake, socket, health, config and every driver call go
//! over the real wire. Each named case ends [`Outcome::Passed`],
//! [`Outcome::Skipped`] with the reason (the plugin does not declare the
//! capability, or no [`Recipe`] can express the task the case needs) or
//! [`Outcome::Failed`] with what went wrong.
//!
//! ```no_run
//! # async fn demo() {
//! use drover_plugin_sdk::testing::{Suite, ShellRecipe};
//! let report = Suite::new("target/debug/drover-driver-raw-exec")
//!     .config(serde_json::json!({ "enabled": true }))
//!     .run()
//!     .await;
//! print!("{report}");
//! assert_eq!(report.failed(), 0);
//! # }
//! ```
//!
//! The `drover plugin conformance [--config FILE] PATH` command is a thin
//! wrapper around [`Suite`].

mod cases_basic;
mod cases_exec;
mod cases_robust;
mod cases_task;
mod ctx;
mod recipe;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

pub use ctx::Ctx;
pub use recipe::{Behaviour, MockRecipe, Recipe, ShellRecipe, detect as detect_recipe};

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Skipped(String),
    Failed(String),
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub name: &'static str,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// All results of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub plugin: String,
    pub recipe: Option<&'static str>,
    pub cases: Vec<CaseReport>,
}

impl Report {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
    /// The outcome of the case called `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.cases
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.outcome)
    }
    /// The closing line: `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let recipe = self.recipe.unwrap_or("none");
        writeln!(f, "conformance of {} (task recipe: {recipe})", self.plugin)?;
        for c in &self.cases {
            let ms = c.elapsed.as_millis();
            match &c.outcome {
                Outcome::Passed => writeln!(f, "PASS  {} ({ms} ms)", c.name)?,
                Outcome::Skipped(why) => writeln!(f, "SKIP  {}: {why}", c.name)?,
                Outcome::Failed(why) => writeln!(f, "FAIL  {}: {why} ({ms} ms)", c.name)?,
            }
        }
        writeln!(f, "{}", self.summary())
    }
}

/// What a case returns: `Err` is a failure with its reason.
pub(crate) type CaseResult = Result<Outcome, String>;
type CaseFn = for<'a> fn(&'a Ctx) -> BoxFuture<'a, CaseResult>;

/// Every case, in the order they run. The recover case kills the plugin, so
/// it runs after the cases that need a plugin that never crashed.
const CASES: &[(&str, CaseFn)] = &[
    ("handshake.missing_cookie", cases_basic::missing_cookie),
    ("handshake.version_mismatch", cases_basic::version_mismatch),
    ("info", cases_basic::info),
    ("schema", cases_basic::schema),
    ("set_config.invalid", cases_basic::set_config_invalid),
    ("fingerprint.health", cases_basic::fingerprint),
    ("capabilities", cases_basic::capabilities),
    ("start_wait.exit_zero", cases_task::exit_zero),
    ("start_wait.exit_nonzero", cases_task::exit_nonzero),
    ("stop.graceful", cases_task::stop_graceful),
    ("stop.escalation", cases_task::stop_escalation),
    ("destroy.running", cases_task::destroy_running),
    ("inspect", cases_task::inspect),
    ("stats.stream", cases_task::stats),
    ("events.stream", cases_task::events),
    ("signal", cases_task::signal),
    ("exec", cases_task::exec),
    ("exec_stream.reply", cases_exec::reply),
    ("exec_stream.unknown_task", cases_exec::unknown_task),
    ("exec_stream.output", cases_exec::output),
    ("exec_stream.streaming", cases_exec::streaming),
    ("exec_stream.no_tty", cases_exec::no_tty),
    ("exec_stream.stdin", cases_exec::stdin_passing),
    ("exec_stream.tty", cases_exec::tty),
    ("exec_stream.tty_input", cases_exec::tty_input),
    ("exec_stream.hangup", cases_exec::hangup),
    ("bad_task_config", cases_robust::bad_task_config),
    ("concurrent.50_tasks", cases_robust::concurrent),
    ("recover.after_sigkill", cases_robust::recover),
];

/// A conformance run against one plugin binary.
pub struct Suite {
    path: PathBuf,
    args: Vec<String>,
    config: serde_json::Value,
    recipe: Option<Box<dyn Recipe>>,
    only: Vec<String>,
    case_timeout: Duration,
}

impl Suite {
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            args: Vec::new(),
            config: serde_json::json!({}),
            recipe: None,
            only: Vec::new(),
            case_timeout: Duration::from_secs(30),
        }
    }
    /// Arguments the plugin is launched with (`plugin "x" { args = [...] }`).
    pub fn args(mut self, args: Vec<String>) -> Self {
        self.args = args;
        self
    }
    /// The plugin's config block as JSON.
    pub fn config(mut self, config: serde_json::Value) -> Self {
        self.config = config;
        self
    }
    /// Use this recipe instead of detecting one from the task config schema.
    pub fn recipe(mut self, recipe: Box<dyn Recipe>) -> Self {
        self.recipe = Some(recipe);
        self
    }
    /// Run only cases whose name starts with one of these prefixes.
    pub fn only(mut self, prefixes: Vec<String>) -> Self {
        self.only = prefixes;
        self
    }
    pub fn case_timeout(mut self, timeout: Duration) -> Self {
        self.case_timeout = timeout;
        self
    }

    /// Names of all cases, in order.
    pub fn case_names() -> Vec<&'static str> {
        std::iter::once("handshake.good_cookie")
            .chain(std::iter::once("set_config.valid"))
            .chain(CASES.iter().map(|(n, _)| *n))
            .collect()
    }

    fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| name.starts_with(p.as_str()))
    }

    /// Run the cases and collect their outcomes. Never panics on a
    /// misbehaving plugin; the plugin is stopped at the end.
    pub async fn run(mut self) -> Report {
        let mut report = Report {
            plugin: self.path.display().to_string(),
            ..Report::default()
        };
        let started = Instant::now();
        let setup = Ctx::start(&self.path, &self.args, &self.config, self.recipe.take()).await;
        let (ctx, good_cookie, valid_config) = match setup {
            Ok(ctx) => (ctx, Outcome::Passed, Outcome::Passed),
            Err(ctx::SetupError::Launch(e)) => {
                report
                    .cases
                    .push(case("handshake.good_cookie", Outcome::Failed(e), started));
                skip_rest(&mut report, "the plugin did not start", &self.only);
                return report;
            }
            Err(ctx::SetupError::Config(e)) => {
                report
                    .cases
                    .push(case("handshake.good_cookie", Outcome::Passed, started));
                report
                    .cases
                    .push(case("set_config.valid", Outcome::Failed(e), started));
                skip_rest(&mut report, "the plugin rejected its config", &self.only);
                return report;
            }
        };
        report.recipe = ctx.recipe_name();
        report
            .cases
            .push(case("handshake.good_cookie", good_cookie, started));
        report
            .cases
            .push(case("set_config.valid", valid_config, started));
        for (name, f) in CASES {
            if !self.selected(name) {
                continue;
            }
            let t = Instant::now();
            let outcome = match tokio::time::timeout(self.case_timeout, f(&ctx)).await {
                Ok(Ok(o)) => o,
                Ok(Err(why)) => Outcome::Failed(why),
                Err(_) => Outcome::Failed(format!("timed out after {:?}", self.case_timeout)),
            };
            report.cases.push(case(name, outcome, t));
            ctx.cleanup().await;
        }
        ctx.stop().await;
        report
    }
}

fn case(name: &'static str, outcome: Outcome, since: Instant) -> CaseReport {
    CaseReport {
        name,
        outcome,
        elapsed: since.elapsed(),
    }
}

fn skip_rest(report: &mut Report, why: &str, only: &[String]) {
    for (name, _) in CASES {
        if only.is_empty() || only.iter().any(|p| name.starts_with(p.as_str())) {
            report.cases.push(CaseReport {
                name,
                outcome: Outcome::Skipped(why.to_string()),
                elapsed: Duration::ZERO,
            });
        }
    }
}

/// Read a plugin config block written in HCL (the body of
/// `plugin "x" { config { ... } }`, e.g. `enabled = true`) into JSON.
pub fn config_from_hcl(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = hcl::from_str(text).map_err(|e| e.to_string())?;
    match value {
        serde_json::Value::Object(_) => Ok(value),
        other => Err(format!("expected a block of attributes, found {other}")),
    }
}
