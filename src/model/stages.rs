//! Staging labels: the state machine of docs/aws-behaviour.md §2.4. A label is on at
//! most one version; `AWSCURRENT` is on exactly one version of a secret with a value; moving
//! `AWSCURRENT` hands `AWSPREVIOUS` to the version it left.

use super::secret::{Version, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Staging labels attached across all versions of one secret (AWS quota).
pub const MAX_LABELS: usize = 20;
/// Versions kept per secret before deprecated ones are pruned (AWS quota).
pub const MAX_VERSIONS: usize = 100;
/// Deprecated versions younger than this are never pruned (AWS: "24 hours").
pub const PRUNE_MIN_AGE_MS: i64 = 24 * 3600 * 1000;

fn index_of(versions: &[Version], id: &str) -> Option<usize> {
    versions.iter().position(|v| v.id == id)
}

fn holder(versions: &[Version], label: &str) -> Option<usize> {
    versions.iter().position(|v| v.has_stage(label))
}

fn remove_label(version: &mut Version, label: &str) {
    version.stages.retain(|s| s != label);
}

fn add_label(version: &mut Version, label: &str) {
    if !version.has_stage(label) {
        version.stages.push(label.to_string());
        version.stages.sort();
    }
}

/// Moves `label` to `versions[to]`. When it is `AWSCURRENT`, the version it leaves receives
/// `AWSPREVIOUS` (taken from whichever version had it); `drop_pending` also strips `AWSPENDING`
/// from that version, which AWS does for a new value but not for an explicit stage move.
fn move_label(versions: &mut [Version], label: &str, to: usize, drop_pending: bool) {
    let from = holder(versions, label);
    if from == Some(to) {
        return;
    }
    if let Some(from) = from {
        remove_label(&mut versions[from], label);
        if label == AWSCURRENT {
            if let Some(prev) = holder(versions, AWSPREVIOUS) {
                remove_label(&mut versions[prev], AWSPREVIOUS);
            }
            add_label(&mut versions[from], AWSPREVIOUS);
            if drop_pending {
                remove_label(&mut versions[from], AWSPENDING);
            }
        }
    }
    add_label(&mut versions[to], label);
}

fn check_label_quota(versions: &[Version]) -> ApiResult<()> {
    let labels: usize = versions.iter().map(|v| v.stages.len()).sum();
    if labels > MAX_LABELS {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!("A secret can have at most {MAX_LABELS} staging labels attached across all of its versions."),
        ));
    }
    Ok(())
}

/// Labels a version that just received a value (CreateSecret, PutSecretValue, UpdateSecret).
/// Without `requested` labels the version becomes `AWSCURRENT`; the first value of a secret is
/// always `AWSCURRENT`, whatever was asked (docs/aws-behaviour.md §3.2 PutSecretValue).
pub fn label_new_value(
    versions: &mut [Version],
    version_id: &str,
    requested: Option<&[String]>,
) -> ApiResult<()> {
    let to = index_of(versions, version_id)
        .ok_or_else(|| ApiError::internal("labelled version is missing"))?;
    let mut labels: Vec<String> = match requested {
        Some(labels) => labels.to_vec(),
        None => vec![AWSCURRENT.to_string()],
    };
    let current_elsewhere = holder(versions, AWSCURRENT).is_some_and(|i| i != to);
    if !current_elsewhere && !labels.iter().any(|l| l == AWSCURRENT) {
        labels.push(AWSCURRENT.to_string());
    }
    for label in &labels {
        move_label(versions, label, to, true);
    }
    check_label_quota(versions)
}

/// UpdateSecretVersionStage (docs/aws-behaviour.md §3.2): move, attach or detach one label, with
/// AWS's checks.
pub fn update_stage(
    versions: &mut [Version],
    label: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> ApiResult<()> {
    let not_a_version =
        |id: &str| ApiError::invalid_parameter(format!("Not a valid version: {id}"));
    let to = match move_to {
        Some(id) => Some(index_of(versions, id).ok_or_else(|| not_a_version(id))?),
        None => None,
    };
    let from = match remove_from {
        Some(id) => Some(index_of(versions, id).ok_or_else(|| not_a_version(id))?),
        None => None,
    };
    let current = holder(versions, label);

    if from.is_some() && from != current {
        return Err(ApiError::invalid_parameter(format!(
            "When you move staging label {label}, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label {label}."
        )));
    }
    match (to, current) {
        (Some(to), Some(cur)) if cur != to && from.is_none() => {
            return Err(ApiError::invalid_parameter(format!(
                "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {}, so you must explicitly reference that version in RemoveFromVersionId.",
                versions[cur].id
            )));
        }
        (Some(to), _) => move_label(versions, label, to, false),
        (None, Some(cur)) if from.is_some() => {
            // Detaching AWSCURRENT would leave the secret without a current value.
            if label == AWSCURRENT {
                return Err(ApiError::invalid_parameter(
                    "You can't remove the staging label AWSCURRENT from a version without moving it to another version.",
                ));
            }
            remove_label(&mut versions[cur], label);
        }
        (None, _) => {
            return Err(ApiError::invalid_parameter(
                "You must specify MoveToVersionId, RemoveFromVersionId, or both.",
            ))
        }
    }
    check_label_quota(versions)
}

/// Deprecated versions that the store keeps apart from the record (a put must not cost what
/// the secret's history weighs), as `prune` needs them.
pub trait KeptApart {
    /// How many there are, not counting those already taken.
    fn count(&self) -> usize;
    /// Takes the oldest one not taken yet, to be pruned or put back into the record.
    fn take_oldest(&mut self) -> ApiResult<Option<Version>>;
}

/// Nothing kept apart: every version is in the slice (tests, and records of older stores).
impl KeptApart for () {
    fn count(&self) -> usize {
        0
    }
    fn take_oldest(&mut self) -> ApiResult<Option<Version>> {
        Ok(None)
    }
}

/// Drops the oldest deprecated versions past `MAX_VERSIONS`, in `versions` or kept apart,
/// never one younger than 24 hours; when nothing can go, the version quota is exhausted (AWS:
/// "you will reach the quota"). Returns the ids removed. A version taken from `apart` and not
/// removed is left in `versions`, still deprecated.
pub fn prune(
    versions: &mut Vec<Version>,
    apart: &mut dyn KeptApart,
    now_ms: i64,
) -> ApiResult<Vec<String>> {
    let mut removed = Vec::new();
    // The oldest of those kept apart, taken out while it is a candidate.
    let mut held: Option<Version> = None;
    let result = loop {
        if versions.len() + apart.count() + usize::from(held.is_some()) <= MAX_VERSIONS {
            break Ok(());
        }
        if held.is_none() {
            match apart.take_oldest() {
                Ok(taken) => held = taken,
                Err(e) => break Err(e),
            }
        }
        let in_record = versions
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_deprecated())
            .min_by_key(|(_, v)| v.created_ms)
            .map(|(i, v)| (i, v.created_ms));
        let held_created = held.as_ref().map(|v| v.created_ms);
        let oldest = match (in_record, held_created) {
            (Some((i, a)), Some(b)) if a <= b => Some((a, Some(i))),
            (_, Some(b)) => Some((b, None)),
            (Some((i, a)), None) => Some((a, Some(i))),
            (None, None) => None,
        };
        let Some((_, from_record)) =
            oldest.filter(|(created_ms, _)| now_ms - created_ms >= PRUNE_MIN_AGE_MS)
        else {
            break Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("You have exceeded the quota of {MAX_VERSIONS} versions for this secret. Secrets Manager removes deprecated versions only once they are 24 hours old."),
            ));
        };
        match from_record {
            Some(i) => removed.push(versions.remove(i).id),
            None => removed.extend(held.take().map(|v| v.id)),
        }
    };
    versions.extend(held);
    result.map(|()| removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, stages: &[&str]) -> Version {
        Version {
            id: id.into(),
            created_ms: 0,
            last_accessed_ms: None,
            stages: stages.iter().map(|s| s.to_string()).collect(),
            kms_key_id: None,
            has_value: true,
        }
    }

    fn stages(versions: &[Version]) -> Vec<(String, Vec<String>)> {
        versions
            .iter()
            .map(|v| (v.id.clone(), v.stages.clone()))
            .collect()
    }

    fn s(id: &str, labels: &[&str]) -> (String, Vec<String>) {
        (id.into(), labels.iter().map(|l| l.to_string()).collect())
    }

    #[test]
    fn put_without_stages_moves_current_and_previous() {
        let mut vs = vec![
            v("a", &["AWSPREVIOUS"]),
            v("b", &["AWSCURRENT"]),
            v("c", &[]),
        ];
        label_new_value(&mut vs, "c", None).unwrap();
        assert_eq!(
            stages(&vs),
            vec![
                s("a", &[]),
                s("b", &["AWSPREVIOUS"]),
                s("c", &["AWSCURRENT"])
            ]
        );
    }

    #[test]
    fn first_value_is_current_even_with_custom_stages() {
        let mut vs = vec![v("a", &[])];
        label_new_value(&mut vs, "a", Some(&["X".to_string()])).unwrap();
        assert_eq!(stages(&vs), vec![s("a", &["AWSCURRENT", "X"])]);
    }

    #[test]
    fn custom_stages_leave_current_in_place() {
        let mut vs = vec![v("a", &["AWSCURRENT", "one"]), v("b", &[])];
        label_new_value(&mut vs, "b", Some(&["one".into(), "two".into()])).unwrap();
        assert_eq!(
            stages(&vs),
            vec![s("a", &["AWSCURRENT"]), s("b", &["one", "two"])]
        );
    }

    #[test]
    fn new_current_strips_pending_from_old_current_but_keeps_custom_labels() {
        let mut vs = vec![v("a", &["AWSCURRENT", "AWSPENDING", "keep"]), v("b", &[])];
        label_new_value(&mut vs, "b", None).unwrap();
        assert_eq!(
            stages(&vs),
            vec![s("a", &["AWSPREVIOUS", "keep"]), s("b", &["AWSCURRENT"])]
        );
    }

    #[test]
    fn moving_current_requires_naming_its_holder() {
        let mut vs = vec![v("a", &["AWSCURRENT"]), v("b", &[])];
        let err = update_stage(&mut vs, "AWSCURRENT", None, Some("b")).unwrap_err();
        assert_eq!(err.message, "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version a, so you must explicitly reference that version in RemoveFromVersionId.");
        update_stage(&mut vs, "AWSCURRENT", Some("a"), Some("b")).unwrap();
        assert_eq!(
            stages(&vs),
            vec![s("a", &["AWSPREVIOUS"]), s("b", &["AWSCURRENT"])]
        );
    }

    #[test]
    fn explicit_move_keeps_pending_on_both_sides() {
        let mut vs = vec![v("a", &["AWSCURRENT"]), v("b", &["AWSPENDING"])];
        update_stage(&mut vs, "AWSCURRENT", Some("a"), Some("b")).unwrap();
        assert_eq!(
            stages(&vs),
            vec![
                s("a", &["AWSPREVIOUS"]),
                s("b", &["AWSCURRENT", "AWSPENDING"])
            ]
        );
    }

    #[test]
    fn remove_from_must_hold_the_label() {
        let mut vs = vec![v("a", &["AWSCURRENT"]), v("b", &["X"])];
        let err = update_stage(&mut vs, "X", Some("a"), None).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameter);
        assert!(err.message.starts_with("When you move staging label X"));
        update_stage(&mut vs, "X", Some("b"), None).unwrap();
        assert_eq!(stages(&vs), vec![s("a", &["AWSCURRENT"]), s("b", &[])]);
    }

    #[test]
    fn unknown_versions_are_invalid_parameters() {
        let mut vs = vec![v("a", &["AWSCURRENT"])];
        let err = update_stage(&mut vs, "X", None, Some("zzz")).unwrap_err();
        assert_eq!(err.message, "Not a valid version: zzz");
    }

    #[test]
    fn current_cannot_be_detached() {
        let mut vs = vec![v("a", &["AWSCURRENT"])];
        assert!(update_stage(&mut vs, "AWSCURRENT", Some("a"), None).is_err());
        assert_eq!(stages(&vs), vec![s("a", &["AWSCURRENT"])]);
    }

    #[test]
    fn label_quota_is_enforced() {
        let mut vs = vec![v("a", &["AWSCURRENT"])];
        let labels: Vec<String> = (0..20).map(|i| format!("L{i}")).collect();
        let err = label_new_value(&mut vs, "a", Some(&labels)).unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
    }

    #[test]
    fn prune_removes_only_old_deprecated_versions() {
        let day = PRUNE_MIN_AGE_MS;
        let mut vs: Vec<Version> = (0..101)
            .map(|i| Version {
                created_ms: i,
                ..v(&format!("v{i}"), &[])
            })
            .collect();
        vs[100].stages = vec!["AWSCURRENT".into()];
        assert_eq!(
            prune(&mut vs.clone(), &mut (), 50).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
        let removed = prune(&mut vs, &mut (), day + 100).unwrap();
        assert_eq!(removed, vec!["v0".to_string()]);
        assert_eq!(vs.len(), 100);
    }

    /// Deprecated versions kept apart, oldest first, as the store hands them out.
    struct Apart(Vec<Version>);

    impl KeptApart for Apart {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn take_oldest(&mut self) -> ApiResult<Option<Version>> {
            Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
        }
    }

    #[test]
    fn prune_takes_the_oldest_wherever_it_is_kept() {
        let day = PRUNE_MIN_AGE_MS;
        let old = |i: i64| Version {
            created_ms: i,
            ..v(&format!("v{i}"), &[])
        };
        // 98 kept apart (created 10..108), two in the record: one just deprecated (created 5),
        // and the current one; a new value makes 101.
        let mut apart = Apart((10..108).map(old).collect());
        let mut vs = vec![old(5), v("cur", &["AWSCURRENT"]), v("new", &["AWSPENDING"])];
        vs[2].created_ms = day * 2;
        let removed = prune(&mut vs, &mut apart, day * 2).unwrap();
        assert_eq!(removed, vec!["v5".to_string()]);
        // The oldest kept apart was taken as a candidate, lost to v5, and is back in the record.
        assert_eq!(apart.count(), 97);
        let ids: Vec<&str> = vs.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["cur", "new", "v10"]);

        // Two over: v10 (now in the record) goes, then the next oldest kept apart.
        vs.push(v("newer", &["L"]));
        vs.push(v("newest", &["M"]));
        let removed = prune(&mut vs, &mut apart, day * 2).unwrap();
        assert_eq!(removed, vec!["v10".to_string(), "v11".to_string()]);
        assert_eq!(vs.len() + apart.count(), MAX_VERSIONS);

        // Nothing old enough: the quota error, and nothing lost.
        let mut young = Apart((0..99).map(|i| old(day + i)).collect());
        let mut vs = vec![v("cur", &["AWSCURRENT"]), v("new", &["L"])];
        let err = prune(&mut vs, &mut young, day + 200).unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
        assert_eq!(vs.len() + young.count(), 101);
    }
}
