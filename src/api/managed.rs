//! Secrets that another service owns (docs/aws-behaviour.md §R4.1, §R6.7), as RDS owns the master
//! password of a database created with `ManageMasterUserPassword`: named `rds!db-<uuid>`, valued
//! `{"username", "password"}`, tagged with the instance, shown with `OwningService`, rotated by
//! the service itself (RotateSecret without a Lambda; secretsd's native single-user rotator),
//! and closed to clients' changes.
//!
//! secretsd has no RDS API, so such a secret is registered through the admin endpoint
//! `POST /_secretsd/managed-secrets` with the database it belongs to.

use super::secrets::{commit_with_value, SecretRefOutput};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::arn::{self, SecretKey};
use crate::model::schedule;
use crate::model::secret::{Ownership, RotationConfig, RotationRules, Secret, SecretValue, Tag};
use crate::rotation as engine;
use serde::Deserialize;

/// Services whose secrets secretsd can own and rotate.
const SERVICES: [&str; 1] = ["rds"];
const ENGINES: [&str; 3] = ["postgres", "mysql", "mariadb"];

/// The admin request that registers a database's master login as an owned secret.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ManagedSecretRequest {
    #[serde(default = "default_service")]
    pub owning_service: String,
    #[serde(rename = "DBInstanceIdentifier")]
    pub db_instance_identifier: String,
    pub engine: String,
    pub host: String,
    pub port: u16,
    #[serde(rename = "DBName", default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub ssl: Option<bool>,
    pub master_username: String,
    pub master_user_password: String,
    /// The account and Region the secret lives in; the server's defaults otherwise.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default = "default_days")]
    pub automatically_after_days: i64,
}

fn default_service() -> String {
    "rds".into()
}

/// RDS's default schedule for managed master passwords, as widely reported but not confirmed in
/// AWS's documentation (docs/aws-behaviour.md §R4.1, §R6.7).
fn default_days() -> i64 {
    7
}

/// Creates the owned secret with the login as its first AWSCURRENT value.
pub async fn create_managed_secret(
    ctx: &Ctx,
    request: ManagedSecretRequest,
) -> ApiResult<SecretRefOutput> {
    if !SERVICES.contains(&request.owning_service.as_str()) {
        return Err(ApiError::invalid_parameter(format!(
            "OwningService must be one of {SERVICES:?}"
        )));
    }
    if !ENGINES.contains(&request.engine.as_str()) {
        return Err(ApiError::invalid_parameter(format!(
            "Engine must be one of {ENGINES:?}"
        )));
    }
    let rules = RotationRules {
        automatically_after_days: Some(request.automatically_after_days),
        ..RotationRules::default()
    };
    schedule::parse(rules.automatically_after_days, None)?;
    let account = request
        .account
        .unwrap_or_else(|| ctx.credentials.default_account().to_string());
    let region = request.region.unwrap_or_else(|| "us-east-1".to_string());
    let instance_arn = format!(
        "arn:aws:rds:{region}:{account}:db:{}",
        request.db_instance_identifier
    );
    let key = SecretKey {
        account: account.clone(),
        region: region.clone(),
        name: format!("rds!db-{}", uuid::Uuid::new_v4()),
    };
    let txn = ctx.store.begin(&key).await?;
    let now = ctx.clock.now_millis();
    let mut secret = Secret {
        arn: arn::secret_arn(&key, &arn::random_suffix()),
        name: key.name.clone(),
        account,
        region,
        description: Some(format!(
            "Secret associated with primary RDS DB instance: {instance_arn}"
        )),
        tags: Some(vec![
            Tag {
                key: "aws:rds:primaryDBInstanceArn".into(),
                value: instance_arn,
            },
            Tag {
                key: "aws:secretsmanager:owningService".into(),
                value: request.owning_service.clone(),
            },
        ]),
        created_ms: now,
        last_changed_ms: now,
        rotation: Some(RotationConfig {
            lambda_arn: String::new(),
            rules,
            enabled: true,
        }),
        owned_by: Some(Ownership {
            service: request.owning_service,
            engine: request.engine,
            host: request.host,
            port: request.port,
            dbname: request.db_name,
            ssl: request.ssl,
        }),
        ..Secret::default()
    };
    engine::schedule_next(&mut secret, now);
    let value = serde_json::json!({
        "username": request.master_username,
        "password": request.master_user_password,
    });
    let token = uuid::Uuid::new_v4().to_string();
    commit_with_value(
        ctx,
        txn,
        secret,
        Some(&token),
        Some(&SecretValue::String(value.to_string())),
        now,
    )
    .await
}
