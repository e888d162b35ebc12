//! The end of a recovery window: secrets scheduled for deletion are purged once it passes.

use crate::app::{remove, Ctx};
use crate::error::ApiResult;
use crate::store::Hint;

/// Removes secrets whose recovery window has ended. Returns how many were purged.
pub async fn purge_due_deletions(ctx: &Ctx) -> ApiResult<usize> {
    let now = ctx.clock.now_millis();
    let due = ctx.store.due(Hint::Deletion, now, 1000)?;
    let mut purged = 0;
    for (at, key) in due {
        let txn = ctx.store.begin(&key).await?;
        if txn.current().and_then(|s| s.deleted_ms) == Some(at) {
            remove(txn).await?;
            tracing::info!(secret = %key.name, account = %key.account, region = %key.region, "purged secret after its recovery window");
            purged += 1;
        } else {
            ctx.store.remove_hint(Hint::Deletion, &key, at).await?;
        }
    }
    Ok(purged)
}
