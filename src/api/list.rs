//! ListSecrets (docs/aws-behaviour.md §3.1): filters, sort orders and keyset pagination. A page is
//! read from an ordered index starting at the previous page's last secret, so its cost does not
//! grow with the secrets before it, and secrets added or deleted meanwhile never shift the pages.

use super::access::Call;
use super::metadata::{metadata, stages_map, SecretMetadata};
use super::output::Identified;
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::filter::{self, Filter, FilterKey};
use crate::model::secret::Secret;
use crate::model::validate::Constraints;
use crate::protocol::Input;
use crate::store::{Cursor, ListOrder, Start};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DEFAULT_PAGE: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterShape {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsInput {
    pub include_planned_deletion: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub filters: Option<Vec<FilterShape>>,
    pub sort_order: Option<String>,
    pub sort_by: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretListEntry {
    #[serde(flatten)]
    pub metadata: SecretMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_versions_to_stages: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsOutput {
    pub secret_list: Vec<SecretListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl Identified for ListSecretsOutput {}

/// The orders ListSecrets offers (`SortBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    CreatedDate,
    Name,
    LastChangedDate,
    LastAccessedDate,
}

impl SortBy {
    fn parse(text: &str) -> Option<SortBy> {
        Some(match text {
            "created-date" => SortBy::CreatedDate,
            "name" => SortBy::Name,
            "last-changed-date" => SortBy::LastChangedDate,
            "last-accessed-date" => SortBy::LastAccessedDate,
            _ => return None,
        })
    }

    fn code(self) -> u8 {
        self as u8
    }

    /// The store's order (each kept by an index) that this sort reads.
    fn order(self) -> ListOrder {
        match self {
            SortBy::CreatedDate => ListOrder::Created,
            SortBy::Name => ListOrder::Name,
            SortBy::LastChangedDate => ListOrder::LastChanged,
            SortBy::LastAccessedDate => ListOrder::LastAccessed,
        }
    }
}

/// `NextToken`: the sort it belongs to and the last secret of the page, base64url.
fn encode_token(sort: SortBy, descending: bool, cursor: &Cursor) -> String {
    let text = format!(
        "v1\n{}\n{}\n{}\n{}",
        sort.code(),
        descending as u8,
        cursor.date_ms,
        cursor.name
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_token(token: &str, sort: SortBy, descending: bool) -> ApiResult<Cursor> {
    let invalid = ApiError::invalid_next_token;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(5, '\n');
    let (Some("v1"), Some(s), Some(d), Some(value), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    // A token only continues the listing it came from.
    if s != sort.code().to_string() || d != (descending as u8).to_string() {
        return Err(invalid());
    }
    Ok(Cursor {
        date_ms: value.parse().map_err(|_| invalid())?,
        name: name.to_string(),
    })
}

/// Checks the filters' shape (docs/aws-behaviour.md §3.1 ListSecrets: ≤ 10 filters, 1–10 values of
/// ≤ 512 characters each, AWS's character set) and turns them into the model's filters.
pub fn parse_filters(
    c: &mut Constraints,
    shapes: Option<&[FilterShape]>,
) -> ApiResult<Vec<Filter>> {
    let Some(shapes) = shapes else {
        return Ok(Vec::new());
    };
    c.items("filters", Some(shapes), 0, 10);
    let mut filters = Vec::with_capacity(shapes.len());
    for (i, shape) in shapes.iter().enumerate() {
        let path = format!("filters.{}.member", i + 1);
        let key_text = shape
            .key
            .as_deref()
            .ok_or_else(|| ApiError::invalid_parameter("Invalid filter key"))?;
        let key = FilterKey::parse(key_text);
        if key.is_none() {
            c.enum_value(&format!("{path}.key"), key_text, FilterKey::NAMES);
        }
        let values = shape.values.clone().ok_or_else(|| {
            ApiError::invalid_parameter(format!("Invalid filter values for key: {key_text}"))
        })?;
        c.items(&format!("{path}.values"), Some(&values), 1, 10);
        for (j, value) in values.iter().enumerate() {
            let value_path = format!("{path}.values.{}.member", j + 1);
            c.length(&value_path, Some(value), 0, 512);
            let allowed = |ch: char| ch.is_ascii_alphanumeric() || " :_@/+=.-!".contains(ch);
            if !value.chars().all(allowed) {
                c.pattern(&value_path, value, r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$");
            }
        }
        if let Some(key) = key {
            filters.push(Filter { key, values });
        }
    }
    Ok(filters)
}

/// One page of a listing, and where the next one starts (`None`: nothing follows).
pub(crate) struct Page {
    pub secrets: Vec<(Cursor, Secret)>,
    pub resume: Option<Cursor>,
}

impl Page {
    fn next_token(&self, sort: SortBy, descending: bool) -> Option<String> {
        self.resume
            .as_ref()
            .map(|cursor| encode_token(sort, descending, cursor))
    }
}

/// Secrets a filtered page examines at most. Past it the page ends early (possibly empty) with
/// a `NextToken` at the last secret examined, as AWS's pages may, so that one request costs the
/// same however many secrets the filter skips.
const SCAN_BUDGET: usize = 1000;

/// A page of the caller's secrets that pass `filters`, in `sort` order, after `after`.
#[allow(clippy::too_many_arguments)]
fn read_page(
    ctx: &Ctx,
    caller: &Call<'_>,
    filters: &[Filter],
    sort: SortBy,
    descending: bool,
    after: Option<&Cursor>,
    page_size: usize,
    include_deleted: bool,
) -> ApiResult<Page> {
    let now = ctx.clock.now_millis();
    let wanted = |secret: &Secret| {
        // Past its recovery window a secret is gone, whether or not the sweeper has run.
        let purged = secret.deleted_ms.is_some_and(|at| at <= now);
        !purged
            && (include_deleted || secret.deleted_ms.is_none())
            && filter::matches_all(filters, secret)
    };
    let order = sort.order();
    if let Some(prefixes) = name_prefixes(filters) {
        // A name filter narrows the candidates to a few name ranges: when they are small, read
        // only those and put them in the listing's order.
        if let Some(all) = within_budget(ctx, caller, &prefixes, order, &wanted)? {
            return Ok(sorted_page(all, after, descending, page_size));
        }
        // Large ones are read in the listing's order, a budget at a time; in name order the
        // scan starts at the first range.
        if sort == SortBy::Name && !descending {
            let first = prefixes.iter().min().expect("a name filter has values");
            let start = match after {
                Some(a) if a.name.as_str() >= first.as_str() => Start::After(a),
                _ => Start::AtName(first),
            };
            return scan_page(ctx, caller, order, start, false, &wanted, page_size);
        }
    }
    let start = after.map_or(Start::Beginning, Start::After);
    scan_page(ctx, caller, order, start, descending, &wanted, page_size)
}

/// A page read in the listing's order from `start`, examining at most `SCAN_BUDGET` secrets.
fn scan_page(
    ctx: &Ctx,
    caller: &Call<'_>,
    order: ListOrder,
    start: Start<'_>,
    descending: bool,
    wanted: &dyn Fn(&Secret) -> bool,
    page_size: usize,
) -> ApiResult<Page> {
    let mut page: Vec<(Cursor, Secret)> = Vec::with_capacity(page_size);
    let mut resume: Option<Cursor> = None;
    let mut last_examined: Option<Cursor> = None;
    let scan = ctx
        .store
        .scan(&caller.account, &caller.region, order, start, descending);
    for (examined, item) in scan.enumerate() {
        let (cursor, secret) = item?;
        if examined == SCAN_BUDGET {
            resume = Some(last_examined.unwrap_or(cursor));
            break;
        }
        if !wanted(&secret) {
            last_examined = Some(cursor);
            continue;
        }
        if page.len() == page_size {
            resume = page.last().map(|(c, _): &(Cursor, Secret)| c.clone());
            break;
        }
        last_examined = Some(cursor.clone());
        page.push((cursor, secret));
    }
    Ok(Page {
        secrets: page,
        resume,
    })
}

/// The wanted secrets whose names start with one of `prefixes`, if those ranges hold at most
/// `SCAN_BUDGET` secrets in all (`None`: they hold more, and are not read further).
fn within_budget(
    ctx: &Ctx,
    caller: &Call<'_>,
    prefixes: &[String],
    order: ListOrder,
    wanted: &dyn Fn(&Secret) -> bool,
) -> ApiResult<Option<Vec<(Cursor, Secret)>>> {
    let mut all: Vec<(Cursor, Secret)> = Vec::new();
    let mut examined = 0;
    for prefix in prefixes {
        let scan = ctx.store.scan(
            &caller.account,
            &caller.region,
            ListOrder::Name,
            Start::AtName(prefix),
            false,
        );
        for item in scan {
            let (_, secret) = item?;
            if !secret.name.starts_with(prefix.as_str()) {
                break;
            }
            examined += 1;
            if examined > SCAN_BUDGET {
                return Ok(None);
            }
            if wanted(&secret) {
                let cursor = Cursor {
                    date_ms: order.date_of(&secret),
                    name: secret.name.clone(),
                };
                all.push((cursor, secret));
            }
        }
    }
    Ok(Some(all))
}

/// The page after `after` of `all`, put in the listing's order (by date, then name; by name
/// alone, the date being equal).
fn sorted_page(
    mut all: Vec<(Cursor, Secret)>,
    after: Option<&Cursor>,
    descending: bool,
    page_size: usize,
) -> Page {
    let key = |c: &Cursor| (c.date_ms, c.name.clone());
    all.sort_by_key(|(cursor, _)| key(cursor));
    all.dedup_by(|a, b| a.1.name == b.1.name);
    if descending {
        all.reverse();
    }
    let start = match after {
        Some(a) => all
            .iter()
            .position(|(cur, _)| match descending {
                true => key(cur) < key(a),
                false => key(cur) > key(a),
            })
            .unwrap_or(all.len()),
        None => 0,
    };
    let more = all.len() > start + page_size;
    let secrets: Vec<_> = all.into_iter().skip(start).take(page_size).collect();
    let resume = more
        .then(|| secrets.last().map(|(c, _)| c.clone()))
        .flatten();
    Page { secrets, resume }
}

/// The name prefixes a listing is confined to: those of a `name` filter without negated values
/// (all filters must hold, so any one such filter bounds the result).
fn name_prefixes(filters: &[Filter]) -> Option<Vec<String>> {
    filters
        .iter()
        .find(|f| f.key == FilterKey::Name && f.values.iter().all(|v| !v.starts_with('!')))
        .map(|f| f.values.clone())
}

/// Where BatchGetSecretValue's filtered mode resumes: its pages are in creation order.
pub(crate) fn created_order_cursor(next_token: Option<&str>) -> ApiResult<Option<Cursor>> {
    next_token
        .map(|t| decode_token(t, SortBy::CreatedDate, false))
        .transpose()
}

/// BatchGetSecretValue's filtered mode: secrets in creation order, not scheduled for deletion.
pub(crate) fn filtered_page(
    ctx: &Ctx,
    caller: &Call<'_>,
    filters: &[Filter],
    after: Option<&Cursor>,
    page_size: usize,
) -> ApiResult<(Vec<Secret>, Option<String>)> {
    let page = read_page(
        ctx,
        caller,
        filters,
        SortBy::CreatedDate,
        false,
        after,
        page_size,
        false,
    )?;
    let token = page.next_token(SortBy::CreatedDate, false);
    Ok((page.secrets.into_iter().map(|(_, s)| s).collect(), token))
}

pub struct ListSecretsRequest {
    filters: Vec<Filter>,
    sort: SortBy,
    descending: bool,
    after: Option<Cursor>,
    page_size: usize,
    include_deleted: bool,
}

impl Input for ListSecretsInput {
    type Valid = ListSecretsRequest;

    fn validate(self) -> ApiResult<ListSecretsRequest> {
        let mut c = Constraints::new();
        c.range("maxResults", self.max_results, 1, 100).length(
            "nextToken",
            self.next_token.as_deref(),
            1,
            4096,
        );
        let filters = parse_filters(&mut c, self.filters.as_deref())?;
        let sort = match self.sort_by.as_deref() {
            None => Some(SortBy::CreatedDate),
            Some(text) => {
                let parsed = SortBy::parse(text);
                if parsed.is_none() {
                    c.enum_value(
                        "sortBy",
                        text,
                        "[created-date, last-accessed-date, last-changed-date, name]",
                    );
                }
                parsed
            }
        };
        let descending = match self.sort_order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                c.enum_value("sortOrder", other, "[asc, desc]");
                false
            }
        };
        c.finish()?;
        // An unknown `SortBy` was a violation, so `finish` failed.
        let sort = sort.unwrap_or(SortBy::CreatedDate);
        let after = self
            .next_token
            .as_deref()
            .map(|t| decode_token(t, sort, descending))
            .transpose()?;
        Ok(ListSecretsRequest {
            filters,
            sort,
            descending,
            after,
            page_size: self.max_results.map_or(DEFAULT_PAGE, |n| n as usize),
            include_deleted: self.include_planned_deletion.unwrap_or(false),
        })
    }
}

pub async fn list_secrets(
    ctx: &Ctx,
    caller: &Call<'_>,
    input: ListSecretsRequest,
) -> ApiResult<ListSecretsOutput> {
    let ListSecretsRequest {
        filters,
        sort,
        descending,
        after,
        page_size,
        include_deleted,
    } = input;
    let page = read_page(
        ctx,
        caller,
        &filters,
        sort,
        descending,
        after.as_ref(),
        page_size,
        include_deleted,
    )?;
    let next_token = page.next_token(sort, descending);
    Ok(ListSecretsOutput {
        secret_list: page
            .secrets
            .iter()
            .map(|(_, secret)| SecretListEntry {
                metadata: metadata(secret),
                secret_versions_to_stages: stages_map(secret),
            })
            .collect(),
        next_token,
    })
}
