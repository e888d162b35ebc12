//! RotateSecret / CancelRotateSecret through aws-sdk-rust with an in-process server whose
//! rotation functions are `exec` commands (docs/aws-behaviour.md §3.3, §R1.3–§R1.9).

mod common;

use aws_sdk_secretsmanager::types::RotationRulesType;
use common::*;
use secretsd::rotation::function::{FunctionConfig, FunctionKind};
use secretsd::Server;

const FAILING: &str = "arn:aws:lambda:us-east-1:000000000000:function:always-fails";

async fn start_with_failing_function() -> TestServer {
    let mut config = common::config();
    config.functions.insert(
        "always-fails".into(),
        FunctionConfig {
            command: vec!["false".into()],
            timeout_s: 5,
            ..FunctionConfig::new(FunctionKind::Exec)
        },
    );
    Server::start(config).await.unwrap().into()
}

#[tokio::test]
async fn rotation_needs_an_invokable_function() {
    let server = start().await;
    let sm = client(&server);
    sm.create_secret()
        .name("r")
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(sm.rotate_secret().secret_id("r").send().await);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(
        message,
        "No Lambda rotation function ARN is associated with this secret."
    );
    let (code, _) = error_of(
        sm.rotate_secret()
            .secret_id("r")
            .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:unknown")
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");
    let d = sm.describe_secret().secret_id("r").send().await.unwrap();
    assert!(d.rotation_enabled().is_none() && d.rotation_lambda_arn().is_none());
}

#[tokio::test]
async fn a_failing_function_leaves_the_pending_placeholder() {
    let server = start_with_failing_function().await;
    let sm = client(&server);
    let created = sm
        .create_secret()
        .name("f")
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let out = sm
        .rotate_secret()
        .secret_id("f")
        .rotation_lambda_arn(FAILING)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let token = out.version_id().unwrap().to_string();
    // The placeholder is visible at once, without a value.
    let d = sm.describe_secret().secret_id("f").send().await.unwrap();
    assert_eq!(d.version_ids_to_stages().unwrap()[&token], ["AWSPENDING"]);
    assert_eq!(d.rotation_enabled(), Some(true));
    let (code, message) = error_of(
        sm.get_secret_value()
            .secret_id("f")
            .version_stage("AWSPENDING")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"
    );
    let listed = sm
        .list_secret_version_ids()
        .secret_id("f")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.versions().len(),
        1,
        "the placeholder has no value, so it is not listed"
    );
    // Wait for the first attempt to fail.
    let mut failed = false;
    for _ in 0..100 {
        let (code, message) = error_of(sm.rotate_secret().secret_id("f").send().await);
        assert_eq!(code, "InvalidRequestException");
        assert_eq!(
            message,
            "A previous rotation isn't complete. That rotation will be reattempted."
        );
        let d = sm.describe_secret().secret_id("f").send().await.unwrap();
        if d.version_ids_to_stages().unwrap()[&token] == ["AWSPENDING"]
            && d.last_rotated_date().is_none()
        {
            failed = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if failed {
            break;
        }
    }
    assert!(failed);
    let current = sm.get_secret_value().secret_id("f").send().await.unwrap();
    assert_eq!(current.version_id(), created.version_id());
    // Cancel names the incomplete version and keeps the configuration visible.
    let cancelled = sm
        .cancel_rotate_secret()
        .secret_id("f")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.version_id(), Some(token.as_str()));
    let d = sm.describe_secret().secret_id("f").send().await.unwrap();
    assert_eq!(d.rotation_enabled(), Some(false));
    assert_eq!(d.rotation_lambda_arn(), Some(FAILING));
    assert_eq!(
        d.rotation_rules().unwrap().automatically_after_days(),
        Some(7)
    );
    assert!(d.next_rotation_date().is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn rotation_rules_are_validated() {
    let server = start_with_failing_function().await;
    let sm = client(&server);
    sm.create_secret()
        .name("v")
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let both = RotationRulesType::builder()
        .automatically_after_days(1)
        .schedule_expression("rate(1 day)")
        .build();
    let (code, message) = error_of(
        sm.rotate_secret()
            .secret_id("v")
            .rotation_lambda_arn(FAILING)
            .rotation_rules(both)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "You cannot specify both rotation frequency and schedule expression together."
    );
    let (code, _) = error_of(
        sm.rotate_secret()
            .secret_id("v")
            .rotation_lambda_arn(FAILING)
            .rotation_rules(
                RotationRulesType::builder()
                    .schedule_expression("rate(2 hours)")
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(sm.cancel_rotate_secret().secret_id("v").send().await);
    assert_eq!(code, "InvalidRequestException");
}

#[tokio::test]
async fn a_step_that_times_out_is_killed_with_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleeper.pid");
    let server = start_with_config(&format!(
        "[functions.hangs]\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"sleep 300 & echo $! > {}; wait\"]\ntimeout_s = 1\n",
        pid_file.display()
    ))
    .await;
    let sm = client(&server);
    sm.create_secret()
        .name("slow")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let out = sm
        .rotate_secret()
        .secret_id("slow")
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:hangs")
        .send()
        .await
        .unwrap();
    let arn = out.arn().unwrap();
    let mut detail = None;
    for _ in 0..300 {
        let status = admin(
            &server,
            "GET",
            &format!("/_secretsd/rotations?secret={arn}"),
            "",
        )
        .await;
        if let Some(e) = status["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "RotationFailed")
        {
            detail = e["detail"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        detail.as_deref(),
        Some("Error when executing lambda arn:aws:lambda:us-east-1:000000000000:function:hangs during createSecret step: Task timed out after 1 seconds")
    );
    // The shell's background sleep went with it: no orphan keeps running.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = format!("/proc/{}", pid.trim());
    let mut gone = false;
    for _ in 0..100 {
        let state = std::fs::read_to_string(format!("{proc_dir}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the step's child {pid} still runs");
    server.shutdown().await;
}
