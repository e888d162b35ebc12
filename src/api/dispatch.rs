//! The router: an operation and its raw body in, the operation's answer out.

use super::access::{self, Call, RequestFacts};
use super::lookup::SecretIdInput;
use super::output::{Answer, Output};
use super::{list, policy, random, replication, rotation, secrets, tags, values};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::protocol::{Body, Input, Operation};

/// Runs one operation on a raw request body and returns the raw response body.
pub async fn dispatch(ctx: &Ctx, caller: &Caller, op: Operation, raw: &[u8]) -> ApiResult<Answer> {
    use Operation::*;
    // A configured principal's call carries its facts for policy evaluation, read from the body's
    // members; the body is parsed once for both, and the input read from that parse. Account-level
    // actions are authorized here, actions on a secret by the shared lookup.
    let (body, this_call) = match caller.principal {
        Some(_) => {
            let body = Body::parsed(raw);
            let facts = RequestFacts::of(op, body.members());
            (body, Call::with_facts(caller, facts))
        }
        None => (Body::raw(raw), Call::new(caller)),
    };
    let body = &body;
    if this_call.facts.is_some()
        && matches!(op, ListSecrets | GetRandomPassword | BatchGetSecretValue)
    {
        access::authorize(ctx, &this_call, None, "*")?;
    }
    let caller = &this_call;
    match op {
        CreateSecret => {
            call::<secrets::CreateSecretInput, _>(body, |i| secrets::create_secret(ctx, caller, i))
                .await
        }
        DescribeSecret => {
            call::<SecretIdInput, _>(body, |i| secrets::describe_secret(ctx, caller, i)).await
        }
        UpdateSecret => {
            call::<secrets::UpdateSecretInput, _>(body, |i| secrets::update_secret(ctx, caller, i))
                .await
        }
        DeleteSecret => {
            call::<secrets::DeleteSecretInput, _>(body, |i| secrets::delete_secret(ctx, caller, i))
                .await
        }
        RestoreSecret => {
            call::<SecretIdInput, _>(body, |i| secrets::restore_secret(ctx, caller, i)).await
        }
        GetSecretValue => {
            call::<values::GetSecretValueInput, _>(body, |i| {
                values::get_secret_value(ctx, caller, i)
            })
            .await
        }
        BatchGetSecretValue => {
            call::<values::BatchGetSecretValueInput, _>(body, |i| {
                values::batch_get_secret_value(ctx, caller, i)
            })
            .await
        }
        PutSecretValue => {
            call::<values::PutSecretValueInput, _>(body, |i| {
                values::put_secret_value(ctx, caller, i)
            })
            .await
        }
        ListSecretVersionIds => {
            call::<values::ListSecretVersionIdsInput, _>(body, |i| {
                values::list_secret_version_ids(ctx, caller, i)
            })
            .await
        }
        UpdateSecretVersionStage => {
            call::<values::UpdateSecretVersionStageInput, _>(body, |i| {
                values::update_secret_version_stage(ctx, caller, i)
            })
            .await
        }
        GetRandomPassword => {
            call::<random::GetRandomPasswordInput, _>(body, |i| async {
                random::get_random_password(i)
            })
            .await
        }
        ListSecrets => {
            call::<list::ListSecretsInput, _>(body, |i| list::list_secrets(ctx, caller, i)).await
        }
        RotateSecret => {
            call::<rotation::RotateSecretInput, _>(body, |i| {
                rotation::rotate_secret(ctx, caller, i)
            })
            .await
        }
        ReplicateSecretToRegions => {
            call::<replication::ReplicateSecretToRegionsInput, _>(body, |i| {
                replication::replicate_secret_to_regions(ctx, caller, i)
            })
            .await
        }
        RemoveRegionsFromReplication => {
            call::<replication::RemoveRegionsFromReplicationInput, _>(body, |i| {
                replication::remove_regions_from_replication(ctx, caller, i)
            })
            .await
        }
        AssociateCrossAccountReplica => {
            call::<replication::AssociateCrossAccountReplicaInput, _>(body, |i| {
                replication::associate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        DisassociateCrossAccountReplica => {
            call::<replication::DisassociateCrossAccountReplicaInput, _>(body, |i| {
                replication::disassociate_cross_account_replica(ctx, caller, i)
            })
            .await
        }
        StopReplicationToReplica => {
            call::<SecretIdInput, _>(body, |i| {
                replication::stop_replication_to_replica(ctx, caller, i)
            })
            .await
        }
        CancelRotateSecret => {
            call::<SecretIdInput, _>(body, |i| rotation::cancel_rotate_secret(ctx, caller, i)).await
        }
        TagResource => {
            call::<tags::TagResourceInput, _>(body, |i| tags::tag_resource(ctx, caller, i)).await
        }
        PutResourcePolicy => {
            call::<policy::PutResourcePolicyInput, _>(body, |i| {
                policy::put_resource_policy(ctx, caller, i)
            })
            .await
        }
        GetResourcePolicy => {
            call::<policy::PolicyRefInput, _>(body, |i| policy::get_resource_policy(ctx, caller, i))
                .await
        }
        DeleteResourcePolicy => {
            call::<policy::PolicyRefInput, _>(body, |i| {
                policy::delete_resource_policy(ctx, caller, i)
            })
            .await
        }
        ValidateResourcePolicy => {
            call::<policy::ValidateResourcePolicyInput, _>(body, |i| {
                policy::validate_resource_policy(ctx, caller, i)
            })
            .await
        }
        ListResourcePolicies => {
            call::<policy::ListResourcePoliciesInput, _>(body, |i| {
                policy::list_resource_policies(ctx, caller, i)
            })
            .await
        }
        UntagResource => {
            call::<tags::UntagResourceInput, _>(body, |i| tags::untag_resource(ctx, caller, i))
                .await
        }
    }
}

/// One operation: decode the body into its input `I`, validate it, run `op` on the checked
/// request. `I` is named at each route: several operations share an input shape.
async fn call<I: Input, O: Output>(
    body: &Body<'_>,
    op: impl AsyncFnOnce(I::Valid) -> ApiResult<O>,
) -> ApiResult<Answer> {
    let request = body.decode::<I>()?.validate()?;
    op(request).await?.into_answer()
}
