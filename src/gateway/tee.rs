//! A copy of an answer's body taken while it streams to the client, for comparing it once the
//! client has it all: the client never waits for the copy, and the copy stops growing at a
//! limit, so a huge answer costs no more memory than its stream.

use axum::body::{Body, Bytes};
use futures_util::StreamExt;

/// Receives the whole body once its last byte has gone out, or `None` when it was larger than
/// the limit. It is not called when the body breaks off or the client hangs up first.
pub type Done = Box<dyn FnOnce(Option<Bytes>) + Send>;

pub struct Tee {
    limit: usize,
    /// `None` once the body grew past `limit`.
    copy: Option<Vec<u8>>,
    done: Option<Done>,
}

impl Tee {
    pub fn new(limit: usize, done: impl FnOnce(Option<Bytes>) + Send + 'static) -> Tee {
        Tee {
            limit,
            copy: Some(Vec::new()),
            done: Some(Box::new(done)),
        }
    }

    /// Copies one chunk that went to the client.
    pub fn push(&mut self, chunk: &[u8]) {
        if let Some(copy) = &mut self.copy {
            if copy.len().saturating_add(chunk.len()) > self.limit {
                self.copy = None;
            } else {
                copy.extend_from_slice(chunk);
            }
        }
    }

    /// The body is complete: hands the copy over.
    pub fn finish(mut self) {
        if let Some(done) = self.done.take() {
            done(self.copy.take().map(Bytes::from));
        }
    }
}

/// `body`, unchanged for the client, with `tee` fed as it streams. A body already held whole
/// in memory (an exact size within the limit, as JSON answers are) is read at once, which
/// keeps its `Content-Length`.
pub async fn tee_body(body: Body, mut tee: Tee) -> Body {
    use axum::body::HttpBody as _;
    if body
        .size_hint()
        .exact()
        .is_some_and(|n| n <= tee.limit as u64)
    {
        use http_body_util::BodyExt;
        return match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                tee.push(&bytes);
                tee.finish();
                Body::from(bytes)
            }
            Err(error) => {
                Body::from_stream(futures_util::stream::once(async { Err::<Bytes, _>(error) }))
            }
        };
    }
    let chunks =
        futures_util::stream::unfold(Some((body.into_data_stream(), tee)), |state| async {
            let (mut data, mut tee) = state?;
            match data.next().await {
                Some(Ok(chunk)) => {
                    tee.push(&chunk);
                    Some((Ok(chunk), Some((data, tee))))
                }
                Some(Err(error)) => Some((Err(error), None)),
                None => {
                    tee.finish();
                    None
                }
            }
        });
    Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use http_body_util::BodyExt;

    type Seen = Arc<Mutex<Vec<Option<Bytes>>>>;

    fn recording(limit: usize) -> (Tee, Seen) {
        let seen: Seen = Arc::default();
        let sink = Arc::clone(&seen);
        let tee = Tee::new(limit, move |copy| sink.lock().unwrap().push(copy));
        (tee, seen)
    }

    fn streamed(chunks: &[&'static str]) -> Body {
        let items: Vec<Result<Bytes, std::io::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::from_static(c.as_bytes())))
            .collect();
        Body::from_stream(futures_util::stream::iter(items))
    }

    #[tokio::test]
    async fn the_client_and_the_copy_get_the_same_bytes() {
        let (tee, seen) = recording(100);
        let body = tee_body(streamed(&["{\"a\":", "1}"]), tee).await;
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(out, "{\"a\":1}");
        assert_eq!(*seen.lock().unwrap(), vec![Some(Bytes::from("{\"a\":1}"))]);

        let (tee, seen) = recording(100);
        let body = tee_body(Body::from("whole"), tee).await;
        assert_eq!(axum::body::HttpBody::size_hint(&body).exact(), Some(5));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "whole");
        assert_eq!(*seen.lock().unwrap(), vec![Some(Bytes::from("whole"))]);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_reaches_the_client_whole_and_the_copy_is_none() {
        let (tee, seen) = recording(4);
        let body = tee_body(streamed(&["abc", "def"]), tee).await;
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcdef");
        assert_eq!(*seen.lock().unwrap(), vec![None]);

        let (tee, seen) = recording(4);
        let body = tee_body(Body::from("abcdef"), tee).await;
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcdef");
        assert_eq!(*seen.lock().unwrap(), vec![None]);
    }

    #[tokio::test]
    async fn a_broken_or_abandoned_body_hands_nothing_over() {
        let (tee, seen) = recording(100);
        let items: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"half")),
            Err(std::io::Error::other("cut")),
        ];
        let body = tee_body(Body::from_stream(futures_util::stream::iter(items)), tee).await;
        assert!(body.collect().await.is_err());
        let (tee, abandoned) = recording(100);
        drop(tee_body(streamed(&["never", "read"]), tee).await);
        assert!(seen.lock().unwrap().is_empty());
        assert!(abandoned.lock().unwrap().is_empty());
    }
}
