//! `drover plugin conformance [--config FILE] PATH`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use drover_plugin_sdk::testing::{MockRecipe, ShellRecipe, Suite};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin's config block in HCL, e.g. a file holding `enabled = true`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Arguments to launch the plugin with (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Run only the cases whose names start with this (repeatable).
    #[arg(long = "case", value_name = "PREFIX")]
    cases: Vec<String>,
    /// How to express test tasks: `shell` (command/args) or `mock`;
    /// detected from the task config schema when absent.
    #[arg(long, value_name = "NAME", value_parser = ["shell", "mock"])]
    recipe: Option<String>,
    /// Seconds each case may take.
    #[arg(long, default_value_t = 30)]
    case_timeout: u64,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// The plugin binary.
    #[arg(required_unless_present = "list")]
    path: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.list {
        for name in Suite::case_names() {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = a.path.unwrap_or_default();
    let config = super::read_plugin_config(a.config.as_deref())?;
    let mut suite = Suite::new(&path)
        .config(config)
        .args(a.args)
        .only(a.cases)
        .case_timeout(Duration::from_secs(a.case_timeout));
    match a.recipe.as_deref() {
        Some("shell") => suite = suite.recipe(Box::new(ShellRecipe)),
        Some("mock") => suite = suite.recipe(Box::new(MockRecipe)),
        _ => {}
    }
    let report = suite.run().await;
    print!("{report}");
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
