//! The route table: every API route with its method, path template and function crate.
//! Each Lambda serves one route; the local stack and the tests dispatch through the same
//! table, so a route cannot exist in one place and not the other.

use lambda_http::http::Method;

/// Every API route, under `/api/v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /integration/notion/create`
    IntegrationCreate,
    /// `GET /integration/notion/list`
    IntegrationList,
    /// `GET /integration/notion/{id}/fetch`
    IntegrationFetch,
    /// `POST /integration/notion/{id}/update`
    IntegrationUpdate,
    /// `POST /integration/notion/{id}/delete`
    IntegrationDelete,
    /// `POST /integration/notion/{id}/sync`
    IntegrationSync,
    /// `POST /integration/notion/{id}/authenticate`
    IntegrationAuthenticate,
    /// `GET /integration/notion/oauth/callback` (public: Notion sends the browser here)
    OAuthCallback,
    /// `POST /dataset/create`
    DatasetCreate,
    /// `GET /dataset/list`
    DatasetList,
    /// `GET /dataset/{id}/fetch`
    DatasetFetch,
    /// `POST /dataset/{id}/update`
    DatasetUpdate,
    /// `POST /dataset/{id}/delete`
    DatasetDelete,
    /// `GET /dataset/{id}/record/list`
    RecordList,
    /// `GET /dataset/{id}/record/{recordId}/fetch`
    RecordFetch,
    /// `POST /dataset/{id}/record/create`
    RecordCreate,
    /// `POST /dataset/{id}/record/{recordId}/update`
    RecordUpdate,
    /// `POST /dataset/{id}/record/{recordId}/delete`
    RecordDelete,
    /// `GET /event/log/list`
    EventLogList,
    /// `POST /integration/notion/{id}/webhook` (public: Notion delivers events here)
    WebhookReceive,
    /// `GET /integration/notion/{id}/webhook/fetch`
    WebhookFetch,
}

/// The path parameters of a matched route, by name.
pub type PathParams = Vec<(&'static str, String)>;

/// Why a request matched no route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMiss {
    /// No route has this path.
    NotFound,
    /// A route has this path, with another method.
    MethodNotAllowed,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 21] = [
        Self::IntegrationCreate,
        Self::IntegrationList,
        Self::IntegrationFetch,
        Self::IntegrationUpdate,
        Self::IntegrationDelete,
        Self::IntegrationSync,
        Self::IntegrationAuthenticate,
        Self::OAuthCallback,
        Self::DatasetCreate,
        Self::DatasetList,
        Self::DatasetFetch,
        Self::DatasetUpdate,
        Self::DatasetDelete,
        Self::RecordList,
        Self::RecordFetch,
        Self::RecordCreate,
        Self::RecordUpdate,
        Self::RecordDelete,
        Self::EventLogList,
        Self::WebhookReceive,
        Self::WebhookFetch,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Self::IntegrationList
            | Self::IntegrationFetch
            | Self::DatasetList
            | Self::DatasetFetch
            | Self::RecordList
            | Self::RecordFetch
            | Self::EventLogList
            | Self::WebhookFetch
            | Self::OAuthCallback => Method::GET,
            _ => Method::POST,
        }
    }

    /// The path template, as API Gateway declares it.
    pub fn template(self) -> &'static str {
        match self {
            Self::IntegrationCreate => "/api/v1/integration/notion/create",
            Self::IntegrationList => "/api/v1/integration/notion/list",
            Self::IntegrationFetch => "/api/v1/integration/notion/{id}/fetch",
            Self::IntegrationUpdate => "/api/v1/integration/notion/{id}/update",
            Self::IntegrationDelete => "/api/v1/integration/notion/{id}/delete",
            Self::IntegrationSync => "/api/v1/integration/notion/{id}/sync",
            Self::IntegrationAuthenticate => "/api/v1/integration/notion/{id}/authenticate",
            Self::OAuthCallback => "/api/v1/integration/notion/oauth/callback",
            Self::DatasetCreate => "/api/v1/dataset/create",
            Self::DatasetList => "/api/v1/dataset/list",
            Self::DatasetFetch => "/api/v1/dataset/{id}/fetch",
            Self::DatasetUpdate => "/api/v1/dataset/{id}/update",
            Self::DatasetDelete => "/api/v1/dataset/{id}/delete",
            Self::RecordList => "/api/v1/dataset/{id}/record/list",
            Self::RecordFetch => "/api/v1/dataset/{id}/record/{recordId}/fetch",
            Self::RecordCreate => "/api/v1/dataset/{id}/record/create",
            Self::RecordUpdate => "/api/v1/dataset/{id}/record/{recordId}/update",
            Self::RecordDelete => "/api/v1/dataset/{id}/record/{recordId}/delete",
            Self::EventLogList => "/api/v1/event/log/list",
            Self::WebhookReceive => "/api/v1/integration/notion/{id}/webhook",
            Self::WebhookFetch => "/api/v1/integration/notion/{id}/webhook/fetch",
        }
    }

    /// The function crate (under `functions/`) that serves this route.
    pub fn function_name(self) -> &'static str {
        match self {
            Self::IntegrationCreate => "integration-create",
            Self::IntegrationList => "integration-list",
            Self::IntegrationFetch => "integration-fetch",
            Self::IntegrationUpdate => "integration-update",
            Self::IntegrationDelete => "integration-delete",
            Self::IntegrationSync => "integration-sync",
            Self::IntegrationAuthenticate => "integration-authenticate",
            Self::OAuthCallback => "oauth-callback",
            Self::DatasetCreate => "dataset-create",
            Self::DatasetList => "dataset-list",
            Self::DatasetFetch => "dataset-fetch",
            Self::DatasetUpdate => "dataset-update",
            Self::DatasetDelete => "dataset-delete",
            Self::RecordList => "record-list",
            Self::RecordFetch => "record-fetch",
            Self::RecordCreate => "record-create",
            Self::RecordUpdate => "record-update",
            Self::RecordDelete => "record-delete",
            Self::EventLogList => "event-log-list",
            Self::WebhookReceive => "webhook-receive",
            Self::WebhookFetch => "webhook-fetch",
        }
    }

    /// Whether the route takes no API key (API Gateway serves it without the authorizer).
    pub fn is_public(self) -> bool {
        matches!(self, Self::OAuthCallback | Self::WebhookReceive)
    }

    /// The path parameters when `path` matches this route's template. Anything before
    /// `/api/v1/` (a stage, a function URL prefix) is ignored.
    pub fn match_path(self, path: &str) -> Option<PathParams> {
        let path = path.find("/api/v1/").map_or(path, |at| &path[at..]);
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut params = Vec::new();
        let mut actual = path.split('/');
        for expected in self.template().split('/') {
            let segment = actual.next()?;
            match expected.strip_prefix('{').and_then(|e| e.strip_suffix('}')) {
                Some(name) if !segment.is_empty() => params.push((name, segment.to_string())),
                Some(_) => return None,
                None if expected == segment => {}
                None => return None,
            }
        }
        actual.next().is_none().then_some(params)
    }

    /// The route for `method` and `path`, with its path parameters.
    pub fn find(method: &Method, path: &str) -> Result<(Route, PathParams), RouteMiss> {
        let mut path_matched = false;
        for route in Self::ALL {
            if let Some(params) = route.match_path(path) {
                if route.method() == *method {
                    return Ok((route, params));
                }
                path_matched = true;
            }
        }
        Err(if path_matched {
            RouteMiss::MethodNotAllowed
        } else {
            RouteMiss::NotFound
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_matches_its_own_template_and_only_it() {
        for route in Route::ALL {
            let path = route.template().replace("{id}", "x_1").replace("{recordId}", "r_2");
            let (found, params) = Route::find(&route.method(), &path).unwrap();
            assert_eq!(found, route, "{path}");
            assert_eq!(params.len(), route.template().matches('{').count());
        }
    }

    #[test]
    fn extracts_parameters_and_ignores_prefixes() {
        let params = Route::RecordFetch
            .match_path("/prod/api/v1/dataset/d1/record/r1/fetch/")
            .unwrap();
        assert_eq!(params, vec![("id", "d1".to_string()), ("recordId", "r1".to_string())]);
        assert!(Route::IntegrationFetch
            .match_path("/api/v1/integration/notion//fetch")
            .is_none());
        assert!(Route::IntegrationFetch
            .match_path("/api/v1/integration/notion/a/b/fetch")
            .is_none());
    }

    #[test]
    fn distinguishes_unknown_paths_from_wrong_methods() {
        assert_eq!(
            Route::find(&Method::GET, "/api/v1/nothing").unwrap_err(),
            RouteMiss::NotFound
        );
        assert_eq!(
            Route::find(&Method::GET, "/api/v1/integration/notion/create").unwrap_err(),
            RouteMiss::MethodNotAllowed
        );
        assert_eq!(
            Route::find(&Method::POST, "/api/v1/integration/notion/list").unwrap_err(),
            RouteMiss::MethodNotAllowed
        );
    }
}
