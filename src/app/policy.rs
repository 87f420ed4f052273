//! The guardrail policy a runtime gateway enforces for an approved revision of an agentic
//! use case: the revision's declarations and triage, as stored when it was submitted, turned
//! into per-agent, per-tool decisions by `domain::policy`.

use crate::db::cases::{self as store, StoredRevision};
use crate::db::{audit, DbConnection};
use crate::domain::access::Scope;
use crate::domain::case::{Status, Tier};
use crate::domain::digest::sha256_hex;
use crate::domain::policy::{self, Approval, Policy};
use crate::domain::triage::Triage;
use crate::error::{AppError, AppResult};
use crate::vocab::agents::Declarations;
use crate::vocab::CaseId;

/// A policy is served only for what the audit trail vouches for: the revision's "triaged"
/// event must record the digests of the triage and declarations stored with it. A revision
/// without one (restored from an export) has no policy until submitted again; a mismatch
/// means the stored revision was changed outside the service.
fn vouch(conn: &mut DbConnection, id: &CaseId, r: &StoredRevision) -> AppResult<()> {
    let events = audit::for_case(conn, id)?;
    let triaged = events.iter().rev().find_map(|e| {
        let d: serde_json::Value = serde_json::from_str(&e.details_json).ok()?;
        (e.action == "triaged" && d["revision"] == r.revision).then_some(d)
    });
    let Some(d) = triaged else {
        return Err(AppError::conflict(
            format!(
                "revision {} has no triage in the audit trail (restored from an export?): submit the case again to get a policy",
                r.revision
            ),
            None,
        ));
    };
    let expected = (
        Some(sha256_hex(&r.triage)),
        store::declarations_digest(&r.declarations),
    );
    let recorded = (
        d["triage_sha256"].as_str().map(String::from),
        d["declarations_sha256"].as_str().map(String::from),
    );
    if expected != recorded {
        return Err(AppError::broken(format!(
            "use case {id} revision {}: the stored triage or declarations differ from what its audit trail recorded",
            r.revision
        )));
    }
    Ok(())
}

/// The policy of revision `revision` of a case within `scope` (what the caller may read), or
/// of its current revision when that is approved. A revision that was never approved has
/// none (a conflict); a revision the case does not have is not found.
pub fn of(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &CaseId,
    revision: Option<i32>,
) -> AppResult<Policy> {
    let case = store::get(conn, scope, id)?.ok_or(AppError::NotFound)?;
    let status = case.status()?;
    let wanted = match revision {
        Some(r) => r,
        None if status == Status::Approved => case.row.revision,
        None => {
            let latest = store::stored_revision(conn, id, None)?;
            let hint = latest.map_or(String::new(), |r| {
                format!(
                    "; revision {} was approved: ask for ?revision={}",
                    r.revision, r.revision
                )
            });
            return Err(AppError::conflict(
                format!(
                    "the case is {status}: a policy exists only for an approved revision{hint}"
                ),
                Some(case.row.version),
            ));
        }
    };
    let stored = store::stored_revision(conn, id, Some(wanted))?.ok_or(AppError::NotFound)?;
    let Some(approved_at) = stored.approved_at else {
        return Err(AppError::conflict(
            format!("revision {wanted} was not approved: it has no policy"),
            Some(case.row.version),
        ));
    };
    vouch(conn, id, &stored)?;
    let StoredRevision {
        revision,
        tier,
        rules_version,
        triage,
        declarations,
        ..
    } = stored;
    let triage: Triage = serde_json::from_str(&triage)?;
    let declarations: Declarations = serde_json::from_str(&declarations)?;
    let tier = store::stored_enum(id.as_str(), "tier", &tier, Tier::parse)?;
    let approval = Approval {
        id: case.row.id.clone(),
        agency: case.agency.clone(),
        title: case.row.title.clone(),
        revision,
        rules_version,
        tier,
        approved_at: approved_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    Ok(policy::policy(approval, &declarations, &triage))
}
