//! `GET /api/events`: the event hub as Server-Sent Events (planning progress, finished runs,
//! upstream state), with heartbeats so idle connections survive proxies, and a bound on
//! subscribers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderName;
use axum::http::header::CACHE_CONTROL;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::Authenticated;
use super::error::ApiError;
use crate::events::{Event, Subscription};

/// Time between heartbeats on an idle stream; well under the minute after which common
/// reverse proxies drop a silent connection.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The SSE comment of a heartbeat (`: heartbeat`).
pub const HEARTBEAT_TEXT: &str = "heartbeat";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/events", get(events))
}

/// Token holders get every slot; clients without it (only let in with open reads) share at
/// most `server.max_anonymous_event_streams`, so they can never lock the dashboard out.
async fn events(
    State(state): State<Arc<AppState>>,
    authenticated: Option<Extension<Authenticated>>,
) -> Response {
    let subscription = if authenticated.is_some() {
        state.events.subscribe()
    } else {
        state.events.subscribe_anonymous()
    };
    let Some(subscription) = subscription else {
        return ApiError::Unavailable(format!(
            "too many event subscribers ({} listening, {} without the token); try again later",
            state.events.subscriber_count(),
            state.events.anonymous_count(),
        ))
        .into_response();
    };
    let sse = Sse::new(stream(subscription))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text(HEARTBEAT_TEXT));
    (
        [
            (CACHE_CONTROL, "no-cache"),
            // nginx buffers answers by default, which would hold events back.
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        sse,
    )
        .into_response()
}

/// The subscription's events in order; a subscriber that fell behind gets one `lagged` event
/// with the number it missed, then the events still buffered. The stream, and with it the
/// subscriber's slot, ends when the client goes away or the server stops.
fn stream(subscription: Subscription) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold(subscription, |mut subscription| async move {
        let received = tokio::select! {
            received = subscription.receiver.recv() => received,
            _ = subscription.closing.wait_for(|closing| *closing) => return None,
        };
        let event = match received {
            Ok(event) => to_sse(&event),
            Err(RecvError::Lagged(missed)) => SseEvent::default()
                .event("lagged")
                .data(serde_json::json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), subscription))
    })
}

fn to_sse(event: &Event) -> SseEvent {
    let data = serde_json::to_string(event).unwrap_or_else(|e| {
        // Every field is plain data; should one not encode, the subscriber still learns of it.
        serde_json::json!({ "type": event.name(), "error": e.to_string() }).to_string()
    });
    SseEvent::default().event(event.name()).data(data)
}
