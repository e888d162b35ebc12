//! Native database rotators: the four steps of AWS's RDS rotation templates
//! (docs/aws-behaviour.md §R2.4, §R6.5 b), with the same secret JSON, the same checks and the same
//! label writes, done through secretsd's own operations rather than a Lambda.
//!
//! Single user: the user changes its own password. Alternating users: each rotation switches
//! between `user` and `user_clone`, which the master secret (`masterarn`) creates with the same
//! grants, so the credentials applications hold keep working until the next rotation.

mod db_secret;
mod mysql;
mod postgres;
mod session;
mod steps;
mod tls;

pub use steps::invoke;
pub use tls::RotationTls;
