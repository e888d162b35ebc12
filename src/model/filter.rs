//! ListSecrets filters (docs/aws-behaviour.md §3.1 ListSecrets): several filters are ANDed, the
//! values of one filter ORed, `!` negates a value. Matching follows what AWS was observed to do:
//! `name` is a case-sensitive prefix of the whole name; `description` matches words,
//! case-insensitively; `all` matches words of name, description, tag keys and values, split the way
//! AWS splits them.

use super::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKey {
    Description,
    Name,
    TagKey,
    TagValue,
    PrimaryRegion,
    OwningService,
    All,
}

impl FilterKey {
    pub const NAMES: &'static str =
        "[description, name, tag-key, tag-value, primary-region, owning-service, all]";

    pub fn parse(text: &str) -> Option<FilterKey> {
        Some(match text {
            "description" => FilterKey::Description,
            "name" => FilterKey::Name,
            "tag-key" => FilterKey::TagKey,
            "tag-value" => FilterKey::TagValue,
            "primary-region" => FilterKey::PrimaryRegion,
            "owning-service" => FilterKey::OwningService,
            "all" => FilterKey::All,
            _ => return None,
        })
    }
}

/// One filter: a key and its values (each possibly negated with a leading `!`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub values: Vec<String>,
}

impl Filter {
    /// Positive values are ORed; a secret matching any negated value is excluded.
    fn matches(&self, secret: &Secret) -> bool {
        let (negated, positive): (Vec<&str>, Vec<&str>) = self
            .values
            .iter()
            .map(String::as_str)
            .partition(|v| v.starts_with('!'));
        let any_positive =
            positive.is_empty() || positive.iter().any(|v| value_matches(self.key, v, secret));
        let any_negated = negated
            .iter()
            .any(|v| value_matches(self.key, &v[1..], secret));
        any_positive && !any_negated
    }
}

/// True when `secret` passes every filter.
pub fn matches_all(filters: &[Filter], secret: &Secret) -> bool {
    filters.iter().all(|f| f.matches(secret))
}

fn value_matches(key: FilterKey, value: &str, secret: &Secret) -> bool {
    let tags = secret.tags.as_deref().unwrap_or_default();
    match key {
        FilterKey::Name => secret.name.starts_with(value),
        FilterKey::Description => secret
            .description
            .as_deref()
            .is_some_and(|d| words_match(&whitespace_words(value), &whitespace_words(d))),
        FilterKey::TagKey => tags.iter().any(|t| t.key.starts_with(value)),
        FilterKey::TagValue => tags.iter().any(|t| t.value.starts_with(value)),
        FilterKey::PrimaryRegion => secret
            .effective_primary_region()
            .is_some_and(|r| r.starts_with(value)),
        FilterKey::OwningService => secret
            .owned_by
            .as_ref()
            .is_some_and(|o| o.service.starts_with(value)),
        FilterKey::All => {
            let wanted = search_words(value);
            let mut attributes: Vec<&str> = vec![&secret.name];
            attributes.extend(secret.description.as_deref());
            attributes.extend(tags.iter().map(|t| t.key.as_str()));
            attributes.extend(tags.iter().map(|t| t.value.as_str()));
            attributes
                .iter()
                .any(|attribute| words_match(&wanted, &search_words(attribute)))
        }
    }
}

/// Every wanted word is a case-insensitive prefix of some word of the attribute; an empty
/// search (only punctuation) matches nothing.
fn words_match(wanted: &[String], words: &[String]) -> bool {
    !wanted.is_empty()
        && wanted
            .iter()
            .all(|w| words.iter().any(|word| word.starts_with(w.as_str())))
}

fn whitespace_words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_lowercase).collect()
}

/// Words as the `all` filter sees them: split at anything not a letter or digit, between a
/// lower-case and an upper-case letter, between letters and digits, and before the last capital
/// of a capital run that a lower-case letter follows (`COMPANYthings` → `compan`, `ythings`).
fn search_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).map(|p| &chars[p]) {
            let next = chars.get(i + 1).copied();
            let boundary = prev.is_alphanumeric()
                && ((prev.is_lowercase() && c.is_uppercase())
                    || (prev.is_alphabetic() != c.is_alphabetic())
                    || (prev.is_uppercase()
                        && c.is_uppercase()
                        && next.is_some_and(|n| n.is_lowercase())));
            if boundary && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Tag;

    fn secret(name: &str, description: Option<&str>, tags: &[(&str, &str)]) -> Secret {
        Secret {
            arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-abcdef"),
            name: name.into(),
            account: "000000000000".into(),
            region: "us-east-1".into(),
            description: description.map(str::to_string),
            kms_key_id: None,
            secret_type: None,
            tags: Some(
                tags.iter()
                    .map(|(k, v)| Tag {
                        key: k.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
            ),
            created_ms: 0,
            last_changed_ms: 0,
            last_accessed_ms: None,
            deleted_ms: None,
            versions: vec![],
            ..Secret::default()
        }
    }

    fn f(key: FilterKey, values: &[&str]) -> Filter {
        Filter {
            key,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn names(filters: &[Filter], secrets: &[Secret]) -> Vec<String> {
        secrets
            .iter()
            .filter(|s| matches_all(filters, s))
            .map(|s| s.name.clone())
            .collect()
    }

    #[test]
    fn name_is_a_case_sensitive_prefix_of_the_whole_name() {
        let s = [
            secret("testing1/one", None, &[]),
            secret("/testing2/two", None, &[]),
            secret("testing3/three", None, &[]),
            secret("/testing4/four", None, &[]),
        ];
        assert_eq!(
            names(&[f(FilterKey::Name, &["/"])], &s),
            ["/testing2/two", "/testing4/four"]
        );
        assert_eq!(
            names(&[f(FilterKey::Name, &["!/"])], &s),
            ["testing1/one", "testing3/three"]
        );
        assert!(names(&[f(FilterKey::Name, &["testing1 one"])], &s).is_empty());
        assert!(names(&[f(FilterKey::Name, &["Testing"])], &s).is_empty());
    }

    #[test]
    fn description_matches_word_prefixes_case_insensitively() {
        let s = [
            secret("1", Some("a secret"), &[]),
            secret("2", Some("an secret"), &[]),
            secret("3", Some("asecret"), &[]),
            secret("4", Some("thesecret"), &[]),
        ];
        assert_eq!(
            names(&[f(FilterKey::Description, &["a"])], &s),
            ["1", "2", "3"]
        );
        assert_eq!(names(&[f(FilterKey::Description, &["!a"])], &s), ["4"]);
        assert_eq!(
            names(&[f(FilterKey::Description, &["!c"])], &s),
            ["1", "2", "3", "4"]
        );
        assert_eq!(
            names(&[f(FilterKey::Description, &["a secret"])], &s),
            ["1", "2"]
        );
        assert_eq!(
            names(&[f(FilterKey::Description, &["A SECRET"])], &s),
            ["1", "2"]
        );
    }

    #[test]
    fn filters_are_anded_and_values_ored() {
        let s = [
            secret("one", Some("one two"), &[]),
            secret("two", Some("one"), &[]),
            secret("three", Some("two"), &[]),
        ];
        let both = [
            f(FilterKey::Description, &["one"]),
            f(FilterKey::Description, &["two"]),
        ];
        assert_eq!(names(&both, &s), ["one"]);
        assert_eq!(
            names(&[f(FilterKey::Name, &["one", "two"])], &s),
            ["one", "two"]
        );
    }

    #[test]
    fn tags_match_by_prefix() {
        let s = [
            secret("t", None, &[("Environment", "production")]),
            secret("u", None, &[]),
        ];
        assert_eq!(names(&[f(FilterKey::TagKey, &["Env"])], &s), ["t"]);
        assert!(names(&[f(FilterKey::TagKey, &["env"])], &s).is_empty());
        assert_eq!(names(&[f(FilterKey::TagValue, &["prod"])], &s), ["t"]);
        assert_eq!(names(&[f(FilterKey::TagValue, &["!prod"])], &s), ["u"]);
    }

    #[test]
    fn all_splits_words_like_aws() {
        let s = [
            secret("SecretOne", None, &[]),
            secret("SecretTwo", None, &[]),
            secret("prod/AppBeta/x", None, &[]),
            secret("prod_AppBeta_x", None, &[]),
            secret("uat/COMPANY/x", None, &[]),
            secret("uat/COMPANYthings/x", None, &[]),
            secret("other", Some("DescTwo"), &[]),
        ];
        assert_eq!(
            names(&[f(FilterKey::All, &["SecretOne"])], &s),
            ["SecretOne"]
        );
        assert_eq!(
            names(&[f(FilterKey::All, &["sec"])], &s),
            ["SecretOne", "SecretTwo"]
        );
        assert!(names(&[f(FilterKey::All, &["ret"])], &s).is_empty());
        assert_eq!(
            names(&[f(FilterKey::All, &["Beta"])], &s),
            ["prod/AppBeta/x", "prod_AppBeta_x"]
        );
        assert_eq!(
            names(&[f(FilterKey::All, &["AppBeta"])], &s),
            ["prod/AppBeta/x", "prod_AppBeta_x"]
        );
        assert!(names(&[f(FilterKey::All, &["+"])], &s).is_empty());
        assert_eq!(
            names(&[f(FilterKey::All, &["company"])], &s),
            ["uat/COMPANY/x"]
        );
        assert_eq!(
            names(&[f(FilterKey::All, &["Ythings"])], &s),
            ["uat/COMPANYthings/x"]
        );
        assert_eq!(names(&[f(FilterKey::All, &["d t"])], &s), ["other"]);
    }
}
