//! Every tenant table, read, written and erased row by row as JSON, one organization at a time:
//! what an archive and an erasure need, through the tenant helpers (the organization filter
//! written once).

use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant::{self, Tenant};

/// Rows written per statement.
const INSERT_CHUNK: usize = 100;

/// One tenant table, as an archive and an erasure see it.
#[async_trait::async_trait]
pub trait Table: Send + Sync {
    /// Its name in an archive (the entity module's name).
    fn name(&self) -> &'static str;
    /// Up to `limit` rows of `org` after the row `after`, by ID.
    async fn rows(
        &self,
        org: OrgId,
        db: &sea_orm::DatabaseConnection,
        after: Option<Uuid>,
        limit: u64,
    ) -> AppResult<Vec<Value>>;
    /// How many rows `org` has.
    async fn count(&self, org: OrgId, db: &sea_orm::DatabaseTransaction) -> AppResult<u64>;
    /// Writes rows (already renamed into their organization).
    async fn insert(&self, rows: Vec<Value>, db: &sea_orm::DatabaseTransaction) -> AppResult<()>;
    /// Erases every row of `org`.
    async fn erase(&self, org: OrgId, db: &sea_orm::DatabaseTransaction) -> AppResult<u64>;
}

struct Of<E>(&'static str, std::marker::PhantomData<E>);

#[async_trait::async_trait]
impl<E> Table for Of<E>
where
    E: Tenant + Send + Sync,
    E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send + Sync,
{
    fn name(&self) -> &'static str {
        self.0
    }

    async fn rows(
        &self,
        org: OrgId,
        db: &sea_orm::DatabaseConnection,
        after: Option<Uuid>,
        limit: u64,
    ) -> AppResult<Vec<Value>> {
        let id = Expr::col(Alias::new("id"));
        let mut q = tenant::scoped::<E>(org);
        if let Some(after) = after {
            q = q.filter(id.clone().gt(after));
        }
        let rows = q.order_by(id, sea_orm::Order::Asc).limit(limit).all(db).await?;
        rows.iter()
            .map(|r| {
                serde_json::to_value(r).map_err(|e| AppError::Internal(anyhow::anyhow!("archiving {}: {e}", self.0)))
            })
            .collect()
    }

    async fn count(&self, org: OrgId, db: &sea_orm::DatabaseTransaction) -> AppResult<u64> {
        Ok(tenant::scoped::<E>(org).count(db).await?)
    }

    async fn insert(&self, rows: Vec<Value>, db: &sea_orm::DatabaseTransaction) -> AppResult<()> {
        let mut models = Vec::with_capacity(rows.len());
        for row in rows {
            let model: E::Model = serde_json::from_value(row)
                .map_err(|e| AppError::bad_input(format!("a row of '{}' in the archive does not fit: {e}", self.0)))?;
            models.push(model.into_active_model());
        }
        while !models.is_empty() {
            let rest = models.split_off(models.len().min(INSERT_CHUNK));
            E::insert_many(std::mem::replace(&mut models, rest)).exec_without_returning(db).await?;
        }
        Ok(())
    }

    async fn erase(&self, org: OrgId, db: &sea_orm::DatabaseTransaction) -> AppResult<u64> {
        Ok(tenant::scoped_delete::<E>(org).exec(db).await?.rows_affected)
    }
}

macro_rules! tables {
    ($($t:ident),+ $(,)?) => {
        /// The table named `name` (an entity module's name), if it is a tenant table.
        pub fn table(name: &str) -> Option<&'static dyn Table> {
            match name {
                $(stringify!($t) => {
                    static T: Of<entity::$t::Entity> = Of(stringify!($t), std::marker::PhantomData);
                    Some(&T)
                })+
                _ => None,
            }
        }
    };
}

tables!(
    activity,
    activity_day_total,
    activity_type,
    alert,
    alert_rule,
    api_key,
    audit_entry,
    campaign,
    checklist_item,
    clawback,
    custom_field,
    deal,
    deal_checklist,
    deal_split,
    deal_stage_history,
    dispute,
    forecast_adjustment,
    forecast_submission,
    identity_provider,
    incentive_plan,
    kpi,
    kpi_report,
    kpi_target,
    kpi_week_lock,
    label_override,
    member,
    mystery_check,
    mystery_criterion,
    mystery_round,
    organization_domain,
    persisted_query,
    pipeline_stage,
    plan_assignment,
    plan_version,
    points_target,
    quota,
    refresh_token,
    statement,
    statement_line,
    team,
    territory,
    territory_assignment,
    webhook,
    webhook_delivery,
    work_item_progress,
);

/// Gives every webhook of `org` a new signing secret (an archive never holds secrets).
pub async fn renew_webhook_secrets(org: OrgId, db: &impl ConnectionTrait) -> AppResult<()> {
    use entity::webhook;
    use sea_orm::ColumnTrait;
    let ids: Vec<Uuid> =
        tenant::scoped::<webhook::Entity>(org).select_only().column(webhook::Column::Id).into_tuple().all(db).await?;
    for id in ids {
        tenant::scoped_update::<webhook::Entity>(org)
            .col_expr(webhook::Column::Secret, Expr::value(crate::auth::store::new_secret()))
            .filter(webhook::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::model::{NOT_ARCHIVED, TABLES};

    #[test]
    fn every_archived_and_erased_table_is_known() {
        for name in TABLES.iter().chain(NOT_ARCHIVED) {
            assert_eq!(table(name).map(|t| t.name()), Some(*name), "{name}");
        }
        assert!(table("organization").is_none(), "the organization is the header, not a table");
    }
}
