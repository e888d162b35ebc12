//! TagResource and UntagResource (docs/aws-behaviour.md §3.4), and the tag rules CreateSecret
//! shares.

use super::access::Call;
use super::lookup::{begin_active, check_secret_id};
use super::output::NoOutput;
use crate::app::{commit, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::model::secret::Tag;
use crate::model::validate::Constraints;
use serde::{Deserialize, Serialize};

/// Tags a secret can carry (AWS quota).
const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagShape {
    pub key: Option<String>,
    pub value: Option<String>,
}

impl From<&Tag> for TagShape {
    fn from(tag: &Tag) -> Self {
        TagShape {
            key: Some(tag.key.clone()),
            value: Some(tag.value.clone()),
        }
    }
}

/// Checks the `Tags` of CreateSecret/TagResource and returns them, a repeated key keeping its
/// last value. `aws:` keys belong to AWS services (docs/aws-behaviour.md §3.4).
pub(crate) fn check_tags(c: &mut Constraints, tags: Option<&[TagShape]>) -> ApiResult<Vec<Tag>> {
    let Some(tags) = tags else {
        return Ok(Vec::new());
    };
    c.items("tags", Some(tags), 0, 50);
    let mut out = Vec::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        let key_path = format!("tags.{}.member.key", i + 1);
        let value_path = format!("tags.{}.member.value", i + 1);
        c.required(&key_path, tag.key.as_ref())
            .length(&key_path, tag.key.as_deref(), 1, 128)
            .length(&value_path, tag.value.as_deref(), 0, 256);
        let key = tag.key.clone().unwrap_or_default();
        if key.starts_with("aws:") {
            return Err(ApiError::invalid_parameter(format!(
                "You can't modify system tags. Tag key: '{key}'."
            )));
        }
        out.retain(|t: &Tag| t.key != key);
        out.push(Tag {
            key,
            value: tag.value.clone().unwrap_or_default(),
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub secret_id: Option<String>,
    pub tags: Option<Vec<TagShape>>,
}

pub async fn tag_resource(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: TagResourceInput,
) -> ApiResult<NoOutput> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, input.secret_id.as_deref());
    c.required("tags", input.tags.as_ref());
    let new_tags = check_tags(&mut c, input.tags.as_deref())?;
    c.finish()?;
    let (txn, mut secret) =
        begin_active(ctx, caller, input.secret_id.as_deref().unwrap_or_default()).await?;
    let mut tags = secret.tags.take().unwrap_or_default();
    for tag in new_tags {
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => tags.push(tag),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid_parameter(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    secret.tags = Some(tags);
    commit(ctx, txn, &secret).await?;
    Ok(NoOutput)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub secret_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

pub async fn untag_resource(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: UntagResourceInput,
) -> ApiResult<NoOutput> {
    let mut c = Constraints::new();
    check_secret_id(&mut c, input.secret_id.as_deref());
    c.required("tagKeys", input.tag_keys.as_ref());
    for (i, key) in input.tag_keys.iter().flatten().enumerate() {
        c.length(&format!("tagKeys.{}.member", i + 1), Some(key), 1, 128);
    }
    c.finish()?;
    let keys = input.tag_keys.unwrap_or_default();
    if let Some(key) = keys.iter().find(|k| k.starts_with("aws:")) {
        return Err(ApiError::invalid_parameter(format!(
            "You can't modify system tags. Tag key: '{key}'."
        )));
    }
    let (txn, mut secret) =
        begin_active(ctx, caller, input.secret_id.as_deref().unwrap_or_default()).await?;
    // Once tagged, a secret shows `"Tags": []` after its last tag goes
    // (docs/aws-behaviour.md §3.1).
    let mut tags = secret.tags.take().unwrap_or_default();
    tags.retain(|t| !keys.contains(&t.key));
    secret.tags = Some(tags);
    commit(ctx, txn, &secret).await?;
    Ok(NoOutput)
}
