//! What the host put in the plugin's environment, checked before anything
//! else happens: the magic cookie, the protocol versions and the socket
//! directory. A decision without I/O: the environment comes in as a lookup
//! function, so every refusal is unit-tested.

use std::path::PathBuf;

use drover_proto::handshake::{
    APP_PROTOCOL_VERSIONS, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, NOT_A_PROGRAM,
    PROTOCOL_VERSIONS_KEY, SOCKET_DIR_KEY, negotiate, parse_versions,
};

/// Environment variable holding the plugin's log filter (EnvFilter syntax).
pub(super) const LOG_FILTER_KEY: &str = "DROVER_PLUGIN_LOG";

/// The plugin's side of a successful handshake.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Setup {
    /// The negotiated application protocol version.
    pub(super) version: u32,
    /// The host's private socket directory; `None` means make our own.
    pub(super) socket_dir: Option<PathBuf>,
}

/// Check the environment. The error is the exact text to print on stderr
/// before exiting 1.
pub(super) fn setup(
    plugin: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Setup, String> {
    if lookup(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(NOT_A_PROGRAM.to_string());
    }
    let ours = list(APP_PROTOCOL_VERSIONS);
    let Some(offered) = lookup(PROTOCOL_VERSIONS_KEY) else {
        return Err(format!(
            "plugin {plugin:?} speaks protocol versions {ours}; the host offered none \
             ({PROTOCOL_VERSIONS_KEY} is not set)"
        ));
    };
    let host = parse_versions(&offered)
        .map_err(|e| format!("plugin {plugin:?}: {PROTOCOL_VERSIONS_KEY}: {e}"))?;
    let Some(version) = negotiate(&host, APP_PROTOCOL_VERSIONS) else {
        return Err(format!(
            "plugin {plugin:?} speaks protocol versions {ours}; the host offered {}",
            if host.is_empty() {
                "none".to_string()
            } else {
                list(&host)
            }
        ));
    };
    let socket_dir = lookup(SOCKET_DIR_KEY)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    Ok(Setup {
        version,
        socket_dir,
    })
}

fn list(versions: &[u32]) -> String {
    versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)]) -> Result<Setup, String> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        setup("raw_exec", |k| env.get(k).cloned())
    }

    const COOKIE: (&str, &str) = (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);

    #[test]
    fn accepts_the_host_environment() {
        let s = run(&[
            COOKIE,
            (PROTOCOL_VERSIONS_KEY, "1"),
            (SOCKET_DIR_KEY, "/run/x"),
        ]);
        assert_eq!(
            s,
            Ok(Setup {
                version: 1,
                socket_dir: Some("/run/x".into())
            })
        );
        let s = run(&[COOKIE, (PROTOCOL_VERSIONS_KEY, "1,7")]).expect("ok");
        assert_eq!(s.socket_dir, None);
    }

    #[test]
    fn a_missing_or_wrong_cookie_means_started_by_hand() {
        assert_eq!(run(&[]), Err(NOT_A_PROGRAM.to_string()));
        let wrong = [(MAGIC_COOKIE_KEY, "nope"), (PROTOCOL_VERSIONS_KEY, "1")];
        assert_eq!(run(&wrong), Err(NOT_A_PROGRAM.to_string()));
    }

    #[test]
    fn version_errors_name_the_plugin_and_both_sides() {
        assert_eq!(
            run(&[COOKIE, (PROTOCOL_VERSIONS_KEY, "7")]),
            Err(r#"plugin "raw_exec" speaks protocol versions 1; the host offered 7"#.into())
        );
        let missing = run(&[COOKIE]).expect_err("missing");
        assert!(missing.contains(PROTOCOL_VERSIONS_KEY), "{missing}");
        let garbage = run(&[COOKIE, (PROTOCOL_VERSIONS_KEY, "one")]).expect_err("garbage");
        assert!(
            garbage.contains("\"one\" is not a protocol version"),
            "{garbage}"
        );
        let empty = run(&[COOKIE, (PROTOCOL_VERSIONS_KEY, "")]).expect_err("empty");
        assert!(empty.ends_with("the host offered none"), "{empty}");
    }
}
