//! The import use-cases: deals and activities from CSV files.
//!
//! Each row runs in its own savepoint inside one unit of work: when bad rows are skipped, a bad
//! row is rolled back alone and reported; when it is all or nothing, every row is still checked
//! (so the answer lists every error) and the whole unit is rolled back if any row failed.

use std::collections::HashMap;
use std::io::{BufReader, Read};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

use super::policy;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::db::unit::Unit;
use crate::events::{Event, EventBus};
use crate::org::store as org_store;
use crate::pipeline::model::ForecastCategory;
use crate::pipeline::service::{self as deal_service, DealChanges};
use crate::scoring::scores::{self, LogRequest};

/// Most errors listed in an answer (the count covers all).
const MAX_LISTED_ERRORS: usize = 1000;

/// A file to import.
pub struct ImportFile<R> {
    /// The uploaded file, or why it could not be read (reported after the permission check).
    pub file: AppResult<R>,
    /// Import nothing if any row is bad (otherwise import the good rows and report the bad ones).
    pub all_or_nothing: bool,
}

/// A bad row.
#[derive(Debug, Clone)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub row: u64,
    /// The column at fault; `None` for the row as a whole.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Records created (0 when nothing was written).
    pub created: u64,
    /// Records updated (0 when nothing was written).
    pub updated: u64,
    /// Rows not imported (every row when nothing was written).
    pub skipped: u64,
    /// Whether anything was written (false when an all-or-nothing import met a bad row).
    pub committed: bool,
    /// Bad rows, at most 1000 listed.
    pub errors: Vec<RowError>,
    /// How many bad rows there were in all.
    pub error_count: u64,
}

struct Tally {
    rows: u64,
    created: u64,
    updated: u64,
    skipped: u64,
    errors: Vec<RowError>,
    error_count: u64,
}

impl Tally {
    fn new() -> Self {
        Tally { rows: 0, created: 0, updated: 0, skipped: 0, errors: Vec::new(), error_count: 0 }
    }

    fn error(&mut self, row: u64, column: Option<&str>, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(RowError { row, column: column.map(str::to_owned), message: message.into() });
        }
    }
}

/// How an upload is read: a header row, every row as long as it, cells trimmed.
pub(crate) fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input)
}

/// The header row: every column known, the required ones present; column name → index.
pub(crate) fn headers<R: Read>(
    r: &mut csv::Reader<R>,
    known: &[&str],
    required: &[&str],
) -> AppResult<HashMap<String, usize>> {
    let h = r.headers().map_err(|e| AppError::bad_input(format!("the file has no readable header row: {e}")))?.clone();
    let mut map = HashMap::new();
    for (i, name) in h.iter().enumerate() {
        if !known.contains(&name) {
            return Err(AppError::bad_input(format!(
                "unknown column '{}'; the columns are {}",
                name.chars().take(60).collect::<String>(),
                known.join(", ")
            )));
        }
        map.insert(name.to_owned(), i);
    }
    for r in required {
        if !map.contains_key(*r) {
            return Err(AppError::bad_input(format!("the header row lacks the '{r}' column")));
        }
    }
    Ok(map)
}

fn cell<'a>(rec: &'a csv::StringRecord, cols: &HashMap<String, usize>, name: &str) -> Option<&'a str> {
    cols.get(name).and_then(|i| rec.get(*i)).filter(|v| !v.is_empty())
}

fn text(v: Option<&str>) -> Option<Option<String>> {
    v.map(|s| Some(s.to_owned()))
}

/// The CSV column a deal field's error is about.
fn deal_column(field: &[String]) -> Option<String> {
    let f = field.get(1)?.as_str();
    Some(
        match f {
            "ownerId" => "ownerEmail",
            "stageId" => "stage",
            other => other,
        }
        .to_owned(),
    )
}

/// The columns of a deals file.
pub(crate) const DEAL_COLUMNS: [&str; 14] = [
    "externalId",
    "name",
    "company",
    "ownerEmail",
    "amount",
    "stage",
    "probability",
    "forecastCategory",
    "expectedCloseDate",
    "leadSource",
    "country",
    "postalCode",
    "industry",
    "companySize",
];

/// The columns of an activities file.
pub(crate) const ACTIVITY_COLUMNS: [&str; 6] =
    ["externalId", "memberEmail", "activityType", "quantity", "occurredAt", "note"];

/// Imports deals (admins): a row whose `externalId` exists updates that deal with the pipeline's
/// deal update; otherwise the pipeline's deal create makes one. Publishes nothing.
pub async fn import_deals<R: Read>(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ImportFile<R>,
) -> AppResult<ImportReport> {
    policy::may_import(p)?;
    let mut r = csv_reader(BufReader::new(cmd.file?));
    let cols = headers(&mut r, &DEAL_COLUMNS, &["externalId"])?;
    let stages = crate::pipeline::store::stages(p.org, db).await?;
    let mut owners: HashMap<String, Option<Uuid>> = HashMap::new();
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let mut t = Tally::new();
    for (i, rec) in r.records().enumerate() {
        let line = i as u64 + 2;
        t.rows += 1;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                t.error(line, None, format!("unreadable row: {e}"));
                t.skipped += 1;
                continue;
            }
        };
        match import_deal(p, unit.db(), &rec, &cols, &stages, &mut owners).await? {
            Ok(created) => {
                if created {
                    t.created += 1;
                } else {
                    t.updated += 1;
                }
            }
            Err(errors) => {
                t.skipped += 1;
                for (column, message) in errors {
                    t.error(line, column.as_deref(), message);
                }
            }
        }
    }
    finish(unit, p, cmd.all_or_nothing, t, false).await
}

/// Imports activities (admins): a row whose `externalId` (the idempotency key) was imported
/// before is skipped, never counted twice. Imported activities raise no `activity.logged`
/// webhooks; boards and scores are rebuilt once for the whole batch.
pub async fn import_activities<R: Read>(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ImportFile<R>,
) -> AppResult<ImportReport> {
    policy::may_import(p)?;
    let mut r = csv_reader(BufReader::new(cmd.file?));
    let cols = headers(&mut r, &ACTIVITY_COLUMNS, &["externalId", "memberEmail", "activityType"])?;
    let s = scores::settings(p.org, db).await?;
    let reach = p.reach(db).await?;
    let types: HashMap<String, Uuid> = crate::scoring::store::all_activity_types(p.org, db)
        .await?
        .into_iter()
        .filter(|t| t.active)
        .map(|t| (t.name.to_lowercase(), t.id))
        .collect();
    let mut members: HashMap<String, Option<Uuid>> = HashMap::new();
    let now = Utc::now();
    let mut memo = scores::LogMemo::default();
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let mut t = Tally::new();
    for (i, rec) in r.records().enumerate() {
        let line = i as u64 + 2;
        t.rows += 1;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                t.error(line, None, format!("unreadable row: {e}"));
                t.skipped += 1;
                continue;
            }
        };
        let bad = |t: &mut Tally, column: &str, message: String| {
            t.error(line, Some(column), message);
            t.skipped += 1;
        };
        let cells = match activity_cells(&rec, &cols) {
            Ok(cells) => cells,
            Err((column, message)) => {
                bad(&mut t, column, message);
                continue;
            }
        };
        let email = cell(&rec, &cols, "memberEmail").unwrap_or_default().to_lowercase();
        let member = match members.get(&email) {
            Some(m) => *m,
            None => {
                let m = org_store::find_member_by_email(p.org, unit.db(), &email).await?.map(|m| m.id);
                members.insert(email.clone(), m);
                m
            }
        };
        let Some(member) = member else {
            bad(
                &mut t,
                "memberEmail",
                format!("no member with e-mail '{}'", email.chars().take(100).collect::<String>()),
            );
            continue;
        };
        let Some(type_id) = cell(&rec, &cols, "activityType").and_then(|n| types.get(&n.to_lowercase())) else {
            bad(&mut t, "activityType", "no active activity type with this name".into());
            continue;
        };
        let req = LogRequest {
            activity_type_id: *type_id,
            member_id: member,
            quantity: cells.quantity,
            progress_percent: None,
            work_item_key: None,
            occurred_at: cells.occurred_at,
            note: cell(&rec, &cols, "note").map(str::to_owned),
            idempotency_key: Some(cells.external_id.to_owned()),
            deal_id: None,
        };
        let sp = unit.db().begin().await.map_err(AppError::from)?;
        match scores::log_activity(&s, &sp, p, &reach, req, now, &mut memo).await {
            Ok(o) if o.replayed => {
                t.skipped += 1;
            }
            Ok(_) => {
                sp.commit().await.map_err(AppError::from)?;
                t.created += 1;
            }
            Err(Ok(errors)) => {
                t.skipped += 1;
                for e in errors {
                    // The file's externalId is the activity's idempotency key.
                    let column = match e.field.get(1).map(String::as_str) {
                        Some("idempotencyKey") => Some("externalId"),
                        other => other,
                    };
                    t.error(line, column, e.message);
                }
            }
            Err(Err(e)) => return Err(e),
        }
    }
    finish(unit, p, cmd.all_or_nothing, t, true).await
}

async fn finish(
    mut unit: Unit,
    p: &Principal,
    all_or_nothing: bool,
    t: Tally,
    activities: bool,
) -> AppResult<ImportReport> {
    let committed = !(all_or_nothing && t.error_count > 0);
    if committed {
        if activities {
            // Boards and scores are rebuilt once for the whole batch.
            unit.publish(Event::MembersChanged { org: p.org.0 });
        } else if t.created + t.updated > 0 {
            // Views computed from deals (the KPI scoreboard) are computed again once.
            unit.publish(Event::DataChanged { org: p.org.0 });
        }
        unit.commit().await?;
    } else {
        drop(unit);
    }
    let (created, updated) = if committed { (t.created, t.updated) } else { (0, 0) };
    Ok(ImportReport {
        rows: t.rows,
        created,
        updated,
        skipped: if committed { t.skipped } else { t.rows },
        committed,
        errors: t.errors,
        error_count: t.error_count,
    })
}

/// One deal row: `Ok(created?)` or the row's errors (column, message).
async fn import_deal(
    p: &Principal,
    tx: &DatabaseTransaction,
    rec: &csv::StringRecord,
    cols: &HashMap<String, usize>,
    stages: &[entity::pipeline_stage::Model],
    owners: &mut HashMap<String, Option<Uuid>>,
) -> AppResult<Result<bool, Vec<(Option<String>, String)>>> {
    let mut errors: Vec<(Option<String>, String)> = Vec::new();
    let cells = match deal_cells(rec, cols) {
        Err(e) if e.first().is_some_and(|(c, _)| c.as_deref() == Some("externalId")) => return Ok(Err(e)),
        cells => cells,
    };
    let owner_id = match cell(rec, cols, "ownerEmail") {
        None => None,
        Some(email) => {
            let email = email.to_lowercase();
            let id = match owners.get(&email) {
                Some(id) => *id,
                None => {
                    let id = org_store::find_member_by_email(p.org, tx, &email).await?.map(|m| m.id);
                    owners.insert(email.clone(), id);
                    id
                }
            };
            if id.is_none() {
                errors.push((
                    Some("ownerEmail".into()),
                    format!("no member with e-mail '{}'", email.chars().take(100).collect::<String>()),
                ));
            }
            id
        }
    };
    let stage_id = match cell(rec, cols, "stage") {
        None => None,
        Some(name) => match stages.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
            Some(s) => Some(s.id),
            None => {
                errors.push((Some("stage".into()), "no stage with this name".into()));
                None
            }
        },
    };
    let cells = match cells {
        Ok(cells) if errors.is_empty() => cells,
        Ok(_) => return Ok(Err(errors)),
        Err(more) => {
            errors.extend(more);
            return Ok(Err(errors));
        }
    };
    let DealCells { external_id, probability, forecast_category, expected_close_date, company_size } = cells;
    let changes = DealChanges {
        name: cell(rec, cols, "name").map(str::to_owned),
        company: text(cell(rec, cols, "company")),
        owner_id,
        amount: cell(rec, cols, "amount").map(str::to_owned),
        stage_id: None,
        probability,
        forecast_category,
        expected_close_date: expected_close_date.map(Some),
        lead_source: text(cell(rec, cols, "leadSource")),
        country: text(cell(rec, cols, "country")),
        postal_code: text(cell(rec, cols, "postalCode")),
        industry: text(cell(rec, cols, "industry")),
        company_size: company_size.map(Some),
        external_id: Some(Some(external_id.to_owned())),
        ..Default::default()
    };
    let sp = tx.begin().await.map_err(AppError::from)?;
    let existing = crate::pipeline::store::find_deal_by_external_id(p.org, &sp, external_id).await?;
    let created = existing.is_none();
    let result = match existing {
        Some(d) => deal_service::update_deal_in(p, &sp, d, changes).await?,
        None => deal_service::create_deal_in(p, &sp, DealChanges { stage_id, ..changes }).await?,
    };
    match result {
        Ok(_) => {
            sp.commit().await.map_err(AppError::from)?;
            Ok(Ok(created))
        }
        Err(errors) => Ok(Err(errors.into_iter().map(|e| (deal_column(&e.field), e.message)).collect())),
    }
}

/// The cells of an activities row that need no lookup.
#[derive(Debug)]
pub(crate) struct ActivityCells<'a> {
    external_id: &'a str,
    quantity: Option<i32>,
    occurred_at: Option<DateTime<Utc>>,
}

/// Reads an activities row's own cells; the first bad one as (column, message).
pub(crate) fn activity_cells<'a>(
    rec: &'a csv::StringRecord,
    cols: &HashMap<String, usize>,
) -> Result<ActivityCells<'a>, (&'static str, String)> {
    let external_id = cell(rec, cols, "externalId").ok_or(("externalId", "required".to_owned()))?;
    let quantity = match cell(rec, cols, "quantity").map(str::parse::<i32>) {
        None => None,
        Some(Ok(q)) => Some(q),
        Some(Err(_)) => return Err(("quantity", "must be a whole number".into())),
    };
    let occurred_at = match cell(rec, cols, "occurredAt").map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(at)) => Some(at.with_timezone(&Utc)),
        Some(Err(_)) => return Err(("occurredAt", "must be an RFC 3339 time like 2026-11-23T09:30:00Z".into())),
    };
    Ok(ActivityCells { external_id, quantity, occurred_at })
}

/// The cells of a deals row that need no lookup (`None`: the cell is empty).
#[derive(Debug)]
pub(crate) struct DealCells<'a> {
    external_id: &'a str,
    probability: Option<i32>,
    forecast_category: Option<ForecastCategory>,
    expected_close_date: Option<NaiveDate>,
    company_size: Option<i32>,
}

/// Reads a deals row's own cells; every bad one as (column, message). A missing `externalId`
/// is the only error then.
pub(crate) fn deal_cells<'a>(
    rec: &'a csv::StringRecord,
    cols: &HashMap<String, usize>,
) -> Result<DealCells<'a>, Vec<(Option<String>, String)>> {
    let Some(external_id) = cell(rec, cols, "externalId") else {
        return Err(vec![(Some("externalId".into()), "required".into())]);
    };
    let mut errors: Vec<(Option<String>, String)> = Vec::new();
    let probability = match cell(rec, cols, "probability").map(str::parse::<i32>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            errors.push((Some("probability".into()), "must be a whole number 0 to 100".into()));
            None
        }
    };
    let forecast_category = match cell(rec, cols, "forecastCategory") {
        None => None,
        Some(c) => match ForecastCategory::parse(&c.to_ascii_uppercase()) {
            Some(c) => Some(c),
            None => {
                errors.push((Some("forecastCategory".into()), "PIPELINE, BEST_CASE, COMMIT, CLOSED or OMITTED".into()));
                None
            }
        },
    };
    let expected_close_date =
        match cell(rec, cols, "expectedCloseDate").map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(_)) => {
                errors.push((Some("expectedCloseDate".into()), "must be a date like 2026-12-31".into()));
                None
            }
        };
    let company_size = match cell(rec, cols, "companySize").map(str::parse::<i32>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            errors.push((Some("companySize".into()), "must be a whole number".into()));
            None
        }
    };
    if errors.is_empty() {
        Ok(DealCells { external_id, probability, forecast_category, expected_close_date, company_size })
    } else {
        Err(errors)
    }
}
