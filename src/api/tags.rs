//! TagResource and UntagResource (docs/aws-behaviour.md §3.4), and the tag rules CreateSecret
//! shares.

use super::access::Call;
use super::lookup::{begin_active, check_secret_id};
use super::output::NoOutput;
use crate::app::{commit, Ctx};
use crate::error::{messages, ApiError, ApiResult};
use crate::model::secret::Tag;
use crate::model::validate::{Checked, Constraints, Required};
use crate::protocol::Input;
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

/// Tags as checked, before `Constraints::finish` has confirmed their keys.
pub(crate) struct CheckedTags(Vec<(Required<String>, Option<String>)>);

impl CheckedTags {
    /// The tags, a repeated key keeping its last value; an absent value is empty.
    pub fn take(self, ok: Checked) -> Vec<Tag> {
        let mut out: Vec<Tag> = Vec::with_capacity(self.0.len());
        for (key, value) in self.0 {
            let key = key.take(ok);
            out.retain(|t| t.key != key);
            out.push(Tag {
                key,
                value: value.unwrap_or_default(),
            });
        }
        out
    }
}

/// Checks the `Tags` of CreateSecret/TagResource. `aws:` keys belong to AWS services
/// (docs/aws-behaviour.md §3.4), refused at the first one.
pub(crate) fn check_tags(c: &mut Constraints, tags: Option<&[TagShape]>) -> ApiResult<CheckedTags> {
    let Some(tags) = tags else {
        return Ok(CheckedTags(Vec::new()));
    };
    c.items("tags", Some(tags), 0, 50);
    let mut out = Vec::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        let key_path = format!("tags.{}.member.key", i + 1);
        let value_path = format!("tags.{}.member.value", i + 1);
        let key = c.required_length(&key_path, tag.key.clone(), 1, 128);
        c.length(&value_path, tag.value.as_deref(), 0, 256);
        if let Some(key) = key.given_str().filter(|k| k.starts_with("aws:")) {
            return Err(ApiError::invalid_parameter(messages::system_tag(key)));
        }
        out.push((key, tag.value.clone()));
    }
    Ok(CheckedTags(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub secret_id: Option<String>,
    pub tags: Option<Vec<TagShape>>,
}

pub struct TagResourceRequest {
    pub secret_id: String,
    pub tags: Vec<Tag>,
}

impl Input for TagResourceInput {
    type Valid = TagResourceRequest;

    fn validate(self) -> ApiResult<TagResourceRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let tags = c.required("tags", self.tags);
        let tags = check_tags(&mut c, tags.given().map(Vec::as_slice))?;
        let ok = c.finish()?;
        Ok(TagResourceRequest {
            secret_id: secret_id.take(ok),
            tags: tags.take(ok),
        })
    }
}

pub async fn tag_resource(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: TagResourceRequest,
) -> ApiResult<NoOutput> {
    let (txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    let mut tags = secret.tags.take().unwrap_or_default();
    for tag in input.tags {
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

pub struct UntagResourceRequest {
    pub secret_id: String,
    pub tag_keys: Vec<String>,
}

impl Input for UntagResourceInput {
    type Valid = UntagResourceRequest;

    fn validate(self) -> ApiResult<UntagResourceRequest> {
        let mut c = Constraints::new();
        let secret_id = check_secret_id(&mut c, self.secret_id);
        let tag_keys = c.required("tagKeys", self.tag_keys);
        for (i, key) in tag_keys.given().into_iter().flatten().enumerate() {
            c.length(&format!("tagKeys.{}.member", i + 1), Some(key), 1, 128);
        }
        let ok = c.finish()?;
        let tag_keys = tag_keys.take(ok);
        if let Some(key) = tag_keys.iter().find(|k| k.starts_with("aws:")) {
            return Err(ApiError::invalid_parameter(messages::system_tag(key)));
        }
        Ok(UntagResourceRequest {
            secret_id: secret_id.take(ok),
            tag_keys,
        })
    }
}

pub async fn untag_resource(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: UntagResourceRequest,
) -> ApiResult<NoOutput> {
    let (txn, mut secret) = begin_active(ctx, caller, &input.secret_id).await?;
    // Once tagged, a secret shows `"Tags": []` after its last tag goes
    // (docs/aws-behaviour.md §3.1).
    let mut tags = secret.tags.take().unwrap_or_default();
    tags.retain(|t| !input.tag_keys.contains(&t.key));
    secret.tags = Some(tags);
    commit(ctx, txn, &secret).await?;
    Ok(NoOutput)
}
