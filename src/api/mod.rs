//! The operations, one file per family (`secrets`, `values`, `list`, `rotation`, `tags`,
//! `policy`, `replication`, `random`, `managed`): each operation has a wire input whose
//! `protocol::Input::validate` makes the checked request, and one async function
//! `op(ctx, caller, request) -> Result<output>`. `dispatch` routes a request to its operation;
//! `lookup`, `write` and `metadata` hold what the families share, once.

pub mod access;
pub mod dispatch;
pub mod for_rotators;
pub mod list;
pub mod lookup;
pub mod managed;
pub mod metadata;
pub mod output;
pub mod policy;
pub mod random;
pub mod replication;
pub mod rotation;
pub mod secrets;
pub mod sweep;
pub mod tags;
pub mod values;
pub mod write;

pub use access::Call;
pub use dispatch::dispatch;
pub use output::{Answer, Identified, NoOutput, Output};
pub use sweep::purge_due_deletions;
