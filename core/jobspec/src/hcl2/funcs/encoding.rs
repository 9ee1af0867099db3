//! Encoding, hashing and UUID functions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hcl::Value;
use hcl::eval::{Context, ParamType as P};
use sha2::Digest;

use super::{def, s};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "base64encode", &[P::String], None, |a| {
        Ok(Value::from(B64.encode(s(&a[0]))))
    });
    def(ctx, "base64decode", &[P::String], None, |a| {
        let bytes = B64
            .decode(s(&a[0]).trim())
            .map_err(|e| format!("invalid base64: {e}"))?;
        String::from_utf8(bytes)
            .map(Value::from)
            .map_err(|_| "the decoded bytes are not UTF-8".to_string())
    });
    def(ctx, "jsonencode", &[P::Any], None, |a| {
        serde_json::to_string(&a[0])
            .map(Value::from)
            .map_err(|e| e.to_string())
    });
    def(ctx, "jsondecode", &[P::String], None, |a| {
        let v: serde_json::Value =
            serde_json::from_str(&s(&a[0])).map_err(|e| format!("invalid JSON: {e}"))?;
        hcl::to_value(v).map_err(|e| e.to_string())
    });
    def(ctx, "csvdecode", &[P::String], None, |a| {
        let text = s(&a[0]);
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let header: Vec<String> = lines.next().map(split_csv).unwrap_or_default();
        let mut rows = Vec::new();
        for (n, l) in lines.enumerate() {
            let cells = split_csv(l);
            if cells.len() != header.len() {
                return Err(format!(
                    "row {} has {} fields, the header {}",
                    n + 2,
                    cells.len(),
                    header.len()
                ));
            }
            rows.push(Value::Object(
                header
                    .iter()
                    .cloned()
                    .zip(cells.into_iter().map(Value::from))
                    .collect(),
            ));
        }
        Ok(Value::Array(rows))
    });
    def(ctx, "urlencode", &[P::String], None, |a| {
        let mut out = String::new();
        for b in s(&a[0]).bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        Ok(Value::from(out))
    });
    def(ctx, "sha256", &[P::String], None, |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes()))))
    });
    def(ctx, "sha512", &[P::String], None, |a| {
        Ok(Value::from(hex(&sha2::Sha512::digest(s(&a[0]).as_bytes()))))
    });
    def(ctx, "sha1", &[P::String], None, |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes()))))
    });
    def(ctx, "md5", &[P::String], None, |a| {
        Ok(Value::from(hex(&md5::Md5::digest(s(&a[0]).as_bytes()))))
    });
    def(ctx, "uuidv4", &[], None, |_| {
        let mut b: [u8; 16] = rand::random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(Value::from(uuid_text(&b)))
    });
    def(ctx, "uuidv5", &[P::String, P::String], None, |a| {
        let ns: [u8; 16] = match s(&a[0]).as_str() {
            "dns" => parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            "url" => parse_uuid("6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
            "oid" => parse_uuid("6ba7b812-9dad-11d1-80b4-00c04fd430c8"),
            "x500" => parse_uuid("6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
            other => parse_uuid(other),
        }
        .ok_or_else(|| format!("invalid namespace \"{}\"", s(&a[0])))?;
        let mut h = sha1::Sha1::new();
        h.update(ns);
        h.update(s(&a[1]).as_bytes());
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        b[6] = (b[6] & 0x0f) | 0x50;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(Value::from(uuid_text(&b)))
    });
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_uuid(t: &str) -> Option<[u8; 16]> {
    let h: String = t.chars().filter(|c| *c != '-').collect();
    if h.len() != 32 || !h.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            other => cur.push(other),
        }
    }
    out.push(cur);
    out
}
