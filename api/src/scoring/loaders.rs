//! How the request's loader batches this area's lookups.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::graphql::loaders::{ActivityTypeKey, CampaignKey, LoadError, OrgLoader, shared};
use entity::{activity_type, campaign};

impl Loader<ActivityTypeKey> for OrgLoader {
    type Value = activity_type::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[ActivityTypeKey]) -> Result<HashMap<ActivityTypeKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::activity_types_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|t| (ActivityTypeKey(t.id), t)).collect())
    }
}

impl Loader<CampaignKey> for OrgLoader {
    type Value = campaign::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[CampaignKey]) -> Result<HashMap<CampaignKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::campaigns_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|c| (CampaignKey(c.id), c)).collect())
    }
}
