//! Executors that run a rotation step in a child process (docs/aws-behaviour.md §R6.5):
//! - `exec`: the configured command, the Lambda event as JSON on stdin;
//! - `python`: a small runner that imports the handler's file and calls
//!   `handler(event, context)` as the Lambda runtime does, so AWS's templates run unmodified.
//!
//! Either way the Secrets Manager endpoint is in the environment and exit status 0 is success.

use crate::rotation::error::StepError;
use crate::rotation::function::{FunctionConfig, FunctionKind};
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

/// The Lambda runtime's part: load the handler's file as a module, give it a context, call it.
/// An exception is a function error: traceback on stderr, exit status 1.
const PYTHON_RUNNER: &str = r#"
import importlib.util, json, logging, os, sys, time
logging.basicConfig(level=logging.INFO)
path, name, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
deadline = time.monotonic() + timeout
class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    function_version = "$LATEST"
    aws_request_id = os.environ.get("ROTATION_TOKEN", "")
    memory_limit_in_mb = 128
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))
getattr(module, name)(json.load(sys.stdin), Context())
"#;

/// The program and arguments of one step.
fn command_line(function: &FunctionConfig) -> Result<(String, Vec<String>), StepError> {
    match function.kind {
        FunctionKind::Exec => function
            .command
            .split_first()
            .map(|(program, args)| (program.clone(), args.to_vec()))
            .ok_or_else(|| StepError::Process("the function's command is empty".into())),
        FunctionKind::Builtin | FunctionKind::Webhook => {
            Err(StepError::Process("not a process-run function".into()))
        }
        FunctionKind::Python => {
            let handler = function.handler.as_deref().unwrap_or_default();
            let (file, name) = handler.rsplit_once('.').ok_or_else(|| {
                StepError::Process(format!("handler {handler} is not path/to/file.function"))
            })?;
            let python = function.python.clone().unwrap_or_else(|| "python3".into());
            Ok((
                python,
                vec![
                    "-c".into(),
                    PYTHON_RUNNER.into(),
                    format!("{file}.py"),
                    name.into(),
                    function.timeout_s.to_string(),
                ],
            ))
        }
    }
}

/// Runs one step. `Err` carries the text the RotationFailed event shows.
pub async fn invoke(
    function: &FunctionConfig,
    event: &serde_json::Value,
    env: &[(String, String)],
) -> Result<(), StepError> {
    let (program, args) = command_line(function)?;
    let program = program.as_str();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(function.env.iter())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout also stops whatever the step started.
        .process_group(0)
        .spawn()
        .map_err(|e| StepError::Process(format!("cannot start {program}: {e}")))?;
    let group = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(event.to_string().as_bytes()).await;
    }
    let timeout = Duration::from_secs(function.timeout_s);
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => {
            if let Some(pgid) = group.and_then(|id| libc::pid_t::try_from(id).ok()) {
                // SAFETY: killpg only sends a signal; the group is the one this step created.
                unsafe { libc::killpg(pgid, libc::SIGKILL) };
            }
            Err(StepError::TimedOut(function.timeout_s))
        }
        Ok(Err(e)) => Err(StepError::Process(format!(
            "cannot wait for {program}: {e}"
        ))),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let said = if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            };
            Err(StepError::Process(format!(
                "{} ({})",
                tail(&said),
                output.status
            )))
        }
    }
}
