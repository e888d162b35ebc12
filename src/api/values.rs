//! Values and versions: GetSecretValue, PutSecretValue, ListSecretVersionIds,
//! UpdateSecretVersionStage (docs/aws-behaviour.md §3.2).

use super::access::Call;
use super::list::{created_order_cursor, filtered_page, parse_filters, FilterShape};
use super::lookup::{begin_active, check_secret_id, load};
use super::output::Identified;
use super::write::{secret_value, write_value};
use crate::app::{commit, Ctx};
use crate::audit::ResponseIds;
use crate::clock::day_start_millis;
use crate::error::{messages, ApiError, ApiResult, ErrorCode};
use crate::model::filter::Filter;
use crate::model::secret::{Secret, SecretValue, Version, AWSCURRENT};
use crate::model::stages;
use crate::model::validate::Constraints;
use crate::protocol::shapes::{Blob, EpochSeconds};
use crate::protocol::Input;
use crate::store::Cursor;
use base64::Engine;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueInput {
    pub secret_id: Option<String>,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<Blob>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
    pub created_date: EpochSeconds,
}

impl Identified for GetSecretValueOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: Some(self.version_id),
        }
    }
}

/// The version a read asks for: by id (a deprecated one too), by label (default
/// `AWSCURRENT`), or both, which must agree.
fn select_version(
    ctx: &Ctx,
    secret: &Secret,
    version_id: Option<&str>,
    version_stage: Option<&str>,
) -> ApiResult<Version> {
    match version_id {
        Some(id) => {
            let version = ctx
                .store
                .find_version(secret, id)?
                .filter(|v| v.has_value)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ResourceNotFound,
                        messages::version_id_not_found(id),
                    )
                })?;
            if version_stage.is_some_and(|stage| !version.has_stage(stage)) {
                return Err(ApiError::invalid_request(
                    "You provided a VersionStage that is not associated to the provided VersionId.",
                ));
            }
            Ok(version)
        }
        None => {
            let stage = version_stage.unwrap_or(AWSCURRENT);
            secret
                .version_with_stage(stage)
                .filter(|v| v.has_value)
                .cloned()
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ResourceNotFound,
                        messages::staging_label_not_found(stage),
                    )
                })
        }
    }
}

pub struct GetSecretValueRequest {
    pub secret_id: String,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
}

impl Input for GetSecretValueInput {
    type Valid = GetSecretValueRequest;

    fn validate(self) -> ApiResult<GetSecretValueRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let ok = c
            .length("versionId", self.version_id.as_deref(), 32, 64)
            .length("versionStage", self.version_stage.as_deref(), 1, 256)
            .finish()?;
        Ok(GetSecretValueRequest {
            secret_id: secret_id.take(ok),
            version_id: self.version_id,
            version_stage: self.version_stage,
        })
    }
}

pub async fn get_secret_value(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: GetSecretValueRequest,
) -> ApiResult<GetSecretValueOutput> {
    let secret = load(ctx, caller, &input.secret_id)?;
    read_value(
        ctx,
        &secret,
        input.version_id.as_deref(),
        input.version_stage.as_deref(),
    )
    .await
}

/// Reads the version a request selects (by id and/or label, default `AWSCURRENT`), records the
/// read, and answers as GetSecretValue does.
async fn read_value(
    ctx: &Ctx,
    secret: &Secret,
    version_id: Option<&str>,
    version_stage: Option<&str>,
) -> ApiResult<GetSecretValueOutput> {
    if secret.is_scheduled_for_deletion() {
        return Err(ApiError::marked_for_deletion());
    }
    let version = select_version(ctx, secret, version_id, version_stage)?;
    let value = ctx.store.read_value(secret, &version)?;
    // The value is answered even when its access date cannot be written (a full disk, say).
    if let Err(e) = record_access(ctx, secret, &version).await {
        tracing::warn!(error = %e.message, "cannot record the access date of a read");
    }
    let (secret_string, secret_binary) = match value {
        SecretValue::String(s) => (Some(s), None),
        SecretValue::Binary(b) => (None, Some(Blob(b))),
    };
    Ok(GetSecretValueOutput {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        version_id: version.id,
        secret_binary,
        secret_string,
        version_stages: version.stages,
        created_date: EpochSeconds(version.created_ms),
    })
}

/// Sets the secret's and the version's `LastAccessedDate` (day granularity). Only the first read
/// of a day writes, so reads stay as fast as reads.
async fn record_access(ctx: &Ctx, secret: &Secret, version: &Version) -> ApiResult<()> {
    let today = day_start_millis(ctx.clock.now_millis());
    let up_to_date =
        secret.last_accessed_ms == Some(today) && version.last_accessed_ms == Some(today);
    if up_to_date {
        return Ok(());
    }
    let mut txn = ctx.store.begin(&secret.key()).await?;
    if let Some(mut current) = txn.current().filter(|s| s.arn == secret.arn).cloned() {
        txn.version(&mut current, &version.id)?; // a deprecated one joins the change
        if current.touch(&version.id, today) {
            commit(ctx, txn, &current).await?;
        }
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueInput {
    pub secret_id: Option<String>,
    pub client_request_token: Option<String>,
    pub secret_binary: Option<Blob>,
    pub secret_string: Option<String>,
    pub version_stages: Option<Vec<String>>,
    pub rotation_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
}

impl Identified for PutSecretValueOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: Some(self.version_id),
        }
    }
}

/// `VersionStages`: 1–20 labels of 1–256 characters.
fn check_stages(c: &mut Constraints, path: &str, stages: Option<&[String]>) {
    c.items(path, stages, 1, 20);
    for (i, stage) in stages.into_iter().flatten().enumerate() {
        c.length(&format!("{path}.{}.member", i + 1), Some(stage), 1, 256);
    }
}

pub struct PutSecretValueRequest {
    pub secret_id: String,
    pub client_request_token: Option<String>,
    pub value: SecretValue,
    pub version_stages: Option<Vec<String>>,
}

impl Input for PutSecretValueInput {
    type Valid = PutSecretValueRequest;

    fn validate(self) -> ApiResult<PutSecretValueRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        c.length(
            "clientRequestToken",
            self.client_request_token.as_deref(),
            32,
            64,
        )
        .sensitive_length("secretString", self.secret_string.as_deref(), 1, 65536)
        .blob_length(
            "secretBinary",
            self.secret_binary.as_ref().map(|b| b.0.as_slice()),
            1,
            65536,
        )
        .sensitive_length("rotationToken", self.rotation_token.as_deref(), 36, 256);
        check_stages(&mut c, "versionStages", self.version_stages.as_deref());
        let ok = c.finish()?;
        let value = secret_value(self.secret_string, self.secret_binary)?.ok_or_else(|| {
            ApiError::invalid_request("You must provide either SecretString or SecretBinary.")
        })?;
        Ok(PutSecretValueRequest {
            secret_id: secret_id.take(ok),
            client_request_token: self.client_request_token,
            value,
            version_stages: self.version_stages,
        })
    }
}

pub async fn put_secret_value(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: PutSecretValueRequest,
) -> ApiResult<PutSecretValueOutput> {
    let (mut txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    super::lookup::forbid_owned_unless_rotating(caller, &secret)?;
    let now = ctx.clock.now_millis();
    let written = write_value(
        &mut txn,
        &mut secret,
        input.client_request_token.as_deref(),
        &input.value,
        input.version_stages.as_deref(),
        now,
    )?;
    commit(ctx, txn, &secret).await?;
    Ok(PutSecretValueOutput {
        arn: secret.arn,
        name: secret.name,
        version_id: written.version_id,
        version_stages: written.stages,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsInput {
    pub secret_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub include_deprecated: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionEntry {
    pub version_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<EpochSeconds>,
    pub created_date: EpochSeconds,
    pub kms_key_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsOutput {
    pub versions: Vec<VersionEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
}

impl Identified for ListSecretVersionIdsOutput {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: None,
        }
    }
}

/// Page tokens are opaque to clients: base64 of `v1:<offset>`.
fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{offset}"))
}

fn decode_page_token(token: &str) -> ApiResult<usize> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:")?.parse().ok())
        .ok_or_else(ApiError::invalid_next_token)
}

pub struct ListSecretVersionIdsRequest {
    pub secret_id: String,
    pub page_size: usize,
    pub next_token: Option<String>,
    pub include_deprecated: bool,
}

impl Input for ListSecretVersionIdsInput {
    type Valid = ListSecretVersionIdsRequest;

    fn validate(self) -> ApiResult<ListSecretVersionIdsRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let ok = c
            .range("maxResults", self.max_results, 1, 100)
            .length("nextToken", self.next_token.as_deref(), 1, 4096)
            .finish()?;
        Ok(ListSecretVersionIdsRequest {
            secret_id: secret_id.take(ok),
            page_size: self.max_results.map_or(100, |n| n as usize),
            next_token: self.next_token,
            include_deprecated: self.include_deprecated.unwrap_or(false),
        })
    }
}

pub async fn list_secret_version_ids(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ListSecretVersionIdsRequest,
) -> ApiResult<ListSecretVersionIdsOutput> {
    // The secret is looked up before the token is read: a missing secret is the answer first.
    let secret = load(ctx, caller, &input.secret_id)?;
    let offset = match input.next_token.as_deref() {
        Some(token) => decode_page_token(token)?,
        None => 0,
    };
    let include_deprecated = input.include_deprecated;
    // Only versions with a value: the rotation placeholder is not listed
    // (docs/aws-behaviour.md §3.2).
    let mut listed: Vec<Version> = secret
        .versions
        .iter()
        .filter(|v| v.has_value && (include_deprecated || !v.is_deprecated()))
        .cloned()
        .collect();
    if include_deprecated {
        for version in ctx.store.deprecated_versions(&secret)? {
            // The record may be older than the versions read apart: it wins.
            if secret.version(&version.id).is_none() {
                listed.push(version);
            }
        }
        listed.sort_by_key(|v| v.created_ms); // stable: ties stay in record order
    }
    let page_size = input.page_size;
    let end = (offset + page_size).min(listed.len());
    let versions = listed[offset.min(end)..end]
        .iter()
        .map(|v| VersionEntry {
            version_id: v.id.clone(),
            version_stages: v.stages.clone(),
            last_accessed_date: v.last_accessed_ms.map(EpochSeconds),
            created_date: EpochSeconds(v.created_ms),
            kms_key_ids: vec![v
                .kms_key_id
                .clone()
                .unwrap_or_else(|| "DefaultEncryptionKey".to_string())],
        })
        .collect();
    Ok(ListSecretVersionIdsOutput {
        versions,
        next_token: (end < listed.len()).then(|| encode_page_token(end)),
        arn: secret.arn.clone(),
        name: secret.name.clone(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageInput {
    pub secret_id: Option<String>,
    pub version_stage: Option<String>,
    pub remove_from_version_id: Option<String>,
    pub move_to_version_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdentity {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
}

impl Identified for SecretIdentity {
    fn into_ids(self) -> ResponseIds {
        ResponseIds {
            arn: Some(self.arn),
            name: Some(self.name),
            version_id: None,
        }
    }
}

pub struct UpdateSecretVersionStageRequest {
    pub secret_id: String,
    pub version_stage: String,
    pub remove_from_version_id: Option<String>,
    pub move_to_version_id: Option<String>,
}

impl Input for UpdateSecretVersionStageInput {
    type Valid = UpdateSecretVersionStageRequest;

    fn validate(self) -> ApiResult<UpdateSecretVersionStageRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let version_stage = c.required_length("versionStage", self.version_stage, 1, 256);
        let ok = c
            .length(
                "removeFromVersionId",
                self.remove_from_version_id.as_deref(),
                32,
                64,
            )
            .length(
                "moveToVersionId",
                self.move_to_version_id.as_deref(),
                32,
                64,
            )
            .finish()?;
        Ok(UpdateSecretVersionStageRequest {
            secret_id: secret_id.take(ok),
            version_stage: version_stage.take(ok),
            remove_from_version_id: self.remove_from_version_id,
            move_to_version_id: self.move_to_version_id,
        })
    }
}

pub async fn update_secret_version_stage(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: UpdateSecretVersionStageRequest,
) -> ApiResult<SecretIdentity> {
    let (mut txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    super::lookup::forbid_owned_unless_rotating(caller, &secret)?;
    // A deprecated version named here joins the change, to be relabelled.
    let named = [&input.remove_from_version_id, &input.move_to_version_id];
    for id in named.into_iter().flatten() {
        txn.version(&mut secret, id)?;
    }
    stages::update_stage(
        &mut secret.versions,
        &input.version_stage,
        input.remove_from_version_id.as_deref(),
        input.move_to_version_id.as_deref(),
    )?;
    secret.last_changed_ms = ctx.clock.now_millis();
    commit(ctx, txn, &secret).await?;
    Ok(SecretIdentity {
        arn: secret.arn,
        name: secret.name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueInput {
    pub secret_id_list: Option<Vec<String>>,
    pub filters: Option<Vec<FilterShape>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchError {
    pub secret_id: String,
    pub error_code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueOutput {
    pub secret_values: Vec<GetSecretValueOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub errors: Vec<BatchError>,
}

impl Identified for BatchGetSecretValueOutput {}

/// What BatchGetSecretValue reads: the secrets named, or a page of those that pass filters.
pub enum BatchSelection {
    Ids(Vec<String>),
    Filtered {
        filters: Vec<Filter>,
        page_size: usize,
        after: Option<Cursor>,
    },
}

impl Input for BatchGetSecretValueInput {
    type Valid = BatchSelection;

    fn validate(self) -> ApiResult<BatchSelection> {
        let mut c = Constraints::new();
        c.items("secretIdList", self.secret_id_list.as_deref(), 1, 20);
        for (i, id) in self.secret_id_list.iter().flatten().enumerate() {
            c.length(&format!("secretIdList.{}.member", i + 1), Some(id), 1, 2048);
        }
        c.range("maxResults", self.max_results, 1, 20).length(
            "nextToken",
            self.next_token.as_deref(),
            1,
            4096,
        );
        let filters = parse_filters(&mut c, self.filters.as_deref())?;
        c.finish()?;
        match (self.secret_id_list, self.filters) {
            (Some(_), None) if self.max_results.is_some() || self.next_token.is_some() => {
                Err(ApiError::invalid_parameter(
                    "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' or 'NextToken' is provided.",
                ))
            }
            (Some(ids), None) => Ok(BatchSelection::Ids(ids)),
            (None, Some(_)) => Ok(BatchSelection::Filtered {
                filters,
                page_size: self.max_results.map_or(20, |n| n as usize),
                after: created_order_cursor(self.next_token.as_deref())?,
            }),
            _ => Err(ApiError::invalid_parameter(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
            )),
        }
    }
}

/// BatchGetSecretValue (docs/aws-behaviour.md §3.2): by id list or by filters; a secret that cannot
/// be read becomes an entry in `Errors` with the code and text GetSecretValue would give, and the
/// call itself succeeds.
pub async fn batch_get_secret_value(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: BatchSelection,
) -> ApiResult<BatchGetSecretValueOutput> {
    let mut output = BatchGetSecretValueOutput {
        secret_values: Vec::new(),
        next_token: None,
        errors: Vec::new(),
    };
    match input {
        BatchSelection::Ids(ids) => {
            // Concurrently, so that the first reads of the day record their access in one
            // group commit rather than one commit after another.
            let reads = ids.iter().map(|id| async move {
                let secret = load(ctx, caller, id)?;
                read_value(ctx, &secret, None, None).await
            });
            let results = join_all(reads).await;
            for (id, result) in ids.into_iter().zip(results) {
                match result {
                    Ok(value) => output.secret_values.push(value),
                    Err(e) if e.code == ErrorCode::InternalServiceError => return Err(e),
                    Err(e) => output.errors.push(BatchError {
                        secret_id: id,
                        error_code: e.code.as_str().to_string(),
                        message: e.message,
                    }),
                }
            }
        }
        BatchSelection::Filtered {
            filters,
            page_size,
            after,
        } => {
            let (secrets, next_token) =
                filtered_page(ctx, caller, &filters, after.as_ref(), page_size)?;
            let reads = secrets
                .iter()
                .map(|secret| read_value(ctx, secret, None, None));
            let results = join_all(reads).await;
            for (secret, result) in secrets.into_iter().zip(results) {
                match result {
                    Ok(value) => output.secret_values.push(value),
                    Err(e) if e.code == ErrorCode::InternalServiceError => return Err(e),
                    Err(e) => output.errors.push(BatchError {
                        secret_id: secret.arn.clone(),
                        error_code: e.code.as_str().to_string(),
                        message: e.message,
                    }),
                }
            }
            output.next_token = next_token;
        }
    }
    Ok(output)
}
