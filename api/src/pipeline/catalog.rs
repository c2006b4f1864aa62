//! An organization's pipeline set-up in memory: its stages (archived ones too) and checklist
//! items, loaded whole and kept until a stage or item changes (every set-up mutation publishes
//! `RulesChanged`) or `MEMBER_CACHE_SECONDS` pass, so a pipeline screen's stages and checklists
//! cost no database round trip (see `events::cache::TenantSnapshots`).

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{checklist_item, pipeline_stage};

use super::store;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::events::cache::TenantSnapshots;

/// One organization's stages and checklist items.
#[derive(Debug, Default)]
pub struct Catalog {
    stages: HashMap<Uuid, pipeline_stage::Model>,
    /// Every checklist item, by position (then creation).
    items: Vec<checklist_item::Model>,
}

impl Catalog {
    /// Builds the catalog from the organization's rows (`items` in checklist order).
    pub fn new(stages: Vec<pipeline_stage::Model>, items: Vec<checklist_item::Model>) -> Self {
        Catalog { stages: stages.into_iter().map(|s| (s.id, s)).collect(), items }
    }

    /// A stage, archived or not.
    pub fn stage(&self, id: Uuid) -> Option<&pipeline_stage::Model> {
        self.stages.get(&id)
    }

    /// The checklist of a stage, in order.
    pub fn checklist(&self, stage: Uuid) -> impl Iterator<Item = &checklist_item::Model> {
        self.items.iter().filter(move |i| i.stage_id == stage)
    }
}

/// The kept catalogs of every organization.
pub type Catalogs = TenantSnapshots<Catalog>;

/// The organization's catalog: kept, or loaded now (two queries).
pub async fn catalog(catalogs: &Catalogs, org: OrgId, db: &impl ConnectionTrait) -> AppResult<Arc<Catalog>> {
    catalogs
        .get(org, || async move {
            let stages = store::all_stages(org, db).await?;
            let items = store::all_items(org, db).await?;
            Ok(Catalog::new(stages, items))
        })
        .await
}
