//! The service: one function per use case. Each loads what it needs through `db`, decides
//! with pure `domain` logic (who may do it, whether the case's state allows it, the new
//! state), and stores the outcome through `db` in one transaction. Handlers, pages, the
//! importer, the demo and the command line call these; `db` decides nothing.

pub mod audit;
pub mod cases;
pub mod duplicates;
pub mod idempotency;
pub mod policy;
pub mod reviews;
pub mod users;
