//! Optional positive caching (off by default): an allowed key's context, keyed by the SHA-256
//! of the token, for a configured number of seconds.
//!
//! Trade-off: while a decision is cached, disabling, deleting or replacing the key does not
//! stop it on this instance; the TTL is the longest such a key keeps working. Refusals are never
//! cached, and an entry never outlives the key's expiry or the grace period of the secret it
//! matched.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};

use crate::identity::AuthContext;
use crate::token::SecretHash;

/// Entries kept at most; past it expired ones go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Entry {
    context: AuthContext,
    until: OffsetDateTime,
}

#[derive(Debug)]
pub(crate) struct AllowCache {
    ttl: Duration,
    // Keyed by a hash of the token: looking one up reveals nothing useful about the secret.
    entries: Mutex<HashMap<String, Entry>>,
}

impl AllowCache {
    /// `None` when the TTL is zero (caching off).
    pub fn new(ttl: std::time::Duration) -> Option<Self> {
        let ttl = Duration::try_from(ttl).ok().filter(|t| t.is_positive())?;
        Some(AllowCache { ttl, entries: Mutex::default() })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, hash: &SecretHash, now: OffsetDateTime) -> Option<AuthContext> {
        let mut entries = self.lock();
        match entries.get(hash.as_str()) {
            Some(e) if now < e.until => Some(e.context.clone()),
            Some(_) => {
                entries.remove(hash.as_str());
                None
            }
            None => None,
        }
    }

    /// Caches an allow until `now + ttl`, or `limit` if that comes first.
    pub fn put(
        &self, hash: &SecretHash, context: &AuthContext, now: OffsetDateTime,
        limit: Option<OffsetDateTime>,
    ) {
        let until = limit.map_or(now + self.ttl, |l| l.min(now + self.ttl));
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now < e.until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash.as_str().to_owned(), Entry { context: context.clone(), until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key;
    use crate::token::KeyKind;
    use time::macros::datetime;

    #[test]
    fn zero_ttl_is_off() {
        assert!(AllowCache::new(std::time::Duration::ZERO).is_none());
    }

    #[test]
    fn entries_expire_at_the_ttl_or_the_limit() {
        let cache = AllowCache::new(std::time::Duration::from_secs(30)).unwrap();
        let ctx = AuthContext::of(&sample_key(KeyKind::Project));
        let h = SecretHash::of("a");
        let t0 = datetime!(2026-01-01 0:00 UTC);
        cache.put(&h, &ctx, t0, None);
        assert_eq!(cache.get(&h, t0 + Duration::seconds(29)), Some(ctx.clone()));
        assert_eq!(cache.get(&h, t0 + Duration::seconds(30)), None);
        cache.put(&h, &ctx, t0, Some(t0 + Duration::seconds(5)));
        assert_eq!(cache.get(&h, t0 + Duration::seconds(6)), None);
        assert_eq!(cache.get(&SecretHash::of("b"), t0), None);
    }
}
