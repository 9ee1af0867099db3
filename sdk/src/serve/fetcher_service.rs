//! The `Fetcher` gRPC service, adapted onto the [`Fetcher`] trait: refuses
//! calls before `SetConfig`, checks the paths the host sends before the
//! fetcher sees them.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use drover_proto::v1::{self, fetcher_server};
use tonic::{Request, Response, Status};

use super::plugin_service::{FetcherPlugin, Shared};
use crate::PluginError;
use crate::fetcher::{FetchMode, FetchRequest, Fetcher};

pub(super) struct FetcherService<F>(pub(super) Arc<Shared<FetcherPlugin<F>>>);

/// `path` as an absolute path without `.`/`..`, or why not.
fn absolute(field: &str, path: &str) -> Result<PathBuf, PluginError> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(PluginError::invalid(format!(
            "{field}: {path:?} is not an absolute path"
        )));
    }
    if p.components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(PluginError::invalid(format!(
            "{field}: {path:?} must not contain . or .. components"
        )));
    }
    Ok(p.to_path_buf())
}

/// The wire request as the trait's, checked: both paths absolute and clean,
/// the destination inside the root, a known mode.
pub(super) fn request(r: v1::FetchRequest) -> Result<FetchRequest, PluginError> {
    if r.source.is_empty() {
        return Err(PluginError::invalid("source: empty URL"));
    }
    let root = absolute("root", &r.root)?;
    let destination = absolute("destination", &r.destination)?;
    if !destination.starts_with(&root) {
        return Err(PluginError::invalid(format!(
            "destination {} is outside the root {}",
            destination.display(),
            root.display()
        )));
    }
    let mode = FetchMode::try_from(r.mode)
        .map_err(|_| PluginError::invalid(format!("mode: unknown value {}", r.mode)))?;
    Ok(FetchRequest {
        source: r.source,
        destination,
        mode,
        headers: r.headers.into_iter().collect(),
        insecure: r.insecure,
        root,
    })
}

#[tonic::async_trait]
impl<F: Fetcher> fetcher_server::Fetcher for FetcherService<F> {
    async fn schemes(
        &self,
        _: Request<v1::SchemesRequest>,
    ) -> Result<Response<v1::SchemesResponse>, Status> {
        Ok(Response::new(v1::SchemesResponse {
            schemes: self.0.plugin.schemes(),
        }))
    }

    async fn fetch(
        &self,
        request: Request<v1::FetchRequest>,
    ) -> Result<Response<v1::FetchResponse>, Status> {
        self.0.require_config()?;
        let request = self::request(request.into_inner())?;
        let source = request.source.clone();
        let fetched = tokio::select! {
            r = self.0.plugin.fetch(request) => r?,
            () = self.0.shutdown.cancelled() => {
                return Err(Status::unavailable(format!(
                    "fetching {source}: the plugin is shutting down"
                )));
            }
        };
        Ok(Response::new(v1::FetchResponse {
            written: fetched.written,
            bytes: fetched.bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(dest: &str, root: &str) -> v1::FetchRequest {
        v1::FetchRequest {
            source: "http://h/a.tar".into(),
            destination: dest.into(),
            root: root.into(),
            ..Default::default()
        }
    }

    #[test]
    fn paths_must_be_absolute_clean_and_inside_the_root() {
        let ok = request(wire("/a/t/local", "/a")).expect("valid");
        assert_eq!(ok.destination, Path::new("/a/t/local"));
        assert_eq!(ok.mode, FetchMode::Any);
        for (dest, root, needle) in [
            (
                "t/local",
                "/a",
                "destination: \"t/local\" is not an absolute path",
            ),
            ("/a/t/../../etc", "/a", "must not contain . or .."),
            ("/ab/t", "/a", "outside the root /a"),
            ("/a/t", "", "root: \"\" is not an absolute path"),
        ] {
            let e = request(wire(dest, root)).expect_err(dest);
            assert_eq!(e.kind, crate::ErrorKind::InvalidArgument);
            assert!(e.message.contains(needle), "{dest}: {}", e.message);
        }
        let mut bad = wire("/a/x", "/a");
        bad.mode = 7;
        assert!(request(bad).expect_err("mode").message.contains("mode"));
    }
}
