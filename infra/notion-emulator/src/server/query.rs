//! Query strings as Notion's routes read them: `key=value` pairs, keys and values
//! percent-decoded.

use std::collections::HashMap;

/// Every pair of `query`, decoded, in order (a key may repeat, as `filter_properties` does).
pub fn pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
}

/// The pairs of `query` by key (the last of a repeated key wins).
pub fn params(query: &str) -> HashMap<String, String> {
    pairs(query).collect()
}

/// `s` percent-decoded, `+` as a space (a property id may arrive encoded or not).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).map(|h| u8::from_str_radix(h, 16)) {
                    Ok(Ok(b)) => {
                        out.push(b);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
