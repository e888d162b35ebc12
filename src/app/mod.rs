//! The state every part of the server shares (`Ctx`), and the one path by which a change of a
//! secret reaches the store (`commit`), with what must follow every change: its audit record
//! and its replicas.

mod commit;
mod ctx;
pub mod replicas;

pub use commit::{commit, remove};
pub use ctx::Ctx;
