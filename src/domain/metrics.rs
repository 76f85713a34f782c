//! Pre-computed per-security metrics, as the scoring service stores them.

use std::collections::HashMap;

/// `symbol -> metric name -> value`; only metrics that exist (and have not expired) are present.
pub type MetricsBySymbol = HashMap<String, HashMap<String, f64>>;
