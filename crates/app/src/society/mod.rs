//! The society desk.

use std::sync::Arc;

use axum::Router;

use crate::app::App;

/// The desk's routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
}
