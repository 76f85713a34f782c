//! Running in front of the old Python services while migrating (config `migration.<module>`):
//! who answers a module's compatibility routes, the fallback when the local module fails, and
//! shadow mode, which asks the other side too and compares the answers.
//!
//! A layer on every route; it only acts on GET and POST requests under a module's prefix
//! (`/evaluator`, `/opportunity`, `/generator`, `/coordinator`, `/planning`, `/gateway`) whose
//! module asks for something. Everything else (`/api`, the dashboard, `/metrics`, `/healthz`,
//! the proxied services) goes straight to its handler.
//!
//! - `primary: python`: the request goes to the module's Python service and its answer back
//!   to the client unchanged (status, content headers, body byte for byte). When the service
//!   cannot answer the client gets 502, 503 or 504, as from the proxy, never the local answer:
//!   the Python side is primary because its answers are the ones trusted.
//! - `primary: local`: the local handler answers; a 5xx from it (or the `fail_local` drill) is
//!   answered from the Python service when a `url` is set.
//! - `shadow: on`: once the client has the primary's whole answer, the other side gets the same
//!   request in a task of its own, bounded in number and time, and the answers are compared.
//!   Shadow work never delays or changes the client's answer.
//!
//! Routes that change state (`POST /planning/create`, `POST /gateway/trading-cycle`) are never
//! shadowed, which would do the work twice, and fall back only when the local handler did not
//! run at all (the drill): after it ran it may have done part of the work.

use std::sync::{Arc, LazyLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::AppState;
use super::error::ApiError;
use super::remote::{self, Failure, Outgoing, detail};
use super::tee::{Tee, tee_body};
use crate::config::{MigrationConfig, MigrationModule, Primary};
use crate::domain::BreakerState;
use crate::shadow::compare::{Answer, CompareOptions, Difference, compare_answers};
use crate::upstream::{Service, Upstreams};

/// The modules, which are also their route prefixes.
pub const MODULES: [&str; 6] = [
    "gateway",
    "coordinator",
    "opportunity",
    "generator",
    "evaluator",
    "planning",
];

/// Shadow requests in flight at most, over all modules; one more is skipped (and counted),
/// so a burst of traffic cannot pile up comparisons behind the answers.
pub const SHADOW_CONCURRENCY: usize = 4;

/// Differences logged for one mismatch; the rest are counted in the message.
const LOGGED_DIFFERENCES: usize = 3;

/// Routes whose handler changes state: never shadowed, and no fallback once the local handler
/// ran.
const CHANGES_STATE: [(&str, &str); 2] = [
    ("POST", "/planning/create"),
    ("POST", "/gateway/trading-cycle"),
];

static SHADOW_SLOTS: Semaphore = Semaphore::const_new(SHADOW_CONCURRENCY);

static COMPARE: LazyLock<CompareOptions> = LazyLock::new(CompareOptions::default);

// ---------------------------------------------------------------------------------------------
// Decisions

/// When the Python service answers for a failed local module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// No `url`: the local answer stands, whatever it is.
    Never,
    /// Any 5xx from the local module, and the drill.
    OnServerError,
    /// Only the drill: the route changes state, and a local handler that ran may have done
    /// part of the work.
    OnlyIfNotRun,
}

impl Fallback {
    /// Whether a local answer with `status` is replaced by the Python service's; `ran`: the
    /// local handler ran (it does not under the drill).
    pub fn applies(self, status: StatusCode, ran: bool) -> bool {
        status.is_server_error()
            && match self {
                Fallback::Never => false,
                Fallback::OnServerError => true,
                Fallback::OnlyIfNotRun => !ran,
            }
    }
}

/// What the layer does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The Python service answers; `shadow`: the local module is asked too, off the path.
    Python { shadow: bool },
    /// The local module answers, or 500 without running when `fail` (the drill); `shadow`: the
    /// Python service is asked too, off the path.
    Local {
        fail: bool,
        fallback: Fallback,
        shadow: bool,
    },
}

/// The module whose prefix `path` is under.
pub fn module_of(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix('/')?;
    let first = rest.split('/').next()?;
    MODULES.into_iter().find(|m| *m == first)
}

/// Whether the route changes state (see [`CHANGES_STATE`]).
pub fn changes_state(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    CHANGES_STATE
        .iter()
        .any(|(m, p)| method.as_str() == *m && path == *p)
}

/// What to do with `method path`; `None`: the request goes to its handler untouched.
pub fn decide(
    config: &MigrationConfig,
    method: &Method,
    path: &str,
) -> Option<(&'static str, Decision)> {
    if method != Method::GET && method != Method::POST {
        return None;
    }
    let module = module_of(path)?;
    let settings = config.module(module)?;
    let writes = changes_state(method, path);
    let shadow = settings.shadow && !writes;
    let decision = match settings.primary {
        Primary::Python => Decision::Python { shadow },
        Primary::Local => {
            let fallback = match (settings.base_url(), writes) {
                (None, _) => Fallback::Never,
                (Some(_), false) => Fallback::OnServerError,
                (Some(_), true) => Fallback::OnlyIfNotRun,
            };
            if !settings.fail_local && !shadow && fallback == Fallback::Never {
                return None;
            }
            Decision::Local {
                fail: settings.fail_local,
                fallback,
                shadow,
            }
        }
    };
    Some((module, decision))
}

// ---------------------------------------------------------------------------------------------
// The layer

/// One request the layer acts on, buffered so that either side, and both, can get it.
struct Call {
    state: Arc<AppState>,
    module: &'static str,
    settings: MigrationModule,
    parts: Parts,
    body: Bytes,
    request_id: String,
}

pub async fn layer(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some((module, decision)) = decide(
        &state.config.migration,
        request.method(),
        request.uri().path(),
    ) else {
        return next.run(request).await;
    };
    let Some(settings) = state.config.migration.module(module).cloned() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let limit = state.config.server.max_body_bytes;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge { limit }.into_response();
        }
        Err(e) => return ApiError::BadBody(e.to_string()).into_response(),
    };
    let request_id = parts
        .headers
        .get(&crate::http_common::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(crate::upstream::current_request_id)
        .unwrap_or_default();
    let call = Arc::new(Call {
        state,
        module,
        settings,
        parts,
        body,
        request_id,
    });
    match decision {
        Decision::Python { shadow } => python_primary(call, next, shadow).await,
        Decision::Local {
            fail,
            fallback,
            shadow,
        } => local_primary(call, next, fail, fallback, shadow).await,
    }
}

impl Call {
    fn path(&self) -> &str {
        self.parts.uri.path()
    }

    fn limit(&self) -> usize {
        self.state.config.server.max_body_bytes
    }

    fn remote(&self) -> Option<&Arc<Service>> {
        self.state.upstreams.service(self.module)
    }

    /// The request for the Python service; `None` when the path would leave the module's
    /// prefix once resolved.
    fn outgoing(&self) -> Option<Outgoing<'_>> {
        let uri = &self.parts.uri;
        let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let url = remote::target_url(self.settings.base_url()?, self.module, path_and_query)?;
        Some(Outgoing {
            method: self.parts.method.clone(),
            url,
            headers: &self.parts.headers,
            body: self.body.clone(),
        })
    }

    /// Sends the request to the Python service; `route` labels the upstream metrics.
    async fn send_to_python(&self, route: &'static str) -> Result<remote::Sent, Failure> {
        let (Some(remote), Some(outgoing)) = (self.remote(), self.outgoing()) else {
            return Err(Failure::Unreachable(format!(
                "no Python {} service can take {} (migration.{}.url)",
                self.module,
                self.path(),
                self.module
            )));
        };
        remote::send(remote, route, &self.state.events, outgoing).await
    }

    /// The local module's answer: the handler's, or the drill's 500.
    async fn run_local(&self, next: Next) -> Response {
        if self.settings.fail_local {
            return ApiError::Internal(format!(
                "{} failed on purpose: migration.{}.fail_local is on (a fallback drill)",
                self.module, self.module
            ))
            .into_response();
        }
        let request = Request::from_parts(self.parts.clone(), Body::from(self.body.clone()));
        next.run(request).await
    }
}

async fn python_primary(call: Arc<Call>, next: Next, shadow: bool) -> Response {
    if call.outgoing().is_none() {
        // Dot segments would take the request out of the module's prefix at the service.
        return ApiError::NotFound.into_response();
    }
    let sent = match call.send_to_python("primary").await {
        Ok(sent) => sent,
        Err(failure) => {
            tracing::warn!(
                module = call.module,
                path = call.path(),
                request_id = %call.request_id,
                error = %failure,
                "the Python service, primary, could not answer"
            );
            return failure.into_response();
        }
    };
    let tee = shadow.then(|| {
        let status = sent.status().as_u16();
        let content_type = sent.content_type();
        let call = Arc::clone(&call);
        Tee::new(call.limit(), move |body| {
            let primary = body.map(|body| Answer {
                status,
                content_type,
                body: body.to_vec(),
            });
            spawn_shadow(call, primary, Candidate::Local(next));
        })
    });
    sent.into_response(tee)
}

async fn local_primary(
    call: Arc<Call>,
    next: Next,
    fail: bool,
    fallback: Fallback,
    shadow: bool,
) -> Response {
    let response = call.run_local(next).await;
    let status = response.status();
    if fallback.applies(status, !fail) {
        drop(response);
        return answer_from_fallback(&call, status).await;
    }
    if !shadow {
        return response;
    }
    let (parts, body) = response.into_parts();
    let content_type = crate::http_common::content_type(&parts.headers);
    let tee = {
        let call = Arc::clone(&call);
        Tee::new(call.limit(), move |body| {
            let primary = body.map(|body| Answer {
                status: status.as_u16(),
                content_type,
                body: body.to_vec(),
            });
            spawn_shadow(call, primary, Candidate::Python);
        })
    };
    Response::from_parts(parts, tee_body(body, tee).await)
}

async fn answer_from_fallback(call: &Call, local_status: StatusCode) -> Response {
    match call.send_to_python("fallback").await {
        Ok(sent) => {
            let status = sent.status();
            count_fallback(
                call.module,
                if status.is_server_error() {
                    "http_error"
                } else {
                    "ok"
                },
            );
            tracing::warn!(
                module = call.module,
                path = call.path(),
                request_id = %call.request_id,
                local_status = local_status.as_u16(),
                python_status = status.as_u16(),
                "the local module failed; answered from the Python service"
            );
            sent.into_response(None)
        }
        Err(failure) => {
            count_fallback(call.module, failure.outcome());
            tracing::warn!(
                module = call.module,
                path = call.path(),
                request_id = %call.request_id,
                local_status = local_status.as_u16(),
                error = %failure,
                "the local module failed and so did its Python fallback"
            );
            detail(
                failure.status(),
                format!(
                    "{} failed here ({}) and its Python fallback could not answer: {failure}",
                    call.module,
                    local_status.as_u16()
                ),
            )
        }
    }
}

fn count_fallback(module: &'static str, outcome: &'static str) {
    metrics::counter!("fallback_requests_total", "module" => module, "outcome" => outcome)
        .increment(1);
}

// ---------------------------------------------------------------------------------------------
// Shadow

/// The side a shadow request goes to.
enum Candidate {
    /// The local module, through the rest of the middleware stack.
    Local(Next),
    Python,
}

fn count_shadow(module: &'static str, outcome: &'static str) {
    metrics::counter!("shadow_requests_total", "module" => module, "outcome" => outcome)
        .increment(1);
}

/// Starts the shadow request of `call`, to be compared with `primary` (the client's answer;
/// `None` when it was too large to keep), unless [`SHADOW_CONCURRENCY`] are in flight.
fn spawn_shadow(call: Arc<Call>, primary: Option<Answer>, candidate: Candidate) {
    let Some(primary) = primary else {
        tracing::debug!(
            module = call.module,
            "shadow skipped: the answer is over the body limit"
        );
        count_shadow(call.module, "skipped");
        return;
    };
    let Ok(permit) = SHADOW_SLOTS.try_acquire() else {
        tracing::debug!(module = call.module, "shadow skipped: every slot is busy");
        count_shadow(call.module, "skipped");
        return;
    };
    let span = tracing::info_span!("shadow", id = %call.request_id, module = call.module);
    let id = call.request_id.clone();
    let work = async move {
        let _permit = permit;
        let timeout = secs(call.settings.timeout_secs);
        let outcome = match tokio::time::timeout(timeout, candidate_answer(&call, candidate)).await
        {
            Ok(Ok(answer)) => judge_off_runtime(Arc::clone(&call), primary, answer).await,
            Ok(Err(reason)) => {
                tracing::warn!(
                    module = call.module,
                    path = call.path(),
                    request_id = %call.request_id,
                    %reason,
                    "shadow request failed"
                );
                "error"
            }
            Err(_) => {
                tracing::warn!(
                    module = call.module,
                    path = call.path(),
                    request_id = %call.request_id,
                    timeout_secs = timeout.as_secs_f64(),
                    "shadow request timed out"
                );
                "error"
            }
        };
        count_shadow(call.module, outcome);
    };
    tokio::spawn(crate::upstream::with_request_id(id, work).instrument(span));
}

fn secs(value: f64) -> std::time::Duration {
    crate::upstream::resilience::secs_to_duration(value).max(std::time::Duration::from_millis(1))
}

/// The shadow side's whole answer, or why there is none.
async fn candidate_answer(call: &Call, candidate: Candidate) -> Result<Answer, String> {
    match candidate {
        Candidate::Python => {
            let sent = call
                .send_to_python("shadow")
                .await
                .map_err(|f| f.to_string())?;
            let collected = sent
                .collect(call.limit())
                .await
                .map_err(|f| f.to_string())?;
            Ok(Answer {
                status: collected.status.as_u16(),
                content_type: collected.content_type,
                body: collected.body.to_vec(),
            })
        }
        Candidate::Local(next) => {
            let response = call.run_local(next).await;
            let status = response.status().as_u16();
            let content_type = crate::http_common::content_type(response.headers());
            let limit = call.limit();
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        format!("the local answer is larger than {limit} bytes")
                    } else {
                        format!("the local answer broke off: {e}")
                    }
                })?
                .to_bytes();
            Ok(Answer {
                status,
                content_type,
                body: body.to_vec(),
            })
        }
    }
}

/// [`judge`] on the blocking pool: the bodies run up to the body limit (16 MiB by default),
/// and walking two of them must not hold an async worker that other requests wait for.
async fn judge_off_runtime(call: Arc<Call>, primary: Answer, candidate: Answer) -> &'static str {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| judge(&call, &primary, &candidate)))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the shadow comparison stopped");
            "error"
        })
}

/// Compares the two answers, logs a mismatch, and returns the outcome label.
fn judge(call: &Call, primary: &Answer, candidate: &Answer) -> &'static str {
    let differences = compare_answers(primary, candidate, &COMPARE);
    if differences.is_empty() {
        return "match";
    }
    tracing::warn!(
        module = call.module,
        path = call.path(),
        request_id = %call.request_id,
        primary = call.settings.primary.as_str(),
        differences = differences.len(),
        first = %summarize(&differences),
        "shadow answer differs"
    );
    "mismatch"
}

/// The first few differences, one `path: primary vs candidate` each.
fn summarize(differences: &[Difference]) -> String {
    let mut text = differences
        .iter()
        .take(LOGGED_DIFFERENCES)
        .map(|d| format!("{}: {} vs {}", d.path, d.primary, d.candidate))
        .collect::<Vec<_>>()
        .join("; ");
    if differences.len() > LOGGED_DIFFERENCES {
        text.push_str(&format!(
            "; and {} more",
            differences.len() - LOGGED_DIFFERENCES
        ));
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Status

/// One module's migration mode, as `GET /api/upstreams` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleMode {
    pub module: &'static str,
    pub primary: &'static str,
    pub shadow: &'static str,
    /// The Python service; `None` when not configured.
    pub url: Option<String>,
    pub fail_local: bool,
    /// The breaker of calls to the Python service; `None` without a url.
    pub breaker: Option<BreakerState>,
    pub consecutive_failures: u32,
    /// While the breaker is open: seconds until it lets a probe through.
    pub retry_in_secs: Option<u64>,
}

/// Every module's mode, in [`MODULES`] order; never touches the network.
pub fn modes(config: &MigrationConfig, upstreams: &Upstreams) -> Vec<ModuleMode> {
    config
        .modules()
        .into_iter()
        .map(|(module, settings)| {
            let health = upstreams
                .service(module)
                .map(|service| service.breaker().health());
            ModuleMode {
                module,
                primary: settings.primary.as_str(),
                shadow: if settings.shadow { "on" } else { "off" },
                url: settings.base_url().map(str::to_owned),
                fail_local: settings.fail_local,
                breaker: health.map(|h| h.state),
                consecutive_failures: health.map_or(0, |h| h.consecutive_failures),
                retry_in_secs: health.and_then(|h| h.retry_in_secs),
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "migration_tests.rs"]
mod tests;
