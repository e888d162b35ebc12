//! The typed form of a policy document, as `validate` builds it from JSON: what evaluation
//! (`auth::policy`) walks instead of the JSON text.

/// Which kind of policy a document is: a resource policy names its principals, an identity
/// policy (attached to a principal) must not, and needs a Resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Resource,
    Identity,
}

/// A policy document. `Id` is accepted and not kept: nothing evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// `None` when the document has no `Version`.
    pub version: Option<Version>,
    /// Never empty: a single statement object is a list of one.
    pub statements: Vec<Statement>,
}

/// The policy language versions IAM accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2012_10_17,
    V2008_10_17,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        match text {
            "2012-10-17" => Some(Version::V2012_10_17),
            "2008-10-17" => Some(Version::V2008_10_17),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Kept when it is a string; the grammar takes any value and nothing evaluates it.
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal`/`NotPrincipal`: always there in a resource policy, never in an identity one.
    pub principal: Option<PrincipalMatch>,
    pub actions: ActionMatch,
    pub resources: ResourceMatch,
    /// Every condition must hold (the operators and keys of `Condition`, one entry per key).
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` names whom the statement is about; `NotPrincipal` everyone but them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalMatch {
    Principal(Principals),
    NotPrincipal(Principals),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`.
    Everyone,
    /// `{"AWS": …, "Service": …}`: ids by principal type, each type once.
    Ids(Vec<(PrincipalType, Vec<String>)>),
}

impl Principals {
    /// The `AWS` ids: account ids, `…:root`, user and role ARNs (with `*` wildcards), `"*"`.
    pub fn aws(&self) -> &[String] {
        match self {
            Principals::Everyone => &[],
            Principals::Ids(ids) => ids
                .iter()
                .find(|(kind, _)| *kind == PrincipalType::Aws)
                .map_or(&[], |(_, ids)| ids.as_slice()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalType {
    pub fn parse(text: &str) -> Option<PrincipalType> {
        Some(match text {
            "AWS" => PrincipalType::Aws,
            "Service" => PrincipalType::Service,
            "Federated" => PrincipalType::Federated,
            "CanonicalUser" => PrincipalType::CanonicalUser,
            _ => return None,
        })
    }
}

/// `Action` matches the listed actions, `NotAction` all others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionMatch {
    Action(Vec<Pattern>),
    NotAction(Vec<Pattern>),
}

impl ActionMatch {
    pub fn patterns(&self) -> &[Pattern] {
        match self {
            ActionMatch::Action(p) | ActionMatch::NotAction(p) => p,
        }
    }
}

/// `Resource` matches the listed resources, `NotResource` all others; a resource policy may
/// name neither, and then the statement is about any resource (its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceMatch {
    Any,
    Resource(Vec<Pattern>),
    NotResource(Vec<Pattern>),
}

/// A string of a policy that may hold policy variables (`${aws:PrincipalTag/team}`) and, where
/// it is a pattern, `*` and `?` wildcards. Whether it holds a variable is known once, so a
/// request needs no scan for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    variables: bool,
}

impl Pattern {
    pub fn new(text: impl Into<String>) -> Pattern {
        let text = text.into();
        Pattern {
            variables: text.contains("${"),
            text,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn has_variables(&self) -> bool {
        self.variables
    }
}

/// One operator over one key: `"StringEquals": {"aws:ResourceTag/team": ["a", "b"]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    /// As written; keys compare without case.
    pub key: String,
    /// Strings, numbers and booleans by their JSON text; several OR together.
    pub values: Vec<Pattern>,
}

/// A condition operator, read from its name by `Operator::parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `Null`: whether the key is absent. A set qualifier or `IfExists` on it changes nothing.
    Null,
    Compare(Comparison),
    /// A prefix other than `ForAnyValue:`/`ForAllValues:`: the condition never holds.
    Unsupported,
}

/// A comparison operator with its qualifiers: `ForAllValues:StringNotEqualsIfExists` is
/// `StringEquals`, negated, over all values, if the key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub set: Option<SetQualifier>,
    pub test: Test,
    /// The `Not` forms (`StringNotEquals`, `NotIpAddress`): the test must fail.
    pub negated: bool,
    /// `…IfExists`: a missing key satisfies the condition.
    pub if_exists: bool,
}

/// How a multi-valued key's values combine: any one, or every one, must satisfy the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// The comparison of one request value with one policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnEquals,
    ArnLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    /// A name this crate does not know (the grammar takes any): no value satisfies it, so
    /// such a condition fails closed wherever a value is compared.
    Unknown,
}

impl Operator {
    /// Reads an operator name: an optional `ForAnyValue:`/`ForAllValues:` prefix, the base
    /// name, an optional `IfExists` suffix (stripped once).
    pub fn parse(name: &str) -> Operator {
        let (set, name) = match name.split_once(':') {
            Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
            Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
            Some(_) => return Operator::Unsupported,
            None => (None, name),
        };
        let (name, if_exists) = match name.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (name, false),
        };
        if name == "Null" {
            return Operator::Null;
        }
        let (test, negated) = match Test::negation(name) {
            Some(test) => (test, true),
            None => (Test::parse(name), false),
        };
        Operator::Compare(Comparison {
            set,
            test,
            negated,
            if_exists,
        })
    }
}

impl Test {
    fn parse(name: &str) -> Test {
        match name {
            "StringEquals" => Test::StringEquals,
            "StringEqualsIgnoreCase" => Test::StringEqualsIgnoreCase,
            "StringLike" => Test::StringLike,
            "ArnEquals" => Test::ArnEquals,
            "ArnLike" => Test::ArnLike,
            "NumericEquals" => Test::NumericEquals,
            "NumericLessThan" => Test::NumericLessThan,
            "NumericLessThanEquals" => Test::NumericLessThanEquals,
            "NumericGreaterThan" => Test::NumericGreaterThan,
            "NumericGreaterThanEquals" => Test::NumericGreaterThanEquals,
            "DateEquals" => Test::DateEquals,
            "DateLessThan" => Test::DateLessThan,
            "DateLessThanEquals" => Test::DateLessThanEquals,
            "DateGreaterThan" => Test::DateGreaterThan,
            "DateGreaterThanEquals" => Test::DateGreaterThanEquals,
            "Bool" => Test::Bool,
            "IpAddress" => Test::IpAddress,
            _ => Test::Unknown,
        }
    }

    /// The negated operators and the test they negate.
    fn negation(name: &str) -> Option<Test> {
        Some(match name {
            "StringNotEquals" => Test::StringEquals,
            "StringNotEqualsIgnoreCase" => Test::StringEqualsIgnoreCase,
            "StringNotLike" => Test::StringLike,
            "ArnNotEquals" => Test::ArnEquals,
            "ArnNotLike" => Test::ArnLike,
            "NumericNotEquals" => Test::NumericEquals,
            "DateNotEquals" => Test::DateEquals,
            "NotIpAddress" => Test::IpAddress,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(set: Option<SetQualifier>, test: Test, negated: bool, if_exists: bool) -> Operator {
        Operator::Compare(Comparison {
            set,
            test,
            negated,
            if_exists,
        })
    }

    #[test]
    fn operator_names_read_as_their_parts() {
        use SetQualifier::*;
        for (name, operator) in [
            (
                "StringEquals",
                compare(None, Test::StringEquals, false, false),
            ),
            (
                "StringNotLike",
                compare(None, Test::StringLike, true, false),
            ),
            ("NotIpAddress", compare(None, Test::IpAddress, true, false)),
            ("BoolIfExists", compare(None, Test::Bool, false, true)),
            (
                "ForAllValues:StringNotEqualsIfExists",
                compare(Some(ForAllValues), Test::StringEquals, true, true),
            ),
            (
                "ForAnyValue:DateGreaterThan",
                compare(Some(ForAnyValue), Test::DateGreaterThan, false, false),
            ),
            ("NoSuchOperator", compare(None, Test::Unknown, false, false)),
            // `IfExists` is stripped once; what is left must be a name.
            (
                "StringEqualsIfExistsIfExists",
                compare(None, Test::Unknown, false, true),
            ),
            ("BoolNot", compare(None, Test::Unknown, false, false)),
            ("Null", Operator::Null),
            ("NullIfExists", Operator::Null),
            ("ForAnyValue:Null", Operator::Null),
            ("Other:StringEquals", Operator::Unsupported),
            ("forallvalues:StringEquals", Operator::Unsupported),
            (
                "ForAnyValue:ForAllValues:Bool",
                compare(Some(ForAnyValue), Test::Unknown, false, false),
            ),
        ] {
            assert_eq!(Operator::parse(name), operator, "{name}");
        }
    }

    #[test]
    fn patterns_know_their_variables() {
        assert!(Pattern::new("secret:${aws:PrincipalTag/team}/*").has_variables());
        assert!(Pattern::new("${*}").has_variables());
        assert!(!Pattern::new("secret:$team/{x}").has_variables());
        assert_eq!(Pattern::new("a*").as_str(), "a*");
    }

    #[test]
    fn principals_give_their_aws_ids() {
        let ids = Principals::Ids(vec![
            (PrincipalType::Service, vec!["lambda.amazonaws.com".into()]),
            (PrincipalType::Aws, vec!["111111111111".into()]),
        ]);
        assert_eq!(ids.aws(), ["111111111111".to_string()]);
        assert!(Principals::Everyone.aws().is_empty());
        assert_eq!(PrincipalType::parse("AWS"), Some(PrincipalType::Aws));
        assert_eq!(PrincipalType::parse("aws"), None);
        assert_eq!(Version::parse("2008-10-17"), Some(Version::V2008_10_17));
        assert_eq!(Version::parse("2019-10-19"), None);
    }
}
