//! The Arduino Uno Q's own hardware: the LED matrix and RGB LEDs on its microcontroller,
//! reached through the board's `arduino-router` (MsgPack-RPC over a Unix socket). Optional:
//! on any other machine the socket is missing and nothing else changes.

mod matrix;
mod msgpack;
mod router;

use std::sync::Arc;

use crate::domain::BreakerState;
use crate::gateway::AppState;
use crate::store::TradingMode;

/// Starts the matrix task when `board.matrix_socket` is set.
pub fn spawn_matrix(state: &Arc<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    let socket = state.config.board.matrix_socket.trim();
    if socket.is_empty() {
        return None;
    }
    let source: Arc<dyn matrix::StateSource> = Arc::new(ServiceState(Arc::clone(state)));
    Some(tokio::spawn(matrix::run(
        socket.into(),
        Arc::clone(&state.events),
        source,
        matrix::Timing::default(),
    )))
}

/// The serving process as the matrix sees it.
struct ServiceState(Arc<AppState>);

impl matrix::StateSource for ServiceState {
    fn upstream_down(&self) -> bool {
        self.0
            .upstreams
            .statuses()
            .iter()
            .any(|s| s.breaker != BreakerState::Closed || s.consecutive_failures > 0)
    }

    fn live(&self) -> bool {
        matches!(self.0.store.trading_mode(), Ok(TradingMode::Live))
    }

    fn plan_steps(&self, id: i64) -> Option<usize> {
        self.0
            .store
            .plan(id)
            .ok()
            .flatten()
            .map(|p| p.plan.steps.len())
    }
}
