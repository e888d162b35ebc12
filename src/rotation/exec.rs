//! The `exec` executor: one process per step, the Lambda event as JSON on stdin, the Secrets
//! Manager endpoint in its environment, exit status 0 for success (spec/rotation.md §6.5 c).

use crate::config::FunctionConfig;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Output kept from a failed step, from the end (where errors are).
const ERROR_TAIL: usize = 500;

fn tail(text: &str) -> String {
    let text = text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(ERROR_TAIL)
        .map_or(0, |(i, _)| i);
    text[start..].to_string()
}

/// Runs one step. `Err` carries the text the RotationFailed event shows.
pub async fn invoke(
    function: &FunctionConfig,
    event: &serde_json::Value,
    env: &[(String, String)],
) -> Result<(), String> {
    let (program, args) = function
        .command
        .split_first()
        .ok_or_else(|| "the function's command is empty".to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(function.env.iter())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(event.to_string().as_bytes()).await;
    }
    let timeout = Duration::from_secs(function.timeout_s);
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "Task timed out after {} seconds",
            function.timeout_s
        )),
        Ok(Err(e)) => Err(format!("cannot wait for {program}: {e}")),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let said = if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            };
            Err(format!("{} ({})", tail(&said), output.status))
        }
    }
}
