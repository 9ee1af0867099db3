//! Config decoding with field-path errors.
//!
//! The host hands a plugin its `plugin "NAME" { config { ... } }` block and
//! each task's `config { ... }` block as JSON. A user who wrote
//! `volumes { enabled = "yes" }` needs to be told *which* key is wrong, so
//! decoding goes through `serde_path_to_error` and every error carries the
//! dotted path of the offending field (`volumes.enabled`, `args[2]`).
//!
//! Use `#[serde(deny_unknown_fields)]` on config types: a typo then becomes an
//! error naming the misspelt key instead of a silently ignored setting.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

pub use drover_proto::v1::ConfigError;

/// Decode a config value into `T`. On failure the errors name the field by
/// its path inside the block (empty for the block as a whole).
pub fn decode<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Vec<ConfigError>> {
    serde_path_to_error::deserialize(value).map_err(|e| vec![config_error(&e)])
}

/// Decode JSON text into `T`. Empty text means an absent block and decodes
/// like `{}`; a syntax error is reported with its line and column.
pub fn decode_str<T: DeserializeOwned>(json: &str) -> Result<T, Vec<ConfigError>> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        vec![ConfigError {
            field: String::new(),
            message: format!("invalid JSON: {e}"),
        }]
    })?;
    decode(&value)
}

/// JSON Schema (draft 2020-12) of `T`, as the `ConfigSchema` and
/// `TaskConfigSchema` calls answer it.
pub fn schema_json<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    // A schema is a JSON value already; serializing it cannot fail, but an
    // empty schema (accept anything) is the safe answer if it ever did.
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// Render errors as one line: `config.command: missing field "command"`,
/// each field prefixed with `prefix` (e.g. `config`), joined with `; `.
pub fn render(prefix: &str, errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| match (prefix.is_empty(), e.field.is_empty()) {
            (true, true) => e.message.clone(),
            (true, false) => format!("{}: {}", e.field, e.message),
            (false, true) => format!("{prefix}: {}", e.message),
            (false, false) => format!("{prefix}.{}: {}", e.field, e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn config_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
    let mut field = match e.path().to_string() {
        root if root == "." => String::new(),
        path => path,
    };
    // serde writes names in backticks; quotes read better in a log line.
    let message = e.inner().to_string().replace('`', "\"");
    // serde reports a missing field at the enclosing struct; point at the
    // field itself. (An unknown field's path already ends with its name.)
    if let Some(name) = missing_field(&message) {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    ConfigError { field, message }
}

/// The field name in `missing field "x"`.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field \"")?;
    rest.split('"').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Volumes {
        enabled: bool,
    }

    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        volumes: Volumes,
        #[serde(default)]
        args: Vec<u32>,
        command: String,
    }

    fn err(json: &str) -> ConfigError {
        let mut errors = decode_str::<Config>(json).expect_err("should fail");
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn accepts_a_good_config() {
        let c: Config = decode_str(r#"{"command":"x","args":[1,2],"volumes":{"enabled":true}}"#)
            .expect("decodes");
        assert_eq!(c.command, "x");
        assert_eq!(c.args, [1, 2]);
        assert!(c.volumes.enabled);
    }

    #[test]
    fn nested_wrong_type_names_the_path() {
        let e = err(r#"{"command":"x","volumes":{"enabled":"yes"}}"#);
        assert_eq!(e.field, "volumes.enabled");
        assert_eq!(
            e.message,
            r#"invalid type: string "yes", expected a boolean"#
        );
    }

    #[test]
    fn sequence_element_names_the_index() {
        let e = err(r#"{"command":"x","args":[1,2,"three"]}"#);
        assert_eq!(e.field, "args[2]");
        assert!(
            e.message.starts_with("invalid type: string \"three\""),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let e = err(r#"{"command":"x","volumes":{"enabled":true,"enabeld":false}}"#);
        assert_eq!(e.field, "volumes.enabeld");
        assert!(e.message.starts_with("unknown field \"enabeld\""), "{e:?}");
    }

    #[test]
    fn missing_field_is_named() {
        let e = err("{}");
        assert_eq!(e.field, "command");
        assert_eq!(e.message, r#"missing field "command""#);
        assert_eq!(
            render("config", &[e]),
            r#"config.command: missing field "command""#
        );
    }

    #[test]
    fn empty_text_is_an_empty_block_and_root_errors_have_no_field() {
        let e = err("");
        assert_eq!(e.field, "command");
        let e = err(r#""just text""#);
        assert_eq!(e.field, "");
        assert_eq!(
            render("config", std::slice::from_ref(&e)),
            format!("config: {}", e.message)
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = err("{\n  \"command\": \"x\",\n}");
        assert_eq!(e.field, "");
        assert!(e.message.contains("line 3 column 1"), "{e:?}");
    }

    #[test]
    fn schema_is_json_with_the_fields() {
        let schema: serde_json::Value =
            serde_json::from_str(&schema_json::<Config>()).expect("schema is JSON");
        assert!(schema["properties"]["command"].is_object(), "{schema}");
        assert_eq!(schema["required"], serde_json::json!(["command"]));
    }
}
