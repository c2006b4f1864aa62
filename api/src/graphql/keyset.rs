//! Keyset pagination: opaque cursors that carry a row's sort key and ID, and the one place the
//! "rows after this key" predicate is written, for SQL (sea-orm) and for lists sorted in memory.
//!
//! A cursor names a position between rows by value, not by offset, so a row inserted, moved
//! or deleted elsewhere in the list neither repeats nor skips a row on the next page. A cursor is
//! `base64url(JSON {v, c, o, k})`: the codec version, the connection and sort order it belongs
//! to (a cursor from elsewhere is refused, not misread) and the key values, the ID last.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::page::{DEFAULT_PAGE, MAX_PAGE, PageArgs};
use crate::core::error::{AppError, AppResult};

/// The cursor format this server writes and reads.
pub const CURSOR_VERSION: u32 = 1;

/// Longest accepted cursor, in characters.
const MAX_CURSOR_CHARS: usize = 1024;

/// One value of a sort key, as a cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyValue {
    /// A text column.
    #[serde(rename = "s")]
    Text(String),
    /// An integer column.
    #[serde(rename = "i")]
    Int(i64),
    /// A timestamp column.
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    /// A date column.
    #[serde(rename = "d")]
    Date(NaiveDate),
    /// A UUID column (the row's ID, or another reference).
    #[serde(rename = "u")]
    Id(Uuid),
}

/// The type of a sort column, so a cursor's values are checked before they reach a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Text.
    Text,
    /// Integer.
    Int,
    /// Timestamp.
    Time,
    /// Date.
    Date,
    /// UUID.
    Id,
}

impl KeyValue {
    fn kind(&self) -> KeyKind {
        match self {
            KeyValue::Text(_) => KeyKind::Text,
            KeyValue::Int(_) => KeyKind::Int,
            KeyValue::Time(_) => KeyKind::Time,
            KeyValue::Date(_) => KeyKind::Date,
            KeyValue::Id(_) => KeyKind::Id,
        }
    }

    fn sql(&self) -> sea_orm::Value {
        match self {
            KeyValue::Text(s) => s.clone().into(),
            KeyValue::Int(i) => (*i).into(),
            KeyValue::Time(t) => (*t).into(),
            KeyValue::Date(d) => (*d).into(),
            KeyValue::Id(u) => (*u).into(),
        }
    }

    /// Order of two values of the same kind, as the databases order them (text by bytes:
    /// only used for lists sorted here, never to second-guess SQL).
    fn compare(&self, other: &KeyValue) -> Ordering {
        match (self, other) {
            (KeyValue::Text(a), KeyValue::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (KeyValue::Int(a), KeyValue::Int(b)) => a.cmp(b),
            (KeyValue::Time(a), KeyValue::Time(b)) => a.cmp(b),
            (KeyValue::Date(a), KeyValue::Date(b)) => a.cmp(b),
            (KeyValue::Id(a), KeyValue::Id(b)) => a.cmp(b),
            (a, b) => (a.kind() as u8).cmp(&(b.kind() as u8)),
        }
    }
}

/// One column of a sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortColumn {
    /// Its type.
    pub kind: KeyKind,
    /// Largest value first.
    pub descending: bool,
}

impl SortColumn {
    /// Smallest first.
    pub const fn asc(kind: KeyKind) -> Self {
        SortColumn { kind, descending: false }
    }

    /// Largest first.
    pub const fn desc(kind: KeyKind) -> Self {
        SortColumn { kind, descending: true }
    }
}

/// A sort order of one connection: its name, its columns (the row's ID last, so the order is
/// total) and how to read a row's key.
pub struct Keyset<M> {
    /// The connection (`deals`, `Team.members`, …): a cursor is only valid where it was made.
    pub connection: &'static str,
    /// The sort order's name (`UPDATED_AT_DESC`, …).
    pub order: &'static str,
    /// The sort columns, the ID last.
    pub columns: &'static [SortColumn],
    /// A row's key, one value per column.
    pub key: fn(&M) -> Vec<KeyValue>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u32,
    c: String,
    o: String,
    k: Vec<KeyValue>,
}

impl<M> Keyset<M> {
    /// The cursor of a row.
    pub fn cursor(&self, row: &M) -> String {
        encode(self.connection, self.order, (self.key)(row))
    }

    /// The key a cursor carries, or BAD_USER_INPUT when it is garbage, of another version, from
    /// another connection or sort order, or does not fit the columns.
    pub fn decode(&self, cursor: &str) -> AppResult<Vec<KeyValue>> {
        let bad = |why: &str| AppError::bad_input(format!("invalid cursor: {why}"));
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(bad("too long"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad("not base64url"))?;
        let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor"))?;
        if payload.v != CURSOR_VERSION {
            return Err(bad("written by another version; start again from the first page"));
        }
        if payload.c != self.connection || payload.o != self.order {
            return Err(bad("from another list or sort order"));
        }
        let fits = payload.k.len() == self.columns.len()
            && payload.k.iter().zip(self.columns).all(|(v, c)| v.kind() == c.kind);
        if !fits {
            return Err(bad("does not fit this list's sort order"));
        }
        Ok(payload.k)
    }
}

/// Encodes a cursor (exposed for tests and the fuzzer).
pub fn encode(connection: &str, order: &str, key: Vec<KeyValue>) -> String {
    let payload = Payload { v: CURSOR_VERSION, c: connection.to_owned(), o: order.to_owned(), k: key };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default())
}

/// `key` comes after `bound` in the order of `columns`.
fn comes_after(columns: &[SortColumn], key: &[KeyValue], bound: &[KeyValue]) -> bool {
    for ((c, a), b) in columns.iter().zip(key).zip(bound) {
        let o = a.compare(b);
        let o = if c.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o == Ordering::Greater;
        }
    }
    false
}

/// The SQL condition "the row comes after `bound`" (`forward`) or "before `bound`" in the order
/// of `columns`: `(a > v) OR (a = v AND b > w) OR …`, each `>` a `<` where the column descends
/// or the direction is backward. The only place this predicate is written.
pub fn beyond(exprs: &[SimpleExpr], columns: &[SortColumn], bound: &[KeyValue], forward: bool) -> Condition {
    let mut any = Condition::any();
    for i in 0..columns.len().min(exprs.len()).min(bound.len()) {
        let mut all = Condition::all();
        for j in 0..i {
            all = all.add(Expr::expr(exprs[j].clone()).eq(bound[j].sql()));
        }
        // Later in the list means a larger value for an ascending column read forward.
        let larger = columns[i].descending != forward;
        let value = bound[i].sql();
        let step = if larger { Expr::expr(exprs[i].clone()).gt(value) } else { Expr::expr(exprs[i].clone()).lt(value) };
        any = any.add(all.add(step));
    }
    any
}

/// Which rows a page holds, from the Relay arguments: bounds checked, cursors decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Rows after this key.
    pub after: Option<Vec<KeyValue>>,
    /// Rows before this key.
    pub before: Option<Vec<KeyValue>>,
    /// Page size.
    pub limit: usize,
    /// Counting from the end (`last`).
    pub backward: bool,
}

impl Plan {
    /// Reads the arguments: `first` or `last` (not both), 1 to [`MAX_PAGE`], default
    /// [`DEFAULT_PAGE`] from the start; cursors of this keyset only.
    pub fn new<M>(keyset: &Keyset<M>, args: &PageArgs) -> AppResult<Self> {
        args.validate()?;
        let after = args.after.as_deref().map(|c| keyset.decode(c)).transpose()?;
        let before = args.before.as_deref().map(|c| keyset.decode(c)).transpose()?;
        let (limit, backward) = match (args.first, args.last) {
            (Some(f), _) => (f as usize, false),
            (None, Some(l)) => (l as usize, true),
            (None, None) => (DEFAULT_PAGE, false),
        };
        Ok(Plan { after, before, limit: limit.min(MAX_PAGE), backward })
    }
}

/// One page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// The rows and their cursors, in list order.
    pub rows: Vec<(String, M)>,
    /// More rows follow the last one.
    pub has_next_page: bool,
    /// More rows precede the first one.
    pub has_previous_page: bool,
    /// Rows matching the filter, across all pages; `None` when not asked (not counted).
    pub total_count: Option<u64>,
    /// The page size asked for (what the cost was computed with).
    pub page_size: usize,
}

impl<M> Page<M> {
    /// The same page with each row converted.
    pub fn map<T>(self, f: impl Fn(M) -> T) -> Page<T> {
        Page {
            rows: self.rows.into_iter().map(|(c, m)| (c, f(m))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            total_count: self.total_count,
            page_size: self.page_size,
        }
    }
}

/// A page of a query, with one extra row fetched to know whether more follow, one existence
/// probe on the other side of the cursor the page starts from, and a count of every matching
/// row when [`PageArgs::total`] asks it.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    exprs: &[SimpleExpr],
    keyset: &Keyset<E::Model>,
    args: &PageArgs,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let plan = Plan::new(keyset, args)?;
    let total_count = if args.total { Some(select.clone().count(db).await?) } else { None };
    let mut bounded = select.clone();
    if let Some(after) = &plan.after {
        bounded = bounded.filter(beyond(exprs, keyset.columns, after, true));
    }
    if let Some(before) = &plan.before {
        bounded = bounded.filter(beyond(exprs, keyset.columns, before, false));
    }
    let ordered = |mut q: Select<E>, reverse: bool| {
        for (e, c) in exprs.iter().zip(keyset.columns) {
            let desc = c.descending != reverse;
            q = if desc {
                q.order_by(e.clone(), sea_orm::Order::Desc)
            } else {
                q.order_by(e.clone(), sea_orm::Order::Asc)
            };
        }
        q
    };
    let mut rows = ordered(bounded, plan.backward).limit(plan.limit as u64 + 1).all(db).await?;
    let more = rows.len() > plan.limit;
    rows.truncate(plan.limit);
    if plan.backward {
        rows.reverse();
    }
    // Whether anything lies on the far side of the cursor the page starts from (not `beyond` it).
    let far_side = match if plan.backward { &plan.before } else { &plan.after } {
        Some(bound) => {
            let outside = beyond(exprs, keyset.columns, bound, !plan.backward).not();
            select.filter(outside).limit(1).all(db).await?.into_iter().next().is_some()
        }
        None => false,
    };
    let (has_next_page, has_previous_page) = if plan.backward { (far_side, more) } else { (more, far_side) };
    Ok(Page {
        rows: rows.into_iter().map(|m| (keyset.cursor(&m), m)).collect(),
        has_next_page,
        has_previous_page,
        total_count,
        page_size: plan.limit,
    })
}

/// A page of a list already in memory (rows a permission check filtered one by one): sorted here
/// by the keyset, then cut by the same rules as [`fetch`].
pub fn slice<M>(mut rows: Vec<M>, keyset: &Keyset<M>, args: &PageArgs) -> AppResult<Page<M>> {
    let plan = Plan::new(keyset, args)?;
    let total_count = Some(rows.len() as u64);
    let cmp = |a: &M, b: &M| {
        let (ka, kb) = ((keyset.key)(a), (keyset.key)(b));
        if comes_after(keyset.columns, &ka, &kb) {
            Ordering::Greater
        } else if comes_after(keyset.columns, &kb, &ka) {
            Ordering::Less
        } else {
            Ordering::Equal
        }
    };
    rows.sort_by(cmp);
    let keyed: Vec<(Vec<KeyValue>, M)> = rows.into_iter().map(|m| ((keyset.key)(&m), m)).collect();
    let after_ok = |k: &[KeyValue]| plan.after.as_ref().is_none_or(|a| comes_after(keyset.columns, k, a));
    let before_ok = |k: &[KeyValue]| plan.before.as_ref().is_none_or(|b| comes_after(keyset.columns, b, k));
    let far_side = match if plan.backward { &plan.before } else { &plan.after } {
        Some(bound) if plan.backward => keyed.iter().any(|(k, _)| !comes_after(keyset.columns, bound, k)),
        Some(bound) => keyed.iter().any(|(k, _)| !comes_after(keyset.columns, k, bound)),
        None => false,
    };
    let mut inside: Vec<(Vec<KeyValue>, M)> = keyed.into_iter().filter(|(k, _)| after_ok(k) && before_ok(k)).collect();
    let more = inside.len() > plan.limit;
    if plan.backward {
        let skip = inside.len().saturating_sub(plan.limit);
        inside.drain(..skip);
    } else {
        inside.truncate(plan.limit);
    }
    let (has_next_page, has_previous_page) = if plan.backward { (far_side, more) } else { (more, far_side) };
    Ok(Page {
        rows: inside.into_iter().map(|(k, m)| (encode(keyset.connection, keyset.order, k), m)).collect(),
        has_next_page,
        has_previous_page,
        total_count,
        page_size: plan.limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Row {
        name: &'static str,
        id: u128,
    }

    const COLUMNS: &[SortColumn] = &[SortColumn::asc(KeyKind::Text), SortColumn::asc(KeyKind::Id)];

    fn key(r: &Row) -> Vec<KeyValue> {
        vec![KeyValue::Text(r.name.to_owned()), KeyValue::Id(Uuid::from_u128(r.id))]
    }

    const BY_NAME: Keyset<Row> = Keyset { connection: "things", order: "NAME_ASC", columns: COLUMNS, key };
    const BY_NAME_ELSEWHERE: Keyset<Row> =
        Keyset { connection: "otherThings", order: "NAME_ASC", columns: COLUMNS, key };
    const DESC: &[SortColumn] = &[SortColumn::desc(KeyKind::Text), SortColumn::desc(KeyKind::Id)];
    const BY_NAME_DESC: Keyset<Row> = Keyset { connection: "things", order: "NAME_DESC", columns: DESC, key };

    fn rows(names: &[&'static str]) -> Vec<Row> {
        names.iter().enumerate().map(|(i, n)| Row { name: n, id: i as u128 + 1 }).collect()
    }

    fn args(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> PageArgs {
        PageArgs { first, after, last, before, total: true }
    }

    fn names(p: &Page<Row>) -> Vec<&'static str> {
        p.rows.iter().map(|(_, r)| r.name).collect()
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_is_not_theirs() {
        let r = Row { name: "Zoë \"quoted\"", id: 7 };
        let c = BY_NAME.cursor(&r);
        assert_eq!(BY_NAME.decode(&c).ok(), Some(key(&r)));
        let code = |res: AppResult<Vec<KeyValue>>| res.map_err(|e| e.code());
        assert_eq!(code(BY_NAME_ELSEWHERE.decode(&c)), Err("BAD_USER_INPUT"), "another connection");
        assert_eq!(code(BY_NAME_DESC.decode(&c)), Err("BAD_USER_INPUT"), "another sort order");
        let other_version = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"v": 2, "c": "things", "o": "NAME_ASC", "k": [{"s": "a"}, {"u": Uuid::nil()}]})
                .to_string(),
        );
        assert_eq!(code(BY_NAME.decode(&other_version)), Err("BAD_USER_INPUT"), "another version");
        let wrong_kinds = encode("things", "NAME_ASC", vec![KeyValue::Int(1), KeyValue::Id(Uuid::nil())]);
        assert_eq!(code(BY_NAME.decode(&wrong_kinds)), Err("BAD_USER_INPUT"), "a value of the wrong type");
        let too_short = encode("things", "NAME_ASC", vec![KeyValue::Id(Uuid::nil())]);
        assert_eq!(code(BY_NAME.decode(&too_short)), Err("BAD_USER_INPUT"), "too few values");
        let offset_cursor = URL_SAFE_NO_PAD.encode("cursor:42");
        for garbage in ["", "!!!", "bm9wZQ", offset_cursor.as_str(), &"A".repeat(5000), "eyJ2IjoxfQ"] {
            assert_eq!(code(BY_NAME.decode(garbage)), Err("BAD_USER_INPUT"), "{garbage:.40}");
        }
        // Any key type survives the trip.
        let all = vec![
            KeyValue::Text(String::new()),
            KeyValue::Int(-5),
            KeyValue::Time(DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default()),
            KeyValue::Date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap_or_default()),
            KeyValue::Id(Uuid::now_v7()),
        ];
        let decoded: Payload =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encode("x", "y", all.clone())).unwrap()).expect("payload");
        assert_eq!(decoded.k, all);
    }

    #[test]
    fn bounds_and_argument_rules() {
        let list = rows(&["a", "b", "c"]);
        for bad in [Some(0), Some(-1), Some(201)] {
            assert!(slice(list.clone(), &BY_NAME, &args(bad, None, None, None)).is_err());
            assert!(slice(list.clone(), &BY_NAME, &args(None, None, bad, None)).is_err());
        }
        assert!(slice(list.clone(), &BY_NAME, &args(Some(1), None, Some(1), None)).is_err(), "first and last");
        let p = slice(list.clone(), &BY_NAME, &args(None, None, None, None)).expect("page");
        assert_eq!((names(&p), p.page_size, p.total_count), (vec!["a", "b", "c"], DEFAULT_PAGE, Some(3)));
        assert!(!p.has_next_page && !p.has_previous_page);
        let empty = slice(Vec::new(), &BY_NAME, &args(Some(5), None, None, None)).expect("page");
        assert!(empty.rows.is_empty() && !empty.has_next_page && !empty.has_previous_page);
        let empty = slice(Vec::new(), &BY_NAME, &args(None, None, Some(5), None)).expect("page");
        assert!(empty.rows.is_empty() && !empty.has_next_page && !empty.has_previous_page);
        let c = BY_NAME.cursor(&list[0]);
        let gone = slice(Vec::new(), &BY_NAME, &args(Some(5), Some(c), None, None)).expect("page");
        assert!(gone.rows.is_empty() && !gone.has_previous_page, "a cursor into an emptied list");
    }

    #[test]
    fn forward_and_backward_cover_the_list_exactly_once_and_flag_the_ends() {
        let list = rows(&["k", "b", "q", "a", "b", "z", "m", "c", "y", "e", "b"]);
        for keyset in [&BY_NAME, &BY_NAME_DESC] {
            let mut forward = Vec::new();
            let mut after = None;
            let mut pages = 0;
            loop {
                let p = slice(list.clone(), keyset, &args(Some(3), after.clone(), None, None)).expect("page");
                assert_eq!(p.has_previous_page, pages > 0);
                forward.extend(p.rows.iter().map(|(_, r)| r.clone()));
                pages += 1;
                if !p.has_next_page {
                    break;
                }
                after = p.rows.last().map(|(c, _)| c.clone());
            }
            assert_eq!(pages, 4);
            let mut backward = Vec::new();
            let mut before = None;
            loop {
                let p = slice(list.clone(), keyset, &args(None, None, Some(4), before.clone())).expect("page");
                assert_eq!(p.has_next_page, before.is_some());
                let mut page: Vec<Row> = p.rows.iter().map(|(_, r)| r.clone()).collect();
                page.extend(backward);
                backward = page;
                if !p.has_previous_page {
                    break;
                }
                before = p.rows.first().map(|(c, _)| c.clone());
            }
            assert_eq!(forward, backward, "both directions see the same order");
            assert_eq!(forward.len(), list.len());
            let mut sorted = list.clone();
            sorted.sort_by(|a, b| (a.name, a.id).cmp(&(b.name, b.id)));
            if keyset.order == "NAME_DESC" {
                sorted.reverse();
            }
            assert_eq!(forward, sorted);
        }
    }

    #[test]
    fn pages_hold_still_when_rows_come_and_go() {
        let mut list = rows(&["a", "c", "e", "g"]);
        let first = slice(list.clone(), &BY_NAME, &args(Some(2), None, None, None)).expect("page");
        assert_eq!(names(&first), ["a", "c"]);
        let after = first.rows[1].0.clone();
        // Before the next page: a row added before the cursor, the cursor's own row deleted, a
        // row added after it.
        list.push(Row { name: "b", id: 90 });
        list.retain(|r| r.name != "c");
        list.push(Row { name: "f", id: 91 });
        let next = slice(list.clone(), &BY_NAME, &args(Some(2), Some(after.clone()), None, None)).expect("page");
        assert_eq!(names(&next), ["e", "f"], "neither repeats nor skips");
        assert!(next.has_previous_page && next.has_next_page);
        let between =
            slice(list, &BY_NAME, &args(None, Some(after), None, Some(next.rows[1].0.clone()))).expect("page");
        assert_eq!(names(&between), ["e"], "after and before together");
    }

    #[test]
    fn the_sql_predicate_has_one_branch_per_column() {
        use sea_orm::sea_query::{Alias, Query, SqliteQueryBuilder};
        let exprs = [Expr::col(Alias::new("name")), Expr::col(Alias::new("id"))];
        let bound = key(&Row { name: "m", id: 1 });
        let sql = |cond: Condition| {
            Query::select()
                .column(Alias::new("id"))
                .from(Alias::new("t"))
                .cond_where(cond)
                .to_string(SqliteQueryBuilder)
        };
        let fwd = sql(beyond(&exprs, COLUMNS, &bound, true));
        assert!(fwd.contains("\"name\" > 'm' OR (\"name\" = 'm' AND \"id\" >"), "{fwd}");
        let back = sql(beyond(&exprs, COLUMNS, &bound, false));
        assert!(back.contains("\"name\" < 'm' OR (\"name\" = 'm' AND \"id\" <"), "{back}");
        let desc_fwd = sql(beyond(&exprs, DESC, &bound, true));
        assert!(desc_fwd.contains("\"name\" < 'm' OR (\"name\" = 'm' AND \"id\" <"), "{desc_fwd}");
    }
}
