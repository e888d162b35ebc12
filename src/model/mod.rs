//! The domain model: pure rules about secrets, with no knowledge of HTTP, storage or tokio.

pub mod arn;
pub mod filter;
pub mod password;
pub mod policy;
pub mod schedule;
pub mod secret;
pub mod stages;
pub mod validate;
