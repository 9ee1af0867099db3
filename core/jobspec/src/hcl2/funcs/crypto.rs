//! `bcrypt(password, cost?)` (a `$2a$` hash, cost 10 unless given) and
//! `rsadecrypt(ciphertext_base64, private_key_pem)` (RSA PKCS #1 v1.5, the key in
//! PKCS #1 `RSA PRIVATE KEY` or PKCS #8 `PRIVATE KEY` PEM).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hcl::Value;
use hcl::eval::{Context, ParamType as P};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};

use super::{def, int, s};

const BCRYPT_DEFAULT_COST: i64 = 10;

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "bcrypt", &[P::String], Some(P::Number), |a| {
        let cost = match a.len() {
            1 => BCRYPT_DEFAULT_COST,
            2 => int(&a[1]).map_err(|e| format!("argument 2 (cost): {e}"))?,
            n => {
                return Err(format!(
                    "takes a password and an optional cost, got {n} arguments"
                ));
            }
        };
        if !(4..=31).contains(&cost) {
            return Err(format!(
                "argument 2 (cost): must be between 4 and 31, found {cost}"
            ));
        }
        let password = s(&a[0]);
        if password.len() > 72 {
            return Err(format!(
                "argument 1 (password): bcrypt takes at most 72 bytes, found {}",
                password.len()
            ));
        }
        bcrypt::hash_with_result(password.as_bytes(), cost as u32)
            .map(|h| Value::from(h.format_for_version(bcrypt::Version::TwoA)))
            .map_err(|e| e.to_string())
    });
    def(ctx, "rsadecrypt", &[P::String, P::String], None, |a| {
        let ciphertext = B64
            .decode(s(&a[0]).trim())
            .map_err(|_| "argument 1 (ciphertext): must be base64-encoded".to_string())?;
        let pem = s(&a[1]);
        let key = RsaPrivateKey::from_pkcs1_pem(&pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(&pem))
            .map_err(|_| {
                "argument 2 (privatekey): not an RSA private key in PEM \
                 (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\")"
                    .to_string()
            })?;
        let plain = key
            .decrypt(Pkcs1v15Encrypt, &ciphertext)
            .map_err(|e| format!("failed to decrypt: {e}"))?;
        String::from_utf8(plain)
            .map(Value::from)
            .map_err(|_| "the decrypted text is not UTF-8".to_string())
    });
}
