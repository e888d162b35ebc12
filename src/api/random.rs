//! GetRandomPassword (docs/aws-behaviour.md §3.7).

use super::output::Identified;
use crate::error::ApiResult;
use crate::model::password::{PasswordRules, DEFAULT_LENGTH};
use crate::model::validate::Constraints;
use crate::protocol::Input;
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

impl Input for GetRandomPasswordInput {
    type Valid = PasswordRules;

    fn validate(self) -> ApiResult<PasswordRules> {
        Constraints::new()
            .range("passwordLength", self.password_length, 1, 4096)
            .length(
                "excludeCharacters",
                self.exclude_characters.as_deref(),
                0,
                4096,
            )
            .finish()?;
        Ok(PasswordRules {
            length: self.password_length.map_or(DEFAULT_LENGTH, |n| n as usize),
            exclude_characters: self.exclude_characters.unwrap_or_default(),
            exclude_numbers: self.exclude_numbers.unwrap_or(false),
            exclude_punctuation: self.exclude_punctuation.unwrap_or(false),
            exclude_uppercase: self.exclude_uppercase.unwrap_or(false),
            exclude_lowercase: self.exclude_lowercase.unwrap_or(false),
            include_space: self.include_space.unwrap_or(false),
            require_each_included_type: self.require_each_included_type.unwrap_or(true),
        })
    }
}

pub fn get_random_password(rules: PasswordRules) -> ApiResult<GetRandomPasswordOutput> {
    Ok(GetRandomPasswordOutput {
        random_password: rules.generate()?,
    })
}
