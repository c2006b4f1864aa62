//! `enumLabels`, the display labels of the enum values front ends show, and `setMyLocale`, a
//! member's own language. Names and labels are answered in the request's language; codes stay
//! stable English identifiers.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use super::directory::Directory;
use super::graphql::{Member, directory, request_locale};
use super::service;
use crate::core::locale::{Locale, label};
use crate::graphql::ContextExt;

/// An enum whose values front ends show.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LabelledEnum {
    /// `Role`.
    Role,
    /// `SalesRole`.
    SalesRole,
    /// `KpiStatus`.
    KpiStatus,
    /// `KpiDirection`.
    KpiDirection,
    /// `ClientStatus`.
    ClientStatus,
}

impl LabelledEnum {
    fn values(self) -> (&'static str, &'static [&'static str]) {
        match self {
            LabelledEnum::Role => ("Role", &["ADMIN", "MANAGER", "REP", "VIEWER"]),
            LabelledEnum::SalesRole => ("SalesRole", &["INBOUND", "OUTBOUND", "CLOSER", "MANAGER"]),
            LabelledEnum::KpiStatus => ("KpiStatus", &["ON_TARGET", "OFF_TARGET", "NO_TARGET"]),
            LabelledEnum::KpiDirection => ("KpiDirection", &["HIGHER_IS_BETTER", "LOWER_IS_BETTER"]),
            LabelledEnum::ClientStatus => ("ClientStatus", &["ACTIVE", "SUSPENDED", "DELETION_PENDING"]),
        }
    }
}

/// An enum value and how to show it.
#[derive(SimpleObject)]
pub struct EnumLabel {
    /// The value, as the API sends it (stable, English).
    value: String,
    /// Its label in the request's language.
    label: String,
}

/// An enum's labels in a language, the organization's own where it set them.
fn enum_labels_in(of: LabelledEnum, locale: Locale, dir: Option<&Directory>) -> Vec<EnumLabel> {
    let (name, values) = of.values();
    values
        .iter()
        .map(|v| {
            let own = dir.and_then(|d| d.label(name, v, locale)).map(|o| o.label.clone());
            EnumLabel {
                value: (*v).to_owned(),
                label: own.unwrap_or_else(|| label(name, v, locale).unwrap_or(v).to_owned()),
            }
        })
        .collect()
}

/// Sets the organization's own label of an enum value in one language.
#[derive(InputObject)]
pub struct SetEnumLabelInput {
    /// The enum.
    #[graphql(name = "enum")]
    of: LabelledEnum,
    /// The value, as the API sends it (`REP`).
    value: String,
    /// The language of the label.
    locale: Locale,
    /// The label; `null` or blank puts the built-in label back.
    label: Option<String>,
}

/// Result of `setEnumLabel`.
#[derive(SimpleObject)]
pub struct SetEnumLabelPayload {
    /// The enum's labels in that language after the change; `null` when refused.
    labels: Option<Vec<EnumLabel>>,
    /// What to fix; empty on success.
    user_errors: Vec<crate::graphql::UserError>,
}

/// Label queries.
#[derive(Default)]
pub struct LabelQuery;

#[Object]
impl LabelQuery {
    /// The labels of an enum's values in the request's language: the member's own, else the
    /// organization's, else (signed out) the `Accept-Language` header's; Dutch or English. Where
    /// the organization worded a label itself (`setEnumLabel`), its own.
    async fn enum_labels(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "enum")] of: LabelledEnum,
    ) -> Result<Vec<EnumLabel>> {
        let locale = request_locale(ctx).await?;
        let dir = match ctx.principal() {
            Ok(_) => Some(directory(ctx).await?),
            Err(_) => None,
        };
        Ok(enum_labels_in(of, locale, dir.as_deref()))
    }

    /// The language this request is answered in.
    async fn locale(&self, ctx: &Context<'_>) -> Result<Locale> {
        Ok(request_locale(ctx).await?)
    }
}

/// A member's own language.
#[derive(InputObject)]
pub struct SetMyLocaleInput {
    /// `EN` or `NL`; `null` follows the organization's.
    locale: Option<Locale>,
}

/// Label mutations.
#[derive(Default)]
pub struct LabelMutation;

#[Object]
impl LabelMutation {
    /// Sets (or, with no label, removes) the organization's own label of an enum value in one
    /// language (who may change the organization's settings). Codes stay as they are.
    async fn set_enum_label(&self, ctx: &Context<'_>, input: SetEnumLabelInput) -> Result<SetEnumLabelPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let (enum_name, _) = input.of.values();
        let cmd = service::SetEnumLabel { enum_name, value: input.value, locale: input.locale, label: input.label };
        Ok(match service::set_enum_label(&state.db, &state.events, p, cmd).await? {
            Ok(_) => {
                let dir = directory(ctx).await?;
                SetEnumLabelPayload {
                    labels: Some(enum_labels_in(input.of, input.locale, Some(&dir))),
                    user_errors: vec![],
                }
            }
            Err(e) => SetEnumLabelPayload { labels: None, user_errors: e.into_iter().map(Into::into).collect() },
        })
    }

    /// Sets the signed-in member's own language (members, not keys or a firm's staff).
    async fn set_my_locale(&self, ctx: &Context<'_>, input: SetMyLocaleInput) -> Result<Member> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(Member(service::set_my_locale(&state.db, &state.events, p, input.locale).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_value_has_a_label_in_both_languages() {
        for e in [
            LabelledEnum::Role,
            LabelledEnum::SalesRole,
            LabelledEnum::KpiStatus,
            LabelledEnum::KpiDirection,
            LabelledEnum::ClientStatus,
        ] {
            let (name, values) = e.values();
            for v in values {
                for l in [Locale::En, Locale::Nl] {
                    assert!(label(name, v, l).is_some(), "{name}.{v} in {l:?}");
                }
            }
        }
    }
}
