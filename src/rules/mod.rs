//! Rule packs: load the declarative files in `rules/` into typed, compiled structures.
//! Nothing here does I/O after load; the compiled [`RuleSet`] is shared read-only.

pub mod cases;
pub mod condition;
pub mod declared;
pub mod diag;
pub mod i18n;
pub mod lexicon;
mod load;
pub mod model;

pub use diag::Diagnostic;
pub use load::{load_dir, CORE_QUESTIONS};
pub use model::RuleSet;
