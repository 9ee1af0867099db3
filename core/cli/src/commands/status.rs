//! `drover status [-verbose] [PREFIX]`: with no argument the job list (as
//! `nomad status`); with an ID or prefix, whatever it names — a job, a node or an
//! evaluation — shown as its own `status` command would.

use super::api_client;
use std::process::ExitCode;

use crate::api::ApiArgs;
use crate::format::id_length;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    api: ApiArgs,
    /// Full IDs.
    #[arg(long)]
    verbose: bool,
    /// A job, node or evaluation ID (or unique prefix).
    #[arg(value_name = "ID")]
    id: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = or_exit!(api_client(&a.api));
    let Some(id) = a.id.clone() else {
        return Ok(super::job_status::list(&client).await);
    };
    let printed = |r: Result<String, String>| match r {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    };
    match client.jobs(Some(&id)).await {
        Ok(jobs) if !jobs.is_empty() => {
            let args = super::job_status::Args {
                api: a.api.clone(),
                verbose: a.verbose,
                short: false,
                evals: false,
                all_allocs: false,
                job: Some(id.clone()),
            };
            let r = match super::job_status::resolve(&client, &id).await {
                Ok(job) => super::job_status::show(&client, &job, &args).await,
                Err(e) => Err(e),
            };
            return Ok(printed(r));
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("Error querying jobs: {e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    if let Ok(nodes) = client.nodes(Some(&id)).await
        && !nodes.is_empty()
    {
        let args = super::node_status::Args {
            api: a.api.clone(),
            verbose: a.verbose,
            short: false,
            node: Some(id.clone()),
        };
        let r = match super::node_status::resolve(&client, &id, a.verbose).await {
            Ok(node) => super::node_status::show(&client, &node, &args).await,
            Err(e) => Err(e),
        };
        return Ok(printed(r));
    }
    if id.len() >= 2
        && let Ok(evals) = client.evaluations(&id).await
        && !evals.is_empty()
    {
        let r = match super::eval_status::resolve(&client, &id, id_length(a.verbose)).await {
            Ok(eval) => client
                .evaluation(&eval)
                .await
                .map(|e| super::eval_status::render(&e, a.verbose, &crate::format::Clock::system()))
                .map_err(|e| format!("Error querying evaluation: {e}")),
            Err(e) => Err(e),
        };
        return Ok(printed(r));
    }
    eprintln!("No job, node or evaluation with prefix or ID {id:?} found");
    Ok(ExitCode::FAILURE)
}
