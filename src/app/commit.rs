//! The one commit path. Every change of a secret, by an operation, the rotation engine or the
//! sweeper, is committed here (or, for the replicas it feeds, by the sync engine beside it), so
//! none can skip what follows a change; `tests/architecture.rs` fails if code outside `app`
//! commits a transaction itself.

use super::ctx::Ctx;
use super::replicas;
use crate::error::ApiResult;
use crate::model::secret::{RotationEvent, Secret};
use crate::store::SecretTxn;

/// Commits `secret` as the new state of the transaction's record, then sends the rotation
/// events it gained to the audit trail and brings its replicas up to date.
pub async fn commit(ctx: &Ctx, txn: SecretTxn<'_>, secret: &Secret) -> ApiResult<()> {
    let newest_before = txn
        .current()
        .and_then(|s| s.rotation_events.last().cloned());
    txn.commit(Some(secret)).await?;
    audit_new_events(ctx, newest_before, secret);
    replicas::sync_all(ctx, secret).await
}

/// Removes the transaction's record and its values (a purge, a replica taken away).
pub async fn remove(txn: SecretTxn<'_>) -> ApiResult<()> {
    txn.commit(None).await
}

/// Sends the rotation events `after` gained since `newest_before` to the audit trail
/// (CloudTrail's service events). Events are appended (and the oldest dropped past the cap),
/// so the new ones are those after the previous newest.
fn audit_new_events(ctx: &Ctx, newest_before: Option<RotationEvent>, after: &Secret) {
    let events = &after.rotation_events;
    let skip = match &newest_before {
        None => 0,
        Some(last) => match events.iter().rposition(|e| e == last) {
            Some(i) => i + 1,
            None => events
                .iter()
                .take_while(|e| e.time_ms <= last.time_ms)
                .count(),
        },
    };
    for e in events.iter().skip(skip) {
        ctx.audit.rotation_event(after, e);
    }
}
