//! `drover`: the command-line interface.
//!
//! Flags may be written Nomad's way with one dash (`-config`, `-dev`) as
//! well as with two; see [`args::normalize`].

mod api;
mod args;
mod commands;
mod format;
#[cfg(test)]
mod golden_tests;
mod monitor;

use std::process::ExitCode;

use clap::Parser;

/// The hidden subcommand the client starts a task's log collector with.
const LOGMON_SUBCOMMAND: &str = "logmon";

fn main() -> ExitCode {
    // The log collector is a process of its own; it parses its flags itself and runs
    // before clap so it stays small and out of `drover --help`.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == LOGMON_SUBCOMMAND) {
        return drover_client::logmon::process::main(&argv[2..]);
    }
    // Usage errors exit 1 as Nomad's do; clap's 2 would read as "placement failures".
    let cli = match commands::Cli::try_parse_from(args::normalize(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
