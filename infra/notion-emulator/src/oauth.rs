//! Notion's OAuth endpoints for public connections, as the "Authorization" guide and the
//! "Create a token" / "Refresh a token" references (developers.notion.com) describe them:
//!
//! - `GET /v1/oauth/authorize?client_id&redirect_uri&response_type=code&owner=user&state`:
//!   Notion shows its consent page; here the answer is decided by configuration. Approval
//!   redirects to `redirect_uri` with a temporary `code` and the `state`; a cancel redirects
//!   with `error=access_denied` and the `state` (guide, "User authorization failures").
//! - `POST /v1/oauth/token`, HTTP Basic `client_id:client_secret`, JSON body:
//!   `{"grant_type": "authorization_code", "code", "redirect_uri"}` (the redirect URI is
//!   required when the authorize URL carried one, and must match) or
//!   `{"grant_type": "refresh_token", "refresh_token"}`. The answer: `access_token`,
//!   `token_type: "bearer"`, `refresh_token`, `bot_id`, `workspace_id`, `workspace_name`,
//!   `workspace_icon`, `owner`, `duplicated_template_id`, `request_id` ("Create a token").
//!   Codes are single-use; a refresh issues a new access token and a new refresh token and
//!   retires the old refresh token ("Refresh a token": "generating a new access token and new
//!   refresh token"). Errors use Notion's error object with the OAuth codes
//!   (`invalid_grant` 400, `invalid_client` 401): the docs name the codes but show no body,
//!   so clients should (and ours does) treat any non-2xx as a failed exchange.
//!
//! Tokens it issues are added to the workspace's tokens, so they work on the emulator's API.

use crate::model::Workspace;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The one public connection the emulator knows, and what it has issued.
#[derive(Debug, Default)]
pub struct OAuthState {
    /// `client_id` and `client_secret`; none: the OAuth endpoints answer 401.
    pub client: Option<(String, String)>,
    /// Whether the (simulated) user cancels at the consent page.
    pub deny: bool,
    /// Unused codes: code → redirect URI given at authorize.
    codes: HashMap<String, Option<String>>,
    /// Live refresh tokens → the access token they belong to.
    refresh_tokens: HashMap<String, String>,
    /// Token exchanges answered, by grant type.
    pub exchanges: HashMap<String, u32>,
    next: u64,
}

/// An answer: status, and either a JSON body or a redirect location.
pub enum Answer {
    /// JSON.
    Json(u16, Value),
    /// `302 Found` to this URL.
    Redirect(String),
    /// A plain-text error page (the consent page's own failures).
    Text(u16, String),
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Json(
        status,
        json!({"object": "error", "status": status, "code": code, "message": message, "request_id": "00000000-0000-4000-8000-000000000000"}),
    )
}

fn query_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').or(Some((p, ""))))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding of a query component.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    format!("{url}{separator}{}", query.join("&"))
}

impl OAuthState {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{prefix}{:x}{:08x}", nanos, self.next)
    }

    /// `GET /v1/oauth/authorize`.
    pub fn authorize(&mut self, query: &str) -> Answer {
        let q = query_pairs(query);
        let Some((client_id, _)) = &self.client else {
            return Answer::Text(400, "This integration is not a public connection.".into());
        };
        if q.get("client_id") != Some(client_id) {
            return Answer::Text(400, "Invalid client_id.".into());
        }
        let Some(redirect) = q.get("redirect_uri").filter(|r| r.starts_with("http")) else {
            return Answer::Text(400, "Missing or invalid redirect_uri.".into());
        };
        if q.get("response_type").map(String::as_str) != Some("code")
            || q.get("owner").map(String::as_str) != Some("user")
        {
            return Answer::Text(400, "response_type must be code and owner must be user.".into());
        }
        let state = q.get("state").cloned().unwrap_or_default();
        if self.deny {
            return Answer::Redirect(with_params(redirect, &[("error", "access_denied"), ("state", &state)]));
        }
        let code = self.fresh("code_");
        self.codes.insert(code.clone(), Some(redirect.clone()));
        Answer::Redirect(with_params(redirect, &[("code", &code), ("state", &state)]))
    }

    /// `POST /v1/oauth/token`.
    pub fn token(&mut self, authorization: Option<&str>, body: &Value, workspace: &mut Workspace) -> Answer {
        let Some((client_id, client_secret)) = self.client.clone() else {
            return error(401, "invalid_client", "Client authentication failed.");
        };
        let expected = format!("Basic {}", base64(&format!("{client_id}:{client_secret}")));
        if authorization != Some(expected.as_str()) {
            return error(401, "invalid_client", "Client authentication failed.");
        }
        let grant = body.get("grant_type").and_then(Value::as_str).unwrap_or_default();
        let (access, refresh) = match grant {
            "authorization_code" => {
                let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
                let Some(redirect) = self.codes.remove(code) else {
                    return error(
                        400,
                        "invalid_grant",
                        "Invalid code: this code has been used, revoked or never issued.",
                    );
                };
                let sent = body.get("redirect_uri").and_then(Value::as_str);
                if redirect.is_some() && sent != redirect.as_deref() {
                    return error(
                        400,
                        "invalid_grant",
                        "redirect_uri does not match the one given at authorization.",
                    );
                }
                (self.fresh("ntn_oauth_"), self.fresh("nrt_"))
            }
            "refresh_token" => {
                let old = body.get("refresh_token").and_then(Value::as_str).unwrap_or_default();
                if self.refresh_tokens.remove(old).is_none() {
                    return error(400, "invalid_grant", "Invalid refresh token.");
                }
                (self.fresh("ntn_oauth_"), self.fresh("nrt_"))
            }
            _ => {
                return error(
                    400,
                    "unsupported_grant_type",
                    "grant_type must be authorization_code or refresh_token.",
                )
            }
        };
        *self.exchanges.entry(grant.to_string()).or_default() += 1;
        self.refresh_tokens.insert(refresh.clone(), access.clone());
        workspace.tokens.insert(access.clone());
        Answer::Json(
            200,
            json!({
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "bot_id": "b0b0b0b0-0000-4000-8000-000000000001",
                "workspace_id": crate::model::WORKSPACE_ID,
                "workspace_name": "Emulated Workspace",
                "workspace_icon": null,
                "owner": {"type": "user", "user": {"object": "user", "id": "u5e70000-0000-4000-8000-000000000001", "type": "person", "name": "Emulated User"}},
                "duplicated_template_id": null,
                "request_id": "00000000-0000-4000-8000-000000000000",
            }),
        )
    }
}

/// Standard base64 with padding (HTTP Basic credentials).
pub fn base64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_query_round_trip() {
        assert_eq!(base64("id:secret"), "aWQ6c2VjcmV0");
        assert_eq!(base64("a"), "YQ==");
        let q = query_pairs(&format!(
            "redirect_uri={}&state=a%2Bb",
            encode("http://127.0.0.1:1/cb?x=1")
        ));
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:1/cb?x=1");
        assert_eq!(q["state"], "a+b");
    }

    #[test]
    fn codes_are_single_use_and_refresh_tokens_rotate() {
        let mut ws = Workspace::new("secret_x", 0);
        let mut oauth = OAuthState {
            client: Some(("cid".into(), "csecret".into())),
            ..OAuthState::default()
        };
        let redirect = "http://127.0.0.1:9/cb";
        let Answer::Redirect(to) = oauth.authorize(&format!(
            "client_id=cid&redirect_uri={}&response_type=code&owner=user&state=s1",
            encode(redirect)
        )) else {
            panic!("redirect expected")
        };
        let code = query_pairs(to.split_once('?').unwrap().1)["code"].clone();
        let basic = format!("Basic {}", base64("cid:csecret"));
        let exchange = json!({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect});
        let Answer::Json(200, granted) = oauth.token(Some(&basic), &exchange, &mut ws) else {
            panic!("granted expected")
        };
        assert!(ws.tokens.contains(granted["access_token"].as_str().unwrap()));
        assert!(
            matches!(oauth.token(Some(&basic), &exchange, &mut ws), Answer::Json(400, _)),
            "single use"
        );
        let refresh = json!({"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]});
        assert!(matches!(
            oauth.token(Some("Basic bad"), &refresh, &mut ws),
            Answer::Json(401, _)
        ));
        let Answer::Json(200, again) = oauth.token(Some(&basic), &refresh, &mut ws) else {
            panic!("refreshed expected")
        };
        assert_ne!(again["refresh_token"], granted["refresh_token"]);
        assert!(
            matches!(oauth.token(Some(&basic), &refresh, &mut ws), Answer::Json(400, _)),
            "rotated"
        );
        oauth.deny = true;
        let Answer::Redirect(denied) = oauth.authorize(&format!(
            "client_id=cid&redirect_uri={}&response_type=code&owner=user&state=s2",
            encode(redirect)
        )) else {
            panic!("redirect expected")
        };
        assert!(
            denied.contains("error=access_denied") && denied.contains("state=s2"),
            "{denied}"
        );
    }
}
