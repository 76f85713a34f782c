//! Helpers shared by the store's unit tests.

use tempfile::TempDir;

use super::Store;
use crate::domain::Decimal;

/// A store on a fresh database file that lives as long as the returned directory.
pub fn temp_store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    (dir, store)
}

pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}
