//! (being written)

pub async fn metrics() -> &'static str {
    ""
}
