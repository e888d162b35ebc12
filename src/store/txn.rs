//! A change to one secret: read under the secret's lock, turned into engine operations
//! (values, indexes, hints, the record, what is kept apart) and committed as one batch.

use super::contents::{Contents, View};
use super::engine::{Held, Op};
use super::keys::{
    apart_entry, apart_key, apart_prefix, apart_times, deprecated_id_hash, hint_key, record_key,
    split_apart_entry, value_key, Hint, ListOrder,
};
use crate::error::ApiResult;
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version};
use crate::model::stages;
use tokio::sync::MutexGuard;

/// Prune's view of the deprecated versions kept apart: taking one moves it into the change.
impl stages::KeptApart for SecretTxn<'_> {
    fn count(&self) -> usize {
        let apart = self.original.as_ref().map_or(0, |s| s.deprecated.len());
        apart.saturating_sub(self.taken.len())
    }

    fn take_oldest(&mut self) -> ApiResult<Option<Version>> {
        let Some(original) = self
            .original
            .as_ref()
            .filter(|_| stages::KeptApart::count(self) > 0)
        else {
            return Ok(None);
        };
        let snapshot = self.view().snapshot()?;
        for at in apart_times(original) {
            for version in self.contents.apart_at(&*snapshot, &self.key, at)? {
                if !self.taken.iter().any(|v| v.id == version.id) {
                    self.taken.push(version.clone());
                    return Ok(Some(version));
                }
            }
        }
        Ok(None)
    }
}

/// An open change to one secret. Nothing is visible until `commit`; dropping it abandons it.
pub struct SecretTxn<'a> {
    pub(super) contents: &'a Contents,
    pub(super) key: SecretKey,
    pub(super) original: Option<Secret>,
    pub(super) sealed: Vec<(String, Vec<u8>)>,
    /// Deprecated versions taken from where they are kept apart into the working record: the
    /// commit writes them back apart, or removes them.
    pub(super) taken: Vec<Version>,
    /// The engine's lock, for engines other processes share: reads go through it, and the
    /// commit (dropping it abandons the change, before `_guard` goes).
    pub(super) held: Option<Box<dyn Held>>,
    pub(super) _guard: MutexGuard<'a, ()>,
}

impl SecretTxn<'_> {
    /// The record as it was when the change began.
    pub fn current(&self) -> Option<&Secret> {
        self.original.as_ref()
    }

    pub fn read_value(&self, secret: &Secret, version: &Version) -> ApiResult<SecretValue> {
        self.contents.read_value(self.view(), secret, version)
    }

    /// Where the change reads: under the engine's lock if it has one.
    fn view(&self) -> View<'_> {
        match &self.held {
            Some(held) => View::Locked(&**held),
            None => self.contents.latest(),
        }
    }

    /// Version `id` of `secret`, in its record or kept apart. One kept apart is moved into
    /// `secret.versions`, where it can be relabelled or touched like any other.
    pub fn version<'s>(
        &mut self,
        secret: &'s mut Secret,
        id: &str,
    ) -> ApiResult<Option<&'s mut Version>> {
        if secret.version(id).is_none() && !self.taken.iter().any(|v| v.id == id) {
            if let Some(found) = self.contents.find_version(self.view(), secret, id)? {
                self.taken.push(found.clone());
                secret.versions.push(found);
            }
        }
        Ok(secret.version_mut(id))
    }

    /// Seals `value` as the value of `version_id` of `secret`, to be written on commit.
    pub fn put_value(&mut self, secret: &Secret, version_id: &str, value: &SecretValue) {
        let sealed = self.contents.sealer.seal_value(secret, version_id, value);
        self.sealed.push((version_id.to_string(), sealed));
    }

    /// The change as engine operations: values, index entries and hints, record, garbage.
    fn ops(&self, new: Option<&Secret>) -> ApiResult<Vec<Op>> {
        let key = &self.key;
        // Values go beside the record, except those of versions kept apart (`set_apart`).
        let mut ops: Vec<Op> = self
            .sealed
            .iter()
            .filter(|(id, _)| {
                new.and_then(|s| s.version(id))
                    .is_none_or(|v| !v.is_deprecated())
            })
            .map(|(version_id, sealed)| Op::Put(value_key(key, version_id), sealed.clone()))
            .collect();
        let index_keys = |secret: Option<&Secret>| -> Vec<Option<Vec<u8>>> {
            ListOrder::INDEXED
                .iter()
                .map(|o| secret.map(|s| o.index_key(key, o.date_of(s))))
                .collect()
        };
        let old_index = index_keys(self.original.as_ref());
        let new_index = index_keys(new);
        for (old, new) in old_index.into_iter().zip(new_index) {
            if old != new {
                ops.extend(old.map(Op::Remove));
                ops.extend(new.map(|k| Op::Put(k, Vec::new())));
            }
        }
        for hint in [Hint::Deletion, Hint::Rotation] {
            let old = self.original.as_ref().and_then(|s| hint.time_of(s));
            let current = new.and_then(|s| hint.time_of(s));
            if old != current {
                ops.extend(old.map(|at| Op::Remove(hint_key(hint, key, at))));
                ops.extend(current.map(|at| Op::Put(hint_key(hint, key, at), Vec::new())));
            }
        }
        let record_key = record_key(key);
        match new {
            Some(secret) => {
                let record = self.set_apart(secret, &mut ops)?;
                let sealed = self.contents.sealer.seal_record(&record_key, &record)?;
                ops.push(Op::Put(record_key, sealed));
            }
            // Every value of the secret, including any orphan left behind.
            None => {
                ops.push(Op::Remove(record_key));
                ops.push(Op::RemovePrefix(value_key(key, "")));
                for at in self.original.iter().flat_map(apart_times) {
                    ops.push(Op::RemovePrefix(apart_prefix(key, at)));
                }
            }
        }
        Ok(ops)
    }

    /// The record to store for `secret`: its labelled versions, while the deprecated ones are
    /// written apart with their values (those without a value are dropped). A version kept
    /// apart that is labelled again moves back. Versions that left `secret` since the change
    /// began are removed with their values.
    fn set_apart(&self, secret: &Secret, ops: &mut Vec<Op>) -> ApiResult<Secret> {
        let key = &self.key;
        let snapshot = self.view().snapshot()?;
        let apart_value = |version: &Version| -> ApiResult<Option<Vec<u8>>> {
            Ok(snapshot
                .get(&apart_key(key, version))?
                .and_then(|entry| split_apart_entry(&entry).map(|(_, value)| value.to_vec())))
        };
        let mut apart = self
            .original
            .as_ref()
            .map(|s| s.deprecated.clone())
            .unwrap_or_default();
        for version in &self.taken {
            let entry = (version.created_ms, deprecated_id_hash(&version.id));
            if let Some(i) = apart.iter().position(|e| *e == entry) {
                apart.swap_remove(i);
            }
        }
        let is_taken = |id: &str| self.taken.iter().find(|v| v.id == id);
        let (deprecated, labelled): (Vec<&Version>, Vec<&Version>) =
            secret.versions.iter().partition(|v| v.is_deprecated());
        let deprecated: Vec<&Version> = deprecated.into_iter().filter(|v| v.has_value).collect();
        for version in &deprecated {
            let fresh = self.sealed.iter().rev().find(|(id, _)| *id == version.id);
            let value = match (fresh, is_taken(&version.id)) {
                (Some((_, sealed)), _) => Some(sealed.clone()),
                (None, Some(taken)) => apart_value(taken)?,
                (None, None) => {
                    let beside = value_key(key, &version.id);
                    let value = snapshot.get(&beside)?;
                    ops.push(Op::Remove(beside));
                    value
                }
            };
            let value = value.unwrap_or_else(|| {
                tracing::warn!(secret = %key.name, version = %version.id, "a deprecated version has no value to keep");
                Vec::new()
            });
            let apart_key = apart_key(key, version);
            let meta = self.contents.sealer.seal_version(&apart_key, version)?;
            ops.push(Op::Put(apart_key, apart_entry(&meta, &value)));
            apart.push((version.created_ms, deprecated_id_hash(&version.id)));
        }
        for taken in &self.taken {
            if deprecated.iter().any(|v| v.id == taken.id) {
                continue; // rewritten above
            }
            if labelled.iter().any(|v| v.id == taken.id) {
                if let Some(value) = apart_value(taken)? {
                    ops.push(Op::Put(value_key(key, &taken.id), value));
                }
            }
            ops.push(Op::Remove(apart_key(key, taken)));
        }
        let kept = |id: &str| {
            secret
                .versions
                .iter()
                .any(|v| v.id == id && (v.has_value || !v.is_deprecated()))
        };
        let before = self.original.iter().flat_map(|s| &s.versions);
        for version in before {
            if !kept(&version.id) {
                ops.push(Op::Remove(value_key(key, &version.id)));
            }
        }
        Ok(Secret {
            versions: labelled.into_iter().cloned().collect(),
            deprecated: apart,
            ..secret.clone()
        })
    }

    /// Applies the change as one transaction and waits until it is on disk. `None` deletes the
    /// secret and all its values.
    pub async fn commit(mut self, new: Option<&Secret>) -> ApiResult<()> {
        let ops = self.ops(new)?;
        match self.held.take() {
            Some(held) => Ok(held.commit(ops).await?),
            None => Ok(self.contents.engine.apply(ops).await?),
        }
    }
}
