//! How an operation's output becomes the answer: its JSON body, and the identifiers the audit
//! trail records of it.

use crate::audit::ResponseIds;
use crate::error::ApiResult;
use crate::protocol;
use bytes::Bytes;
use serde::Serialize;

/// An operation's answer: the response body, and what the audit trail keeps of it.
pub struct Answer {
    pub body: Bytes,
    pub ids: ResponseIds,
}

/// The answer of operations without an output shape (TagResource, UntagResource): AWS sends
/// 200 with an empty body, not `{}` (docs/aws-behaviour.md §1.3).
pub struct NoOutput;

/// How an operation's output becomes an answer.
pub trait Output {
    fn into_answer(self) -> ApiResult<Answer>;
}

/// The identifiers of the secret an output names (`ARN`, `Name`, `VersionId`), which the audit
/// trail records; outputs that name none keep the default.
pub trait Identified: Sized {
    fn into_ids(self) -> ResponseIds {
        ResponseIds::default()
    }
}

impl<T: Serialize + Identified> Output for T {
    fn into_answer(self) -> ApiResult<Answer> {
        let body = protocol::encode(&self)?;
        let ids = self.into_ids();
        // What an output declares must be what its body shows: every debug-build test checks.
        debug_assert_eq!(
            ids,
            ResponseIds::read(&body),
            "{}",
            String::from_utf8_lossy(&body)
        );
        Ok(Answer { body, ids })
    }
}

impl Output for NoOutput {
    fn into_answer(self) -> ApiResult<Answer> {
        Ok(Answer {
            body: Bytes::new(),
            ids: ResponseIds::default(),
        })
    }
}
