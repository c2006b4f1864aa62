//! Helpers the resolvers of this area share: reading deal inputs into commands and user
//! errors (the deal read rule is `pipeline::policy`).

use async_graphql::MaybeUndefined;

use super::inputs::DealInput;
use crate::core::error::AppResult;
use crate::core::field::FieldError;
use crate::graphql::UserError;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::pipeline::model::Split;
use crate::pipeline::service::DealChanges;

// ---------------------------------------------------------------- helpers

pub(super) fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

fn maybe<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(x)),
    }
}

/// Deal fields as a command, the IDs decoded in the order they are looked up. On an update the
/// stage is refused whatever it is (use `moveDealStage`), so it is not decoded there.
pub(super) fn deal_changes(input: DealInput, update: bool) -> AppResult<DealChanges> {
    let owner_id = input.owner_id.as_ref().map(|id| decode_id(id, NodeKind::Member)).transpose()?;
    let territory_id = match &input.territory_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(decode_id(id, NodeKind::Territory)?)),
    };
    let splits = match &input.splits {
        Some(list) => Some(
            list.iter()
                .map(|s| {
                    Ok(Split {
                        member_id: decode_id(&s.member_id, NodeKind::Member)?,
                        kind: s.kind,
                        percent: s.percent,
                    })
                })
                .collect::<AppResult<Vec<_>>>()?,
        ),
        None => None,
    };
    let stage_id = match &input.stage_id {
        Some(id) if update => Some(decode_id(id, NodeKind::PipelineStage).unwrap_or_default()),
        Some(id) => Some(decode_id(id, NodeKind::PipelineStage)?),
        None => None,
    };
    Ok(DealChanges {
        name: input.name,
        company: maybe(input.company),
        owner_id,
        amount: input.amount,
        stage_id,
        probability: input.probability,
        forecast_category: input.forecast_category,
        expected_close_date: maybe(input.expected_close_date),
        lead_source: maybe(input.lead_source),
        lead_created_at: maybe(input.lead_created_at),
        first_contact_at: maybe(input.first_contact_at),
        address: maybe(input.address),
        country: maybe(input.country),
        postal_code: maybe(input.postal_code),
        industry: maybe(input.industry),
        company_size: maybe(input.company_size),
        splits,
        external_id: maybe(input.external_id),
        territory_id,
        custom_fields: input.custom_fields.map(|j| j.0),
    })
}
