//! Resource policies through aws-sdk-rust (docs/aws-behaviour.md §3.5).

mod common;

use common::*;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*"}]}"#;

#[tokio::test]
async fn policies_are_stored_validated_and_removed() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("p")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let none = sm
        .get_resource_policy()
        .secret_id("p")
        .send()
        .await
        .unwrap();
    assert!(none.resource_policy().is_none());
    sm.put_resource_policy()
        .secret_id("p")
        .resource_policy(POLICY)
        .send()
        .await
        .unwrap();
    let got = sm
        .get_resource_policy()
        .secret_id("p")
        .send()
        .await
        .unwrap();
    assert_eq!(got.resource_policy(), Some(POLICY));
    // (aws-sdk-secretsmanager 1.125 predates ListResourcePolicies; the boto3 suite covers it.)
    sm.delete_resource_policy()
        .secret_id("p")
        .send()
        .await
        .unwrap();
    let none = sm
        .get_resource_policy()
        .secret_id("p")
        .send()
        .await
        .unwrap();
    assert!(none.resource_policy().is_none());

    let (code, message) = error_of(
        sm.put_resource_policy()
            .secret_id("p")
            .resource_policy(r#"{"Version":"2019-10-19","Statement":[]}"#)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "MalformedPolicyDocumentException",
            "This policy has invalid syntax."
        )
    );
    let (code, _) = error_of(
        sm.put_resource_policy()
            .secret_id("p")
            .resource_policy(PUBLIC)
            .block_public_policy(true)
            .send()
            .await,
    );
    assert_eq!(code, "PublicPolicyException");
    let verdict = sm
        .validate_resource_policy()
        .resource_policy(PUBLIC)
        .send()
        .await
        .unwrap();
    assert!(!verdict.policy_validation_passed());
    let verdict = sm
        .validate_resource_policy()
        .resource_policy(POLICY)
        .send()
        .await
        .unwrap();
    assert!(verdict.policy_validation_passed());
    assert!(verdict.validation_errors().is_empty());
}
