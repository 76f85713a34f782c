//! The migration kit: requests recorded by `serve --record`, replayed by `shadow` against two
//! base URLs, and the answers compared.

pub(crate) mod compare;
pub(crate) mod replay;
pub(crate) mod request;

pub use request::{RecordedRequest, request_files};
