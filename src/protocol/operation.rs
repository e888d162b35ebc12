//! The operations of the Secrets Manager API, named as in `X-Amz-Target: secretsmanager.<Op>`.

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// Every operation of the 2017-10-17 API (botocore 1.44.8, docs/aws-behaviour.md §1.2).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name)),* }
            }

            /// The IAM action, `secretsmanager:<Operation>`.
            pub fn action(self) -> &'static str {
                match self { $(Operation::$name => concat!("secretsmanager:", stringify!($name))),* }
            }

            /// `secretsmanager.GetSecretValue` → `GetSecretValue`; anything else → `None`.
            pub fn from_target(target: &str) -> Option<Operation> {
                let name = target.strip_prefix("secretsmanager.")?;
                match name {
                    $(stringify!($name) => Some(Operation::$name),)*
                    _ => None,
                }
            }
        }
    };
}

operations!(
    BatchGetSecretValue,
    CancelRotateSecret,
    CreateSecret,
    DeleteResourcePolicy,
    DeleteSecret,
    DescribeSecret,
    GetRandomPassword,
    GetResourcePolicy,
    GetSecretValue,
    ListSecretVersionIds,
    ListSecrets,
    PutResourcePolicy,
    PutSecretValue,
    RemoveRegionsFromReplication,
    ReplicateSecretToRegions,
    RestoreSecret,
    RotateSecret,
    StopReplicationToReplica,
    TagResource,
    UntagResource,
    UpdateSecret,
    UpdateSecretVersionStage,
    ValidateResourcePolicy,
    AssociateCrossAccountReplica,
    DisassociateCrossAccountReplica,
    ListResourcePolicies,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_operations() {
        assert_eq!(Operation::ALL.len(), 26);
        assert_eq!(
            Operation::from_target("secretsmanager.GetSecretValue"),
            Some(Operation::GetSecretValue)
        );
        assert_eq!(Operation::from_target("secretsmanager.Nope"), None);
        assert_eq!(Operation::from_target("GetSecretValue"), None);
        for op in Operation::ALL {
            assert_eq!(
                Operation::from_target(&format!("secretsmanager.{}", op.name())),
                Some(*op)
            );
            assert_eq!(op.action(), format!("secretsmanager:{}", op.name()));
        }
    }
}
