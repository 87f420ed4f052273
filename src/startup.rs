//! One start-up path: configuration → database pool (migrated) → rule pack → application
//! state → server. `serve`, `serve --demo`, `bench` and the integration tests all build the
//! service here, so what is tested is what runs.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::dev::Server;
use actix_web::web::Data;

use crate::config::Config;
use crate::db::{self, Pool};
use crate::http::{self, AppState};
use crate::rules::{load_dir, Diagnostic};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database")]
    Database(#[from] crate::db::DbError),
    #[error("{}", rules_message(.dir, .diagnostics))]
    Rules {
        dir: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("{0}")]
    AuditKey(#[from] crate::db::audit::KeyMismatch),
    #[error("checking the audit key: {0}")]
    AuditCheck(#[from] crate::error::AppError),
    #[error("page templates")]
    Templates(#[from] crate::http::PagesError),
    #[error("cannot start the audit chainer")]
    Chainer(#[source] std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

fn rules_message(dir: &std::path::Path, diagnostics: &[Diagnostic]) -> String {
    let mut msg = format!(
        "the rules in {} have {} problem(s):",
        dir.display(),
        diagnostics.len()
    );
    for d in diagnostics {
        msg += &format!("\n{d}");
    }
    msg
}

/// The service, built and ready to serve.
pub struct Application {
    pub state: Data<AppState>,
}

impl Application {
    /// Connects to (and migrates) the configured database, loads the rule pack and builds the
    /// application state.
    pub fn build(config: Config) -> Result<Application, StartError> {
        let pool = db::connect_configured(&config)?;
        Self::build_with_pool(config, pool)
    }

    /// As [`Application::build`], on a pool the caller already holds.
    pub fn build_with_pool(config: Config, pool: Pool) -> Result<Application, StartError> {
        let chainer = {
            let mut conn = pool.get().map_err(crate::error::AppError::from)?;
            db::audit::check_key(&mut conn, config.audit_key.as_ref())??;
            match &*conn {
                db::DbConnection::Pg(_) => {
                    // Events a writer queued but did not chain before the last stop.
                    db::audit::with_key(config.audit_key.as_ref(), || {
                        db::audit::sequence(&mut conn)
                    })?;
                    let key = config.audit_key.clone();
                    let chainer = db::audit::Chainer::start(pool.clone(), key)
                        .map_err(StartError::Chainer)?;
                    Some(std::sync::Arc::new(chainer))
                }
                db::DbConnection::Sqlite(_) => None,
            }
        };
        let rules = load_dir(&config.rules_dir).map_err(|diagnostics| StartError::Rules {
            dir: config.rules_dir.clone(),
            diagnostics,
        })?;
        let state = AppState::new(pool, rules, config, chainer)?;
        Ok(Application {
            state: Data::new(state),
        })
    }

    pub fn pool(&self) -> &Pool {
        &self.state.pool
    }

    /// The server on `listener` (port 0 in tests and the bench), not yet running.
    pub fn server(&self, listener: TcpListener) -> Result<Server, StartError> {
        let addr = listener
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string());
        http::server(self.state.clone(), listener)
            .map_err(|source| StartError::Listen { addr, source })
    }

    /// Binds the configured address.
    pub fn bind(&self) -> Result<TcpListener, StartError> {
        let addr = self.state.config.bind;
        TcpListener::bind(addr).map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })
    }
}
