//! `importDeals` and `importActivities`: the upload is read into a command for the import
//! service, and its report becomes the answer.

use async_graphql::{Context, Enum, Object, Result, SimpleObject, Upload};

use super::service::{self, ImportFile, ImportReport};
use crate::core::error::{AppError, AppResult};
use crate::graphql::ContextExt;

/// What to do with bad rows.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Import nothing if any row is bad.
    AllOrNothing,
    /// Import the good rows; report the bad ones.
    SkipInvalid,
}

/// A bad row.
#[derive(SimpleObject, Clone)]
pub struct ImportRowError {
    /// Line number in the file (the header is line 1).
    row: u64,
    /// The column at fault; `null` for the row as a whole.
    column: Option<String>,
    /// What is wrong.
    message: String,
}

/// What an import did.
#[derive(SimpleObject)]
pub struct ImportResult {
    /// The mode used.
    mode: ImportMode,
    /// Data rows read.
    rows: u64,
    /// Records created.
    created: u64,
    /// Records updated (same `externalId`).
    updated: u64,
    /// Rows not imported: bad rows, and activities whose `externalId` was imported before.
    skipped: u64,
    /// Whether anything was written (false when ALL_OR_NOTHING met a bad row).
    committed: bool,
    /// Bad rows, at most 1000 listed.
    errors: Vec<ImportRowError>,
    /// How many bad rows there were in all.
    error_count: u64,
}

fn upload(ctx: &Context<'_>, file: &Upload, mode: ImportMode) -> ImportFile<std::fs::File> {
    let file =
        file.value(ctx).map(|v| v.content).map_err(|e| AppError::bad_input(format!("cannot read the upload: {e}")));
    ImportFile { file, all_or_nothing: mode == ImportMode::AllOrNothing }
}

fn answer(mode: ImportMode, r: AppResult<ImportReport>) -> Result<ImportResult> {
    let r = r?;
    Ok(ImportResult {
        mode,
        rows: r.rows,
        created: r.created,
        updated: r.updated,
        skipped: r.skipped,
        committed: r.committed,
        errors: r
            .errors
            .into_iter()
            .map(|e| ImportRowError { row: e.row, column: e.column, message: e.message })
            .collect(),
        error_count: r.error_count,
    })
}

/// Import mutations.
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports deals from a CSV file (header row; columns `externalId` (required), `name`,
    /// `company`, `ownerEmail`, `amount`, `stage` (name, new deals only), `probability`,
    /// `forecastCategory`, `expectedCloseDate` (YYYY-MM-DD), `leadSource`, `country`,
    /// `postalCode`, `industry`, `companySize`). A row whose `externalId` exists updates that
    /// deal; otherwise it creates one. Admins, or API keys with `deals:write`.
    async fn import_deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The CSV file (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "ALL_OR_NOTHING or SKIP_INVALID.")] mode: ImportMode,
    ) -> Result<ImportResult> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = upload(ctx, &file, mode);
        answer(mode, service::import_deals(&state.db, &state.events, p, cmd).await)
    }

    /// Imports activities from a CSV file (header row; columns `externalId` (required: the
    /// idempotency key), `memberEmail`, `activityType` (name), `quantity`, `occurredAt`
    /// (RFC 3339), `note`). A row whose `externalId` was imported before is skipped, never
    /// counted twice. Admins, or API keys with `activities:write`. Imported activities raise no
    /// `activity.logged` webhooks.
    async fn import_activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The CSV file (GraphQL multipart request).")] file: Upload,
        #[graphql(desc = "ALL_OR_NOTHING or SKIP_INVALID.")] mode: ImportMode,
    ) -> Result<ImportResult> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = upload(ctx, &file, mode);
        answer(mode, service::import_activities(&state.db, &state.events, p, cmd).await)
    }
}
