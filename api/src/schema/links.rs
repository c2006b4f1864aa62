//! The links between domains that the schema provides (see [`crate::objects::MemberLinks`]).

use async_graphql::{Context, ID, Result};

use crate::graphql::keyset::Keyset;
use crate::graphql::relay::PageArgs;
use crate::objects::{ActivityConnection, DealConnection, MemberLinks};
use entity::deal;

/// A member's deals and activities, through the pipeline's and scoring's page queries.
pub struct Links;

#[async_trait::async_trait]
impl MemberLinks for Links {
    async fn deals(
        &self,
        ctx: &Context<'_>,
        owner: ID,
        keyset: &Keyset<deal::Model>,
        page: &PageArgs,
    ) -> Result<DealConnection> {
        let filter = crate::pipeline::graphql::DealFilterInput::of_owner(owner);
        crate::pipeline::graphql::deal_page(ctx, filter, keyset, page).await
    }

    async fn activities(&self, ctx: &Context<'_>, member: ID, page: &PageArgs) -> Result<ActivityConnection> {
        let filter = crate::scoring::graphql::ActivityFilterInput::of_member(member);
        crate::scoring::graphql::activity_page(ctx, filter, &crate::scoring::store::MEMBER_ACTIVITIES, page).await
    }
}
