//! Prestart hook: the task's `artifact {}` blocks, downloaded before every start of the
//! task by the fetcher plugin that handles the URL's scheme (Nomad's artifact hook).
//!
//! Per artifact: `source`, `options` and `headers` are interpolated with the task
//! environment, `destination` with the client's (host paths); the options go into the
//! URL's query string (go-getter's convention: `checksum=sha256:…`); the destination
//! must stay inside the allocation directory. A failure is unrecoverable when retrying
//! cannot help (a bad destination, no fetcher for the scheme, `INVALID_ARGUMENT` from
//! the plugin); anything else is left to the restart policy.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use drover_proto::error::ErrorKind;
use drover_proto::v1;
use drover_types::TaskArtifact;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::fetchers::Fetchers;
use crate::taskenv::TaskEnv;

/// Nomad's message for a destination outside the allocation directory.
pub(super) const ESCAPES: &str = "artifact destination path escapes alloc directory";

/// What Go's `url.QueryEscape` leaves alone.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why the artifacts are not all there.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Failure {
    pub message: String,
    /// Whether another start of the task might succeed.
    pub recoverable: bool,
}

impl Failure {
    fn fatal(message: String) -> Self {
        Self {
            message,
            recoverable: false,
        }
    }
}

/// `source` with each option set in its query string (an option replaces a parameter
/// of the same name already there); a `#fragment` stays last.
pub(super) fn source_with_options(source: &str, options: &BTreeMap<String, String>) -> String {
    if options.is_empty() {
        return source.to_owned();
    }
    let (rest, fragment) = match source.split_once('#') {
        Some((rest, f)) => (rest, Some(f)),
        None => (source, None),
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| {
            let key = p.split('=').next().unwrap_or("");
            !p.is_empty() && !options.contains_key(key)
        })
        .map(str::to_owned)
        .collect();
    for (k, v) in options {
        pairs.push(format!(
            "{}={}",
            utf8_percent_encode(k, QUERY),
            utf8_percent_encode(v, QUERY)
        ));
    }
    let mut out = format!("{base}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The scheme that picks the fetcher, lower case: a go-getter forced getter
/// (`git::https://…` → `git`), else the URL's own.
pub(super) fn scheme_of(source: &str) -> Result<String, String> {
    let head = match (source.find("::"), source.find("://")) {
        (Some(forced), Some(url)) if forced < url => &source[..forced],
        (Some(forced), None) => &source[..forced],
        (_, Some(url)) => &source[..url],
        (None, None) => "",
    };
    let valid = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return Err(format!(
            "artifact source {source:?} is not a URL: write it as scheme://host/path (e.g. http://)"
        ));
    }
    Ok(head.to_ascii_lowercase())
}

/// `dest` resolved against the task directory, `.` and `..` taken out, and checked to
/// stay inside the allocation directory.
pub(super) fn destination(
    alloc_dir: &Path,
    task_dir: &Path,
    dest: &str,
) -> Result<PathBuf, String> {
    let joined = task_dir.join(dest);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.starts_with(alloc_dir) {
        Ok(out)
    } else {
        Err(ESCAPES.to_owned())
    }
}

fn mode(mode: Option<&str>) -> Result<v1::FetchMode, String> {
    match mode.unwrap_or("any") {
        "any" | "" => Ok(v1::FetchMode::Any),
        "file" => Ok(v1::FetchMode::File),
        "dir" => Ok(v1::FetchMode::Dir),
        other => Err(format!(
            "artifact mode {other:?} is not one of \"any\", \"file\", \"dir\""
        )),
    }
}

/// One artifact as the fetcher gets it, with the scheme that picks the fetcher.
pub(super) fn prepare(
    artifact: &TaskArtifact,
    env: &TaskEnv,
    alloc_dir: &Path,
    task_dir: &Path,
) -> Result<(String, v1::FetchRequest), String> {
    let mut a = artifact.clone();
    a.canonicalize();
    let source = env.interpolate(a.getter_source.as_deref().unwrap_or_default());
    let options: BTreeMap<String, String> = a
        .getter_options
        .iter()
        .map(|(k, v)| (k.clone(), env.interpolate(v)))
        .collect();
    let headers = a
        .getter_headers
        .iter()
        .map(|(k, v)| (k.clone(), env.interpolate(v)))
        .collect();
    let scheme = scheme_of(&source)?;
    let dest = env.interpolate_client(a.relative_dest.as_deref().unwrap_or("local/"));
    let destination = destination(alloc_dir, task_dir, &dest)?;
    let mode = mode(a.getter_mode.as_deref())?;
    Ok((
        scheme,
        v1::FetchRequest {
            source: source_with_options(&source, &options),
            destination: destination.display().to_string(),
            mode: mode as i32,
            headers,
            insecure: a.getter_insecure.unwrap_or(false),
            root: alloc_dir.display().to_string(),
        },
    ))
}

/// Downloads every artifact, in order; stops at the first failure.
pub(super) async fn fetch_all(
    fetchers: &Fetchers,
    env: &TaskEnv,
    artifacts: &[TaskArtifact],
    alloc_dir: &Path,
    task_dir: &Path,
) -> Result<(), Failure> {
    for artifact in artifacts {
        let shown = env.interpolate(artifact.getter_source.as_deref().unwrap_or_default());
        let failed = |e: &str| format!("failed to download artifact {shown:?}: {e}");
        let (scheme, request) =
            prepare(artifact, env, alloc_dir, task_dir).map_err(|e| Failure::fatal(failed(&e)))?;
        let Some(fetcher) = fetchers.for_scheme(&scheme) else {
            let have = fetchers.schemes();
            let have = if have.is_empty() {
                "none is installed".to_owned()
            } else {
                format!("installed fetchers handle: {}", have.join(", "))
            };
            return Err(Failure::fatal(failed(&format!(
                "no fetcher plugin handles scheme {scheme:?} ({have})"
            ))));
        };
        match fetcher.fetch(request).await {
            Ok(r) => {
                tracing::info!(source = %shown, written = ?r.written, bytes = r.bytes, "artifact downloaded");
            }
            Err(e) => {
                let (message, recoverable) = match e.plugin_error() {
                    Some(pe) => (pe.message.clone(), pe.kind != ErrorKind::InvalidArgument),
                    None => (e.to_string(), true),
                };
                return Err(Failure {
                    message: failed(&message),
                    recoverable,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_go_into_the_query_string() {
        assert_eq!(
            source_with_options("http://h/a.tar", &BTreeMap::new()),
            "http://h/a.tar"
        );
        assert_eq!(
            source_with_options(
                "http://h/a.tgz",
                &opts(&[("checksum", "sha256:ab12"), ("archive", "false")])
            ),
            "http://h/a.tgz?archive=false&checksum=sha256%3Aab12"
        );
        assert_eq!(
            source_with_options(
                "http://h/a.tar?v=1&archive=true#top",
                &opts(&[("archive", "false"), ("x y", "a&b")])
            ),
            "http://h/a.tar?v=1&archive=false&x%20y=a%26b#top"
        );
    }

    #[test]
    fn the_scheme_picks_the_fetcher() {
        assert_eq!(
            scheme_of("http://10.1.41.225/mysql-bvc25.tar").as_deref(),
            Ok("http")
        );
        assert_eq!(scheme_of("HTTPS://h/x").as_deref(), Ok("https"));
        assert_eq!(
            scheme_of("git::https://github.com/a/b").as_deref(),
            Ok("git")
        );
        assert_eq!(scheme_of("s3::bucket/key").as_deref(), Ok("s3"));
        for bad in ["github.com/a/b", "/etc/passwd", "://h/x", "1x://h"] {
            let e = scheme_of(bad).expect_err(bad);
            assert!(e.contains("is not a URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn destinations_stay_inside_the_alloc_dir() {
        let alloc = Path::new("/a/0123");
        let task = Path::new("/a/0123/web");
        let ok = |d: &str| destination(alloc, task, d).expect(d);
        assert_eq!(ok("local/"), Path::new("/a/0123/web/local"));
        assert_eq!(ok("local/./sub/../x"), Path::new("/a/0123/web/local/x"));
        assert_eq!(ok("../alloc/data"), Path::new("/a/0123/alloc/data"));
        // An interpolated host path (`${NOMAD_ALLOC_DIR}`) is taken as it is.
        assert_eq!(ok("/a/0123/alloc/x"), Path::new("/a/0123/alloc/x"));
        for bad in ["../../etc", "local/../../../x", "/etc/cron.d", "/a/01234/x"] {
            assert_eq!(
                destination(alloc, task, bad),
                Err(ESCAPES.to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn prepare_interpolates_and_defaults() {
        let mut env = TaskEnv::default();
        env.env.insert("VERSION".into(), "2.1".into());
        env.env.insert("TOKEN".into(), "t0k".into());
        env.client_env
            .insert("NOMAD_TASK_DIR".into(), "/a/0123/web/local".into());
        let a = TaskArtifact {
            getter_source: Some("http://h/app-${VERSION}.bin".into()),
            getter_options: opts(&[("checksum", "md5:${TOKEN}")]),
            getter_headers: opts(&[("Authorization", "Bearer ${TOKEN}")]),
            getter_mode: Some("file".into()),
            relative_dest: Some("${NOMAD_TASK_DIR}/bin/app".into()),
            ..Default::default()
        };
        let (scheme, r) =
            prepare(&a, &env, Path::new("/a/0123"), Path::new("/a/0123/web")).expect("prepare");
        assert_eq!(scheme, "http");
        assert_eq!(r.source, "http://h/app-2.1.bin?checksum=md5%3At0k");
        assert_eq!(r.destination, "/a/0123/web/local/bin/app");
        assert_eq!(r.mode, v1::FetchMode::File as i32);
        assert_eq!(r.headers["Authorization"], "Bearer t0k");
        assert_eq!(r.root, "/a/0123");

        let plain = TaskArtifact {
            getter_source: Some("http://h/mysql-bvc25.tar".into()),
            ..Default::default()
        };
        let (_, r) =
            prepare(&plain, &env, Path::new("/a/0123"), Path::new("/a/0123/web")).expect("prepare");
        assert_eq!(r.destination, "/a/0123/web/local");
        assert_eq!(r.mode, v1::FetchMode::Any as i32);

        let bad_mode = TaskArtifact {
            getter_source: Some("http://h/x".into()),
            getter_mode: Some("folder".into()),
            ..Default::default()
        };
        let e = prepare(
            &bad_mode,
            &env,
            Path::new("/a/0123"),
            Path::new("/a/0123/web"),
        )
        .expect_err("mode");
        assert!(e.contains("\"folder\""), "{e}");
    }

    #[tokio::test]
    async fn a_scheme_without_a_fetcher_is_an_unrecoverable_error_naming_it() {
        let a = TaskArtifact {
            getter_source: Some("s3::https://bucket/key".into()),
            ..Default::default()
        };
        let f = fetch_all(
            &Fetchers::default(),
            &TaskEnv::default(),
            &[a],
            Path::new("/a/0123"),
            Path::new("/a/0123/web"),
        )
        .await
        .expect_err("no fetcher");
        assert!(!f.recoverable);
        assert_eq!(
            f.message,
            "failed to download artifact \"s3::https://bucket/key\": no fetcher plugin handles scheme \"s3\" (none is installed)"
        );
        let escaping = TaskArtifact {
            getter_source: Some("http://h/x".into()),
            relative_dest: Some("../../x".into()),
            ..Default::default()
        };
        let f = fetch_all(
            &Fetchers::default(),
            &TaskEnv::default(),
            &[escaping],
            Path::new("/a/0123"),
            Path::new("/a/0123/web"),
        )
        .await
        .expect_err("escapes");
        assert!(!f.recoverable);
        assert!(f.message.ends_with(ESCAPES), "{}", f.message);
    }
}
