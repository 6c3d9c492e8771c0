//! HTTP functions: an axum router behind API Gateway's HTTP API (payload format 2.0),
//! through `lambda_http`, which turns each event into an `http::Request` (path, query,
//! headers, cookies, body) and the router's response back into the answer API Gateway
//! expects.

use super::Error;
use crate::http::client_ip::drop_peer_entry;
use crate::http::finish;
use axum::Router;
use axum::extract::ConnectInfo;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::net::{IpAddr, SocketAddr};
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;

/// Serves `routes` (the same router the local server mounts) until Lambda stops the
/// process.
pub async fn run<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    state: S,
) -> Result<(), Error> {
    lambda_http::run(service(routes, state)).await
}

/// The service [`run`] serves: the finished router, behind [`with_client_address`].
pub fn service<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    state: S,
) -> impl tower::Service<
    Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone {
    ServiceBuilder::new()
        .layer(MapRequestLayer::new(with_client_address))
        .service(finish(routes, state))
}

/// Puts the client's address where the handlers read it on the local server: the
/// connection's peer ([`ConnectInfo`]). Behind API Gateway the peer is API Gateway, and
/// the client's address is the request context's `http.sourceIp` (API Gateway sets it
/// from the connection; a client cannot choose it as it can `X-Forwarded-For`). API
/// Gateway also appends that address to `X-Forwarded-For`; the entry is taken off, so
/// that `SWITCHBOARD_TRUSTED_PROXY_HOPS` counts the proxies in front of API Gateway (a
/// CDN), as it counts those in front of the local server.
pub fn with_client_address(mut request: Request) -> Request {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse::<IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = source_ip {
        drop_peer_entry(request.headers_mut(), ip);
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    request
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use super::*;
    use crate::backend::{Backend, base_channels, reply_channels};
    use crate::config::{HttpConfig, PageConfig, PublicLimits};
    use crate::embedded::Embedded;
    use crate::http::WebState;
    use axum::http::StatusCode;
    use std::sync::Arc;
    use tower::ServiceExt;

    fn state(dir: &std::path::Path, rate_per_minute: u32) -> WebState {
        state_behind(dir, rate_per_minute, 0)
    }

    /// With `hops` proxies of ours in front of API Gateway.
    fn state_behind(dir: &std::path::Path, rate_per_minute: u32, hops: u8) -> WebState {
        let store = Embedded::open(&dir.join("t.db")).unwrap();
        let backend = Backend::new(Arc::new(store.clone()), Arc::new(store.clone()))
            .with_send_once(Arc::new(store));
        let http = HttpConfig {
            public_url: None,
            default_region: Default::default(),
            webform_max_bytes: 65_536,
            limits: PublicLimits {
                per_address_per_minute: rate_per_minute,
                per_link_per_minute: 0,
                trusted_proxy_hops: hops,
            },
            page: PageConfig::new(None, "red".into(), None, "en".into()).unwrap(),
            telegram: None,
            email: None,
            twilio: None,
            pbx: None,
        };
        backend.web_state(http, b"secret", &reply_channels(&base_channels()))
    }

    /// A web-form post as API Gateway's HTTP API hands it to Lambda.
    fn webform_event(source_ip: &str, key: &str) -> Request {
        webform_event_forwarded(source_ip, "198.51.100.99", key)
    }

    /// … with this `X-Forwarded-For` (API Gateway appends `source_ip` to it).
    fn webform_event_forwarded(source_ip: &str, forwarded_for: &str, key: &str) -> Request {
        let body =
            format!("name=Sara&email=sara%40example.com&message=hello&idempotency_key={key}");
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/webhooks/webform",
            "rawQueryString": "",
            "headers": {
                "accept": "application/json",
                "content-type": "application/x-www-form-urlencoded",
                "host": "abc123.execute-api.us-east-1.amazonaws.com",
                "x-forwarded-for": forwarded_for,
                "x-forwarded-proto": "https"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": "POST",
                    "path": "/webhooks/webform",
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": "curl/8.5.0"
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": "$default",
                "stage": "$default",
                "time": "10/Mar/2025:12:00:00 +0000",
                "timeEpoch": 1741608000000_u64
            },
            "body": body,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    async fn post(state: &WebState, request: Request) -> (StatusCode, serde_json::Value) {
        let response = service(crate::http::webform_router(), state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn the_rate_limit_counts_api_gateways_source_ip_not_forwarded_headers() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), 2);
        for key in ["a", "b"] {
            let (status, _) = post(&state, webform_event("203.0.113.7", key)).await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        let (status, _) = post(&state, webform_event("203.0.113.7", "c")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // Same X-Forwarded-For, another source: not limited.
        let (status, _) = post(&state, webform_event("203.0.113.8", "d")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn behind_a_cdn_the_rate_limit_counts_the_address_the_cdn_saw_not_the_leftmost() {
        let dir = tempfile::tempdir().unwrap();
        // One proxy of ours (a CDN) in front of API Gateway; the CDN's edge is the
        // source API Gateway sees.
        let state = state_behind(dir.path(), 2, 1);
        let cdn = "198.51.100.20";
        let mut statuses = Vec::new();
        for n in 0..4 {
            // The client writes any leftmost entry it likes; the CDN appends the
            // client's address, API Gateway the CDN's.
            let forwarded = format!("10.9.9.{n}, 203.0.113.7, {cdn}");
            let (status, _) = post(
                &state,
                webform_event_forwarded(cdn, &forwarded, &format!("k{n}")),
            )
            .await;
            statuses.push(status);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::ACCEPTED,
                StatusCode::ACCEPTED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        // Another client behind the same CDN edge has a share of its own.
        let (status, _) = post(
            &state,
            webform_event_forwarded(cdn, &format!("203.0.113.8, {cdn}"), "other"),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn without_a_public_url_links_point_at_the_host_the_request_came_to() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), 0);
        let (status, body) = post(&state, webform_event("203.0.113.7", "x")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let url = body["conversation_url"].as_str().unwrap();
        assert!(
            url.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/c/"),
            "{url}"
        );
    }
}
