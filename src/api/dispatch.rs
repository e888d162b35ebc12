//! The router: an operation and its raw body in, the operation's answer out.

use super::access::{self, Call, RequestFacts};
use super::output::{Answer, Output};
use super::{list, policy, random, replication, rotation, secrets, tags, values};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::protocol::{self, Operation};
use serde::de::DeserializeOwned;
use std::future::Future;

/// Runs one operation on a raw request body and returns the raw response body.
pub async fn dispatch(ctx: &Ctx, caller: &Caller, op: Operation, body: &[u8]) -> ApiResult<Answer> {
    use Operation::*;
    // A configured principal's call carries its facts for policy evaluation; account-level
    // actions are authorized here, actions on a secret by the shared lookup.
    let this_call = match caller.principal {
        Some(_) => Call::with_facts(caller, RequestFacts::of(op, body)),
        None => Call::new(caller),
    };
    if this_call.facts.is_some()
        && matches!(op, ListSecrets | GetRandomPassword | BatchGetSecretValue)
    {
        access::authorize(ctx, &this_call, None, "*")?;
    }
    let caller = &this_call;
    match op {
        CreateSecret => call(body, |i| secrets::create_secret(ctx, caller, i)).await,
        DescribeSecret => call(body, |i| secrets::describe_secret(ctx, caller, i)).await,
        UpdateSecret => call(body, |i| secrets::update_secret(ctx, caller, i)).await,
        DeleteSecret => call(body, |i| secrets::delete_secret(ctx, caller, i)).await,
        RestoreSecret => call(body, |i| secrets::restore_secret(ctx, caller, i)).await,
        GetSecretValue => call(body, |i| values::get_secret_value(ctx, caller, i)).await,
        BatchGetSecretValue => call(body, |i| values::batch_get_secret_value(ctx, caller, i)).await,
        PutSecretValue => call(body, |i| values::put_secret_value(ctx, caller, i)).await,
        ListSecretVersionIds => {
            call(body, |i| values::list_secret_version_ids(ctx, caller, i)).await
        }
        UpdateSecretVersionStage => {
            call(body, |i| {
                values::update_secret_version_stage(ctx, caller, i)
            })
            .await
        }
        GetRandomPassword => call(body, |i| async { random::get_random_password(i) }).await,
        ListSecrets => call(body, |i| list::list_secrets(ctx, caller, i)).await,
        RotateSecret => call(body, |i| rotation::rotate_secret(ctx, caller, i)).await,
        ReplicateSecretToRegions => {
            call(body, |i| {
                replication::replicate_secret_to_regions(ctx, caller, i)
            })
            .await
        }
        RemoveRegionsFromReplication => {
            call(body, |i| {
                replication::remove_regions_from_replication(ctx, caller, i)
            })
            .await
        }
        AssociateCrossAccountReplica => {
            call(body, |i| {
                replication::associate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        DisassociateCrossAccountReplica => {
            call(body, |i| {
                replication::disassociate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        StopReplicationToReplica => {
            call(body, |i| {
                replication::stop_replication_to_replica(ctx, caller, i)
            })
            .await
        }
        CancelRotateSecret => call(body, |i| rotation::cancel_rotate_secret(ctx, caller, i)).await,
        TagResource => call(body, |i| tags::tag_resource(ctx, caller, i)).await,
        PutResourcePolicy => call(body, |i| policy::put_resource_policy(ctx, caller, i)).await,
        GetResourcePolicy => call(body, |i| policy::get_resource_policy(ctx, caller, i)).await,
        DeleteResourcePolicy => {
            call(body, |i| policy::delete_resource_policy(ctx, caller, i)).await
        }
        ValidateResourcePolicy => {
            call(body, |i| policy::validate_resource_policy(ctx, caller, i)).await
        }
        ListResourcePolicies => {
            call(body, |i| policy::list_resource_policies(ctx, caller, i)).await
        }
        UntagResource => call(body, |i| tags::untag_resource(ctx, caller, i)).await,
    }
}

async fn call<I, O, F, Fut>(body: &[u8], op: F) -> ApiResult<Answer>
where
    I: DeserializeOwned,
    O: Output,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = ApiResult<O>>,
{
    let input: I = protocol::decode(body)?;
    op(input).await?.into_answer()
}
