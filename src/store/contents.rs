//! What the store holds, read: records (through the cache), values, and versions kept apart.
//! `Store` answers reads with it; a change (`txn`) reads through it and commits to its engine.

use super::cache::RecordCache;
use super::engine::{Engine, Held, Snapshot};
use super::keys::{
    apart_key, apart_prefix, apart_times, deprecated_id_hash, record_key, split_apart_entry,
    value_key,
};
use super::sealing::Sealer;
use crate::error::{ApiError, ApiResult};
use crate::model::arn::SecretKey;
use crate::model::secret::{Secret, SecretValue, Version};
use std::ops::Bound;
use std::sync::Arc;

/// Where a read looks: the engine's latest state, or a change's lock (whose reads are the
/// engine's own under that lock, for engines other processes share).
#[derive(Clone, Copy)]
pub enum View<'a> {
    Latest(&'a dyn Engine),
    Locked(&'a dyn Held),
}

impl View<'_> {
    /// A snapshot that shows every change acknowledged so far (and, under a lock, every change
    /// committed before it was taken).
    pub fn snapshot(self) -> ApiResult<Arc<dyn Snapshot>> {
        Ok(match self {
            View::Latest(engine) => engine.read()?,
            View::Locked(held) => held.snapshot(),
        })
    }
}

pub struct Contents {
    pub engine: Arc<dyn Engine>,
    pub sealer: Sealer,
    records: RecordCache,
}

impl Contents {
    pub fn new(engine: Arc<dyn Engine>, sealer: Sealer) -> Contents {
        Contents {
            engine,
            sealer,
            records: RecordCache::default(),
        }
    }

    pub fn latest(&self) -> View<'_> {
        View::Latest(&*self.engine)
    }

    /// The deprecated versions of `key` created at `created_ms` and kept apart (usually one),
    /// as `snapshot` shows them, without their values.
    pub fn apart_at(
        &self,
        snapshot: &dyn Snapshot,
        key: &SecretKey,
        created_ms: i64,
    ) -> ApiResult<Vec<Version>> {
        let prefix = apart_prefix(key, created_ms);
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1; // the prefix ends in \0
        }
        let meta_only = |_: &[u8], entry: &[u8]| {
            split_apart_entry(entry).map_or_else(Vec::new, |(meta, _)| meta.to_vec())
        };
        snapshot
            .range_with(
                Bound::Included(prefix),
                Bound::Excluded(end),
                false,
                meta_only,
            )
            .map(|item| {
                let (k, sealed) = item?;
                Ok(self.sealer.open_version(&k, &sealed, key)?)
            })
            .collect()
    }

    /// The deprecated versions of `secret` that its record does not hold, oldest first.
    pub fn deprecated_versions(&self, secret: &Secret) -> ApiResult<Vec<Version>> {
        if secret.deprecated.is_empty() {
            return Ok(Vec::new());
        }
        let key = secret.key();
        let snapshot = self.engine.read()?;
        let mut out = Vec::with_capacity(secret.deprecated.len());
        for at in apart_times(secret) {
            out.extend(self.apart_at(&*snapshot, &key, at)?);
        }
        Ok(out)
    }

    /// Version `id` of `secret`: from its record, or among its deprecated versions kept apart.
    pub fn find_version(
        &self,
        view: View<'_>,
        secret: &Secret,
        id: &str,
    ) -> ApiResult<Option<Version>> {
        if let Some(version) = secret.version(id) {
            return Ok(Some(version.clone()));
        }
        // The record's hashes answer most lookups (every put's token) without a read.
        let hash = deprecated_id_hash(id);
        let mut candidates = secret.deprecated.iter().filter(|(_, h)| *h == hash);
        let Some(first) = candidates.next() else {
            return Ok(None);
        };
        let key = secret.key();
        let snapshot = view.snapshot()?;
        for (at, _) in std::iter::once(first).chain(candidates) {
            let mut k = apart_prefix(&key, *at);
            k.extend_from_slice(id.as_bytes());
            if let Some(entry) = snapshot.get(&k)? {
                let (meta, _) = split_apart_entry(&entry).unwrap_or_default();
                return Ok(self.sealer.open_version(&k, meta, &key).map(Some)?);
            }
        }
        Ok(None)
    }

    /// The sealed value of `version`, where its labels say it lives (a deprecated one apart,
    /// or still beside the record in stores written before versions were kept apart).
    fn sealed_value(
        &self,
        snapshot: &dyn Snapshot,
        key: &SecretKey,
        version: &Version,
    ) -> ApiResult<Option<Vec<u8>>> {
        if version.is_deprecated() {
            if let Some(entry) = snapshot.get(&apart_key(key, version))? {
                return Ok(split_apart_entry(&entry).map(|(_, value)| value.to_vec()));
            }
        }
        Ok(snapshot.get(&value_key(key, &version.id))?)
    }

    /// The secret record, if there is one (readers never lock: changes are transactions).
    /// Shared with the record cache; a change takes its own copy (`SecretTxn`).
    pub fn get(&self, view: View<'_>, key: &SecretKey) -> ApiResult<Option<Arc<Secret>>> {
        if key.name.contains('\0') {
            return Ok(None); // no secret has such a name, and its key would be a value's
        }
        let record_key = record_key(key);
        let snapshot = view.snapshot()?;
        let generation = snapshot.generation();
        if let Some(secret) = generation.and_then(|g| self.records.get(g, &record_key)) {
            return Ok(Some(secret));
        }
        match snapshot.get(&record_key)? {
            Some(sealed) => {
                let secret = Arc::new(self.sealer.open_record(&record_key, &sealed)?);
                if let Some(g) = generation {
                    self.records.insert(g, &record_key, &secret);
                }
                Ok(Some(secret))
            }
            None => Ok(None),
        }
    }

    /// Decrypts one version's value. `secret` may be older than the latest commit: a value
    /// that a later commit moved (its version deprecated or labelled again) is read where it
    /// went; one it removed (version pruned, or secret deleted) is answered as the read would be
    /// after that commit, not as damage.
    pub fn read_value(
        &self,
        view: View<'_>,
        secret: &Secret,
        version: &Version,
    ) -> ApiResult<SecretValue> {
        let key = secret.key();
        let snapshot = view.snapshot()?;
        if let Some(sealed) = self.sealed_value(&*snapshot, &key, version)? {
            return self.sealer.open_value(secret, version, &sealed);
        }
        drop(snapshot);
        let Some(now) = self.get(view, &key)? else {
            return Err(ApiError::secret_not_found());
        };
        let Some(moved) = self
            .find_version(view, &now, &version.id)?
            .filter(|v| v.has_value)
        else {
            return Err(ApiError::new(
                crate::error::ErrorCode::ResourceNotFound,
                crate::error::messages::version_id_not_found(&version.id),
            ));
        };
        let snapshot = view.snapshot()?;
        match self.sealed_value(&*snapshot, &key, &moved)? {
            Some(sealed) => self.sealer.open_value(&now, &moved, &sealed),
            None => Err(ApiError::internal(format!(
                "value of {} is missing",
                secret.name
            ))),
        }
    }
}
