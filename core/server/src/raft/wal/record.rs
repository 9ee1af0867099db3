//! The record format of WAL segments: `[len u32][crc32 u32][type u8][payload]`.
//!
//! `len` counts the payload only; the CRC (IEEE, `crc32fast`) covers the type
//! byte and the payload, both little-endian fields. A record is valid only if
//! its whole extent lies in the file and the CRC matches, so a torn write
//! shows up as a bad record at the tail.

/// Bytes before the payload: length, CRC, type.
pub(super) const HEADER: usize = 9;

/// What a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    /// A protobuf `Entry`. An entry at an index at or below the last one
    /// replaces that index and everything after it (raft's conflicting suffix).
    Entry = 1,
    /// A protobuf `HardState`.
    HardState = 2,
    /// A protobuf `ConfState`.
    ConfState = 3,
    /// The peer address book, JSON (raft id → address).
    Peers = 4,
    /// A flags byte then a protobuf `SnapshotMetadata`; flag
    /// [`REPLACES_LOG`]: a snapshot installed from the leader, after which
    /// no older entry is valid. Without it: compaction up to the index.
    Snapshot = 5,
}

/// Flag of a [`Kind::Snapshot`] record: the snapshot replaces the whole log.
pub(super) const REPLACES_LOG: u8 = 1;

impl Kind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Entry,
            2 => Self::HardState,
            3 => Self::ConfState,
            4 => Self::Peers,
            5 => Self::Snapshot,
            _ => return None,
        })
    }
}

/// Appends a record whose payload `body` writes into `buf`; returns where the
/// record starts in `buf` and its length, header included.
pub(super) fn encode(
    buf: &mut Vec<u8>,
    kind: Kind,
    body: impl FnOnce(&mut Vec<u8>),
) -> (usize, usize) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    buf.push(kind as u8);
    body(buf);
    let total = buf.len() - start;
    // Payloads are raft entries and metadata, far below 4 GiB (raft's
    // max_size_per_msg bounds entries at 1 MiB by default).
    let len = u32::try_from(total - HEADER).unwrap_or(u32::MAX);
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    (start, total)
}

/// One step of reading a segment.
#[derive(Debug)]
pub(super) enum Parsed<'a> {
    /// A valid record; the next one starts at `next`.
    Record {
        kind: Kind,
        payload: &'a [u8],
        next: usize,
    },
    /// Exactly at the end of the bytes.
    End,
    /// A record intact by its checksum but of a type this build does not
    /// know (a newer format): never a torn write.
    Unknown(u8),
    /// No valid record here. `next`: where the record would end, if its
    /// header was complete and its extent fits in the bytes.
    Bad { why: String, next: Option<usize> },
}

/// The record starting at `at` in `bytes`.
pub(super) fn parse(bytes: &[u8], at: usize) -> Parsed<'_> {
    let rest = &bytes[at.min(bytes.len())..];
    if rest.is_empty() {
        return Parsed::End;
    }
    if rest.len() < HEADER {
        return Parsed::Bad {
            why: format!("truncated record header ({} bytes)", rest.len()),
            next: None,
        };
    }
    let field = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let (len, crc) = (field(0) as usize, field(4));
    let Some(body) = rest.get(8..HEADER + len) else {
        return Parsed::Bad {
            why: format!(
                "record of {len} bytes runs past the end ({} left)",
                rest.len() - HEADER
            ),
            next: None,
        };
    };
    let next = Some(at + HEADER + len);
    if crc32fast::hash(body) != crc {
        return Parsed::Bad {
            why: "checksum mismatch".into(),
            next,
        };
    }
    match Kind::from_u8(body[0]) {
        Some(kind) => Parsed::Record {
            kind,
            payload: &body[1..],
            next: at + HEADER + len,
        },
        None => Parsed::Unknown(body[0]),
    }
}
