//! The object types that link domains both ways (a member's deals, a deal's owner): newtypes
//! over their rows, declared here below the domains so that neither side imports the other.
//! Each domain's `graphql` gives its types their fields (`#[Object] impl Deal` lives in the
//! pipeline).

use async_graphql::{Context, ID, Result};

use crate::graphql::keyset::Keyset;
use crate::graphql::relay::PageArgs;
use entity::{activity, deal};

/// An opportunity in the pipeline.
pub struct Deal(pub deal::Model);

crate::connection_type!(DealConnection, DealEdge, Deal, "deals", projected);

/// A logged activity: a score event.
pub struct Activity(pub activity::Model);

crate::connection_type!(ActivityConnection, ActivityEdge, Activity, "activities");

/// The pages a member links to in other domains (`Member.deals`, `Member.activities`), with
/// the read rules of those domains' root fields. The member's own domain calls it through the
/// schema data; the schema (which sees every domain) provides it, so the member's domain does
/// not import the domains it links to.
#[async_trait::async_trait]
pub trait MemberLinks: Send + Sync {
    /// A page of the deals owned by `owner` that the caller may read.
    async fn deals(
        &self,
        ctx: &Context<'_>,
        owner: ID,
        keyset: &Keyset<deal::Model>,
        page: &PageArgs,
    ) -> Result<DealConnection>;
    /// A page of `member`'s activities, if the caller may read them.
    async fn activities(&self, ctx: &Context<'_>, member: ID, page: &PageArgs) -> Result<ActivityConnection>;
}

/// The [`MemberLinks`] of a context's schema data; INTERNAL when the schema was built without.
pub fn member_links<'a>(ctx: &'a Context<'_>) -> Result<&'a dyn MemberLinks> {
    ctx.data::<std::sync::Arc<dyn MemberLinks>>().map(|l| l.as_ref())
}
