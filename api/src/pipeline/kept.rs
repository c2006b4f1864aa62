//! Pages of deals and the checklist completions of a page's deals, kept: read once and kept
//! until an event of the organization arrives (a deal, a checklist tick, a member, a stage; not
//! an activity) or a time-to-live passes (changes made outside the API), the way
//! [`crate::forecast::tree`] keeps a forecast's facts. The key is everything the query depends
//! on: the filter with the owners the viewer may read already applied, the order and the page
//! arguments, so two viewers share a page only when they would read the same rows.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{deal, deal_checklist};

use super::store::{self, DealFilter};
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::events::cache::DerivedViews;
use crate::graphql::keyset::{Keyset, Page};
use crate::graphql::relay::PageArgs;

/// What a page of deals is read with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// The connection and the order (as the keyset names them).
    keyset: (&'static str, &'static str),
    /// What to include, the viewer's reach applied.
    filter: DealFilter,
    /// The page arguments, with whether the total is counted.
    page: PageArgs,
}

/// Kept pages of deals.
pub type DealPages = DerivedViews<PageKey, Page<deal::Model>>;

/// Kept checklist completions, per set of deals (a page's), by deal.
pub type Completions = DerivedViews<Vec<Uuid>, HashMap<Uuid, Vec<deal_checklist::Model>>>;

/// How many pages (and as many sets of completions) are kept across organizations: at most
/// 200 deals a page, so a few tens of MB at the very most.
pub const KEPT_PAGES: usize = 256;

/// One page of the deals `filter` selects: the kept one while nothing of the organization
/// changed, else read now. The caller narrowed the filter to what the viewer may read.
pub async fn page(
    pages: &DealPages,
    org: OrgId,
    db: &impl ConnectionTrait,
    filter: DealFilter,
    keyset: &Keyset<deal::Model>,
    args: &PageArgs,
) -> AppResult<Arc<Page<deal::Model>>> {
    let key = PageKey { keyset: (keyset.connection, keyset.order), filter, page: args.clone() };
    let filter = key.filter.clone();
    pages.get(org, key, &[], || async move { store::page_deals(org, db, &filter, keyset, args).await }).await
}

/// The ticked checklist items of `deals`, by deal (a deal with none is absent): the kept ones
/// while nothing of the organization changed, else read now (one query).
pub async fn completions(
    kept: &Completions,
    org: OrgId,
    db: &impl ConnectionTrait,
    deals: Vec<Uuid>,
) -> AppResult<Arc<HashMap<Uuid, Vec<deal_checklist::Model>>>> {
    let ids = deals.clone();
    kept.get(org, deals, &[], || async move {
        let mut by_deal: HashMap<Uuid, Vec<deal_checklist::Model>> = HashMap::new();
        for c in store::completions_of(org, db, &ids).await? {
            by_deal.entry(c.deal_id).or_default().push(c);
        }
        Ok(by_deal)
    })
    .await
}
