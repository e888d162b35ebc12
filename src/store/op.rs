//! The unit of change the engine, its journal and its overlay share: raw key-value steps.

/// One entry read from the table (key, value), or why it could not be.
pub type Entry = Result<(Vec<u8>, Vec<u8>), String>;

/// One step of a change, applied in order.
#[derive(Debug, Clone)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// Every key that starts with these bytes.
    RemovePrefix(Vec<u8>),
    /// Every key.
    Clear,
}
