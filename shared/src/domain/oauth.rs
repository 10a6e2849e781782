//! Connect with Notion (SPEC §2.5): the OAuth `state`, the `returnUrl` rules, what the
//! integration's secret holds for a connected integration, and the pages the public
//! callback answers. Notion's side (the authorize URL, the token exchange) follows the
//! "Authorization" guide on developers.notion.com.

use super::fields::FieldError;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};

/// Seconds a `state` stays usable (SPEC: 10 minutes).
pub const STATE_LIFETIME_SECS: i64 = 600;
/// Longest `returnUrl`.
pub const MAX_RETURN_URL_CHARS: usize = 2048;
/// The callback's path under the API's origin (`PUBLIC_BASE_URL`).
pub const CALLBACK_PATH: &str = "/api/v1/integration/notion/oauth/callback";

/// A pending authorization: single-use, expiring, bound to one account and integration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthState {
    /// The random value carried through Notion (never guessable: 256 bits).
    pub state: String,
    /// The account that asked.
    pub account_id: String,
    /// The integration to connect.
    pub integration_id: String,
    /// Where the browser goes after the callback, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The redirect URI given to Notion (the exchange must send the same).
    pub redirect_uri: String,
    /// Epoch seconds after which it is refused (also the store's TTL attribute).
    pub expires_at: i64,
}

impl OAuthState {
    /// A fresh state for `integration_id` of `account_id`, at `now` (epoch seconds).
    pub fn new(
        account_id: &str,
        integration_id: &str,
        return_url: Option<String>,
        redirect_uri: String,
        now: i64,
    ) -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        Self {
            state: URL_SAFE_NO_PAD.encode(bytes),
            account_id: account_id.to_string(),
            integration_id: integration_id.to_string(),
            return_url,
            redirect_uri,
            expires_at: now + STATE_LIFETIME_SECS,
        }
    }

    /// Whether it may still be used at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// Whether `text` has the shape of a state we issue (43 base64url characters).
pub fn is_state_shaped(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a `returnUrl`: https anywhere, or http to a loopback host (a local app); no
/// credentials, no fragment.
pub fn check_return_url(url: &str) -> Result<(), FieldError> {
    let bad = |why: &str| Err(FieldError::new("returnUrl", why));
    if url.chars().count() > MAX_RETURN_URL_CHARS {
        return bad("must be at most 2048 characters long");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("must not contain spaces or control characters");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return bad("must be an absolute https URL (or http to localhost)"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return bad("must name a host");
    }
    if authority.contains('@') {
        return bad("must not carry credentials");
    }
    if url.contains('#') {
        return bad("must not carry a fragment");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default().to_string()
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_ascii_lowercase()
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1") => Ok(()),
        "http" => bad("must be https (http only to localhost)"),
        _ => bad("must be an https URL"),
    }
}

/// `url` with `name=value` added to its query.
pub fn with_query(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{url}{separator}{name}={encoded}")
}

/// Notion's authorize URL for our public connection.
pub fn authorize_url(notion_api_url: &str, client_id: &str, redirect_uri: &str, state: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("owner", "user")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .finish();
    format!("{}/v1/oauth/authorize?{query}", notion_api_url.trim_end_matches('/'))
}

/// What Notion granted (the token exchange's or a refresh's answer).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TokenGrant {
    /// The bearer token for the API.
    pub access_token: String,
    /// The token to get a new one with, when Notion gives one.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The workspace authorized.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub workspace_name: Option<String>,
}

/// The workspace a connected integration reaches (`workspace` on the resource).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Notion's workspace id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// What an integration's secret holds: a pasted token (plain text, as before OAuth), or a
/// connected integration's access and refresh tokens (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The bearer token.
    pub access_token: String,
    /// The refresh token, for a connected integration whose grant had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl Credentials {
    /// A pasted token.
    pub fn pasted(token: &str) -> Self {
        Self {
            access_token: token.to_string(),
            refresh_token: None,
        }
    }

    /// What a grant gives.
    pub fn granted(grant: &TokenGrant) -> Self {
        Self {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
        }
    }

    /// The secret's text: the token itself when there is nothing else (what pasted tokens
    /// have always been stored as), else JSON.
    pub fn encode(&self) -> String {
        match &self.refresh_token {
            None => self.access_token.clone(),
            Some(_) => serde_json::to_string(self).unwrap_or_else(|_| self.access_token.clone()),
        }
    }

    /// Reads a secret's text (Notion tokens never start with `{`).
    pub fn decode(text: &str) -> Self {
        if text.starts_with('{') {
            if let Ok(credentials) = serde_json::from_str::<Self>(text) {
                return credentials;
            }
        }
        Self::pasted(text)
    }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The small, accessible page the callback answers: a title, one paragraph, no scripts.
pub fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}h1{{font-size:1.5rem}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{message}</p>\n</main>\n</body>\n</html>\n",
        title = escape(title),
        message = escape(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_random_shaped_and_expire() {
        let a = OAuthState::new("account_1", "notion_1", None, "https://x/cb".into(), 1_000);
        let b = OAuthState::new("account_1", "notion_1", None, "https://x/cb".into(), 1_000);
        assert_ne!(a.state, b.state);
        assert!(is_state_shaped(&a.state), "{}", a.state);
        assert!(!is_state_shaped("short") && !is_state_shaped(&"a".repeat(42)));
        assert!(a.is_live(1_599) && !a.is_live(1_600));
    }

    #[test]
    fn return_urls_are_https_or_loopback_http() {
        for ok in [
            "https://app.example.com/done",
            "http://localhost:3000/x?y=1",
            "http://127.0.0.1/",
            "http://[::1]:8080/",
        ] {
            assert!(check_return_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "javascript:alert(1)",
            "ftp://x/",
            "https://user:pw@example.com/",
            "https:///path",
            "//example.com",
            "https://example.com/#frag",
            "https://exa mple.com/",
        ] {
            assert!(check_return_url(bad).is_err(), "{bad}");
        }
        assert!(check_return_url(&format!("https://x/{}", "a".repeat(2048))).is_err());
        assert_eq!(
            with_query("https://x/a?b=1", "connected", "notion_1"),
            "https://x/a?b=1&connected=notion_1"
        );
    }

    #[test]
    fn authorize_url_is_the_documented_one() {
        let url = authorize_url("https://api.notion.com/", "cid", "https://api.example.com/cb", "s t");
        assert_eq!(
            url,
            "https://api.notion.com/v1/oauth/authorize?client_id=cid&response_type=code&owner=user&redirect_uri=https%3A%2F%2Fapi.example.com%2Fcb&state=s+t"
        );
    }

    #[test]
    fn credentials_keep_pasted_tokens_as_plain_text() {
        let pasted = Credentials::pasted("secret_abc");
        assert_eq!(pasted.encode(), "secret_abc");
        assert_eq!(Credentials::decode("secret_abc"), pasted);
        let granted = Credentials {
            access_token: "ntn_a".into(),
            refresh_token: Some("nrt_b".into()),
        };
        assert_eq!(Credentials::decode(&granted.encode()), granted);
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = page("Connected", "Workspace <b>\"Acme\"</b> & co");
        assert!(html.contains("Workspace &lt;b&gt;&quot;Acme&quot;&lt;/b&gt; &amp; co"));
        assert!(html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">"));
        assert!(!html.contains("<script"));
    }
}
