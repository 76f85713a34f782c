//! Blocking work (SQLite, scoring) run off the async workers, its errors turned into answers.

use std::sync::Arc;

use super::error::ApiError;
use crate::store::{Store, StoreError};

/// Runs `work` on the blocking pool.
pub(super) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Send + 'static,
    ApiError: From<E>,
{
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// Runs store calls on the blocking pool.
pub(super) async fn on_store<T: Send + 'static>(
    store: &Arc<Store>,
    work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(store);
    blocking(move || work(&store)).await
}
