//! An organization's data handed over and taken back: exported as an archive, read back into a
//! new organization, and erased (every row, and the cached state that came from them).

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use uuid::Uuid;

use entity::organization;

use super::model::{FORMAT, Line, Manifest, Renames, TABLES, parents_first};
use super::{policy, store};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::db::unit::{Actor, Unit};
use crate::events::{Event, EventBus};

/// Rows read per statement while exporting.
const PAGE: u64 = 1_000;

/// Streams the organization's archive (admins, not keys): the header, every row of every
/// archived table a page at a time, and the manifest last. Lines go to `out`; a failure ends
/// the stream without a manifest, so a reader can tell a cut-short archive.
pub async fn export(
    db: &DatabaseConnection,
    p: &Principal,
    out: tokio::sync::mpsc::Sender<AppResult<String>>,
) -> AppResult<()> {
    policy::may_export(p)?;
    let org = crate::org::store::organization(p.org, db).await?.ok_or(AppError::NotFound("organization"))?;
    let org_id = p.org;
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = write_archive(&db, org_id, org, &out).await {
            let _ = out.send(Err(e)).await;
        }
    });
    Ok(())
}

async fn write_archive(
    db: &DatabaseConnection,
    org: OrgId,
    row: organization::Model,
    out: &tokio::sync::mpsc::Sender<AppResult<String>>,
) -> AppResult<()> {
    let send = |line: Line| {
        let text = serde_json::to_string(&line).map(|mut t| {
            t.push('\n');
            t
        });
        async move {
            let text = text.map_err(|e| AppError::Internal(anyhow::anyhow!("archive line: {e}")))?;
            out.send(Ok(text)).await.map_err(|_| AppError::Internal(anyhow::anyhow!("the reader went away")))
        }
    };
    let organization = serde_json::to_value(&row).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    send(Line::Header { scorebord_archive: FORMAT, organization }).await?;
    let mut manifest = Manifest::default();
    for name in TABLES {
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        let mut after = None;
        let mut count = 0u64;
        loop {
            let rows = table.rows(org, db, after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
            let n = rows.len() as u64;
            for row in rows {
                send(Line::Row { table: (*name).to_owned(), row }).await?;
            }
            count += n;
            if n < PAGE || after.is_none() {
                break;
            }
        }
        manifest.tables.insert((*name).to_owned(), count);
        manifest.rows += count;
    }
    send(Line::Manifest { manifest }).await
}

/// The new organization an archive is read into.
#[derive(Debug, Clone)]
pub struct ImportInto {
    /// Its slug (unique on the server).
    pub slug: String,
    /// Its name; the archived one when `None`.
    pub name: Option<String>,
    /// The firm that owns it, if any.
    pub firm: Option<Uuid>,
}

/// Reads an archive into a new organization, in one transaction: every row gets a new ID and
/// every reference follows it, so the archive can be read beside the organization it came from.
/// Refused, writing nothing, when the archive is not one, is cut short (no manifest, or counts
/// that differ), or the slug is taken. Webhooks get new secrets (archives hold none). The
/// caller checks who may (the CLI, or a firm admin).
pub async fn import(
    db: &DatabaseConnection,
    bus: &EventBus,
    actor: Actor,
    text: &str,
    into: ImportInto,
) -> AppResult<Checked<(organization::Model, Manifest)>> {
    let bad = |why: String| Ok(Err(vec![FieldError::new("archive", "INVALID", why)]));
    let slug = match crate::org::model::parse_slug(&into.slug) {
        Ok(s) => s,
        Err(e) => return Ok(Err(vec![e])),
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str::<Line>);
    let organization = match lines.next() {
        Some(Ok(Line::Header { scorebord_archive: FORMAT, organization })) => organization,
        Some(Ok(Line::Header { scorebord_archive, .. })) => {
            return bad(format!("archive format {scorebord_archive} is not {FORMAT}"));
        }
        _ => return bad("the first line is not an archive header".into()),
    };
    let mut tables: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut manifest = None;
    for (n, line) in lines.enumerate() {
        match line {
            Ok(Line::Row { table, row }) if manifest.is_none() && TABLES.contains(&table.as_str()) => {
                tables.entry(table).or_default().push(row);
            }
            Ok(Line::Row { table, .. }) if manifest.is_none() => {
                return bad(format!("line {}: unknown table '{table}'", n + 2));
            }
            Ok(Line::Manifest { manifest: m }) if manifest.is_none() => manifest = Some(m),
            Ok(_) => return bad(format!("line {}: nothing may follow the manifest, and only one header", n + 2)),
            Err(e) => return bad(format!("line {}: {e}", n + 2)),
        }
    }
    let Some(manifest) = manifest else { return bad("the archive is cut short: it has no manifest".into()) };
    for name in TABLES {
        let have = tables.get(*name).map_or(0, Vec::len) as u64;
        if manifest.tables.get(*name).copied().unwrap_or(0) != have {
            return bad(format!("the archive is cut short: '{name}' has {have} rows, the manifest says otherwise"));
        }
    }
    let Some(old_org) = organization.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) else {
        return bad("the header's organization has no ID".into());
    };

    let new_org = Uuid::now_v7();
    let mut renames = Renames::default();
    renames.insert(old_org, new_org);
    for rows in tables.values() {
        for row in rows {
            renames.learn(row);
        }
    }
    let mut unit = Unit::begin(db, bus, OrgId(new_org), actor).await?;
    if crate::org::store::find_org_by_slug(unit.db(), &slug).await?.is_some() {
        return Ok(Err(vec![FieldError::new(
            "slug",
            "TAKEN",
            format!("an organization with slug '{slug}' exists already"),
        )]));
    }
    let mut org_row = organization;
    let now = Utc::now();
    if let Some(obj) = org_row.as_object_mut() {
        obj.insert("id".into(), Value::String(new_org.to_string()));
        obj.insert("slug".into(), Value::String(slug));
        if let Some(name) = into.name {
            obj.insert("name".into(), Value::String(name));
        }
        obj.insert("firm_id".into(), into.firm.map_or(Value::Null, |f| Value::String(f.to_string())));
        obj.insert("status".into(), Value::String(crate::org::store::ORG_ACTIVE.into()));
        obj.insert("deletion_due_at".into(), Value::Null);
        obj.insert("version".into(), Value::from(1));
        obj.insert("created_at".into(), serde_json::to_value(now).unwrap_or(Value::Null));
        obj.insert("updated_at".into(), serde_json::to_value(now).unwrap_or(Value::Null));
    }
    let org_model: organization::Model = match serde_json::from_value(org_row) {
        Ok(m) => m,
        Err(e) => return bad(format!("the header's organization does not fit: {e}")),
    };
    let created = crate::org::store::insert_organization(unit.db(), org_model).await?;
    for name in TABLES {
        let Some(rows) = tables.remove(*name) else { continue };
        let rows: Vec<Value> = rows.into_iter().map(|r| renames.apply(r)).collect();
        let rows = if *name == "team" { parents_first(rows, "parent_team_id") } else { rows };
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        table.insert(rows, unit.db()).await?;
    }
    store::renew_webhook_secrets(OrgId(new_org), unit.db()).await?;
    unit.audit("organization.import", "Organization", Some(new_org), None, serde_json::to_value(&manifest).ok())
        .await?;
    unit.publish(Event::MembersChanged { org: new_org });
    unit.publish(Event::RulesChanged { org: new_org });
    unit.publish(Event::DataChanged { org: new_org });
    unit.commit().await?;
    Ok(Ok((created, manifest)))
}

/// Erases every row of the organization, the organization itself last, in one transaction,
/// then drops what this server (and, on PostgreSQL, every instance) keeps of it. The caller
/// checks who may.
pub async fn erase(db: &DatabaseConnection, bus: &EventBus, org: OrgId) -> AppResult<u64> {
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let mut erased = 0;
    // Credentials first (refresh tokens name members), then the archived tables, referrers first.
    for name in super::model::NOT_ARCHIVED.iter().chain(TABLES.iter().rev()) {
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        erased += table.erase(org, &tx).await?;
    }
    crate::org::store::delete_organization(org, &tx).await?;
    tx.commit().await.map_err(AppError::from)?;
    bus.publish(Event::MembersChanged { org: org.0 });
    bus.publish(Event::RulesChanged { org: org.0 });
    bus.publish(Event::DataChanged { org: org.0 });
    bus.publish(Event::AccessChanged { org: org.0 });
    Ok(erased)
}

/// Rows per archived and erased table of the organization (what an erasure must bring to 0,
/// and a round trip keep equal).
pub async fn counts(db: &DatabaseConnection, org: OrgId) -> AppResult<BTreeMap<String, u64>> {
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let mut out = BTreeMap::new();
    for name in TABLES.iter().chain(super::model::NOT_ARCHIVED) {
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        out.insert((*name).to_owned(), table.count(org, &tx).await?);
    }
    drop(tx);
    Ok(out)
}

/// Erases every organization whose requested deletion is due (the sweep runs every minute).
pub async fn erase_due(db: &DatabaseConnection, bus: &EventBus) -> AppResult<usize> {
    let due = crate::org::store::due_for_erasure(db, Utc::now()).await?;
    for org in &due {
        erase(db, bus, *org).await?;
        tracing::info!(organization = %org.0, "organization erased after its deletion grace period");
    }
    Ok(due.len())
}

/// Sweeps for due erasures every minute, and once at start.
pub fn start_erasure_sweep(db: DatabaseConnection, bus: EventBus) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = erase_due(&db, &bus).await {
                e.log();
            }
        }
    });
}

/// An organization's set-up, read for copying (see [`super::model::SETUP_TABLES`]).
#[derive(Debug, Default)]
pub struct Setup {
    tables: Vec<(&'static str, Vec<Value>)>,
}

impl Setup {
    /// Rows per table.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.tables.iter().map(|(t, rows)| ((*t).to_owned(), rows.len() as u64)).collect()
    }
}

/// Reads the set-up of `source` (the caller checked it may): stages and their checklists,
/// custom fields, activity types, KPIs, targets per sales role, alert rules for everyone,
/// mystery-check criteria and incentive plans with their versions; nothing about a member or
/// a team.
pub async fn read_setup(db: &DatabaseConnection, source: OrgId) -> AppResult<Setup> {
    let mut setup = Setup::default();
    for name in super::model::SETUP_TABLES {
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let page = table.rows(source, db, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
            let n = page.len() as u64;
            rows.extend(page.into_iter().filter(|r| !super::model::names_people(r)));
            if n < PAGE || after.is_none() {
                break;
            }
        }
        setup.tables.push((name, rows));
    }
    Ok(setup)
}

/// Writes a set-up read by [`read_setup`] into the unit's organization: new IDs, references
/// followed, recorded as set by `actor` (a member of it), plan versions unlocked. The caller
/// checked the organization has no set-up of its own.
pub async fn write_setup(unit: &mut Unit, setup: Setup, source: OrgId, actor: Uuid) -> AppResult<()> {
    let target = unit.org();
    let mut renames = Renames::default();
    renames.insert(source.0, target.0);
    for (_, rows) in &setup.tables {
        for row in rows {
            renames.learn(row);
        }
    }
    let actor = Value::String(actor.to_string());
    for (name, rows) in setup.tables {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|r| {
                let mut r = renames.apply(r);
                if let Some(obj) = r.as_object_mut() {
                    for by in ["set_by", "created_by"] {
                        if obj.contains_key(by) {
                            obj.insert(by.into(), actor.clone());
                        }
                    }
                    if obj.contains_key("locked") {
                        obj.insert("locked".into(), Value::Bool(false));
                    }
                }
                r
            })
            .collect();
        let table = store::table(name).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown table {name}")))?;
        table.insert(rows, unit.db()).await?;
    }
    unit.publish(Event::RulesChanged { org: target.0 });
    unit.publish(Event::DataChanged { org: target.0 });
    Ok(())
}
