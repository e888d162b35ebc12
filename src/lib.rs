//! secretsd: a local, durable, wire-compatible AWS Secrets Manager.
//!
//! The layout follows the path of a request: `server` (HTTP) →
//! `protocol` (awsJson1_1) → `auth` (SigV4) → `api` (one function per operation) → `model`
//! (pure rules) and `store` (redb, encryption).

pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod model;
pub mod protocol;
pub mod rotation;
pub mod server;
pub mod store;

pub use clock::Clock;
pub use config::Config;
pub use server::Server;
pub use store::Location;
