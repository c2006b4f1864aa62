//! How the request's loader batches this area's lookups.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::graphql::loaders::{LoadError, MemberKey, OrgLoader, TeamKey, shared};
use entity::{member, team};

impl Loader<TeamKey> for OrgLoader {
    type Value = team::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[TeamKey]) -> Result<HashMap<TeamKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::teams_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|t| (TeamKey(t.id), t)).collect())
    }
}

impl Loader<MemberKey> for OrgLoader {
    type Value = member::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[MemberKey]) -> Result<HashMap<MemberKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::members_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|m| (MemberKey(m.id), m)).collect())
    }
}
