//! Rotation: the four-step engine, its scheduler and executors (docs/aws-behaviour.md §R6).
//!
//! RotateSecret (or the scheduler) prepares a job inside the secret's record — a value-less
//! AWSPENDING version named by the job's token — and kicks the worker; the worker runs
//! createSecret → setSecret → testSecret → finishSecret through the function's executor, then
//! checks that AWSCURRENT reached the token. Failures are recorded and retried with the same
//! token. Jobs and due times live in the store, so a restart resumes them.

pub(crate) mod builtin;
pub mod client;
mod engine;
pub mod error;
mod exec;
pub mod function;
pub mod handle;
pub mod rules;
mod webhook;

pub use engine::run_worker;
pub use handle::{RotationHandle, RotationReceiver};
pub use rules::{check_invokable, function_for, on_new_current, prepare, schedule_next};
