//! Launch: the happy path, and every way a plugin can fail the handshake,
//! each with a message naming the plugin and no process or directory left.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use drover_pluginmgr::{Error, LaunchOptions, PluginCommand, PluginProcess};
use drover_proto::v1::{self, AgentConfig, PluginType};
use serde_json::json;

use crate::support::{Scratch, alive, capture_logs, eventually, gone, log_lines_with, test_plugin};

#[tokio::test]
async fn good_plugin_launches_configures_and_stops() {
    capture_logs();
    let scratch = Scratch::new();
    let mut opts = scratch.opts("good");
    opts.env.push(("TEST_PLUGIN_NAME".into(), "alpha".into()));
    let plugin = PluginProcess::launch(&test_plugin(), &opts)
        .await
        .expect("launch");

    assert_eq!(plugin.name(), "alpha");
    assert_eq!(plugin.info().version, "0.1.0");
    assert_eq!(plugin.info().r#type, PluginType::Driver as i32);
    assert_eq!(plugin.protocol_version(), 1);
    assert_eq!(plugin.pid(), scratch.pid());
    let dir = plugin.socket().parent().expect("socket dir").to_path_buf();
    assert!(dir.starts_with(scratch.sockets()), "{}", dir.display());
    let mode = std::fs::metadata(&dir).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    plugin.check_health().await.expect("healthy");

    // Own process group, so a terminal Ctrl-C does not reach it.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", plugin.pid())).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let pgrp: u32 = after
        .split(' ')
        .nth(2)
        .expect("pgrp")
        .parse()
        .expect("pgrp");
    assert_eq!(pgrp, plugin.pid());
    // And it ignores SIGINT.
    // SAFETY: signalling our own child, which is alive (checked above).
    unsafe { libc::kill(plugin.pid() as i32, libc::SIGINT) };
    plugin
        .check_health()
        .await
        .expect("still healthy after SIGINT");

    let agent = AgentConfig::default();
    plugin
        .set_config(&json!({"enabled": true}), agent.clone())
        .await
        .expect("good config");
    let err = plugin
        .set_config(&json!({"enabled": "yes"}), agent)
        .await
        .expect_err("bad config");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        r#"plugin "alpha": config.enabled: invalid type: string "yes", expected a boolean"#
    );
    // The plugin's stderr JSON line came back as an event tagged with its name.
    eventually("the plugin's log line is re-emitted", || {
        !log_lines_with(&["config accepted", "alpha", "INFO"]).is_empty()
    })
    .await;

    let schema = plugin.config_schema().await.expect("schema");
    assert!(schema.contains("enabled"), "{schema}");
    let caps = plugin
        .driver_client()
        .capabilities(v1::CapabilitiesRequest {})
        .await
        .expect("capabilities")
        .into_inner();
    assert!(caps.capabilities.expect("caps").recover);

    let pid = plugin.pid();
    plugin.stop(Duration::from_secs(5)).await.expect("stop");
    assert!(
        plugin
            .exit_status()
            .expect("exited")
            .contains("exit status: 0")
    );
    gone(pid).await;
    assert!(!dir.exists(), "socket dir removed");
    assert!(
        plugin
            .stderr_tail()
            .iter()
            .any(|l| l.contains("test plugin exiting")),
        "graceful exit after Shutdown: {:?}",
        plugin.stderr_tail()
    );
}

/// Launch `cmd` expecting failure; check the message and that nothing is left.
async fn launch_fails(scratch: &Scratch, cmd: &PluginCommand, opts: &LaunchOptions) -> String {
    let err = PluginProcess::launch(cmd, opts)
        .await
        .expect_err("launch must fail");
    let text = err.to_string();
    eprintln!("{text}"); // shown with --nocapture: what an operator reads
    let name = format!("plugin {:?}: ", cmd.path.display().to_string());
    assert!(text.starts_with(&name), "{text}");
    if scratch.path("pid").exists() {
        gone(scratch.pid()).await;
    }
    assert_eq!(scratch.leftover_dirs(), Vec::<std::path::PathBuf>::new());
    text
}

#[tokio::test]
async fn misbehaving_plugins_fail_with_clear_errors() {
    let plugin = test_plugin();
    let cases: &[(&str, &[&str])] = &[
        (
            "garbage",
            &[
                r#"bad handshake line "Hello! I am not a plugin handshake.""#,
                "expected 5",
            ],
        ),
        (
            "silent",
            &[
                "exited before the handshake (exit status: 0)",
                "ERROR nothing to say",
            ],
        ),
        (
            "exit_early",
            &[
                "exited before the handshake (exit status: 2)",
                r#"ERROR cannot start {"reason":"missing thing"}"#,
            ],
        ),
        (
            "bad_version",
            &["speaks protocol version 99, this host speaks [1]"],
        ),
        ("unhealthy", &["health check failed", "NOT_SERVING"]),
    ];
    for (mode, expected) in cases {
        let scratch = Scratch::new();
        let text = launch_fails(&scratch, &plugin, &scratch.opts(mode)).await;
        for needle in *expected {
            assert!(
                text.contains(needle),
                "mode {mode}: {text:?} lacks {needle:?}"
            );
        }
    }
}

#[tokio::test]
async fn hanging_plugin_times_out_and_is_killed() {
    let scratch = Scratch::new();
    let mut opts = scratch.opts("hang");
    opts.start_timeout = Duration::from_millis(800);
    let text = launch_fails(&scratch, &test_plugin(), &opts).await;
    assert!(
        text.contains("no handshake line on stdout within 800ms"),
        "{text}"
    );
}

#[tokio::test]
async fn cookie_and_version_problems_are_reported() {
    let plugin = test_plugin();
    for cookie in ["", "wrong"] {
        let scratch = Scratch::new();
        let mut opts = scratch.opts("good");
        opts.cookie = Some(cookie.into());
        let text = launch_fails(&scratch, &plugin, &opts).await;
        assert!(text.contains("exit status: 1"), "{text}");
        assert!(text.contains("This binary is a Drover plugin"), "{text}");
    }
    // The plugin refuses a host that speaks none of its versions.
    let scratch = Scratch::new();
    let mut opts = scratch.opts("good");
    opts.protocol_versions = vec![7];
    let text = launch_fails(&scratch, &plugin, &opts).await;
    assert!(text.contains("no common protocol version"), "{text}");
}

#[tokio::test]
async fn scripts_that_lie_or_do_not_exist_are_reported() {
    let scratch = Scratch::new();
    let missing = PluginCommand::new(scratch.path("drover-driver-missing"));
    let text = launch_fails(&scratch, &missing, &scratch.opts("good")).await;
    assert!(text.contains("cannot start"), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");

    // Announces a socket nobody listens on, then lingers.
    let liar = scratch.script(
        "drover-driver-liar",
        &format!(
            "echo $$ > {}\necho \"1|1|unix|$DROVER_PLUGIN_SOCKET_DIR/plugin.sock|grpc\"\nexec sleep 60",
            scratch.path("pid").display()
        ),
    );
    let text = launch_fails(&scratch, &liar, &scratch.opts("good")).await;
    assert!(text.contains("cannot connect to"), "{text}");
    assert!(text.contains("plugin.sock"), "{text}");

    // Writes plain text on stderr and exits: kept verbatim in the message.
    let scratch = Scratch::new();
    let crash = scratch.script(
        "drover-driver-crash",
        "echo 'panic: out of cheese' >&2\nexit 101",
    );
    let text = launch_fails(&scratch, &crash, &scratch.opts("good")).await;
    assert!(text.contains("exit status: 101"), "{text}");
    assert!(text.contains("\n  panic: out of cheese"), "{text}");
}

#[tokio::test]
async fn dropping_a_launch_midway_leaves_nothing_behind() {
    let scratch = Scratch::new();
    let plugin = test_plugin();
    let opts = scratch.opts("hang");
    let pid_file = scratch.path("pid");
    let mut launch = Box::pin(PluginProcess::launch(&plugin, &opts));
    // Drive the launch until the plugin has started, then drop it.
    tokio::select! {
        r = &mut launch => panic!("hang mode cannot launch: {:?}", r.err()),
        () = eventually("the plugin started", || pid_file.exists()) => {}
    }
    let pid = scratch.pid();
    assert!(alive(pid));
    drop(launch);
    gone(pid).await;
    assert!(scratch.leftover_dirs().is_empty());
}
