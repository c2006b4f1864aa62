//! How the request's loader batches this area's lookups.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::graphql::loaders::{DealChecklistKey, DealSplitsKey, LoadError, OrgLoader, StageKey, shared};
use entity::{deal_checklist, deal_split, pipeline_stage};

impl Loader<StageKey> for OrgLoader {
    type Value = pipeline_stage::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[StageKey]) -> Result<HashMap<StageKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::stages_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|s| (StageKey(s.id), s)).collect())
    }
}

impl Loader<DealSplitsKey> for OrgLoader {
    type Value = Vec<deal_split::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[DealSplitsKey]) -> Result<HashMap<DealSplitsKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::splits_of(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<DealSplitsKey, Vec<deal_split::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for s in rows {
            out.entry(DealSplitsKey(s.deal_id)).or_default().push(s);
        }
        Ok(out)
    }
}

impl Loader<DealChecklistKey> for OrgLoader {
    type Value = Vec<deal_checklist::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[DealChecklistKey]) -> Result<HashMap<DealChecklistKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::completions_of(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<DealChecklistKey, Vec<deal_checklist::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for c in rows {
            out.entry(DealChecklistKey(c.deal_id)).or_default().push(c);
        }
        Ok(out)
    }
}
