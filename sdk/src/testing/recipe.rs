//! Recipes: how to ask a driver for a task that behaves a certain way.
//!
//! The conformance cases need tasks that exit with a code, run until stopped,
//! ignore the stop signal, print a marker or react to a signal. How to say
//! that depends on the driver's task config, so a [`Recipe`] translates a
//! [`Behaviour`] into a task `config` block. Two recipes ship: [`ShellRecipe`]
//! for drivers that take `command` and `args` (raw_exec, exec-like drivers)
//! and [`MockRecipe`] for `mock_driver`. A third-party driver with another
//! task config implements [`Recipe`] itself and runs the suite as a library.

use std::time::Duration;

use serde_json::{Value, json};

/// What a conformance task should do.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Run this long, then exit with `exit_code`; `None` runs until stopped.
    pub run_for: Option<Duration>,
    pub exit_code: i32,
    /// Keep running when sent the stop signal (SIGTERM), so a stop must
    /// escalate to SIGKILL.
    pub ignore_term: bool,
    /// Print this line on stdout when the task starts.
    pub stdout: Option<String>,
    /// Exit 0 when sent SIGUSR1 (only where the recipe can express it).
    pub exit_on_usr1: bool,
    /// Instead of `run_for`: run until this file exists, then exit with
    /// `exit_code` (only where the recipe can express it), so a case decides
    /// when the task ends however slow the machine is.
    pub exit_when_file: Option<String>,
    /// What a one-shot exec inside the task prints and exits with.
    pub exec_reply: Option<(String, i32)>,
}

impl Behaviour {
    /// A task that exits with `code` after `run_for`.
    pub fn exits(code: i32, run_for: Duration) -> Self {
        Self {
            run_for: Some(run_for),
            exit_code: code,
            ..Self::forever()
        }
    }

    /// A task that runs until stopped.
    pub fn forever() -> Self {
        Self {
            run_for: None,
            exit_code: 0,
            ignore_term: false,
            stdout: None,
            exit_on_usr1: false,
            exit_when_file: None,
            exec_reply: None,
        }
    }
}

/// Translates behaviours into a driver's task config.
pub trait Recipe: Send + Sync {
    /// Shown in the report, e.g. "shell".
    fn name(&self) -> &'static str;
    /// The task `config` block for `b`.
    fn task_config(&self, b: &Behaviour) -> Value;
    /// The command an ExecTask call should run to get `b.exec_reply`.
    fn exec_command(&self, reply: &(String, i32)) -> Vec<String>;
    /// The command that runs `script` with a POSIX shell inside a task, for
    /// the streaming exec cases; `None` when the driver's tasks have no
    /// shell (those cases are then skipped).
    fn exec_shell(&self, script: &str) -> Option<Vec<String>> {
        let _ = script;
        None
    }
    /// Whether tasks built by this recipe honour [`Behaviour::exit_on_usr1`].
    fn supports_exit_on_usr1(&self) -> bool;
    /// Whether tasks built by this recipe honour [`Behaviour::exit_when_file`].
    fn supports_exit_when_file(&self) -> bool {
        false
    }
}

/// `command = "/bin/sh"`, `args = ["-c", script]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShellRecipe;

/// Quote `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Recipe for ShellRecipe {
    fn name(&self) -> &'static str {
        "shell"
    }

    fn task_config(&self, b: &Behaviour) -> Value {
        let mut script = String::new();
        if b.ignore_term {
            script.push_str("trap '' TERM; ");
        }
        if b.exit_on_usr1 {
            script.push_str("trap 'echo got-usr1; exit 0' USR1; ");
        }
        if let Some(line) = &b.stdout {
            script.push_str(&format!("echo {}; ", sh_quote(line)));
        }
        if let Some(file) = &b.exit_when_file {
            script.push_str(&format!(
                "while [ ! -e {} ]; do sleep 0.05; done; exit {}",
                sh_quote(file),
                b.exit_code
            ));
            return json!({ "command": "/bin/sh", "args": ["-c", script] });
        }
        match b.run_for {
            // Short sleeps in a loop: a trap runs between two of them.
            None => script.push_str("while :; do sleep 0.05; done"),
            Some(d) if b.exit_on_usr1 => {
                let n = (d.as_millis() / 50).max(1);
                script.push_str(&format!(
                    "i=0; while [ $i -lt {n} ]; do sleep 0.05; i=$((i+1)); done; "
                ));
                script.push_str(&format!("exit {}", b.exit_code));
            }
            Some(d) => {
                if !d.is_zero() {
                    script.push_str(&format!("sleep {:.3}; ", d.as_secs_f64()));
                }
                script.push_str(&format!("exit {}", b.exit_code));
            }
        }
        json!({ "command": "/bin/sh", "args": ["-c", script] })
    }

    fn exec_command(&self, (stdout, code): &(String, i32)) -> Vec<String> {
        vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("echo {}; exit {code}", sh_quote(stdout)),
        ]
    }

    fn exec_shell(&self, script: &str) -> Option<Vec<String>> {
        Some(vec!["/bin/sh".into(), "-c".into(), script.into()])
    }

    fn supports_exit_on_usr1(&self) -> bool {
        true
    }

    fn supports_exit_when_file(&self) -> bool {
        true
    }
}

/// The task config keys of `mock_driver`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MockRecipe;

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

impl Recipe for MockRecipe {
    fn name(&self) -> &'static str {
        "mock"
    }

    fn task_config(&self, b: &Behaviour) -> Value {
        let mut cfg = serde_json::Map::new();
        if let Some(d) = b.run_for {
            cfg.insert("run_for".into(), json!(ms(d)));
            cfg.insert("exit_code".into(), json!(b.exit_code));
        }
        if b.ignore_term {
            cfg.insert("kill_after".into(), json!("1h"));
        }
        if let Some(line) = &b.stdout {
            cfg.insert("stdout_string".into(), json!(format!("{line}\n")));
        }
        if let Some((stdout, code)) = &b.exec_reply {
            cfg.insert(
                "exec_command".into(),
                json!({ "stdout_string": format!("{stdout}\n"), "exit_code": code }),
            );
        }
        Value::Object(cfg)
    }

    fn exec_command(&self, _reply: &(String, i32)) -> Vec<String> {
        vec!["mock-exec".into()]
    }

    fn supports_exit_on_usr1(&self) -> bool {
        false
    }
}

/// Pick a recipe from a driver's task config JSON Schema: `run_for` means the
/// mock driver, `command` a process driver.
pub fn detect(task_schema: &str) -> Option<Box<dyn Recipe>> {
    let schema: Value = serde_json::from_str(task_schema).ok()?;
    let props = schema.get("properties")?;
    if props.get("run_for").is_some() {
        Some(Box::new(MockRecipe))
    } else if props.get("command").is_some() {
        Some(Box::new(ShellRecipe))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_script_for_each_behaviour() {
        let b = Behaviour {
            ignore_term: true,
            stdout: Some("it's".into()),
            ..Behaviour::forever()
        };
        let cfg = ShellRecipe.task_config(&b);
        assert_eq!(
            cfg["args"][1],
            "trap '' TERM; echo 'it'\\''s'; while :; do sleep 0.05; done"
        );
        let cfg = ShellRecipe.task_config(&Behaviour::exits(3, Duration::ZERO));
        assert_eq!(cfg["args"][1], "exit 3");
    }

    #[test]
    fn shell_task_can_wait_for_a_file() {
        let b = Behaviour {
            exit_when_file: Some("/tmp/x y".into()),
            ..Behaviour::exits(5, Duration::from_secs(3))
        };
        let cfg = ShellRecipe.task_config(&b);
        assert_eq!(
            cfg["args"][1],
            "while [ ! -e '/tmp/x y' ]; do sleep 0.05; done; exit 5"
        );
        assert!(!MockRecipe.supports_exit_when_file());
    }

    #[test]
    fn detects_recipe_from_schema() {
        let mock = r#"{"properties":{"run_for":{"type":"string"}}}"#;
        let shell = r#"{"properties":{"command":{"type":"string"}}}"#;
        assert_eq!(detect(mock).map(|r| r.name()), Some("mock"));
        assert_eq!(detect(shell).map(|r| r.name()), Some("shell"));
        assert!(detect(r#"{"properties":{"image":{}}}"#).is_none());
        assert!(detect("not json").is_none());
    }
}
