//! Test helper for the executor (`tests/executor.rs`). It is both:
//! - the executor binary (its `main` calls `run_if_executor()` first, like
//!   `serve()` does in a plugin), and
//! - a stand-in plugin: `executor_probe launch '<ExecSpec JSON>'` launches
//!   the task, prints the `ExecutorHandle` as one JSON line, then waits for
//!   the task and prints its `ExitResult` as a second line.

use drover_plugin_sdk::executor::{self, ExecSpec};

fn main() {
    executor::run_if_executor();
    let args: Vec<String> = std::env::args().collect();
    let [_, verb, spec] = args.as_slice() else {
        eprintln!("usage: executor_probe launch '<ExecSpec JSON>'");
        std::process::exit(2);
    };
    if verb != "launch" {
        eprintln!("unknown verb {verb:?}");
        std::process::exit(2);
    }
    let spec: ExecSpec = match serde_json::from_str(spec) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("bad spec: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        let ex = match executor::launch(&spec).await {
            Ok(ex) => ex,
            Err(e) => {
                println!("{}", serde_json::json!({ "error": e.message }));
                return 1;
            }
        };
        println!("{}", serde_json::json!({ "handle": ex.handle() }));
        match ex.wait().await {
            Ok(exit) => {
                println!("{}", serde_json::json!({ "exit": exit }));
                0
            }
            Err(e) => {
                println!("{}", serde_json::json!({ "error": e.message }));
                1
            }
        }
    });
    std::process::exit(code)
}
