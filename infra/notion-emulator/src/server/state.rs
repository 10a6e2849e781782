//! The emulator's state: its configuration (every reading behind a flag), the workspace,
//! scripted faults, the request log, rate-limit windows, OAuth and webhook subscriptions.

use crate::model::Workspace;
use crate::render::{self, Reading};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Behaviour switches.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests per second allowed per token (the older reading of "Request limits": "an
    /// average of three requests per second"); none for no such limit.
    pub rps: Option<u32>,
    /// "Request limits", per-connection limit: "Each connection has a fixed budget of
    /// requests per 60-second window ... The budget can be spent at any pace within the
    /// window — spread out evenly or in a single burst. When a request exceeds this limit,
    /// the Retry-After value is the time until the window resets, so it is at most 60
    /// seconds." A fixed window that starts with its first request, counted on arrival.
    /// None: no such budget.
    pub window_budget: Option<u32>,
    /// The window's length: 60 s as documented; shorter in tests that must see it end.
    pub window: Duration,
    /// "Request limits", per-workspace limit: requests per second shared by every token of
    /// the workspace; past it, 429 with `Retry-After` [`Config::workspace_retry_after`]
    /// ("can be longer than a minute"). None: no such limit.
    pub workspace_rps: Option<u32>,
    /// The workspace limit's `Retry-After`, seconds.
    pub workspace_retry_after: u64,
    /// Blocks one markdown answer renders before leaving the rest as `<unknown>`.
    pub markdown_block_limit: usize,
    /// Most results one search or data source query walks through, as Notion caps them:
    /// the page reaching it ends the listing with `request_status.type: "incomplete"`.
    pub result_cap: usize,
    /// Which reading of the markdown documents to render (see [`Reading`]).
    pub reading: Reading,
    /// Edits made from now on carry the wall clock's time, as in Notion (the generated
    /// workspace's own times stay in its past), so a crawler reading on the same clock sees
    /// what Notion's minute-rounded stamps hide: a second edit inside the minute of its read.
    /// On by default; off, the workspace clock only ticks a second per change (reproducible
    /// stamps, for tests that compare them).
    pub wall_clock: bool,
    /// A page whose parent (or any ancestor) is in the trash is retrieved with `in_trash:
    /// true` too. Notion's documents leave this open; off, a page reports its own flag.
    pub trash_cascades: bool,
    /// A `child_page` block in its parent's children carries its page's `last_edited_time`.
    /// The block object's reference says only "Date and time when this block was last
    /// updated", which leaves open whether editing the child page updates the block that
    /// stands for it in its parent. Off (the default): the block keeps the time of the page
    /// holding it, so a listing of the parent does not show the child's edits.
    pub child_page_times_are_the_pages: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rps: None,
            window_budget: Some(180),
            window: Duration::from_secs(60),
            workspace_rps: None,
            workspace_retry_after: 90,
            markdown_block_limit: 1_000,
            result_cap: 10_000,
            reading: Reading::DOCUMENTED,
            wall_clock: true,
            trash_cascades: false,
            child_page_times_are_the_pages: false,
        }
    }
}

/// A scripted failure: the next `times` requests whose path contains `path_contains` get it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Fault {
    /// Substring of the request path ("" for any).
    #[serde(default)]
    pub path_contains: String,
    /// Status to answer (0: answer normally, after `delay_ms`).
    pub status: u16,
    /// How many requests it applies to.
    pub times: u32,
    /// Delay before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer an HTML page instead of Notion's JSON error (as proxies do on 502).
    #[serde(default)]
    pub html: bool,
    /// Only for requests that carry a `start_cursor`, answered as Notion answers a cursor
    /// it no longer accepts: 400 `validation_error`, "start_cursor provided is invalid".
    #[serde(default)]
    pub expired_cursor: bool,
}

/// One request as the emulator saw it.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    /// Milliseconds since the emulator started.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Status answered.
    pub status: u16,
}

/// The emulator's state; share it with tests to mutate the workspace and read the log.
pub struct Emulator {
    pub(super) workspace: Mutex<Workspace>,
    pub(super) config: Mutex<Config>,
    pub(super) faults: Mutex<VecDeque<Fault>>,
    pub(super) log: Mutex<Vec<LoggedRequest>>,
    pub(super) windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    pub(super) oauth: Mutex<crate::oauth::OAuthState>,
    pub(super) webhooks: Mutex<Webhooks>,
    pub(super) started: Instant,
    /// Hosted files downloaded (object paths, without the signature), in order.
    pub(super) downloads: Mutex<Vec<String>>,
}

/// The HTTP client deliveries go out with.
pub(super) fn delivery_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// Webhook subscriptions, how deliveries behave, and what was delivered.
#[derive(Default)]
pub(super) struct Webhooks {
    pub(super) subscriptions: Vec<crate::webhooks::Subscription>,
    pub(super) config: crate::webhooks::DeliveryConfig,
    /// Also emit an event naming a page the token cannot read, with every batch.
    pub(super) inaccessible: bool,
    pub(super) next: u64,
    pub(super) log: Arc<Mutex<Vec<crate::webhooks::Delivery>>>,
    pub(super) http: Option<reqwest::Client>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Emulator {
    /// An emulator serving `workspace`.
    pub fn new(mut workspace: Workspace, config: Config) -> Arc<Self> {
        // Building the workspace is not a change anyone subscribed to.
        workspace.changes.clear();
        Arc::new(Self {
            workspace: Mutex::new(workspace),
            config: Mutex::new(config),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            windows: Mutex::new(HashMap::new()),
            oauth: Mutex::new(crate::oauth::OAuthState::default()),
            webhooks: Mutex::new(Webhooks::default()),
            started: Instant::now(),
            downloads: Mutex::new(Vec::new()),
        })
    }

    /// Hosted files' URLs from now on point at `base` (this emulator), where they are served.
    pub fn serve_files_at(&self, base: &str) {
        lock(&self.workspace).file_base = Some(base.trim_end_matches('/').to_string());
    }

    /// Hosted files downloaded so far (object paths), in order.
    pub fn downloads(&self) -> Vec<String> {
        lock(&self.downloads).clone()
    }

    /// Signed URLs live `secs` from now on (Notion: 3,600).
    pub fn set_file_url_lifetime(&self, secs: i64) {
        lock(&self.workspace).file_url_lifetime = secs;
    }

    /// Runs `f` on the workspace (to read or mutate it); what it changed is delivered to
    /// the webhook subscriptions, if any (see [`crate::webhooks`]).
    pub fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        let (wall_clock, child_page_times) = {
            let config = lock(&self.config);
            (config.wall_clock, config.child_page_times_are_the_pages)
        };
        let (result, changes, clock) = {
            let mut ws = lock(&self.workspace);
            if wall_clock {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                ws.advance_to(now);
            }
            ws.wall_clock = wall_clock;
            ws.child_page_times_are_the_pages = child_page_times;
            let result = f(&mut ws);
            let changes = std::mem::take(&mut ws.changes);
            (result, changes, ws.now())
        };
        if !changes.is_empty() {
            self.deliver(changes, clock);
        }
        result
    }

    /// Subscribes `url` to the workspace's events: sends the handshake (the verification
    /// token, unsigned) and returns the token, which signs every later delivery.
    pub fn subscribe_webhook(&self, url: &str) -> String {
        let mut hooks = lock(&self.webhooks);
        hooks.next += 1;
        let subscription = crate::webhooks::Subscription {
            url: url.to_string(),
            verification_token: format!(
                "secret_whv_{:016x}{:04x}",
                self.started.elapsed().as_nanos(),
                hooks.next
            ),
            id: format!("5b5b5b5b-0000-4000-8000-{:012x}", hooks.next),
        };
        let token = subscription.verification_token.clone();
        hooks.subscriptions.push(subscription.clone());
        let http = hooks.http.get_or_insert_with(delivery_client).clone();
        let log = hooks.log.clone();
        tokio::spawn(async move {
            let delivery = crate::webhooks::handshake(&http, &subscription).await;
            lock(&log).push(delivery);
        });
        token
    }

    /// Changes how deliveries behave (attempts, backoff, duplicates, order).
    pub fn configure_webhooks(&self, f: impl FnOnce(&mut crate::webhooks::DeliveryConfig)) {
        f(&mut lock(&self.webhooks).config);
    }

    /// With every batch of events, also send one naming a page the token cannot read.
    pub fn webhook_inaccessible_events(&self, on: bool) {
        lock(&self.webhooks).inaccessible = on;
    }

    /// Every delivery so far (handshakes included), in the order they finished.
    pub fn webhook_deliveries(&self) -> Vec<crate::webhooks::Delivery> {
        lock(&lock(&self.webhooks).log).clone()
    }

    pub(super) fn deliver(&self, mut changes: Vec<(&'static str, String, &'static str)>, clock: i64) {
        let mut hooks = lock(&self.webhooks);
        if hooks.subscriptions.is_empty() {
            return;
        }
        if hooks.inaccessible {
            changes.push((
                "page.content_updated",
                "00000000-dead-4000-8000-000000000000".into(),
                "page",
            ));
        }
        let mut events = Vec::new();
        for (kind, entity, entity_type) in changes {
            hooks.next += 1;
            events.push((
                format!("e7e7e7e7-0000-4000-8000-{:012x}", hooks.next),
                kind,
                entity,
                entity_type,
            ));
        }
        if hooks.config.reverse {
            events.reverse();
        }
        let timestamp = render::time(clock);
        let http = hooks.http.get_or_insert_with(delivery_client).clone();
        for subscription in hooks.subscriptions.clone() {
            let (http, config, log, events, timestamp) = (
                http.clone(),
                hooks.config.clone(),
                hooks.log.clone(),
                events.clone(),
                timestamp.clone(),
            );
            tokio::spawn(async move {
                for (id, kind, entity, entity_type) in &events {
                    let times = if config.duplicate { 2 } else { 1 };
                    for _ in 0..times {
                        let delivery = crate::webhooks::deliver(
                            &http,
                            &subscription,
                            &config,
                            id,
                            kind,
                            (entity, entity_type),
                            &timestamp,
                        )
                        .await;
                        lock(&log).push(delivery);
                    }
                }
            });
        }
    }

    /// Changes the configuration.
    pub fn configure(&self, f: impl FnOnce(&mut Config)) {
        f(&mut lock(&self.config));
    }

    /// Makes the workspace a public connection's: its OAuth endpoints answer `client_id`
    /// with `client_secret` (see [`crate::oauth`]).
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str) {
        lock(&self.oauth).client = Some((client_id.to_string(), client_secret.to_string()));
    }

    /// Whether the simulated user cancels at the consent page from now on.
    pub fn oauth_deny(&self, deny: bool) {
        lock(&self.oauth).deny = deny;
    }

    /// Token exchanges answered so far for `grant_type`.
    pub fn oauth_exchanges(&self, grant_type: &str) -> u32 {
        lock(&self.oauth).exchanges.get(grant_type).copied().unwrap_or(0)
    }

    /// Revokes an access token (as when it expires): the API answers it 401 from now on.
    pub fn revoke_token(&self, token: &str) {
        self.with_workspace(|ws| ws.tokens.remove(token));
    }

    /// Queues a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).push_back(fault);
    }

    /// Drops every fault not yet spent.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// The most requests that arrived within any one-second window.
    pub fn max_requests_per_second(&self) -> usize {
        self.max_requests_within(Duration::from_secs(1))
    }

    /// The most requests that arrived within any `window`, whatever its start.
    pub fn max_requests_within(&self, window: Duration) -> usize {
        let mut times: Vec<u64> = lock(&self.log).iter().map(|r| r.at_ms).collect();
        times.sort_unstable();
        let window = window.as_millis() as u64;
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    pub(super) fn take_fault(&self, path: &str, has_cursor: bool) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|f| path.contains(&f.path_contains) && (has_cursor || !f.expired_cursor))?;
        let fault = faults[index].clone();
        if faults[index].times <= 1 {
            faults.remove(index);
        } else {
            faults[index].times -= 1;
        }
        Some(fault)
    }

    /// Whether a request of `token` exceeds a limit now: the limit's
    /// `additional_data.rate_limit_reason` and the `Retry-After` seconds. "Request limits"
    /// names the two limits but its table of reason values was not available to us; the
    /// crawler treats every reason alike ("Other rate_limit_reason values can appear").
    pub(super) fn rate_limited(&self, token: &str) -> Option<(&'static str, u64)> {
        let config = lock(&self.config).clone();
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        if let Some(limit) = config.workspace_rps {
            let shared = windows.entry("\u{0}workspace".to_string()).or_default();
            while shared
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                shared.pop_front();
            }
            if shared.len() >= limit as usize {
                return Some(("workspace_rate_limit", config.workspace_retry_after));
            }
        }
        if let Some(budget) = config.window_budget {
            let window = windows.entry(format!("\u{0}budget:{token}")).or_default();
            // The window starts with its first request and lasts `config.window`.
            if window.front().is_some_and(|t| now.duration_since(*t) >= config.window) {
                window.clear();
            }
            if window.len() >= budget as usize {
                let left = window
                    .front()
                    .map_or(Duration::ZERO, |t| config.window - now.duration_since(*t));
                // Whole seconds (the header is an integer), rounded up so that a client
                // waiting it out finds the window reset.
                let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                return Some(("connection_rate_limit", reset.max(1)));
            }
        }
        if let Some(rps) = config.rps {
            let window = windows.entry(token.to_string()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= rps as usize {
                return Some(("connection_rate_limit", 1));
            }
            window.push_back(now);
        }
        if config.window_budget.is_some() {
            windows
                .entry(format!("\u{0}budget:{token}"))
                .or_default()
                .push_back(now);
        }
        if config.workspace_rps.is_some() {
            windows.entry("\u{0}workspace".to_string()).or_default().push_back(now);
        }
        None
    }
}
