//! `ValidationError`: one broken rule, with a structured path to the offending value.
//!
//! The path uses the job file's vocabulary (HCL block and attribute names, group and
//! task labels), so the jobspec parser can map it back to a file, line and column:
//! `[Job("bvc"), Group("bvc25"), Task("mysql"), Field("resources"), Field("cpu")]`
//! renders as `job "bvc" > group "bvc25" > task "mysql" > resources.cpu: <message>`.

use std::fmt;

/// One step of a path into a job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// `job "id"`.
    Job(String),
    /// `group "name"`.
    Group(String),
    /// `task "name"`.
    Task(String),
    /// A block or attribute name as written in HCL (`resources`, `cpu`, `kill_timeout`).
    Field(String),
    /// The n-th (0-based) block of the preceding name, e.g. `artifact[1]`.
    Index(usize),
    /// A block label or map key, e.g. `port["mysql"]`, `volume["db"]`, `env["X"]`.
    Key(String),
}

impl PathSegment {
    /// A [`PathSegment::Field`].
    pub fn field(name: &str) -> Self {
        PathSegment::Field(name.to_owned())
    }
    /// Job, group and task segments scope a path; the others address within a scope.
    pub fn is_scope(&self) -> bool {
        matches!(
            self,
            PathSegment::Job(_) | PathSegment::Group(_) | PathSegment::Task(_)
        )
    }
}

/// A broken validation rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Where: scopes first (job, group, task), then fields, indexes and keys.
    pub path: Vec<PathSegment>,
    /// What rule is broken, e.g. `minimum CPU value is 1; got 0`.
    pub message: String,
}

impl ValidationError {
    /// An error at `path`.
    pub fn new(path: Vec<PathSegment>, message: impl Into<String>) -> Self {
        ValidationError {
            path,
            message: message.into(),
        }
    }
    /// The field part of the path rendered alone, e.g. `resources.cpu` or
    /// `network[0].port["mysql"].static`; empty when the error is about a whole scope.
    pub fn field_path(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().filter(|s| !s.is_scope()) {
            match seg {
                PathSegment::Field(f) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
                PathSegment::Key(k) => out.push_str(&format!("[{k:?}]")),
                _ => {}
            }
        }
        out
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in self.path.iter().filter(|s| s.is_scope()) {
            if !first {
                f.write_str(" > ")?;
            }
            first = false;
            match seg {
                PathSegment::Job(n) => write!(f, "job {n:?}")?,
                PathSegment::Group(n) => write!(f, "group {n:?}")?,
                PathSegment::Task(n) => write!(f, "task {n:?}")?,
                _ => {}
            }
        }
        let fields = self.field_path();
        if !fields.is_empty() {
            if !first {
                f.write_str(" > ")?;
            }
            f.write_str(&fields)?;
            first = false;
        }
        if first {
            f.write_str(&self.message)
        } else {
            write!(f, ": {}", self.message)
        }
    }
}

/// Nomad's multierror text, the body of its HTTP 500 for a rejected job:
/// `2 errors occurred:\n\t* …\n\t* …\n\n`.
pub fn multierror_text(errors: &[ValidationError]) -> String {
    let mut out = if errors.len() == 1 {
        "1 error occurred:\n".to_owned()
    } else {
        format!("{} errors occurred:\n", errors.len())
    };
    for e in errors {
        out.push_str(&format!("\t* {e}\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathSegment::*;

    #[test]
    fn renders_scopes_then_fields() {
        let e = ValidationError::new(
            vec![
                Job("bvc".into()),
                Group("bvc25".into()),
                Task("mysql".into()),
                PathSegment::field("resources"),
                PathSegment::field("cpu"),
            ],
            "minimum CPU value is 1; got 0",
        );
        assert_eq!(
            e.to_string(),
            r#"job "bvc" > group "bvc25" > task "mysql" > resources.cpu: minimum CPU value is 1; got 0"#
        );
        let e = ValidationError::new(
            vec![
                Job("j".into()),
                Group("g".into()),
                PathSegment::field("network"),
                Index(0),
                PathSegment::field("port"),
                Key("db".into()),
                PathSegment::field("static"),
            ],
            "x",
        );
        assert_eq!(
            e.to_string(),
            r#"job "j" > group "g" > network[0].port["db"].static: x"#
        );
        let e = ValidationError::new(vec![Job("j".into())], "Missing job task groups");
        assert_eq!(e.to_string(), r#"job "j": Missing job task groups"#);
        assert_eq!(ValidationError::new(vec![], "m").to_string(), "m");
        assert_eq!(
            multierror_text(&[e]),
            "1 error occurred:\n\t* job \"j\": Missing job task groups\n\n"
        );
    }
}
