//! Accounts, their plan limits, and API keys (stored only as SHA-256 hashes).

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The limits of an account's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Records the account may hold across all its datasets.
    pub max_records: u64,
    /// Notion integrations the account may have.
    pub max_integrations: u64,
    /// Pages one sync may read.
    pub max_pages_per_sync: u64,
    /// Seconds one sync may run, across continuations.
    pub max_sync_seconds: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            max_records: 100_000,
            max_integrations: 100,
            max_pages_per_sync: 10_000,
            max_sync_seconds: 3_600,
        }
    }
}

/// An account: the owner of integrations and datasets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `account_` + ULID.
    pub id: String,
    /// Limits enforced by the API and the crawler.
    pub plan: Plan,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Records the account holds now (read-only: kept by record writes).
    #[serde(default)]
    pub records_used: u64,
}

/// Prefix of every API key, so a leaked key is recognisable by secret scanners.
pub const API_KEY_PREFIX: &str = "nik_";

/// A new random API key: the prefix plus 40 base62 characters (about 238 bits).
pub fn generate_api_key() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..40)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{API_KEY_PREFIX}{tail}")
}

/// The stored form of an API key. Keys are long random strings, so an unsalted hash is
/// enough to make a leaked table useless.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The key in an `Authorization: Bearer <key>` header value, if it is well-formed:
/// 8 to 256 visible ASCII characters.
pub fn bearer_key(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && (8..=256).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic()))
    .then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_well_formed() {
        let (a, b) = (generate_api_key(), generate_api_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), API_KEY_PREFIX.len() + 40);
        assert_eq!(bearer_key(&format!("Bearer {a}")), Some(a.as_str()));
    }

    #[test]
    fn hashes_are_stable_hex_and_not_the_key() {
        let h = hash_api_key("nik_example");
        assert_eq!(h, hash_api_key("nik_example"));
        assert_eq!(h.len(), 64);
        assert!(!h.contains("example"));
    }

    #[test]
    fn malformed_headers_give_no_key() {
        for header in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abcdefghij",
            "Bearer short",
            "Bearer a b c d e f g h",
            "nik_abcdefghijk",
        ] {
            assert_eq!(bearer_key(header), None, "{header:?}");
        }
        assert_eq!(bearer_key("bearer   nik_abcdefghij "), Some("nik_abcdefghij"));
    }
}
