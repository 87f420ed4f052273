//! The HTTP service: application state, routes, metrics, and the server itself.

pub mod api;
mod auth;
mod error;
pub mod extract;
mod metrics;

use std::net::TcpListener;
use std::sync::{Arc, RwLock};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, AppResult};
use crate::rules::RuleSet;
pub use metrics::Metrics;

/// What every handler can reach: the pool, the rules in force, configuration, metrics.
pub struct AppState {
    pub pool: Pool,
    rules: RwLock<Arc<RuleSet>>,
    pub config: Config,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(pool: Pool, rules: RuleSet, config: Config) -> Self {
        AppState {
            pool,
            rules: RwLock::new(Arc::new(rules)),
            config,
            metrics: Metrics::default(),
        }
    }

    /// The rules in force now (a cheap handle; a reload swaps it atomically).
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }
}

/// Registers every route. Used by the server and by the integration tests alike.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state).service(
            web::scope("")
                .wrap(from_fn(metrics::record))
                .configure(api::routes)
                .default_service(web::to(api::not_found)),
        );
    }
}

/// A server bound to a listener (port 0 in tests), not yet running.
pub fn server(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<Server> {
    let server = HttpServer::new(move || App::new().configure(configure(state.clone())))
        .listen(listener)?
        .run();
    Ok(server)
}
