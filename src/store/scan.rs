//! Ordered reads: ListSecrets' pages in each of its orders, and the due hints of background
//! work, each page as of one snapshot.

use super::contents::Contents;
use super::engine::{Entry, Snapshot};
use super::keys::{
    hint_key, parse_secret_key, partition_bytes, record_key, value_key_split, Hint, ListOrder,
};
use crate::error::ApiResult;
use crate::model::arn::SecretKey;
use crate::model::secret::Secret;
use std::ops::Bound;
use std::sync::Arc;

/// Where a scan starts.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    Beginning,
    /// Just after this secret (the last of the previous page).
    After(&'a Cursor),
    /// At the first name not less than this one (name order only).
    AtName(&'a str),
}

/// A position in a listing: the last secret of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The date the listing is ordered by (0 in name order).
    pub date_ms: i64,
    pub name: String,
}

/// The record entries between `lower` and `upper`. A secret's values lie between records: the
/// scan steps over the first few (cheaper than a new search of the tree for every secret) and
/// seeks past the rest (a secret may hold a hundred 64 KiB versions).
fn records_only(
    snapshot: Arc<dyn Snapshot>,
    mut lower: std::ops::Bound<Vec<u8>>,
    mut upper: std::ops::Bound<Vec<u8>>,
    descending: bool,
) -> impl Iterator<Item = Entry> {
    let copy_records = |k: &[u8], v: &[u8]| match value_key_split(k) {
        None => v.to_vec(),
        Some(_) => Vec::new(), // stepped over: not copied
    };
    const STEP_OVER: usize = 2;
    let mut entries = snapshot.range_with(lower.clone(), upper.clone(), descending, copy_records);
    let mut stepped_over = 0;
    std::iter::from_fn(move || loop {
        let (k, v) = match entries.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e)),
        };
        let Some(split) = value_key_split(&k) else {
            stepped_over = 0;
            return Some(Ok((k, v)));
        };
        if stepped_over < STEP_OVER {
            stepped_over += 1;
            continue;
        }
        stepped_over = 0;
        let record = &k[..split];
        if descending {
            upper = Bound::Included(record.to_vec()); // the record comes next
        } else {
            let mut past_values = record.to_vec();
            past_values.push(1); // after every `record \0 …`, before any longer name
            lower = Bound::Included(past_values);
        }
        entries = snapshot.range_with(lower.clone(), upper.clone(), descending, copy_records);
    })
}

impl Contents {
    /// Hints that are due: (time, secret), oldest first, at most `limit`. A hint may be stale
    /// (see the module docs): check it against the record.
    pub fn due(&self, hint: Hint, now_ms: i64, limit: usize) -> ApiResult<Vec<(i64, SecretKey)>> {
        let end = hint_key(
            hint,
            &SecretKey {
                account: String::new(),
                region: String::new(),
                name: String::new(),
            },
            now_ms + 1,
        );
        let snapshot = self.engine.read()?;
        let mut due = Vec::new();
        for item in snapshot
            .range(
                Bound::Included(vec![hint as u8]),
                Bound::Excluded(end[..9].to_vec()),
                false,
            )
            .take(limit)
        {
            let (k, _) = item?;
            let mut at = [0u8; 8];
            at.copy_from_slice(&k[1..9]);
            if let Some(key) = parse_secret_key(&k[9..]) {
                due.push((u64::from_be_bytes(at) as i64, key));
            }
        }
        Ok(due)
    }

    /// The secrets of one partition in `order`, starting after `after`, all as of one commit.
    /// Index entries whose record has moved on are skipped (the record is the truth).
    pub fn scan<'a>(
        &'a self,
        account: &str,
        region: &str,
        order: ListOrder,
        start: Start<'_>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = ApiResult<(Cursor, Secret)>> + 'a> {
        let mut prefix = vec![order.tag()];
        prefix.extend(partition_bytes(account, region));
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1; // the partition prefix ends in \0: \1 bounds it
        }
        let key_of = |date_ms: i64, name: &str| {
            let mut k = prefix.clone();
            if order != ListOrder::Name {
                k.extend_from_slice(&(date_ms.max(0) as u64).to_be_bytes());
            }
            k.extend_from_slice(name.as_bytes());
            k
        };
        let (lower, upper) = match (start, descending) {
            (Start::After(c), false) => (
                Bound::Excluded(key_of(c.date_ms, &c.name)),
                Bound::Excluded(end),
            ),
            (Start::After(c), true) => (
                Bound::Included(prefix.clone()),
                Bound::Excluded(key_of(c.date_ms, &c.name)),
            ),
            (Start::AtName(name), false) => {
                (Bound::Included(key_of(0, name)), Bound::Excluded(end))
            }
            (Start::AtName(name), true) => (
                Bound::Included(prefix.clone()),
                Bound::Included(key_of(0, name)),
            ),
            (Start::Beginning, _) => (Bound::Included(prefix.clone()), Bound::Excluded(end)),
        };
        let snapshot = match self.engine.read() {
            Ok(snapshot) => snapshot,
            Err(e) => return Box::new(std::iter::once(Err(e.into()))),
        };
        let entries: Box<dyn Iterator<Item = Entry>> = if order == ListOrder::Name {
            Box::new(records_only(snapshot.clone(), lower, upper, descending))
        } else {
            Box::new(snapshot.range(lower, upper, descending))
        };
        let partition = (account.to_string(), region.to_string());
        let prefix_len = prefix.len();
        Box::new(entries.filter_map(move |item| {
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            let rest = &k[prefix_len..];
            match order {
                ListOrder::Name => {
                    let secret = match self.sealer.open_record(&k, &v) {
                        Ok(secret) => secret,
                        Err(e) => return Some(Err(e.into())),
                    };
                    let cursor = Cursor {
                        date_ms: 0,
                        name: secret.name.clone(),
                    };
                    Some(Ok((cursor, secret)))
                }
                ListOrder::Created | ListOrder::LastChanged | ListOrder::LastAccessed => {
                    if rest.len() < 8 {
                        return None;
                    }
                    let mut at = [0u8; 8];
                    at.copy_from_slice(&rest[..8]);
                    let date_ms = u64::from_be_bytes(at) as i64;
                    let name = String::from_utf8(rest[8..].to_vec()).ok()?;
                    let record_key = record_key(&SecretKey {
                        account: partition.0.clone(),
                        region: partition.1.clone(),
                        name: name.clone(),
                    });
                    let record = match snapshot.get(&record_key) {
                        Ok(record) => record?,
                        Err(e) => return Some(Err(e.into())),
                    };
                    match self.sealer.open_record(&record_key, &record) {
                        Ok(secret) if order.date_of(&secret) == date_ms => {
                            Some(Ok((Cursor { date_ms, name }, secret)))
                        }
                        Ok(_) => None,
                        Err(e) => Some(Err(e.into())),
                    }
                }
            }
        }))
    }
}
