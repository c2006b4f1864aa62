//! Every DataLoader, in one place. A loader is made per request for one tenant, so a batch
//! can never reach into another organization.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::{activity_type, campaign, deal_split, member, pipeline_stage, team};

use crate::error::AppError;
use crate::org::model::OrgId;
use crate::org::store;

/// Batches the tenant's lookups of one request.
pub struct OrgLoader {
    db: DatabaseConnection,
    org: OrgId,
}

impl OrgLoader {
    /// A loader for one tenant, batching on the tokio runtime.
    pub fn data_loader(db: DatabaseConnection, org: OrgId) -> DataLoader<OrgLoader> {
        DataLoader::new(OrgLoader { db, org }, tokio::spawn)
    }
}

/// Load a team by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TeamKey(pub Uuid);
/// Load a member by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKey(pub Uuid);
/// Load the active members directly in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TeamMembersKey(pub Uuid);
/// Load the direct sub-teams of a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubTeamsKey(pub Uuid);

/// Load an activity type by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActivityTypeKey(pub Uuid);
/// Load a campaign by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CampaignKey(pub Uuid);

/// Load a pipeline stage by ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StageKey(pub Uuid);
/// Load the splits of a deal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DealSplitsKey(pub Uuid);
/// Load the tenant's currency (one per request, however many amounts are shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CurrencyKey;

/// Loader errors are shared between all waiters of a batch.
#[derive(Clone, Debug)]
pub struct LoadError(std::sync::Arc<AppError>);

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        match &*e.0 {
            AppError::NotFound(what) => AppError::NotFound(what),
            other => AppError::Internal(anyhow::anyhow!("{}", other.message())),
        }
    }
}

impl From<LoadError> for async_graphql::Error {
    fn from(e: LoadError) -> Self {
        AppError::from(e).into()
    }
}

fn shared(e: AppError) -> LoadError {
    if let AppError::Database(cause) = &e {
        tracing::error!(error = %cause, "database error in loader");
    }
    LoadError(std::sync::Arc::new(e))
}

impl Loader<TeamKey> for OrgLoader {
    type Value = team::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[TeamKey]) -> Result<HashMap<TeamKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = store::teams_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|t| (TeamKey(t.id), t)).collect())
    }
}

impl Loader<MemberKey> for OrgLoader {
    type Value = member::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[MemberKey]) -> Result<HashMap<MemberKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = store::members_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|m| (MemberKey(m.id), m)).collect())
    }
}

impl Loader<TeamMembersKey> for OrgLoader {
    type Value = Vec<member::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[TeamMembersKey]) -> Result<HashMap<TeamMembersKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = store::members_by_teams(self.org, &self.db, &ids).await.map_err(shared)?;
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
        let rows = store::teams_by_parents(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<SubTeamsKey, Vec<team::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for t in rows {
            if let Some(parent) = t.parent_team_id {
                out.entry(SubTeamsKey(parent)).or_default().push(t);
            }
        }
        Ok(out)
    }
}

impl Loader<ActivityTypeKey> for OrgLoader {
    type Value = activity_type::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[ActivityTypeKey]) -> Result<HashMap<ActivityTypeKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = crate::scoring::store::activity_types_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|t| (ActivityTypeKey(t.id), t)).collect())
    }
}

impl Loader<CampaignKey> for OrgLoader {
    type Value = campaign::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[CampaignKey]) -> Result<HashMap<CampaignKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = crate::scoring::store::campaigns_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|c| (CampaignKey(c.id), c)).collect())
    }
}

impl Loader<StageKey> for OrgLoader {
    type Value = pipeline_stage::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[StageKey]) -> Result<HashMap<StageKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = crate::pipeline::store::stages_by_ids(self.org, &self.db, &ids).await.map_err(shared)?;
        Ok(rows.into_iter().map(|s| (StageKey(s.id), s)).collect())
    }
}

impl Loader<DealSplitsKey> for OrgLoader {
    type Value = Vec<deal_split::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[DealSplitsKey]) -> Result<HashMap<DealSplitsKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = crate::pipeline::store::splits_of(self.org, &self.db, &ids).await.map_err(shared)?;
        let mut out: HashMap<DealSplitsKey, Vec<deal_split::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for s in rows {
            out.entry(DealSplitsKey(s.deal_id)).or_default().push(s);
        }
        Ok(out)
    }
}

impl Loader<CurrencyKey> for OrgLoader {
    type Value = String;
    type Error = LoadError;

    async fn load(&self, _: &[CurrencyKey]) -> Result<HashMap<CurrencyKey, Self::Value>, Self::Error> {
        let org = store::organization(self.org, &self.db).await.map_err(shared)?;
        Ok(org.map(|o| (CurrencyKey, o.currency)).into_iter().collect())
    }
}
