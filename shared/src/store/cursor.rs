//! Opaque, tamper-evident list cursors: `base64url(position) "." base64url(HMAC-SHA256)`,
//! the MAC covering the query's fingerprint too, so a cursor only continues the query it came from.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StoreError;
use crate::token::Prefix;

type HmacSha256 = Hmac<Sha256>;
const TAG_LEN: usize = 16;
const MAX_CURSOR_LEN: usize = 512;

/// Where a page ended: the last item's sort key and prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub sort_key: String,
    pub prefix: Prefix,
}

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
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        CursorCodec {
            key: key.as_ref().to_vec(),
        }
    }

    fn mac(&self, fingerprint: &str, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(fingerprint.as_bytes());
        mac.update(&[0]);
        mac.update(payload.as_bytes());
        mac
    }

    pub fn encode(&self, fingerprint: &str, pos: &Position) -> String {
        let payload = B64.encode(format!("{}\n{}", pos.sort_key, pos.prefix));
        let tag = self.mac(fingerprint, &payload).finalize().into_bytes();
        format!("{payload}.{}", B64.encode(&tag[..TAG_LEN]))
    }

    pub fn decode(&self, fingerprint: &str, cursor: &str) -> Result<Position, StoreError> {
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
        let raw = String::from_utf8(raw).map_err(|_| StoreError::BadCursor)?;
        let (sort_key, prefix) = raw.split_once('\n').ok_or(StoreError::BadCursor)?;
        let prefix = Prefix::parse(prefix).ok_or(StoreError::BadCursor)?;
        Ok(Position {
            sort_key: sort_key.to_owned(),
            prefix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let c = CursorCodec::new(b"k");
        let pos = Position {
            sort_key: "2026-01-01T00:00:00.000000000Z#abcdefABCDEF".into(),
            prefix: Prefix::parse("abcdefABCDEF").unwrap(),
        };
        let s = c.encode("q", &pos);
        assert_eq!(c.decode("q", &s).unwrap(), pos);
        assert!(matches!(
            c.decode("other query", &s),
            Err(StoreError::BadCursor)
        ));
        assert!(CursorCodec::new(b"other").decode("q", &s).is_err());
        let mut bytes = s.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        assert!(c.decode("q", std::str::from_utf8(&bytes).unwrap()).is_err());
        for junk in ["", ".", "abc", "a.b", &"x".repeat(1000), "é.é"] {
            assert!(c.decode("q", junk).is_err());
        }
    }
}
