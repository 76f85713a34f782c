//! The migration kit: requests recorded by `serve --record`, replayed by `shadow` against two
//! base URLs, and the answers compared.

pub mod compare;
pub mod replay;
pub mod request;
