//! The HTTP service: application state, routes, metrics, and the server itself.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
mod metrics;
mod pages;
pub mod request_id;

use std::net::TcpListener;
use std::sync::{Arc, RwLock};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::db::{DbConnection, Pool};
use crate::domain::access::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::rules::RuleSet;
use crate::vocab::UserId;
pub use metrics::Metrics;
pub use pages::PagesError;

/// What every handler can reach: the pool, the rules in force, configuration, metrics.
pub struct AppState {
    pub pool: Pool,
    rules: RwLock<Arc<RuleSet>>,
    pub config: Config,
    pub metrics: Metrics,
    pages: pages::Pages,
    login_throttle: pages::Throttle,
    /// Serialized portfolio responses by (scope, filters). A few entries at most: the radar at
    /// 100k cases is tens of megabytes.
    portfolio_cache: HeadCache<web::Bytes>,
    /// The similarity index of the last scope asked for.
    similar_index: HeadCache<Arc<crate::domain::similar::Index>>,
    /// This instance's chainer of audit events (PostgreSQL).
    chainer: Option<Arc<crate::db::audit::Chainer>>,
}

/// Values computed from the cases a scope may see, each kept with the count of committed audit
/// events it reflects (`db::audit::committed_events`). Every change to a case appends an event
/// and so moves that count: an entry is served only while nothing has changed since it was
/// computed. The least recently used entry goes first when the cache is full.
struct HeadCache<V>(moka::sync::Cache<String, (i64, V)>);

impl<V: Clone + Send + Sync + 'static> HeadCache<V> {
    fn new(entries: u64) -> Self {
        HeadCache(
            moka::sync::Cache::builder()
                .max_capacity(entries)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
        )
    }

    fn get(&self, key: &str, seq: i64) -> Option<V> {
        self.0.get(key).and_then(|(s, v)| (s == seq).then_some(v))
    }

    fn put(&self, key: String, seq: i64, value: V) {
        self.0.insert(key, (seq, value));
    }
}

/// The cache key part for a scope: who may see what.
fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::All => "*".into(),
        Scope::Agencies(ids) => ids.join(","),
    }
}

impl AppState {
    /// With the instance's audit `chainer` on PostgreSQL. Fails only if a compiled-in template
    /// or language file is broken.
    pub fn new(
        pool: Pool,
        rules: RuleSet,
        config: Config,
        chainer: Option<Arc<crate::db::audit::Chainer>>,
    ) -> Result<Self, pages::PagesError> {
        Ok(AppState {
            pool,
            rules: RwLock::new(Arc::new(rules)),
            config,
            metrics: Metrics::default(),
            pages: pages::Pages::new()?,
            login_throttle: pages::Throttle::default(),
            portfolio_cache: HeadCache::new(8),
            similar_index: HeadCache::new(1),
            chainer,
        })
    }

    /// The rules in force now (a cheap handle; a reload swaps it atomically).
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Loads the rule pack from `RULES_DIR` again. A pack that fails its check is refused and
    /// the running rules stay; a new version is written to the audit trail, then put in force.
    /// Returns the previous and the new `rules_version`.
    pub async fn reload_rules(&self, actor: Option<UserId>) -> AppResult<(String, String)> {
        let dir = self.config.rules_dir.clone();
        let candidate = web::block(move || crate::rules::load_dir(&dir))
            .await
            .map_err(|e| AppError::internal("blocking task", e))?
            .map_err(AppError::rules_refused)?;
        let old = self.rules().version.clone();
        let new = candidate.version.clone();
        if old != new {
            let (o, n) = (old.clone(), new.clone());
            self.db(move |conn| {
                crate::db::write(conn, |conn| {
                    crate::db::audit::append(
                    conn,
                    &[crate::db::audit::Event {
                        use_case_id: None,
                        actor_id: actor.as_ref(),
                        action: "rules_reloaded",
                        from_status: None,
                        to_status: None,
                        details: serde_json::json!({ "previous_rules_version": o, "rules_version": n }),
                    }],
                    )
                })
            })
            .await?;
            *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(candidate);
            tracing::info!(previous = %old, current = %new, "rules reloaded");
        }
        Ok((old, new))
    }

    /// A portfolio response from the cache, or computed (as JSON) and cached, keyed by `key`
    /// and valid until the next change to any case.
    pub async fn portfolio_json<T, F>(&self, key: String, compute: F) -> AppResult<web::Bytes>
    where
        T: serde::Serialize + Send + 'static,
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let seq = self.db(crate::db::audit::committed_events).await?;
        if let Some(hit) = self.portfolio_cache.get(&key, seq) {
            return Ok(hit);
        }
        let value = self.db(compute).await?;
        let body = web::Bytes::from(serde_json::to_vec(&value).map_err(AppError::from)?);
        self.portfolio_cache.put(key, seq, body.clone());
        Ok(body)
    }

    /// The similarity index of every case in `scope`, rebuilt only after a change.
    pub async fn similar_index(
        &self,
        scope: Scope,
    ) -> AppResult<Arc<crate::domain::similar::Index>> {
        let key = scope_key(&scope);
        let seq = self.db(crate::db::audit::committed_events).await?;
        if let Some(hit) = self.similar_index.get(&key, seq) {
            return Ok(hit);
        }
        let docs = self
            .db(move |c| crate::db::portfolio::documents(c, &scope))
            .await?;
        let idx = Arc::new(
            web::block(move || crate::domain::similar::Index::build(docs))
                .await
                .map_err(|e| AppError::internal("similarity index", e))?,
        );
        self.similar_index.put(key, seq, idx.clone());
        Ok(idx)
    }

    /// Runs blocking database work on the blocking thread pool, sealing any audit event it
    /// appends with the configured key.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let key = self.config.audit_key.clone();
        let chainer = self.chainer.clone();
        web::block(move || {
            crate::db::with_conn(&pool, |conn| {
                crate::db::audit::with_chainer(chainer.as_ref(), || {
                    crate::db::audit::with_key(key.as_ref(), || f(conn))
                })
            })
        })
        .await
        .map_err(|e| AppError::internal("blocking task", e))?
    }

    /// As [`AppState::db`], for the holder of `who`'s token, checked first on the same
    /// connection in the same blocking task (see [`auth`]).
    pub async fn db_as<T, F>(&self, who: auth::Bearer, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, Principal) -> AppResult<T> + Send + 'static,
    {
        self.db(move |conn| {
            let principal = who.check(conn)?;
            f(conn, principal)
        })
        .await
    }
}

/// Registers every route. Used by the server and by the integration tests alike.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state).service(
            web::scope("")
                .wrap(from_fn(metrics::record))
                .wrap(from_fn(request_id::tag))
                .wrap(from_fn(pages::remember_language))
                .wrap(from_fn(pages::with_menu))
                .wrap(from_fn(pages::head_as_get))
                .configure(api::routes)
                .configure(pages::routes)
                .default_service(web::to(pages::not_found)),
        );
    }
}

/// The server's workers (`workers`, else one per core) and each worker's most blocking
/// threads: its share of the pool's connections, and at least [`MIN_BLOCKING`]. Nearly all
/// blocking work is database work, and a thread more than there are connections would only
/// wait for one; a request waiting for a thread waits in its worker's queue instead, where it
/// costs neither a thread nor its memory, and the connections are kept busy by fewer threads,
/// switched between less often. (actix's default allows hundreds per worker, and at 32 clients
/// there were as many threads as requests.) The floor keeps a worker whose clients started a
/// few long tasks (an export, a summary at 100,000 cases) serving its other requests.
fn threads(connections: u32, workers: Option<usize>) -> (usize, usize) {
    let workers = workers.unwrap_or_else(crate::config::cores);
    (
        workers,
        (connections as usize).div_ceil(workers).max(MIN_BLOCKING),
    )
}

/// The fewest blocking threads a worker may run.
const MIN_BLOCKING: usize = 4;

/// A server bound to a listener (port 0 in tests), not yet running. On Unix, SIGHUP reloads
/// the rules as the admin endpoint does.
pub fn server(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<Server> {
    #[cfg(unix)]
    {
        let state = state.clone();
        actix_web::rt::spawn(async move {
            use actix_web::rt::signal::unix::{signal, SignalKind};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP; reload the rules through the API");
                return;
            };
            while hangups.recv().await.is_some() {
                match state.reload_rules(None).await {
                    Ok((old, new)) if old == new => {
                        tracing::info!(version = %new, "SIGHUP: rules unchanged")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = ?e, "SIGHUP: the rules on disk were refused; the running rules stay")
                    }
                }
            }
        });
    }
    let (workers, blocking) = threads(state.pool.max_size(), state.config.workers);
    let app_state = state.clone();
    let server = HttpServer::new(move || App::new().configure(configure(app_state.clone())))
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .listen(listener)?
        .run();
    Ok(server)
}
