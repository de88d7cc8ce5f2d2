//! Opaque, tamper-evident list cursors: `base64url(position) "." base64url(HMAC-SHA256)`,
//! the MAC covering the query's fingerprint too, so a cursor only continues the query it came from.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StoreError;

type HmacSha256 = Hmac<Sha256>;
const TAG_LEN: usize = 16;
const MAX_CURSOR_LEN: usize = 512;

#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(***)")
    }
}

impl CursorCodec {
    /// The codec of every list of `table`. Its key is not a secret, on purpose: a cursor only
    /// says where in a query's results to continue, the query is rebuilt from the caller's own
    /// permissions on every request, and the MAC binds the cursor to that query. Forging one
    /// therefore gains nothing a caller could not list anyway; the MAC's job is that a changed
    /// or foreign cursor is a clear 400, never a 500 or another query's page
    /// (`docs/ARCHITECTURE.md`, Lists and cursors).
    pub fn for_table(table: &str) -> Self {
        Self::new(format!("api-keys-cursor/{table}"))
    }

    pub fn new(key: impl AsRef<[u8]>) -> Self {
        CursorCodec { key: key.as_ref().to_vec() }
    }

    fn mac(&self, fingerprint: &str, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(fingerprint.as_bytes());
        mac.update(&[0]);
        mac.update(payload.as_bytes());
        mac
    }

    /// A cursor for `position` (the [`super::order_key`] of the last item a page returned,
    /// or where a filtered page stopped looking) in the query of `fingerprint`.
    pub fn encode(&self, fingerprint: &str, position: &str) -> String {
        let payload = B64.encode(position);
        let tag = self.mac(fingerprint, &payload).finalize().into_bytes();
        format!("{payload}.{}", B64.encode(&tag[..TAG_LEN]))
    }

    /// [`CursorCodec::decode`] of a query's optional cursor: no cursor, no position.
    pub fn position(
        &self, fingerprint: &str, cursor: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        cursor.map(|c| self.decode(fingerprint, c)).transpose()
    }

    /// The position of a cursor this codec made for the same query; anything else is `BadCursor`.
    pub fn decode(&self, fingerprint: &str, cursor: &str) -> Result<String, StoreError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(StoreError::BadCursor);
        }
        let (payload, tag) = cursor.split_once('.').ok_or(StoreError::BadCursor)?;
        let tag = B64.decode(tag).map_err(|_| StoreError::BadCursor)?;
        if tag.len() != TAG_LEN {
            return Err(StoreError::BadCursor);
        }
        self.mac(fingerprint, payload)
            .verify_truncated_left(&tag)
            .map_err(|_| StoreError::BadCursor)?;
        let raw = B64.decode(payload).map_err(|_| StoreError::BadCursor)?;
        String::from_utf8(raw).map_err(|_| StoreError::BadCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let c = CursorCodec::new(b"k");
        let pos = "2026-01-01T00:00:00.000000000Z#abcdefABCDEF";
        let s = c.encode("q", pos);
        assert_eq!(c.decode("q", &s).unwrap(), pos);
        assert!(matches!(c.decode("other query", &s), Err(StoreError::BadCursor)));
        assert!(CursorCodec::new(b"other").decode("q", &s).is_err());
        let mut bytes = s.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        assert!(c.decode("q", std::str::from_utf8(&bytes).unwrap()).is_err());
        for junk in ["", ".", "abc", "a.b", &"x".repeat(1000), "é.é"] {
            assert!(c.decode("q", junk).is_err());
        }
    }
}
