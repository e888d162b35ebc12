//! Why a rotation step failed, in the words its RotationFailed event records
//! (docs/aws-behaviour.md §R6.4, §R6.5). Tests read these texts from the events, so each variant's
//! text is the one the step always gave.

use crate::error::{messages, ApiError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The step ran past the function's timeout: Lambda's words, whichever executor ran it.
    #[error("Task timed out after {0} seconds")]
    TimedOut(u64),
    /// The secret's rotation names a function the configuration no longer has.
    #[error("the rotation function is no longer configured")]
    NotConfigured,
    /// finishSecret succeeded but left AWSCURRENT where it was.
    #[error("finishSecret returned without moving AWSCURRENT to the pending version")]
    CurrentNotMoved,
    /// One step of a function failed; `what` names the function as AWS's event does.
    #[error("Error when executing {what} during {step} step: {error}")]
    InStep {
        what: String,
        step: String,
        error: Box<StepError>,
    },
    /// A Secrets Manager call the built-in rotator made was refused.
    #[error("{call}: {}: {}", .error.code.as_str(), .error.message)]
    Api { call: &'static str, error: ApiError },
    /// The pending version the step needs has no value.
    #[error("{}", messages::version_id_not_found(.0))]
    NoPendingValue(String),
    /// The pending value names another database host than the one rotated (the templates'
    /// guard against being pointed elsewhere).
    #[error("Attempting to modify user for host {pending} other than current host {current}")]
    OtherHost { pending: String, current: String },
    /// The secret's value or labels break a rule of AWS's rotation templates.
    #[error("{0}")]
    Template(String),
    /// A database refused the login or a statement, or could not be reached.
    #[error("{0}")]
    Database(String),
    /// A database did not answer a login within `CONNECT_TIMEOUT`.
    #[error("connecting to {host}:{port} timed out")]
    ConnectTimedOut { host: String, port: u16 },
    /// A TLS login failed and so did the plain one that followed it.
    #[error("{plain} (over TLS: {tls})")]
    BothLoginsFailed {
        plain: Box<StepError>,
        tls: Box<StepError>,
    },
    /// The trusted roots for the rotators' TLS logins could not be loaded.
    #[error("{0}")]
    TrustedRoots(String),
    /// A process-run function could not be run, or exited with failure (its output's end).
    #[error("{0}")]
    Process(String),
    /// A webhook function could not be reached, or answered with failure.
    #[error("{0}")]
    Webhook(String),
}
