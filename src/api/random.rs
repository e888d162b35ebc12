//! GetRandomPassword (docs/aws-behaviour.md §3.7).

use super::output::Identified;
use crate::error::ApiResult;
use crate::model::password::{PasswordRules, DEFAULT_LENGTH};
use crate::model::validate::Constraints;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordInput {
    pub password_length: Option<i64>,
    pub exclude_characters: Option<String>,
    pub exclude_numbers: Option<bool>,
    pub exclude_punctuation: Option<bool>,
    pub exclude_uppercase: Option<bool>,
    pub exclude_lowercase: Option<bool>,
    pub include_space: Option<bool>,
    pub require_each_included_type: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordOutput {
    pub random_password: String,
}

impl Identified for GetRandomPasswordOutput {}

pub fn get_random_password(input: GetRandomPasswordInput) -> ApiResult<GetRandomPasswordOutput> {
    Constraints::new()
        .range("passwordLength", input.password_length, 1, 4096)
        .length(
            "excludeCharacters",
            input.exclude_characters.as_deref(),
            0,
            4096,
        )
        .finish()?;
    let rules = PasswordRules {
        length: input.password_length.map_or(DEFAULT_LENGTH, |n| n as usize),
        exclude_characters: input.exclude_characters.unwrap_or_default(),
        exclude_numbers: input.exclude_numbers.unwrap_or(false),
        exclude_punctuation: input.exclude_punctuation.unwrap_or(false),
        exclude_uppercase: input.exclude_uppercase.unwrap_or(false),
        exclude_lowercase: input.exclude_lowercase.unwrap_or(false),
        include_space: input.include_space.unwrap_or(false),
        require_each_included_type: input.require_each_included_type.unwrap_or(true),
    };
    Ok(GetRandomPasswordOutput {
        random_password: rules.generate()?,
    })
}
