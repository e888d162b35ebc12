//! Random passwords with GetRandomPassword's rules (docs/aws-behaviour.md §3.7). The rotators use
//! the same generator, so rotated database passwords obey the same character classes.

use crate::error::{ApiError, ApiResult};
use rand::seq::{IndexedRandom, SliceRandom};

pub const DEFAULT_LENGTH: usize = 32;
/// The 32 ASCII punctuation characters AWS draws from.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// What to draw from. Defaults are AWS's: all four classes, no space, one of each required.
#[derive(Debug, Clone)]
pub struct PasswordRules {
    pub length: usize,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    pub require_each_included_type: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        PasswordRules {
            length: DEFAULT_LENGTH,
            exclude_characters: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_included_type: true,
        }
    }
}

impl PasswordRules {
    /// The character classes left after exclusions; empty classes are dropped.
    fn classes(&self) -> Vec<Vec<char>> {
        let mut classes: Vec<&str> = Vec::new();
        if !self.exclude_uppercase {
            classes.push("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        }
        if !self.exclude_lowercase {
            classes.push("abcdefghijklmnopqrstuvwxyz");
        }
        if !self.exclude_numbers {
            classes.push("0123456789");
        }
        if !self.exclude_punctuation {
            classes.push(PUNCTUATION);
        }
        if self.include_space {
            classes.push(" ");
        }
        classes
            .into_iter()
            .map(|class| {
                class
                    .chars()
                    .filter(|c| !self.exclude_characters.contains(*c))
                    .collect::<Vec<char>>()
            })
            .filter(|class| !class.is_empty())
            .collect()
    }

    /// A fresh password from the thread-local CSPRNG.
    pub fn generate(&self) -> ApiResult<String> {
        let too_short = || {
            ApiError::invalid_parameter("Password length is too short based on the required types.")
        };
        let classes = self.classes();
        if classes.is_empty() || (self.require_each_included_type && self.length < classes.len()) {
            return Err(too_short());
        }
        let all: Vec<char> = classes.iter().flatten().copied().collect();
        let mut rng = rand::rng();
        let mut chars: Vec<char> = Vec::with_capacity(self.length);
        if self.require_each_included_type {
            for class in &classes {
                chars.extend(class.choose(&mut rng));
            }
        }
        while chars.len() < self.length {
            chars.extend(all.choose(&mut rng));
        }
        chars.shuffle(&mut rng);
        Ok(chars.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_password_has_every_class() {
        for _ in 0..50 {
            let p = PasswordRules::default().generate().unwrap();
            assert_eq!(p.chars().count(), 32);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
            assert!(!p.contains(' '));
        }
    }

    #[test]
    fn excluded_characters_never_appear() {
        let rules = PasswordRules {
            length: 120,
            exclude_characters: "xyzDje@?!.".into(),
            ..Default::default()
        };
        let p = rules.generate().unwrap();
        assert!(!p.chars().any(|c| "xyzDje@?!.".contains(c)));
    }

    #[test]
    fn impossible_rules_are_rejected() {
        let all_excluded = PasswordRules {
            exclude_numbers: true,
            exclude_punctuation: true,
            exclude_uppercase: true,
            exclude_lowercase: true,
            ..Default::default()
        };
        assert_eq!(
            all_excluded.generate().unwrap_err().message,
            "Password length is too short based on the required types."
        );
        let too_short = PasswordRules {
            length: 3,
            ..Default::default()
        };
        assert!(too_short.generate().is_err());
        let relaxed = PasswordRules {
            length: 3,
            require_each_included_type: false,
            ..Default::default()
        };
        assert_eq!(relaxed.generate().unwrap().len(), 3);
    }
}
