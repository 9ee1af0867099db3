//! The node's identity: an ID and a secret generated once and kept in the state dir
//! (`client-id`, `secret-id`, as Nomad's client does), so a restarted agent is the same
//! node to the servers.

use std::io;
use std::path::{Path, PathBuf};

/// The node ID and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// `Node.ID`.
    pub id: String,
    /// `Node.SecretID`.
    pub secret_id: String,
}

/// Why the identity could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing a file failed.
    #[error("node identity file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A file holds something that is not a UUID.
    #[error("node identity file {}: expected a UUID, found {found:?}", path.display())]
    Invalid { path: PathBuf, found: String },
}

/// A random (version 4) UUID.
pub fn new_uuid(rng: &mut impl rand::Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Whether `s` looks like a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn load_or_create_one(path: &Path) -> Result<String, IdentityError> {
    let io_err = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let s = s.trim();
            if is_uuid(s) {
                Ok(s.to_owned())
            } else {
                Err(IdentityError::Invalid {
                    path: path.to_owned(),
                    found: s.chars().take(64).collect(),
                })
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let id = new_uuid(&mut rand::rng());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io_err)?;
            }
            // Write then rename, so a crash never leaves a half-written ID.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &id).map_err(io_err)?;
            std::fs::rename(&tmp, path).map_err(io_err)?;
            Ok(id)
        }
        Err(e) => Err(io_err(e)),
    }
}

/// Loads `<state_dir>/client-id` and `secret-id`, creating them on first start.
pub fn load_or_create(state_dir: &Path) -> Result<NodeIdentity, IdentityError> {
    Ok(NodeIdentity {
        id: load_or_create_one(&state_dir.join("client-id"))?,
        secret_id: load_or_create_one(&state_dir.join("secret-id"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_kept() {
        let d = tempfile::tempdir().unwrap();
        let state = d.path().join("client");
        let a = load_or_create(&state).unwrap();
        assert!(is_uuid(&a.id) && is_uuid(&a.secret_id) && a.id != a.secret_id);
        assert_eq!(&a.id[14..15], "4", "version 4");
        let b = load_or_create(&state).unwrap();
        assert_eq!(a, b);
        std::fs::write(state.join("client-id"), "not-a-uuid\n").unwrap();
        let e = load_or_create(&state).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("client-id: expected a UUID, found \"not-a-uuid\""),
            "{e}"
        );
        let file = d.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = load_or_create(&file.join("client")).unwrap_err();
        assert!(matches!(e, IdentityError::Io { .. }), "{e}");
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0c4a1b2e-8f6d-4c1a-9e0b-5a7d3f2e1c44"));
        for bad in [
            "",
            "0c4a1b2e8f6d4c1a9e0b5a7d3f2e1c44",
            "0c4a1b2e-8f6d-4c1a-9e0b-5a7d3f2e1c4g",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
