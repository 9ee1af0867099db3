//! The wire side of a plugin: its private socket directory, a gRPC channel
//! over its unix socket and the health check.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drover_proto::handshake::HEALTH_SERVICE;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Name of the socket a plugin binds inside its directory.
pub const SOCKET_NAME: &str = "plugin.sock";
/// Longest unix socket path the kernel accepts (`sun_path` minus the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Create a fresh 0700 directory under `root` for one plugin launch.
pub(crate) fn private_dir(root: &Path) -> Result<PathBuf, String> {
    for _ in 0..8 {
        let dir = root.join(format!("drover-plugin-{:016x}", rand::random::<u64>()));
        let socket_len = dir.join(SOCKET_NAME).as_os_str().len();
        if socket_len > MAX_SOCKET_PATH {
            return Err(format!(
                "socket path under {} would be {socket_len} bytes, over the {MAX_SOCKET_PATH}-byte limit",
                root.display()
            ));
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!("no free directory name under {}", root.display()))
}

/// Remove a private socket directory; a missing one is fine.
pub(crate) fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove plugin socket directory");
    }
}

/// Connect a gRPC channel to the unix socket at `path` (eagerly: fails now
/// when nobody listens). The channel reconnects through the same socket.
pub(crate) async fn connect_unix(path: &Path, limit: Duration) -> Result<Channel, String> {
    let path = path.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    let endpoint = Endpoint::from_static("http://[::]:50051").connect_timeout(limit);
    match tokio::time::timeout(limit, endpoint.connect_with_connector(connector)).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(_) => Err(format!("no connection within {limit:?}")),
    }
}

/// Ask `grpc.health.v1.Health` whether service `plugin` is SERVING.
pub(crate) async fn check_health(channel: Channel, limit: Duration) -> Result<(), String> {
    let mut client = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: HEALTH_SERVICE.into(),
    };
    match tokio::time::timeout(limit, client.check(request)).await {
        Err(_) => Err(format!("no answer within {limit:?}")),
        Ok(Err(status)) => Err(status_text(&status)),
        Ok(Ok(resp)) => {
            let status = resp.into_inner().status;
            if status == ServingStatus::Serving as i32 {
                Ok(())
            } else {
                let name = ServingStatus::try_from(status)
                    .map(|s| s.as_str_name().to_string())
                    .unwrap_or_else(|_| status.to_string());
                Err(format!("service {HEALTH_SERVICE:?} is {name}, not SERVING"))
            }
        }
    }
}

/// A status as text, with the transport error chain behind it if any.
pub(crate) fn status_text(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(source) => format!("{}: {}", status.message(), error_chain(source)),
        None => format!("{:?}: {}", status.code(), status.message()),
    }
}

/// `e` and all its sources, joined by ": ", without repeats.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut next = e.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = source.source();
    }
    parts.join(": ")
}

/// Whether a failed call failed in the transport (connection refused or
/// reset, process gone) rather than with an answer from the plugin.
pub(crate) fn is_transport_error(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some()
        || (status.code() == tonic::Code::Unknown && status.message().contains("transport"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_dir_is_0700_and_unique() {
        let root = tempfile::tempdir().expect("tempdir");
        let a = private_dir(root.path()).expect("dir");
        let b = private_dir(root.path()).expect("dir");
        assert_ne!(a, b);
        let mode = std::fs::metadata(&a).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        remove_dir(&a);
        assert!(!a.exists());
        remove_dir(&a); // missing is fine
    }

    #[test]
    fn over_long_socket_root_is_refused() {
        let root = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        let err = private_dir(&root).expect_err("too long");
        assert!(err.contains("107-byte limit"), "{err}");
    }

    #[tokio::test]
    async fn connecting_to_nothing_fails_with_the_os_error() {
        let root = tempfile::tempdir().expect("tempdir");
        let err = connect_unix(&root.path().join("none.sock"), Duration::from_secs(2))
            .await
            .expect_err("nobody listens");
        assert!(err.contains("No such file"), "{err}");
    }
}
