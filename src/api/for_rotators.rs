//! The operations as the built-in rotators see them (`rotation::client::SecretsClient`): the
//! same calls a Lambda rotation function makes, with the same checks and errors: each input is
//! validated as `dispatch` validates a client's.

use super::access::Call;
use super::lookup::{load, SecretIdInput};
use super::secrets::describe_secret;
use super::values::{
    get_secret_value, put_secret_value, update_secret_version_stage, GetSecretValueInput,
    PutSecretValueInput, UpdateSecretVersionStageInput,
};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::model::secret::Ownership;
use crate::protocol::Input;
use crate::rotation::client::{Described, SecretsClient};
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// The API of one server, for its rotators.
pub struct Api(pub Arc<Ctx>);

impl SecretsClient for Api {
    fn describe_secret<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
    ) -> BoxFuture<'a, ApiResult<Described>> {
        Box::pin(async move {
            let input = SecretIdInput {
                secret_id: Some(secret_id.to_string()),
            };
            let out = describe_secret(&self.0, &Call::new(caller), input.validate()?).await?;
            Ok(Described {
                rotation_enabled: out.metadata.rotation_enabled,
                version_stages: out.version_ids_to_stages.unwrap_or_default(),
            })
        })
    }

    fn get_secret_string<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        version_id: Option<&'a str>,
        stage: &'a str,
    ) -> BoxFuture<'a, ApiResult<String>> {
        Box::pin(async move {
            let input = GetSecretValueInput {
                secret_id: Some(secret_id.to_string()),
                version_id: version_id.map(str::to_string),
                version_stage: Some(stage.to_string()),
            };
            let out = get_secret_value(&self.0, &Call::new(caller), input.validate()?).await?;
            Ok(out.secret_string.unwrap_or_default())
        })
    }

    fn put_secret_string<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        token: &'a str,
        secret_string: String,
        stages: &'a [&'a str],
    ) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let input = PutSecretValueInput {
                secret_id: Some(secret_id.to_string()),
                client_request_token: Some(token.to_string()),
                secret_string: Some(secret_string),
                version_stages: Some(stages.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            };
            put_secret_value(&self.0, &Call::new(caller), input.validate()?).await?;
            Ok(())
        })
    }

    fn move_stage<'a>(
        &'a self,
        caller: &'a Caller,
        secret_id: &'a str,
        stage: &'a str,
        to: &'a str,
        from: Option<&'a str>,
    ) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let input = UpdateSecretVersionStageInput {
                secret_id: Some(secret_id.to_string()),
                version_stage: Some(stage.to_string()),
                move_to_version_id: Some(to.to_string()),
                remove_from_version_id: from.map(str::to_string),
            };
            update_secret_version_stage(&self.0, &Call::new(caller), input.validate()?).await?;
            Ok(())
        })
    }

    fn owner_of<'a>(&'a self, caller: &'a Caller, secret_id: &'a str) -> Option<Ownership> {
        let secret = load(&self.0, &Call::new(caller), secret_id).ok()?;
        secret.owned_by.clone()
    }
}
