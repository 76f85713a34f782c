//! A MsgPack-RPC client of the Uno Q's `arduino-router` over its Unix socket: requests
//! `[0, id, method, params]`, answers `[1, id, error, result]`. One call at a time, each
//! bounded by a timeout; a broken connection is dropped and made again on the next call.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::msgpack;

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// No socket at the path (or nobody listening): not an Uno Q, or the router is down.
    #[error("no router at {0}")]
    Missing(PathBuf),
    #[error("router connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The router or the sketch answered with an error ("method tp_show not available").
    #[error("router answered: {0}")]
    Remote(String),
    #[error("router sent {0}")]
    Protocol(String),
}

#[derive(Debug)]
pub struct RouterClient {
    path: PathBuf,
    timeout: Duration,
    stream: Option<UnixStream>,
    next_id: u32,
    /// Bytes read past the last whole message.
    pending: Vec<u8>,
}

impl RouterClient {
    pub fn new(path: impl Into<PathBuf>, timeout: Duration) -> RouterClient {
        RouterClient {
            path: path.into(),
            timeout,
            stream: None,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    /// Calls `method` with `params`; `Ok` once the router reports success.
    pub async fn call(&mut self, method: &str, params: &[i64]) -> Result<(), RpcError> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.exchange(method, params)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(RpcError::Remote(message))) => Err(RpcError::Remote(message)),
            Ok(Err(error)) => {
                self.disconnect();
                Err(error)
            }
            Err(_) => {
                // The answer may still come; a fresh connection does not mistake it for the
                // next call's.
                self.disconnect();
                Err(RpcError::Timeout(timeout))
            }
        }
    }

    fn disconnect(&mut self) {
        self.stream = None;
        self.pending.clear();
    }

    async fn exchange(&mut self, method: &str, params: &[i64]) -> Result<(), RpcError> {
        if self.stream.is_none() {
            let stream = UnixStream::connect(&self.path).await.map_err(|e| {
                use std::io::ErrorKind::{ConnectionRefused, NotFound};
                if matches!(e.kind(), NotFound | ConnectionRefused) {
                    RpcError::Missing(self.path.clone())
                } else {
                    RpcError::Io(e)
                }
            })?;
            self.stream = Some(stream);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let Some(stream) = self.stream.as_mut() else {
            return Err(RpcError::Protocol("no connection".into()));
        };
        stream
            .write_all(&msgpack::request(id, method, params))
            .await?;
        loop {
            match msgpack::message_len(&self.pending) {
                Ok(Some(len)) => {
                    let message: Vec<u8> = self.pending.drain(..len).collect();
                    match msgpack::response(&message) {
                        Ok(Some(answer)) if answer.id == id => {
                            return answer.outcome.map_err(RpcError::Remote);
                        }
                        // An answer to an earlier, timed-out call, or a message of the
                        // router that is not an answer: not ours.
                        Ok(_) => {}
                        Err(error) => return Err(RpcError::Protocol(error.to_string())),
                    }
                }
                Ok(None) if self.pending.len() > MAX_MESSAGE => {
                    return Err(RpcError::Protocol("a message over 64 KiB".into()));
                }
                Ok(None) => {
                    let mut chunk = [0u8; 512];
                    let n = stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err(RpcError::Protocol("end of stream".into()));
                    }
                    self.pending.extend_from_slice(&chunk[..n]);
                }
                Err(error) => return Err(RpcError::Protocol(error.to_string())),
            }
        }
    }
}

/// The answers of the sketch are a few bytes; anything this large is not one.
const MAX_MESSAGE: usize = 64 * 1024;
