//! `drover config validate FILE|DIR...`: load agent configuration files the way
//! `drover agent -config` will (directories expand to their `*.hcl`/`*.json` files, later
//! files override earlier ones) and report every mistake with file, line and column.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration files or directories, merged in order.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Validate on top of `-dev` defaults (server and client enabled, no data_dir needed).
    #[arg(long)]
    dev: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match drover_agent::config::load(&args.paths, args.dev) {
        Ok(config) => {
            println!("Configuration is valid");
            for block in &config.ignored_blocks {
                eprintln!("Warning: the {block:?} block is accepted but not used by drover");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            let n = diagnostics.len();
            eprintln!(
                "Configuration is invalid: {n} error{}",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
