//! One `GET` into a file: redirects followed, the body streamed into a
//! temporary file next to the target while hashing it, the checksum checked,
//! then a rename. Nothing is left at the target (or beside it) on failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use drover_plugin_sdk::{ErrorKind, PluginError, Result};
use http_body_util::{BodyExt, Empty};
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue, LOCATION, USER_AGENT};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use crate::Config;
use crate::source::{Checksum, ChecksumKind, Source};

/// Redirects followed before giving up (Go's http client's limit).
const MAX_REDIRECTS: usize = 10;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn unavailable(message: String) -> PluginError {
    PluginError::new(ErrorKind::Unavailable, message)
}

/// `e` and its sources joined by ": " (hyper's own text is terse).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    parts.join(": ")
}

/// Download `source` to `target`; the number of bytes written.
pub(crate) async fn to_file(
    source: &Source,
    headers: &BTreeMap<String, String>,
    target: &Path,
    config: &Config,
) -> Result<u64> {
    let timeout = config.read_timeout();
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout));
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    let (url, response) = get(&client, &source.url, headers, timeout).await?;
    if let Some(len) = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > config.max_size_bytes
    {
        return Err(PluginError::invalid(format!(
            "{url}: {len} bytes is over the {} byte limit (max_size_bytes)",
            config.max_size_bytes
        )));
    }
    if target.is_dir() {
        return Err(PluginError::invalid(format!(
            "{url}: the target {} is a directory",
            target.display()
        )));
    }
    let parent = target.parent().unwrap_or(Path::new("/"));
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| PluginError::internal(format!("cannot create {}: {e}", parent.display())))?;
    let partial = Partial::create(parent, target).await?;
    let mut hasher = source.checksum.as_ref().map(|c| Hasher::new(c.kind));
    let bytes = stream_body(
        &url,
        response,
        &partial,
        hasher.as_mut(),
        timeout,
        config.max_size_bytes,
    )
    .await?;
    if let (Some(want), Some(hasher)) = (&source.checksum, hasher) {
        verify(&url, want, hasher)?;
    }
    partial.finish(target).await?;
    Ok(bytes)
}

/// `GET url`, following redirects; the final URL and its 2xx response.
async fn get(
    client: &HttpClient,
    url: &str,
    headers: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(String, Response<hyper::body::Incoming>)> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let uri: Uri = url
            .parse()
            .map_err(|e| PluginError::invalid(format!("{url}: not a valid URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(PluginError::invalid(format!(
                "{url}: only http:// URLs can be fetched (this build has no TLS)"
            )));
        }
        let mut request = Request::get(uri).header(
            USER_AGENT,
            concat!("drover-fetcher-http/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                PluginError::invalid(format!("headers: {name:?} is not a valid header name"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                PluginError::invalid(format!("headers: the value of {name} is not valid"))
            })?;
            request = request.header(name, value);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| PluginError::invalid(format!("{url}: {e}")))?;
        let response = match tokio::time::timeout(timeout, client.request(request)).await {
            Err(_) => {
                return Err(unavailable(format!(
                    "GET {url}: no answer within {timeout:?}"
                )));
            }
            Ok(Err(e)) => return Err(unavailable(format!("GET {url}: {}", chain(&e)))),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(LOCATION)
        {
            let location = location.to_str().map_err(|_| {
                unavailable(format!("GET {url}: {status} with an unreadable Location"))
            })?;
            url = resolve(&url, location);
            continue;
        }
        if status.is_success() {
            return Ok((url, response));
        }
        // A 4xx will answer the same next time; a 5xx, 408 or 429 may not.
        let kind = if status.is_client_error()
            && status != StatusCode::REQUEST_TIMEOUT
            && status != StatusCode::TOO_MANY_REQUESTS
        {
            ErrorKind::InvalidArgument
        } else {
            ErrorKind::Unavailable
        };
        return Err(PluginError::new(
            kind,
            format!("GET {url}: the server answered {status}"),
        ));
    }
    Err(PluginError::invalid(format!(
        "GET {url}: more than {MAX_REDIRECTS} redirects"
    )))
}

/// A redirect's `Location` against the URL that answered it.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = rest[authority_end..].split('?').next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{origin}{dir}{location}")
}

async fn stream_body(
    url: &str,
    response: Response<hyper::body::Incoming>,
    partial: &Partial,
    mut hasher: Option<&mut Hasher>,
    timeout: Duration,
    max: u64,
) -> Result<u64> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&partial.path)
        .await
        .map_err(|e| partial.io_error("open", &e))?;
    let mut body = response.into_body();
    let mut bytes = 0u64;
    loop {
        let frame = match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => {
                return Err(unavailable(format!(
                    "GET {url}: no data for {timeout:?} after {bytes} bytes"
                )));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(unavailable(format!(
                    "GET {url}: reading the body after {bytes} bytes: {}",
                    chain(&e)
                )));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        bytes += data.len() as u64;
        if bytes > max {
            return Err(PluginError::invalid(format!(
                "GET {url}: the body is over the {max} byte limit (max_size_bytes)"
            )));
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&data);
        }
        file.write_all(&data)
            .await
            .map_err(|e| partial.io_error("write", &e))?;
    }
    file.sync_all()
        .await
        .map_err(|e| partial.io_error("sync", &e))?;
    Ok(bytes)
}

fn verify(url: &str, want: &Checksum, hasher: Hasher) -> Result<()> {
    let got = hasher.finish_hex();
    if got != want.hex {
        return Err(PluginError::invalid(format!(
            "{url}: checksum mismatch: expected {} {}, got {got}",
            want.kind.name(),
            want.hex
        )));
    }
    Ok(())
}

/// A temporary file next to the target, removed unless [`Partial::finish`]
/// renamed it into place.
struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    async fn create(dir: &Path, target: &Path) -> Result<Self> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dir.join(format!(
            ".{name}.{}-{}.part",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|e| PluginError::internal(format!("cannot create {}: {e}", path.display())))?;
        Ok(Self { path, done: false })
    }

    fn io_error(&self, what: &str, e: &std::io::Error) -> PluginError {
        PluginError::internal(format!("cannot {what} {}: {e}", self.path.display()))
    }

    async fn finish(mut self, target: &Path) -> Result<()> {
        tokio::fs::rename(&self.path, target).await.map_err(|e| {
            PluginError::internal(format!(
                "cannot move the download to {}: {e}",
                target.display()
            ))
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(kind: ChecksumKind) -> Self {
        match kind {
            ChecksumKind::Md5 => Self::Md5(md5::Md5::new()),
            ChecksumKind::Sha1 => Self::Sha1(sha1::Sha1::new()),
            ChecksumKind::Sha256 => Self::Sha256(sha2::Sha256::new()),
            ChecksumKind::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Md5(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    fn finish_hex(self) -> String {
        let digest: Vec<u8> = match self {
            Self::Md5(h) => h.finalize().to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        };
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_answering_url() {
        let base = "http://h:1/a/b/c.tar?x=1";
        assert_eq!(resolve(base, "http://o/z"), "http://o/z");
        assert_eq!(resolve(base, "//o/z"), "http://o/z");
        assert_eq!(resolve(base, "/z"), "http://h:1/z");
        assert_eq!(resolve(base, "z.tar"), "http://h:1/a/b/z.tar");
        assert_eq!(resolve("http://h", "z"), "http://h/z");
    }

    #[test]
    fn digests_are_lower_hex() {
        let mut h = Hasher::new(ChecksumKind::Sha256);
        h.update(b"abc");
        assert_eq!(
            h.finish_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = Hasher::new(ChecksumKind::Md5);
        h.update(b"abc");
        assert_eq!(h.finish_hex(), "900150983cd24fb0d6963f7d28e17f72");
    }
}
