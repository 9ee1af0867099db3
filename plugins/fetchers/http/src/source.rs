//! The artifact URL as go-getter reads it: the options Nomad appended to the
//! query string (`checksum`, `archive`, `filename`) taken out, the rest of
//! the URL sent to the server as it came.

use drover_plugin_sdk::PluginError;
use percent_encoding::percent_decode_str;

/// Extensions go-getter v1 unpacks in mode `any`. A plain `.tar` is not
/// among them: go-getter v1 has no decompressor for it, and jobs rely on
/// that (docker's `load = "image.tar"`).
const ARCHIVE_EXTENSIONS: &[&str] = &[
    "tar.gz", "tgz", "tar.bz2", "tbz2", "tar.xz", "txz", "tar.zst", "tzst", "zip", "gz", "bz2",
    "xz", "zst",
];

/// A digest kind of the `checksum` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl ChecksumKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// `checksum=<type>:<hex>` (or a bare hex digest, its type told by its length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub kind: ChecksumKind,
    /// Lower-case hex.
    pub hex: String,
}

impl Checksum {
    pub fn parse(value: &str) -> Result<Self, PluginError> {
        let (kind, hex) = match value.split_once(':') {
            Some((kind, hex)) => {
                let kind = match kind.to_ascii_lowercase().as_str() {
                    "md5" => ChecksumKind::Md5,
                    "sha1" => ChecksumKind::Sha1,
                    "sha256" => ChecksumKind::Sha256,
                    "sha512" => ChecksumKind::Sha512,
                    "file" => {
                        return Err(PluginError::invalid(
                            "option checksum: checksum files (file:<url>) are not supported; give the digest as <type>:<hex>",
                        ));
                    }
                    other => {
                        return Err(PluginError::invalid(format!(
                            "option checksum: unknown type {other:?}; use md5, sha1, sha256 or sha512"
                        )));
                    }
                };
                (kind, hex)
            }
            None => {
                let kind = match value.len() {
                    32 => ChecksumKind::Md5,
                    40 => ChecksumKind::Sha1,
                    64 => ChecksumKind::Sha256,
                    128 => ChecksumKind::Sha512,
                    n => {
                        return Err(PluginError::invalid(format!(
                            "option checksum: {n} hex digits match no digest type; write <type>:<hex>"
                        )));
                    }
                };
                (kind, value)
            }
        };
        if hex.len() != kind.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PluginError::invalid(format!(
                "option checksum: a {} digest is {} hex digits, got {hex:?}",
                kind.name(),
                kind.hex_len()
            )));
        }
        Ok(Self {
            kind,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

/// The parsed artifact source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Lower-case scheme.
    pub scheme: String,
    /// The URL to request: the source without the getter options.
    pub url: String,
    pub checksum: Option<Checksum>,
    /// `archive=false`: never unpack.
    pub archive_disabled: bool,
    /// The archive type to unpack as: `archive=<type>`, else the extension's.
    pub archive: Option<String>,
    /// `filename=<name>`: the file name in mode `any`.
    pub filename: Option<String>,
}

impl Source {
    pub fn parse(source: &str) -> Result<Self, PluginError> {
        let Some((scheme, _)) = source.split_once("://") else {
            return Err(PluginError::invalid(format!(
                "source {source:?} is not a URL (no scheme://)"
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        // A fragment is never sent to the server.
        let without_fragment = source.split('#').next().unwrap_or(source);
        let (base, query) = match without_fragment.split_once('?') {
            Some((base, query)) => (base, query),
            None => (without_fragment, ""),
        };
        let mut checksum = None;
        let mut archive = None;
        let mut archive_disabled = false;
        let mut filename = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value);
            match decode(key).as_str() {
                "checksum" => checksum = Some(Checksum::parse(&value)?),
                "archive" if value.eq_ignore_ascii_case("false") => archive_disabled = true,
                "archive" => archive = Some(value.to_ascii_lowercase()),
                "filename" => {
                    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
                        return Err(PluginError::invalid(format!(
                            "option filename: {value:?} is not a plain file name"
                        )));
                    }
                    filename = Some(value);
                }
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let path = base
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or("", |(_, path)| path);
        if archive.is_none() && !archive_disabled {
            archive = archive_extension(path).map(str::to_string);
        }
        Ok(Self {
            scheme,
            url,
            checksum,
            archive_disabled,
            archive: if archive_disabled { None } else { archive },
            filename,
        })
    }

    /// The file name in mode `any`: `filename`, else the URL path's last
    /// segment, percent-decoded.
    pub fn file_name(&self) -> Result<String, PluginError> {
        if let Some(f) = &self.filename {
            return Ok(f.clone());
        }
        let base = self.url.split('?').next().unwrap_or(&self.url);
        let path = base
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or("", |(_, path)| path);
        let last = decode(path.rsplit('/').next().unwrap_or(""));
        if last.is_empty() || last == "." || last == ".." || last.contains('/') {
            return Err(PluginError::invalid(format!(
                "{}: the URL path names no file; add options {{ filename = \"...\" }} or use mode = \"file\"",
                self.url
            )));
        }
        Ok(last)
    }
}

fn decode(s: &str) -> String {
    // Go's url.ParseQuery reads `+` as a space.
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The archive extension of `path` go-getter would unpack, if any.
pub fn archive_extension(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    ARCHIVE_EXTENSIONS
        .iter()
        .copied()
        .find(|ext| lower.ends_with(&format!(".{ext}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getter_options_are_taken_out_and_the_rest_kept() {
        let s = Source::parse(
            "http://h:8080/d/app.tgz?token=a%2Bb&checksum=sha256%3A0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF&archive=false#frag",
        )
        .expect("parse");
        assert_eq!(s.scheme, "http");
        assert_eq!(s.url, "http://h:8080/d/app.tgz?token=a%2Bb");
        let c = s.checksum.expect("checksum");
        assert_eq!(c.kind, ChecksumKind::Sha256);
        assert!(c.hex.ends_with("abcdef") && !c.hex.contains('A'));
        assert!(s.archive_disabled);
        assert_eq!(s.archive, None);
    }

    #[test]
    fn plain_tar_is_not_an_archive_but_tgz_and_zip_are() {
        let tar = Source::parse("http://h/mysql-bvc25.tar").expect("parse");
        assert_eq!(tar.archive, None);
        assert_eq!(tar.file_name().expect("name"), "mysql-bvc25.tar");
        assert_eq!(
            Source::parse("http://h/a.tar.gz").expect("parse").archive,
            Some("tar.gz".into())
        );
        assert_eq!(
            Source::parse("http://h/a.ZIP?x=1").expect("parse").archive,
            Some("zip".into())
        );
        assert_eq!(
            Source::parse("http://h/blob?archive=tgz")
                .expect("parse")
                .archive,
            Some("tgz".into())
        );
    }

    #[test]
    fn file_name_comes_from_the_path_or_the_filename_option() {
        let s = Source::parse("http://h/dir/my%20file.bin?v=2").expect("parse");
        assert_eq!(s.file_name().expect("name"), "my file.bin");
        let s = Source::parse("http://h/dl?id=3&filename=app.bin").expect("parse");
        assert_eq!(s.file_name().expect("name"), "app.bin");
        assert_eq!(s.url, "http://h/dl?id=3");
        let e = Source::parse("http://h/dir/")
            .expect("parse")
            .file_name()
            .expect_err("no name");
        assert!(e.message.contains("names no file"), "{}", e.message);
        let e = Source::parse("http://h/x?filename=../x").expect_err("bad filename");
        assert!(e.message.contains("option filename"), "{}", e.message);
    }

    #[test]
    fn checksums_parse_with_or_without_a_type() {
        let md5 = Checksum::parse("d41d8cd98f00b204e9800998ecf8427e").expect("md5");
        assert_eq!(md5.kind, ChecksumKind::Md5);
        let sha1 = Checksum::parse("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709").expect("sha1");
        assert_eq!(sha1.kind, ChecksumKind::Sha1);
        for (bad, needle) in [
            ("sha256:abc", "64 hex digits"),
            ("crc32:00000000", "unknown type \"crc32\""),
            ("file:http://h/SUMS", "not supported"),
            ("abc", "match no digest type"),
            ("md5:zz1d8cd98f00b204e9800998ecf8427e", "32 hex digits"),
        ] {
            let e = Checksum::parse(bad).expect_err(bad);
            assert_eq!(e.kind, drover_plugin_sdk::ErrorKind::InvalidArgument);
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn a_source_without_a_scheme_is_refused() {
        let e = Source::parse("h/a.tar").expect_err("no scheme");
        assert!(e.message.contains("not a URL"), "{}", e.message);
    }
}
