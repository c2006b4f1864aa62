//! How the request's loader batches this area's lookups.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::graphql::loaders::{
    CurrencyKey, LoadError, MemberKey, OrgLoader, SubTeamsKey, TeamKey, TeamMembersKey, shared,
};
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

impl Loader<TeamMembersKey> for OrgLoader {
    type Value = Vec<member::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[TeamMembersKey]) -> Result<HashMap<TeamMembersKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::members_by_teams(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<TeamMembersKey, Vec<member::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for m in rows {
            if let Some(team) = m.team_id {
                out.entry(TeamMembersKey(team)).or_default().push(m);
            }
        }
        Ok(out)
    }
}

impl Loader<SubTeamsKey> for OrgLoader {
    type Value = Vec<team::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[SubTeamsKey]) -> Result<HashMap<SubTeamsKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = super::store::teams_by_parents(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<SubTeamsKey, Vec<team::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for t in rows {
            if let Some(parent) = t.parent_team_id {
                out.entry(SubTeamsKey(parent)).or_default().push(t);
            }
        }
        Ok(out)
    }
}

impl Loader<CurrencyKey> for OrgLoader {
    type Value = String;
    type Error = LoadError;

    async fn load(&self, _: &[CurrencyKey]) -> Result<HashMap<CurrencyKey, Self::Value>, Self::Error> {
        let org = super::store::organization(self.org, &self.db).await.map_err(shared)?;
        Ok(org.map(|o| (CurrencyKey, o.currency)).into_iter().collect())
    }
}
