//! `GET /v1/client/fs/{ls,stat,cat,readat}/:alloc?path=` (reference §3.4): list a
//! directory, describe a file, and read a file whole or a range of it, inside one
//! allocation's directory ([`super::paths`] keeps them there).

use std::fs::Metadata;
use std::io::{Read, SeekFrom};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use drover_types::api::client::AllocFileInfo;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::paths::{display, io_error, resolve};
use super::{alloc_root, client_of};
use crate::http::error::{ApiError, ApiResult};
use crate::http::respond::Ctx;

/// `GET /v1/client/fs/ls/:alloc?path=` (default `/`): the entries, sorted by name.
pub async fn ls(ctx: Ctx, UrlPath(alloc): UrlPath<String>) -> ApiResult {
    let (_, dir) = target(&ctx, &alloc, "/")?;
    let requested = ctx.params.get("path").unwrap_or("/").to_string();
    let entries = tokio::task::spawn_blocking(move || list(&dir, &requested))
        .await
        .map_err(|e| ApiError::internal(format!("listing failed: {e}")))??;
    ctx.json(&entries)
}

/// `GET /v1/client/fs/stat/:alloc?path=`.
pub async fn stat(ctx: Ctx, UrlPath(alloc): UrlPath<String>) -> ApiResult {
    let (requested, path) = target(&ctx, &alloc, "")?;
    let info = tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&path).map_err(|e| io_error(e, &requested))?;
        Ok::<_, ApiError>(file_info(&path, &meta))
    })
    .await
    .map_err(|e| ApiError::internal(format!("stat failed: {e}")))??;
    ctx.json(&info)
}

/// `GET /v1/client/fs/cat/:alloc?path=`: the file's bytes.
pub async fn cat(ctx: Ctx, UrlPath(alloc): UrlPath<String>) -> ApiResult {
    let (requested, path) = target(&ctx, &alloc, "")?;
    let file = open_file(&path, &requested).await?;
    Ok(raw(Body::from_stream(ReaderStream::new(file))))
}

/// `GET /v1/client/fs/readat/:alloc?path=&offset=&limit=`: at most `limit` bytes
/// from `offset`.
pub async fn readat(ctx: Ctx, UrlPath(alloc): UrlPath<String>) -> ApiResult {
    let offset: u64 = ctx
        .params
        .int("offset")?
        .ok_or_else(|| ApiError::bad_request("must provide offset"))?;
    let limit: u64 = ctx
        .params
        .int("limit")?
        .ok_or_else(|| ApiError::bad_request("must provide limit"))?;
    let (requested, path) = target(&ctx, &alloc, "")?;
    let mut file = open_file(&path, &requested).await?;
    file.seek(SeekFrom::Start(offset))
        .await
        .map_err(|e| io_error(e, &requested))?;
    Ok(raw(Body::from_stream(ReaderStream::new(file.take(limit)))))
}

/// The `path` parameter (`default` when absent; a 400 when that is empty) resolved
/// inside the allocation's directory.
fn target(ctx: &Ctx, alloc: &str, default: &str) -> ApiResult<(String, std::path::PathBuf)> {
    let client = client_of(ctx)?;
    let requested = match ctx.params.get("path") {
        Some(p) if !p.is_empty() => p,
        _ if !default.is_empty() => default,
        _ => return Err(ApiError::bad_request("must provide a file path")),
    };
    let root = alloc_root(client.as_ref(), alloc)?;
    let path = resolve(&root, requested)?;
    Ok((requested.to_string(), path))
}

async fn open_file(path: &Path, requested: &str) -> ApiResult<tokio::fs::File> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(e, requested))?;
    if meta.is_dir() {
        return Err(ApiError::bad_request(format!(
            "path {:?} is a directory, not a file",
            display(requested)
        )));
    }
    // A FIFO (the task's log pipes) would block, and its reader would take the
    // task's output from the log collector.
    if !meta.is_file() {
        return Err(ApiError::bad_request(format!(
            "path {:?} is not a regular file",
            display(requested)
        )));
    }
    tokio::fs::File::open(path)
        .await
        .map_err(|e| io_error(e, requested))
}

fn raw(body: Body) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    resp
}

fn list(dir: &Path, requested: &str) -> ApiResult<Vec<AllocFileInfo>> {
    let meta = std::fs::metadata(dir).map_err(|e| io_error(e, requested))?;
    if !meta.is_dir() {
        return Err(ApiError::bad_request(format!(
            "path {:?} is a file, not a directory",
            display(requested)
        )));
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(e, requested))? {
        let entry = entry.map_err(|e| io_error(e, requested))?;
        // The entry itself (a symlink stays a symlink): never followed here.
        match entry.metadata() {
            Ok(m) => out.push(file_info(&entry.path(), &m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(e, requested)),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Nomad's `AllocFileInfo` of `path`.
pub fn file_info(path: &Path, meta: &Metadata) -> AllocFileInfo {
    let mod_time = meta
        .modified()
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        })
        .unwrap_or_default();
    AllocFileInfo {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".to_string()),
        is_dir: meta.is_dir(),
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        file_mode: file_mode(meta),
        mod_time,
        content_type: if meta.is_file() {
            sniff(path)
        } else {
            String::new()
        },
    }
}

/// Go's `os.FileMode.String()`: type letters (`-` when none), then `rwxrwxrwx`.
pub fn file_mode(meta: &Metadata) -> String {
    let ft = meta.file_type();
    let mode = meta.permissions().mode();
    let mut s = String::new();
    if ft.is_dir() {
        s.push('d');
    }
    if ft.is_symlink() {
        s.push('L');
    }
    if ft.is_block_device() || ft.is_char_device() {
        s.push('D');
    }
    if ft.is_fifo() {
        s.push('p');
    }
    if ft.is_socket() {
        s.push('S');
    }
    if mode & 0o4000 != 0 {
        s.push('u');
    }
    if mode & 0o2000 != 0 {
        s.push('g');
    }
    if ft.is_char_device() {
        s.push('c');
    }
    if mode & 0o1000 != 0 {
        s.push('t');
    }
    if s.is_empty() {
        s.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    s
}

/// `text/plain; charset=utf-8` when the first 512 bytes read as text, else
/// `application/octet-stream`.
fn sniff(path: &Path) -> String {
    let mut head = Vec::with_capacity(512);
    let read = std::fs::File::open(path).and_then(|f| f.take(512).read_to_end(&mut head));
    if read.is_err() {
        return "application/octet-stream".to_string();
    }
    let text = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // A character cut at the 512-byte boundary is still text.
        Err(e) => e.error_len().is_none(),
    };
    let binary = head
        .iter()
        .any(|b| *b == 0 || (*b < 0x20 && !b"\t\n\r\x0c\x1b".contains(b)));
    if text && !binary {
        "text/plain; charset=utf-8".to_string()
    } else {
        "application/octet-stream".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_like_go() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "hello\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(file_mode(&std::fs::metadata(&f).unwrap()), "-rw-r--r--");
        assert_eq!(
            file_mode(&std::fs::metadata(d.path()).unwrap()),
            "dtrwxrwxrwx"
        );
        let info = file_info(&f, &std::fs::metadata(&f).unwrap());
        assert_eq!(
            (info.name.as_str(), info.size, info.is_dir),
            ("f", 6, false)
        );
        assert_eq!(info.content_type, "text/plain; charset=utf-8");
        std::fs::write(&f, [0u8, 1, 2]).unwrap();
        assert_eq!(sniff(&f), "application/octet-stream");
    }
}
