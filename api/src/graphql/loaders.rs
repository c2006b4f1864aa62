//! The request's DataLoader and its keys. A loader is made per request for one tenant, so a
//! batch can never reach into another organization. Each area implements the lookups of its
//! keys next to its store (`org::loaders`, `scoring::loaders`, `pipeline::loaders`).

use async_graphql::dataloader::DataLoader;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::core::error::AppError;
use crate::core::ids::OrgId;

/// Batches the tenant's lookups of one request.
pub struct OrgLoader {
    /// The pool the batches read from.
    pub db: DatabaseConnection,
    /// The tenant every batch is scoped to.
    pub org: OrgId,
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
/// Load what is ticked off on a deal's checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DealChecklistKey(pub Uuid);

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

/// A loader error every waiter of the batch gets (database errors are logged once here).
pub fn shared(e: AppError) -> LoadError {
    if let AppError::Database(cause) = &e {
        tracing::error!(error = %cause, "database error in loader");
    }
    LoadError(std::sync::Arc::new(e))
}
